//! adapter-smol's client passes a call's descriptor (`VIR_NET_CALL_WITH_FDS`) right after the
//! call's message, while the socket is full and more calls queue behind it: the peer receives
//! it with the carrier byte that ends the message, nothing in between, and the calls after it
//! still frame. The peer (this test, with proto-core's server state machine) reads with
//! recvmsg and notes where in the byte stream each descriptor came.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use adapter_smol::{Client, ConnectOptions};
use proto_core::client::CallSpec;
use proto_core::{ServerConfig, ServerConnection, ServerEvent};
use smol::future::{poll_once, FutureExt};
use smol::Async;

/// What the peer saw: the calls (serial, announced descriptors, argument length) and, for each
/// descriptor, the byte offset its read ended at and the descriptor.
struct Seen {
    calls: Vec<(u32, u32, usize)>,
    fds: Vec<(u64, OwnedFd)>,
}

/// Reads `want` calls, then answers each with an empty reply.
fn peer(sock: UnixStream, want: usize) -> Seen {
    let mut conn = ServerConnection::new(ServerConfig::default(), Instant::now());
    let mut seen = Seen { calls: Vec::new(), fds: Vec::new() };
    let mut ids = Vec::new();
    let (mut offset, mut buf) = (0u64, vec![0u8; 64 * 1024]);
    while seen.calls.len() < want {
        let mut got = Vec::new();
        let n = adapter_io::fds::recv_with_fds(&sock, &mut buf, &mut got).unwrap();
        assert!(n > 0, "the client closed");
        offset += n as u64;
        seen.fds.extend(got.into_iter().map(|fd| (offset, fd)));
        conn.handle_input(Instant::now(), &buf[..n]);
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Call { id, header, fds, args } = ev {
                seen.calls.push((header.serial, fds, args.len()));
                ids.push(id);
            }
        }
        assert!(!conn.is_closed(), "the stream no longer frames: {:?}", conn.close_reason());
    }
    for id in ids {
        conn.reply(id, &()).unwrap();
    }
    let mut sock = sock;
    while let Some(b) = conn.poll_transmit() {
        sock.write_all(&b).unwrap();
    }
    seen
}

#[test]
fn a_descriptor_goes_right_after_its_call_while_others_queue() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let client = Client::start(Box::new(Async::new(ours).unwrap()), None, ConnectOptions::default());
    let spec = CallSpec::remote(59);
    let big = vec![7u8; 2 << 20];
    let (small, fd_args) = ([1u8; 8], [2u8; 12]);
    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(b"passed").unwrap();
    smol::block_on(async {
        // The big call fills the socket; the others queue behind it before anything is read.
        let mut first = Box::pin(client.call_raw(spec, &big));
        let mut with_fd = Box::pin(client.call_fds(spec, &fd_args, Some(r.as_raw_fd())));
        let mut last = Box::pin(client.call_raw(spec, &small));
        assert!(poll_once(&mut first).await.is_none());
        assert!(poll_once(&mut with_fd).await.is_none());
        assert!(poll_once(&mut last).await.is_none());
        drop(r); // The client passes its own copy.
        let reader = std::thread::spawn(move || peer(theirs, 3));
        let all = async { (first.await.unwrap(), with_fd.await.unwrap(), last.await.unwrap()) };
        let timeout = async {
            smol::Timer::after(std::time::Duration::from_secs(20)).await;
            panic!("no replies")
        };
        let (_, (_, fds_back), _) = all.or(timeout).await;
        assert!(fds_back.is_empty(), "a plain reply carries none");
        let seen = reader.join().unwrap();
        // Frames: length word + header (28), the count word for the call with descriptors.
        let lens = [28 + big.len(), 28 + 4 + fd_args.len(), 28 + small.len()];
        let args: Vec<(u32, usize)> = seen.calls.iter().map(|&(_, fds, n)| (fds, n)).collect();
        assert_eq!(args, vec![(0, big.len()), (1, fd_args.len()), (0, small.len())]);
        let carrier_end = (lens[0] + lens[1] + 1) as u64;
        assert_eq!(seen.fds.len(), 1, "one descriptor");
        assert_eq!(seen.fds[0].0, carrier_end, "the descriptor came with the byte after its call");
        let mut text = [0u8; 6];
        assert_eq!(nix_read(&seen.fds[0].1, &mut text), 6);
        assert_eq!(&text, b"passed");
    });
}

fn nix_read(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    use std::io::Read;
    std::fs::File::from(fd.try_clone().unwrap()).read(buf).unwrap()
}
