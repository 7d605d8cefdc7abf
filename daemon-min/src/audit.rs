//! `daemon-min --audit FILE`: the daemon serves every client as libvirtd would, and writes each
//! deviation from the protocol a client makes (detected by proto-core's
//! [`ServerConnection`](proto_core::ServerConnection), see [`proto_core::audit`]) to FILE, one
//! line each: `serial S PROCEDURE[ byte N]: rule (where libvirt states it)`. The file is created
//! (empty) at start, so an empty file means no deviation.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use proto_core::audit::ProtocolDeviation;

static FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Creates (truncates) the audit file; from now on deviations are written to it.
///
/// # Errors
/// When the file cannot be created, or an audit file is already open.
pub fn init(path: &Path) -> io::Result<()> {
    let f = File::create(path)?;
    FILE.set(Mutex::new(f)).map_err(|_| io::Error::other("the audit file is already open"))
}

/// Whether an audit file is open.
#[must_use]
pub fn enabled() -> bool {
    FILE.get().is_some()
}

/// Writes one deviation (nothing when no audit file is open). A failed write is reported on
/// standard error, once per failure, and does not affect the client.
pub fn record(d: &ProtocolDeviation) {
    if let Some(m) = FILE.get() {
        let mut f = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = writeln!(f, "{d}").and_then(|()| f.flush()) {
            eprintln!("daemon-min: cannot write the audit file: {e}");
        }
    }
}
