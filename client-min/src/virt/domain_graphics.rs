//! `virDomainOpenGraphics`/`virDomainOpenGraphicsFD`: a graphical console through a
//! descriptor, passed over the connection's unix socket in either direction (blocking and
//! async).

use std::os::fd::{IntoRawFd, RawFd};

use proto_core::client::CallSpec;
use proto_core::programs::remote as r;

use crate::domain::Domain;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::macros::twin;

/// `VIR_DRV_FEATURE_FD_PASSING` (`src/libvirt_internal.h`).
const FEATURE_FD_PASSING: i32 = 8;

/// What the client library says when the descriptor cannot go out (then the connection is
/// closed, as libvirt's client closes it).
fn pass_error(e: adapter_blocking::Error) -> Error {
    match e {
        adapter_blocking::Error::Io { source, .. } => Error::rpc(format!("internal error: {source}")),
        e => Error::from(e),
    }
}

/// `virDomainOpenGraphics`'s checks of the caller's descriptor, before any call.
fn check_socket(fd: i32, func: &str) -> Result<(), Error> {
    if fd < 0 {
        return Err(Error::invalid_arg(func, format!("fd in {func} must be zero or greater")));
    }
    let stat = nix::sys::stat::fstat(RawFd::from(fd)).map_err(|e| {
        let e = crate::driver::strerror(&std::io::Error::from(e));
        let msg = format!("Unable to access file descriptor {fd}: {e}");
        Error::in_api(func, ErrorNumber::SystemError, msg)
    })?;
    if stat.st_mode & nix::libc::S_IFMT != nix::libc::S_IFSOCK {
        return Err(Error::invalid_arg(func, format!("fd {fd} must be a socket")));
    }
    Ok(())
}

/// What libvirt's client reports to the call whose reply's descriptors cannot be received
/// (`virnetsocket.c`, `virnetmessage.c`); the connection is closed, and the calls after it get
/// "client socket is closed".
fn recv_error(e: adapter_blocking::Error) -> Error {
    use proto_core::{CallError, ConnectionError, DecodeErrorKind, ProtocolError};
    let adapter_blocking::Error::Call(CallError::Closed(ConnectionError::Protocol(p))) = &e else {
        return Error::from(e);
    };
    match p {
        ProtocolError::FdNotReceived => {
            Error::new(ErrorNumber::SystemError, ErrorDomain::Rpc, "Failed to recv file descriptor: Permission denied")
        }
        ProtocolError::FdPassingUnsupported => Error::rpc(format!("internal error: {p}")),
        ProtocolError::Decode(d) => match d.kind {
            DecodeErrorKind::TooManyFds(n) => Error::new(
                ErrorNumber::Rpc,
                ErrorDomain::Rpc,
                format!(
                    "Received too many FDs {n}, expected {} maximum",
                    proto_core::frame::VIR_NET_MESSAGE_NUM_FDS_MAX
                ),
            ),
            _ => Error::from(e),
        },
        _ => Error::from(e),
    }
}

fn encode<T: proto_core::XdrEncode>(args: &T) -> Result<bytes::Bytes, Error> {
    proto_core::xdr::to_bytes(args).map_err(|e| Error::rpc(e.to_string()))
}

twin! { Connect, Domain; impl Domain {
    /// The public API's checks (`virCheckReadOnlyGoto`, then `VIR_DRV_SUPPORTS_FEATURE(…,
    /// VIR_DRV_FEATURE_FD_PASSING)`: a call to the daemon, whose failure is the error).
    async fn check_fd_passing(&self, func: &str) -> Result<(), Error> {
        self.conn.check_rw(func)?;
        let args = r::RemoteConnectSupportsFeatureArgs { feature: FEATURE_FD_PASSING };
        if aw!(self.conn.call::<r::ConnectSupportsFeature>(&args))?.supported != 0 {
            Ok(())
        } else {
            let msg = "fd passing is not supported by this connection";
            Err(Error::in_api(func, ErrorNumber::ArgumentUnsupported, msg))
        }
    }

    /// `virDomainOpenGraphics`: connects the graphics console `idx` to `fd`, a socket of the
    /// caller's, which is passed to the daemon (`VIR_NET_CALL_WITH_FDS`; unix sockets only).
    pub async fn open_graphics(&self, idx: u32, fd: i32, flags: u32) -> Result<(), Error> {
        const FUNC: &str = "virDomainOpenGraphics";
        check_socket(fd, FUNC)?;
        aw!(self.check_fd_passing(FUNC))?;
        let body = encode(&r::RemoteDomainOpenGraphicsArgs { dom: self.raw(), idx, flags })?;
        let spec = CallSpec::of::<r::DomainOpenGraphics>();
        aw!(self.conn.client().call_fds(spec, &body, Some(fd))).map_err(pass_error)?;
        Ok(())
    }

    /// `virDomainOpenGraphicsFD`: a descriptor connected to the graphics console `idx`, which
    /// the daemon passes back (`VIR_NET_REPLY_WITH_FDS`; unix sockets only). The caller owns
    /// it (and closes it). As libvirt's remote driver: a reply without a descriptor is "no file
    /// descriptor received", one with several "too many file descriptors received" (they are
    /// closed).
    pub async fn open_graphics_fd(&self, idx: u32, flags: u32) -> Result<u32, Error> {
        aw!(self.check_fd_passing("virDomainOpenGraphicsFD"))?;
        let body = encode(&r::RemoteDomainOpenGraphicsFdArgs { dom: self.raw(), idx, flags })?;
        let spec = CallSpec::of::<r::DomainOpenGraphicsFd>();
        let (_, mut fds) = aw!(self.conn.client().call_fds(spec, &body, None)).map_err(recv_error)?;
        let received = |what| Error::new(ErrorNumber::InternalError, ErrorDomain::Remote, format!("internal error: {what}"));
        match (fds.pop(), fds.len()) {
            (Some(fd), 0) => Ok(fd.into_raw_fd().unsigned_abs()),
            (None, _) => Err(received("no file descriptor received")),
            (Some(_), _) => Err(received("too many file descriptors received")),
        }
    }
}}
