//! The call sequence libvirt's remote driver makes when it opens a connection
//! (`doRemoteOpen` in `src/remote/remote_driver.c`; `protocol-facts.md` §7.1, §10), as a small
//! state machine any adapter can run over its [`ClientConnection`](crate::ClientConnection):
//!
//! 1. `REMOTE_PROC_AUTH_LIST` (66): the server's auth types; only `REMOTE_AUTH_NONE` is
//!    supported, SASL and polkit get a clear error naming the mechanism;
//! 2. `REMOTE_PROC_CONNECT_SUPPORTS_FEATURE` (60) with `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE` (10);
//! 3. `REMOTE_PROC_CONNECT_OPEN` (1) with the URI's `name` and the flags (`VIR_CONNECT_RO` = 1);
//! 4. features `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK` (14) and
//!    `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK` (15), which decide the event API.
//!
//! Adapters send it in two batches ([`ConnectSequence::next_batch`]): 1–3 together, then 4
//! (one call at a time over TLS, see [`ConnectSequence::for_target`]).
//!
//! ```
//! use proto_core::connect::ConnectSequence;
//! let mut seq = ConnectSequence::new(Some("test:///default".into()), 0);
//! let (spec, args) = seq.next_call().unwrap();
//! assert_eq!(spec.proc_, 66);
//! assert!(args.is_empty());
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::client::CallSpec;
use crate::xdr::{self, XdrReader};
use crate::CallError;

/// `REMOTE_PROC_CONNECT_OPEN`.
pub const REMOTE_PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_CONNECT_CLOSE`.
pub const REMOTE_PROC_CONNECT_CLOSE: i32 = 2;
/// `REMOTE_PROC_AUTH_LIST`.
pub const REMOTE_PROC_AUTH_LIST: i32 = 66;
/// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
pub const VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK: i32 = 14;
/// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`.
pub const VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK: i32 = 15;
/// `VIR_CONNECT_RO`: open read-only.
pub const VIR_CONNECT_RO: u32 = 1;
/// `REMOTE_AUTH_NONE`.
pub const REMOTE_AUTH_NONE: i32 = 0;
/// `REMOTE_AUTH_SASL`.
pub const REMOTE_AUTH_SASL: i32 = 1;
/// `REMOTE_AUTH_POLKIT`.
pub const REMOTE_AUTH_POLKIT: i32 = 2;
/// `REMOTE_AUTH_TYPE_LIST_MAX`.
pub const REMOTE_AUTH_TYPE_LIST_MAX: u32 = 20;
/// Over TLS, after the handshake, the server sends this one byte once it has accepted the
/// client (its certificate and its DN); only then does the RPC start (`virnetserverclient.c`,
/// `virnetclient.c`).
pub const TLS_CHECK_BYTE: u8 = 1;
/// libvirt's client error when the check byte is missing or wrong.
pub const TLS_REFUSED: &str = "server verification (of our certificate or IP address) failed";
/// How long a client waits for the TLS handshake and then for the check byte.
pub const TLS_HANDSHAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a TLS client found where the check byte belongs, after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckByteRead {
    /// One byte.
    Byte(u8),
    /// The server ended the TLS session (close_notify).
    SessionEnded,
    /// The connection ended without a TLS close.
    ConnectionClosed,
    /// Reading failed otherwise.
    Failed(String),
}

/// The client certificate a TLS client presented, for the refusal's text (what we sent is the
/// likeliest reason a server refuses us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// The client certificate at this path.
    Certificate(String),
    /// None: the certificate and key files (paths) are not both there.
    Nothing {
        /// The certificate's path.
        cert: String,
        /// The key's path.
        key: String,
    },
}

impl std::fmt::Display for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate(cert) => write!(f, "we sent the client certificate '{cert}'"),
            Self::Nothing { cert, key } => {
                write!(f, "we sent no client certificate ('{cert}' and '{key}' are not both there)")
            }
        }
    }
}

/// Why a TLS client could not start the RPC: the texts both adapters report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsCheckError {
    /// The server did not send the check byte 1: it refused us.
    #[error("{TLS_REFUSED}: {why}; {presented}")]
    Refused {
        /// What came instead.
        why: String,
        /// What we presented.
        presented: Presented,
    },
    /// The connection ended during the handshake.
    #[error("the server closed the connection during the TLS handshake")]
    ClosedInHandshake,
    /// No answer in time.
    #[error("no answer from the server {} within {:?}", if *handshaking { "to the TLS handshake" } else { "accepting us (the check byte)" }, TLS_HANDSHAKE_WAIT)]
    Timeout {
        /// Whether the handshake was still running.
        handshaking: bool,
    },
}

