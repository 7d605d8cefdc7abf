//! Passing descriptors on a unix socket as libvirt does (`virNetSocketSendFD` and
//! `virNetSocketRecvFD` in `src/rpc/virnetsocket.c`): each descriptor goes with one carrier
//! byte of its own (`sendmsg`, `SCM_RIGHTS`) right after the `*_WITH_FDS` message announcing
//! it. Which received descriptor belongs to which reply is the core's decision
//! (`ClientConnection::handle_input_fds`); this is the system calls and the queue.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use bytes::Bytes;
use proto_core::frame::VIR_NET_MESSAGE_NUM_FDS_MAX;

use crate::transport::{write_all_vectored, Stream};
use crate::Error;

/// libvirt's refusal to pass descriptors on anything but a unix socket.
pub const SEND_UNSUPPORTED: &str = "Sending file descriptors is not supported on this socket";

/// Passes `fd` as libvirt's `virNetSocketSendFD` does: one carrier byte (0) with the
/// descriptor in an `SCM_RIGHTS` control message.
///
/// # Errors
/// As sendmsg(2) (`WouldBlock` on a non-blocking socket that is full).
pub fn send_fd(sock: &UnixStream, fd: RawFd) -> io::Result<()> {
    send_fds(sock, &[fd])
}

/// Passes `fds` with one carrier byte: [`send_fd`] for one; more than one on a carrier is
/// what libvirt never sends and refuses to receive (tests send it to show that).
///
/// # Errors
/// As [`send_fd`].
pub fn send_fds(sock: &UnixStream, fds: &[RawFd]) -> io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let rights = [ControlMessage::ScmRights(fds)];
    match sendmsg::<UnixAddr>(sock.as_raw_fd(), &[IoSlice::new(&[0])], &rights, MsgFlags::MSG_NOSIGNAL, None)? {
        1 => Ok(()),
        _ => Err(io::ErrorKind::WriteZero.into()),
    }
}

/// Writes `batch` (its last message announcing one descriptor) and passes `fd` right behind
/// it; on anything but a unix socket, refuses without writing (and drops `batch`).
///
/// # Errors
/// As [`write_all_vectored`] and [`send_fd`].
pub fn write_with_fd(stream: &mut Stream, batch: &mut Vec<Bytes>, fd: RawFd) -> Result<(), Error> {
    let r = match stream {
        Stream::Unix(s) => {
            write_all_vectored(s, batch).map_err(pass_error).and_then(|()| send_fd(s, fd).map_err(pass_error))
        }
        Stream::Tcp(_) => Err(unsupported()),
    };
    batch.clear();
    r
}

/// A descriptor could not be passed.
#[must_use]
pub fn pass_error(source: io::Error) -> Error {
    Error::Io { what: "cannot pass the descriptor".into(), source }
}

/// libvirt's refusal to pass a descriptor on anything but a unix socket.
#[must_use]
pub fn unsupported() -> Error {
    pass_error(io::Error::new(io::ErrorKind::Unsupported, SEND_UNSUPPORTED))
}

/// Reads from a unix socket as read(2) does, taking the descriptors that came with the bytes
/// (at most libvirt's `VIR_NET_MESSAGE_NUM_FDS_MAX` per read: the kernel closes any more) into
/// `got`, close-on-exec. One system call, as the read it replaces.
///
/// # Errors
/// As recvmsg(2).
pub fn recv_with_fds(sock: &UnixStream, buf: &mut [u8], got: &mut Vec<OwnedFd>) -> io::Result<usize> {
    recv_flags(sock, buf, got, rustix::net::RecvFlags::empty())
}

fn recv_flags(
    sock: &UnixStream,
    buf: &mut [u8],
    got: &mut Vec<OwnedFd>,
    flags: rustix::net::RecvFlags,
) -> io::Result<usize> {
    use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    const MAX: usize = VIR_NET_MESSAGE_NUM_FDS_MAX as usize;
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let n = recvmsg(sock, &mut [IoSliceMut::new(buf)], &mut control, RecvFlags::CMSG_CLOEXEC | flags)?.bytes;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            got.extend(fds);
        }
    }
    Ok(n)
}

/// Reads a channel's socket: with [`recv_with_fds`] on a unix socket, read(2) elsewhere.
///
/// # Errors
/// As the system call.
pub fn read(stream: &mut Stream, buf: &mut [u8], got: &mut Vec<OwnedFd>) -> io::Result<usize> {
    match stream {
        Stream::Unix(s) => recv_with_fds(s, buf, got),
        Stream::Tcp(s) => io::Read::read(s, buf),
    }
}

/// [`read`] that does not block (`MSG_DONTWAIT`): `WouldBlock` when nothing is there.
///
/// # Errors
/// As the system call.
pub fn read_nonblocking(stream: &mut Stream, buf: &mut [u8], got: &mut Vec<OwnedFd>) -> io::Result<usize> {
    match stream {
        Stream::Unix(s) => recv_flags(s, buf, got, rustix::net::RecvFlags::DONTWAIT),
        Stream::Tcp(s) => Ok(rustix::net::recv(s, buf, rustix::net::RecvFlags::DONTWAIT)?.0),
    }
}

/// The descriptors a client connection received and the core assigned to a reply not yet
/// handed out, in the order they came.
#[derive(Debug, Default)]
pub struct Received(VecDeque<OwnedFd>);

impl Received {
    /// Feeds what a read brought through `input` (the core's `handle_input_fds`, given how
    /// many descriptors came and answering how many to keep): keeps those, closes the others.
    pub fn feed(&mut self, got: &mut Vec<OwnedFd>, input: impl FnOnce(usize) -> usize) {
        let n = got.len();
        self.0.extend(got.drain(..));
        let keep = input(n).min(n);
        self.0.truncate(self.0.len() - (n - keep));
    }

    /// A reply's descriptors: the first `n`.
    pub fn take(&mut self, n: u32) -> Vec<OwnedFd> {
        let n = (n as usize).min(self.0.len());
        self.0.drain(..n).collect()
    }
}

/// A descriptor of the caller's, duplicated to be passed later (by an adapter that writes
/// when the socket is ready), closed when dropped.
#[derive(Debug)]
pub struct Passed(RawFd);

impl Passed {
    /// Duplicates `fd` (close-on-exec).
    ///
    /// # Errors
    /// As fcntl(2)'s `F_DUPFD_CLOEXEC` (e.g. a descriptor that is not open).
    pub fn dup(fd: RawFd) -> io::Result<Self> {
        Ok(Self(nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(0))?))
    }

    /// Passes it on `sock` ([`send_fd`]).
    ///
    /// # Errors
    /// As [`send_fd`].
    pub fn send(&self, sock: &UnixStream) -> io::Result<()> {
        send_fd(sock, self.0)
    }
}

impl Drop for Passed {
    fn drop(&mut self) {
        let _ = nix::unistd::close(self.0);
    }
}
