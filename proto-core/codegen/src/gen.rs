//! From parsed `.x` files to Rust: resolves names across files, classifies procedures from
//! their annotations, and writes one module per program plus proptest strategies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::ast::{Decl, DeclType, Def, EnumDef, NamedDecl, Spec, StructDef, TypeSpec, UnionDef, Value};
use crate::parser;

/// libvirt version and Debian source package the committed output was generated from.
pub const LIBVIRT_VERSION: &str = "9.0.0";
/// The Debian source package.
pub const DEBIAN_PACKAGE: &str = "libvirt_9.0.0-4+deb12u2";
/// How to regenerate (quoted in every generated file).
pub const REGEN_COMMAND: &str =
    "cargo run -p libvirt-codegen -- --libvirt-src <libvirt-9.0.0> --out proto-core/src/programs";

/// How one `.x` file becomes one Rust module.
#[derive(Debug)]
pub struct ProgramCfg {
    /// Path of the `.x` file inside the libvirt source tree.
    pub file: &'static str,
    /// Rust module name under `proto-core/src/programs/`.
    pub module: &'static str,
    /// Modules whose definitions this file sees (rpcgen `%#include` of their headers).
    pub deps: &'static [&'static str],
    /// The program it defines, if any.
    pub program: Option<ProgCfg>,
}

/// The program part of a [`ProgramCfg`].
#[derive(Debug)]
pub struct ProgCfg {
    /// Name of the program-number constant.
    pub program_const: &'static str,
    /// Name of the version constant.
    pub version_const: &'static str,
    /// Name of the enum listing the procedures.
    pub procedure_enum: &'static str,
    /// Prefix of each procedure name (`REMOTE_PROC_`), replaced by `type_prefix` to find the
    /// `_args`/`_ret`/`_msg` structs.
    pub proc_prefix: &'static str,
    /// See `proc_prefix`.
    pub type_prefix: &'static str,
    /// Every procedure is a one-way message (keepalive's PING and PONG travel as
    /// `VIR_NET_MESSAGE` and have no body).
    pub all_messages: bool,
}

