//! TLS over async-io for both sides of a connection, with libvirt's check byte (its verdict
//! and texts are `proto_core::connect`'s; the PKI files are adapter-io's).

use std::net::TcpStream;
use std::sync::atomic::Ordering;

use adapter_io::transport;
use adapter_io::transport::ServerTls;
use futures_rustls::{pki_types::ServerName, TlsAcceptor, TlsConnector};
use proto_core::uri::RemoteTarget;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Timer};

use crate::{Error, Io};

/// TLS, then libvirt's check byte (the verdict and its texts are `proto_core::connect`'s).
pub(crate) async fn connect(target: &RemoteTarget, tcp: Async<TcpStream>) -> Result<impl Io, Error> {
    use proto_core::connect::{check_tls_byte, CheckByteRead, TlsCheckError, TLS_HANDSHAKE_WAIT};
    let pki = transport::tls_client_pki(target)?;
    let presented = pki.presented();
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| Error::Tls(format!("invalid host name '{}': {e}", target.host)))?;
    let tls_err = |e: TlsCheckError| Error::Tls(e.to_string());
    let handshaking = std::sync::atomic::AtomicBool::new(true);
    let handshake = async {
        let mut tls = TlsConnector::from(pki.config.clone()).connect(name, tcp).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                tls_err(TlsCheckError::ClosedInHandshake)
            } else {
                Error::Tls(transport::explain_tls_io_error(&e, target, &pki.paths))
            }
        })?;
        handshaking.store(false, Ordering::Relaxed);
        let mut check = [0u8; 1];
        let read = match tls.read(&mut check).await {
            Ok(1) => CheckByteRead::Byte(check[0]),
            Ok(_) => CheckByteRead::SessionEnded,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => CheckByteRead::ConnectionClosed,
            Err(e) => CheckByteRead::Failed(e.to_string()),
        };
        check_tls_byte(read, presented).map_err(tls_err)?;
        Ok(tls)
    };
    let timeout = async {
        Timer::after(TLS_HANDSHAKE_WAIT).await;
        Err(tls_err(TlsCheckError::Timeout { handshaking: handshaking.load(Ordering::Relaxed) }))
    };
    smol::future::or(handshake, timeout).await
}

/// The server's side: the handshake, the daemon's checks of the client (`checks`), then the
/// check byte; `None` (after `refused` with the reason, when the checks refused the client)
/// when the connection is to be closed, as libvirtd closes it. At most 30 s.
pub(crate) async fn accept(io: Box<dyn Io>, checks: &ServerTls, refused: impl FnOnce(&str)) -> Option<Box<dyn Io>> {
    let handshake = async {
        let mut tls = TlsAcceptor::from(checks.config().clone()).accept(io).await.ok()?;
        match proto_core::connect::tls_check_reply(checks.check_client(tls.get_ref().1)) {
            // libvirt's check byte: the client (its certificate, its DN) was accepted.
            Ok(byte) => tls.write_all(&byte).await.ok()?,
            Err(why) => {
                // As libvirtd: closed with no check byte; the client reports the refusal.
                refused(&why);
                return None;
            }
        }
        tls.flush().await.ok()?;
        Some(Box::new(tls) as Box<dyn Io>)
    };
    let timeout = async {
        Timer::after(std::time::Duration::from_secs(30)).await;
        None
    };
    smol::future::or(handshake, timeout).await
}
