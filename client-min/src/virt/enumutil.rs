//! A libvirt enum value as `virt` hands it out: a known Rust variant, or the raw number a newer
//! peer sent that this version cannot name.

use std::fmt;

/// Conversion between a Rust enum and libvirt's integer.
pub trait RawEnum<I>: Sized {
    /// The variant for `raw`, if this version knows it.
    fn from_raw(raw: I) -> Option<Self>;
    /// libvirt's integer for this variant.
    fn to_raw(self) -> I;
}

/// A known variant or an unknown raw value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Enum<E, I> {
    /// A value this version names.
    Known(E),
    /// A value it does not.
    Unknown(I),
}

/// The error of turning an [`Enum::Unknown`] into its Rust enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownEnumError<I> {
    value: I,
}

impl<I> UnknownEnumError<I> {
    /// The raw value.
    pub fn value(self) -> I {
        self.value
    }
}

impl<E: Copy + PartialEq + RawEnum<I>, I: Copy + fmt::Display> Enum<E, I> {
    /// The variant; panics on an unknown value.
    pub fn unwrap(self) -> E {
        match self {
            Self::Known(e) => e,
            Self::Unknown(v) => panic!("unknown value {v} in {}", std::any::type_name::<E>()),
        }
    }

    /// The variant, or `def` for an unknown value.
    pub fn unwrap_or(self, def: E) -> E {
        self.known().unwrap_or(def)
    }

    /// Whether the value is known.
    pub fn is_known(&self) -> bool {
        matches!(self, Self::Known(_))
    }

    /// Whether the value is known and `f` holds for it.
    pub fn is_known_and(self, f: impl FnOnce(E) -> bool) -> bool {
        self.known().is_some_and(f)
    }

    /// Whether the value is unknown.
    pub fn is_unknown(&self) -> bool {
        !self.is_known()
    }

    /// Whether the value is unknown and `f` holds for its raw number.
    pub fn is_unknown_and(self, f: impl FnOnce(I) -> bool) -> bool {
        self.unknown().is_some_and(f)
    }

    /// Whether the value is `want`.
    pub fn is(&self, want: E) -> bool {
        matches!(self, Self::Known(e) if *e == want)
    }

    /// Whether the value is one of `want`.
    #[allow(clippy::needless_pass_by_value)]
    pub fn is_any(&self, want: Vec<E>) -> bool {
        matches!(self, Self::Known(e) if want.contains(e))
    }

    /// The variant, if known.
    pub fn known(self) -> Option<E> {
        match self {
            Self::Known(e) => Some(e),
            Self::Unknown(_) => None,
        }
    }

    /// The raw value, if unknown.
    pub fn unknown(self) -> Option<I> {
        match self {
            Self::Known(_) => None,
            Self::Unknown(v) => Some(v),
        }
    }

    /// From libvirt's integer.
    pub fn from_raw(raw: I) -> Self {
        E::from_raw(raw).map_or(Self::Unknown(raw), Self::Known)
    }

    /// To libvirt's integer.
    pub fn to_raw(self) -> I {
        match self {
            Self::Known(e) => e.to_raw(),
            Self::Unknown(v) => v,
        }
    }
}

impl<E, I> From<E> for Enum<E, I> {
    fn from(e: E) -> Self {
        Self::Known(e)
    }
}

impl<E, I> From<Enum<E, I>> for Result<E, UnknownEnumError<I>> {
    fn from(e: Enum<E, I>) -> Self {
        match e {
            Enum::Known(e) => Ok(e),
            Enum::Unknown(value) => Err(UnknownEnumError { value }),
        }
    }
}

impl<E: fmt::Display, I: fmt::Display> fmt::Display for Enum<E, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(e) => write!(f, "{e}"),
            Self::Unknown(v) => write!(f, "{}({v})", std::any::type_name::<E>()),
        }
    }
}
