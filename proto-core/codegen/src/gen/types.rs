//! The Rust form of the `.x` types: enums as newtypes over the wire `int`, structs, unions
//! as Rust enums, each with its codec, its proptest strategy and its bound probes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::ast::{Decl, DeclType, EnumDef, NamedDecl, StructDef, TypeSpec, UnionDef, Value};

use super::arbitrary::{nest, probes_of, strat, ArbType, Probe};
use super::codec::{dec, enc};
use super::config::LIBVIRT_VERSION;
use super::docs::{describe, doc_lines};
use super::model::Module;
use super::names::{camel, case_variant_names, field_name, proc_type_name};
use super::resolve::{Ctx, Shape, TypeDef};
use super::{err, GenError};

pub(super) fn gen_enum(
    ctx: &Ctx<'_>,
    body: &mut String,
    module: &'static str,
    fname: &str,
    e: &EnumDef,
    is_procedure_enum: bool,
) -> Result<(), GenError> {
    let ty = camel(&e.name);
    let mut vals = Vec::new();
    for mem in &e.members {
        let v = ctx.value(module, &mem.value)?;
        let v = i32::try_from(v).map_err(|_| GenError(format!("{}: {} out of range", e.name, mem.name)))?;
        vals.push((mem.name.clone(), v));
    }
    if is_procedure_enum {
        for (n, v) in &vals {
            let _ = writeln!(
                body,
                "/// Procedure number of `{n}`; its typed form is [`{}`].\npub const {n}: i32 = {v};",
                proc_type_name(n)
            );
        }
    }
    let _ = writeln!(
        body,
        "/// libvirt's `{}` (enum in `{fname}`), as a newtype over the wire `int` so values a newer\n/// libvirt adds still round-trip.\n#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]\npub struct {ty}(pub i32);\n",
        e.name
    );
    let _ = writeln!(body, "impl {ty} {{");
    for (n, v) in &vals {
        let _ = writeln!(body, "/// `{n}` = {v}.\npub const {n}: Self = Self({v});");
    }
    let _ = writeln!(body, "\n/// libvirt's name for this value, if {LIBVIRT_VERSION} defines one.\n#[must_use]\npub const fn name(self) -> Option<&'static str> {{\nmatch self.0 {{");
    let mut seen = BTreeSet::new();
    for (n, v) in &vals {
        if seen.insert(*v) {
            let _ = writeln!(body, "{v} => Some(\"{n}\"),");
        }
    }
    let _ = writeln!(body, "_ => None,\n}}\n}}\n");
    let _ = writeln!(body, "/// The value for a libvirt name.\n#[must_use]\npub fn from_name(name: &str) -> Option<Self> {{\nmatch name {{");
    for (n, _) in &vals {
        let _ = writeln!(body, "\"{n}\" => Some(Self::{n}),");
    }
    let _ = writeln!(body, "_ => None,\n}}\n}}\n}}\n");
    let _ = writeln!(
        body,
        "impl std::fmt::Debug for {ty} {{\nfn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\nmatch self.name() {{\nSome(n) => write!(f, \"{{n}}({{}})\", self.0),\nNone => write!(f, \"{ty}({{}})\", self.0),\n}}\n}}\n}}\n"
    );
    let _ = writeln!(
        body,
        "impl XdrEncode for {ty} {{\nfn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {{\nself.0.encode(out)\n}}\n}}\n"
    );
    let _ = writeln!(
        body,
        "impl XdrDecode for {ty} {{\nfn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {{\nr.i32().map(Self)\n}}\n}}\n"
    );
    Ok(())
}

fn role_doc(ctx: &Ctx<'_>, name: &str) -> String {
    match ctx.roles.get(name) {
        Some((_, p, "args")) => format!("The arguments of [`{}`] (`{p}`).", proc_type_name(p)),
        Some((_, p, "ret")) => format!("The reply of [`{}`] (`{p}`).", proc_type_name(p)),
        Some((_, p, _)) => format!("The body of the event message [`{}`] (`{p}`).", proc_type_name(p)),
        None => String::new(),
    }
}

