//! Storage pool and volume procedures (the test driver's storage table).

use proto_core::programs::remote::*;

use bytes::Bytes;
use proto_core::error::RemoteError;
use proto_core::program::{Procedure, StreamDirection};
use proto_core::xdr;

use super::table::{not_open, on, Entry};
use super::wire::*;
use super::{Outcome, Transfer};
use crate::hypervisor::Uuid;
use crate::hypervisor::{SharedHypervisor, VolumeHandle};

pub(super) static ENTRIES: &[Entry] = &[
    on!(ConnectFindStoragePoolSources, try |m, a| m
        .connect_find_storage_pool_sources(
            &a.type_.to_string(),
            a.src_spec.as_ref().map(ToString::to_string).as_deref(),
            a.flags
        )
        .map(|x| RemoteConnectFindStoragePoolSourcesRet { xml: s(&x) })),
    on!(StoragePoolLookupByName, try |m, a| m
        .storage_pool_lookup_by_name(&a.name.to_string())
        .map(|p| RemoteStoragePoolLookupByNameRet { pool: pool_out(&p) })),
    on!(StoragePoolLookupByUuid, try |m, a| m
        .storage_pool_lookup_by_uuid(&Uuid(a.uuid))
        .map(|p| RemoteStoragePoolLookupByUuidRet { pool: pool_out(&p) })),
    on!(StoragePoolLookupByVolume, try |m, a| m
        .storage_pool_lookup_by_volume(&vol_in(&a.vol))
        .map(|p| RemoteStoragePoolLookupByVolumeRet { pool: pool_out(&p) })),
    on!(ConnectListAllStoragePools, try |m, a| {
        m.list_all_storage_pools(a.flags).map(|v| RemoteConnectListAllStoragePoolsRet {
            ret: v.len() as u32,
            pools: if a.need_results != 0 { v.iter().map(pool_out).collect() } else { Vec::new() },
        })
    }),
    on!(ConnectNumOfStoragePools, |m, _a| {
        RemoteConnectNumOfStoragePoolsRet { num: count(m.num_of_storage_pools()) }
    }),
    on!(ConnectListStoragePools, |m, a| {
        RemoteConnectListStoragePoolsRet { names: names(m.list_storage_pools(max_of(a.maxnames))) }
    }),
    on!(ConnectNumOfDefinedStoragePools, |m, _a| {
        RemoteConnectNumOfDefinedStoragePoolsRet { num: count(m.num_of_defined_storage_pools()) }
    }),
    on!(ConnectListDefinedStoragePools, |m, a| {
        RemoteConnectListDefinedStoragePoolsRet { names: names(m.list_defined_storage_pools(max_of(a.maxnames))) }
    }),
    on!(StoragePoolDefineXml, try |m, a| m
        .storage_pool_define_xml(&a.xml.to_string(), a.flags)
        .map(|p| RemoteStoragePoolDefineXmlRet { pool: pool_out(&p) })),
    on!(StoragePoolCreateXml, try |m, a| m
        .storage_pool_create_xml(&a.xml.to_string(), a.flags)
        .map(|p| RemoteStoragePoolCreateXmlRet { pool: pool_out(&p) })),
    on!(StoragePoolUndefine, try |m, a| m.storage_pool_undefine(&pool_in(&a.pool))),
    on!(StoragePoolCreate, try |m, a| m.storage_pool_create(&pool_in(&a.pool), a.flags)),
    on!(StoragePoolBuild, try |m, a| m.storage_pool_build(&pool_in(&a.pool), a.flags)),
    on!(StoragePoolDestroy, try |m, a| m.storage_pool_destroy(&pool_in(&a.pool))),
    on!(StoragePoolDelete, try |m, a| m.storage_pool_delete(&pool_in(&a.pool), a.flags)),
    on!(StoragePoolRefresh, try |m, a| m.storage_pool_refresh(&pool_in(&a.pool), a.flags)),
    on!(StoragePoolGetInfo, try |m, a| m
    .storage_pool_get_info(&pool_in(&a.pool))
    .map(|i| RemoteStoragePoolGetInfoRet {
        state: u8::try_from(i.state).unwrap_or(0),
        capacity: i.capacity,
        allocation: i.allocation,
        available: i.available,
    })),
    on!(StoragePoolGetXmlDesc, try |m, a| m
        .storage_pool_get_xml_desc(&pool_in(&a.pool), a.flags)
        .map(|x| RemoteStoragePoolGetXmlDescRet { xml: s(&x) })),
    on!(StoragePoolGetAutostart, try |m, a| m
        .storage_pool_get_autostart(&pool_in(&a.pool))
        .map(|v| RemoteStoragePoolGetAutostartRet { autostart: i32::from(v) })),
    on!(StoragePoolSetAutostart, try |m, a| m
        .storage_pool_set_autostart(&pool_in(&a.pool), a.autostart != 0)),
    on!(StoragePoolIsActive, try |m, a| m
        .storage_pool_is_active(&pool_in(&a.pool))
        .map(|v| RemoteStoragePoolIsActiveRet { active: i32::from(v) })),
    on!(StoragePoolIsPersistent, try |m, a| m
        .storage_pool_is_persistent(&pool_in(&a.pool))
        .map(|v| RemoteStoragePoolIsPersistentRet { persistent: i32::from(v) })),
    on!(StoragePoolNumOfVolumes, try |m, a| m
        .storage_pool_num_of_volumes(&pool_in(&a.pool))
        .map(|n| RemoteStoragePoolNumOfVolumesRet { num: count(n) })),
    on!(StoragePoolListVolumes, try |m, a| m
        .storage_pool_list_volumes(&pool_in(&a.pool), max_of(a.maxnames))
        .map(|v| RemoteStoragePoolListVolumesRet { names: names(v) })),
    on!(StoragePoolListAllVolumes, try |m, a| {
        m.storage_pool_list_all_volumes(&pool_in(&a.pool), a.flags).map(|v| RemoteStoragePoolListAllVolumesRet {
            ret: v.len() as u32,
            vols: if a.need_results != 0 { v.iter().map(vol_out).collect() } else { Vec::new() },
        })
    }),
    on!(StorageVolLookupByName, try |m, a| {
        m.storage_vol_lookup_by_name(&pool_in(&a.pool), &a.name.to_string())
            .map(|v| RemoteStorageVolLookupByNameRet { vol: vol_out(&v) })
    }),
    on!(StorageVolLookupByKey, try |m, a| m
        .storage_vol_lookup_by_key(&a.key.to_string())
        .map(|v| RemoteStorageVolLookupByKeyRet { vol: vol_out(&v) })),
    on!(StorageVolLookupByPath, try |m, a| m
        .storage_vol_lookup_by_path(&a.path.to_string())
        .map(|v| RemoteStorageVolLookupByPathRet { vol: vol_out(&v) })),
    on!(StorageVolCreateXml, try |m, a| m
        .storage_vol_create_xml(&pool_in(&a.pool), &a.xml.to_string(), a.flags)
        .map(|v| RemoteStorageVolCreateXmlRet { vol: vol_out(&v) })),
    on!(StorageVolDelete, try |m, a| m.storage_vol_delete(&vol_in(&a.vol), a.flags)),
    on!(StorageVolGetInfo, try |m, a| m
    .storage_vol_get_info(&vol_in(&a.vol))
    .map(|i| RemoteStorageVolGetInfoRet {
        type_: i8::try_from(i.kind).unwrap_or(0),
        capacity: i.capacity,
        allocation: i.allocation,
    })),
    on!(StorageVolGetXmlDesc, try |m, a| m
        .storage_vol_get_xml_desc(&vol_in(&a.vol), a.flags)
        .map(|x| RemoteStorageVolGetXmlDescRet { xml: s(&x) })),
    on!(StorageVolGetPath, try |m, a| m
        .storage_vol_get_path(&vol_in(&a.vol))
        .map(|x| RemoteStorageVolGetPathRet { name: s(&x) })),
    on!(StorageVolCreateXmlFrom, try |m, a| m
        .storage_vol_create_xml_from(&pool_in(&a.pool), &a.xml.to_string(), &vol_in(&a.clonevol), a.flags)
        .map(|v| RemoteStorageVolCreateXmlFromRet { vol: vol_out(&v) })),
    Entry {
        number: REMOTE_PROC_STORAGE_VOL_UPLOAD,
        run: |c, args| match c.hv() {
            Some(hv) => {
                transfer::<StorageVolUpload>(&hv, args, true, |a| (vol_in(&a.vol), a.offset, a.length, a.flags))
            }
            None => not_open("REMOTE_PROC_STORAGE_VOL_UPLOAD"),
        },
    },
    Entry {
        number: REMOTE_PROC_STORAGE_VOL_DOWNLOAD,
        run: |c, args| match c.hv() {
            Some(hv) => {
                transfer::<StorageVolDownload>(&hv, args, false, |a| (vol_in(&a.vol), a.offset, a.length, a.flags))
            }
            None => not_open("REMOTE_PROC_STORAGE_VOL_DOWNLOAD"),
        },
    },
];

/// Checks the volume, then hands the listener a [`Transfer`] to stream.
fn transfer<P: Procedure>(
    hv: &SharedHypervisor,
    args: Bytes,
    upload: bool,
    parts: impl FnOnce(&P::Args) -> (VolumeHandle, u64, u64, u32),
) -> Outcome {
    let Ok(a) = xdr::from_bytes::<P::Args>(args) else {
        return Outcome::Error(RemoteError::undecodable_payload());
    };
    let (vol, offset, length, flags) = parts(&a);
    // The volume must exist before the stream opens.
    if let Err(e) = hv.call(|m| m.storage_vol_get_info(&vol)) {
        return Outcome::Error(e.into());
    }
    debug_assert!(P::STREAM != StreamDirection::None);
    // VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM and ..._DOWNLOAD_SPARSE_STREAM are both 1.
    let t = Transfer { hv: hv.clone(), vol, offset, length, sparse: flags & 1 != 0, reply: Bytes::new(), data: None };
    if upload {
        Outcome::Upload(t)
    } else {
        Outcome::Download(t)
    }
}
