//! Numbers a client chooses (stream offsets and lengths, hole sizes) near the top of their range:
//! each is refused with the model's range error and the daemon goes on serving, on both runtimes.
//! Tests run a debug build, where an unchecked `+` on these would panic (before the fix, the
//! upload offset was advanced with a plain `+=` even after a refused write).

mod common;

use adapter_blocking::{Client, ConnectOptions, StreamItem};
use bytes::Bytes;
use common::daemon_bin;
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use proto_core::xdr::to_bytes;
use spec_tests::daemon_min::DaemonMin;

const SPARSE: u32 = 1;

fn stream(c: &Client, spec: CallSpec, args: &impl proto_core::xdr::XdrEncode) -> adapter_blocking::StreamHandle {
    c.call_stream(spec, &to_bytes(args).unwrap()).unwrap().1
}

fn huge_offsets_and_lengths(runtime: &[&str]) {
    let d = DaemonMin::start(daemon_bin(), "", runtime);
    let c = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    let pool = c
        .call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() })
        .unwrap()
        .pool;
    let xml = "<volume><name>n.img</name><capacity unit='MiB'>1</capacity></volume>";
    let vol =
        c.call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs { pool, xml: xml.into(), flags: 0 }).unwrap().vol;
    // The daemon refuses with its range error. When the refusal reaches the client before its
    // finish is sent, finish() reports the stream as already closed instead (a race on a loaded
    // machine); either way the upload did not complete.
    let range_error = |r: Result<(), adapter_blocking::Error>| {
        let e = r.expect_err("the daemon accepted an impossible range");
        match e.remote() {
            Some(re) => assert!(re.to_string().contains("is beyond the volume's capacity"), "{re}"),
            None => assert!(e.to_string().contains("the stream is closed"), "not the daemon's refusal: {e}"),
        }
    };

    // Data at an offset that would wrap.
    for offset in [u64::MAX - 2, u64::MAX, 1 << 63] {
        let args = RemoteStorageVolUploadArgs { vol: vol.clone(), offset, length: 0, flags: 0 };
        let mut up = stream(&c, CallSpec::of::<StorageVolUpload>(), &args);
        let _ = up.send(Bytes::from_static(b"0123456789"));
        range_error(up.finish());
    }
    // A hole as long as a hole can be, after some data.
    let args = RemoteStorageVolUploadArgs { vol: vol.clone(), offset: 1 << 19, length: 0, flags: SPARSE };
    let mut up = stream(&c, CallSpec::of::<StorageVolUpload>(), &args);
    let _ = up.send(Bytes::from_static(b"x"));
    let _ = up.send_hole(i64::MAX);
    range_error(up.finish());
    // Downloads that start past the end or ask for everything up to u64::MAX.
    for (offset, length) in [(u64::MAX - 2, 10), (u64::MAX, 0), (1 << 19, u64::MAX)] {
        let args = RemoteStorageVolDownloadArgs { vol: vol.clone(), offset, length, flags: SPARSE };
        let mut down = stream(&c, CallSpec::of::<StorageVolDownload>(), &args);
        let mut got = 0usize;
        loop {
            match down.recv() {
                Some(StreamItem::Data(b)) => got += b.len(),
                Some(StreamItem::Hole(_)) => {}
                Some(StreamItem::Eof) | None => break,
                Some(StreamItem::Error(e)) => {
                    assert!(e.to_string().contains("is beyond the volume's capacity"), "{e}");
                    break;
                }
                Some(other) => panic!("{other:?}"),
            }
        }
        assert!(got <= 1 << 20, "{got} bytes from a 1 MiB volume");
        let _ = down.finish();
    }
    // Still serving, on this connection and on a new one.
    assert_eq!(c.call::<ConnectNumOfDomains>(&()).unwrap().num, 1);
    let c2 = Client::connect(&d.unix_uri(), &ConnectOptions::default()).unwrap();
    assert_eq!(c2.call::<ConnectNumOfDomains>(&()).unwrap().num, 1);
}

on_both_runtimes!(huge_offsets_and_lengths);
