//! Saving a domain to a file and back, and core dumps (the test driver's `domainSave*`,
//! `domainRestore*`, `domainSaveImage*` and `domainCoreDump*` entries).
//!
//! As libvirt's test driver does, these write real files at the paths the client gives, as the
//! daemon's user: a save image is the 15 bytes `TestGuestMagic\0`, the length of the XML as a
//! native-endian `int`, then the domain's XML (formatted with secure fields); a core dump is the
//! magic alone. Reading an image takes at most 8192 bytes of XML, as libvirt does, whatever the
//! file holds. Errors are libvirt's, with the system's error text where libvirt reports `errno`
//! (`Success` when a read came up short).
//!
//! Paths are made absolute as `virDomainSave` and its siblings do (`g_canonicalize_filename`:
//! relative to the daemon's working directory, `.` and `..` resolved without looking at the file
//! system); a path ends at its first NUL byte, as it does for libvirt's C strings.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::reason;
use super::error::{self, Error, Result};
use super::events::domain_event;
use super::{DomainDef, DomainHandle, Hypervisor};

/// `TEST_SAVE_MAGIC` with its NUL.
const MAGIC: &[u8; 15] = b"TestGuestMagic\0";
/// The largest XML an image may announce (libvirt's bound).
const MAX_XML: i32 = 8192;

/// `VIR_DOMAIN_RUNNING_RESTORED`.
const RUNNING_RESTORED: i32 = 3;
/// `VIR_DOMAIN_SHUTOFF_CRASHED`.
const SHUTOFF_CRASHED: i32 = 3;
/// `VIR_DOMAIN_EVENT_STARTED_RESTORED`.
const STARTED_RESTORED: i32 = 2;
/// `VIR_DOMAIN_EVENT_STOPPED_CRASHED`.
const STOPPED_CRASHED: i32 = 2;

/// `VIR_DOMAIN_SAVE_*` flags.
pub mod save_flags {
    /// `VIR_DOMAIN_SAVE_BYPASS_CACHE`.
    pub const BYPASS_CACHE: u32 = 1;
    /// `VIR_DOMAIN_SAVE_RUNNING`.
    pub const RUNNING: u32 = 2;
    /// `VIR_DOMAIN_SAVE_PAUSED`.
    pub const PAUSED: u32 = 4;
}

/// `VIR_DUMP_*` flags.
pub mod dump_flags {
    /// `VIR_DUMP_CRASH`.
    pub const CRASH: u32 = 1;
    /// `VIR_DUMP_LIVE`.
    pub const LIVE: u32 = 2;
    /// `VIR_DUMP_RESET`.
    pub const RESET: u32 = 8;
}

/// `VIR_DOMAIN_CORE_DUMP_FORMAT_LAST` in libvirt 9.0.
const CORE_DUMP_FORMAT_LAST: u32 = 5;

/// `O_NONBLOCK`: a client's path may name a FIFO, whose plain `open` waits for the other end;
/// the model runs under the hypervisor's lock, so that wait would stop every connection. With
/// it, such an open fails (writing, no reader: ENXIO) or reads come up short, with libvirt's
/// errors; regular files behave as without it.
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const O_NONBLOCK: i32 = 0;

/// Opens `path` for writing as libvirt does (`O_CREAT|O_TRUNC|O_WRONLY`, mode 0600).
fn create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).custom_flags(O_NONBLOCK).open(path)
}

