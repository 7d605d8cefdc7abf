//! Writes `$OUT_DIR/args_roundtrip.rs`: a function that, given a `REMOTE_PROGRAM` procedure
//! number and argument bytes, runs the typed round trip (decode, encode, decode) with that
//! procedure's generated argument type. The table is read from the generated
//! `proto-core/src/programs/remote.rs` (`ProcedureInfo { number: REMOTE_PROC_…, args: "…" }`),
//! and type names are made as the generator makes them.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto-core/src/programs/remote.rs");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = std::fs::read_to_string(&src).expect("read the generated remote program");
    let mut arms = String::new();
    let mut number: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(n) = line.strip_prefix("number: ") {
            number = Some(n.trim_end_matches(',').to_owned());
        } else if let Some(a) = line.strip_prefix("args: \"") {
            let args = a.trim_end_matches("\",");
            if let Some(n) = number.take() {
                if args != "void" {
                    let ty = libvirt_codegen::gen::camel(args);
                    let _ = writeln!(arms, "        remote::{n} => roundtrip::<remote::{ty}>(args),");
                }
            }
        }
    }
    let out = format!(
        "/// Runs the typed round trip of procedure `number`'s arguments; false when the procedure\n\
         /// has no argument type (void, unknown).\n\
         pub fn args_roundtrip(number: i32, args: &bytes::Bytes) -> bool {{\n\
         \x20   match number {{\n{arms}        _ => return false,\n    }}\n    true\n}}\n"
    );
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("args_roundtrip.rs");
    std::fs::write(dest, out).expect("write args_roundtrip.rs");
}
