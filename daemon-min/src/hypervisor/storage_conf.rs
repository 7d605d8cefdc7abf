//! Storage pool and volume definitions, formatted as `virStoragePoolDefFormat` and
//! `virStorageVolDefFormat` do, and volume content stored sparsely (data extents and holes).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::error::{self, Doc, Result};
use super::units;
use super::uuid::Uuid;
use super::xml::{self, escape, Buf, Element};

const POOL_TYPES: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "iscsi-direct",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
];

/// `virStorageFileFormat` names accepted for file volumes.
const FILE_FORMATS: &[&str] = &[
    "none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow", "qcow", "qcow2",
    "qed", "vmdk",
];

/// Source children in the order libvirt writes them.
const SOURCE_ORDER: &[&str] = &["host", "device", "dir", "adapter", "name", "format", "auth", "vendor", "product"];

/// `virStorageVolType` values (`VIR_STORAGE_VOL_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolType {
    /// `VIR_STORAGE_VOL_FILE` (0).
    File = 0,
    /// `VIR_STORAGE_VOL_BLOCK` (1).
    Block = 1,
    /// `VIR_STORAGE_VOL_NETWORK` (3).
    Network = 3,
}

impl VolType {
    fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Block => "block",
            Self::Network => "network",
        }
    }
}

/// A parsed storage pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    pub(crate) pool_type: String,
    pub(crate) name: String,
    pub(crate) uuid: Uuid,
    source: Vec<Element>,
    pub(crate) target_path: Option<String>,
    target_extra: Vec<Element>,
}

impl PoolDef {
    /// Parses a `<pool>` document.
    pub fn parse(text: &str) -> Result<Self> {
        let root = xml::parse(text, Doc::Pool.context()).map_err(|e| error::xml_syntax(Doc::Pool, e.message))?;
        Self::from_element(&root)
    }

    pub(crate) fn from_element(root: &Element) -> Result<Self> {
        if root.name != "pool" {
            return Err(error::xml_util_error(&format!("expecting root element of 'pool', not '{}'", root.name)));
        }
        let pool_type = root
            .attr("type")
            .ok_or_else(|| error::xml_util_error("Missing required attribute 'type' in element 'pool'"))?
            .to_owned();
        if !POOL_TYPES.contains(&pool_type.as_str()) {
            return Err(error::xml_util_error(&format!(
                "Invalid value for attribute 'type' in element 'pool': '{pool_type}'."
            )));
        }
        let name = root
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| error::xml_error(Doc::Pool, "missing pool source name element"))?;
        let uuid = match root.child_text("uuid") {
            Some(u) => Uuid::parse(&u).ok_or_else(|| error::parse_internal(Doc::Pool, "malformed uuid element"))?,
            None => Uuid::random(),
        };
        let mut source: Vec<Element> =
            root.child("source").map(|s| s.elements().cloned().collect()).unwrap_or_default();
        let default_format = match pool_type.as_str() {
            "logical" => Some("lvm2"),
            "fs" | "netfs" => Some("auto"),
            "disk" => Some("unknown"),
            _ => None,
        };
        if let (Some(f), false) = (default_format, source.iter().any(|e| e.name == "format")) {
            source.push(Element::new("format").with_attr("type", f));
        }
        source.sort_by_key(|e| SOURCE_ORDER.iter().position(|n| *n == e.name).unwrap_or(SOURCE_ORDER.len()));
        let target = root.child("target");
        let target_path =
            target.and_then(|t| t.child_text("path")).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        let needs_target = !matches!(pool_type.as_str(), "rbd" | "sheepdog" | "gluster" | "iscsi-direct");
        if needs_target && target_path.is_none() {
            return Err(error::xml_error(Doc::Pool, "missing storage pool target path"));
        }
        Ok(Self {
            pool_type,
            name,
            uuid,
            source,
            target_path,
            target_extra: target
                .map(|t| t.elements().filter(|e| e.name != "path").cloned().collect())
                .unwrap_or_default(),
        })
    }

    /// The type of the volumes this pool holds (`testStorageVolumeTypeForPool`).
    #[must_use]
    pub fn vol_type(&self) -> VolType {
        match self.pool_type.as_str() {
            "dir" | "fs" | "netfs" | "vstorage" => VolType::File,
            "sheepdog" | "iscsi-direct" | "gluster" | "rbd" => VolType::Network,
            _ => VolType::Block,
        }
    }

    /// Formats the definition with the pool's current sizes, as `virStoragePoolDefFormat` does.
    #[must_use]
    pub fn format(&self, capacity: u64, allocation: u64, available: u64) -> String {
        let mut b = Buf::new();
        b.line(&format!("<pool type='{}'>", escape(&self.pool_type)));
        b.push();
        b.text_elem("name", &self.name);
        b.line(&format!("<uuid>{}</uuid>", self.uuid));
        b.line(&format!("<capacity unit='bytes'>{capacity}</capacity>"));
        b.line(&format!("<allocation unit='bytes'>{allocation}</allocation>"));
        b.line(&format!("<available unit='bytes'>{available}</available>"));
        b.line("<source>");
        b.push();
        for s in &self.source {
            b.element(s);
        }
        b.pop();
        b.line("</source>");
        if self.target_path.is_some() || !self.target_extra.is_empty() {
            b.line("<target>");
            b.push();
            if let Some(p) = &self.target_path {
                b.text_elem("path", p);
            }
            for e in &self.target_extra {
                b.element(e);
            }
            b.pop();
            b.line("</target>");
        }
        b.pop();
        b.line("</pool>");
        b.finish()
    }
}

