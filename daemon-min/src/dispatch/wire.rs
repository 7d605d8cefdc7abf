//! Conversions between the wire's types (`remote_nonnull_*`, strings, counts) and the model's.

use proto_core::programs::remote::{
    RemoteNonnullDomain, RemoteNonnullNetwork, RemoteNonnullStoragePool, RemoteNonnullStorageVol, RemoteTypedParam,
    RemoteTypedParamValue,
};
use proto_core::XdrString;

use crate::hypervisor::{DomainHandle, NetworkHandle, PoolHandle, TypedValue, Uuid, VolumeHandle};

pub(super) fn s(v: &str) -> XdrString {
    XdrString::from(v)
}

pub(super) fn dom_out(h: &DomainHandle) -> RemoteNonnullDomain {
    RemoteNonnullDomain { name: s(&h.name), uuid: h.uuid.0, id: h.id }
}

pub(super) fn dom_in(d: &RemoteNonnullDomain) -> DomainHandle {
    DomainHandle { name: d.name.to_string(), uuid: Uuid(d.uuid), id: d.id }
}

pub(super) fn net_out(h: &NetworkHandle) -> RemoteNonnullNetwork {
    RemoteNonnullNetwork { name: s(&h.name), uuid: h.uuid.0 }
}

pub(super) fn net_in(n: &RemoteNonnullNetwork) -> NetworkHandle {
    NetworkHandle { name: n.name.to_string(), uuid: Uuid(n.uuid) }
}

pub(super) fn pool_out(h: &PoolHandle) -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool { name: s(&h.name), uuid: h.uuid.0 }
}

pub(super) fn pool_in(p: &RemoteNonnullStoragePool) -> PoolHandle {
    PoolHandle { name: p.name.to_string(), uuid: Uuid(p.uuid) }
}

pub(super) fn vol_out(h: &VolumeHandle) -> RemoteNonnullStorageVol {
    RemoteNonnullStorageVol { pool: s(&h.pool), name: s(&h.name), key: s(&h.key) }
}

pub(super) fn vol_in(v: &RemoteNonnullStorageVol) -> VolumeHandle {
    VolumeHandle { pool: v.pool.to_string(), name: v.name.to_string(), key: v.key.to_string() }
}

/// A C string as rpcgen's `char x<N>`: each byte one element, with the trailing NUL.
pub(super) fn c_chars(v: &str) -> Vec<i8> {
    v.bytes().map(|b| b as i8).chain(std::iter::once(0)).collect()
}

pub(super) fn names(v: Vec<String>) -> Vec<XdrString> {
    v.into_iter().map(XdrString::from).collect()
}

pub(super) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) fn max_of(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// Typed parameters onto the wire (`remoteSerializeTypedParameters`).
pub(super) fn params_out(v: Vec<(String, TypedValue)>) -> Vec<RemoteTypedParam> {
    v.into_iter()
        .map(|(field, value)| RemoteTypedParam {
            field: s(&field),
            value: match value {
                TypedValue::Int(x) => RemoteTypedParamValue::Int(x),
                TypedValue::Uint(x) => RemoteTypedParamValue::Uint(x),
                TypedValue::Llong(x) => RemoteTypedParamValue::Llong(x),
                TypedValue::Ullong(x) => RemoteTypedParamValue::Ullong(x),
                TypedValue::Double(x) => RemoteTypedParamValue::Double(x),
                TypedValue::Boolean(x) => RemoteTypedParamValue::Boolean(i32::from(x)),
                TypedValue::String(x) => RemoteTypedParamValue::String(s(&x)),
            },
        })
        .collect()
}

/// Typed parameters from the wire.
pub(super) fn params_in(v: &[RemoteTypedParam]) -> Vec<(String, TypedValue)> {
    v.iter()
        .map(|p| {
            let value = match &p.value {
                RemoteTypedParamValue::Int(x) => TypedValue::Int(*x),
                RemoteTypedParamValue::Uint(x) => TypedValue::Uint(*x),
                RemoteTypedParamValue::Llong(x) => TypedValue::Llong(*x),
                RemoteTypedParamValue::Ullong(x) => TypedValue::Ullong(*x),
                RemoteTypedParamValue::Double(x) => TypedValue::Double(*x),
                RemoteTypedParamValue::Boolean(x) => TypedValue::Boolean(*x != 0),
                RemoteTypedParamValue::String(x) => TypedValue::String(x.to_string()),
            };
            (p.field.to_string(), value)
        })
        .collect()
}
