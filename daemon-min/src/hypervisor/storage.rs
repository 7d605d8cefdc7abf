//! The storage family (the test driver's storage table): pools (lookups, lists, define,
//! build, start/stop, delete, refresh, info) and their volumes (create, delete, info, XML,
//! path, content for upload and download). Definitions live in `storage_conf`.

use super::error::{self, Result};
use super::events::{pool_event, Event};
use super::persist::{self, Op};
pub(super) use super::storage_conf::Extents;
use super::storage_conf::{self, Chunk, PoolDef, VolDef};
use super::uuid::Uuid;
use super::{object_filter, Hypervisor};

/// A storage pool as the wire names it (`remote_nonnull_storage_pool`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolHandle {
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
}

/// A storage volume as the wire names it (`remote_nonnull_storage_vol`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeHandle {
    /// The pool's name.
    pub pool: String,
    /// The volume's name.
    pub name: String,
    /// The volume's key (its path, for the test driver).
    pub key: String,
}

/// `virStoragePoolInfo` (`STORAGE_POOL_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolInfo {
    /// `VIR_STORAGE_POOL_INACTIVE` 0 or `VIR_STORAGE_POOL_RUNNING` 2.
    pub state: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
    /// Bytes.
    pub available: u64,
}

/// `virStorageVolInfo` (`STORAGE_VOL_GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolInfo {
    /// A [`VolType`] value.
    pub kind: i32,
    /// Bytes.
    pub capacity: u64,
    /// Bytes.
    pub allocation: u64,
}

const DEFAULT_POOL_CAPACITY: u64 = 100 * 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(super) struct VolObj {
    pub(super) def: VolDef,
    pub(super) content: Extents,
}

#[derive(Debug, Clone)]
pub(super) struct PoolObj {
    pub(super) def: PoolDef,
    pub(super) new_def: Option<PoolDef>,
    pub(super) active: bool,
    /// `configFile` is set: the pool is persistent.
    pub(super) persistent: bool,
    pub(super) autostart: bool,
    pub(super) capacity: u64,
    pub(super) allocation: u64,
    pub(super) available: u64,
    pub(super) vols: Vec<VolObj>,
}

impl PoolObj {
    pub(super) fn handle(&self) -> PoolHandle {
        PoolHandle { name: self.def.name.clone(), uuid: self.def.uuid }
    }

    pub(super) fn set_defaults(&mut self) {
        self.capacity = DEFAULT_POOL_CAPACITY;
        self.allocation = 0;
        self.available = DEFAULT_POOL_CAPACITY;
    }
}

impl Hypervisor {
    // ----- storage pools ---------------------------------------------------------------------------

    pub(super) fn pool_by_name(&self, name: &str) -> Result<usize> {
        self.pools.iter().position(|p| p.def.name == name).ok_or_else(|| error::no_pool_name(name))
    }

    pub(super) fn pool_by_uuid(&self, uuid: &Uuid) -> Result<usize> {
        self.pools.iter().position(|p| p.def.uuid == *uuid).ok_or_else(|| error::no_pool_uuid(uuid))
    }

    pub(super) fn pool_active_by_name(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if !self.pools[i].active {
            return Err(error::invalid_test(format!("storage pool '{name}' is not active")));
        }
        Ok(i)
    }

    pub(super) fn pool_inactive_by_name(&self, name: &str) -> Result<usize> {
        let i = self.pool_by_name(name)?;
        if self.pools[i].active {
            return Err(error::invalid_test(format!("storage pool '{name}' is active")));
        }
        Ok(i)
    }

    /// `STORAGE_POOL_LOOKUP_BY_NAME`.
    pub fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolHandle> {
        self.pool_by_name(name).map(|i| self.pools[i].handle())
    }

    /// `STORAGE_POOL_LOOKUP_BY_UUID`.
    pub fn storage_pool_lookup_by_uuid(&self, uuid: &Uuid) -> Result<PoolHandle> {
        self.pool_by_uuid(uuid).map(|i| self.pools[i].handle())
    }

