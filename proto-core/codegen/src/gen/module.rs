//! One generated file per `.x` file: constants, typedefs, the types, the procedures, the
//! externs it uses and exactly the imports it needs.

use std::fmt::Write as _;

use crate::ast::{Decl, Def, Value};

use super::arbitrary::{gen_arbitrary, ArbType};
use super::config::{ProgramCfg, EXTERNS};
use super::config::{DEBIAN_PACKAGE, LIBVIRT_VERSION, REGEN_COMMAND};
use super::docs::describe;
use super::model::{Model, Module};
use super::names::camel;
use super::procedures::gen_procedures;
use super::resolve::Ctx;
use super::types::{gen_enum, gen_struct, gen_union};
use super::GenError;

/// Everything the generator writes: file name → contents (not yet formatted).
#[derive(Debug, Default)]
pub struct Output {
    /// `(file name, contents)`.
    pub files: Vec<(String, String)>,
}

/// Generates every module.
///
/// # Errors
/// Unresolved names or unsupported constructs.
pub fn generate(model: &Model) -> Result<Output, GenError> {
    let ctx = Ctx::new(model)?;
    let mut output = Output::default();
    let mut arbs: Vec<ArbType> = Vec::new();
    for m in &model.modules {
        let (code, mut a) = gen_module(&ctx, m)?;
        output.files.push((format!("{}.rs", m.cfg.module), code));
        arbs.append(&mut a);
    }
    output.files.push(("arbitrary.rs".into(), gen_arbitrary(model, &arbs)));
    Ok(output)
}

