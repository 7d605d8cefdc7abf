//! virsh's command grammar (`tools/vsh.c`): option definitions, the two tokenizers (one command
//! line split by the shell into argv, or one string holding `;`-separated commands), and the
//! parser that binds tokens to options, with virsh's error messages.
//!
//! The grammar's quirks are kept on purpose: every option that takes a value and is not
//! marked "`--name` required" can also be given positionally, in declaration order (so
//! `vol-upload VOL FILE POOL` works); `--opt=value` is accepted; `--` ends option parsing;
//! `#` starts a comment; `--help` anywhere turns the command into `help <cmd>`.

use std::fmt;

/// The kind of an option (`vshCmdOptType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptType {
    /// A flag.
    Bool,
    /// An optional string, `--name value` or positional.
    String,
    /// An integer, `--name value` or positional.
    Int,
    /// A string given positionally (or as `--name value`).
    Data,
    /// All remaining arguments.
    Argv,
    /// Another spelling of the option named here (`"other"` or `"other=value"` for a flag
    /// that stands for an option with a value).
    Alias(&'static str),
}

/// The option is required (`VSH_OFLAG_REQ`).
pub(crate) const REQ: u8 = 1;
/// An empty value is allowed (`VSH_OFLAG_EMPTY_OK`).
pub(crate) const EMPTY_OK: u8 = 2;
/// The value can only be given as `--name value` (`VSH_OFLAG_REQ_OPT`).
pub(crate) const REQ_OPT: u8 = 4;

/// One option of a command (`vshCmdOptDef`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptDef {
    pub(crate) name: &'static str,
    pub(crate) ty: OptType,
    pub(crate) flags: u8,
}

/// Shorthands for option tables.
pub(crate) const fn opt(name: &'static str, ty: OptType, flags: u8) -> OptDef {
    OptDef { name, ty, flags }
}
pub(crate) const fn flag(name: &'static str) -> OptDef {
    opt(name, OptType::Bool, 0)
}
pub(crate) const fn string(name: &'static str) -> OptDef {
    opt(name, OptType::String, 0)
}
pub(crate) const fn data_req(name: &'static str) -> OptDef {
    opt(name, OptType::Data, REQ)
}
pub(crate) const fn int(name: &'static str) -> OptDef {
    opt(name, OptType::Int, 0)
}

/// A command handler: returns whether the command succeeded.
pub(crate) type Handler = fn(&mut crate::Virsh, &Cmd) -> bool;

/// A command (`vshCmdDef`).
pub(crate) struct CmdDef {
    pub(crate) name: &'static str,
    pub(crate) opts: &'static [OptDef],
    pub(crate) handler: Handler,
    /// Runs without a connection (`VSH_CMD_FLAG_NOCONNECT`).
    pub(crate) no_connect: bool,
}

impl fmt::Debug for CmdDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmdDef").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A parsed command with its options, in the order given.
#[derive(Debug)]
pub(crate) struct Cmd {
    pub(crate) def: &'static CmdDef,
    /// (option, value) pairs; flags have no value.
    pub(crate) opts: Vec<(&'static OptDef, Option<String>)>,
}

static HELP_OPT: OptDef = flag("help");

/// What a tokenizer returns (`vshCommandToken`).
enum Token {
    Error,
    Arg(String),
    SubCmdEnd,
    End,
}

trait Tokenizer {
    /// The next token; `report` says whether syntax errors are printed.
    fn next(&mut self, ui: &mut dyn Reporter) -> Token;
}

/// Where parse errors go (`vshError`).
pub(crate) trait Reporter {
    fn error(&mut self, msg: &str);
}

struct ArgvTokens<'a> {
    args: &'a [String],
    pos: usize,
}

impl Tokenizer for ArgvTokens<'_> {
    fn next(&mut self, _ui: &mut dyn Reporter) -> Token {
        match self.args.get(self.pos) {
            Some(a) => {
                self.pos += 1;
                Token::Arg(a.clone())
            }
            None => Token::End,
        }
    }
}

struct StringTokens<'a> {
    s: &'a [u8],
    pos: usize,
}