/// A parsed storage volume definition, completed by its pool (path, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolDef {
    pub(crate) name: String,
    pub(crate) key: String,
    pub(crate) path: String,
    pub(crate) capacity: u64,
    pub(crate) allocation: u64,
    pub(crate) format: Option<String>,
    target_extra: Vec<Element>,
}

impl VolDef {
    /// Parses a `<volume>` document for a volume of `pool` (`virStorageVolDefParse`).
    pub fn parse(text: &str, pool: &PoolDef) -> Result<Self> {
        let root = xml::parse(text, Doc::Volume.context()).map_err(|e| error::xml_syntax(Doc::Volume, e.message))?;
        Self::from_element(&root, pool)
    }

    pub(crate) fn from_element(root: &Element, pool: &PoolDef) -> Result<Self> {
        if root.name != "volume" {
            return Err(error::xml_util_error(&format!("expecting root element of 'volume', not '{}'", root.name)));
        }
        let name = root
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| error::xml_error(Doc::Volume, "missing volume name element"))?;
        let sized = |n: &str| -> Result<Option<u64>> {
            let Some(e) = root.child(n) else { return Ok(None) };
            let t = e.text();
            let v: u64 =
                t.trim().parse().map_err(|_| error::xml_error(Doc::Volume, &format!("malformed {n} element")))?;
            units::scale(v, e.attr("unit"), 1).map(Some)
        };
        let capacity = sized("capacity")?.ok_or_else(|| error::xml_error(Doc::Volume, "missing capacity element"))?;
        let allocation = sized("allocation")?.unwrap_or(capacity);
        let target = root.child("target");
        let format = target.and_then(|t| t.child("format")).and_then(|f| f.attr("type")).map(str::to_owned);
        let format = match (pool.vol_type(), format) {
            (VolType::File, Some(f)) if !FILE_FORMATS.contains(&f.as_str()) => {
                return Err(error::unsupported_config(Doc::Volume, format!("unknown volume format type {f}")));
            }
            (VolType::File, None) => Some("raw".to_owned()),
            (_, f) => f,
        };
        let path = target
            .and_then(|t| t.child_text("path"))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("{}/{}", pool.target_path.as_deref().unwrap_or_default(), name));
        Ok(Self {
            key: root.child_text("key").filter(|k| !k.is_empty()).unwrap_or_else(|| path.clone()),
            path,
            name,
            capacity,
            allocation,
            format,
            target_extra: target
                .map(|t| t.elements().filter(|e| !matches!(e.name.as_str(), "path" | "format")).cloned().collect())
                .unwrap_or_default(),
        })
    }

    /// Formats the volume as `virStorageVolDefFormat` does.
    #[must_use]
    pub fn format(&self, pool: &PoolDef) -> String {
        let mut b = Buf::new();
        b.line(&format!("<volume type='{}'>", pool.vol_type().name()));
        b.push();
        b.text_elem("name", &self.name);
        b.text_elem("key", &self.key);
        b.line(&format!("<capacity unit='bytes'>{}</capacity>", self.capacity));
        b.line(&format!("<allocation unit='bytes'>{}</allocation>", self.allocation));
        b.line("<target>");
        b.push();
        b.text_elem("path", &self.path);
        if let Some(f) = &self.format {
            b.line(&format!("<format type='{}'/>", escape(f)));
        }
        for e in &self.target_extra {
            b.element(e);
        }
        b.pop();
        b.line("</target>");
        b.pop();
        b.line("</volume>");
        b.finish()
    }
}

