//! client-min's virsh commands call the `virt` API, as virsh calls libvirt's, never a
//! procedure directly: no command module (`src/cmd_*.rs`) names a procedure type of the
//! generated programs, their argument/reply/message structs, or the typed-call, stream and
//! event plumbing of the adapters.

use std::path::Path;

use proto_core::program::ProcedureInfo;

/// The Rust type name of a procedure: `REMOTE_PROC_DOMAIN_GET_STATE` → `DomainGetState`.
fn type_name(p: &ProcedureInfo) -> Option<String> {
    let rest = p.name.split_once("_PROC_")?.1;
    Some(
        rest.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect(),
    )
}

/// Every procedure type of the programs a client calls.
fn procedure_types() -> Vec<String> {
    use proto_core::programs::{lxc, qemu, remote};
    remote::PROCEDURES.iter().chain(qemu::PROCEDURES).chain(lxc::PROCEDURES).filter_map(type_name).collect()
}

/// A source without its comments and string literals.
fn code_of(src: &str) -> String {
    src.lines()
        .map(|l| {
            let mut out = String::new();
            let mut in_str = false;
            let mut chars = l.chars().peekable();
            while let Some(c) = chars.next() {
                match (in_str, c) {
                    (true, '\\') => {
                        chars.next();
                    }
                    (true, '"') | (false, '"') => in_str = !in_str,
                    (true, _) => {}
                    (false, '/') if chars.peek() == Some(&'/') => break,
                    (false, c) => out.push(c),
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a command module may not name, with the offending text.
fn violations(src: &str, procedures: &[String]) -> Vec<String> {
    let code = code_of(src);
    let mut out = Vec::new();
    for pattern in [
        "call::<",
        "call_raw",
        "call_stream",
        "CallSpec",
        "register_events",
        ".subscribe(",
        ".client()",
        "::NUMBER",
        "programs::remote::*",
        "programs::qemu",
        "programs::lxc",
        "StreamItem",
        "StreamHandle",
    ] {
        if code.contains(pattern) {
            out.push(pattern.to_owned());
        }
    }
    for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let wire_struct =
            word.starts_with("Remote") && (word.ends_with("Args") || word.ends_with("Ret") || word.ends_with("Msg"));
        if wire_struct || procedures.iter().any(|p| p == word) {
            out.push(word.to_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn command_modules_call_the_api() {
    let procedures = procedure_types();
    // The names are the generated types' names.
    assert!(procedures.len() > 400, "{} procedures", procedures.len());
    for (name, number) in [
        ("DomainGetState", <proto_core::programs::remote::DomainGetState as proto_core::Procedure>::NUMBER),
        (
            "ConnectListAllNwfilters",
            <proto_core::programs::remote::ConnectListAllNwfilters as proto_core::Procedure>::NUMBER,
        ),
        ("StorageVolUpload", <proto_core::programs::remote::StorageVolUpload as proto_core::Procedure>::NUMBER),
    ] {
        let p = proto_core::programs::remote::procedure_by_number(number).unwrap();
        assert_eq!(type_name(p).as_deref(), Some(name));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("cmd_"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let mut bad = Vec::new();
    for f in &files {
        for v in violations(&std::fs::read_to_string(f).unwrap(), &procedures) {
            bad.push(format!("{}: {v}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(bad.is_empty(), "command modules reach past the API:\n{}", bad.join("\n"));
}

/// Outside the commands too (the shell, the connection layer with virsh's close callback),
/// client-min's virsh makes no typed call: every call goes through the API in `src/virt/`.
#[test]
fn the_virsh_makes_no_typed_call() {
    let procedures = procedure_types();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("conn.rs")), "{files:?}");
    let mut bad = Vec::new();
    for f in &files {
        let found = violations(&std::fs::read_to_string(f).unwrap(), &procedures);
        // The connection layer may hold the client (keepalive check, closing).
        for v in found.into_iter().filter(|v| v != ".client()") {
            bad.push(format!("{}: {v}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(bad.is_empty(), "typed calls outside the API:\n{}", bad.join("\n"));
}

/// The check itself finds typed calls, procedure types and wire structs, and ignores comments
/// and messages.
#[test]
fn a_typed_call_is_found() {
    let procedures = procedure_types();
    let src = r#"
// A comment may say v.conn().call::<DomainGetState>.
fn f(v: &mut Virsh) {
    let r = v.conn().call::<NodeGetSecurityModel>(&());
    let a = RemoteDomainGetMessagesArgs { dom, flags: 0 };
    v.print("DomainDestroy in a message is fine");
}
"#;
    assert_eq!(violations(src, &procedures), ["NodeGetSecurityModel", "RemoteDomainGetMessagesArgs", "call::<"],);
    assert!(violations("fn g() { dom.suspend()?; }", &procedures).is_empty());
}
