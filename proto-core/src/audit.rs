//! The client audit: what a [`ServerConnection`](crate::ServerConnection) with
//! [`ServerConfig::audit`](crate::ServerConfig::audit) on reports about the client's use of the
//! protocol. libvirtd serves all of these messages (or drops them quietly), so a client that
//! makes them works against libvirtd today; each one is still outside what libvirt's own client
//! sends, and each [`ProtocolDeviation`] names the rule and where libvirt states it.

use bytes::Bytes;

use crate::frame::RawHeader;
use crate::program::{KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, REMOTE_PROGRAM};
use crate::programs::remote::{
    REMOTE_PROC_AUTH_LIST, REMOTE_PROC_AUTH_POLKIT, REMOTE_PROC_AUTH_SASL_INIT, REMOTE_PROC_AUTH_SASL_START,
    REMOTE_PROC_AUTH_SASL_STEP, REMOTE_PROC_CONNECT_CLOSE, REMOTE_PROC_CONNECT_OPEN,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE,
};
use crate::xdr::{DeviationKind, XdrReader};
use crate::MessageType;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
const FEATURE_KEEPALIVE: i32 = 10;

/// The rule a client broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// A non-canonical XDR encoding in a call's arguments (see [`DeviationKind`]).
    NonCanonicalXdr(DeviationKind),
    /// Bytes after the end of a call's arguments.
    TrailingBytes(usize),
    /// Arguments that do not decode as the procedure's type.
    UndecodableArguments,
    /// A call that needs an open connection before `CONNECT_OPEN`.
    CallBeforeOpen,
    /// A call whose serial is that of a call still in flight.
    SerialInFlight,
    /// A CALL whose status is not `VIR_NET_OK`.
    CallStatusNotOk(i32),
    /// A message type only a server sends (REPLY, a MESSAGE other than keepalive) or none.
    UnexpectedMessageType(i32),
    /// A keepalive message that is not a body-less PING or PONG of type MESSAGE.
    KeepaliveMisuse,
    /// A stream packet for no open stream.
    StreamPacketWithoutStream,
    /// A stream packet after the client finished or aborted that stream.
    StreamPacketAfterFinish,
}

impl Rule {
    /// What the rule says, and where libvirt says it.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Self::NonCanonicalXdr(k) => format!("non-canonical XDR: {k}"),
            Self::TrailingBytes(n) => format!(
                "{n} bytes after the arguments (src/rpc/virnetmessage.c virNetMessageDecodePayload stops at the \
                 arguments' end and ignores the rest)"
            ),
            Self::UndecodableArguments => "arguments do not decode as the procedure's type (libvirtd answers \
                'Unable to decode message payload', src/rpc/virnetmessage.c virNetMessageDecodePayload)"
                .into(),
            Self::CallBeforeOpen => "a call that needs an open connection before CONNECT_OPEN (libvirtd answers \
                'hypervisor connection not open', src/remote/remote_daemon_dispatch.c remoteGetHypervisorConn)"
                .into(),
            Self::SerialInFlight => "serial of a call still in flight (libvirt's client numbers calls \
                priv->counter++, src/remote/remote_driver.c callFull; replies are matched by serial, \
                src/rpc/virnetclient.c)"
                .into(),
            Self::CallStatusNotOk(s) => format!(
                "CALL with status {s}, not VIR_NET_OK (src/rpc/virnetprotocol.x; libvirtd answers 'Unexpected \
                 message status', src/rpc/virnetserverprogram.c)"
            ),
            Self::UnexpectedMessageType(t) => format!(
                "message type {t} is not one a client sends (virNetMessageType in src/rpc/virnetprotocol.x; \
                 libvirtd drops it, src/rpc/virnetserverprogram.c virNetServerProgramDispatch)"
            ),
            Self::KeepaliveMisuse => "keepalive messages are body-less PING (1) or PONG (2) of type MESSAGE \
                (src/rpc/virkeepaliveprotocol.x, src/rpc/virkeepalive.c)"
                .into(),
            Self::StreamPacketWithoutStream => "stream packet for no open stream (libvirtd drops it, \
                src/rpc/virnetserverprogram.c, src/remote/remote_daemon_stream.c)"
                .into(),
            Self::StreamPacketAfterFinish => "stream packet after the client finished or aborted the stream \
                (src/remote/remote_daemon_stream.c daemonStreamHandleFinish/Abort close it)"
                .into(),
        }
    }
}

/// One deviation from the protocol by the client: in which message, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolDeviation {
    /// The message's header words.
    pub header: RawHeader,
    /// Offset of the offending bytes in the message (for encodings), if known.
    pub offset: Option<usize>,
    /// The rule.
    pub rule: Rule,
}

