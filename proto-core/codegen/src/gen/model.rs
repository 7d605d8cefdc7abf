//! The model of the protocol: each file's syntax tree and its procedures, classified from the
//! procedure enum, the `_args`/`_ret`/`_msg` structs and the annotations.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::ast::{Def, Spec, Value};
use crate::parser;

use super::config::{ProgCfg, ProgramCfg, EXTERNS, PROGRAMS};
use super::{err, GenError};

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

pub(super) fn local_consts(spec: &Spec) -> HashMap<&str, i64> {
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
