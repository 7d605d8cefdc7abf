//! The durability layer: one file per object under a state directory, written atomically
//! (temporary file, fsync, rename, fsync of the directory).
//!
//! Layout (all names derived from UUIDs, so object names never become paths):
//!
//! ```text
//! STATE/initialized                     present once the defaults have been seeded
//! STATE/domains/<uuid>.xml              persistent definition (dumpxml --inactive)
//! STATE/domains/<uuid>.live.xml         live definition while the domain runs
//! STATE/domains/<uuid>.status           autostart=, state=, reason=, id=
//! STATE/networks/<uuid>.xml             definition
//! STATE/networks/<uuid>.status          autostart=, active=
//! STATE/pools/<uuid>.xml                definition
//! STATE/pools/<uuid>.status             autostart=, active=
//! STATE/pools/<uuid>.vols/<hex name>.xml   volume definition
//! STATE/pools/<uuid>.vols/<hex name>.data  volume content (sparse extents)
//! ```
//!
//! Transient objects are never written. The model queues [`Op`]s; [`StateDir::apply`] carries
//! them out, outside the model's lock.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::storage::Extents;

/// One change to the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Replace the file at this relative path with these bytes.
    Write(PathBuf, Vec<u8>),
    /// Remove this file (missing is fine).
    Remove(PathBuf),
    /// Remove this directory and everything in it (missing is fine).
    RemoveDir(PathBuf),
}

/// A state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    /// Added to every fsync: a deliberately slow disk, for tests (`--debug-slow-fsync-ms`).
    sync_delay: std::time::Duration,
}

impl StateDir {
    /// Opens (creating if needed) the state directory at `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["domains", "networks", "pools"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self { root, sync_delay: std::time::Duration::ZERO })
    }

    /// The same directory on a deliberately slow disk: every fsync takes `delay` longer.
    #[must_use]
    pub fn with_sync_delay(mut self, delay: std::time::Duration) -> Self {
        self.sync_delay = delay;
        self
    }

    fn sync(&self, f: &File) -> io::Result<()> {
        if !self.sync_delay.is_zero() {
            std::thread::sleep(self.sync_delay);
        }
        f.sync_all()
    }

    fn sync_parent(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(dir) => self.sync(&File::open(dir)?),
            None => Ok(()),
        }
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Carries out queued changes in order; stops at the first failure.
    pub(crate) fn apply(&self, ops: &[Op]) -> io::Result<()> {
        for op in ops {
            match op {
                Op::Write(rel, bytes) => self.write_atomic(rel, bytes)?,
                Op::Remove(rel) => {
                    let path = self.root.join(rel);
                    match fs::remove_file(&path) {
                        Ok(()) => self.sync_parent(&path)?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
                Op::RemoveDir(rel) => {
                    let path = self.root.join(rel);
                    match fs::remove_dir_all(&path) {
                        Ok(()) => self.sync_parent(&path)?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    fn write_atomic(&self, rel: &Path, bytes: &[u8]) -> io::Result<()> {
        let path = self.root.join(rel);
        let dir = path.parent().map_or_else(|| self.root.clone(), Path::to_path_buf);
        fs::create_dir_all(&dir)?;
        let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            self.sync(&f)?;
        }
        fs::rename(&tmp, &path)?;
        self.sync(&File::open(&dir)?)
    }

    /// Whether the defaults were seeded into this directory before.
    pub(crate) fn is_initialized(&self) -> bool {
        self.root.join("initialized").exists()
    }

    /// Reads every `*.xml` (and its `.status`, `.live.xml`) in `sub`, removing stale temporary
    /// files. Keys are the UUID file stems.
    pub(crate) fn read_objects(&self, sub: &str) -> io::Result<BTreeMap<String, Stored>> {
        let dir = self.root.join(sub);
        let mut out: BTreeMap<String, Stored> = BTreeMap::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            if let Some(stem) = name.strip_suffix(".live.xml") {
                out.entry(stem.to_owned()).or_default().live = Some(fs::read_to_string(entry.path())?);
            } else if let Some(stem) = name.strip_suffix(".xml") {
                out.entry(stem.to_owned()).or_default().config = Some(fs::read_to_string(entry.path())?);
            } else if let Some(stem) = name.strip_suffix(".status") {
                out.entry(stem.to_owned()).or_default().status = parse_status(&fs::read_to_string(entry.path())?);
            }
        }
        Ok(out)
    }

    /// The volumes stored for the pool whose files are named `pool_stem`.
    pub(crate) fn read_volumes(&self, pool_stem: &str) -> io::Result<Vec<(String, Extents)>> {
        let dir = self.root.join("pools").join(format!("{pool_stem}.vols"));
        let mut out = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        let mut names: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            } else if name.ends_with(".xml") {
                names.push(entry.path());
            }
        }
        names.sort();
        for xml_path in names {
            let xml = fs::read_to_string(&xml_path)?;
            let data_path = xml_path.with_extension("data");
            let extents = match fs::read(&data_path) {
                Ok(bytes) => decode_extents(&bytes).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Extents::default(),
                Err(e) => return Err(e),
            };
            out.push((xml, extents));
        }
        Ok(out)
    }
}

/// What was stored for one object.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stored {
    pub(crate) config: Option<String>,
    pub(crate) live: Option<String>,
    pub(crate) status: BTreeMap<String, String>,
}

fn parse_status(s: &str) -> BTreeMap<String, String> {
    s.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect()
}

/// A `.status` file's text.
pub(crate) fn status_text(pairs: &[(&str, String)]) -> Vec<u8> {
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('\n');
    }
    s.into_bytes()
}

/// A file-name-safe form of a volume name.
pub(crate) fn hex_name(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

const MAGIC: &[u8] = b"DMVOLDATA1\n";

/// Serialises extents: a magic line, then `offset (u64 BE) | length (u64 BE) | bytes` records.
pub(crate) fn encode_extents(x: &Extents) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (off, data) in x.iter() {
        out.extend_from_slice(&off.to_be_bytes());
        out.extend_from_slice(&(data.len() as u64).to_be_bytes());
        out.extend_from_slice(data);
    }
    out
}

pub(crate) fn decode_extents(bytes: &[u8]) -> Option<Extents> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut x = Extents::default();
    while !rest.is_empty() {
        let off = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let len = usize::try_from(u64::from_be_bytes(rest.get(8..16)?.try_into().ok()?)).ok()?;
        let data = rest.get(16..16usize.checked_add(len)?)?;
        x.write(off, data);
        rest = &rest[16 + len..];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_round_trip() {
        let mut x = Extents::default();
        x.write(5, b"abc");
        x.write(100, b"de");
        assert_eq!(decode_extents(&encode_extents(&x)), Some(x));
        assert!(decode_extents(b"nope").is_none());
    }

    #[test]
    fn atomic_write_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        s.apply(&[Op::Write(PathBuf::from("domains/a.xml"), b"<x/>".to_vec())]).unwrap();
        assert_eq!(fs::read(dir.path().join("domains/a.xml")).unwrap(), b"<x/>");
        s.apply(&[Op::Remove(PathBuf::from("domains/a.xml")), Op::Remove(PathBuf::from("domains/b.xml"))]).unwrap();
        assert!(!dir.path().join("domains/a.xml").exists());
    }
}
