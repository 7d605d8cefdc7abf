//! `virDomainOpenGraphics`/`virDomainOpenGraphicsFD`: a graphical console through a
//! descriptor, passed over the connection's unix socket (blocking API only: adapter-smol's
//! client cannot pass descriptors).

use std::os::fd::RawFd;

use proto_core::client::CallSpec;
use proto_core::programs::remote as r;

use crate::connect::Connect;
use crate::domain::Domain;
use crate::error::{Error, ErrorDomain, ErrorNumber};

/// `VIR_DRV_FEATURE_FD_PASSING` (`src/libvirt_internal.h`).
const FEATURE_FD_PASSING: i32 = 8;

/// The public API's checks (`virCheckReadOnlyGoto`, then `VIR_DRV_SUPPORTS_FEATURE(…,
/// VIR_DRV_FEATURE_FD_PASSING)`: a call to the daemon, whose failure is the error).
fn check_fd_passing(conn: &Connect, func: &str) -> Result<(), Error> {
    conn.check_rw(func)?;
    let args = r::RemoteConnectSupportsFeatureArgs { feature: FEATURE_FD_PASSING };
    if conn.call::<r::ConnectSupportsFeature>(&args)?.supported != 0 {
        Ok(())
    } else {
        let msg = "fd passing is not supported by this connection";
        Err(Error::in_api(func, ErrorNumber::ArgumentUnsupported, msg))
    }
}

/// What the client library says when the descriptor cannot go out (then the connection is
/// closed, as libvirt's client closes it).
fn pass_error(e: adapter_blocking::Error) -> Error {
    match e {
        adapter_blocking::Error::Io { source, .. } => Error::rpc(format!("internal error: {source}")),
        e => Error::from(e),
    }
}

impl Domain {
    /// `virDomainOpenGraphics`: connects the graphics console `idx` to `fd`, a socket of the
    /// caller's, which is passed to the daemon (`VIR_NET_CALL_WITH_FDS`; unix sockets only).
    pub fn open_graphics(&self, idx: u32, fd: i32, flags: u32) -> Result<(), Error> {
        const FUNC: &str = "virDomainOpenGraphics";
        if fd < 0 {
            return Err(Error::invalid_arg(FUNC, format!("fd in {FUNC} must be zero or greater")));
        }
        let stat = nix::sys::stat::fstat(RawFd::from(fd)).map_err(|e| {
            let e = crate::driver::strerror(&std::io::Error::from(e));
            let msg = format!("Unable to access file descriptor {fd}: {e}");
            Error::in_api(FUNC, ErrorNumber::SystemError, msg)
        })?;
        if stat.st_mode & nix::libc::S_IFMT != nix::libc::S_IFSOCK {
            return Err(Error::invalid_arg(FUNC, format!("fd {fd} must be a socket")));
        }
        check_fd_passing(&self.conn, FUNC)?;
        let args = r::RemoteDomainOpenGraphicsArgs { dom: self.raw(), idx, flags };
        let body = proto_core::xdr::to_bytes(&args).map_err(|e| Error::rpc(e.to_string()))?;
        let spec = CallSpec::of::<r::DomainOpenGraphics>();
        self.conn.client().call_with_fd(spec, &body, fd).map_err(pass_error)?;
        Ok(())
    }

    /// `virDomainOpenGraphicsFD`: asks the daemon for a descriptor connected to the graphics
    /// console `idx`. Receiving descriptors is not implemented: the call is made and its error
    /// is libvirt's; a success (`VIR_NET_REPLY_WITH_FDS`) reports "no file descriptor
    /// received" (the descriptor is closed, the connection goes on).
    pub fn open_graphics_fd(&self, idx: u32, flags: u32) -> Result<u32, Error> {
        const FUNC: &str = "virDomainOpenGraphicsFD";
        check_fd_passing(&self.conn, FUNC)?;
        let args = r::RemoteDomainOpenGraphicsFdArgs { dom: self.raw(), idx, flags };
        self.conn.call::<r::DomainOpenGraphicsFd>(&args)?;
        Err(Error::new(ErrorNumber::InternalError, ErrorDomain::Rpc, "internal error: no file descriptor received"))
    }
}
