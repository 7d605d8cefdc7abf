//! Messages read from the client: keepalive PINGs answered at once, calls the core refuses
//! answered with libvirtd's errors, messages a server never accepts dropped, calls and stream
//! packets turned into [`ServerEvent`]s, as long as `max_client_requests` leaves a slot.

use std::time::Instant;

use bytes::Bytes;

use crate::error::RemoteError;
use crate::frame::{
    Header, MessageStatus, MessageType, RawHeader, VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_NUM_FDS_MAX,
};
use crate::program::{
    KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION,
    REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, REMOTE_PROGRAM, VIR_DRV_FEATURE_PROGRAM_KEEPALIVE,
};
use crate::xdr::{self, DecodeError, DecodeErrorKind};
use crate::{ConnectionError, ProtocolError};

use super::{CallId, IgnoredReason, ServerConnection, ServerEvent};

impl ServerConnection {
    pub(super) fn process(&mut self, now: Instant) {
        while self.closed.is_none() && !self.draining && self.slots_used() < self.config.max_client_requests {
            match self.decoder.next_message() {
                Ok(Some(msg)) => {
                    if let Err(e) = self.handle_message(now, msg) {
                        self.fail(ConnectionError::Protocol(e));
                    }
                }
                Ok(None) => break,
                Err(e) => self.fail(ConnectionError::Protocol(e.into())),
            }
        }
        if self.decoder.buffered() == 0 {
            self.backlog_since = None;
        }
    }

    fn ignore(&mut self, header: RawHeader, reason: IgnoredReason) {
        self.events.push_back(ServerEvent::Ignored { header, reason });
    }

    fn handle_message(&mut self, now: Instant, msg: Bytes) -> Result<(), ProtocolError> {
        let raw = RawHeader::decode(&msg)?;
        let body = msg.slice(VIR_NET_MESSAGE_HEADER_MAX..);
        if let Some(auditor) = self.auditor.as_mut() {
            let known = crate::audit::SerialState {
                call_in_flight: self.calls.values().any(|h| h.serial == raw.serial && h.prog == raw.prog),
                stream: self.streams.get(&raw.serial).map(|s| s.client_done),
            };
            for d in auditor.check(raw, &body, known) {
                self.events.push_back(ServerEvent::Deviation(d));
            }
        }
        let Some(ty) = MessageType::from_wire(raw.ty) else {
            self.ignore(raw, IgnoredReason::UnexpectedType);
            return Ok(());
        };
        if raw.prog == KEEPALIVE_PROGRAM && raw.vers == KEEPALIVE_PROTOCOL_VERSION && ty == MessageType::Message {
            if raw.proc_ == KEEPALIVE_PROC_PING {
                self.send_keepalive(KEEPALIVE_PROC_PONG);
            }
            return Ok(());
        }
        let is_call = matches!(ty, MessageType::Call | MessageType::CallWithFds);
        let Some(program) = self.config.programs.iter().find(|p| p.prog == raw.prog && p.vers == raw.vers).copied()
        else {
            if is_call {
                self.answer_raw_error(raw, ty, &RemoteError::unknown_program(raw.prog, raw.vers));
            } else {
                self.ignore(raw, IgnoredReason::UnknownProgram);
            }
            return Ok(());
        };
        let Some(status) = MessageStatus::from_wire(raw.status) else {
            if is_call {
                self.answer_raw_error(raw, ty, &RemoteError::unexpected_status(raw.status));
            } else {
                self.ignore(raw, IgnoredReason::UnexpectedType);
            }
            return Ok(());
        };
        let header = Header { prog: raw.prog, vers: raw.vers, proc_: raw.proc_, ty, serial: raw.serial, status };
        match ty {
            MessageType::Call | MessageType::CallWithFds => {
                let (fds, args) = if ty == MessageType::CallWithFds {
                    let mut r = xdr::XdrReader::with_base(body, crate::frame::MIN_FRAME_LEN as usize);
                    let n = r.u32()?;
                    if n > VIR_NET_MESSAGE_NUM_FDS_MAX {
                        return Err(DecodeError { offset: r.offset() - 4, kind: DecodeErrorKind::TooManyFds(n) }.into());
                    }
                    // The descriptors' one-byte carriers follow the message on the stream.
                    self.decoder.skip_fd_carriers(n as usize);
                    (n, r.take_rest())
                } else {
                    (0, body)
                };
                if status != MessageStatus::Ok {
                    self.answer_raw_error(raw, ty, &RemoteError::unexpected_status(raw.status));
                    return Ok(());
                }
                if !(program.is_procedure)(raw.proc_) {
                    self.answer_raw_error(raw, ty, &RemoteError::unknown_procedure(raw.proc_));
                    return Ok(());
                }
                if header.prog == REMOTE_PROGRAM
                    && header.proc_ == REMOTE_PROC_CONNECT_SUPPORTS_FEATURE
                    && args.len() >= 4
                    && i32::from_be_bytes([args[0], args[1], args[2], args[3]]) == VIR_DRV_FEATURE_PROGRAM_KEEPALIVE
                    && !self.keepalive.is_active()
                {
                    self.keepalive.set(now, self.config.keepalive);
                }
                let id = CallId(self.next_call);
                self.next_call += 1;
                self.calls.insert(id.0, header);
                self.events.push_back(ServerEvent::Call { id, header, fds, args });
            }
            MessageType::Stream | MessageType::StreamHole => self.handle_stream(raw, header, body)?,
            MessageType::Reply | MessageType::ReplyWithFds | MessageType::Message => {
                self.ignore(raw, IgnoredReason::UnexpectedType);
            }
        }
        Ok(())
    }