    /// `STORAGE_POOL_LOOKUP_BY_VOLUME`.
    pub fn storage_pool_lookup_by_volume(&self, vol: &VolumeHandle) -> Result<PoolHandle> {
        self.storage_pool_lookup_by_name(&vol.pool)
    }

    /// `CONNECT_LIST_ALL_STORAGE_POOLS` with [`list_objects`] flags, pool-type bits included.
    pub fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<PoolHandle>> {
        error::check_flags(flags, 0xf_ffff, "testConnectListAllStoragePools")?;
        const TYPE_BITS: &[&str] = &[
            "dir",
            "fs",
            "netfs",
            "logical",
            "disk",
            "iscsi",
            "scsi",
            "mpath",
            "rbd",
            "sheepdog",
            "gluster",
            "zfs",
            "vstorage",
            "iscsi-direct",
        ];
        let type_mask = flags >> 6;
        Ok(self
            .pools
            .iter()
            .filter(|p| object_filter(flags & 0x3f, p.active, p.persistent, p.persistent && p.autostart))
            .filter(|p| {
                type_mask == 0
                    || TYPE_BITS
                        .iter()
                        .position(|t| *t == p.def.pool_type)
                        .is_some_and(|bit| type_mask & (1 << bit) != 0)
            })
            .map(PoolObj::handle)
            .collect())
    }

    /// `CONNECT_NUM_OF_STORAGE_POOLS` (active).
    #[must_use]
    pub fn num_of_storage_pools(&self) -> usize {
        self.pools.iter().filter(|p| p.active).count()
    }

    /// `CONNECT_LIST_STORAGE_POOLS` (active names, at most `max`).
    #[must_use]
    pub fn list_storage_pools(&self, max: usize) -> Vec<String> {
        self.pools.iter().filter(|p| p.active).map(|p| p.def.name.clone()).take(max).collect()
    }

    /// `CONNECT_NUM_OF_DEFINED_STORAGE_POOLS` (inactive).
    #[must_use]
    pub fn num_of_defined_storage_pools(&self) -> usize {
        self.pools.iter().filter(|p| !p.active).count()
    }

    /// `CONNECT_LIST_DEFINED_STORAGE_POOLS` (inactive names, at most `max`).
    #[must_use]
    pub fn list_defined_storage_pools(&self, max: usize) -> Vec<String> {
        self.pools.iter().filter(|p| !p.active).map(|p| p.def.name.clone()).take(max).collect()
    }

    pub(super) fn pool_slot(&self, def: &PoolDef, check_live: bool) -> Result<Option<usize>> {
        if let Some(i) = self.pools.iter().position(|p| p.def.uuid == def.uuid) {
            let cur = &self.pools[i];
            if cur.def.name != def.name {
                return Err(error::pool_uuid_taken(&cur.def.name, &cur.def.uuid));
            }
            if check_live && cur.active {
                return Err(error::pool_already_active(&cur.def.name));
            }
            return Ok(Some(i));
        }
        if let Some(cur) = self.pools.iter().find(|p| p.def.name == def.name) {
            return Err(error::pool_exists(&cur.def.name, &cur.def.uuid));
        }
        Ok(None)
    }

    pub(super) fn new_pool(def: PoolDef) -> PoolObj {
        PoolObj {
            def,
            new_def: None,
            active: false,
            persistent: true,
            autostart: false,
            capacity: DEFAULT_POOL_CAPACITY,
            allocation: 0,
            available: DEFAULT_POOL_CAPACITY,
            vols: Vec::new(),
        }
    }

