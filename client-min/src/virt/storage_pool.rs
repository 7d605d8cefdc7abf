//! `virStoragePool…`.

use proto_core::programs::remote as r;
use uuid::Uuid;

use crate::error::Error;
use crate::macros::{handle, obj_bool, obj_string, obj_void, twin};
use crate::storage_vol::StorageVol;
use crate::sys;
use crate::util::{count, s, strings, uuid_string};

/// `virStoragePoolInfo`.
#[derive(Clone, Debug)]
pub struct StoragePoolInfo {
    /// `VIR_STORAGE_POOL_…` state.
    pub state: u32,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
    /// Free space in bytes.
    pub available: u64,
}

handle!(crate::connect::Connect;
    /// A storage pool (`virStoragePoolPtr`).
    StoragePool(RemoteNonnullStoragePool)
);

twin! { StoragePool, StorageVol; local impl StoragePool {
    /// `virStoragePoolGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virStoragePoolGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.raw.uuid))
    }

    /// `virStoragePoolGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.raw.uuid))
    }
} }

twin! { StoragePool, StorageVol; impl StoragePool {
    /// `virStorageVolLookupByName`.
    pub async fn lookup_storage_vol_by_name(&self, name: &str) -> Result<StorageVol, Error> {
        let args = r::RemoteStorageVolLookupByNameArgs { pool: self.raw(), name: s(name) };
        Ok(StorageVol::from_raw(&self.conn, aw!(self.conn.call::<r::StorageVolLookupByName>(&args))?.vol))
    }

    /// `virStoragePoolNumOfVolumes`.
    pub async fn num_of_volumes(&self) -> Result<u32, Error> {
        let args = r::RemoteStoragePoolNumOfVolumesArgs { pool: self.raw() };
        Ok(count(aw!(self.conn.call::<r::StoragePoolNumOfVolumes>(&args))?.num))
    }

    /// `virStoragePoolListVolumes`.
    pub async fn list_volumes(&self) -> Result<Vec<String>, Error> {
        let n = aw!(self.num_of_volumes())?;
        aw!(self.list_volumes_max(n))
    }

    /// `virStoragePoolListVolumes` with the caller's `maxnames` (as C callers pass it).
    pub async fn list_volumes_max(&self, maxnames: u32) -> Result<Vec<String>, Error> {
        let maxnames = i32::try_from(maxnames).unwrap_or(i32::MAX);
        let args = r::RemoteStoragePoolListVolumesArgs { pool: self.raw(), maxnames };
        Ok(strings(&aw!(self.conn.call::<r::StoragePoolListVolumes>(&args))?.names))
    }

    /// `virStoragePoolListAllVolumes`.
    pub async fn list_all_volumes(&self, flags: u32) -> Result<Vec<StorageVol>, Error> {
        let args = r::RemoteStoragePoolListAllVolumesArgs { pool: self.raw(), need_results: 1, flags };
        let ret = aw!(self.conn.call::<r::StoragePoolListAllVolumes>(&args))?;
        Ok(ret.vols.into_iter().map(|v| StorageVol::from_raw(&self.conn, v)).collect())
    }

    /// `virStoragePoolSetAutostart`.
    pub async fn set_autostart(&self, autostart: bool) -> Result<(), Error> {
        let args = r::RemoteStoragePoolSetAutostartArgs { pool: self.raw(), autostart: i32::from(autostart) };
        aw!(self.conn.call_rw::<r::StoragePoolSetAutostart>("virStoragePoolSetAutostart", &args))
    }

    /// `virStoragePoolGetInfo`.
    pub async fn info(&self) -> Result<StoragePoolInfo, Error> {
        let ret = aw!(self.conn.call::<r::StoragePoolGetInfo>(&r::RemoteStoragePoolGetInfoArgs { pool: self.raw() }))?;
        Ok(StoragePoolInfo {
            state: u32::from(ret.state),
            capacity: ret.capacity,
            allocation: ret.allocation,
            available: ret.available,
        })
    }
} }

obj_string! { StoragePool.pool;
    /// `virStoragePoolGetXMLDesc`.
    xml_desc(flags: sys::virStorageXMLFlags => flags) = StoragePoolGetXmlDesc(RemoteStoragePoolGetXmlDescArgs).xml;
}

obj_void! { StoragePool.pool;
    /// `virStoragePoolCreate`.
    create(flags: sys::virStoragePoolCreateFlags => flags) = StoragePoolCreate(RemoteStoragePoolCreateArgs) "virStoragePoolCreate";
    /// `virStoragePoolBuild`.
    build(flags: u32 => flags) = StoragePoolBuild(RemoteStoragePoolBuildArgs) "virStoragePoolBuild";
    /// `virStoragePoolDestroy`.
    destroy() = StoragePoolDestroy(RemoteStoragePoolDestroyArgs) "virStoragePoolDestroy";
    /// `virStoragePoolDelete`.
    delete(flags: u32 => flags) = StoragePoolDelete(RemoteStoragePoolDeleteArgs) "virStoragePoolDelete";
    /// `virStoragePoolUndefine`.
    undefine() = StoragePoolUndefine(RemoteStoragePoolUndefineArgs) "virStoragePoolUndefine";
    /// `virStoragePoolRefresh`.
    refresh(flags: u32 => flags) = StoragePoolRefresh(RemoteStoragePoolRefreshArgs) "virStoragePoolRefresh";
}

obj_bool! { StoragePool.pool;
    /// `virStoragePoolIsActive`.
    is_active() = StoragePoolIsActive(RemoteStoragePoolIsActiveArgs).active;
    /// `virStoragePoolIsPersistent`.
    is_persistent() = StoragePoolIsPersistent(RemoteStoragePoolIsPersistentArgs).persistent;
    /// `virStoragePoolGetAutostart`.
    autostart() = StoragePoolGetAutostart(RemoteStoragePoolGetAutostartArgs).autostart;
}
