//! The errors libvirt 9.0's test driver raises, as `(code, domain, message)` triples.
//!
//! Every text here was measured against `test:///default`, in process and through `libvirtd`
//! (both give the same triple); the tests in `tests/errors.rs` record them.

use proto_core::error::{ErrorCode, ErrorDomain, RemoteError};

use super::uuid::Uuid;

/// What every model operation returns on failure: the error as it goes on the wire, boxed
/// (a `remote_error` is large). [`RemoteError`] fields are reachable through `Deref`; the RPC
/// layer takes the error with `RemoteError::from`.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<RemoteError>);

impl Error {
    /// `virErrorNumber`.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// `virErrorDomain`.
    #[must_use]
    pub fn domain(&self) -> ErrorDomain {
        self.0.domain
    }

    /// The message (empty if absent, or if it is not UTF-8).
    #[must_use]
    pub fn message(&self) -> &str {
        self.0.message.as_ref().and_then(|m| m.as_str().ok()).unwrap_or_default()
    }

    /// The `(code, domain, message)` triple, for tests and logs.
    #[must_use]
    pub fn triple(&self) -> (i32, i32, &str) {
        (self.0.code.0, self.0.domain.0, self.message())
    }
}

impl std::ops::Deref for Error {
    type Target = RemoteError;

    fn deref(&self) -> &RemoteError {
        &self.0
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        Self(Box::new(e))
    }
}

impl From<Error> for RemoteError {
    fn from(e: Error) -> Self {
        *e.0
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error({:?}, {:?}, {:?})", self.0.code, self.0.domain, self.message())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// Shorthand for the model's results.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn e(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Error {
    RemoteError::new(code, domain, message).into()
}

const TEST: ErrorDomain = ErrorDomain::VIR_FROM_TEST;

/// Which part of libvirt parsed a document, which decides the error domain of parse errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doc {
    Domain,
    Network,
    Pool,
    Volume,
}

impl Doc {
    pub(crate) fn error_domain(self) -> ErrorDomain {
        match self {
            Self::Domain => ErrorDomain::VIR_FROM_DOMAIN,
            Self::Network => ErrorDomain::VIR_FROM_NETWORK,
            Self::Pool | Self::Volume => ErrorDomain::VIR_FROM_STORAGE,
        }
    }

    pub(crate) fn context(self) -> &'static str {
        match self {
            Self::Domain => "(domain_definition)",
            Self::Network => "(network_definition)",
            Self::Pool => "(storage_pool_definition)",
            Self::Volume => "(storage_volume_definition)",
        }
    }
}

/// `unsupported flags (0x..) in function NAME` (`virCheckFlags`).
pub(crate) fn check_flags(flags: u32, allowed: u32, function: &str) -> Result<()> {
    let bad = flags & !allowed;
    if bad == 0 {
        return Ok(());
    }
    Err(e(ErrorCode::VIR_ERR_INVALID_ARG, TEST, format!("unsupported flags (0x{bad:x}) in function {function}")))
}

/// A lookup by name, id or UUID found nothing.
pub(crate) fn no_domain() -> Error {
    e(ErrorCode::VIR_ERR_NO_DOMAIN, TEST, "Domain not found")
}

/// An operation on a handle whose domain is gone.
pub(crate) fn no_domain_uuid(uuid: &Uuid, name: &str) -> Error {
    e(ErrorCode::VIR_ERR_NO_DOMAIN, TEST, format!("Domain not found: no domain with matching uuid '{uuid}' ({name})"))
}

pub(crate) fn internal(message: &str) -> Error {
    e(ErrorCode::VIR_ERR_INTERNAL_ERROR, TEST, format!("internal error: {message}"))
}

pub(crate) fn domain_not_running_invalid() -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_INVALID,
        ErrorDomain::VIR_FROM_DOMAIN,
        "Requested operation is not valid: domain is not running",
    )
}

pub(crate) fn domain_already_active(name: &str) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_INVALID,
        ErrorDomain::VIR_FROM_DOMAIN,
        format!("Requested operation is not valid: domain '{name}' is already active"),
    )
}

pub(crate) fn domain_exists(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_DOMAIN,
        format!("operation failed: domain '{name}' already exists with uuid {uuid}"),
    )
}

pub(crate) fn domain_uuid_taken(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_DOMAIN,
        format!("operation failed: domain '{name}' is already defined with uuid {uuid}"),
    )
}

pub(crate) fn no_network_name(name: &str) -> Error {
    e(ErrorCode::VIR_ERR_NO_NETWORK, TEST, format!("Network not found: no network with matching name '{name}'"))
}

pub(crate) fn no_network_uuid(uuid: &Uuid) -> Error {
    e(ErrorCode::VIR_ERR_NO_NETWORK, TEST, format!("Network not found: no network with matching uuid '{uuid}'"))
}

pub(crate) fn invalid_test(message: String) -> Error {
    e(ErrorCode::VIR_ERR_OPERATION_INVALID, TEST, format!("Requested operation is not valid: {message}"))
}

