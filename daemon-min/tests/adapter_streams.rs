//! Write and read streams with sparse holes, through both client adapters, against daemon-min
//! on both runtimes (libvirt's own test driver has no volume upload or download).

use adapter_blocking::StreamItem;
use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::programs::remote::*;
use spec_tests::daemon_min::DaemonMin;

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM` / `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
const SPARSE: u32 = 1;
const HOLE: i64 = 3 * 1024 * 1024;

fn daemon(runtime: &[&str]) -> DaemonMin {
    DaemonMin::start(std::path::Path::new(env!("CARGO_BIN_EXE_daemon-min")), "", runtime)
}

fn volume(name: &str) -> String {
    format!("<volume><name>{name}</name><capacity unit='MiB'>16</capacity><allocation>0</allocation></volume>")
}

/// What a download sent: data and holes, merged per kind, in order.
fn shape(items: &[StreamItem]) -> Vec<(bool, usize)> {
    let mut out: Vec<(bool, usize)> = Vec::new();
    for it in items {
        let (data, n) = match it {
            StreamItem::Data(d) => (true, d.len()),
            StreamItem::Hole(h) => (false, usize::try_from(h.length).unwrap()),
            _ => continue,
        };
        match out.last_mut() {
            Some((k, m)) if *k == data => *m += n,
            _ => out.push((data, n)),
        }
    }
    out
}

fn blocking_round_trip(runtime: &[&str]) {
    let d = daemon(runtime);
    let c = adapter_blocking::Client::connect(&d.unix_uri(), &adapter_blocking::ConnectOptions::default()).unwrap();
    let pool = c
        .call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() })
        .unwrap()
        .pool;
    let vol = c
        .call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs { pool, xml: volume("b.img").into(), flags: 0 })
        .unwrap()
        .vol;
    // Upload: 600 000 bytes of data (split into libvirt-sized chunks), a 3 MiB hole, 5 bytes.
    let data = Bytes::from((0..600_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let args = RemoteStorageVolUploadArgs { vol: vol.clone(), offset: 0, length: 0, flags: SPARSE };
    let (_, mut up) =
        c.call_stream(CallSpec::of::<StorageVolUpload>(), &proto_core::xdr::to_bytes(&args).unwrap()).unwrap();
    up.send(data.clone()).unwrap();
    up.send_hole(HOLE).unwrap();
    up.send(Bytes::from_static(b"tail!")).unwrap();
    up.finish().unwrap();
    // Sparse download: the hole comes back as a hole; chunks are at most 262120 bytes.
    let args = RemoteStorageVolDownloadArgs { vol, offset: 0, length: 600_000 + HOLE as u64 + 5, flags: SPARSE };
    let (_, mut down) =
        c.call_stream(CallSpec::of::<StorageVolDownload>(), &proto_core::xdr::to_bytes(&args).unwrap()).unwrap();
    let mut items = Vec::new();
    let mut bytes = Vec::new();
    while let Some(it) = down.recv() {
        match &it {
            StreamItem::Data(d) => {
                assert!(d.len() <= 262_120);
                bytes.extend_from_slice(d);
            }
            StreamItem::Eof => break,
            StreamItem::Hole(_) => {}
            other => panic!("{other:?}"),
        }
        items.push(it);
    }
    down.finish().unwrap();
    assert_eq!(shape(&items), vec![(true, 600_000), (false, HOLE as usize), (true, 5)]);
    assert_eq!(&bytes[..600_000], &data[..]);
    assert_eq!(&bytes[600_000..], b"tail!");
}

fn smol_round_trip(runtime: &[&str]) {
    use smol::io::AsyncReadExt;
    let d = daemon(runtime);
    smol::block_on(async {
        let c = adapter_smol::Client::connect(&d.tcp_uri(), &adapter_smol::ConnectOptions::default()).await.unwrap();
        let pool = c
            .call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() })
            .await
            .unwrap()
            .pool;
        let vol = c
            .call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs { pool, xml: volume("s.img").into(), flags: 0 })
            .await
            .unwrap()
            .vol;
        let args = RemoteStorageVolUploadArgs { vol: vol.clone(), offset: 0, length: 0, flags: SPARSE };
        let (_, mut up) = c
            .call_stream(CallSpec::of::<StorageVolUpload>(), &proto_core::xdr::to_bytes(&args).unwrap())
            .await
            .unwrap();
        up.send(Bytes::from_static(b"head")).await.unwrap();
        up.send_hole(HOLE).await.unwrap();
        up.send(Bytes::from_static(b"tail")).await.unwrap();
        up.finish().await.unwrap();
        // A non-sparse download expands the hole into zeros, read through AsyncRead.
        let args = RemoteStorageVolDownloadArgs { vol, offset: 0, length: 8 + HOLE as u64, flags: 0 };
        let (_, mut down) = c
            .call_stream(CallSpec::of::<StorageVolDownload>(), &proto_core::xdr::to_bytes(&args).unwrap())
            .await
            .unwrap();
        let mut all = Vec::new();
        down.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), 8 + HOLE as usize);
        assert_eq!(&all[..4], b"head");
        assert!(all[4..4 + HOLE as usize].iter().all(|b| *b == 0));
        assert_eq!(&all[4 + HOLE as usize..], b"tail");
    });
}

#[test]
fn blocking_client_smol_daemon() {
    blocking_round_trip(&[]);
}

#[test]
fn blocking_client_blocking_daemon() {
    blocking_round_trip(&["--runtime", "blocking"]);
}

#[test]
fn smol_client_smol_daemon() {
    smol_round_trip(&[]);
}

#[test]
fn smol_client_blocking_daemon() {
    smol_round_trip(&["--runtime", "blocking"]);
}

/// A thread that calls while its own download is unread does not deadlock: the blocking
/// client stops reading the socket for stream data only while no call waits for a reply.
#[test]
fn blocking_call_while_a_download_is_unread() {
    use std::io::Read;
    let d = daemon(&[]);
    let c = adapter_blocking::Client::connect(&d.unix_uri(), &adapter_blocking::ConnectOptions::default()).unwrap();
    let pool = c
        .call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: "default-pool".into() })
        .unwrap()
        .pool;
    let xml = "<volume><name>big.img</name><capacity unit='MiB'>40</capacity><allocation>0</allocation></volume>";
    let vol =
        c.call::<StorageVolCreateXml>(&RemoteStorageVolCreateXmlArgs { pool, xml: xml.into(), flags: 0 }).unwrap().vol;
    let args = RemoteStorageVolDownloadArgs { vol, offset: 0, length: 0, flags: 0 };
    let (_, mut down) =
        c.call_stream(CallSpec::of::<StorageVolDownload>(), &proto_core::xdr::to_bytes(&args).unwrap()).unwrap();
    // 40 MiB of zeros are on their way, far more than the stream budget; nobody reads them yet.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let host = c.call::<ConnectGetHostname>(&()).unwrap().hostname;
    assert!(!host.is_empty());
    let mut all = Vec::new();
    down.read_to_end(&mut all).unwrap();
    assert_eq!(all.len(), 40 << 20);
    assert!(all.iter().all(|b| *b == 0));
    down.finish().unwrap();
}