    /// An error reply to a CALL the core itself refuses (no slot is taken).
    fn answer_raw_error(&mut self, raw: RawHeader, _ty: MessageType, error: &RemoteError) {
        let header = Header {
            prog: raw.prog,
            vers: raw.vers,
            proc_: raw.proc_,
            ty: MessageType::Reply,
            serial: raw.serial,
            status: MessageStatus::Error,
        };
        self.push_error(header, error);
    }

    fn handle_stream(&mut self, raw: RawHeader, header: Header, body: Bytes) -> Result<(), ProtocolError> {
        let serial = header.serial;
        let known = self.streams.get(&serial).is_some_and(|s| {
            !s.client_done
                && s.header.prog == header.prog
                && s.header.vers == header.vers
                && s.header.proc_ == header.proc_
        });
        if !known {
            self.ignore(raw, IgnoredReason::NoSuchStream);
            return Ok(());
        }
        let event = match (header.ty, header.status) {
            (MessageType::StreamHole, _) => ServerEvent::StreamHole { serial, hole: xdr::from_bytes(body)? },
            (_, MessageStatus::Continue) if body.is_empty() => {
                self.ignore(raw, IgnoredReason::NoSuchStream);
                return Ok(());
            }
            (_, MessageStatus::Continue) => ServerEvent::StreamData { serial, data: body },
            (_, MessageStatus::Ok) => ServerEvent::StreamFinish { serial },
            (_, MessageStatus::Error) => ServerEvent::StreamAbort { serial },
        };
        if matches!(event, ServerEvent::StreamFinish { .. } | ServerEvent::StreamAbort { .. }) {
            if let Some(s) = self.streams.get_mut(&serial) {
                s.client_done = true;
            }
        }
        self.queued_stream_packets += 1;
        self.events.push_back(event);
        Ok(())
    }
}

pub(super) fn is_stream_packet(ev: &ServerEvent) -> bool {
    matches!(
        ev,
        ServerEvent::StreamData { .. }
            | ServerEvent::StreamHole { .. }
            | ServerEvent::StreamFinish { .. }
            | ServerEvent::StreamAbort { .. }
    )
}
