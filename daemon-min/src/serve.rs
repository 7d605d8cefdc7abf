//! The daemon on adapter-smol's server runtime: each connection gets a [`Session`]; calls go
//! through [`Daemon::dispatch`]; volume uploads and downloads are streams paced by the link.

use std::collections::HashMap;
use std::sync::Arc;

use adapter_smol::server::{Handler, Link, PeerInfo};
use bytes::Bytes;
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote;
use proto_core::server::ServedProgram;
use proto_core::{CallId, ConnectionError, Header, RemoteError, ServerEvent, StreamHole};

use crate::dispatch::{Daemon, EventSink, Outcome, Session, Transfer};
use crate::hypervisor::Chunk;

/// Stream data per packet when downloading (libvirt's chunk size).
const CHUNK: u64 = proto_core::frame::VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX as u64;
/// Unsent bytes a download keeps queued at most before it waits for the socket.
const DOWNLOAD_WINDOW: usize = 4 * CHUNK as usize;

fn remote_callable(p: i32) -> bool {
    remote::procedure_by_number(p).is_some_and(|i| !i.is_event)
}

/// The programs the daemon serves: REMOTE (its callable procedures; others get libvirtd's
/// "unknown procedure"), and QEMU and LXC, whose calls the test driver does not support.
#[must_use]
pub fn served_programs() -> Vec<ServedProgram> {
    vec![
        ServedProgram { prog: REMOTE_PROGRAM, vers: 1, is_procedure: remote_callable },
        ServedProgram::new(proto_core::program::QEMU_PROGRAM, 1),
        ServedProgram::new(proto_core::program::LXC_PROGRAM, 1),
    ]
}

struct LinkSink(Link);

impl EventSink for LinkSink {
    fn send_event(&self, proc_: i32, body: Bytes) {
        self.0.send_event(REMOTE_PROGRAM, 1, proc_, body);
    }
}

/// One connection's state: its session and its uploads in progress (serial → transfer and the
/// next offset).
pub struct Conn {
    session: Session,
    uploads: HashMap<u32, (Transfer, u64)>,
}

/// adapter-smol's handler for the daemon.
#[derive(Debug)]
pub struct SmolHandler {
    daemon: Arc<Daemon>,
}

impl SmolHandler {
    /// A handler dispatching to `daemon`.
    #[must_use]
    pub fn new(daemon: Arc<Daemon>) -> Self {
        Self { daemon }
    }
}

impl Handler for SmolHandler {
    type Conn = Conn;

    fn connected(&self, peer: &PeerInfo, link: Link) -> Conn {
        Conn { session: self.daemon.session(peer.read_only_socket, Arc::new(LinkSink(link))), uploads: HashMap::new() }
    }

    fn call(&self, conn: &mut Conn, link: &Link, id: CallId, header: Header, _fds: u32, args: Bytes) {
        if header.prog != REMOTE_PROGRAM {
            let info = proto_core::programs::procedure(header.prog, header.vers, header.proc_);
            let err = match info {
                Some(i) if !i.is_event => crate::dispatch::no_support(i),
                _ => RemoteError::unknown_procedure(header.proc_),
            };
            link.reply_error(id, err);
            return;
        }
        match self.daemon.dispatch(&mut conn.session, &header, args) {
            Outcome::Reply(b) => link.reply_raw(id, b),
            Outcome::Error(e) => link.reply_error(id, e),
            Outcome::ReplyThenClose(b) => {
                link.reply_raw(id, b);
                link.close();
            }
            Outcome::Upload(t) => {
                link.open_stream(id);
                link.reply_raw(id, Bytes::new());
                let offset = t.offset;
                conn.uploads.insert(header.serial, (t, offset));
            }
            Outcome::Download(t) => {
                link.open_stream(id);
                link.reply_raw(id, Bytes::new());
                smol::spawn(download(link.clone(), header.serial, t)).detach();
            }
        }
    }

    fn stream(&self, conn: &mut Conn, link: &Link, event: ServerEvent) {
        match event {
            ServerEvent::StreamData { serial, data } => {
                if let Some((t, at)) = conn.uploads.get_mut(&serial) {
                    let len = data.len() as u64;
                    let r = t.hv.call(|m| m.storage_vol_write(&t.vol, *at, &data));
                    *at += len;
                    if let Err(e) = r {
                        conn.uploads.remove(&serial);
                        link.stream_error(serial, e.into());
                    }
                }
            }
            ServerEvent::StreamHole { serial, hole } => {
                if let Some((t, at)) = conn.uploads.get_mut(&serial) {
                    let len = u64::try_from(hole.length).unwrap_or(0);
                    let r = t.hv.call(|m| m.storage_vol_write_hole(&t.vol, *at, len));
                    *at += len;
                    if let Err(e) = r {
                        conn.uploads.remove(&serial);
                        link.stream_error(serial, e.into());
                    }
                }
            }
            ServerEvent::StreamFinish { serial } => {
                if let Some((t, _)) = conn.uploads.remove(&serial) {
                    if let Err(e) = t.hv.call(|m| m.storage_vol_commit(&t.vol)) {
                        link.stream_error(serial, e.into());
                        return;
                    }
                }
                link.stream_finish(serial);
            }
            ServerEvent::StreamAbort { serial } => {
                conn.uploads.remove(&serial);
                link.stream_finish(serial);
            }
            _ => {}
        }
    }

    fn disconnected(&self, mut conn: Conn, _reason: &ConnectionError) {
        self.daemon.end_session(&mut conn.session);
    }
}

/// Sends a volume's content: data in chunks of libvirt's size, holes as holes when the client
/// asked for a sparse stream (else as zeros), then the end-of-data marker. Waits for the
/// socket whenever more than a few chunks are queued.
async fn download(link: Link, serial: u32, t: Transfer) {
    let end = match t.hv.call(|m| m.storage_vol_get_info(&t.vol)) {
        Ok(info) if t.length == 0 => info.capacity,
        Ok(info) => info.capacity.min(t.offset.saturating_add(t.length)),
        Err(e) => return link.stream_error(serial, e.into()),
    };
    let mut at = t.offset;
    while at < end {
        let upto = end.min(at + 16 * CHUNK);
        let chunks = match t.hv.call(|m| m.storage_vol_read(&t.vol, at, upto - at)) {
            Ok(c) => c,
            Err(e) => return link.stream_error(serial, e.into()),
        };
        if chunks.is_empty() {
            break;
        }
        for c in chunks {
            match c {
                Chunk::Data(d) => {
                    at += d.len() as u64;
                    link.stream_send(serial, Bytes::from(d));
                }
                Chunk::Hole(n) if t.sparse => {
                    at += n;
                    link.stream_hole(serial, StreamHole { length: i64::try_from(n).unwrap_or(i64::MAX), flags: 0 });
                }
                Chunk::Hole(mut n) => {
                    at += n;
                    while n > 0 {
                        let k = n.min(CHUNK);
                        link.stream_send(serial, Bytes::from(vec![0u8; k as usize]));
                        n -= k;
                        link.drained(DOWNLOAD_WINDOW).await;
                    }
                }
            }
            link.drained(DOWNLOAD_WINDOW).await;
            if link.is_closed() {
                return;
            }
        }
    }
    link.stream_eof(serial);
}
