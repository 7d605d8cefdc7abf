//! `virStorageVol…`.

use proto_core::programs::remote as r;

use crate::error::Error;
use crate::macros::{handle, obj_string, obj_void, twin};
use crate::storage_pool::StoragePool;
use crate::stream::Stream;
use crate::sys;
use crate::util::s;

/// `virStorageVolInfo`.
#[derive(Clone, Debug)]
pub struct StorageVolInfo {
    /// `VIR_STORAGE_VOL_…` type.
    pub kind: u32,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
}

handle!(crate::connect::Connect;
    /// A storage volume (`virStorageVolPtr`).
    StorageVol(RemoteNonnullStorageVol)
);

twin! { StoragePool, StorageVol, Stream; local impl StorageVol {
    /// `virStorageVolGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virStorageVolGetKey`.
    pub fn key(&self) -> Result<String, Error> {
        Ok(self.raw.key.to_string())
    }
} }

twin! { StoragePool, StorageVol, Stream; impl StorageVol {
    /// `virStorageVolCreateXML`.
    pub async fn create_xml(
        pool: &StoragePool,
        xml: &str,
        flags: sys::virStorageVolCreateFlags,
    ) -> Result<Self, Error> {
        let conn = pool.connect()?;
        let args = r::RemoteStorageVolCreateXmlArgs { pool: pool.raw(), xml: s(xml), flags };
        Ok(Self::from_raw(&conn, aw!(conn.call_rw::<r::StorageVolCreateXml>("virStorageVolCreateXML", &args))?.vol))
    }

    /// `virStorageVolCreateXMLFrom`.
    pub async fn create_xml_from(
        pool: &StoragePool,
        xml: &str,
        vol: &Self,
        flags: sys::virStorageVolCreateFlags,
    ) -> Result<Self, Error> {
        let conn = pool.connect()?;
        let args = r::RemoteStorageVolCreateXmlFromArgs { pool: pool.raw(), xml: s(xml), clonevol: vol.raw(), flags };
        let ret = aw!(conn.call_rw::<r::StorageVolCreateXmlFrom>("virStorageVolCreateXMLFrom", &args))?;
        Ok(Self::from_raw(&conn, ret.vol))
    }

    /// `virStoragePoolLookupByVolume`.
    pub async fn lookup_storage_pool(&self) -> Result<StoragePool, Error> {
        let args = r::RemoteStoragePoolLookupByVolumeArgs { vol: self.raw() };
        Ok(StoragePool::from_raw(&self.conn, aw!(self.conn.call::<r::StoragePoolLookupByVolume>(&args))?.pool))
    }

    /// `virStorageVolGetInfo`.
    pub async fn info(&self) -> Result<StorageVolInfo, Error> {
        let ret = aw!(self.conn.call::<r::StorageVolGetInfo>(&r::RemoteStorageVolGetInfoArgs { vol: self.raw() }))?;
        Ok(StorageVolInfo {
            kind: u32::from(ret.type_.to_ne_bytes()[0]),
            capacity: ret.capacity,
            allocation: ret.allocation,
        })
    }

    /// `virStorageVolGetInfoFlags`.
    pub async fn info_flags(&self, flags: u32) -> Result<StorageVolInfo, Error> {
        let args = r::RemoteStorageVolGetInfoFlagsArgs { vol: self.raw(), flags };
        let ret = aw!(self.conn.call::<r::StorageVolGetInfoFlags>(&args))?;
        Ok(StorageVolInfo {
            kind: u32::from(ret.type_.to_ne_bytes()[0]),
            capacity: ret.capacity,
            allocation: ret.allocation,
        })
    }

    /// `virStorageVolDownload`: attaches `stream` to the volume's content.
    pub async fn download(&self, stream: &Stream, offset: u64, length: u64, flags: u32) -> Result<(), Error> {
        self.conn.check_rw("virStorageVolDownload")?;
        let message = format!("stream in virStorageVolDownload must match connection of volume '{}'", self.raw.name);
        stream.check_connection(&self.conn, "virStorageVolDownload", message)?;
        let args = r::RemoteStorageVolDownloadArgs { vol: self.raw(), offset, length, flags };
        aw!(stream.start::<r::StorageVolDownload>(&args))
    }

    /// `virStorageVolUpload`: attaches `stream` to write the volume.
    pub async fn upload(&self, stream: &Stream, offset: u64, length: u64, flags: u32) -> Result<(), Error> {
        self.conn.check_rw("virStorageVolUpload")?;
        let message = format!("stream in virStorageVolUpload must match connection of volume '{}'", self.raw.name);
        stream.check_connection(&self.conn, "virStorageVolUpload", message)?;
        let args = r::RemoteStorageVolUploadArgs { vol: self.raw(), offset, length, flags };
        aw!(stream.start::<r::StorageVolUpload>(&args))
    }
} }

obj_string! { StorageVol.vol;
    /// `virStorageVolGetPath`.
    path() = StorageVolGetPath(RemoteStorageVolGetPathArgs).name;
    /// `virStorageVolGetXMLDesc`.
    xml_desc(flags: u32 => flags) = StorageVolGetXmlDesc(RemoteStorageVolGetXmlDescArgs).xml;
}

obj_void! { StorageVol.vol;
    /// `virStorageVolDelete`.
    delete(flags: u32 => flags) = StorageVolDelete(RemoteStorageVolDeleteArgs) "virStorageVolDelete";
    /// `virStorageVolWipe`.
    wipe(flags: u32 => flags) = StorageVolWipe(RemoteStorageVolWipeArgs) "virStorageVolWipe";
    /// `virStorageVolWipePattern`.
    wipe_pattern(algo: sys::virStorageVolWipeAlgorithm => algorithm, flags: u32 => flags) = StorageVolWipePattern(RemoteStorageVolWipePatternArgs) "virStorageVolWipePattern";
    /// `virStorageVolResize`.
    resize(capacity: u64 => capacity, flags: u32 => flags) = StorageVolResize(RemoteStorageVolResizeArgs) "virStorageVolResize";
}
