//! Doc text of generated items: a declaration in words, and doc-comment lines.

use std::fmt::Write as _;

use crate::ast::{DeclType, TypeSpec};

use super::resolve::Ctx;
use super::GenError;

pub(super) fn describe(ctx: &Ctx<'_>, module: &'static str, d: &DeclType) -> Result<String, GenError> {
    let spec = |t: &TypeSpec| -> String {
        match t {
            TypeSpec::Int => "`int`".into(),
            TypeSpec::UInt => "`unsigned int`".into(),
            TypeSpec::Hyper => "`hyper`".into(),
            TypeSpec::UHyper => "`unsigned hyper`".into(),
            TypeSpec::Char => "`char` (4 bytes on the wire)".into(),
            TypeSpec::UChar => "`unsigned char` (4 bytes on the wire)".into(),
            TypeSpec::Short => "`short` (4 bytes on the wire)".into(),
            TypeSpec::UShort => "`unsigned short` (4 bytes on the wire)".into(),
            TypeSpec::Float => "`float`".into(),
            TypeSpec::Double => "`double`".into(),
            TypeSpec::Bool => "`bool`".into(),
            TypeSpec::Named(n) => format!("`{n}`"),
        }
    };
    Ok(match d {
        DeclType::Plain(t) => spec(t),
        DeclType::FixedArray(t, n) => format!("exactly {} × {}", ctx.fixed_len(module, n)?, spec(t)),
        DeclType::VarArray(t, m) => format!("up to {} × {}", ctx.bound(module, m.as_ref())?.written, spec(t)),
        DeclType::FixedOpaque(n) => format!("{} opaque bytes", ctx.fixed_len(module, n)?),
        DeclType::VarOpaque(m) => format!("opaque bytes, at most {}", ctx.bound(module, m.as_ref())?.written),
        DeclType::String(m) => format!("string of at most {} bytes", ctx.bound(module, m.as_ref())?.written),
        DeclType::Optional(t) => format!("optional {}", spec(t)),
    })
}

pub(super) fn doc_lines(out: &mut String, text: &str) {
    for l in text.lines() {
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {l}");
        }
    }
}
