//! libvirt's errors (`virError`): code, domain, message and level, as the API reports them.

use std::fmt;

use adapter_blocking::Error as AdapterError;
use proto_core::connect::OpenError;
use proto_core::CallError;

pub use crate::enums::{ErrorDomain, ErrorDomainEnum, ErrorLevel, ErrorLevelEnum, ErrorNumber, ErrorNumberEnum};
use crate::enumutil::RawEnum;

/// An error of a libvirt API call.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Error {
    code: ErrorNumberEnum,
    domain: ErrorDomainEnum,
    message: String,
    level: ErrorLevel,
}

impl Error {
    /// An error with this code, domain and message, at level `Error`.
    pub(crate) fn new(code: ErrorNumber, domain: ErrorDomain, message: impl Into<String>) -> Self {
        Self { code: code.into(), domain: domain.into(), message: message.into(), level: ErrorLevel::Error }
    }

    /// From raw numbers (as a peer sends them).
    pub(crate) fn from_raw(code: i32, domain: i32, level: i32, message: String) -> Self {
        let raw = |v: i32| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            code: ErrorNumberEnum::from_raw(raw(code)),
            domain: ErrorDomainEnum::from_raw(raw(domain)),
            message,
            level: ErrorLevel::from_raw(raw(level)).unwrap_or(ErrorLevel::None),
        }
    }

    /// `virGetLastError`: this crate returns every error with the call that failed, so there is
    /// no per-thread last error; this is libvirt's answer when none was recorded.
    pub fn last_error() -> Self {
        Self::new(ErrorNumber::InternalError, ErrorDomain::None, "an unknown libvirt error occurred")
    }

    /// The error's code.
    pub fn code(&self) -> ErrorNumberEnum {
        self.code
    }

    /// Which part of libvirt raised it.
    pub fn domain(&self) -> ErrorDomainEnum {
        self.domain
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How serious it is.
    pub fn level(&self) -> ErrorLevel {
        self.level
    }

    /// `virReportRestrictedError`: a public API that changes state, on a read-only connection.
    pub(crate) fn read_only(func: &str) -> Self {
        Self::new(
            ErrorNumber::OperationDenied,
            api_error_domain(func),
            format!("operation forbidden: read only access prevents {func}"),
        )
    }

    /// `virReportInvalidArg` in `func`: `VIR_ERR_INVALID_ARG` with the message as given (no
    /// "invalid argument: " prefix), from `func`'s source file's error domain.
    pub(crate) fn invalid_arg(func: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorNumber::InvalidArg, api_error_domain(func), message)
    }

    /// A client-side check of `func` that raises `code` with libvirt's standard text for it.
    pub(crate) fn in_api(func: &str, code: ErrorNumber, message: impl Into<String>) -> Self {
        Self::new(code, api_error_domain(func), message)
    }

    /// An error of the RPC layer.
    pub(crate) fn rpc(message: impl Into<String>) -> Self {
        Self::new(ErrorNumber::InternalError, ErrorDomain::Rpc, message)
    }
}

/// The error domain of the source file a public API lives in (`VIR_FROM_THIS`): its errors
/// raised on the client side carry it. `virConnect…`/`virNode…` live in `libvirt-host.c`,
/// whose domain is `VIR_FROM_DOMAIN`.
fn api_error_domain(func: &str) -> ErrorDomain {
    const BY_PREFIX: &[(&str, ErrorDomain)] = &[
        ("virDomainSnapshot", ErrorDomain::DomainSnapshot),
        ("virDomain", ErrorDomain::Domain),
        ("virNetwork", ErrorDomain::Network),
        ("virStorage", ErrorDomain::Storage),
        ("virInterface", ErrorDomain::Interface),
        ("virNodeDevice", ErrorDomain::Nodedev),
        ("virSecret", ErrorDomain::Secret),
        ("virNWFilter", ErrorDomain::Nwfilter),
        ("virStream", ErrorDomain::Streams),
    ];
    BY_PREFIX.iter().find(|(p, _)| func.starts_with(p)).map_or(ErrorDomain::Domain, |(_, d)| *d)
}

impl std::error::Error for Error {}

impl From<std::ffi::NulError> for Error {
    fn from(e: std::ffi::NulError) -> Self {
        Self::new(ErrorNumber::InvalidArg, ErrorDomain::None, format!("Null byte passed to CString: {e}"))
    }
}

impl From<AdapterError> for Error {
    fn from(e: AdapterError) -> Self {
        if let Some(r) = e.remote() {
            let message = r.message.as_ref().map_or_else(|| "Unknown error".to_owned(), ToString::to_string);
            return Self::from_raw(r.effective_code().0, r.domain.0, r.level.0, message);
        }
        match e {
            AdapterError::Call(CallError::Closed(_))
            | AdapterError::Open(OpenError::Call { error: CallError::Closed(_), .. }) => {
                Self::rpc("internal error: client socket is closed")
            }
            AdapterError::Open(OpenError::AuthNotSupported { mechanism }) => Self::new(
                ErrorNumber::AuthFailed,
                ErrorDomain::Remote,
                format!("authentication failed: unsupported authentication type {mechanism}"),
            ),
            AdapterError::Uri(u) => Self::new(ErrorNumber::InvalidArg, ErrorDomain::Remote, u.to_string()),
            other => Self::rpc(format!("internal error: {other}")),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.level != ErrorLevel::None {
            write!(f, "{}: ", self.level)?;
        }
        write!(
            f,
            "{} [code={} ({}), domain={} ({})]",
            self.message,
            self.code,
            self.code.to_raw(),
            self.domain,
            self.domain.to_raw()
        )
    }
}

/// `virSetErrorFunc(NULL, noop)`: libvirt's default handler prints errors on standard error;
/// this crate never prints them, so there is nothing to clear.
pub fn clear_error_callback() {}