/// The client's verdict on what it read where libvirt's check byte belongs
/// (`virNetClientTLSHandshake`'s confirmation read): `Ok` only for [`TLS_CHECK_BYTE`].
///
/// # Errors
/// [`TlsCheckError::Refused`], saying what came instead and what we presented.
pub fn check_tls_byte(read: CheckByteRead, presented: Presented) -> Result<(), TlsCheckError> {
    let why = match read {
        CheckByteRead::Byte(TLS_CHECK_BYTE) => return Ok(()),
        CheckByteRead::Byte(b) => format!("the server sent {b} instead of {TLS_CHECK_BYTE}"),
        CheckByteRead::SessionEnded => "the server ended the TLS session instead of accepting us".into(),
        CheckByteRead::ConnectionClosed => "the server closed the connection instead of accepting us".into(),
        CheckByteRead::Failed(e) => e,
    };
    Err(TlsCheckError::Refused { why, presented })
}

/// The server's side: after the handshake and the daemon's checks of the client (`verdict`),
/// the byte to send, or why the connection is closed without it (as libvirtd does; the client
/// then reports [`TlsCheckError::Refused`]).
///
/// # Errors
/// The daemon's reason, when it refused the client.
pub fn tls_check_reply(verdict: Result<(), String>) -> Result<[u8; 1], String> {
    verdict.map(|()| [TLS_CHECK_BYTE])
}

/// Why opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The server requires an authentication mechanism this implementation does not support.
    #[error("authentication failed: the server requires {mechanism} authentication, which is not supported (only 'none' is)")]
    AuthNotSupported {
        /// "SASL", "polkit" or the number of an unknown type.
        mechanism: String,
    },
    /// A call of the sequence failed.
    #[error("{step}: {error}")]
    Call {
        /// Which step ("AUTH_LIST", "CONNECT_OPEN", …).
        step: &'static str,
        /// Why.
        error: CallError,
    },
}

/// What the server said it supports, once the sequence is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerFeatures {
    /// Feature 10: the server runs keepalive; the client may turn its own on.
    pub keepalive: bool,
    /// Feature 14: callback-style event registration (316/317) is available.
    pub event_callbacks: bool,
    /// Feature 15: close callbacks (360/361) are available.
    pub close_callback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    AuthList,
    Keepalive,
    Open,
    EventCallback,
    CloseCallback,
    Done,
}

/// The open sequence: ask [`ConnectSequence::next_call`] for a call, make it, hand the outcome
/// to [`ConnectSequence::on_reply`], until `next_call` returns `None`.
#[derive(Debug, Clone)]
pub struct ConnectSequence {
    name: Option<String>,
    flags: u32,
    step: Step,
    features: ServerFeatures,
    pipelined: bool,
    /// Whether step 2 is made (see [`ConnectSequence::offer_keepalive`]).
    keepalive: bool,
}

fn feature_args(feature: i32) -> Bytes {
    Bytes::copy_from_slice(&feature.to_be_bytes())
}

impl ConnectSequence {
    /// A sequence that opens `name` (the URI to send in `CONNECT_OPEN`; `None` lets the server
    /// pick) with `flags` (`VIR_CONNECT_RO` for read-only).
    #[must_use]
    pub fn new(name: Option<String>, flags: u32) -> Self {
        Self {
            name,
            flags,
            step: Step::AuthList,
            features: ServerFeatures::default(),
            pipelined: true,
            keepalive: true,
        }
    }

    /// Whether the sequence offers keepalive (step 2, the default). libvirt's client makes that
    /// probe only when it can answer the server's pings, i.e. with an event loop registered
    /// (`virNetClientKeepAliveIsSupported` in `doRemoteOpen`): a program without one sends
    /// neither the probe nor pings, and libvirtd then never pings it nor keeps a timer for it.
    #[must_use]
    pub fn offer_keepalive(mut self, offer: bool) -> Self {
        self.keepalive = offer;
        self
    }

    /// The step after `AUTH_LIST`.
    fn after_auth(&self) -> Step {
        if self.keepalive {
            Step::Keepalive
        } else {
            Step::Open
        }
    }