/// Whether `path` is a regular file (what a failed save may remove: libvirt unlinks whatever
/// the path names, which for a device node opened as root would delete it).
fn is_regular(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

fn system_error(message: String, err: Option<&std::io::Error>) -> Error {
    error::e(ErrorCode::VIR_ERR_SYSTEM_ERROR, ErrorDomain::VIR_FROM_TEST, format!("{message}: {}", strerror(err)))
}

/// The C library's text for an error (`strerror`), `Success` for none.
fn strerror(err: Option<&std::io::Error>) -> String {
    let Some(err) = err else { return "Success".to_owned() };
    let text = err.to_string();
    // std writes "No such file or directory (os error 2)".
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// `VIR_EXCLUSIVE_FLAGS_GOTO` as libvirt's public API raises it.
fn exclusive(flags: u32, a: (u32, &str), b: (u32, &str)) -> Result<()> {
    if flags & a.0 != 0 && flags & b.0 != 0 {
        return Err(error::e(
            ErrorCode::VIR_ERR_INVALID_ARG,
            ErrorDomain::VIR_FROM_DOMAIN,
            format!("Flags '{}' and '{}' are mutually exclusive", a.1, b.1),
        ));
    }
    Ok(())
}

fn save_running_paused(flags: u32) -> Result<()> {
    exclusive(flags, (save_flags::RUNNING, "VIR_DOMAIN_SAVE_RUNNING"), (save_flags::PAUSED, "VIR_DOMAIN_SAVE_PAUSED"))
}

/// A client's path as libvirt's API passes it on: cut at the first NUL, made absolute against
/// the daemon's working directory, `.` and `..` resolved lexically.
#[must_use]
pub fn absolute_path(raw: &[u8]) -> PathBuf {
    let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
    let given = Path::new(OsStr::from_bytes(raw));
    let joined =
        if given.is_absolute() { given.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(given) };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Writes a save image of `def` (`testDomainSaveImageWrite`); a failed write leaves no file.
fn write_image(path: &Path, def: &DomainDef, id: Option<i32>) -> Result<()> {
    let name = def.name();
    let shown = path.display();
    let xml = def.format(id, true);
    let mut file = create(path)
        .map_err(|e| system_error(format!("saving domain '{name}' to '{shown}': open failed"), Some(&e)))?;
    let len = i32::try_from(xml.len()).unwrap_or(i32::MAX);
    let written = file
        .write_all(MAGIC)
        .and_then(|()| file.write_all(&len.to_ne_bytes()))
        .and_then(|()| file.write_all(xml.as_bytes()));
    if let Err(e) = written {
        drop(file);
        if is_regular(path) {
            let _ = std::fs::remove_file(path);
        }
        return Err(system_error(format!("saving domain '{name}' to '{shown}': write failed"), Some(&e)));
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes (`saferead`): how many came, or the error.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads a save image and parses its domain (`testDomainSaveImageOpen`); `restore` names the
/// unnamed interfaces, as `testDomainRestoreFlags` does (reading the image alone does not).
fn read_image(path: &Path, restore: bool) -> Result<DomainDef> {
    let shown = path.display();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| system_error(format!("cannot read domain image '{shown}'"), Some(&e)))?;
    let mut magic = [0u8; 15];
    match read_full(&mut file, &mut magic) {
        Ok(15) => {}
        Ok(_) => return Err(system_error(format!("incomplete save header in '{shown}'"), None)),
        Err(e) => return Err(system_error(format!("incomplete save header in '{shown}'"), Some(&e))),
    }
    if &magic != MAGIC {
        return Err(error::internal("mismatched header magic"));
    }
    let mut len = [0u8; 4];
    match read_full(&mut file, &mut len) {
        Ok(4) => {}
        Ok(_) => return Err(system_error(format!("failed to read metadata length in '{shown}'"), None)),
        Err(e) => return Err(system_error(format!("failed to read metadata length in '{shown}'"), Some(&e))),
    }
    let len = i32::from_ne_bytes(len);
    if !(1..=MAX_XML).contains(&len) {
        return Err(error::internal("length of metadata out of range"));
    }
    // In range: 1..=8192 bytes.
    let mut xml = vec![0u8; len.unsigned_abs() as usize];
    match read_full(&mut file, &mut xml) {
        Ok(n) if n == xml.len() => {}
        Ok(_) => return Err(system_error(format!("incomplete metadata in '{shown}'"), None)),
        Err(e) => return Err(system_error(format!("incomplete metadata in '{shown}'"), Some(&e))),
    }
    // libvirt reads the XML as a C string: it ends at the first NUL.
    let end = xml.iter().position(|b| *b == 0).unwrap_or(xml.len());
    let xml = String::from_utf8_lossy(&xml[..end]);
    if restore {
        DomainDef::parse(&xml)
    } else {
        DomainDef::parse_without_generated_ifnames(&xml)
    }
}

impl Hypervisor {
    /// `DOMAIN_SAVE` / `DOMAIN_SAVE_FLAGS`: writes the running domain's image to `path` and
    /// stops it (shutoff reason SAVED, event STOPPED_SAVED); a transient domain goes away.
    /// `dxml` is refused, and no flag is accepted.
    pub fn domain_save(&mut self, dom: &DomainHandle, path: &[u8], dxml: Option<&str>, flags: u32) -> Result<()> {
        save_running_paused(flags)?;
        error::check_flags(flags, 0, "testDomainSaveFlags")?;
        if dxml.is_some() {
            return Err(xml_modification_unsupported());
        }
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::domain_not_running_invalid());
        }
        let d = &self.domains[i];
        write_image(&absolute_path(path), &d.def, Some(d.id))?;
        self.stop(i, reason::SHUTOFF_SAVED, domain_event::STOPPED_SAVED);
        Ok(())
    }

    /// `DOMAIN_RESTORE` / `DOMAIN_RESTORE_FLAGS`: starts the domain an image holds (running
    /// reason RESTORED, event STARTED_RESTORED), transient unless a persistent domain with that
    /// name and UUID is defined. `dxml` is refused, and no flag is accepted.
    pub fn domain_restore(&mut self, path: &[u8], dxml: Option<&str>, flags: u32) -> Result<()> {
        save_running_paused(flags)?;
        error::check_flags(flags, 0, "testDomainRestoreFlags")?;
        if dxml.is_some() {
            return Err(xml_modification_unsupported());
        }
        let def = read_image(&absolute_path(path), true)?;
        let i = self.add_live(def)?;
        self.start_state(i, RUNNING_RESTORED);
        self.dom_event(i, domain_event::STARTED, STARTED_RESTORED);
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_SAVE_IMAGE_GET_XML_DESC` (flag `SECURE` 1): the XML an image holds.
    pub fn domain_save_image_get_xml_desc(&self, path: &[u8], flags: u32) -> Result<String> {
        error::check_flags(flags, 1, "testDomainSaveImageGetXMLDesc")?;
        Ok(read_image(&absolute_path(path), false)?.format(None, true))
    }

    /// `DOMAIN_SAVE_IMAGE_DEFINE_XML` (flags `RUNNING` 2, `PAUSED` 4): replaces the XML an
    /// image holds, once the image reads and the new XML parses.
    pub fn domain_save_image_define_xml(&mut self, path: &[u8], dxml: &str, flags: u32) -> Result<()> {
        save_running_paused(flags)?;
        error::check_flags(flags, save_flags::RUNNING | save_flags::PAUSED, "testDomainSaveImageDefineXML")?;
        let path = absolute_path(path);
        read_image(&path, false)?;
        let def = DomainDef::parse_without_generated_ifnames(dxml)?;
        write_image(&path, &def, None)
    }

    /// `DOMAIN_CORE_DUMP` / `DOMAIN_CORE_DUMP_WITH_FORMAT` (flag `CRASH` 1): writes the magic to
    /// `path`; only the raw format (0) is supported, refused after the file is written as
    /// libvirt does; `CRASH` then stops the domain (shutoff reason CRASHED, event
    /// STOPPED_CRASHED).
    pub fn domain_core_dump(&mut self, dom: &DomainHandle, path: &[u8], format: u32, flags: u32) -> Result<()> {
        if format >= CORE_DUMP_FORMAT_LAST {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_DOMAIN,
                format!("dumpformat '{format}' is not supported"),
            ));
        }
        use dump_flags::{CRASH, LIVE, RESET};
        exclusive(flags, (CRASH, "VIR_DUMP_CRASH"), (LIVE, "VIR_DUMP_LIVE"))?;
        exclusive(flags, (CRASH, "VIR_DUMP_CRASH"), (RESET, "VIR_DUMP_RESET"))?;
        exclusive(flags, (LIVE, "VIR_DUMP_LIVE"), (RESET, "VIR_DUMP_RESET"))?;
        error::check_flags(flags, CRASH, "testDomainCoreDumpWithFormat")?;
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::domain_not_running_invalid());
        }
        let path = absolute_path(path);
        let shown = path.display();
        let name = &dom.name;
        let mut file = create(&path)
            .map_err(|e| system_error(format!("domain '{name}' coredump: failed to open {shown}"), Some(&e)))?;
        file.write_all(MAGIC).map_err(|e| {
            system_error(format!("domain '{name}' coredump: failed to write header to {shown}"), Some(&e))
        })?;
        drop(file);
        if format != 0 {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED,
                ErrorDomain::VIR_FROM_TEST,
                "Operation not supported: kdump-compressed format is not supported here",
            ));
        }
        if flags & CRASH != 0 {
            self.stop(i, SHUTOFF_CRASHED, STOPPED_CRASHED);
        }
        Ok(())
    }
}

fn xml_modification_unsupported() -> Error {
    error::e(
        ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
        ErrorDomain::VIR_FROM_TEST,
        "argument unsupported: xml modification unsupported",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::{DomainState, Event};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("daemon-min-save-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn test_dom(h: &Hypervisor) -> DomainHandle {
        h.domain_lookup_by_name("test").unwrap()
    }

    #[test]
    fn save_then_restore_round_trips_with_libvirts_states_and_events() {
        let dir = scratch("roundtrip");
        let img = dir.join("test.img");
        let mut h = Hypervisor::new_default("host");
        let before = h.domain_get_xml_desc(&test_dom(&h), 0).unwrap();
        h.domain_save(&test_dom(&h), img.as_os_str().as_bytes(), None, 0).unwrap();
        let d = test_dom(&h);
        assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Shutoff, reason::SHUTOFF_SAVED));
        let bytes = std::fs::read(&img).unwrap();
        assert_eq!(&bytes[..15], MAGIC);
        let len = i32::from_ne_bytes(bytes[15..19].try_into().unwrap());
        assert_eq!(len as usize, bytes.len() - 19);
        // Saving a stopped domain is refused.
        let e = h.domain_save(&d, img.as_os_str().as_bytes(), None, 0).unwrap_err();
        assert_eq!(e.triple(), (55, 20, "Requested operation is not valid: domain is not running"));
        h.drain_events();
        h.domain_restore(img.as_os_str().as_bytes(), None, 0).unwrap();
        let d = test_dom(&h);
        assert_eq!(h.domain_get_state(&d, 0).unwrap(), (DomainState::Running, RUNNING_RESTORED));
        let ev = h.drain_events();
        assert!(matches!(&ev[..], [Event::DomainLifecycle { event: 2, detail: 2, .. }]), "{ev:?}");
        // The restored domain has the saved definition, with a new id.
        let after = h.domain_get_xml_desc(&d, 0).unwrap();
        assert_eq!(before.replace("id='1'", &format!("id='{}'", d.id)), after);
        let e = h.domain_restore(img.as_os_str().as_bytes(), None, 0).unwrap_err();
        assert_eq!(e.triple(), (55, 20, "Requested operation is not valid: domain 'test' is already active"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_images_get_libvirts_errors_and_bounded_reads() {
        let dir = scratch("bad");
        let h = Hypervisor::new_default("host");
        let read = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            let e = h.domain_save_image_get_xml_desc(p.as_os_str().as_bytes(), 0).unwrap_err();
            (e.code().0, e.domain().0, e.message().replace(&dir.display().to_string(), "D"))
        };
        assert_eq!(read("short", b"Test"), (38, 12, "incomplete save header in 'D/short': Success".to_owned()));
        assert_eq!(read("magic", b"NotTheMagic!!!!xxxx"), (1, 12, "internal error: mismatched header magic".into()));
        let mut big = MAGIC.to_vec();
        big.extend_from_slice(&9000i32.to_ne_bytes());
        assert_eq!(read("big", &big), (1, 12, "internal error: length of metadata out of range".into()));
        let mut neg = MAGIC.to_vec();
        neg.extend_from_slice(&(-5i32).to_ne_bytes());
        assert_eq!(read("neg", &neg), (1, 12, "internal error: length of metadata out of range".into()));
        let mut trunc = MAGIC.to_vec();
        trunc.extend_from_slice(&100i32.to_ne_bytes());
        trunc.extend_from_slice(b"<domain");
        assert_eq!(read("trunc", &trunc), (38, 12, "incomplete metadata in 'D/trunc': Success".into()));
        let e = h.domain_save_image_get_xml_desc(b"/nonexistent-dir/x.img", 0).unwrap_err();
        assert_eq!(
            e.triple(),
            (38, 12, "cannot read domain image '/nonexistent-dir/x.img': No such file or directory")
        );
        let e = h.domain_save_image_get_xml_desc(dir.as_os_str().as_bytes(), 0).unwrap_err();
        assert_eq!(e.code().0, 38);
        assert!(e.message().ends_with(": Is a directory"), "{e:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn core_dump_writes_the_magic_and_crash_stops() {
        let dir = scratch("dump");
        let core = dir.join("core");
        let mut h = Hypervisor::new_default("host");
        let e = h.domain_core_dump(&test_dom(&h), b"/nonexistent-dir/core", 0, 0).unwrap_err();
        assert_eq!(
            e.triple(),
            (38, 12, "domain 'test' coredump: failed to open /nonexistent-dir/core: No such file or directory")
        );
        let e = h.domain_core_dump(&test_dom(&h), core.as_os_str().as_bytes(), 1, 0).unwrap_err();
        assert_eq!(e.triple(), (84, 12, "Operation not supported: kdump-compressed format is not supported here"));
        assert_eq!(std::fs::read(&core).unwrap(), MAGIC);
        let e = h.domain_core_dump(&test_dom(&h), core.as_os_str().as_bytes(), 0, 3).unwrap_err();
        assert_eq!(e.triple(), (8, 20, "Flags 'VIR_DUMP_CRASH' and 'VIR_DUMP_LIVE' are mutually exclusive"));
        h.domain_core_dump(&test_dom(&h), core.as_os_str().as_bytes(), 0, 1).unwrap();
        assert_eq!(h.domain_get_state(&test_dom(&h), 0).unwrap(), (DomainState::Shutoff, SHUTOFF_CRASHED));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fifo_never_blocks_the_daemon() {
        let dir = scratch("fifo");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED a_fifo_never_blocks_the_daemon: no mkfifo");
            return;
        }
        let mut h = Hypervisor::new_default("host");
        // Writing with no reader: refused at once (ENXIO), the FIFO left in place.
        let e = h.domain_save(&test_dom(&h), fifo.as_os_str().as_bytes(), None, 0).unwrap_err();
        assert_eq!(e.code().0, 38);
        assert!(e.message().ends_with(": open failed: No such device or address"), "{e:?}");
        assert!(fifo.exists());
        let e = h.domain_core_dump(&test_dom(&h), fifo.as_os_str().as_bytes(), 0, 0).unwrap_err();
        assert_eq!(e.code().0, 38);
        // Reading with no writer: an empty header, at once.
        let e = h.domain_save_image_get_xml_desc(fifo.as_os_str().as_bytes(), 0).unwrap_err();
        assert!(e.message().starts_with("incomplete save header"), "{e:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn paths_are_made_absolute_lexically() {
        assert_eq!(absolute_path(b"/a/./b/../c//d"), PathBuf::from("/a/c/d"));
        assert_eq!(absolute_path(b"/a/b\0/ignored"), PathBuf::from("/a/b"));
        assert_eq!(absolute_path(b"/../x"), PathBuf::from("/x"));
        assert!(absolute_path(b"rel").is_absolute());
    }
}