/// The six files, in dependency order.
pub const PROGRAMS: &[ProgramCfg] = &[
    ProgramCfg { file: "src/rpc/virnetprotocol.x", module: "virnet", deps: &[], program: None },
    ProgramCfg {
        file: "src/remote/remote_protocol.x",
        module: "remote",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "REMOTE_PROGRAM",
            version_const: "REMOTE_PROTOCOL_VERSION",
            procedure_enum: "remote_procedure",
            proc_prefix: "REMOTE_PROC_",
            type_prefix: "remote_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/remote/qemu_protocol.x",
        module: "qemu",
        deps: &["remote"],
        program: Some(ProgCfg {
            program_const: "QEMU_PROGRAM",
            version_const: "QEMU_PROTOCOL_VERSION",
            procedure_enum: "qemu_procedure",
            proc_prefix: "QEMU_PROC_",
            type_prefix: "qemu_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/remote/lxc_protocol.x",
        module: "lxc",
        deps: &["remote"],
        program: Some(ProgCfg {
            program_const: "LXC_PROGRAM",
            version_const: "LXC_PROTOCOL_VERSION",
            procedure_enum: "lxc_procedure",
            proc_prefix: "LXC_PROC_",
            type_prefix: "lxc_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/admin/admin_protocol.x",
        module: "admin",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "ADMIN_PROGRAM",
            version_const: "ADMIN_PROTOCOL_VERSION",
            procedure_enum: "admin_procedure",
            proc_prefix: "ADMIN_PROC_",
            type_prefix: "admin_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/rpc/virkeepaliveprotocol.x",
        module: "keepalive",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "KEEPALIVE_PROGRAM",
            version_const: "KEEPALIVE_PROTOCOL_VERSION",
            procedure_enum: "keepalive_procedure",
            proc_prefix: "KEEPALIVE_PROC_",
            type_prefix: "keepalive_",
            all_messages: true,
        }),
    },
];

/// Constants the `.x` files use but libvirt defines in its public C headers:
/// (name, value, header).
pub const EXTERNS: &[(&str, i64, &str)] = &[
    ("VIR_UUID_BUFLEN", 16, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_MODEL_BUFLEN", 257, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_LABEL_BUFLEN", 4097, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_DOI_BUFLEN", 257, "include/libvirt/libvirt-host.h"),
    ("VIR_TYPED_PARAM_INT", 1, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_UINT", 2, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_LLONG", 3, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_ULLONG", 4, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_DOUBLE", 5, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_BOOLEAN", 6, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_STRING", 7, "include/libvirt/libvirt-common.h"),
];

/// Any failure of analysis or generation.
#[derive(Debug)]
pub struct GenError(pub String);

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenError {}

impl From<parser::SyntaxError> for GenError {
    fn from(e: parser::SyntaxError) -> Self {
        Self(e.to_string())
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, GenError> {
    Err(GenError(msg.into()))
}

/// Stream direction from `@readstream` / `@writestream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `@readstream`.
    Read,
    /// `@writestream`.
    Write,
}

/// One procedure with everything its annotations say.
#[derive(Debug, Clone)]
pub struct Proc {
    /// libvirt's name (`REMOTE_PROC_DOMAIN_GET_STATE`).
    pub name: String,
    /// The procedure number.
    pub number: i64,
    /// The arguments struct (`None`: void).
    pub args: Option<String>,
    /// The reply struct (`None`: void).
    pub ret: Option<String>,
    /// The message struct of an event.
    pub msg: Option<String>,
    /// Sent as a one-way message.
    pub is_event: bool,
    /// `@readstream` / `@writestream` with the parameter number.
    pub stream: Option<(Stream, String)>,
    /// `@sparseflag`.
    pub sparse_flag: Option<String>,
    /// `@priority: high`.
    pub high_priority: bool,
    /// `@acl` values (without `none`).
    pub acl: Vec<String>,
    /// `@aclfilter` values.
    pub acl_filter: Vec<String>,
    /// `@generate`.
    pub generate: Option<String>,
}

/// One analysed file.
#[derive(Debug)]
pub struct Module {
    /// Its configuration.
    pub cfg: &'static ProgramCfg,
    /// Its syntax tree.
    pub spec: Spec,
    /// Its procedures, in number order.
    pub procedures: Vec<Proc>,
    /// `_args`/`_ret`/`_msg` structs no procedure uses.
    pub orphans: Vec<String>,
}

/// All six files.
#[derive(Debug)]
pub struct Model {
    /// In [`PROGRAMS`] order.
    pub modules: Vec<Module>,
}

#[derive(Debug, Clone)]
enum TypeDef {
    Struct(StructDef),
    Union(UnionDef),
    Enum(EnumDef),
    Typedef(NamedDecl),
}

/// Parses the six files under `libvirt_src` and classifies their procedures.
///
/// # Errors
/// Unreadable files, syntax errors, unresolved names, inconsistent procedures.
pub fn analyze(libvirt_src: &Path) -> Result<Model, GenError> {
    let mut modules = Vec::new();
    for cfg in PROGRAMS {
        let path = libvirt_src.join(cfg.file);
        let src = std::fs::read_to_string(&path).map_err(|e| GenError(format!("{}: {e}", path.display())))?;
        let spec = parser::parse(cfg.file, &src)?;
        let (procedures, orphans) = match &cfg.program {
            Some(p) => procedures(cfg, p, &spec)?,
            None => (Vec::new(), Vec::new()),
        };
        modules.push(Module { cfg, spec, procedures, orphans });
    }
    Ok(Model { modules })
}

fn procedures(cfg: &ProgramCfg, p: &ProgCfg, spec: &Spec) -> Result<(Vec<Proc>, Vec<String>), GenError> {
    let structs: BTreeSet<&str> = spec
        .defs
        .iter()
        .filter_map(|d| match d {
            Def::Struct(s) => Some(s.name.as_str()),
            _ => None,
        })
        .collect();
    let consts = local_consts(spec);
    let Some(en) = spec.defs.iter().find_map(|d| match d {
        Def::Enum(e) if e.name == p.procedure_enum => Some(e),
        _ => None,
    }) else {
        return err(format!("{}: no enum {}", cfg.file, p.procedure_enum));
    };
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for m in &en.members {
        let Some(rest) = m.name.strip_prefix(p.proc_prefix) else {
            return err(format!("{}:{}: {} lacks the prefix {}", cfg.file, m.line, m.name, p.proc_prefix));
        };
        let number = match &m.value {
            Value::Num(n) => *n,
            Value::Ident(id) => *consts.get(id.as_str()).ok_or_else(|| GenError(format!("unknown constant {id}")))?,
        };
        let base = format!("{}{}", p.type_prefix, rest.to_ascii_lowercase());
        let find = |suffix: &str| {
            let n = format!("{base}_{suffix}");
            structs.contains(n.as_str()).then_some(n)
        };
        let (args, ret, msg) = (find("args"), find("ret"), find("msg"));
        for n in [&args, &ret, &msg].into_iter().flatten() {
            used.insert(n.clone());
        }
        if msg.is_some() && (args.is_some() || ret.is_some()) {
            return err(format!("{}: {} has both a message and call structs", cfg.file, m.name));
        }
        let is_event = msg.is_some() || p.all_messages;
        let mut proc_ = Proc {
            name: m.name.clone(),
            number,
            args,
            ret,
            msg,
            is_event,
            stream: None,
            sparse_flag: None,
            high_priority: false,
            acl: Vec::new(),
            acl_filter: Vec::new(),
            generate: None,
        };
        for (k, v) in &m.annotations {
            match k.as_str() {
                "generate" => proc_.generate = Some(v.clone()),
                "readstream" => proc_.stream = Some((Stream::Read, v.clone())),
                "writestream" => proc_.stream = Some((Stream::Write, v.clone())),
                "sparseflag" => proc_.sparse_flag = Some(v.clone()),
                "priority" => match v.as_str() {
                    "high" => proc_.high_priority = true,
                    "low" => proc_.high_priority = false,
                    other => return err(format!("{}:{}: unknown priority {other}", cfg.file, m.line)),
                },
                "acl" if v == "none" => {}
                "acl" => proc_.acl.push(v.clone()),
                "aclfilter" => proc_.acl_filter.push(v.clone()),
                other => return err(format!("{}:{}: unknown annotation @{other}", cfg.file, m.line)),
            }
        }
        out.push(proc_);
    }
    out.sort_by_key(|p| p.number);
    if out.windows(2).any(|w| w[0].number == w[1].number) {
        return err(format!("{}: duplicate procedure numbers", cfg.file));
    }
    let orphans = structs
        .iter()
        .filter(|s| (s.ends_with("_args") || s.ends_with("_ret") || s.ends_with("_msg")) && !used.contains(**s))
        .map(|s| (*s).to_owned())
        .collect();
    Ok((out, orphans))
}

fn local_consts(spec: &Spec) -> HashMap<&str, i64> {
    let mut m: HashMap<&str, i64> = EXTERNS.iter().map(|(n, v, _)| (*n, *v)).collect();
    for d in &spec.defs {
        match d {
            Def::Const { name, value: Value::Num(v), .. } => {
                m.insert(name, *v);
            }
            Def::Const { name, value: Value::Ident(id), .. } => {
                if let Some(v) = m.get(id.as_str()).copied() {
                    m.insert(name, v);
                }
            }
            Def::Enum(e) => {
                for mem in &e.members {
                    match &mem.value {
                        Value::Num(v) => {
                            m.insert(&mem.name, *v);
                        }
                        Value::Ident(id) => {
                            if let Some(v) = m.get(id.as_str()).copied() {
                                m.insert(&mem.name, v);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Names

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

fn field_name(name: &str) -> String {
    let s = snake(name);
    if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution

#[derive(Debug, Clone)]
struct Bound {
    /// Rust expression of type u32.
    expr: String,
    value: u64,
    /// How the `.x` wrote it (for docs).
    written: String,
}

#[derive(Debug, Clone)]
enum Shape {
    Prim(&'static str),
    Named { path: String, xname: String, module: String },
    Str(Bound),
    Opaque(Bound),
    OpaqueFixed(u64),
    Array(Box<Self>, Bound),
    Fixed(Box<Self>, u64),
    Opt(Box<Self>, bool),
}

struct Ctx<'m> {
    /// type name → (module, def)
    types: HashMap<String, (&'static str, TypeDef)>,
    /// const name → (module or "" for externs, value, how written)
    consts: HashMap<String, (&'static str, i64)>,
    /// module → modules visible
    visible: HashMap<&'static str, Vec<&'static str>>,
    /// externs referenced per module
    used_externs: std::cell::RefCell<BTreeMap<&'static str, BTreeSet<&'static str>>>,
    /// struct name → (module, proc name, role)
    roles: HashMap<String, (&'static str, String, &'static str)>,
    model: &'m Model,
}

impl<'m> Ctx<'m> {
    fn new(model: &'m Model) -> Result<Self, GenError> {
        let mut types = HashMap::new();
        let mut consts = HashMap::new();
        let mut visible = HashMap::new();
        let mut roles = HashMap::new();
        for (n, v, _) in EXTERNS {
            consts.insert((*n).to_owned(), ("", *v));
        }
        for m in &model.modules {
            let module = m.cfg.module;
            let mut vis = vec![module];
            vis.extend(m.cfg.deps.iter().copied());
            visible.insert(module, vis);
            for d in &m.spec.defs {
                let (name, td) = match d {
                    Def::Struct(s) => (s.name.clone(), TypeDef::Struct(s.clone())),
                    Def::Union(u) => (u.name.clone(), TypeDef::Union(u.clone())),
                    Def::Enum(e) => (e.name.clone(), TypeDef::Enum(e.clone())),
                    Def::Typedef(Decl::Named(nd)) => (nd.name.clone(), TypeDef::Typedef(nd.clone())),
                    Def::Typedef(Decl::Void) => return err(format!("{}: typedef void", m.cfg.file)),
                    Def::Const { .. } | Def::Passthrough(_) => continue,
                };
                if types.insert(name.clone(), (module, td)).is_some() {
                    return err(format!("{}: type {name} defined twice", m.cfg.file));
                }
            }
            let local = local_consts(&m.spec);
            for d in &m.spec.defs {
                match d {
                    Def::Const { name, .. } => {
                        let v = *local.get(name.as_str()).ok_or_else(|| GenError(format!("cannot resolve {name}")))?;
                        consts.insert(name.clone(), (module, v));
                    }
                    Def::Enum(e) => {
                        for mem in &e.members {
                            let v = *local
                                .get(mem.name.as_str())
                                .ok_or_else(|| GenError(format!("cannot resolve {}", mem.name)))?;
                            consts.insert(mem.name.clone(), (module, v));
                        }
                    }
                    _ => {}
                }
            }
            for p in &m.procedures {
                for (s, role) in [(&p.args, "args"), (&p.ret, "ret"), (&p.msg, "msg")] {
                    if let Some(s) = s {
                        roles.insert(s.clone(), (module, p.name.clone(), role));
                    }
                }
            }
        }
        Ok(Self { types, consts, visible, used_externs: Default::default(), roles, model })
    }

    fn lookup_type(&self, module: &'static str, name: &str) -> Result<(&'static str, &TypeDef), GenError> {
        match self.types.get(name) {
            Some((m, td)) if self.visible[module].contains(m) => Ok((m, td)),
            _ => err(format!("{module}: unknown type {name}")),
        }
    }

    /// Path of a const from `module`, and its value.
    fn const_ref(&self, module: &'static str, name: &str) -> Result<(String, i64), GenError> {
        match self.consts.get(name) {
            Some(("", v)) => {
                let ext = EXTERNS.iter().find(|e| e.0 == name).map(|e| e.0).unwrap_or_default();
                self.used_externs.borrow_mut().entry(module).or_default().insert(ext);
                Ok((name.to_owned(), *v))
            }
            Some((m, v)) if self.visible[module].contains(m) => Ok((path_in(module, m, name), *v)),
            _ => err(format!("{module}: unknown constant {name}")),
        }
    }

    fn value(&self, module: &'static str, v: &Value) -> Result<i64, GenError> {
        match v {
            Value::Num(n) => Ok(*n),
            Value::Ident(id) => self.const_ref(module, id).map(|x| x.1),
        }
    }

    fn bound(&self, module: &'static str, v: Option<&Value>) -> Result<Bound, GenError> {
        match v {
            None => Ok(Bound { expr: "u32::MAX".into(), value: u64::from(u32::MAX), written: "unbounded".into() }),
            Some(Value::Num(n)) => {
                let n = u32::try_from(*n).map_err(|_| GenError(format!("bad bound {n}")))?;
                Ok(Bound { expr: n.to_string(), value: n.into(), written: n.to_string() })
            }
            Some(Value::Ident(id)) => {
                let (path, v) = self.const_ref(module, id)?;
                let v = u32::try_from(v).map_err(|_| GenError(format!("bad bound {id}")))?;
                let is_enum_member = self.types.values().any(|(_, td)| match td {
                    TypeDef::Enum(e) => e.members.iter().any(|m| &m.name == id),
                    _ => false,
                });
                if is_enum_member {
                    return Ok(Bound { expr: v.to_string(), value: v.into(), written: format!("`{id}` ({v})") });
                }
                Ok(Bound { expr: path, value: v.into(), written: format!("`{id}` ({v})") })
            }
        }
    }

    fn fixed_len(&self, module: &'static str, v: &Value) -> Result<u64, GenError> {
        let n = self.value(module, v)?;
        u64::try_from(n).map_err(|_| GenError(format!("bad length {n}")))
    }

    fn spec_shape(&self, module: &'static str, t: &TypeSpec) -> Result<Shape, GenError> {
        Ok(match t {
            TypeSpec::Int => Shape::Prim("i32"),
            TypeSpec::UInt => Shape::Prim("u32"),
            TypeSpec::Hyper => Shape::Prim("i64"),
            TypeSpec::UHyper => Shape::Prim("u64"),
            TypeSpec::Char => Shape::Prim("i8"),
            TypeSpec::UChar => Shape::Prim("u8"),
            TypeSpec::Short => Shape::Prim("i16"),
            TypeSpec::UShort => Shape::Prim("u16"),
            TypeSpec::Double => Shape::Prim("f64"),
            TypeSpec::Bool => Shape::Prim("bool"),
            TypeSpec::Float => return err(format!("{module}: float is not supported")),
            TypeSpec::Named(n) => {
                let (m, td) = self.lookup_type(module, n)?;
                match td {
                    TypeDef::Typedef(nd) => rebase(self.decl_shape(m, &nd.ty, None)?, m, module),
                    _ => Shape::Named { path: path_in(module, m, &camel(n)), xname: n.clone(), module: m.to_owned() },
                }
            }
        })
    }

    /// `owner`: the struct/union the declaration belongs to (for boxing recursive optionals).
    fn decl_shape(&self, module: &'static str, d: &DeclType, owner: Option<&str>) -> Result<Shape, GenError> {
        Ok(match d {
            DeclType::Plain(t) => self.spec_shape(module, t)?,
            DeclType::FixedArray(t, n) => {
                Shape::Fixed(Box::new(self.spec_shape(module, t)?), self.fixed_len(module, n)?)
            }
            DeclType::VarArray(t, m) => {
                Shape::Array(Box::new(self.spec_shape(module, t)?), self.bound(module, m.as_ref())?)
            }
            DeclType::FixedOpaque(n) => Shape::OpaqueFixed(self.fixed_len(module, n)?),
            DeclType::VarOpaque(m) => Shape::Opaque(self.bound(module, m.as_ref())?),
            DeclType::String(m) => Shape::Str(self.bound(module, m.as_ref())?),
            DeclType::Optional(t) => {
                let inner = self.spec_shape(module, t)?;
                let boxed = match (&inner, owner) {
                    (Shape::Named { xname, .. }, Some(o)) => self.reaches(xname, o, &mut BTreeSet::new()),
                    _ => false,
                };
                Shape::Opt(Box::new(inner), boxed)
            }
        })
    }

    /// Whether type `from` contains type `to` (directly or through other types).
    fn reaches(&self, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        if from == to {
            return true;
        }
        if !seen.insert(from.to_owned()) {
            return false;
        }
        let Some((_, td)) = self.types.get(from) else { return false };
        let decls: Vec<&DeclType> = match td {
            TypeDef::Struct(s) => s.fields.iter().map(|f| &f.ty).collect(),
            TypeDef::Union(u) => u
                .arms
                .iter()
                .map(|a| &a.decl)
                .chain(u.default.iter())
                .filter_map(|d| match d {
                    Decl::Named(nd) => Some(&nd.ty),
                    Decl::Void => None,
                })
                .collect(),
            TypeDef::Typedef(nd) => vec![&nd.ty],
            TypeDef::Enum(_) => vec![],
        };
        decls.into_iter().any(|d| {
            let (DeclType::Plain(t) | DeclType::FixedArray(t, _) | DeclType::VarArray(t, _) | DeclType::Optional(t)) =
                d
            else {
                return false;
            };
            match t {
                TypeSpec::Named(n) => self.reaches(n, to, seen),
                _ => false,
            }
        })
    }

    /// The Rust type of a type specifier (typedef names kept as aliases).
    fn spec_rust(&self, module: &'static str, t: &TypeSpec) -> Result<String, GenError> {
        Ok(match t {
            TypeSpec::Named(n) => {
                let (m, _) = self.lookup_type(module, n)?;
                path_in(module, m, &camel(n))
            }
            other => match self.spec_shape(module, other)? {
                Shape::Prim(p) => p.to_owned(),
                _ => unreachable!(),
            },
        })
    }

    fn decl_rust(&self, module: &'static str, d: &DeclType, owner: Option<&str>) -> Result<String, GenError> {
        Ok(match d {
            DeclType::Plain(t) => self.spec_rust(module, t)?,
            DeclType::FixedArray(t, n) => format!("[{}; {}]", self.spec_rust(module, t)?, self.fixed_len(module, n)?),
            DeclType::VarArray(t, _) => format!("Vec<{}>", self.spec_rust(module, t)?),
            DeclType::FixedOpaque(n) => format!("[u8; {}]", self.fixed_len(module, n)?),
            DeclType::VarOpaque(_) => "Bytes".into(),
            DeclType::String(_) => "XdrString".into(),
            DeclType::Optional(t) => {
                let inner = self.spec_rust(module, t)?;
                match self.decl_shape(module, d, owner)? {
                    Shape::Opt(_, true) => format!("Option<Box<{inner}>>"),
                    _ => format!("Option<{inner}>"),
                }
            }
        })
    }

    /// Does the type hold a float (no `Eq`)?
    fn has_float(&self, shape: &Shape) -> bool {
        match shape {
            Shape::Prim(p) => *p == "f64",
            Shape::Named { xname, .. } => self.named_has_float(xname, &mut BTreeSet::new()),
            Shape::Str(_) | Shape::Opaque(_) | Shape::OpaqueFixed(_) => false,
            Shape::Array(e, _) | Shape::Fixed(e, _) | Shape::Opt(e, _) => self.has_float(e),
        }
    }

    fn named_has_float(&self, name: &str, seen: &mut BTreeSet<String>) -> bool {
        if !seen.insert(name.to_owned()) {
            return false;
        }
        let Some((m, td)) = self.types.get(name) else { return false };
        self.decls_of(td).iter().any(|d| {
            self.decl_shape(m, d, None).is_ok_and(|s| match &s {
                Shape::Named { xname, .. } => self.named_has_float(xname, seen),
                other => self.has_float(other),
            })
        })
    }

    fn decls_of(&self, td: &TypeDef) -> Vec<DeclType> {
        match td {
            TypeDef::Struct(s) => s.fields.iter().map(|f| f.ty.clone()).collect(),
            TypeDef::Union(u) => u
                .arms
                .iter()
                .map(|a| &a.decl)
                .chain(u.default.iter())
                .filter_map(|d| match d {
                    Decl::Named(nd) => Some(nd.ty.clone()),
                    Decl::Void => None,
                })
                .collect(),
            TypeDef::Typedef(nd) => vec![nd.ty.clone()],
            TypeDef::Enum(_) => vec![],
        }
    }

    /// Can the Rust type derive `Default`?
    fn defaultable(&self, shape: &Shape) -> bool {
        match shape {
            Shape::Prim(_) | Shape::Str(_) | Shape::Opaque(_) | Shape::Array(..) | Shape::Opt(..) => true,
            Shape::OpaqueFixed(n) => *n <= 32,
            Shape::Fixed(e, n) => *n <= 32 && self.defaultable(e),
            Shape::Named { xname, module, .. } => match self.types.get(xname) {
                Some((_, TypeDef::Enum(_))) => true,
                Some((_, TypeDef::Union(_))) | None => false,
                Some((_, TypeDef::Struct(s))) => {
                    let m: &'static str = self.static_module(module);
                    s.fields
                        .iter()
                        .all(|f| self.decl_shape(m, &f.ty, Some(&s.name)).is_ok_and(|sh| self.defaultable(&sh)))
                }
                Some((_, TypeDef::Typedef(_))) => false,
            },
        }
    }

    fn static_module(&self, m: &str) -> &'static str {
        self.model.modules.iter().find(|x| x.cfg.module == m).map_or("", |x| x.cfg.module)
    }
}

/// Makes the paths of a shape resolved in module `def` valid in module `from`.
fn rebase(shape: Shape, def: &str, from: &str) -> Shape {
    if def == from {
        return shape;
    }
    let fix = |p: String| {
        if p.contains("::") || p.starts_with(|c: char| c.is_ascii_digit()) {
            p
        } else {
            format!("crate::programs::{def}::{p}")
        }
    };
    let fixb = |b: Bound| Bound { expr: fix(b.expr), ..b };
    match shape {
        Shape::Prim(p) => Shape::Prim(p),
        Shape::Named { path, xname, module } => Shape::Named { path: fix(path), xname, module },
        Shape::Str(b) => Shape::Str(fixb(b)),
        Shape::Opaque(b) => Shape::Opaque(fixb(b)),
        Shape::OpaqueFixed(n) => Shape::OpaqueFixed(n),
        Shape::Array(e, b) => Shape::Array(Box::new(rebase(*e, def, from)), fixb(b)),
        Shape::Fixed(e, n) => Shape::Fixed(Box::new(rebase(*e, def, from)), n),
        Shape::Opt(e, boxed) => Shape::Opt(Box::new(rebase(*e, def, from)), boxed),
    }
}

fn path_in(from: &str, def: &str, item: &str) -> String {
    if from == def {
        item.to_owned()
    } else {
        format!("crate::programs::{def}::{item}")
    }
}

// ---------------------------------------------------------------------------------------------
// Code snippets

fn prim_reader(p: &str) -> &'static str {
    match p {
        "i32" => "i32",
        "u32" => "u32",
        "i64" => "i64",
        "u64" => "u64",
        "f64" => "f64",
        "i8" => "char",
        "u8" => "uchar",
        "i16" => "short",
        "u16" => "ushort",
        "bool" => "bool",
        _ => unreachable!("{p}"),
    }
}

/// `e` (an expression of type `&T`) as a method-call receiver.
fn recv(e: &str) -> String {
    match e.strip_prefix('&') {
        Some(rest) if rest.starts_with('*') => format!("({rest})"),
        Some(rest) => rest.to_owned(),
        None => e.to_owned(),
    }
}

/// Statements that encode `e` (an expression of type `&T`) into `out`.
fn enc(shape: &Shape, e: &str, depth: usize) -> String {
    let re = recv(e);
    match shape {
        Shape::Prim(_) | Shape::Named { .. } => format!("XdrEncode::encode({e}, out)?;"),
        Shape::Str(b) => format!("put_string(out, {re}.as_bytes(), {})?;", b.expr),
        Shape::Opaque(b) => format!("put_opaque(out, {e}, {})?;", b.expr),
        Shape::OpaqueFixed(_) => format!("put_opaque_fixed(out, {e});"),
        Shape::Array(el, b) => {
            let x = format!("x{depth}");
            format!("put_count(out, {re}.len(), {})?; for {x} in {re}.iter() {{ {} }}", b.expr, enc(el, &x, depth + 1))
        }
        Shape::Fixed(el, _) => {
            let x = format!("x{depth}");
            format!("for {x} in {re}.iter() {{ {} }}", enc(el, &x, depth + 1))
        }
        Shape::Opt(inner, boxed) => {
            let x = format!("x{depth}");
            let inner_e = if *boxed { format!("&**{x}") } else { x.clone() };
            format!(
                "match {e} {{ None => put_u32(out, 0), Some({x}) => {{ put_u32(out, 1); {} }} }}",
                enc(inner, &inner_e, depth + 1)
            )
        }
    }
}

/// An expression of type `Result<T, DecodeError>` reading from `r`.
fn dec(shape: &Shape) -> String {
    match shape {
        Shape::Prim(p) => format!("r.{}()", prim_reader(p)),
        Shape::Named { path, .. } => format!("{path}::decode(r)"),
        Shape::Str(b) => format!("r.string({})", b.expr),
        Shape::Opaque(b) => format!("r.opaque({})", b.expr),
        Shape::OpaqueFixed(_) => "r.opaque_fixed()".into(),
        Shape::Array(el, b) => format!("r.array_with({}, {})", b.expr, dec_fn(el)),
        Shape::Fixed(el, _) => format!("r.array_fixed_with({})", dec_fn(el)),
        Shape::Opt(inner, boxed) => {
            if *boxed {
                format!("r.optional_with(|r| {}.map(Box::new))", dec(inner))
            } else {
                format!("r.optional_with({})", dec_fn(inner))
            }
        }
    }
}

/// A callable `FnMut(&mut XdrReader) -> Result<T, DecodeError>`.
fn dec_fn(shape: &Shape) -> String {
    match shape {
        Shape::Prim(p) => format!("XdrReader::{}", prim_reader(p)),
        Shape::Named { path, .. } => format!("{path}::decode"),
        Shape::OpaqueFixed(_) => "XdrReader::opaque_fixed".into(),
        other => format!("|r| {}", dec(other)),
    }
}

fn describe(ctx: &Ctx<'_>, module: &'static str, d: &DeclType) -> Result<String, GenError> {
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

fn file_name(cfg: &ProgramCfg) -> &str {
    cfg.file.rsplit('/').next().unwrap_or(cfg.file)
}

fn header(out: &mut String, what: &str) {
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

fn doc_lines(out: &mut String, text: &str) {
    for l in text.lines() {
        if l.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {l}");
        }
    }
}

fn case_variant_names(labels: &[String]) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------------
// Module generation

/// Everything the generator writes: file name → contents (not yet formatted).
#[derive(Debug, Default)]
pub struct Output {
    /// `(file name, contents)`.
    pub files: Vec<(String, String)>,
}

struct ArbType {
    xname: String,
    rust: String,
    module: &'static str,
    /// strategy function body
    strategy: String,
    /// bound probes: (description, code producing `out`, max expr, max value)
    probes: Vec<Probe>,
    needs_sample: bool,
}

struct Probe {
    what: String,
    /// statements writing the prefix into `out` (may use `v` and `?`)
    prefix: String,
    max_expr: String,
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

fn gen_enum(
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

fn proc_type_name(proc_name: &str) -> String {
    let rest = proc_name.split_once("_PROC_").map_or(proc_name, |x| x.1);
    camel(rest)
}

fn role_doc(ctx: &Ctx<'_>, name: &str) -> String {
    match ctx.roles.get(name) {
        Some((_, p, "args")) => format!("The arguments of [`{}`] (`{p}`).", proc_type_name(p)),
        Some((_, p, "ret")) => format!("The reply of [`{}`] (`{p}`).", proc_type_name(p)),
        Some((_, p, _)) => format!("The body of the event message [`{}`] (`{p}`).", proc_type_name(p)),
        None => String::new(),
    }
}

fn gen_struct(ctx: &Ctx<'_>, body: &mut String, m: &Module, fname: &str, s: &StructDef) -> Result<ArbType, GenError> {
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

/// For a shape: every declared bound inside it, as (what, prefix statements, max expression).
fn probes_of(shape: &Shape) -> Vec<((String, String), String)> {
    let mut out = Vec::new();
    match shape {
        Shape::Str(b) | Shape::Opaque(b) if b.value < u64::from(u32::MAX) => {
            out.push(((String::new(), String::new()), b.expr.clone()));
        }
        Shape::Array(el, b) => {
            if b.value < u64::from(u32::MAX) {
                out.push(((String::new(), String::new()), b.expr.clone()));
            }
            if b.value >= 1 {
                for ((w, p), m) in probes_of(el) {
                    out.push(((format!(" (element{w})"), format!("put_u32(out, 1);\n{p}")), m));
                }
            }
        }
        Shape::Fixed(el, n) if *n >= 1 => {
            for ((w, p), m) in probes_of(el) {
                out.push(((format!(" (first element{w})"), p), m));
            }
        }
        Shape::Opt(inner, _) => {
            for ((w, p), m) in probes_of(inner) {
                out.push(((format!(" (present{w})"), format!("put_u32(out, 1);\n{p}")), m));
            }
        }
        _ => {}
    }
    out
}

/// Nests strategies into tuples of at most 10 and returns (strategy tuple, pattern).
fn nest(items: &[String], vars: &[String]) -> (String, String) {
    if items.len() <= 10 {
        return (format!("({},)", items.join(", ")), format!("({},)", vars.join(", ")));
    }
    let mut ts = Vec::new();
    let mut ps = Vec::new();
    for (chunk, vchunk) in items.chunks(10).zip(vars.chunks(10)) {
        let (t, p) = nest(chunk, vchunk);
        ts.push(t);
        ps.push(p);
    }
    nest(&ts, &ps)
}

/// A proptest strategy expression for a shape (small sizes).
fn strat(shape: &Shape) -> String {
    match shape {
        Shape::Prim("f64") => "any::<i32>().prop_map(f64::from)".into(),
        Shape::Prim(p) => format!("any::<{p}>()"),
        Shape::Named { xname, module, .. } => format!("crate::programs::arbitrary::{module}::{}()", snake(xname)),
        Shape::Str(b) => format!("arb_string({})", b.value.min(8)),
        Shape::Opaque(b) => format!("arb_bytes({})", b.value.min(8)),
        Shape::OpaqueFixed(n) => format!("arb_fixed_bytes::<{n}>()"),
        Shape::Array(el, b) => format!("proptest::collection::vec({}, 0..={})", strat(el), b.value.min(3)),
        Shape::Fixed(el, n) => format!("arb_array::<_, {n}>({})", strat(el)),
        Shape::Opt(inner, boxed) => {
            if *boxed {
                format!("proptest::option::of({}).prop_map(|o| o.map(Box::new))", strat(inner))
            } else {
                format!("proptest::option::of({})", strat(inner))
            }
        }
    }
}

fn gen_union(ctx: &Ctx<'_>, body: &mut String, m: &Module, fname: &str, u: &UnionDef) -> Result<ArbType, GenError> {
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

#[allow(clippy::too_many_lines)]
fn gen_procedures(ctx: &Ctx<'_>, body: &mut String, m: &Module, p: &ProgCfg) -> Result<(), GenError> {
    let module = m.cfg.module;
    let ty_of = |s: &Option<String>| s.as_ref().map_or_else(|| "()".to_owned(), |n| camel(n));
    let mut table = String::new();
    let mut decode_args = String::new();
    for pr in &m.procedures {
        let name = proc_type_name(&pr.name);
        if !pr.is_event {
            let _ = writeln!(decode_args, "{} => <{name} as Procedure>::Args::decode(r).map(drop),", pr.name);
        }
        let (args, ret) =
            if pr.is_event { ("()".to_owned(), ty_of(&pr.msg)) } else { (ty_of(&pr.args), ty_of(&pr.ret)) };
        let stream = match &pr.stream {
            None => "StreamDirection::None",
            Some((Stream::Read, _)) => "StreamDirection::Read",
            Some((Stream::Write, _)) => "StreamDirection::Write",
        };
        let prio = if pr.high_priority { "Priority::High" } else { "Priority::Low" };
        let sparse = pr.sparse_flag.as_ref().map_or_else(|| "None".to_owned(), |s| format!("Some(\"{s}\")"));
        let acl = format!("&[{}]", pr.acl.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", "));
        let acl_filter =
            format!("&[{}]", pr.acl_filter.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", "));
        let mut doc = format!("`{}` ({}) of `{}`", pr.name, pr.number, p.program_const);
        if pr.is_event {
            match &pr.msg {
                Some(msg) => {
                    let _ = write!(doc, ": an event message from the server, body [`{}`] (`{msg}`).", camel(msg));
                }
                None => doc.push_str(": a one-way message with no body."),
            }
        } else {
            let a = pr
                .args
                .as_ref()
                .map_or_else(|| "no arguments".to_owned(), |n| format!("arguments [`{}`] (`{n}`)", camel(n)));
            let r = pr
                .ret
                .as_ref()
                .map_or_else(|| "an empty reply".to_owned(), |n| format!("reply [`{}`] (`{n}`)", camel(n)));
            let _ = write!(doc, ": a call with {a} and {r}.");
        }
        let mut notes = Vec::new();
        if let Some((dir, param)) = &pr.stream {
            notes.push(format!(
                "Opens a stream ({}, parameter {param}).",
                if *dir == Stream::Read { "data flows from the server" } else { "data flows to the server" }
            ));
        }
        if let Some(s) = &pr.sparse_flag {
            notes.push(format!("Sparse streams are requested with `{s}`."));
        }
        notes.push(format!("Priority: {}.", if pr.high_priority { "high" } else { "low" }));
        if !pr.acl.is_empty() {
            notes.push(format!(
                "Access control: {}.",
                pr.acl.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        if !pr.acl_filter.is_empty() {
            notes.push(format!(
                "Results filtered by: {}.",
                pr.acl_filter.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        doc_lines(body, &format!("{doc}\n\n{}", notes.join(" ")));
        let _ = writeln!(body, "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]\npub struct {name};\n");
        let _ = writeln!(
            body,
            "impl Procedure for {name} {{\nconst PROGRAM: u32 = {};\nconst VERSION: u32 = {};\nconst NUMBER: i32 = {};\nconst NAME: &'static str = \"{}\";\ntype Args = {args};\ntype Ret = {ret};\nconst IS_EVENT: bool = {};\nconst STREAM: StreamDirection = {stream};\nconst SPARSE_FLAG: Option<&'static str> = {sparse};\nconst PRIORITY: Priority = {prio};\nconst ACL: &'static [&'static str] = {acl};\n}}\n",
            p.program_const, p.version_const, pr.name, pr.name, pr.is_event
        );
        let xargs = if pr.is_event { None } else { pr.args.clone() };
        let xret = if pr.is_event { pr.msg.clone() } else { pr.ret.clone() };
        let _ = writeln!(
            table,
            "ProcedureInfo {{ program: {}, version: {}, number: {}, name: \"{}\", is_event: {}, stream: {stream}, sparse_flag: {sparse}, priority: {prio}, acl: {acl}, acl_filter: {acl_filter}, args: \"{}\", ret: \"{}\" }},",
            p.program_const,
            p.version_const,
            pr.name,
            pr.name,
            pr.is_event,
            xargs.as_deref().unwrap_or("void"),
            xret.as_deref().unwrap_or("void"),
        );
    }
    // Every event with a body, as one typed value decoded by procedure number.
    let events: Vec<&Proc> = m.procedures.iter().filter(|pr| pr.is_event && pr.msg.is_some()).collect();
    if !events.is_empty() {
        let mut variants = String::new();
        let mut decode = String::new();
        let mut number = String::new();
        let mut callback = String::new();
        for pr in &events {
            let v = proc_type_name(&pr.name);
            let msg = camel(pr.msg.as_deref().unwrap_or_default());
            let _ = writeln!(variants, "/// `{}` ({}), body [`{msg}`].\n{v}({msg}),", pr.name, pr.number);
            let _ = writeln!(decode, "{} => crate::xdr::from_bytes(body).map(Self::{v}),", pr.name);
            let _ = writeln!(number, "Self::{v}(_) => {},", pr.name);
            // Callback-style events start with the id the client's registration returned.
            let first = match ctx.lookup_type(module, pr.msg.as_deref().unwrap_or_default()) {
                Ok((_, TypeDef::Struct(sd))) => sd.fields.first().map(|f| f.name.clone()),
                _ => None,
            };
            if first.as_deref() == Some("callbackID") {
                let _ = writeln!(callback, "Self::{v}(m) => Some(m.callback_id),");
            }
        }
        let _ = writeln!(
            body,
            "/// An event message of `{prog}` (a `VIR_NET_MESSAGE` the server sends), decoded by its\n/// procedure number into its typed body. Every event libvirt {LIBVIRT_VERSION} defines for this\n/// program has a variant.\n#[derive(Debug, Clone, PartialEq)]\n#[non_exhaustive]\npub enum Event {{\n{variants}}}\n\nimpl Event {{\n/// Decodes the body of the event with procedure number `proc_`; `None` when `proc_` is not an\n/// event of `{prog}` (a newer libvirt's event: keep the raw body).\n#[must_use]\npub fn decode(proc_: i32, body: bytes::Bytes) -> Option<Result<Self, DecodeError>> {{\nSome(match proc_ {{\n{decode}_ => return None,\n}})\n}}\n\n/// The event's procedure number.\n#[must_use]\npub const fn procedure(&self) -> i32 {{\nmatch self {{\n{number}}}\n}}\n\n/// For callback-style events, the `callbackID` their registration returned.\n#[must_use]\npub const fn callback_id(&self) -> Option<i32> {{\n#[allow(unreachable_patterns)]\nmatch self {{\n{callback}_ => None,\n}}\n}}\n}}\n",
            prog = p.program_const
        );
    }
    let _ = writeln!(
        body,
        "/// Every procedure of `{}`, in number order.\npub static PROCEDURES: &[ProcedureInfo] = &[\n{table}];\n",
        p.program_const
    );
    let _ = writeln!(
        body,
        "/// The procedure with this number, if libvirt {LIBVIRT_VERSION} defines one.\n#[must_use]\npub fn procedure_by_number(number: i32) -> Option<&'static ProcedureInfo> {{\nPROCEDURES.binary_search_by_key(&number, |p| p.number).ok().map(|i| &PROCEDURES[i])\n}}\n"
    );
    let _ = writeln!(
        body,
        "/// The procedure with this libvirt name (`{}…`), if libvirt {LIBVIRT_VERSION} defines one.\n#[must_use]\npub fn procedure_by_name(name: &str) -> Option<&'static ProcedureInfo> {{\nPROCEDURES.iter().find(|p| p.name == name)\n}}\n",
        p.proc_prefix
    );
    let decode_body = if decode_args.is_empty() {
        "let _ = (number, r);\nNone".to_owned()
    } else {
        format!("Some(match number {{\n{decode_args}_ => return None,\n}})")
    };
    let _ = writeln!(
        body,
        "/// Decodes the arguments of a call to procedure `number` from `r` and drops them (to check\n/// them, e.g. with a reader that notes non-canonical encodings); `None` when `number` is not a\n/// callable procedure of `{}`.\npub fn decode_args(number: i32, r: &mut XdrReader) -> Option<Result<(), DecodeError>> {{\n{decode_body}\n}}\n",
        p.program_const
    );
    Ok(())
}

fn gen_arbitrary(model: &Model, arbs: &[ArbType]) -> String {
    let mut out = String::new();
    header(&mut out, "the six `.x` files");
    out.push_str(
        "//! Proptest strategies for every generated type, with small sizes (strings and opaque data of at\n//! most 8 bytes, arrays of at most 3 elements), plus the generated round-trip and bound tests.\n",
    );
    out.push_str("#![allow(clippy::all, clippy::pedantic, unused_imports, unused_variables, unused_mut)]\n\n");
    out.push_str(
        "use bytes::Bytes;
use proptest::prelude::*;

use crate::xdr::XdrString;

/// Strings of at most `max` bytes.
pub fn arb_string(max: u64) -> impl Strategy<Value = XdrString> + Clone {
    proptest::collection::vec(any::<u8>(), 0..=max as usize).prop_map(|v| XdrString(Bytes::from(v)))
}

/// Opaque data of at most `max` bytes.
pub fn arb_bytes(max: u64) -> impl Strategy<Value = Bytes> + Clone {
    proptest::collection::vec(any::<u8>(), 0..=max as usize).prop_map(Bytes::from)
}

/// Fixed opaque data.
pub fn arb_fixed_bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> + Clone {
    proptest::collection::vec(any::<u8>(), N).prop_map(|v| <[u8; N]>::try_from(v).unwrap_or([0; N]))
}

/// Fixed arrays.
pub fn arb_array<T: std::fmt::Debug + Clone, const N: usize>(
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = [T; N]> + Clone {
    proptest::collection::vec(s, N).prop_map(|v| match <[T; N]>::try_from(v) {
        Ok(a) => a,
        Err(_) => unreachable!(),
    })
}

",
    );
    for m in &model.modules {
        let module = m.cfg.module;
        let _ = writeln!(out, "/// Strategies for the types of [`crate::programs::{module}`].\npub mod {module} {{");
        out.push_str("use super::*;\n");
        let _ = writeln!(out, "use crate::programs::{module}::*;\n");
        for a in arbs.iter().filter(|a| a.module == module) {
            let _ = writeln!(
                out,
                "/// Values of [`{}`] (`{}`).\npub fn {}() -> BoxedStrategy<{}> {{\n{}\n}}\n",
                a.rust,
                a.xname,
                snake(&a.xname),
                a.rust,
                a.strategy
            );
        }
        out.push_str("}\n\n");
    }
    out.push_str(
        "/// Encodes one value, drawn from the type's strategy, of the type libvirt calls `xname` (e.g.
/// `remote_domain_get_state_args`); `None` for a name no `.x` file defines. For tests that only
/// know type names, such as the procedure tables' `args` and `ret`.
pub fn encode_sample(
    xname: &str,
    runner: &mut proptest::test_runner::TestRunner,
) -> Option<Result<Bytes, crate::xdr::EncodeError>> {
    fn one<T: crate::xdr::XdrEncode + std::fmt::Debug>(
        s: BoxedStrategy<T>,
        runner: &mut proptest::test_runner::TestRunner,
    ) -> Result<Bytes, crate::xdr::EncodeError> {
        let v = proptest::strategy::ValueTree::current(&s.new_tree(runner).expect(\"strategy\"));
        crate::xdr::to_bytes(&v)
    }
    Some(match xname {
",
    );
    for a in arbs {
        let _ = writeln!(out, "\"{}\" => one({}::{}(), runner),", a.xname, a.module, snake(&a.xname));
    }
    out.push_str("_ => return None,\n})\n}\n\n");
    out.push_str(
        "#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};

    use crate::xdr::{from_bytes_exact, to_bytes, DecodeErrorKind, XdrDecode, XdrEncode, XdrReader};

    /// Encodes, decodes and re-encodes 16 values of each type.
    pub(super) fn rt<T>(name: &str, s: BoxedStrategy<T>)
    where
        T: XdrEncode + XdrDecode + PartialEq + std::fmt::Debug,
    {
        let mut runner = TestRunner::new(Config { cases: 16, failure_persistence: None, ..Config::default() });
        for _ in 0..16 {
            let v = s.new_tree(&mut runner).expect(\"strategy\").current();
            let b = to_bytes(&v).unwrap_or_else(|e| panic!(\"{name}: encode {v:?}: {e}\"));
            assert_eq!(b.len() % 4, 0, \"{name}: XDR output is 4-aligned\");
            let back: T = from_bytes_exact(b.clone()).unwrap_or_else(|e| panic!(\"{name}: decode {v:?}: {e}\"));
            assert_eq!(back, v, \"{name}\");
            assert_eq!(to_bytes(&back).unwrap(), b, \"{name}: re-encoding\");
        }
    }

    /// One value of a strategy.
    pub(super) fn sample<T: std::fmt::Debug>(s: BoxedStrategy<T>) -> T {
        s.new_tree(&mut TestRunner::deterministic()).expect(\"strategy\").current()
    }

    /// `buf` ends with a count one over `max`: decoding must fail with `LengthOverMax` there.
    pub(super) fn over_max<T: XdrDecode + std::fmt::Debug>(what: &str, buf: BytesMut, max: u32) {
        let at = buf.len() - 4;
        let e = T::decode(&mut XdrReader::new(buf.freeze())).expect_err(what);
        assert_eq!(e.kind, DecodeErrorKind::LengthOverMax { len: max + 1, max }, \"{what}\");
        assert_eq!(e.offset, at, \"{what}: error offset\");
    }
",
    );
    for m in &model.modules {
        let module = m.cfg.module;
        let mine: Vec<&ArbType> = arbs.iter().filter(|a| a.module == module).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "mod {module} {{\nuse super::*;\nuse crate::programs::arbitrary::{module} as arb;\nuse crate::programs::{module}::*;\nuse crate::programs::put_count;\nuse crate::xdr::{{put_opaque, put_opaque_fixed, put_string, put_u32, put_i32, EncodeError}};\n");
        let _ = writeln!(out, "#[test]\nfn roundtrip_every_type() {{");
        for a in &mine {
            let _ = writeln!(out, "rt(\"{}\", arb::{}());", a.xname, snake(&a.xname));
        }
        let _ = writeln!(out, "}}\n");
        for a in mine.iter().filter(|a| !a.probes.is_empty()) {
            let _ = writeln!(out, "#[test]\nfn bounds_{}() {{", snake(&a.xname));
            if a.needs_sample {
                let _ = writeln!(out, "let v = sample(arb::{}());", snake(&a.xname));
            }
            for p in &a.probes {
                let _ = writeln!(
                    out,
                    "{{\nlet mut buf = BytesMut::new();\nlet out = &mut buf;\n(|| -> Result<(), EncodeError> {{\n{}\nOk(())\n}})().unwrap();\nput_u32(out, {} + 1);\nover_max::<{}>(\"{} {}\", buf, {});\n}}",
                    p.prefix,
                    p.max_expr,
                    a.rust,
                    a.xname,
                    p.what.replace('`', ""),
                    p.max_expr
                );
            }
            let _ = writeln!(out, "}}\n");
        }
        out.push_str("}\n\n");
    }
    out.push_str("}\n");
    out
}