    /// `STORAGE_POOL_DEFINE_XML` (flag `VALIDATE` 1 accepted).
    pub fn storage_pool_define_xml(&mut self, xml: &str, flags: u32) -> Result<PoolHandle> {
        error::check_flags(flags, 1, "testStoragePoolDefineXML")?;
        let def = PoolDef::parse(xml)?;
        let i = match self.pool_slot(&def, false)? {
            Some(i) => {
                let p = &mut self.pools[i];
                if p.active {
                    p.new_def = Some(def);
                } else {
                    p.def = def;
                }
                i
            }
            None => {
                self.pools.push(Self::new_pool(def));
                self.pools.len() - 1
            }
        };
        self.pool_event(i, pool_event::DEFINED);
        let p = &mut self.pools[i];
        p.set_defaults();
        p.persistent = true;
        self.persist_pool(i);
        Ok(self.pools[i].handle())
    }

    /// `STORAGE_POOL_CREATE_XML`: a started, transient pool.
    pub fn storage_pool_create_xml(&mut self, xml: &str, flags: u32) -> Result<PoolHandle> {
        error::check_flags(flags, 0, "testStoragePoolCreateXML")?;
        let def = PoolDef::parse(xml)?;
        let i = match self.pool_slot(&def, true)? {
            Some(i) => {
                let p = &mut self.pools[i];
                if p.persistent && p.new_def.is_none() {
                    p.new_def = Some(std::mem::replace(&mut p.def, def));
                } else {
                    p.def = def;
                }
                i
            }
            None => {
                self.pools.push(Self::new_pool(def));
                self.pools.len() - 1
            }
        };
        let uuid = self.pools[i].def.uuid;
        if self.pools[i].persistent {
            self.unpersist("pools", &uuid);
            self.pending_if_durable(Op::RemoveDir(format!("pools/{uuid}.vols").into()));
        }
        let p = &mut self.pools[i];
        p.set_defaults();
        p.persistent = false;
        p.active = true;
        self.pool_event(i, pool_event::STARTED);
        Ok(self.pools[i].handle())
    }