impl ProtocolDeviation {
    /// libvirt's name of the message's procedure (`REMOTE_PROC_CONNECT_OPEN`), or
    /// `program 0x… procedure N` when libvirt 9.0 defines none.
    #[must_use]
    pub fn procedure_name(&self) -> String {
        crate::programs::procedure(self.header.prog, self.header.vers, self.header.proc_).map_or_else(
            || format!("program {:#x} procedure {}", self.header.prog, self.header.proc_),
            |p| p.name.to_owned(),
        )
    }
}

impl std::fmt::Display for ProtocolDeviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "serial {} {}", self.header.serial, self.procedure_name())?;
        if let Some(o) = self.offset {
            write!(f, " byte {o}")?;
        }
        write!(f, ": {}", self.rule.text())
    }
}

/// Procedures libvirtd serves before `CONNECT_OPEN` (`SUPPORTS_FEATURE` only for keepalive).
fn allowed_before_open(proc_: i32, args: &[u8]) -> bool {
    match proc_ {
        REMOTE_PROC_CONNECT_OPEN
        | REMOTE_PROC_CONNECT_CLOSE
        | REMOTE_PROC_AUTH_LIST
        | REMOTE_PROC_AUTH_SASL_INIT
        | REMOTE_PROC_AUTH_SASL_START
        | REMOTE_PROC_AUTH_SASL_STEP
        | REMOTE_PROC_AUTH_POLKIT => true,
        REMOTE_PROC_CONNECT_SUPPORTS_FEATURE => {
            args.len() >= 4 && i32::from_be_bytes([args[0], args[1], args[2], args[3]]) == FEATURE_KEEPALIVE
        }
        _ => false,
    }
}

/// What the connection knows about a message's serial, for the audit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SerialState {
    /// A call with this serial (same program) awaits its answer.
    pub call_in_flight: bool,
    /// A stream with this serial is open: `Some(client_done)`.
    pub stream: Option<bool>,
}

/// The audit's per-connection state.
#[derive(Debug, Default)]
pub(crate) struct Auditor {
    opened: bool,
}

impl Auditor {
    /// Checks one message from the client; `body` starts after the header.
    pub(crate) fn check(&mut self, raw: RawHeader, body: &Bytes, known: SerialState) -> Vec<ProtocolDeviation> {
        let mut out = vec![];
        let mut push = |rule, offset| out.push(ProtocolDeviation { header: raw, offset, rule });
        let ty = MessageType::from_wire(raw.ty);
        if raw.prog == KEEPALIVE_PROGRAM {
            let ok = ty == Some(MessageType::Message)
                && matches!(raw.proc_, KEEPALIVE_PROC_PING | KEEPALIVE_PROC_PONG)
                && raw.status == 0
                && body.is_empty();
            if !ok {
                push(Rule::KeepaliveMisuse, None);
            }
            return out;
        }
        match ty {
            Some(MessageType::Call | MessageType::CallWithFds) => {}
            Some(MessageType::Stream | MessageType::StreamHole) => {
                match known.stream {
                    None => push(Rule::StreamPacketWithoutStream, None),
                    Some(true) => push(Rule::StreamPacketAfterFinish, None),
                    Some(false) => {}
                }
                return out;
            }
            _ => {
                push(Rule::UnexpectedMessageType(raw.ty), None);
                return out;
            }
        }
        if raw.status != 0 {
            push(Rule::CallStatusNotOk(raw.status), None);
        }
        if known.call_in_flight {
            push(Rule::SerialInFlight, None);
        }
        let header_len = crate::frame::MIN_FRAME_LEN as usize;
        let (args, base) = if ty == Some(MessageType::CallWithFds) && body.len() >= 4 {
            (body.slice(4..), header_len + 4)
        } else {
            (body.clone(), header_len)
        };
        if raw.prog == REMOTE_PROGRAM {
            if !self.opened && !allowed_before_open(raw.proc_, &args) {
                push(Rule::CallBeforeOpen, None);
            }
            if raw.proc_ == REMOTE_PROC_CONNECT_OPEN {
                self.opened = true;
            }
        }
        let mut r = XdrReader::noting(args, base);
        match crate::programs::decode_args(raw.prog, raw.vers, raw.proc_, &mut r) {
            None => {}
            Some(Err(e)) => push(Rule::UndecodableArguments, Some(e.offset)),
            Some(Ok(())) => {
                for d in r.deviations() {
                    push(Rule::NonCanonicalXdr(d.kind), Some(d.offset));
                }
                if r.remaining() > 0 {
                    push(Rule::TrailingBytes(r.remaining()), Some(r.offset()));
                }
            }
        }
        out
    }
}
