//! Resolution: what a declaration means across files: each type's shape (primitive, named,
//! bounded string/opaque/array, fixed, optional), its bounds and their values, which types are
//! recursive, hold a float or can be defaulted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ast::{Decl, DeclType, Def, EnumDef, NamedDecl, StructDef, TypeSpec, UnionDef, Value};

use super::config::EXTERNS;
use super::model::{local_consts, Model};
use super::names::camel;
use super::{err, GenError};

#[derive(Debug, Clone)]
pub(super) enum TypeDef {
    Struct(StructDef),
    Union(UnionDef),
    Enum(EnumDef),
    Typedef(NamedDecl),
}

#[derive(Debug, Clone)]
pub(super) struct Bound {
    /// Rust expression of type u32.
    pub(super) expr: String,
    pub(super) value: u64,
    /// How the `.x` wrote it (for docs).
    pub(super) written: String,
}

#[derive(Debug, Clone)]
pub(super) enum Shape {
    Prim(&'static str),
    Named { path: String, xname: String, module: String },
    Str(Bound),
    Opaque(Bound),
    OpaqueFixed(u64),
    Array(Box<Self>, Bound),
    Fixed(Box<Self>, u64),
    Opt(Box<Self>, bool),
}

pub(super) struct Ctx<'m> {
    /// type name → (module, def)
    types: HashMap<String, (&'static str, TypeDef)>,
    /// const name → (module or "" for externs, value, how written)
    pub(super) consts: HashMap<String, (&'static str, i64)>,
    /// module → modules visible
    visible: HashMap<&'static str, Vec<&'static str>>,
    /// externs referenced per module
    pub(super) used_externs: std::cell::RefCell<BTreeMap<&'static str, BTreeSet<&'static str>>>,
    /// struct name → (module, proc name, role)
    pub(super) roles: HashMap<String, (&'static str, String, &'static str)>,
    model: &'m Model,
}

impl<'m> Ctx<'m> {
    pub(super) fn new(model: &'m Model) -> Result<Self, GenError> {
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

    pub(super) fn lookup_type(&self, module: &'static str, name: &str) -> Result<(&'static str, &TypeDef), GenError> {
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

    pub(super) fn value(&self, module: &'static str, v: &Value) -> Result<i64, GenError> {
        match v {
            Value::Num(n) => Ok(*n),
            Value::Ident(id) => self.const_ref(module, id).map(|x| x.1),
        }
    }

    pub(super) fn bound(&self, module: &'static str, v: Option<&Value>) -> Result<Bound, GenError> {
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

    pub(super) fn fixed_len(&self, module: &'static str, v: &Value) -> Result<u64, GenError> {
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
    pub(super) fn decl_shape(
        &self,
        module: &'static str,
        d: &DeclType,
        owner: Option<&str>,
    ) -> Result<Shape, GenError> {
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

    pub(super) fn decl_rust(
        &self,
        module: &'static str,
        d: &DeclType,
        owner: Option<&str>,
    ) -> Result<String, GenError> {
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
    pub(super) fn has_float(&self, shape: &Shape) -> bool {
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
    pub(super) fn defaultable(&self, shape: &Shape) -> bool {
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