    /// `STORAGE_POOL_UNDEFINE` (inactive pools only).
    pub fn storage_pool_undefine(&mut self, pool: &PoolHandle) -> Result<()> {
        let i = self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::UNDEFINED, detail: 0 });
        let uuid = self.pools[i].def.uuid;
        self.pools.remove(i);
        self.unpersist("pools", &uuid);
        self.pending_if_durable(Op::RemoveDir(format!("pools/{uuid}.vols").into()));
        Ok(())
    }

    /// `STORAGE_POOL_CREATE` (no flags).
    pub fn storage_pool_create(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolCreate")?;
        let i = self.pool_inactive_by_name(&pool.name)?;
        self.pools[i].active = true;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::STARTED, detail: 0 });
        self.persist_pool(i);
        Ok(())
    }

    /// `STORAGE_POOL_BUILD` (no flags; inactive pools only).
    pub fn storage_pool_build(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolBuild")?;
        self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::CREATED, detail: 0 });
        Ok(())
    }

    /// `STORAGE_POOL_DESTROY`: a transient pool disappears.
    pub fn storage_pool_destroy(&mut self, pool: &PoolHandle) -> Result<()> {
        let i = self.pool_active_by_name(&pool.name)?;
        let p = &mut self.pools[i];
        p.active = false;
        if let Some(nd) = p.new_def.take() {
            p.def = nd;
        }
        self.pool_event(i, pool_event::STOPPED);
        if self.pools[i].persistent {
            self.persist_pool(i);
        } else {
            self.pools.remove(i);
        }
        Ok(())
    }

    /// `STORAGE_POOL_DELETE` (no flags; inactive pools only): only the event.
    pub fn storage_pool_delete(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolDelete")?;
        self.pool_inactive_by_name(&pool.name)?;
        self.events.push(Event::PoolLifecycle { pool: pool.clone(), event: pool_event::DELETED, detail: 0 });
        Ok(())
    }

    /// `STORAGE_POOL_REFRESH` (no flags; active pools only).
    pub fn storage_pool_refresh(&mut self, pool: &PoolHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStoragePoolRefresh")?;
        self.pool_active_by_name(&pool.name)?;
        self.events.push(Event::PoolRefresh { pool: pool.clone() });
        Ok(())
    }

    /// `STORAGE_POOL_GET_INFO`.
    pub fn storage_pool_get_info(&self, pool: &PoolHandle) -> Result<PoolInfo> {
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(PoolInfo {
            state: if p.active { 2 } else { 0 },
            capacity: p.capacity,
            allocation: p.allocation,
            available: p.available,
        })
    }

    /// `STORAGE_POOL_GET_XML_DESC` (no flags).
    pub fn storage_pool_get_xml_desc(&self, pool: &PoolHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(p.def.format(p.capacity, p.allocation, p.available))
    }

    /// `STORAGE_POOL_GET_AUTOSTART` (false for transient pools).
    pub fn storage_pool_get_autostart(&self, pool: &PoolHandle) -> Result<bool> {
        let p = &self.pools[self.pool_by_name(&pool.name)?];
        Ok(p.persistent && p.autostart)
    }

    /// `STORAGE_POOL_SET_AUTOSTART` (persistent pools only).
    pub fn storage_pool_set_autostart(&mut self, pool: &PoolHandle, autostart: bool) -> Result<()> {
        let i = self.pool_by_name(&pool.name)?;
        if !self.pools[i].persistent {
            return Err(error::pool_no_config_file());
        }
        self.pools[i].autostart = autostart;
        self.persist_pool(i);
        Ok(())
    }

    /// `STORAGE_POOL_IS_ACTIVE`.
    pub fn storage_pool_is_active(&self, pool: &PoolHandle) -> Result<bool> {
        self.pool_by_uuid(&pool.uuid).map(|i| self.pools[i].active)
    }

    /// `STORAGE_POOL_IS_PERSISTENT`.
    pub fn storage_pool_is_persistent(&self, pool: &PoolHandle) -> Result<bool> {
        self.pool_by_uuid(&pool.uuid).map(|i| self.pools[i].persistent)
    }

    /// `STORAGE_POOL_NUM_OF_VOLUMES`.
    pub fn storage_pool_num_of_volumes(&self, pool: &PoolHandle) -> Result<usize> {
        Ok(self.pools[self.pool_active_by_name(&pool.name)?].vols.len())
    }

    /// `STORAGE_POOL_LIST_VOLUMES` (names, at most `max`).
    pub fn storage_pool_list_volumes(&self, pool: &PoolHandle, max: usize) -> Result<Vec<String>> {
        let p = &self.pools[self.pool_active_by_name(&pool.name)?];
        Ok(p.vols.iter().map(|v| v.def.name.clone()).take(max).collect())
    }

    /// `STORAGE_POOL_LIST_ALL_VOLUMES` (no flags).
    pub fn storage_pool_list_all_volumes(&self, pool: &PoolHandle, flags: u32) -> Result<Vec<VolumeHandle>> {
        error::check_flags(flags, 0, "testStoragePoolListAllVolumes")?;
        let i = self.pool_by_uuid(&pool.uuid)?;
        let p = &self.pools[i];
        if !p.active {
            return Err(error::invalid_test("storage pool is not active".to_owned()));
        }
        Ok(p.vols.iter().map(|v| vol_handle(p, v)).collect())
    }

    pub(super) fn pool_event(&mut self, i: usize, event: i32) {
        self.events.push(Event::PoolLifecycle { pool: self.pools[i].handle(), event, detail: 0 });
    }

    // ----- storage volumes ---------------------------------------------------------------------------

    pub(super) fn vol_index(&self, vol: &VolumeHandle) -> Result<(usize, usize)> {
        let pi = self.pool_active_by_name(&vol.pool)?;
        let vi = self.pools[pi]
            .vols
            .iter()
            .position(|v| v.def.name == vol.name)
            .ok_or_else(|| error::no_vol("name", &vol.name))?;
        Ok((pi, vi))
    }

    /// `STORAGE_VOL_LOOKUP_BY_NAME`.
    pub fn storage_vol_lookup_by_name(&self, pool: &PoolHandle, name: &str) -> Result<VolumeHandle> {
        let pi = self.pool_active_by_name(&pool.name)?;
        let p = &self.pools[pi];
        p.vols.iter().find(|v| v.def.name == name).map(|v| vol_handle(p, v)).ok_or_else(|| error::no_vol("name", name))
    }

    /// `STORAGE_VOL_LOOKUP_BY_KEY` (active pools).
    pub fn storage_vol_lookup_by_key(&self, key: &str) -> Result<VolumeHandle> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| p.vols.iter().find(|v| v.def.key == key).map(|v| vol_handle(p, v)))
            .ok_or_else(|| error::no_vol("key", key))
    }

    /// `STORAGE_VOL_LOOKUP_BY_PATH` (active pools).
    pub fn storage_vol_lookup_by_path(&self, path: &str) -> Result<VolumeHandle> {
        self.pools
            .iter()
            .filter(|p| p.active)
            .find_map(|p| p.vols.iter().find(|v| v.def.path == path).map(|v| vol_handle(p, v)))
            .ok_or_else(|| error::no_vol("path", path))
    }

    /// `STORAGE_VOL_CREATE_XML` (flag `VALIDATE` 1 accepted): name, capacity, allocation
    /// (defaults to the capacity), format (defaults to raw in file pools).
    pub fn storage_vol_create_xml(&mut self, pool: &PoolHandle, xml: &str, flags: u32) -> Result<VolumeHandle> {
        error::check_flags(flags, 1, "testStorageVolCreateXML")?;
        let pi = self.pool_active_by_name(&pool.name)?;
        let mut def = VolDef::parse(xml, &self.pools[pi].def)?;
        let p = &mut self.pools[pi];
        if p.vols.iter().any(|v| v.def.name == def.name) {
            return Err(error::vol_exists());
        }
        if p.allocation.saturating_add(def.allocation) > p.capacity {
            return Err(error::internal(&format!("Not enough free space in pool for volume '{}'", def.name)));
        }
        def.path = format!("{}/{}", p.def.target_path.as_deref().unwrap_or_default(), def.name);
        def.key.clone_from(&def.path);
        p.allocation += def.allocation;
        p.available = p.capacity - p.allocation;
        p.vols.push(VolObj { def, content: Extents::default() });
        let vi = p.vols.len() - 1;
        self.persist_vol(pi, vi, true);
        Ok(vol_handle(&self.pools[pi], &self.pools[pi].vols[vi]))
    }

    /// `STORAGE_VOL_CREATE_XML_FROM` (flag `VIR_STORAGE_VOL_CREATE_VALIDATE`): as the test
    /// driver, the original is looked up by name in the target pool; the new volume gets the
    /// original's content (which only daemon-min's upload and download can see).
    pub fn storage_vol_create_xml_from(
        &mut self,
        pool: &PoolHandle,
        xml: &str,
        clone: &VolumeHandle,
        flags: u32,
    ) -> Result<VolumeHandle> {
        error::check_flags(flags, 1, "testStorageVolCreateXMLFrom")?;
        let pi = self.pool_active_by_name(&pool.name)?;
        let mut def = VolDef::parse(xml, &self.pools[pi].def)?;
        let p = &mut self.pools[pi];
        if p.vols.iter().any(|v| v.def.name == def.name) {
            return Err(error::vol_exists());
        }
        let Some(orig) = p.vols.iter().find(|v| v.def.name == clone.name) else {
            return Err(error::no_vol("name", &clone.name));
        };
        let content = orig.content.clone();
        if p.allocation.saturating_add(def.allocation) > p.capacity {
            return Err(error::internal(&format!("Not enough free space in pool for volume '{}'", def.name)));
        }
        def.path = format!("{}/{}", p.def.target_path.as_deref().unwrap_or_default(), def.name);
        def.key.clone_from(&def.path);
        p.allocation += def.allocation;
        p.available = p.capacity - p.allocation;
        p.vols.push(VolObj { def, content });
        let vi = p.vols.len() - 1;
        self.persist_vol(pi, vi, true);
        Ok(vol_handle(&self.pools[pi], &self.pools[pi].vols[vi]))
    }

    /// `STORAGE_VOL_DELETE` (no flags).
    pub fn storage_vol_delete(&mut self, vol: &VolumeHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testStorageVolDelete")?;
        let (pi, vi) = self.vol_index(vol)?;
        let p = &mut self.pools[pi];
        let v = p.vols.remove(vi);
        p.allocation -= v.def.allocation;
        p.available = p.capacity - p.allocation;
        if self.durable && self.pools[pi].persistent {
            let base = format!("pools/{}.vols/{}", self.pools[pi].def.uuid, persist::hex_name(&v.def.name));
            self.pending.push(Op::Remove(format!("{base}.xml").into()));
            self.pending.push(Op::Remove(format!("{base}.data").into()));
            self.persist_pool(pi);
        }
        Ok(())
    }

    /// `STORAGE_VOL_GET_INFO`.
    pub fn storage_vol_get_info(&self, vol: &VolumeHandle) -> Result<VolInfo> {
        let (pi, vi) = self.vol_index(vol)?;
        let p = &self.pools[pi];
        let v = &p.vols[vi];
        Ok(VolInfo { kind: p.def.vol_type() as i32, capacity: v.def.capacity, allocation: v.def.allocation })
    }

    /// `STORAGE_VOL_GET_XML_DESC` (no flags).
    pub fn storage_vol_get_xml_desc(&self, vol: &VolumeHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
        let (pi, vi) = self.vol_index(vol)?;
        Ok(self.pools[pi].vols[vi].def.format(&self.pools[pi].def))
    }

    /// `STORAGE_VOL_GET_PATH`.
    pub fn storage_vol_get_path(&self, vol: &VolumeHandle) -> Result<String> {
        let (pi, vi) = self.vol_index(vol)?;
        Ok(self.pools[pi].vols[vi].def.path.clone())
    }

    /// Reads `[offset, offset + length)` of a volume's content (`length` 0: to the capacity), as
    /// data chunks and holes. For `STORAGE_VOL_DOWNLOAD`, which the real test driver lacks.
    pub fn storage_vol_read(&self, vol: &VolumeHandle, offset: u64, length: u64) -> Result<Vec<Chunk>> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &self.pools[pi].vols[vi];
        let cap = v.def.capacity;
        let length = if length == 0 { cap.saturating_sub(offset) } else { length };
        let end = storage_conf::check_range(offset, length, cap)?;
        Ok(v.content.read(offset, end))
    }

    /// Writes bytes into a volume at `offset` (for `STORAGE_VOL_UPLOAD`). Within the capacity
    /// only. Durable after [`storage_vol_commit`](Self::storage_vol_commit).
    pub fn storage_vol_write(&mut self, vol: &VolumeHandle, offset: u64, data: &[u8]) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &mut self.pools[pi].vols[vi];
        storage_conf::check_range(offset, data.len() as u64, v.def.capacity)?;
        v.content.write(offset, data);
        Ok(())
    }

    /// Makes `[offset, offset + length)` a hole (a sparse upload's hole).
    pub fn storage_vol_write_hole(&mut self, vol: &VolumeHandle, offset: u64, length: u64) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        let v = &mut self.pools[pi].vols[vi];
        storage_conf::check_range(offset, length, v.def.capacity)?;
        v.content.punch(offset, length);
        Ok(())
    }

    /// Queues the volume's content for the state directory (call when an upload finishes).
    pub fn storage_vol_commit(&mut self, vol: &VolumeHandle) -> Result<()> {
        let (pi, vi) = self.vol_index(vol)?;
        self.persist_vol(pi, vi, true);
        Ok(())
    }
}

fn vol_handle(p: &PoolObj, v: &VolObj) -> VolumeHandle {
    VolumeHandle { pool: p.def.name.clone(), name: v.def.name.clone(), key: v.def.key.clone() }
}
