//! A stream example: uploads a file into a storage volume, downloads it back and checks that
//! the bytes match.
//!
//! ```text
//! cargo run -p client-min --example volume_roundtrip -- URI POOL VOLUME FILE
//! ```
//!
//! The volume must exist and be at least as large as the file (e.g.
//! `client-min -c URI vol-create-as POOL VOLUME 10M`). Upload is `STORAGE_VOL_UPLOAD` (a write
//! stream: the client sends data, then finishes and waits for the daemon's confirmation);
//! download is `STORAGE_VOL_DOWNLOAD` (a read stream: data until an empty packet, then the
//! client finishes).

use std::io::Read;

use adapter_blocking::{Client, ConnectOptions};
use bytes::Bytes;
use proto_core::client::CallSpec;
use proto_core::programs::remote::{
    RemoteStoragePoolLookupByNameArgs, RemoteStorageVolDownloadArgs, RemoteStorageVolLookupByNameArgs,
    RemoteStorageVolUploadArgs, StoragePoolLookupByName, StorageVolDownload, StorageVolLookupByName, StorageVolUpload,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uri, pool, volume, file] = args.as_slice() else {
        eprintln!("usage: volume_roundtrip URI POOL VOLUME FILE");
        std::process::exit(2);
    };
    let data = std::fs::read(file)?;
    let client = Client::connect(uri, &ConnectOptions::default())?;
    let pool =
        client.call::<StoragePoolLookupByName>(&RemoteStoragePoolLookupByNameArgs { name: pool.as_str().into() })?.pool;
    let vol = client
        .call::<StorageVolLookupByName>(&RemoteStorageVolLookupByNameArgs { pool, name: volume.as_str().into() })?
        .vol;

    // Upload: the whole file from offset 0, in chunks the core splits to libvirt's size.
    let length = u64::try_from(data.len())?;
    let args = RemoteStorageVolUploadArgs { vol: vol.clone(), offset: 0, length, flags: 0 };
    let (_, mut up) = client.call_stream(CallSpec::of::<StorageVolUpload>(), &proto_core::xdr::to_bytes(&args)?)?;
    for chunk in data.chunks(1 << 20) {
        up.send(Bytes::copy_from_slice(chunk))?;
    }
    up.finish()?;
    println!("uploaded {length} bytes to {}", vol.name);

    // Download the same range back.
    let args = RemoteStorageVolDownloadArgs { vol: vol.clone(), offset: 0, length, flags: 0 };
    let (_, mut down) = client.call_stream(CallSpec::of::<StorageVolDownload>(), &proto_core::xdr::to_bytes(&args)?)?;
    let mut back = Vec::with_capacity(data.len());
    down.read_to_end(&mut back)?;
    down.finish()?;
    println!("downloaded {} bytes from {}", back.len(), vol.name);

    client.close()?;
    if back != data {
        eprintln!("the downloaded bytes differ from the file");
        std::process::exit(1);
    }
    println!("round trip ok");
    Ok(())
}
