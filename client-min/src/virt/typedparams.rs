//! Typed parameters (`virTypedParameter`) as Rust values, and the conversions the parameter
//! structs (`MemoryParameters`, `SchedulerInfo`, …) are built from.

use proto_core::programs::remote::{RemoteTypedParam, RemoteTypedParamValue};

/// A typed parameter's value.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedParamValue {
    /// `VIR_TYPED_PARAM_INT`.
    Int(i32),
    /// `VIR_TYPED_PARAM_UINT`.
    UInt(u32),
    /// `VIR_TYPED_PARAM_LLONG`.
    LLong(i64),
    /// `VIR_TYPED_PARAM_ULLONG`.
    ULLong(u64),
    /// `VIR_TYPED_PARAM_DOUBLE`.
    Double(f64),
    /// `VIR_TYPED_PARAM_BOOLEAN`.
    Boolean(bool),
    /// `VIR_TYPED_PARAM_STRING`.
    String(String),
}

/// A named typed parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedParameter {
    /// The field name (e.g. `sys::VIR_DOMAIN_MEMORY_HARD_LIMIT`).
    pub field: String,
    /// The value.
    pub value: TypedParamValue,
}

/// A list of typed parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypedParams(pub Vec<TypedParameter>);

impl TypedParams {
    pub(crate) fn from_remote(v: Vec<RemoteTypedParam>) -> Self {
        Self(
            v.into_iter()
                .map(|p| TypedParameter {
                    field: p.field.to_string(),
                    value: match p.value {
                        RemoteTypedParamValue::Int(x) => TypedParamValue::Int(x),
                        RemoteTypedParamValue::Uint(x) => TypedParamValue::UInt(x),
                        RemoteTypedParamValue::Llong(x) => TypedParamValue::LLong(x),
                        RemoteTypedParamValue::Ullong(x) => TypedParamValue::ULLong(x),
                        RemoteTypedParamValue::Double(x) => TypedParamValue::Double(x),
                        RemoteTypedParamValue::Boolean(x) => TypedParamValue::Boolean(x != 0),
                        RemoteTypedParamValue::String(x) => TypedParamValue::String(x.to_string()),
                    },
                })
                .collect(),
        )
    }

    pub(crate) fn into_remote(self) -> Vec<RemoteTypedParam> {
        self.0
            .into_iter()
            .map(|p| RemoteTypedParam {
                field: p.field.into(),
                value: match p.value {
                    TypedParamValue::Int(x) => RemoteTypedParamValue::Int(x),
                    TypedParamValue::UInt(x) => RemoteTypedParamValue::Uint(x),
                    TypedParamValue::LLong(x) => RemoteTypedParamValue::Llong(x),
                    TypedParamValue::ULLong(x) => RemoteTypedParamValue::Ullong(x),
                    TypedParamValue::Double(x) => RemoteTypedParamValue::Double(x),
                    TypedParamValue::Boolean(x) => RemoteTypedParamValue::Boolean(i32::from(x)),
                    TypedParamValue::String(x) => RemoteTypedParamValue::String(x.into()),
                },
            })
            .collect()
    }

    fn get(&self, field: &str) -> Option<&TypedParamValue> {
        self.0.iter().find(|p| p.field == field).map(|p| &p.value)
    }

    /// An unsigned 64-bit field (any unsigned width accepted).
    pub fn u64(&self, field: &str) -> Option<u64> {
        match self.get(field)? {
            TypedParamValue::ULLong(x) => Some(*x),
            TypedParamValue::UInt(x) => Some(u64::from(*x)),
            _ => None,
        }
    }

    /// A signed 64-bit field (any signed width accepted).
    pub fn i64(&self, field: &str) -> Option<i64> {
        match self.get(field)? {
            TypedParamValue::LLong(x) => Some(*x),
            TypedParamValue::Int(x) => Some(i64::from(*x)),
            _ => None,
        }
    }

    /// An unsigned 32-bit field.
    pub fn u32(&self, field: &str) -> Option<u32> {
        match self.get(field)? {
            TypedParamValue::UInt(x) => Some(*x),
            _ => None,
        }
    }

    /// A signed 32-bit field.
    pub fn i32(&self, field: &str) -> Option<i32> {
        match self.get(field)? {
            TypedParamValue::Int(x) => Some(*x),
            _ => None,
        }
    }

    /// A string field.
    pub fn string(&self, field: &str) -> Option<String> {
        match self.get(field)? {
            TypedParamValue::String(x) => Some(x.clone()),
            _ => None,
        }
    }

    /// Appends `field` when `value` is set.
    pub(crate) fn push(&mut self, field: &str, value: Option<TypedParamValue>) {
        if let Some(value) = value {
            self.0.push(TypedParameter { field: field.to_owned(), value });
        }
    }
}