    /// The sequence that opens `target`: its name and `CONNECT_OPEN` flags, pipelined except
    /// over TLS. libvirtd 9.0 reads one message per readable event and never looks at what its
    /// TLS library already holds (`virNetSocketHasCachedData` knows SASL and ssh, not TLS), so a
    /// second call that arrived with the first can sit unread: pipelined opens over TLS hung.
    #[must_use]
    pub fn for_target(target: &crate::uri::RemoteTarget) -> Self {
        let mut seq = Self::new(Some(target.name.clone()), target.connect_open_flags());
        seq.pipelined = target.transport != crate::uri::Transport::Tls;
        seq
    }

    /// The next call to make, or `None` when the connection is open.
    #[must_use]
    pub fn next_call(&self) -> Option<(CallSpec, Bytes)> {
        let feature =
            |f| Some((CallSpec::remote(crate::program::REMOTE_PROC_CONNECT_SUPPORTS_FEATURE), feature_args(f)));
        match self.step {
            Step::AuthList => Some((CallSpec::remote(REMOTE_PROC_AUTH_LIST), Bytes::new())),
            Step::Keepalive => feature(crate::program::VIR_DRV_FEATURE_PROGRAM_KEEPALIVE),
            Step::Open => {
                let mut out = BytesMut::new();
                match &self.name {
                    Some(n) => {
                        out.put_u32(1);
                        // A name over the string bound cannot be sent; the server would refuse it.
                        let n = &n.as_bytes()[..n.len().min(xdr::STRING_MAX as usize)];
                        let _ = xdr::put_string(&mut out, n, xdr::STRING_MAX);
                    }
                    None => out.put_u32(0),
                }
                out.put_u32(self.flags);
                Some((CallSpec::remote(REMOTE_PROC_CONNECT_OPEN), out.freeze()))
            }
            Step::EventCallback => feature(VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK),
            Step::CloseCallback => feature(VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK),
            Step::Done => None,
        }
    }

    /// The calls that may be sent together from here (one at a time over TLS, see
    /// [`ConnectSequence::for_target`]), in order: their replies go to
    /// [`ConnectSequence::on_reply`] in the same order. `AUTH_LIST`, the keepalive probe and
    /// `CONNECT_OPEN` form one batch (only `REMOTE_AUTH_NONE` is supported, so `CONNECT_OPEN`
    /// does not depend on `AUTH_LIST`'s answer: a server that wants SASL or polkit refuses the
    /// open, and the sequence reports the mechanism from `AUTH_LIST`'s reply, which comes
    /// first); the two feature probes that need an open connection form the second. Two
    /// round trips instead of five; the calls, their order and their serials are those of
    /// [`ConnectSequence::next_call`] one at a time.
    #[must_use]
    pub fn next_batch(&self) -> Vec<(CallSpec, Bytes)> {
        let mut probe = self.clone();
        let mut batch = Vec::with_capacity(3);
        while let Some(call) = probe.next_call() {
            batch.push(call);
            let barrier = probe.step == Step::Open || !self.pipelined;
            probe.step = match probe.step {
                Step::AuthList => self.after_auth(),
                Step::Keepalive => Step::Open,
                Step::Open => Step::EventCallback,
                Step::EventCallback => Step::CloseCallback,
                Step::CloseCallback | Step::Done => Step::Done,
            };
            if barrier {
                break;
            }
        }
        batch
    }

