//! virsh's connection: the `virt` API's [`virt::connect::Connect`] (opened through its driver
//! table: the in-process `test:///` driver first, the remote driver last), with what virsh adds
//! around `virConnectOpenAuth` (the keepalive check, its close callback reporting a lost
//! connection) and [`ApiError`], a libvirt error as virsh reports it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use adapter_blocking::{Client, ConnectOptions, Error as AdapterError};
use proto_core::connect::OpenError;
use proto_core::{CallError, ErrorCode, ErrorDomain, KeepaliveConfig};

/// A libvirt error as virsh sees it (`virError`): the code decides fallbacks, the message is
/// what `error: …` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: ErrorCode,
    pub(crate) domain: ErrorDomain,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Self {
        Self { code, domain, message: message.into() }
    }

    /// An error of libvirt's RPC client: the connection is gone.
    fn closed() -> Self {
        Self::new(
            ErrorCode::VIR_ERR_INTERNAL_ERROR,
            ErrorDomain::VIR_FROM_RPC,
            "internal error: client socket is closed",
        )
    }
}

impl From<AdapterError> for ApiError {
    fn from(e: AdapterError) -> Self {
        if let Some(r) = e.remote() {
            return Self::new(r.effective_code(), r.domain, r.to_string());
        }
        match e {
            AdapterError::Call(CallError::Closed(_))
            | AdapterError::Open(OpenError::Call { error: CallError::Closed(_), .. }) => Self::closed(),
            AdapterError::Open(OpenError::AuthNotSupported { mechanism }) => Self::new(
                ErrorCode::VIR_ERR_AUTH_FAILED,
                ErrorDomain::VIR_FROM_REMOTE,
                format!("authentication failed: unsupported authentication type {mechanism}"),
            ),
            AdapterError::Uri(u) => {
                Self::new(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_REMOTE, u.to_string())
            }
            other => Self::new(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                format!("internal error: {other}"),
            ),
        }
    }
}

/// How to open a connection: `virsh -r`, `-k`, `-K`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    pub(crate) read_only: bool,
    /// `-k`: 0 turns keepalive off.
    pub(crate) keepalive_interval: Option<u32>,
    /// `-K`.
    pub(crate) keepalive_count: Option<u32>,
}

impl OpenOptions {
    fn adapter(&self) -> ConnectOptions {
        let interval = self.keepalive_interval.unwrap_or(5);
        let count = self.keepalive_count.unwrap_or(6);
        ConnectOptions {
            read_only: self.read_only,
            keepalive: (interval > 0)
                .then(|| KeepaliveConfig { interval: std::time::Duration::from_secs(interval.into()), count }),
            ..ConnectOptions::default()
        }
    }

    /// `-k` or `-K` was given: keepalive is then required, not best effort.
    fn keepalive_forced(&self) -> bool {
        self.keepalive_interval.is_some() || self.keepalive_count.is_some()
    }
}

impl From<virt::error::Error> for ApiError {
    fn from(e: virt::error::Error) -> Self {
        let raw = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        Self::new(ErrorCode(raw(e.code().to_raw())), ErrorDomain(raw(e.domain().to_raw())), e.message())
    }
}

/// An open connection (`virConnectPtr`): the `virt` API's connection, with virsh's close
/// callback and connection bookkeeping around it.
pub(crate) struct Conn {
    api: virt::connect::Connect,
    client: Client,
    uri: String,
    /// Set by the close watcher once it reported the connection lost.
    lost: Arc<AtomicBool>,
    /// Set before this side closes, so that the watcher stays quiet.
    closing: Arc<AtomicBool>,
}

/// virsh's close callback (`virshCatchDisconnect`): when the connection ends for another
/// reason than this side closing it, says so at once (from the API's event thread, as libvirt's
/// event loop does), and marks the connection lost so that the next command reconnects.
fn catch_disconnect(
    uri: String,
    lost: Arc<AtomicBool>,
    closing: Arc<AtomicBool>,
) -> impl FnMut(virt::sys::virConnectCloseReason) + Send + 'static {
    move |reason| {
        if reason == virt::sys::VIR_CONNECT_CLOSE_REASON_CLIENT || closing.load(Ordering::SeqCst) {
            return;
        }
        let why = match reason {
            virt::sys::VIR_CONNECT_CLOSE_REASON_KEEPALIVE => "keepalive timeout",
            virt::sys::VIR_CONNECT_CLOSE_REASON_EOF => "end of file",
            _ => "I/O error",
        };
        let _ = std::io::stdout().flush();
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "error: Disconnected from {uri} due to {why}");
        let _ = e.flush();
        lost.store(true, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl Conn {
    /// `virConnectOpenAuth` then virsh's `virConnectRegisterCloseCallback`.
    pub(crate) fn open(uri: Option<&str>, opts: &OpenOptions) -> Result<Self, ApiError> {
        // virConnectOpen: an explicit URI, else LIBVIRT_DEFAULT_URI, else the daemon probes.
        let env_default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = proto_core::uri::select_uri(uri, env_default.as_deref());
        // The driver table (virConnectOpenAuth) is the virt API's.
        let api = virt::connect::Connect::open_with(uri, &opts.adapter())?;
        let client = api.client().clone();
        let features = client.features();
        let local = uri.is_some_and(daemon_min::embedded::is_local_test_uri);
        if !local && opts.keepalive_forced() && opts.keepalive_interval != Some(0) && !features.keepalive {
            let _ = client.close();
            return Err(ApiError::new(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_NONE,
                "Cannot setup keepalive on connection as requested, disconnecting",
            ));
        }
        let conn = Self {
            uri: api.uri()?,
            api,
            client,
            lost: Arc::new(AtomicBool::new(false)),
            closing: Arc::new(AtomicBool::new(false)),
        };
        // Its failure would be virsh's "Unable to register disconnect callback".
        let _ = conn.api.register_close_callback(catch_disconnect(
            conn.uri.clone(),
            conn.lost.clone(),
            conn.closing.clone(),
        ));
        Ok(conn)
    }

    /// The `virt` API's connection.
    pub(crate) fn api(&self) -> &virt::connect::Connect {
        &self.api
    }

    /// `virConnectGetURI`: answered locally.
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// `virConnectIsAlive`.
    pub(crate) fn is_alive(&self) -> bool {
        self.client.close_reason().is_none()
    }

    /// Whether the connection was lost (and reported) since it opened.
    pub(crate) fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Waits a little for the close watcher to report a connection that just ended, so that
    /// its message comes before what the caller prints next.
    pub(crate) fn wait_lost_reported(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while !self.lost() && !self.closing.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// virsh's disconnect: `virConnectUnregisterCloseCallback` then `virConnectClose`.
    pub(crate) fn close(self) {
        self.closing.store(true, Ordering::SeqCst);
        if self.is_alive() {
            let _ = self.api.unregister_close_callback();
        }
        if self.is_alive() {
            let _ = self.client.close();
        }
        drop(self.client);
        drop(self.api);
    }
}
