//! The async twin has the blocking API's method set, type by type: the method names are read
//! from the sources (plain `impl` blocks count for their side only; `twin!` blocks and the
//! one-line tables built on it, `obj_void!`/`obj_bool!`/`obj_string!`/`name_lists!`/
//! `list_all!`/`family_events!`, count for both), so a method added to one side and not the other fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The handle types of `virt` 0.5.0 (and of `virt::asynchronous`).
const TYPES: [&str; 11] = [
    "Connect",
    "Domain",
    "DomainSnapshot",
    "Network",
    "Interface",
    "StoragePool",
    "StorageVol",
    "NodeDevice",
    "Secret",
    "NWFilter",
    "Stream",
];

/// Which side a method was found on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Blocking,
    Async,
    Both,
}

type Methods = BTreeMap<String, BTreeSet<String>>;

/// A source line without its `//` comment and string literals (braces in messages such as
/// `'{}'` must not count).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push_str("\"\"");
            }
            '/' if chars.peek() == Some(&'/') => break,
            '\'' => {
                // A char literal ('{', '\n') or a lifetime ('a): skip a literal whole.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    let _ = chars.by_ref().take_while(|&c| c != '\'').count();
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    (end > 0).then(|| s[..end].to_owned())
}

/// The public methods per type in one source file, with the side they exist on.
fn scan(text: &str, plain: Side, out: &mut Vec<(String, String, Side)>) {
    let mut depth = 0i32;
    // The top-level block being read: "impl", "macro_rules" or the macro's name, and its type.
    let mut block: Option<(String, Option<String>)> = None;
    for raw in text.lines() {
        let code = code_of(raw);
        let t = code.trim();
        if depth == 0 && block.is_none() {
            if let Some(rest) = t.strip_prefix("impl ") {
                let ty = first_ident(rest).filter(|_| !rest.contains(" for "));
                block = Some(("impl".into(), ty));
            } else if t.starts_with("macro_rules!") {
                block = Some(("macro_rules".into(), None));
            } else if let Some((name, rest)) = t.split_once("! {") {
                // A table: `obj_void! { Domain.dom;`, `twin! { Connect, Domain; impl Domain {`.
                let name = name.trim().to_owned();
                let ty = if matches!(name.as_str(), "name_lists" | "list_all" | "family_events") {
                    Some("Connect".to_owned())
                } else {
                    rest.split_once('.').and_then(|(ty, _)| first_ident(ty))
                };
                block = Some((name, ty));
            }
        }
        if let Some((kind, ty)) = &mut block {
            let kind = kind.clone();
            // Inside a twin!: `impl X {` or `local impl X {` names the type.
            if kind == "twin" {
                let head = t.split_once("; ").map_or(t, |(_, rest)| rest);
                if let Some(rest) = head.strip_prefix("impl ").or_else(|| head.strip_prefix("local impl ")) {
                    *ty = first_ident(rest);
                }
            }
            let method = if t.starts_with("pub fn ")
                || t.starts_with("pub async fn ")
                || t.starts_with("pub(crate)") && t.contains(" fn ")
            {
                t.split(" fn ").nth(1).and_then(first_ident).filter(|_| t.starts_with("pub "))
            } else {
                None
            };
            let side = match kind.as_str() {
                "impl" => Some(plain),
                "twin" | "obj_void" | "obj_bool" | "obj_string" | "list_all" | "name_lists" | "family_events" => {
                    Some(Side::Both)
                }
                _ => None,
            };
            if let (Some(side), Some(ty)) = (side, ty.clone()) {
                let mut names = Vec::new();
                if let Some(m) = method {
                    names.push(m);
                } else if matches!(kind.as_str(), "obj_void" | "obj_bool" | "obj_string" | "list_all")
                    && depth == 1
                    && (t.contains(") = ") || t.contains(") -> "))
                {
                    names.extend(first_ident(t));
                } else if kind == "family_events" && depth == 1 && t.contains(" / ") {
                    // `x_event_register_any / x_event_deregister_any (…)`
                    names.extend(t.split(['/', '(']).take(2).filter_map(first_ident));
                } else if kind == "name_lists" && depth == 1 && t.contains(" = ") {
                    // `num_of_x = Proc, list_x / list_x_max = Proc(Args);`
                    names.extend(t.split([',', '/']).filter_map(first_ident).filter(|n| !n.starts_with("Connect")));
                }
                for n in names {
                    out.push((ty.clone(), n, side));
                }
            }
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth == 0 {
            block = None;
        }
    }
}

/// Blocking and async method names per type, from the sources under `dir`.
fn methods(dir: &Path) -> (Methods, Methods) {
    let mut found = Vec::new();
    for (sub, side) in [(dir.to_path_buf(), Side::Blocking), (dir.join("asynchronous"), Side::Async)] {
        let mut files: Vec<_> = std::fs::read_dir(&sub).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rs")) {
            let name = f.file_name().unwrap().to_string_lossy();
            // macros.rs defines the tables (its `$fn`s are no methods).
            if name == "macros.rs" {
                continue;
            }
            scan(&std::fs::read_to_string(f).unwrap(), side, &mut found);
        }
    }
    collect(&found)
}