    /// Takes the outcome of the call [`ConnectSequence::next_call`] returned.
    ///
    /// # Errors
    /// When the server requires unsupported authentication, or `CONNECT_OPEN` (or a reply that
    /// must decode) failed. Failures of the optional steps (an old server without AUTH_LIST or
    /// a feature) are tolerated as libvirt tolerates them.
    pub fn on_reply(&mut self, reply: Result<Bytes, CallError>) -> Result<(), OpenError> {
        let int_reply = |r: Result<Bytes, CallError>| -> bool {
            r.ok().and_then(|b| XdrReader::new(b).i32().ok()).is_some_and(|v| v != 0)
        };
        match self.step {
            Step::AuthList => {
                match reply {
                    Ok(body) => {
                        let mut r = XdrReader::new(body);
                        let types = r
                            .array::<i32>(REMOTE_AUTH_TYPE_LIST_MAX)
                            .map_err(|e| OpenError::Call { step: "AUTH_LIST", error: CallError::Decode(e) })?;
                        match types.first() {
                            None | Some(&REMOTE_AUTH_NONE) => {}
                            Some(&REMOTE_AUTH_SASL) => {
                                return Err(OpenError::AuthNotSupported { mechanism: "SASL".into() })
                            }
                            Some(&REMOTE_AUTH_POLKIT) => {
                                return Err(OpenError::AuthNotSupported { mechanism: "polkit".into() })
                            }
                            Some(other) => {
                                return Err(OpenError::AuthNotSupported { mechanism: format!("type {other}") })
                            }
                        }
                    }
                    // An old server without AUTH_LIST: libvirt's client carries on.
                    Err(CallError::Remote(e)) if e.is_unknown_procedure() => {}
                    Err(error) => return Err(OpenError::Call { step: "AUTH_LIST", error }),
                }
                self.step = self.after_auth();
            }
            Step::Keepalive => {
                if let Err(error @ CallError::Closed(_)) = &reply {
                    return Err(OpenError::Call { step: "CONNECT_SUPPORTS_FEATURE", error: error.clone() });
                }
                self.features.keepalive = int_reply(reply);
                self.step = Step::Open;
            }
            Step::Open => {
                if let Err(error) = reply {
                    return Err(OpenError::Call { step: "CONNECT_OPEN", error });
                }
                self.step = Step::EventCallback;
            }
            Step::EventCallback => {
                self.features.event_callbacks = int_reply(reply);
                self.step = Step::CloseCallback;
            }
            Step::CloseCallback => {
                self.features.close_callback = int_reply(reply);
                self.step = Step::Done;
            }
            Step::Done => {}
        }
        Ok(())
    }