/// A piece of volume content: bytes, or a hole of zeroes that takes no space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Bytes as stored.
    Data(Vec<u8>),
    /// This many zero bytes that were never written (or were punched out).
    Hole(u64),
}

/// Volume content: data extents keyed by offset, never overlapping; everything else up to the
/// capacity is a hole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extents {
    map: BTreeMap<u64, Vec<u8>>,
}

impl Extents {
    /// Removes stored bytes in `[start, end)`, keeping the parts of extents outside it.
    fn clear(&mut self, start: u64, end: u64) {
        let overlapping: Vec<u64> = self
            .map
            .range(..end)
            .filter(|(off, data)| **off + data.len() as u64 > start)
            .map(|(off, _)| *off)
            .collect();
        for off in overlapping {
            let Some(data) = self.map.remove(&off) else { continue };
            let data_end = off + data.len() as u64;
            if off < start {
                let keep = usize::try_from(start - off).unwrap_or(data.len());
                self.map.insert(off, data[..keep].to_vec());
            }
            if data_end > end {
                let skip = usize::try_from(end - off).unwrap_or(data.len());
                self.map.insert(end, data[skip..].to_vec());
            }
        }
    }

    /// Stores `data` at `offset`, replacing what was there; joins a directly preceding extent.
    pub(crate) fn write(&mut self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = offset + data.len() as u64;
        self.clear(offset, end);
        let prev =
            self.map.range(..offset).next_back().filter(|(o, d)| **o + d.len() as u64 == offset).map(|(o, _)| *o);
        match prev {
            Some(p) => {
                if let Some(d) = self.map.get_mut(&p) {
                    d.extend_from_slice(data);
                }
            }
            None => {
                self.map.insert(offset, data.to_vec());
            }
        }
        if let Some(next) = self.map.remove(&end) {
            let start = prev.unwrap_or(offset);
            if let Some(d) = self.map.get_mut(&start) {
                d.extend_from_slice(&next);
            }
        }
    }

    /// Turns `[offset, offset + len)` into a hole.
    pub(crate) fn punch(&mut self, offset: u64, len: u64) {
        self.clear(offset, offset.saturating_add(len));
    }

    /// `[offset, end)` as data chunks and holes; neighbouring holes are merged.
    #[must_use]
    pub(crate) fn read(&self, offset: u64, end: u64) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut pos = offset;
        let first = self.map.range(..=offset).next_back().map(|(o, _)| *o).unwrap_or(offset);
        for (off, data) in self.map.range(first..end) {
            let data_end = off + data.len() as u64;
            if data_end <= pos {
                continue;
            }
            if *off > pos {
                out.push(Chunk::Hole(off - pos));
                pos = *off;
            }
            let from = usize::try_from(pos - off).unwrap_or(0);
            let to = usize::try_from(data_end.min(end) - off).unwrap_or(data.len());
            out.push(Chunk::Data(data[from..to].to_vec()));
            pos = data_end.min(end);
        }
        if pos < end {
            out.push(Chunk::Hole(end - pos));
        }
        out
    }

    /// The extents as `(offset, bytes)` pairs, for persistence.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.map.iter().map(|(o, d)| (*o, d.as_slice()))
    }
}

/// Checks that `[offset, offset + len)` lies within a volume of `capacity` bytes.
pub(crate) fn check_range(offset: u64, len: u64, capacity: u64) -> Result<u64> {
    let end = offset.checked_add(len).filter(|e| *e <= capacity).ok_or_else(|| {
        let mut m = String::new();
        let _ = write!(m, "range {offset}+{len} is beyond the volume's capacity {capacity}");
        error::vol_range(m)
    })?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_write_read_punch() {
        let mut x = Extents::default();
        x.write(10, b"hello");
        x.write(15, b"world");
        assert_eq!(x.read(0, 30), vec![Chunk::Hole(10), Chunk::Data(b"helloworld".to_vec()), Chunk::Hole(10)]);
        x.punch(12, 6);
        assert_eq!(
            x.read(0, 20),
            vec![Chunk::Hole(10), Chunk::Data(b"he".to_vec()), Chunk::Hole(6), Chunk::Data(b"ld".to_vec())]
        );
        x.write(11, b"XYZ");
        assert_eq!(x.read(10, 15), vec![Chunk::Data(b"hXYZ".to_vec()), Chunk::Hole(1)]);
        assert_eq!(x.read(13, 14), vec![Chunk::Data(b"Z".to_vec())]);
        assert!(check_range(5, 10, 14).is_err());
        assert_eq!(check_range(4, 10, 14).unwrap(), 14);
    }
}