fn collect(found: &[(String, String, Side)]) -> (Methods, Methods) {
    let (mut blocking, mut asynchronous) = (Methods::new(), Methods::new());
    for (ty, name, side) in found {
        if !TYPES.contains(&ty.as_str()) {
            continue;
        }
        if *side != Side::Async {
            blocking.entry(ty.clone()).or_default().insert(name.clone());
        }
        if *side != Side::Blocking {
            asynchronous.entry(ty.clone()).or_default().insert(name.clone());
        }
    }
    (blocking, asynchronous)
}

/// Names on one side only, per type.
fn differences(blocking: &Methods, asynchronous: &Methods) -> Vec<String> {
    let mut out = Vec::new();
    for ty in TYPES {
        let b = blocking.get(ty).cloned().unwrap_or_default();
        let a = asynchronous.get(ty).cloned().unwrap_or_default();
        for n in b.difference(&a) {
            out.push(format!("{ty}::{n} is blocking only"));
        }
        for n in a.difference(&b) {
            out.push(format!("{ty}::{n} is async only"));
        }
    }
    out
}

#[test]
fn async_twin_has_every_blocking_method() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/virt");
    let (blocking, asynchronous) = methods(&dir);
    let diff = differences(&blocking, &asynchronous);
    assert!(diff.is_empty(), "the async twin and the blocking API differ:\n{}", diff.join("\n"));
    // The reading found the API: virt 0.5.0's methods are there (VIRT.md's table), and
    // the ones each side writes for itself.
    let count = |ty: &str| blocking.get(ty).map_or(0, BTreeSet::len);
    let total: usize = TYPES.iter().map(|t| count(t)).sum();
    eprintln!("{total} methods on both sides: {blocking:?}");
    for (ty, at_least) in [("Connect", 94), ("Domain", 91), ("StoragePool", 18), ("StorageVol", 14), ("Stream", 8)] {
        assert!(count(ty) >= at_least, "{ty}: only {} methods found", count(ty));
    }
    for (ty, name) in [
        ("Connect", "open"),
        ("Connect", "lookup_domain_by_name"),
        ("Connect", "list_all_domains"),
        ("Connect", "num_of_networks"),
        ("Connect", "list_networks_max"),
        ("Connect", "domain_event_register_any"),
        ("Connect", "domain_events"),
        ("Connect", "network_event_register_any"),
        ("Connect", "secret_event_deregister_any"),
        ("Domain", "suspend"),
        ("Domain", "is_active"),
        ("Domain", "name"),
        ("Domain", "open_graphics"),
        ("Domain", "open_graphics_fd"),
        ("StorageVol", "create_xml"),
        ("Stream", "recv_flags"),
    ] {
        assert!(blocking[ty].contains(name) && asynchronous[ty].contains(name), "{ty}::{name} not found");
    }
}

/// The reading itself: a method written in a plain `impl` of one side only is reported, one in
/// a `twin!` or a table is not, and braces in strings do not end a block.
#[test]
fn a_one_sided_method_is_reported() {
    let blocking_src = r#"
impl Domain {
    /// Only here.
    pub fn only_blocking(&self) -> Result<(), Error> {
        let _ = format!("'{}'", 1);
        Ok(())
    }
}

twin! { Connect, Domain; impl Domain {
    pub async fn both(&self) -> Result<(), Error> {
        Ok(())
    }
} }

obj_void! { Domain.dom;
    /// `virDomainSuspend`.
    suspend() = DomainSuspend(RemoteDomainSuspendArgs) "virDomainSuspend";
}
"#;
    let async_src = r#"
impl Domain {
    pub async fn only_async(&self) -> Result<(), Error> {
        Ok(())
    }
}
"#;
    let mut found = Vec::new();
    scan(blocking_src, Side::Blocking, &mut found);
    scan(async_src, Side::Async, &mut found);
    let (b, a) = collect(&found);
    assert_eq!(
        differences(&b, &a),
        ["Domain::only_blocking is blocking only", "Domain::only_async is async only"],
        "{found:?}"
    );
    assert!(b["Domain"].contains("both") && a["Domain"].contains("suspend"));
}
