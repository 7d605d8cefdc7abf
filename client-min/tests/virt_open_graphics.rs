//! `Domain::open_graphics`/`open_graphics_fd` against libvirt's client (libvirt.so through
//! python3-libvirt, `openGraphics`/`openGraphicsFD`), over a unix socket and over TCP, against
//! Debian's libvirtd 9.0 and daemon-min: the same results and errors, step by step. Neither
//! test driver implements the procedures, so on unix both end with its "not supported"
//! error; libvirtd reads the passed descriptor before it answers (a call announcing one and
//! not followed by it would leave libvirtd waiting, and a carrier byte out of place would
//! break the framing), and the connection is still working afterwards. Over TCP the
//! descriptor cannot be passed: libvirt's error, and the connection is closed, as libvirt's.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use spec_tests::libvirtd::{require_python_libvirt, Libvirtd};
use virt::connect::Connect;
use virt::error::Error;

const PYTHON: &str = include_str!("virt_open_graphics.py");

fn python(python: &str, uris: &[&str]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("virt-open-graphics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("probe.py");
    std::fs::write(&script, PYTHON).unwrap();
    let out = spec_tests::libvirtd::run_python_script(python, &script, uris);
    let _ = std::fs::remove_dir_all(&dir);
    out.lines().map(str::to_string).collect()
}

/// The script's steps through this crate's blocking API.
fn ours(uris: &[&str]) -> Vec<String> {
    let (a, _b) = UnixStream::pair().unwrap();
    let (r, _w) = std::io::pipe().unwrap();
    let r = r.as_raw_fd();
    let out = |label: &str, res: Result<String, Error>| match res {
        Ok(v) => format!("{label} ok {v}"),
        Err(e) => {
            let msg = e.message().replace(&format!("fd {r} "), "fd N ");
            format!("{label} err {} {} {msg}", e.code().to_raw(), e.domain().to_raw())
        }
    };
    let none = |r: Result<(), Error>| r.map(|()| "None".to_string());
    let mut lines = Vec::new();
    for uri in uris {
        let ro = Connect::open_read_only(Some(uri)).unwrap();
        let rodom = ro.lookup_domain_by_name("test").unwrap();
        lines.push(out("read-only", none(rodom.open_graphics(0, a.as_raw_fd(), 0))));
        lines.push(out("read-only-fd", rodom.open_graphics_fd(0, 0).map(|fd| fd.to_string())));
        let c = Connect::open(Some(uri)).unwrap();
        let dom = c.lookup_domain_by_name("test").unwrap();
        lines.push(out("negative", none(dom.open_graphics(0, -1, 0))));
        lines.push(out("closed", none(dom.open_graphics(0, 999, 0))));
        lines.push(out("not-a-socket", none(dom.open_graphics(0, r, 0))));
        lines.push(out("open-graphics", none(dom.open_graphics(0, a.as_raw_fd(), 0))));
        lines.push(out("after", dom.is_active().map(|b| u8::from(b).to_string())));
        lines.push(out("open-graphics-fd", dom.open_graphics_fd(0, 0).map(|fd| fd.to_string())));
        lines.push(out("after-fd", dom.is_active().map(|b| u8::from(b).to_string())));
    }
    lines
}

#[test]
fn open_graphics_as_libvirt() {
    let Some(py) = require_python_libvirt() else { return };
    let Some(daemon) = Libvirtd::start_or_skip() else { return };
    let uris = [daemon.unix_uri(), daemon.tcp_uri()];
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let theirs = python(py, &uris);
    eprintln!("libvirt.so, libvirtd:\n{}", theirs.join("\n"));
    // The descriptor went out and the connection goes on (unix); TCP refuses and closes.
    assert!(theirs.contains(&"after ok 1".to_string()), "{theirs:?}");
    assert!(theirs.contains(&"closed err 38 20 Unable to access file descriptor 999: Bad file descriptor".to_string()));
    assert!(theirs.iter().any(|l| l.ends_with("Sending file descriptors is not supported on this socket")));
    assert_eq!(ours(&uris), theirs, "libvirtd");
    let binary = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.parent()?.join("daemon-min")));
    let Some(binary) = binary.filter(|p| p.exists()) else {
        assert!(!spec_tests::libvirtd::is_ci(), "daemon-min is not built next to the tests");
        eprintln!("SKIPPED: daemon-min is not built (cargo build -p daemon-min)");
        return;
    };
    let dm = spec_tests::daemon_min::DaemonMin::start(&binary, "", &[]);
    let uris = [dm.unix_uri(), dm.tcp_uri()];
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let theirs = python(py, &uris);
    assert_eq!(ours(&uris), theirs, "daemon-min");
}
