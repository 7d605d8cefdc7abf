//! Long transfers show progress on a terminal and nothing otherwise: `vol-upload` and
//! `vol-download` of 8 MiB through the in-process `test:///default` driver, once under a
//! pseudo-terminal (util-linux's `script`) and once with plain pipes.

use std::path::PathBuf;
use std::process::Command;

use spec_tests::libvirtd::require_peer;

const CLIENT_MIN: &str = env!("CARGO_BIN_EXE_client-min");

/// A fresh directory with an 8 MiB file to upload, removed when dropped.
struct Workdir(PathBuf);

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workdir(tag: &str) -> Workdir {
    let dir = std::env::temp_dir().join(format!("client-min-progress-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("data.bin"), data).unwrap();
    Workdir(dir)
}

const SCRIPT: &str = "vol-create-as default-pool big.img 8M; vol-upload big.img data.bin --pool default-pool; \
                      vol-download big.img back.bin --pool default-pool";

#[test]
fn a_terminal_sees_the_progress_bars() {
    let Some(script) = require_peer("script") else { return };
    let work = workdir("tty");
    let dir = &work.0;
    // `script` runs the command on a new pseudo-terminal and copies what it shows to stdout.
    let command = format!("{CLIENT_MIN} -c test:///default '{SCRIPT}'");
    let out = Command::new(script).args(["-q", "-e", "-c", &command, "/dev/null"]).current_dir(dir).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    for what in ["upload", "download"] {
        let bar = format!("{what} [==============================] 100% 8.0 MiB / 8.0 MiB");
        assert!(shown.contains(&bar), "no finished {what} bar on the terminal:\n{shown:?}");
    }
    assert_eq!(std::fs::read(dir.join("back.bin")).unwrap(), std::fs::read(dir.join("data.bin")).unwrap());
}

#[test]
fn pipes_see_no_progress() {
    let work = workdir("pipe");
    let dir = &work.0;
    let out = Command::new(CLIENT_MIN).args(["-c", "test:///default", SCRIPT]).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "stderr is not a terminal: nothing on it");
    // What virsh prints for the sequence: the creation, and an empty line after each command.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Vol big.img created\n\n\n\n");
}