pub(super) fn gen_struct(
    ctx: &Ctx<'_>,
    body: &mut String,
    m: &Module,
    fname: &str,
    s: &StructDef,
) -> Result<ArbType, GenError> {
    let module = m.cfg.module;
    let ty = camel(&s.name);
    let mut shapes = Vec::new();
    let mut names = BTreeSet::new();
    for f in &s.fields {
        let shape = ctx.decl_shape(module, &f.ty, Some(&s.name))?;
        let fname_r = field_name(&f.name);
        if !names.insert(fname_r.clone()) {
            return err(format!("{}: two fields named {fname_r}", s.name));
        }
        shapes.push((f, fname_r, shape));
    }
    let float = shapes.iter().any(|(_, _, sh)| ctx.has_float(sh));
    let default = shapes.iter().all(|(_, _, sh)| ctx.defaultable(sh));
    let mut derives = vec!["Debug", "Clone", "PartialEq"];
    if !float {
        derives.push("Eq");
    }
    if default {
        derives.push("Default");
    }
    let role = role_doc(ctx, &s.name);
    doc_lines(
        body,
        &format!(
            "libvirt's `{}` (struct in `{fname}`).{}",
            s.name,
            if role.is_empty() { String::new() } else { format!("\n\n{role}") }
        ),
    );
    let _ = writeln!(body, "#[derive({})]\npub struct {ty} {{", derives.join(", "));
    for (f, rname, _) in &shapes {
        let _ = writeln!(
            body,
            "/// `{}`: {}.\npub {rname}: {},",
            f.name,
            describe(ctx, module, &f.ty)?,
            ctx.decl_rust(module, &f.ty, Some(&s.name))?
        );
    }
    let _ = writeln!(body, "}}\n");
    let _ = writeln!(
        body,
        "impl XdrEncode for {ty} {{\nfn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {{"
    );
    for (_, rname, sh) in &shapes {
        let _ = writeln!(body, "{}", enc(sh, &format!("&self.{rname}"), 0));
    }
    let _ = writeln!(body, "Ok(())\n}}\n}}\n");
    let _ = writeln!(
        body,
        "impl XdrDecode for {ty} {{\nfn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {{\nOk(Self {{"
    );
    for (_, rname, sh) in &shapes {
        let _ = writeln!(body, "{rname}: {}?,", dec(sh));
    }
    let _ = writeln!(body, "}})\n}}\n}}\n");

    // Strategy and bound probes.
    let strategies: Vec<String> = shapes.iter().map(|(_, _, sh)| strat(sh)).collect();
    let vars: Vec<String> = (0..shapes.len()).map(|i| format!("f{i}")).collect();
    let (tuple, pat) = nest(&strategies, &vars);
    let fields: Vec<String> = shapes.iter().zip(&vars).map(|((_, n, _), v)| format!("{n}: {v}")).collect();
    let strategy = format!("{tuple}.prop_map(|{pat}| {ty} {{ {} }}).boxed()", fields.join(", "));
    let mut probes = Vec::new();
    for (i, (f, rname, sh)) in shapes.iter().enumerate() {
        let mut prefix = String::new();
        for (_, pn, psh) in &shapes[..i] {
            prefix.push_str(&enc(psh, &format!("&v.{pn}"), 0));
            prefix.push('\n');
        }
        for (p, max) in probes_of(sh) {
            probes.push(Probe {
                what: format!("field `{}`{}", f.name, p.0),
                prefix: format!("{prefix}{}", p.1),
                max_expr: max,
            });
        }
        let _ = rname;
    }
    let needs_sample = probes.iter().any(|p| p.prefix.contains("v."));
    Ok(ArbType { xname: s.name.clone(), rust: ty, module: m.cfg.module, strategy, probes, needs_sample })
}

