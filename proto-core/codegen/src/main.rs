//! `libvirt-codegen --libvirt-src DIR --out DIR`: regenerates proto-core's typed programs.
//!
//! `--libvirt-src` defaults to `$LIBVIRT_SRC`; `--out` to `proto-core/src/programs`. Every file
//! written is passed through `rustfmt` (which picks up the workspace's `rustfmt.toml`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use libvirt_codegen::gen::{analyze, generate};

fn main() -> ExitCode {
    let mut src = std::env::var_os("LIBVIRT_SRC").map(PathBuf::from);
    let mut out = PathBuf::from("proto-core/src/programs");
    let mut no_fmt = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--libvirt-src" => src = args.next().map(PathBuf::from),
            "--out" => out = args.next().map_or(out, PathBuf::from),
            "--no-rustfmt" => no_fmt = true,
            "-h" | "--help" => {
                println!("usage: libvirt-codegen [--libvirt-src DIR] [--out DIR] [--no-rustfmt]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("libvirt-codegen: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(src) = src else {
        eprintln!("libvirt-codegen: give --libvirt-src or set LIBVIRT_SRC");
        return ExitCode::from(2);
    };
    let model = match analyze(&src) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("libvirt-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    for m in &model.modules {
        for o in &m.orphans {
            eprintln!("libvirt-codegen: note: {}: struct {o} belongs to no procedure", m.cfg.file);
        }
    }
    let output = match generate(&model) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("libvirt-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("libvirt-codegen: {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let mut written = Vec::new();
    for (name, code) in &output.files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, code) {
            eprintln!("libvirt-codegen: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        written.push(path);
    }
    if !no_fmt {
        let status = Command::new("rustfmt").arg("--edition").arg("2021").args(&written).status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("libvirt-codegen: rustfmt failed ({s})");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("libvirt-codegen: cannot run rustfmt: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for p in &written {
        println!("wrote {}", p.display());
    }
    ExitCode::SUCCESS
}
