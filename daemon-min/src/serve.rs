//! The daemon on either runtime (adapter-smol's server, or adapter-blocking's poll loop): each
//! connection gets a [`Session`]; calls go through [`Daemon::dispatch`]; volume uploads and
//! downloads are streams paced by the socket.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use proto_core::program::REMOTE_PROGRAM;
use proto_core::programs::remote;
use proto_core::server::{CommandSink, ServedProgram};
use proto_core::{CallId, ConnectionError, Header, RemoteError, ServerEvent, StreamHole};

use crate::dispatch::{Daemon, EventSink, Outcome, Session, Transfer};
use crate::hypervisor::{defer_durability, Chunk};

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

/// What the daemon needs from a connection handle: proto-core's [`CommandSink`] (answers,
/// stream data, events, close), which both runtimes' links are, plus a way to run a download
/// in the runtime's own background.
pub trait DaemonLink: CommandSink + Clone + Send + Sync + 'static {
    /// Sends a volume's content on `serial` in the background, paced by the socket.
    fn spawn_download(&self, serial: u32, t: Transfer);
}

impl DaemonLink for adapter_smol::server::Link {
    fn spawn_download(&self, serial: u32, t: Transfer) {
        spawn_download(self.clone(), serial, t);
    }
}

impl DaemonLink for adapter_blocking::server::Link {
    fn spawn_download(&self, serial: u32, t: Transfer) {
        spawn_blocking_download(self.clone(), serial, t);
    }
}

fn spawn_download(link: adapter_smol::server::Link, serial: u32, t: Transfer) {
    smol::spawn(async move {
        let mut d = Download::new(serial, t);
        while let Some(step) = d.next(&link) {
            if step {
                link.drained(DOWNLOAD_WINDOW).await;
            }
            if link.is_closed() {
                return;
            }
        }
    })
    .detach();
}

#[allow(clippy::needless_pass_by_value)]
fn spawn_blocking_download(link: adapter_blocking::server::Link, serial: u32, t: Transfer) {
    std::thread::spawn(move || {
        let mut d = Download::new(serial, t);
        while let Some(step) = d.next(&link) {
            if step {
                link.drained(DOWNLOAD_WINDOW);
            }
            if link.is_closed() {
                return;
            }
        }
    });
}

struct LinkSink<L>(L);

impl<L: DaemonLink> EventSink for LinkSink<L> {
    fn send_event(&self, proc_: i32, body: Bytes) {
        if crate::conformance_break::drops_event(proc_) {
            return;
        }
        CommandSink::send_event(&self.0, REMOTE_PROGRAM, 1, proc_, body);
    }
}

/// Moves an upload's offset on by `len`, refusing to wrap (as the model's range check would).
fn advance(at: &mut u64, len: u64) -> crate::hypervisor::Result<()> {
    *at = at.checked_add(len).ok_or_else(|| {
        crate::hypervisor::error::vol_range(format!("range {at}+{len} is beyond the volume's capacity"))
    })?;
    Ok(())
}

/// One connection's state: its session and its uploads in progress (serial → transfer and the
/// next offset).
pub struct Conn {
    session: Session,
    uploads: HashMap<u32, (Transfer, u64)>,
    /// Who it is, for the log: the peer's address, or the unix socket.
    peer: String,
}

/// The daemon's handler, for either runtime.
#[derive(Debug, Clone)]
pub struct DaemonHandler {
    daemon: Arc<Daemon>,
}

impl DaemonHandler {
    /// A handler dispatching to `daemon`.
    #[must_use]
    pub fn new(daemon: Arc<Daemon>) -> Self {
        Self { daemon }
    }

    fn connected<L: DaemonLink>(&self, peer: &adapter_blocking::server::PeerInfo, link: L) -> Conn {
        Conn {
            session: self.daemon.session(peer.read_only_socket, Arc::new(LinkSink(link))),
            uploads: HashMap::new(),
            peer: peer.addr.map_or_else(|| "on the unix socket".to_owned(), |a| a.to_string()),
        }
    }