impl StringTokens<'_> {
    fn skip_comment_line(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos] != b'\n' {
            self.pos += 1;
        }
        if self.pos < self.s.len() {
            self.pos += 1;
        }
    }
}

impl Tokenizer for StringTokens<'_> {
    /// `vshCommandStringGetArg`: blanks separate words; `;` and newline end a command; `#`
    /// at the start of a word comments out the rest of the line; quotes and backslashes work
    /// as in the shell (a backslash inside single quotes is literal).
    fn next(&mut self, ui: &mut dyn Reporter) -> Token {
        let s = self.s;
        let mut p = self.pos;
        let at = |i: usize| s.get(i).copied().unwrap_or(0);
        while at(p) == b' ' || at(p) == b'\t' || (at(p) == b'\\' && at(p + 1) == b'\n') {
            p += if at(p) == b'\\' { 2 } else { 1 };
        }
        if at(p) == 0 {
            self.pos = p;
            return Token::End;
        }
        if at(p) == b';' || at(p) == b'\n' {
            self.pos = p + 1;
            return Token::SubCmdEnd;
        }
        if at(p) == b'#' {
            self.pos = p;
            self.skip_comment_line();
            return Token::SubCmdEnd;
        }
        let (mut single, mut double) = (false, false);
        let mut out = Vec::new();
        while at(p) != 0 {
            let c = at(p);
            if !double && !single && matches!(c, b' ' | b'\t' | b';' | b'\n') {
                break;
            }
            if !double && c == b'\'' {
                single = !single;
                p += 1;
                continue;
            } else if !single && c == b'\\' {
                p += 1;
                if at(p) == 0 {
                    ui.error("dangling \\");
                    return Token::Error;
                } else if at(p) == b'\n' {
                    p += 1;
                    continue;
                }
            } else if !single && c == b'"' {
                double = !double;
                p += 1;
                continue;
            }
            out.push(at(p));
            p += 1;
        }
        if double {
            ui.error("missing \"");
            return Token::Error;
        }
        self.pos = p;
        Token::Arg(String::from_utf8_lossy(&out).into_owned())
    }
}

fn need_arg_and_required(def: &CmdDef) -> (u64, u64) {
    let (mut need_arg, mut required) = (0u64, 0u64);
    for (i, o) in def.opts.iter().enumerate() {
        if matches!(o.ty, OptType::Bool | OptType::Alias(_)) {
            continue;
        }
        if o.flags & REQ_OPT == 0 {
            need_arg |= 1 << i;
        }
        if o.flags & REQ != 0 {
            required |= 1 << i;
        }
    }
    (need_arg, required)
}

/// `vshCmddefGetOption`: the option `--name`, following aliases; `optstr` is the `=value` part.
fn get_option(
    ui: &mut dyn Reporter,
    def: &'static CmdDef,
    name: &str,
    seen: &mut u64,
    optstr: &mut Option<String>,
) -> Option<(usize, &'static OptDef)> {
    if name == HELP_OPT.name {
        return Some((usize::MAX, &HELP_OPT));
    }
    let mut name = name.to_owned();
    let mut i = 0;
    while i < def.opts.len() {
        let o = &def.opts[i];
        if o.name == name {
            if let OptType::Alias(target) = o.ty {
                if let Some((n, v)) = target.split_once('=') {
                    if optstr.is_some() {
                        ui.error(&format!("invalid '=' after option --{}", o.name));
                        return None;
                    }
                    *optstr = Some(v.to_owned());
                    name = n.to_owned();
                } else {
                    name = target.to_owned();
                }
                i += 1;
                continue;
            }
            if *seen & (1 << i) != 0 && o.ty != OptType::Argv {
                ui.error(&format!("option --{name} already seen"));
                return None;
            }
            *seen |= 1 << i;
            return Some((i, o));
        }
        i += 1;
    }
    if def.name != "help" {
        ui.error(&format!("command '{}' doesn't support option --{name}", def.name));
    }
    None
}

