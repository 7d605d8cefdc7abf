//! Event registration and typed event decoding, shared by the adapters.
//!
//! libvirt's callback-style registrations (`REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`
//! and its network, storage pool, node device and secret siblings) all take `{ int eventID;
//! <object> *filter }` and return `{ int callbackID }`; every event they produce starts with that
//! `callbackID`, so a registration knows its own events ([`TypedEvent::callback_id`]).
//! Deregistration takes `{ int callbackID }`. The connection-closed callback
//! (`REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK`) has no id: its event is
//! `REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::program::{QEMU_PROGRAM, REMOTE_PROGRAM};
use crate::programs::{qemu, remote};
use crate::xdr::{DecodeError, EncodeError, XdrEncode};

/// The kinds of object whose events a client registers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFamily {
    /// Domains (`VIR_DOMAIN_EVENT_ID_*`, 0..=26 in libvirt 9.0).
    Domain,
    /// Networks (`VIR_NETWORK_EVENT_ID_*`).
    Network,
    /// Storage pools (`VIR_STORAGE_POOL_EVENT_ID_*`).
    StoragePool,
    /// Node devices (`VIR_NODE_DEVICE_EVENT_ID_*`).
    NodeDevice,
    /// Secrets (`VIR_SECRET_EVENT_ID_*`).
    Secret,
}

impl EventFamily {
    /// The registration procedure (`REMOTE_PROC_CONNECT_*_EVENT_*REGISTER_ANY`).
    #[must_use]
    pub const fn register_proc(self) -> i32 {
        match self {
            Self::Domain => remote::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
            Self::Network => remote::REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY,
            Self::StoragePool => remote::REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY,
            Self::NodeDevice => remote::REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY,
            Self::Secret => remote::REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY,
        }
    }

    /// The deregistration procedure.
    #[must_use]
    pub const fn deregister_proc(self) -> i32 {
        match self {
            Self::Domain => remote::REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
            Self::Network => remote::REMOTE_PROC_CONNECT_NETWORK_EVENT_DEREGISTER_ANY,
            Self::StoragePool => remote::REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY,
            Self::NodeDevice => remote::REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY,
            Self::Secret => remote::REMOTE_PROC_CONNECT_SECRET_EVENT_DEREGISTER_ANY,
        }
    }

    /// The registration's arguments: `eventID`, then the optional object filter (the
    /// `remote_nonnull_*` handle of this family, or `None` for every object).
    ///
    /// # Errors
    /// When the filter cannot be encoded.
    pub fn register_args<O: XdrEncode>(self, event_id: i32, filter: Option<&O>) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        out.put_i32(event_id);
        crate::xdr::put_optional(&mut out, filter)?;
        Ok(out.freeze())
    }

    /// The deregistration's arguments.
    #[must_use]
    pub fn deregister_args(callback_id: i32) -> Bytes {
        Bytes::copy_from_slice(&callback_id.to_be_bytes())
    }

    /// The family of a `REMOTE_PROGRAM` event procedure, for callback-style events.
    #[must_use]
    pub fn of_event(proc_: i32) -> Option<Self> {
        let name = remote::procedure_by_number(proc_).filter(|p| p.is_event)?.name;
        let rest = name.strip_prefix("REMOTE_PROC_")?;
        [
            ("DOMAIN_EVENT_", Self::Domain),
            ("NETWORK_EVENT_", Self::Network),
            ("STORAGE_POOL_EVENT_", Self::StoragePool),
            ("NODE_DEVICE_EVENT_", Self::NodeDevice),
            ("SECRET_EVENT_", Self::Secret),
        ]
        .into_iter()
        .find(|(prefix, _)| rest.starts_with(prefix))
        .map(|(_, f)| f)
    }
}

/// What a server-side registration is for: which events are its own, and how it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registration {
    /// A callback-style registration and the `callbackID` the server returned.
    Callback {
        /// The family it was registered for.
        family: EventFamily,
        /// The server's id for it.
        callback_id: i32,
    },
    /// The connection-closed callback (`REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK`).
    ConnectionClosed,
}

impl Registration {
    /// The registration a successful register call created, from the reply body (`callbackID`
    /// for the families, nothing for the close callback).
    ///
    /// # Errors
    /// When the reply is not a `callbackID`.
    pub fn from_reply(family: Option<EventFamily>, reply: Bytes) -> Result<Self, DecodeError> {
        match family {
            Some(family) => {
                let callback_id = crate::xdr::XdrReader::new(reply).i32()?;
                Ok(Self::Callback { family, callback_id })
            }
            None => Ok(Self::ConnectionClosed),
        }
    }

    /// The `callbackID` the server gave (none for the close callback).
    #[must_use]
    pub const fn callback_id(&self) -> Option<i32> {
        match *self {
            Self::Callback { callback_id, .. } => Some(callback_id),
            Self::ConnectionClosed => None,
        }
    }