pub(super) fn gen_union(
    ctx: &Ctx<'_>,
    body: &mut String,
    m: &Module,
    fname: &str,
    u: &UnionDef,
) -> Result<ArbType, GenError> {
    let module = m.cfg.module;
    let ty = camel(&u.name);
    let (put, read, disc_rust) = match &u.discriminant.ty {
        DeclType::Plain(TypeSpec::Int) => ("put_i32", "r.i32()?", "i32"),
        DeclType::Plain(TypeSpec::UInt) => ("put_u32", "r.u32()?", "u32"),
        DeclType::Plain(TypeSpec::Named(n)) => match ctx.lookup_type(module, n)? {
            (_, TypeDef::Enum(_)) => ("put_i32", "r.i32()?", "i32"),
            _ => return err(format!("{}: unsupported discriminant type", u.name)),
        },
        _ => return err(format!("{}: unsupported discriminant type", u.name)),
    };
    struct Arm {
        variant: String,
        label: String,
        value: i64,
        decl: Option<(NamedDecl, Shape, String)>,
    }
    let mut labels = Vec::new();
    let mut arms = Vec::new();
    for a in &u.arms {
        for c in &a.cases {
            let label = match c {
                Value::Num(n) => n.to_string(),
                Value::Ident(id) => id.clone(),
            };
            let value = ctx.value(module, c)?;
            let decl = match &a.decl {
                Decl::Void => None,
                Decl::Named(nd) => Some((
                    nd.clone(),
                    ctx.decl_shape(module, &nd.ty, Some(&u.name))?,
                    ctx.decl_rust(module, &nd.ty, Some(&u.name))?,
                )),
            };
            labels.push(label.clone());
            arms.push(Arm { variant: String::new(), label, value, decl });
        }
    }
    for (a, v) in arms.iter_mut().zip(case_variant_names(&labels)) {
        a.variant = v;
    }
    let default = match &u.default {
        None => None,
        Some(Decl::Void) => Some(None),
        Some(Decl::Named(nd)) => Some(Some((
            nd.clone(),
            ctx.decl_shape(module, &nd.ty, Some(&u.name))?,
            ctx.decl_rust(module, &nd.ty, Some(&u.name))?,
        ))),
    };
    let float =
        arms.iter().filter_map(|a| a.decl.as_ref()).chain(default.iter().flatten()).any(|(_, sh, _)| ctx.has_float(sh));
    let mut derives = vec!["Debug", "Clone", "PartialEq"];
    if !float {
        derives.push("Eq");
    }
    doc_lines(
        body,
        &format!(
            "libvirt's `{}` (union in `{fname}`), switched on `{}`; each variant is one `case`.",
            u.name, u.discriminant.name
        ),
    );
    let _ = writeln!(body, "#[derive({})]\npub enum {ty} {{", derives.join(", "));
    for a in &arms {
        match &a.decl {
            None => {
                let _ = writeln!(body, "/// `case {}` ({}): no data.\n{},", a.label, a.value, a.variant);
            }
            Some((nd, _, rust)) => {
                let _ = writeln!(
                    body,
                    "/// `case {}` ({}): `{}`, {}.\n{}({rust}),",
                    a.label,
                    a.value,
                    nd.name,
                    describe(ctx, module, &nd.ty)?,
                    a.variant
                );
            }
        }
    }
    match &default {
        None => {}
        Some(None) => {
            let _ = writeln!(body, "/// `default`: any other discriminant, no data.\nDefault({disc_rust}),");
        }
        Some(Some((nd, _, rust))) => {
            let _ = writeln!(
                body,
                "/// `default`: any other discriminant with `{}`, {}.\nDefault({disc_rust}, {rust}),",
                nd.name,
                describe(ctx, module, &nd.ty)?
            );
        }
    }
    let _ = writeln!(body, "}}\n");
    let _ = writeln!(
        body,
        "impl XdrEncode for {ty} {{\nfn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {{\nmatch self {{"
    );
    for a in &arms {
        match &a.decl {
            None => {
                let _ = writeln!(body, "Self::{} => {put}(out, {}),", a.variant, a.value);
            }
            Some((_, sh, _)) => {
                let _ = writeln!(body, "Self::{}(v) => {{ {put}(out, {}); {} }}", a.variant, a.value, enc(sh, "v", 0));
            }
        }
    }
    match &default {
        None => {}
        Some(None) => {
            let _ = writeln!(body, "Self::Default(d) => {put}(out, *d),");
        }
        Some(Some((_, sh, _))) => {
            let _ = writeln!(body, "Self::Default(d, v) => {{ {put}(out, *d); {} }}", enc(sh, "v", 0));
        }
    }
    let _ = writeln!(body, "}}\nOk(())\n}}\n}}\n");
    let _ = writeln!(body, "impl XdrDecode for {ty} {{\nfn decode(r: &mut XdrReader) -> Result<Self, DecodeError> {{\nlet d = {read};\nOk(match d {{");
    for a in &arms {
        match &a.decl {
            None => {
                let _ = writeln!(body, "{} => Self::{},", a.value, a.variant);
            }
            Some((_, sh, _)) => {
                let _ = writeln!(body, "{} => Self::{}({}?),", a.value, a.variant, dec(sh));
            }
        }
    }
    match &default {
        None => {
            let _ = writeln!(body, "other => return Err(DecodeError {{ offset: r.offset() - 4, kind: DecodeErrorKind::InvalidDiscriminant(i64::from(other)) }}),");
        }
        Some(None) => {
            let _ = writeln!(body, "other => Self::Default(other),");
        }
        Some(Some((_, sh, _))) => {
            let _ = writeln!(body, "other => Self::Default(other, {}?),", dec(sh));
        }
    }
    let _ = writeln!(body, "}})\n}}\n}}\n");

    // Strategy: one per arm.
    let mut parts = Vec::new();
    let mut probes = Vec::new();
    for a in &arms {
        match &a.decl {
            None => parts.push(format!("Just({ty}::{}).boxed()", a.variant)),
            Some((nd, sh, _)) => {
                parts.push(format!("{}.prop_map({ty}::{}).boxed()", strat(sh), a.variant));
                for ((w, p), max) in probes_of(sh) {
                    probes.push(Probe {
                        what: format!("case {} `{}`{w}", a.label, nd.name),
                        prefix: format!("{put}(out, {});\n{p}", a.value),
                        max_expr: max,
                    });
                }
            }
        }
    }
    let listed: Vec<String> = arms.iter().map(|a| a.value.to_string()).collect();
    match &default {
        None => {}
        Some(None) => parts.push(format!(
            "any::<{disc_rust}>().prop_filter(\"listed case\", |d| ![{}].contains(d)).prop_map({ty}::Default).boxed()",
            listed.join(", ")
        )),
        Some(Some((_, sh, _))) => parts.push(format!(
            "(any::<{disc_rust}>().prop_filter(\"listed case\", |d| ![{}].contains(d)), {}).prop_map(|(d, v)| {ty}::Default(d, v)).boxed()",
            listed.join(", "),
            strat(sh)
        )),
    }
    let strategy = format!("proptest::strategy::Union::new(vec![{}]).boxed()", parts.join(", "));
    Ok(ArbType { xname: u.name.clone(), rust: ty, module: m.cfg.module, strategy, probes, needs_sample: false })
}
