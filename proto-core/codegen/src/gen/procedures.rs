//! Each program's procedures: one typed `Procedure` per procedure, the event enum, the
//! procedure table and its look-ups, and the argument decoder by number.

use std::fmt::Write as _;

use super::config::ProgCfg;
use super::config::LIBVIRT_VERSION;
use super::docs::doc_lines;
use super::model::{Module, Proc, Stream};
use super::names::{camel, proc_type_name};
use super::resolve::{Ctx, TypeDef};
use super::GenError;

#[allow(clippy::too_many_lines)]
pub(super) fn gen_procedures(ctx: &Ctx<'_>, body: &mut String, m: &Module, p: &ProgCfg) -> Result<(), GenError> {
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
