//! Rust names for libvirt's: types in CamelCase, fields in snake_case, procedure types, and
//! union variants.

/// `remote_nonnull_domain` / `virNetMessageHeader` → `RemoteNonnullDomain` / `VirNetMessageHeader`.
#[must_use]
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for seg in name.split('_').filter(|s| !s.is_empty()) {
        let all_upper = seg.chars().all(|c| !c.is_ascii_lowercase());
        let mut cs = seg.chars();
        if let Some(c) = cs.next() {
            out.push(c.to_ascii_uppercase());
            if all_upper {
                out.extend(cs.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(cs);
            }
        }
    }
    out
}

/// `callbackID` / `nrVirtCpu` / `pid_value` → `callback_id` / `nr_virt_cpu` / `pid_value`.
#[must_use]
pub fn snake(name: &str) -> String {
    let cs: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in cs.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = cs[i - 1];
            let next_lower = cs.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "try", "type", "unsafe", "use", "where", "while", "yield",
    "abstract", "become", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual",
];

pub(super) fn field_name(name: &str) -> String {
    let s = snake(name);
    if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

pub(super) fn proc_type_name(proc_name: &str) -> String {
    let rest = proc_name.split_once("_PROC_").map_or(proc_name, |x| x.1);
    camel(rest)
}

pub(super) fn case_variant_names(labels: &[String]) -> Vec<String> {
    // Strip the longest common `_`-separated prefix of the case labels.
    let split: Vec<Vec<&str>> = labels.iter().map(|l| l.split('_').collect()).collect();
    let mut common = 0;
    if labels.len() > 1 && labels.iter().all(|l| !l.starts_with(|c: char| c.is_ascii_digit() || c == '-')) {
        while let Some(first) = split[0].get(common) {
            if split.iter().any(|s| s.len() <= common + 1 || s[common] != *first) {
                break;
            }
            common += 1;
        }
    }
    labels
        .iter()
        .zip(&split)
        .map(|(l, s)| {
            if l.starts_with(|c: char| c.is_ascii_digit()) {
                format!("Case{l}")
            } else if let Some(n) = l.strip_prefix('-') {
                format!("CaseMinus{n}")
            } else {
                camel(&s[common..].join("_"))
            }
        })
        .collect()
}