/// Parses a whole command line (`vshCommandArgvParse`).
pub(crate) fn parse_argv(
    ui: &mut dyn Reporter,
    lookup: &dyn Fn(&str) -> Option<&'static CmdDef>,
    args: &[String],
) -> Option<Vec<Cmd>> {
    if args.is_empty() {
        return None;
    }
    parse(ui, lookup, &mut ArgvTokens { args, pos: 0 })
}

/// Parses a command string (`vshCommandStringParse`).
pub(crate) fn parse_string(
    ui: &mut dyn Reporter,
    lookup: &dyn Fn(&str) -> Option<&'static CmdDef>,
    s: &str,
) -> Option<Vec<Cmd>> {
    if s.is_empty() {
        return None;
    }
    parse(ui, lookup, &mut StringTokens { s: s.as_bytes(), pos: 0 })
}

/// `vshCommandParse` (without the completion mode).
fn parse(
    ui: &mut dyn Reporter,
    lookup: &dyn Fn(&str) -> Option<&'static CmdDef>,
    tk: &mut dyn Tokenizer,
) -> Option<Vec<Cmd>> {
    let mut cmds = Vec::new();
    loop {
        let mut cmd: Option<&'static CmdDef> = None;
        let mut opts: Vec<(&'static OptDef, Option<String>)> = Vec::new();
        let mut data_only = false;
        let (mut need_arg, mut required, mut seen) = (0u64, 0u64, 0u64);
        let last;
        loop {
            let tok = tk.next(ui);
            let data = match tok {
                Token::Error => return None,
                Token::Arg(a) => a,
                other => {
                    last = other;
                    break;
                }
            };
            let Some(def) = cmd else {
                if data.starts_with('#') {
                    // A comment to the end of this command.
                    loop {
                        match tk.next(ui) {
                            Token::Arg(_) => {}
                            Token::Error => return None,
                            other => {
                                last = other;
                                break;
                            }
                        }
                    }
                    break;
                }
                let Some(def) = lookup(&data) else {
                    ui.error(&format!("unknown command: '{data}'"));
                    return None;
                };
                cmd = Some(def);
                (need_arg, required) = need_arg_and_required(def);
                continue;
            };
            let bytes = data.as_bytes();
            let found: Option<(&'static OptDef, Option<String>)> = if !data_only
                && bytes.len() > 2
                && bytes[0] == b'-'
                && bytes[1] == b'-'
                && bytes[2].is_ascii_alphanumeric()
            {
                let body = &data[2..];
                let (name, mut optstr) = match body.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (body, None),
                };
                let Some((index, o)) = get_option(ui, def, name, &mut seen, &mut optstr) else {
                    if def.name == "help" {
                        continue;
                    }
                    return None;
                };
                if o.ty == OptType::Bool {
                    if optstr.is_some() {
                        ui.error(&format!("invalid '=' after option --{}", o.name));
                        return None;
                    }
                    Some((o, None))
                } else {
                    let value = match optstr {
                        Some(v) => v,
                        None => match tk.next(ui) {
                            Token::Arg(v) => v,
                            Token::Error => return None,
                            _ => {
                                let kind = if o.ty == OptType::Int { "number" } else { "string" };
                                ui.error(&format!("expected syntax: --{} <{kind}>", o.name));
                                return None;
                            }
                        },
                    };
                    if o.ty != OptType::Argv && index != usize::MAX {
                        need_arg &= !(1 << index);
                    }
                    Some((o, Some(value)))
                }
            } else if !data_only && data == "--" {
                data_only = true;
                continue;
            } else {
                // Positional data fills the first option still waiting for a value.
                if need_arg == 0 {
                    if def.name != "help" {
                        ui.error(&format!("unexpected data '{data}'"));
                        return None;
                    }
                    None
                } else {
                    let i = need_arg.trailing_zeros() as usize;
                    let o = &def.opts[i];
                    if o.ty != OptType::Argv {
                        need_arg &= !(1 << i);
                    }
                    seen |= 1 << i;
                    Some((o, Some(data)))
                }
            };
            if let Some(pair) = found {
                opts.push(pair);
            }
        }
        if let Some(mut def) = cmd {
            if opts.iter().any(|(o, _)| o.name == "help" && std::ptr::eq(*o, &HELP_OPT)) {
                if let Some(help) = lookup("help") {
                    opts = vec![(&help.opts[0], Some(def.name.to_owned()))];
                    def = help;
                    required = 0;
                    seen = 0;
                }
            }
            let missing = required & !seen;
            if missing != 0 {
                for (i, o) in def.opts.iter().enumerate() {
                    if missing & (1 << i) != 0 {
                        if matches!(o.ty, OptType::Data | OptType::Argv) {
                            ui.error(&format!("command '{}' requires <{}> option", def.name, o.name));
                        } else {
                            ui.error(&format!("command '{}' requires --{} option", def.name, o.name));
                        }
                    }
                }
                return None;
            }
            cmds.push(Cmd { def, opts });
        }
        if matches!(last, Token::End) {
            break;
        }
    }
    Some(cmds)
}

/// Why an option's value could not be had; the message was printed.
#[derive(Debug)]
pub(crate) struct OptError;

impl Cmd {
    fn find(&self, name: &str) -> Option<&Option<String>> {
        debug_assert!(
            self.def.opts.iter().any(|o| o.name == name),
            "command '{}' has no option '{name}'",
            self.def.name
        );
        self.opts.iter().find(|(o, _)| o.name == name).map(|(_, v)| v)
    }

    fn def_of(&self, name: &str) -> Option<&'static OptDef> {
        self.def.opts.iter().find(|o| o.name == name)
    }

    /// `vshCommandOptBool`: whether the option was given (flag or not).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// `vshCommandOptStringReq`: the value, `None` when absent; an error for an empty value
    /// where none is allowed.
    pub(crate) fn string_req(&self, ui: &mut dyn Reporter, name: &str) -> Result<Option<&str>, OptError> {
        let required = self.def_of(name).is_some_and(|o| o.flags & REQ != 0);
        match self.find(name) {
            None if required => {
                ui.error(&format!("Failed to get option '{name}': Mandatory option not present"));
                Err(OptError)
            }
            None => Ok(None),
            Some(v) => {
                let v = v.as_deref().unwrap_or("");
                let empty_ok = self.def_of(name).is_some_and(|o| o.flags & EMPTY_OK != 0);
                if v.is_empty() && !empty_ok {
                    ui.error(&format!("Failed to get option '{name}': Option argument is empty"));
                    return Err(OptError);
                }
                Ok(Some(v))
            }
        }
    }

    /// `vshCommandOptStringQuiet`: `Ok(None)` when absent, `Err` for an empty value where
    /// none is allowed (nothing printed).
    pub(crate) fn string_quiet(&self, name: &str) -> Result<Option<&str>, OptError> {
        match self.find(name) {
            None => Ok(None),
            Some(v) => {
                let v = v.as_deref().unwrap_or("");
                let empty_ok = self.def_of(name).is_some_and(|o| o.flags & EMPTY_OK != 0);
                if v.is_empty() && !empty_ok {
                    return Err(OptError);
                }
                Ok(Some(v))
            }
        }
    }

    fn numeric<T>(
        &self,
        ui: &mut dyn Reporter,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, OptError> {
        match self.find(name) {
            None => Ok(None),
            Some(v) => {
                let v = v.as_deref().unwrap_or("");
                match parse(v) {
                    Some(n) => Ok(Some(n)),
                    None => {
                        ui.error(&format!("Numeric value '{v}' for <{name}> option is malformed or out of range"));
                        Err(OptError)
                    }
                }
            }
        }
    }

    /// `VSH_EXCLUSIVE_OPTIONS`: `false` (and an error) when both flags are given.
    pub(crate) fn exclusive(&self, ui: &mut dyn Reporter, a: &str, b: &str) -> bool {
        if self.flag(a) && self.flag(b) {
            ui.error(&format!("Options --{a} and --{b} are mutually exclusive"));
            return false;
        }
        true
    }

    /// `VSH_REQUIRE_OPTION`: `false` (and an error) when `a` is given without `b`.
    pub(crate) fn requires(&self, ui: &mut dyn Reporter, a: &str, b: &str) -> bool {
        if self.flag(a) && !self.flag(b) {
            ui.error(&format!("Option --{b} is required by option --{a}"));
            return false;
        }
        true
    }

    /// `vshCommandOptUInt` (negative numbers refused).
    pub(crate) fn uint(&self, ui: &mut dyn Reporter, name: &str) -> Result<Option<u32>, OptError> {
        self.numeric(ui, name, |s| crate::util::strtoul_positive(s).and_then(|v| u32::try_from(v).ok()))
    }

    /// `vshCommandOptULongLong` (negative numbers refused).
    pub(crate) fn ull(&self, ui: &mut dyn Reporter, name: &str) -> Result<Option<u64>, OptError> {
        self.numeric(ui, name, crate::util::strtoul_positive)
    }

    /// `vshCommandOptULongLongWrap` (negative numbers wrap).
    pub(crate) fn ull_wrap(&self, ui: &mut dyn Reporter, name: &str) -> Result<Option<u64>, OptError> {
        self.numeric(ui, name, crate::util::strtoul_wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<String>);
    impl Reporter for Collect {
        fn error(&mut self, msg: &str) {
            self.0.push(msg.to_owned());
        }
    }

    fn noop(_: &mut crate::Virsh, _: &Cmd) -> bool {
        true
    }

    static OPTS: &[OptDef] = &[data_req("vol"), data_req("file"), string("pool"), flag("sparse"), int("offset")];
    static VOL: CmdDef = CmdDef { name: "vol-upload", opts: OPTS, handler: noop, no_connect: false };
    static LIST: CmdDef = CmdDef { name: "list", opts: &[flag("all")], handler: noop, no_connect: false };

    fn lookup(name: &str) -> Option<&'static CmdDef> {
        [&VOL, &LIST].into_iter().find(|c| c.name == name)
    }

    fn values(c: &Cmd) -> Vec<(String, Option<String>)> {
        c.opts.iter().map(|(o, v)| (o.name.to_owned(), v.clone())).collect()
    }

    #[test]
    fn positional_and_named() {
        let mut ui = Collect(Vec::new());
        let cmds = parse_string(&mut ui, &lookup, "vol-upload --pool p v 'a file' ; list --all").unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(
            values(&cmds[0]),
            vec![
                ("pool".into(), Some("p".into())),
                ("vol".into(), Some("v".into())),
                ("file".into(), Some("a file".into()))
            ]
        );
        let cmds = parse_string(&mut ui, &lookup, "vol-upload v f p --offset=3").unwrap();
        assert_eq!(values(&cmds[0])[2], ("pool".into(), Some("p".into())));
        assert!(ui.0.is_empty());
    }

    #[test]
    fn errors() {
        let mut ui = Collect(Vec::new());
        assert!(parse_string(&mut ui, &lookup, "nope").is_none());
        assert!(parse_string(&mut ui, &lookup, "list --bogus").is_none());
        assert!(parse_string(&mut ui, &lookup, "vol-upload v").is_none());
        assert!(parse_string(&mut ui, &lookup, "list extra").is_none());
        assert!(parse_string(&mut ui, &lookup, "list --all --all").is_none());
        assert!(parse_string(&mut ui, &lookup, "vol-upload v f --pool").is_none());
        assert!(parse_string(&mut ui, &lookup, "list \"x").is_none());
        assert_eq!(
            ui.0,
            vec![
                "unknown command: 'nope'",
                "command 'list' doesn't support option --bogus",
                "command 'vol-upload' requires <file> option",
                "unexpected data 'extra'",
                "option --all already seen",
                "expected syntax: --pool <string>",
                "missing \"",
            ]
        );
    }

    #[test]
    fn comments_and_separators() {
        let mut ui = Collect(Vec::new());
        let cmds = parse_string(&mut ui, &lookup, "# hello\nlist;;list --all # trailing").unwrap();
        assert_eq!(cmds.len(), 2);
        let args: Vec<String> = ["list", "--", "--all"].iter().map(|s| (*s).to_owned()).collect();
        assert!(parse_argv(&mut ui, &lookup, &args).is_none());
        assert_eq!(ui.0, vec!["unexpected data '--all'"]);
    }
}