#[allow(clippy::too_many_lines)]
fn gen_module(ctx: &Ctx<'_>, m: &Module) -> Result<(String, Vec<ArbType>), GenError> {
    let module = m.cfg.module;
    let fname = file_name(m.cfg);
    let mut body = String::new();
    let mut arbs = Vec::new();
    let proc_enum = m.cfg.program.as_ref().map(|p| p.procedure_enum);

    // Constants.
    for d in &m.spec.defs {
        if let Def::Const { name, value, .. } = d {
            let v = ctx.value(module, value)?;
            let (lit, ty) = fmt_const(v);
            let how = match value {
                Value::Ident(id) => format!(" (defined as `{id}`)"),
                Value::Num(_) => String::new(),
            };
            let extra = if v >= 0x1000 { format!(" = {v}") } else { String::new() };
            let _ = writeln!(body, "/// libvirt constant `{name}`{how}{extra}.\npub const {name}: {ty} = {lit};");
        }
    }

    for d in &m.spec.defs {
        match d {
            Def::Const { .. } | Def::Passthrough(_) => {}
            Def::Typedef(Decl::Void) => unreachable!(),
            Def::Typedef(Decl::Named(nd)) => {
                let rust = ctx.decl_rust(module, &nd.ty, None)?;
                let _ = writeln!(
                    body,
                    "/// libvirt's `{}` (typedef in `{fname}`): {}.\npub type {} = {rust};",
                    nd.name,
                    describe(ctx, module, &nd.ty)?,
                    camel(&nd.name)
                );
            }
            Def::Enum(e) => {
                gen_enum(ctx, &mut body, module, fname, e, proc_enum == Some(e.name.as_str()))?;
                arbs.push(ArbType {
                    xname: e.name.clone(),
                    rust: camel(&e.name),
                    module: m.cfg.module,
                    strategy: format!("any::<i32>().prop_map({}).boxed()", camel(&e.name)),
                    probes: Vec::new(),
                    needs_sample: false,
                });
            }
            Def::Struct(s) => arbs.push(gen_struct(ctx, &mut body, m, fname, s)?),
            Def::Union(u) => arbs.push(gen_union(ctx, &mut body, m, fname, u)?),
        }
    }

    if let Some(p) = &m.cfg.program {
        gen_procedures(ctx, &mut body, m, p)?;
    }

    // Externs used by this module.
    let mut externs = String::new();
    if let Some(set) = ctx.used_externs.borrow().get(module) {
        for name in set {
            let (n, v, hdr) = EXTERNS.iter().find(|e| e.0 == *name).copied().unwrap_or_default();
            let _ = writeln!(
                externs,
                "/// `{n}`, which the `.x` file uses but libvirt defines in its C header `{hdr}`.\npub const {n}: u32 = {v};"
            );
        }
    }

    let mut out = String::new();
    header(&mut out, &format!("`{}`", m.cfg.file));
    let title = match &m.cfg.program {
        Some(p) => {
            let prog = ctx.consts[p.program_const].1;
            let vers = ctx.consts[p.version_const].1;
            format!(
                "The `{module}` program (`{}` = {prog:#x}, version {vers}): the types, constants and {} procedures of libvirt's `{fname}`.",
                p.program_const,
                m.procedures.len()
            )
        }
        None => format!(
            "The types and constants of libvirt's `{fname}` (the RPC envelope).\n\nThe connection code does not use this module: `crate::frame` and `crate::error` implement the\nheader, the error payload and the stream-hole body by hand. It is generated so that tests can\ncheck those hand-written codecs against the `.x` definitions."
        ),
    };
    for l in title.lines() {
        if l.is_empty() {
            out.push_str("//!\n");
        } else {
            let _ = writeln!(out, "//! {l}");
        }
    }
    out.push_str("//!\n//! Names keep libvirt's spelling: constants and enum members verbatim, types in CamelCase\n//! (`remote_nonnull_domain` becomes `RemoteNonnullDomain`), fields in snake_case.\n");
    out.push_str("#![allow(clippy::all, clippy::pedantic, unused_imports)]\n\n");
    let all = format!("{externs}{body}");
    let mut uses = Vec::new();
    for (name, path) in [("Bytes", "bytes::Bytes"), ("BytesMut", "bytes::BytesMut")] {
        if contains_word(&all, name) {
            uses.push(path.to_owned());
        }
    }
    let xdr_items: Vec<&str> = [
        "DecodeError",
        "DecodeErrorKind",
        "EncodeError",
        "XdrDecode",
        "XdrEncode",
        "XdrReader",
        "XdrString",
        "put_opaque",
        "put_opaque_fixed",
        "put_string",
        "put_u32",
        "put_i32",
    ]
    .into_iter()
    .filter(|n| contains_word(&all, n))
    .collect();
    if !xdr_items.is_empty() {
        uses.push(format!("crate::xdr::{{{}}}", xdr_items.join(", ")));
    }
    let prog_items: Vec<&str> = ["Priority", "Procedure", "ProcedureInfo", "StreamDirection"]
        .into_iter()
        .filter(|n| contains_word(&all, n))
        .collect();
    if !prog_items.is_empty() {
        uses.push(format!("crate::program::{{{}}}", prog_items.join(", ")));
    }
    if contains_word(&all, "put_count") {
        uses.push("super::put_count".into());
    }
    for u in uses {
        let _ = writeln!(out, "use {u};");
    }
    out.push('\n');
    out.push_str(&all);
    Ok((out, arbs))
}

fn contains_word(hay: &str, w: &str) -> bool {
    let mut start = 0;
    while let Some(i) = hay[start..].find(w) {
        let a = start + i;
        let b = a + w.len();
        let before_ok = a == 0 || !hay[..a].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after_ok = !hay[b..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if before_ok && after_ok {
            return true;
        }
        start = b;
    }
    false
}

fn file_name(cfg: &ProgramCfg) -> &str {
    cfg.file.rsplit('/').next().unwrap_or(cfg.file)
}

pub(super) fn header(out: &mut String, what: &str) {
    let _ = writeln!(out, "// @generated by libvirt-codegen (proto-core/codegen) from {what}");
    let _ = writeln!(out, "// of libvirt {LIBVIRT_VERSION}, Debian source package {DEBIAN_PACKAGE}.");
    let _ = writeln!(out, "// Do not edit by hand. Regenerate with:");
    let _ = writeln!(out, "//     {REGEN_COMMAND}");
}

fn fmt_const(v: i64) -> (String, &'static str) {
    let ty = if (0..=i64::from(u32::MAX)).contains(&v) { "u32" } else { "i64" };
    let lit = if v >= 0x1000_0000 && ty == "u32" { format!("{v:#x}") } else { v.to_string() };
    (lit, ty)
}