    /// Whether the connection is open.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// What the server supports (complete once [`ConnectSequence::is_done`]).
    #[must_use]
    pub fn features(&self) -> ServerFeatures {
        self.features
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tls_check_byte_texts() {
        use super::{check_tls_byte, CheckByteRead as R, Presented, TlsCheckError};
        let p = || Presented::Certificate("/pki/clientcert.pem".into());
        assert_eq!(check_tls_byte(R::Byte(1), p()), Ok(()));
        assert_eq!(
            check_tls_byte(R::Byte(0), p()).unwrap_err().to_string(),
            "server verification (of our certificate or IP address) failed: the server sent 0 instead of 1; we \
             sent the client certificate '/pki/clientcert.pem'"
        );
        let none = Presented::Nothing { cert: "c.pem".into(), key: "k.pem".into() };
        assert!(check_tls_byte(R::ConnectionClosed, none).unwrap_err().to_string().ends_with(
            "the server closed the connection instead of accepting us; we sent no client certificate ('c.pem' and \
             'k.pem' are not both there)"
        ));
        assert_eq!(
            TlsCheckError::Timeout { handshaking: false }.to_string(),
            "no answer from the server accepting us (the check byte) within 30s"
        );
        assert_eq!(super::tls_check_reply(Ok(())), Ok([1]));
        assert_eq!(super::tls_check_reply(Err("DN".into())), Err("DN".into()));
    }

    use super::*;
    use crate::error::{ErrorCode, ErrorDomain, RemoteError};

    fn int(v: i32) -> Result<Bytes, CallError> {
        Ok(Bytes::copy_from_slice(&v.to_be_bytes()))
    }

    #[test]
    fn the_sequence_virsh_makes() {
        let mut s = ConnectSequence::new(Some("test:///default".into()), 0);
        let mut procs = vec![];
        let replies = [Ok(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])), int(1), Ok(Bytes::new()), int(1), int(0)];
        for r in replies {
            let (spec, args) = s.next_call().unwrap();
            procs.push((spec.proc_, args.to_vec()));
            s.on_reply(r).unwrap();
        }
        assert!(s.is_done() && s.next_call().is_none());
        assert_eq!(s.features(), ServerFeatures { keepalive: true, event_callbacks: true, close_callback: false });
        // CONNECT_OPEN's args as virsh sends them (protocol-facts.md §7.1).
        let open = &procs[2].1;
        assert_eq!(
            open.as_slice(),
            &[
                0, 0, 0, 1, 0, 0, 0, 15, b't', b'e', b's', b't', b':', b'/', b'/', b'/', b'd', b'e', b'f', b'a', b'u',
                b'l', b't', 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(procs.iter().map(|p| p.0).collect::<Vec<_>>(), vec![66, 60, 1, 60, 60]);
        assert_eq!(procs[1].1, vec![0, 0, 0, 10]);
    }

    #[test]
    fn batches_are_the_sequence_in_two_round_trips() {
        let env = crate::uri::ClientEnv::default();
        let tls = crate::uri::LibvirtUri::parse("test+tls://host.example/default").unwrap().resolve(&env, false);
        assert_eq!(ConnectSequence::for_target(&tls.unwrap()).next_batch().len(), 1, "one at a time over TLS");
        let tcp = crate::uri::LibvirtUri::parse("test+tcp://host.example/default").unwrap().resolve(&env, false);
        assert_eq!(ConnectSequence::for_target(&tcp.unwrap()).next_batch().len(), 3);
        let mut s = ConnectSequence::new(Some("test:///default".into()), 0);
        let one_by_one: Vec<_> = {
            let mut t = s.clone();
            let replies = [Ok(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])), int(1), Ok(Bytes::new()), int(1), int(1)];
            replies
                .into_iter()
                .map(|r| {
                    let c = t.next_call().unwrap();
                    t.on_reply(r).unwrap();
                    (c.0.proc_, c.1)
                })
                .collect()
        };
        let first = s.next_batch();
        assert_eq!(first.iter().map(|c| c.0.proc_).collect::<Vec<_>>(), vec![66, 60, 1]);
        for r in [Ok(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])), int(1), Ok(Bytes::new())] {
            s.on_reply(r).unwrap();
        }
        let second = s.next_batch();
        assert_eq!(second.iter().map(|c| c.0.proc_).collect::<Vec<_>>(), vec![60, 60]);
        let all: Vec<_> = first.into_iter().chain(second).map(|c| (c.0.proc_, c.1)).collect();
        assert_eq!(all, one_by_one, "the same calls with the same arguments, in the same order");
        s.on_reply(int(1)).unwrap();
        s.on_reply(int(1)).unwrap();
        assert!(s.is_done() && s.next_batch().is_empty());
        assert!(s.features().close_callback);
    }

    #[test]
    fn without_keepalive_the_probe_is_not_made() {
        // libvirt's client without an event loop: AUTH_LIST, CONNECT_OPEN, the two probes.
        let mut s = ConnectSequence::new(Some("test:///default".into()), 0).offer_keepalive(false);
        let first = s.next_batch();
        assert_eq!(first.iter().map(|c| c.0.proc_).collect::<Vec<_>>(), vec![66, 1]);
        for r in [Ok(Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])), Ok(Bytes::new())] {
            s.on_reply(r).unwrap();
        }
        let second = s.next_batch();
        assert_eq!(
            second.iter().map(|c| (c.0.proc_, c.1.to_vec())).collect::<Vec<_>>(),
            vec![(60, vec![0, 0, 0, 14]), (60, vec![0, 0, 0, 15])]
        );
        s.on_reply(int(1)).unwrap();
        s.on_reply(int(1)).unwrap();
        assert!(s.is_done());
        assert!(!s.features().keepalive, "no probe: the server is not known to run keepalive");
    }

    #[test]
    fn sasl_and_polkit_are_named() {
        for (t, name) in [(1u8, "SASL"), (2, "polkit")] {
            let mut s = ConnectSequence::new(None, 0);
            let e = s.on_reply(Ok(Bytes::copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, t]))).unwrap_err();
            assert_eq!(e, OpenError::AuthNotSupported { mechanism: name.into() });
            assert!(e.to_string().contains(name));
        }
    }

    #[test]
    fn old_server_and_open_failure() {
        let mut s = ConnectSequence::new(None, VIR_CONNECT_RO);
        s.on_reply(Err(CallError::Remote(Box::new(RemoteError::unknown_procedure(66))))).unwrap();
        s.on_reply(Err(CallError::Remote(Box::new(RemoteError::unknown_procedure(60))))).unwrap();
        assert_eq!(&s.next_call().unwrap().1[..], &[0, 0, 0, 0, 0, 0, 0, 1], "no name, read-only");
        let err = RemoteError::new(ErrorCode::VIR_ERR_NO_CONNECT, ErrorDomain::VIR_FROM_NONE, "no driver");
        let e = s.on_reply(Err(CallError::Remote(Box::new(err)))).unwrap_err();
        assert!(matches!(e, OpenError::Call { step: "CONNECT_OPEN", .. }));
        assert!(!s.features().keepalive);
    }
}