    fn call<L: DaemonLink>(&self, conn: &mut Conn, link: &L, id: CallId, header: Header, args: Bytes) {
        if header.prog != REMOTE_PROGRAM {
            let info = proto_core::programs::procedure(header.prog, header.vers, header.proc_);
            let err = match info {
                Some(i) if !i.is_event => crate::dispatch::refusal(i, &args, crate::dispatch::no_support(i)),
                _ => Outcome::Error(RemoteError::unknown_procedure(header.proc_)),
            };
            if let Outcome::Error(e) = err {
                link.reply_error(id, e);
            }
            return;
        }
        // The state directory is written by its own thread: a reply that acknowledges a change
        // goes out when the change is durable, and this thread does not wait for the disk.
        let (outcome, ticket) = defer_durability(|| {
            crate::conformance_break::outcome(&header, self.daemon.dispatch(&mut conn.session, &header, args))
        });
        let outcome = match (outcome, ticket) {
            (Outcome::Reply(b), Some(ticket)) => {
                let link = link.clone();
                ticket.then(move |written| match written {
                    Ok(()) => link.reply_raw(id, b),
                    Err(e) => link.reply_error(id, e.into()),
                });
                return;
            }
            (Outcome::Error(e), Some(ticket)) => {
                let link = link.clone();
                ticket.then(move |_| link.reply_error(id, e));
                return;
            }
            (outcome, _) => outcome,
        };
        match outcome {
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
                link.reply_raw(id, t.reply.clone());
                link.spawn_download(header.serial, t);
            }
        }
    }

    fn stream<L: DaemonLink>(conn: &mut Conn, link: &L, event: ServerEvent) {
        match event {
            ServerEvent::StreamData { serial, data } => {
                if let Some((t, at)) = conn.uploads.get_mut(&serial) {
                    let len = data.len() as u64;
                    // The model refuses a range past the capacity, so a write that succeeded
                    // cannot overflow the offset; checked all the same.
                    let r = t.hv.call(|m| m.storage_vol_write(&t.vol, *at, &data)).and_then(|()| advance(at, len));
                    if let Err(e) = r {
                        conn.uploads.remove(&serial);
                        link.stream_error(serial, e.into());
                    }
                }
            }
            ServerEvent::StreamHole { serial, hole } => {
                if let Some((t, at)) = conn.uploads.get_mut(&serial) {
                    let len = u64::try_from(hole.length).unwrap_or(0);
                    let r = t.hv.call(|m| m.storage_vol_write_hole(&t.vol, *at, len)).and_then(|()| advance(at, len));
                    if let Err(e) = r {
                        conn.uploads.remove(&serial);
                        link.stream_error(serial, e.into());
                    }
                }
            }
            ServerEvent::StreamFinish { serial } => {
                if let Some((t, _)) = conn.uploads.remove(&serial) {
                    let (r, ticket) = defer_durability(|| t.hv.call(|m| m.storage_vol_commit(&t.vol)));
                    if let Err(e) = r {
                        link.stream_error(serial, e.into());
                        return;
                    }
                    if let Some(ticket) = ticket {
                        let link = link.clone();
                        ticket.then(move |written| match written {
                            Ok(()) => link.stream_finish(serial),
                            Err(e) => link.stream_error(serial, e.into()),
                        });
                        return;
                    }
                }
                link.stream_finish(serial);
            }
            ServerEvent::StreamAbort { serial } => {
                conn.uploads.remove(&serial);
                link.stream_finish(serial);
            }
            ServerEvent::Deviation(d) => crate::audit::record(&d),
            _ => {}
        }
    }

    fn disconnected(&self, mut conn: Conn, reason: &ConnectionError) {
        // A peer that sent something that is not libvirt's protocol (an HTTP request, a TLS
        // hello on the TCP port, noise) or stopped reading its replies is dropped with one
        // line in the log, as libvirtd logs it; ordinary ends of connections are not logged.
        if let ConnectionError::Protocol(_) | ConnectionError::PeerNotReading { .. } = reason {
            eprintln!("daemon-min: error : client {} dropped: {reason}", conn.peer);
        }
        self.daemon.end_session(&mut conn.session);
    }

    /// A TLS client refused after its handshake goes to the log (stderr), as libvirtd logs it.
    fn refused(peer: &adapter_blocking::server::PeerInfo, reason: &str) {
        let from = peer.addr.map_or_else(|| "a client".to_owned(), |a| a.to_string());
        eprintln!("daemon-min: error : TLS client {from} refused: {reason}");
    }
}

impl proto_core::handler::Handler<adapter_smol::server::Link> for DaemonHandler {
    type Conn = Conn;