    /// Whether this event belongs to this registration.
    #[must_use]
    pub fn accepts(&self, prog: u32, proc_: i32, event: &TypedEvent) -> bool {
        match *self {
            Self::Callback { family, callback_id } => {
                prog == REMOTE_PROGRAM
                    && EventFamily::of_event(proc_) == Some(family)
                    && event.callback_id() == Some(callback_id)
            }
            Self::ConnectionClosed => {
                prog == REMOTE_PROGRAM && proc_ == remote::REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED
            }
        }
    }

    /// The call that ends the registration: procedure and arguments.
    #[must_use]
    pub fn deregister_call(&self) -> (i32, Bytes) {
        match *self {
            Self::Callback { family, callback_id } => {
                (family.deregister_proc(), EventFamily::deregister_args(callback_id))
            }
            Self::ConnectionClosed => (remote::REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, Bytes::new()),
        }
    }
}

/// The call that registers the connection-closed callback.
pub const REGISTER_CLOSE_CALLBACK: i32 = remote::REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK;

/// An event of a program this crate knows, decoded into its typed body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TypedEvent {
    /// A `REMOTE_PROGRAM` event (domains, networks, pools, devices, secrets, connection).
    Remote(remote::Event),
    /// A `QEMU_PROGRAM` event (QMP monitor events).
    Qemu(qemu::Event),
}

impl TypedEvent {
    /// Decodes an event message; `None` when the program or procedure is not one libvirt 9.0
    /// defines as an event (keep the raw body then).
    #[must_use]
    pub fn decode(prog: u32, proc_: i32, body: Bytes) -> Option<Result<Self, DecodeError>> {
        match prog {
            REMOTE_PROGRAM => remote::Event::decode(proc_, body).map(|r| r.map(Self::Remote)),
            QEMU_PROGRAM => qemu::Event::decode(proc_, body).map(|r| r.map(Self::Qemu)),
            _ => None,
        }
    }

    /// The `callbackID` of a callback-style event.
    #[must_use]
    pub const fn callback_id(&self) -> Option<i32> {
        match self {
            Self::Remote(e) => e.callback_id(),
            Self::Qemu(e) => e.callback_id(),
        }
    }

    /// The event's program and procedure number.
    #[must_use]
    pub const fn procedure(&self) -> (u32, i32) {
        match self {
            Self::Remote(e) => (REMOTE_PROGRAM, e.procedure()),
            Self::Qemu(e) => (QEMU_PROGRAM, e.procedure()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Bytes, EventFamily, TypedEvent, REMOTE_PROGRAM};
    use crate::programs::remote::{
        RemoteDomainEventCallbackLifecycleMsg, RemoteDomainEventLifecycleMsg, RemoteNonnullDomain,
        REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, REMOTE_PROC_DOMAIN_GET_STATE, REMOTE_PROC_NETWORK_EVENT_LIFECYCLE,
        REMOTE_PROC_SECRET_EVENT_VALUE_CHANGED, REMOTE_PROC_STORAGE_POOL_EVENT_REFRESH,
    };

    #[test]
    fn families_and_arguments() {
        assert_eq!(EventFamily::of_event(REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE), Some(EventFamily::Domain));
        assert_eq!(EventFamily::of_event(REMOTE_PROC_NETWORK_EVENT_LIFECYCLE), Some(EventFamily::Network));
        assert_eq!(EventFamily::of_event(REMOTE_PROC_STORAGE_POOL_EVENT_REFRESH), Some(EventFamily::StoragePool));
        assert_eq!(EventFamily::of_event(REMOTE_PROC_SECRET_EVENT_VALUE_CHANGED), Some(EventFamily::Secret));
        assert_eq!(EventFamily::of_event(REMOTE_PROC_DOMAIN_GET_STATE), None, "a call is not an event");
        let args = EventFamily::Domain.register_args::<RemoteNonnullDomain>(0, None).unwrap();
        assert_eq!(&args[..], &[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&EventFamily::deregister_args(7)[..], &[0, 0, 0, 7]);
        let m = RemoteDomainEventCallbackLifecycleMsg {
            callback_id: 3,
            msg: RemoteDomainEventLifecycleMsg { dom: RemoteNonnullDomain::default(), event: 3, detail: 0 },
        };
        let body = crate::xdr::to_bytes(&m).unwrap();
        let ev =
            TypedEvent::decode(REMOTE_PROGRAM, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, body).unwrap().unwrap();
        assert_eq!(ev.callback_id(), Some(3));
        assert_eq!(ev.procedure(), (REMOTE_PROGRAM, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE));
        assert!(TypedEvent::decode(REMOTE_PROGRAM, 9999, Bytes::new()).is_none());
    }
}