pub(crate) fn network_exists(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_NETWORK,
        format!("operation failed: network '{name}' already exists with uuid {uuid}"),
    )
}

pub(crate) fn network_uuid_taken(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_NETWORK,
        format!("operation failed: network '{name}' is already defined with uuid {uuid}"),
    )
}

pub(crate) fn network_already_active(name: &str) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_INVALID,
        ErrorDomain::VIR_FROM_NETWORK,
        format!("Requested operation is not valid: network is already active as '{name}'"),
    )
}

pub(crate) fn no_pool_name(name: &str) -> Error {
    e(
        ErrorCode::VIR_ERR_NO_STORAGE_POOL,
        TEST,
        format!("Storage pool not found: no storage pool with matching name '{name}'"),
    )
}

pub(crate) fn no_pool_uuid(uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_NO_STORAGE_POOL,
        TEST,
        format!("Storage pool not found: no storage pool with matching uuid '{uuid}'"),
    )
}

pub(crate) fn pool_exists(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_STORAGE,
        format!("operation failed: pool '{name}' already exists with uuid {uuid}"),
    )
}

pub(crate) fn pool_uuid_taken(name: &str, uuid: &Uuid) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_FAILED,
        ErrorDomain::VIR_FROM_STORAGE,
        format!("operation failed: pool '{name}' is already defined with uuid {uuid}"),
    )
}

pub(crate) fn pool_already_active(name: &str) -> Error {
    e(
        ErrorCode::VIR_ERR_OPERATION_INVALID,
        ErrorDomain::VIR_FROM_STORAGE,
        format!("Requested operation is not valid: pool is already active as '{name}'"),
    )
}

pub(crate) fn pool_no_config_file() -> Error {
    e(ErrorCode::VIR_ERR_INVALID_ARG, TEST, "invalid argument: pool has no config file")
}

pub(crate) fn no_vol(what: &str, value: &str) -> Error {
    e(
        ErrorCode::VIR_ERR_NO_STORAGE_VOL,
        TEST,
        format!("Storage volume not found: no storage vol with matching {what} '{value}'"),
    )
}

pub(crate) fn vol_exists() -> Error {
    e(ErrorCode::VIR_ERR_OPERATION_FAILED, TEST, "operation failed: storage vol already exists")
}

/// Reading or writing volume content outside `[0, capacity)` (not a test driver error: the test
/// driver has no upload or download at all; the text follows libvirt's storage driver).
pub(crate) fn vol_range(message: String) -> Error {
    e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_STORAGE, format!("invalid argument: {message}"))
}

/// A document libxml2 could not parse.
pub(crate) fn xml_syntax(doc: Doc, message: String) -> Error {
    e(ErrorCode::VIR_ERR_XML_DETAIL, doc.error_domain(), message)
}

/// `XML error: ...` raised by the object's own parser.
pub(crate) fn xml_error(doc: Doc, message: &str) -> Error {
    e(ErrorCode::VIR_ERR_XML_ERROR, doc.error_domain(), format!("XML error: {message}"))
}

/// `virReportError(code, ...)`: the message after the prefix `virErrorMsg` gives `code` (the
/// codes the parsers raise; the others have none).
pub(crate) fn report(code: ErrorCode, domain: ErrorDomain, message: String) -> Error {
    let prefix = match code {
        ErrorCode::VIR_ERR_INTERNAL_ERROR => "internal error: ",
        ErrorCode::VIR_ERR_OPERATION_FAILED => "operation failed: ",
        ErrorCode::VIR_ERR_INVALID_ARG => "invalid argument: ",
        ErrorCode::VIR_ERR_XML_ERROR => "XML error: ",
        ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED => "unsupported configuration: ",
        ErrorCode::VIR_ERR_NO_SUPPORT => "this function is not supported by the connection driver: ",
        _ => "",
    };
    e(code, domain, format!("{prefix}{message}"))
}

/// `XML error: ...` raised by libvirt's generic XML helpers (`VIR_FROM_XML`).
pub(crate) fn xml_util_error(message: &str) -> Error {
    e(ErrorCode::VIR_ERR_XML_ERROR, ErrorDomain::VIR_FROM_XML, format!("XML error: {message}"))
}

pub(crate) fn missing_name(doc: Doc) -> Error {
    e(ErrorCode::VIR_ERR_NO_NAME, doc.error_domain(), "missing name information")
}

pub(crate) fn unsupported_config(doc: Doc, message: String) -> Error {
    e(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, doc.error_domain(), format!("unsupported configuration: {message}"))
}

pub(crate) fn parse_internal(doc: Doc, message: &str) -> Error {
    e(ErrorCode::VIR_ERR_INTERNAL_ERROR, doc.error_domain(), format!("internal error: {message}"))
}

pub(crate) fn invalid_arg_none(message: String) -> Error {
    e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_NONE, format!("invalid argument: {message}"))
}

pub(crate) fn name_illegal_char() -> Error {
    e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_XML, "invalid char in name: \n")
}