    fn connected(&self, peer: &adapter_smol::server::PeerInfo, link: adapter_smol::server::Link) -> Conn {
        Self::connected(self, peer, link)
    }
    fn call(
        &self,
        conn: &mut Conn,
        link: &adapter_smol::server::Link,
        id: CallId,
        header: Header,
        _: u32,
        args: Bytes,
    ) {
        Self::call(self, conn, link, id, header, args);
    }
    fn stream(&self, conn: &mut Conn, link: &adapter_smol::server::Link, event: ServerEvent) {
        Self::stream(conn, link, event);
    }
    fn disconnected(&self, conn: Conn, reason: &ConnectionError) {
        Self::disconnected(self, conn, reason);
    }
    fn refused(&self, peer: &adapter_smol::server::PeerInfo, reason: &str) {
        Self::refused(peer, reason);
    }
}

impl proto_core::handler::Handler<adapter_blocking::server::Link> for DaemonHandler {
    type Conn = Conn;

    fn connected(&self, peer: &adapter_blocking::server::PeerInfo, link: adapter_blocking::server::Link) -> Conn {
        Self::connected(self, peer, link)
    }
    fn call(
        &self,
        conn: &mut Conn,
        link: &adapter_blocking::server::Link,
        id: CallId,
        header: Header,
        _: u32,
        args: Bytes,
    ) {
        Self::call(self, conn, link, id, header, args);
    }
    fn stream(&self, conn: &mut Conn, link: &adapter_blocking::server::Link, event: ServerEvent) {
        Self::stream(conn, link, event);
    }
    fn disconnected(&self, conn: Conn, reason: &ConnectionError) {
        Self::disconnected(self, conn, reason);
    }
    fn refused(&self, peer: &adapter_blocking::server::PeerInfo, reason: &str) {
        Self::refused(peer, reason);
    }
}

/// A volume download in steps: each step reads up to 16 chunks from the model and queues them;
/// the runtime waits for the socket between steps.
struct Download {
    serial: u32,
    t: Transfer,
    at: u64,
    end: Option<u64>,
    done: bool,
}

impl Download {
    fn new(serial: u32, t: Transfer) -> Self {
        let at = t.offset;
        Self { serial, t, at, end: None, done: false }
    }

    /// Queues the next piece; `Some(true)` when the caller should wait for the socket, `None`
    /// when the download is over.
    fn next<L: DaemonLink>(&mut self, link: &L) -> Option<bool> {
        if self.done {
            return None;
        }
        if let Some(data) = &self.t.data {
            // Fixed content: sent whole, in pieces, then the end of the stream.
            let at = usize::try_from(self.at).unwrap_or(usize::MAX).min(data.len());
            if at == data.len() {
                self.done = true;
                link.stream_eof(self.serial);
                return None;
            }
            let upto = data.len().min(at.saturating_add(CHUNK as usize));
            self.at = upto as u64;
            link.stream_send(self.serial, data.slice(at..upto));
            return Some(true);
        }
        let end = match self.end {
            Some(e) => e,
            None => match self.t.hv.call(|m| m.storage_vol_get_info(&self.t.vol)) {
                Ok(info) => {
                    let e = if self.t.length == 0 {
                        info.capacity
                    } else {
                        info.capacity.min(self.t.offset.saturating_add(self.t.length))
                    };
                    self.end = Some(e);
                    e
                }
                Err(e) => {
                    self.done = true;
                    link.stream_error(self.serial, e.into());
                    return None;
                }
            },
        };
        let upto = end.min(self.at.saturating_add(16 * CHUNK));
        let chunks = if self.at < end {
            match self.t.hv.call(|m| m.storage_vol_read(&self.t.vol, self.at, upto - self.at)) {
                Ok(c) => c,
                Err(e) => {
                    self.done = true;
                    link.stream_error(self.serial, e.into());
                    return None;
                }
            }
        } else {
            Vec::new()
        };
        if chunks.is_empty() {
            self.done = true;
            link.stream_eof(self.serial);
            return None;
        }
        for c in chunks {
            match c {
                Chunk::Data(d) => {
                    self.at = self.at.saturating_add(d.len() as u64);
                    link.stream_send(self.serial, Bytes::from(d));
                }
                Chunk::Hole(n) if self.t.sparse => {
                    self.at = self.at.saturating_add(n);
                    link.stream_hole(
                        self.serial,
                        StreamHole { length: i64::try_from(n).unwrap_or(i64::MAX), flags: 0 },
                    );
                }
                Chunk::Hole(n) => {
                    self.at = self.at.saturating_add(n);
                    let mut left = n;
                    while left > 0 {
                        let k = left.min(CHUNK);
                        link.stream_send(self.serial, Bytes::from(vec![0u8; k as usize]));
                        left -= k;
                    }
                }
            }
        }
        Some(true)
    }
}
