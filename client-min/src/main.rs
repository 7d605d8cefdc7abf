//! client-min: a minimal virsh on libvirt's remote protocol.
//!
//! `client-min [-c URI] [-r] [-k INTERVAL] [-K COUNT] [-q] [-t] COMMAND [ARGS…]`, or one
//! argument holding `;`-separated commands (`client-min -c URI 'list; dominfo test'`), or an
//! interactive shell when no command is given. The commands, their options, their output,
//! their error messages and the exit status are virsh 9.0's, byte for byte, and so are the
//! RPCs each command makes (`protocol-facts.md` §7–8), so that it works against libvirtd and
//! daemon-min alike.
//!
//! Layout: [`vsh`] is virsh's command grammar, [`conn`] the driver table and connection,
//! the `cmd_*` modules the commands, [`table`] and [`util`] virsh's formatting helpers.
#![forbid(unsafe_code)]

mod cmd_domain;
mod cmd_domain_list;
mod cmd_domain_monitor;
mod cmd_event;
mod cmd_host;
mod cmd_network;
mod cmd_pool;
mod cmd_volume;
mod conn;
mod progress;
mod table;
mod util;
mod vsh;

use std::io::{BufRead, Write};

use conn::{ApiError, Conn, OpenOptions};
use proto_core::ErrorCode;
use vsh::{Cmd, CmdDef, Reporter};

/// `LIBVIR_VERSION_NUMBER` of the libvirt whose virsh this imitates.
pub(crate) const LIBVIRT_VERSION: u64 = 9_000_000;

/// virsh's state (`vshControl` + `virshControl`).
pub(crate) struct Virsh {
    conn: Option<Conn>,
    /// The URI to (re)connect to (`-c`, then `VIRSH_DEFAULT_CONNECT_URI`).
    connname: Option<String>,
    /// `-r`.
    readonly: bool,
    keepalive_interval: Option<u32>,
    keepalive_count: Option<u32>,
    /// `-q`: `print_extra` is silent and tables have no header.
    pub(crate) quiet: bool,
    /// `-t`.
    timing: bool,
    /// Interactive mode; `quit` ends it.
    imode: bool,
    /// The last libvirt error not yet reported (`last_error` in vsh.c).
    pub(crate) last_error: Option<ApiError>,
    disconnected: bool,
    /// `DOMAIN_GET_STATE` is unsupported: use `DOMAIN_GET_INFO` for the rest of the session.
    pub(crate) use_get_info: bool,
}

impl Reporter for Virsh {
    fn error(&mut self, msg: &str) {
        let _ = std::io::stdout().flush();
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "error: {msg}");
        let _ = e.flush();
    }
}

impl Virsh {
    /// `vshPrint`.
    pub(crate) fn print(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    /// `vshPrintExtra`: nothing under `-q`.
    pub(crate) fn print_extra(&self, s: &str) {
        if !self.quiet {
            self.print(s);
        }
    }

    /// Records a failed API call's error, as virsh's error handler does; `None` on failure.
    pub(crate) fn api<T>(&mut self, r: Result<T, ApiError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.last_error = Some(e);
                None
            }
        }
    }

    /// `vshResetLibvirtError`.
    pub(crate) fn reset_error(&mut self) {
        self.last_error = None;
    }

    /// The code of the last error (`last_error->code`).
    pub(crate) fn last_code(&self) -> Option<ErrorCode> {
        self.last_error.as_ref().map(|e| e.code)
    }

    /// `vshReportError`.
    pub(crate) fn report_error(&mut self) {
        if let Some(e) = self.last_error.take() {
            if e.code == ErrorCode::VIR_ERR_OK {
                self.error("unknown error");
            } else {
                self.error(&e.message);
            }
        }
    }

    /// The open connection; only called from commands that run connected.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("commands run with a connection")
    }

    fn open_options(&self, readonly: bool) -> OpenOptions {
        OpenOptions {
            read_only: readonly,
            keepalive_interval: self.keepalive_interval,
            keepalive_count: self.keepalive_count,
        }
    }

    /// `virshReconnect`.
    fn reconnect(&mut self, name: Option<&str>, readonly: bool, force: bool) -> bool {
        let readonly = if !readonly && name.is_none() { self.readonly } else { readonly };
        let connected = self.conn.is_some();
        if let Some(c) = self.conn.take() {
            c.close();
        }
        let uri = name.map(str::to_owned).or_else(|| self.connname.clone());
        match Conn::open(uri.as_deref(), &self.open_options(readonly)) {
            Err(e) => {
                self.last_error = Some(e);
                if self.disconnected {
                    self.error("Failed to reconnect to the hypervisor");
                } else {
                    self.error("failed to connect to the hypervisor");
                }
                return false;
            }
            Ok(c) => {
                if let Some(n) = name {
                    self.connname = Some(n.to_owned());
                }
                self.readonly = readonly;
                self.conn = Some(c);
                if connected && !force {
                    self.error("Reconnected to the hypervisor");
                }
            }
        }
        self.disconnected = false;
        self.use_get_info = false;
        true
    }

    /// `virshConnectionHandler`: connects lazily, reconnects after a disconnection.
    fn connection_handler(&mut self) -> bool {
        if self.conn.as_ref().is_some_and(Conn::lost) {
            self.disconnected = true;
        }
        if (self.conn.is_none() || self.disconnected) && !self.reconnect(None, false, false) {
            return false;
        }
        if self.conn.as_ref().is_some_and(Conn::is_alive) {
            return true;
        }
        self.error("no valid connection");
        false
    }

    /// `vshCommandRun`: runs the commands in turn; the status is the last one's.
    fn run(&mut self, cmds: &[Cmd]) -> bool {
        let mut ret = true;
        for cmd in cmds {
            let before = std::time::Instant::now();
            ret = if cmd.def.no_connect || self.connection_handler() { (cmd.def.handler)(self, cmd) } else { false };
            let elapsed = before.elapsed();
            if !ret
                && self.last_error.as_ref().is_some_and(|e| {
                    (e.code == ErrorCode::VIR_ERR_SYSTEM_ERROR && e.domain == proto_core::ErrorDomain::VIR_FROM_REMOTE)
                        || matches!(
                            e.code,
                            ErrorCode::VIR_ERR_RPC | ErrorCode::VIR_ERR_NO_CONNECT | ErrorCode::VIR_ERR_INVALID_CONN
                        )
                })
            {
                self.disconnected = true;
            }
            if !ret {
                self.report_error();
            }
            if cmd.def.name == "quit" || cmd.def.name == "exit" {
                return ret;
            }
            if self.timing {
                self.print(&format!("\n(Time: {:.3} ms)\n\n", elapsed.as_secs_f64() * 1000.0));
            } else {
                self.print_extra("\n");
            }
        }
        ret
    }

    /// `virshDeinit`.
    fn deinit(&mut self) {
        if let Some(c) = self.conn.take() {
            c.close();
        }
        self.last_error = None;
    }
}

/// Every command client-min knows, virsh's and its own table order aside.
pub(crate) fn commands() -> impl Iterator<Item = &'static CmdDef> {
    [
        BUILTINS,
        cmd_domain::COMMANDS,
        cmd_domain_monitor::COMMANDS,
        cmd_host::COMMANDS,
        cmd_network::COMMANDS,
        cmd_pool::COMMANDS,
        cmd_volume::COMMANDS,
        cmd_event::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

fn lookup(name: &str) -> Option<&'static CmdDef> {
    commands().find(|c| c.name == name)
}

use vsh::{flag, opt, OptType, EMPTY_OK};

static BUILTINS: &[CmdDef] = &[
    CmdDef { name: "help", opts: &[opt("command", OptType::Data, 0)], handler: cmd_help, no_connect: true },
    CmdDef { name: "quit", opts: &[], handler: cmd_quit, no_connect: true },
    CmdDef { name: "exit", opts: &[], handler: cmd_quit, no_connect: true },
    CmdDef {
        name: "connect",
        opts: &[opt("name", OptType::String, EMPTY_OK), flag("readonly")],
        handler: cmd_connect,
        no_connect: true,
    },
];

/// `help [COMMAND]`: the commands, or one command's synopsis and options in virsh's layout
/// (client-min carries no descriptions, so this is shorter than virsh's help).
fn cmd_help(v: &mut Virsh, cmd: &Cmd) -> bool {
    let Ok(name) = cmd.string_req(v, "command") else { return false };
    let Some(name) = name else {
        let mut out = String::from(" Commands:\n");
        for c in commands() {
            out += &format!("    {}\n", c.name);
        }
        v.print(&out);
        return true;
    };
    let Some(def) = lookup(name) else {
        v.error(&format!("command or command group '{name}' doesn't exist"));
        return false;
    };
    let mut synopsis = format!("    {}", def.name);
    let mut options = String::new();
    let mut shortopt = false;
    for o in def.opts {
        let required = o.flags & vsh::REQ != 0;
        let by_position = o.flags & vsh::REQ_OPT == 0;
        let (syn, opt) = match o.ty {
            OptType::Bool => (format!("[--{}]", o.name), format!("--{}", o.name)),
            OptType::Int => {
                shortopt |= by_position;
                if required {
                    (format!("<{}>", o.name), format!("[--{}] <number>", o.name))
                } else {
                    (format!("[--{} <number>]", o.name), format!("--{} <number>", o.name))
                }
            }
            OptType::String => {
                shortopt |= by_position;
                (format!("[--{} <string>]", o.name), format!("--{} <string>", o.name))
            }
            OptType::Data => {
                shortopt |= by_position;
                let syn = if required { format!("<{}>", o.name) } else { format!("[<{}>]", o.name) };
                (syn, format!("[--{}] <string>", o.name))
            }
            OptType::Argv => {
                let syn = match (shortopt, required) {
                    (true, true) => format!("{{[--{}] <string>}}...", o.name),
                    (true, false) => format!("[[--{}] <string>]...", o.name),
                    (false, true) => format!("<{}>...", o.name),
                    (false, false) => format!("[<{}>]...", o.name),
                };
                (syn, if shortopt { format!("[--{}] <string>", o.name) } else { format!("<{}>", o.name) })
            }
            OptType::Alias(_) => continue,
        };
        synopsis += &format!(" {syn}");
        options += &format!("    {}\n", opt.trim_end());
    }
    let mut out = format!("  NAME\n    {}\n\n  SYNOPSIS\n{synopsis}\n", def.name);
    if !options.is_empty() {
        out += &format!("\n  OPTIONS\n{options}");
    }
    out.push('\n');
    v.print(&out);
    true
}

fn cmd_quit(v: &mut Virsh, _cmd: &Cmd) -> bool {
    v.imode = false;
    true
}

/// `connect [--name] URI [--readonly]`.
fn cmd_connect(v: &mut Virsh, cmd: &Cmd) -> bool {
    let ro = cmd.flag("readonly");
    let Ok(name) = cmd.string_req(v, "name").map(|n| n.map(str::to_owned)) else { return false };
    v.reconnect(name.as_deref(), ro, true)
}

/// What the top-level options asked for.
enum Parsed {
    Run(Vec<Cmd>),
    Interactive,
    Exit(i32),
}

const SHORT_WITH_ARG: &[u8] = b"cdekKl";
const SHORT_FLAGS: &[u8] = b"hqrtvV";
const LONG: &[(&str, u8, bool)] = &[
    ("connect", b'c', true),
    ("debug", b'd', true),
    ("escape", b'e', true),
    ("help", b'h', false),
    ("keepalive-interval", b'k', true),
    ("keepalive-count", b'K', true),
    ("log", b'l', true),
    ("quiet", b'q', false),
    ("readonly", b'r', false),
    ("timing", b't', false),
    ("version", b'v', false),
];

fn usage(progname: &str) {
    print!(
        "\n{progname} [options]... [<command_string>]\n{progname} [options]... <command> [args...]\n\n  options:\n    -c | --connect=URI      hypervisor connection URI\n    -d | --debug=NUM        debug level [0-4]\n    -e | --escape <char>    set escape sequence for console\n    -h | --help             this help\n    -k | --keepalive-interval=NUM\n                            keepalive interval in seconds, 0 for disable\n    -K | --keepalive-count=NUM\n                            number of possible missed keepalive messages\n    -l | --log=FILE         output logging to file\n    -q | --quiet            quiet mode\n    -r | --readonly         connect readonly\n    -t | --timing           print timing information\n    -v                      short version\n    -V                      long version\n         --version[=TYPE]   version, TYPE is short or long (default short)\n  commands (non interactive mode):\n\n"
    );
    for c in commands() {
        println!("    {}", c.name);
    }
    println!();
}

/// `virshParseArgv`: getopt_long with `+:c:d:e:hk:K:l:qrtvV` (options stop at the first
/// non-option), then the command line or string.
fn parse_args(v: &mut Virsh, progname: &str, args: &[String]) -> Parsed {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        let handle = |v: &mut Virsh, c: u8, value: Option<String>, long: bool| -> Option<i32> {
            let name = |short: &str, long_name: &str| if long { long_name.to_owned() } else { short.to_owned() };
            match c {
                b'c' => v.connname = value,
                b'd' => {
                    if value.as_deref().and_then(util::strtol_i32).is_none() {
                        v.error(&format!("option {} takes a numeric argument", name("-d", "--debug")));
                        return Some(1);
                    }
                }
                b'e' => {
                    let e = value.unwrap_or_default();
                    let b = e.as_bytes();
                    let ok =
                        (b.len() == 2 && b[0] == b'^' && (b[1].is_ascii_lowercase() || (b'@'..=b'_').contains(&b[1])))
                            || (b.len() == 1 && b[0] != b'^');
                    if !ok {
                        v.error(&format!("Invalid string '{e}' for escape sequence"));
                        return Some(1);
                    }
                }
                b'h' => {
                    usage(progname);
                    return Some(0);
                }
                b'k' | b'K' => {
                    let (s, l) = if c == b'k' { ("-k", "--keepalive-interval") } else { ("-K", "--keepalive-count") };
                    let Some(n) = value.as_deref().and_then(util::strtol_i32) else {
                        v.error(&format!("Invalid value for option {}", name(s, l)));
                        return Some(1);
                    };
                    let Ok(n) = u32::try_from(n) else {
                        v.error(&format!("option {} requires a positive integer argument", name(s, l)));
                        return Some(1);
                    };
                    if c == b'k' {
                        v.keepalive_interval = Some(n);
                    } else {
                        v.keepalive_count = Some(n);
                    }
                }
                b'l' => {}
                b'q' => v.quiet = true,
                b't' => v.timing = true,
                b'r' => v.readonly = true,
                b'v' if value.as_deref() != Some("long") => {
                    println!("{}", version_string(LIBVIRT_VERSION));
                    return Some(0);
                }
                _ => {
                    println!("Virsh command line tool of libvirt {}", version_string(LIBVIRT_VERSION));
                    println!("See web site at https://libvirt.org/\n");
                    // What this build has, in virsh's layout (not Debian's virsh's list).
                    println!("Compiled with support for:");
                    println!(" Hypervisors: Test");
                    println!(" Networking: Remote");
                    println!(" Storage:");
                    println!(" Miscellaneous:");
                    return Some(0);
                }
            }
            None
        };
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, val)) => (n, Some(val.to_owned())),
                None => (body, None),
            };
            let exact = LONG.iter().find(|(n, _, _)| *n == name);
            let candidates: Vec<_> = LONG.iter().filter(|(n, _, _)| n.starts_with(name)).collect();
            let found = exact.or(if candidates.len() == 1 { Some(candidates[0]) } else { None });
            let Some(&(lname, c, takes)) = found else {
                v.error(&format!("unsupported option '{a}'. See --help."));
                return Parsed::Exit(1);
            };
            let value = if lname == "version" {
                inline
            } else if takes {
                match inline {
                    Some(val) => Some(val),
                    None if i + 1 < args.len() => {
                        i += 1;
                        Some(args[i].clone())
                    }
                    None => {
                        v.error(&format!("option '-{}'/'--{lname}' requires an argument", c as char));
                        return Parsed::Exit(1);
                    }
                }
            } else {
                if inline.is_some() {
                    v.error(&format!("unsupported option '{a}'. See --help."));
                    return Parsed::Exit(1);
                }
                None
            };
            if let Some(code) = handle(v, c, value, true) {
                return Parsed::Exit(code);
            }
            i += 1;
            continue;
        }
        if a.len() < 2 || !a.starts_with('-') {
            break;
        }
        let bytes = a.as_bytes();
        let mut j = 1;
        while j < bytes.len() {
            let c = bytes[j];
            if SHORT_WITH_ARG.contains(&c) {
                let value = if j + 1 < bytes.len() {
                    a[j + 1..].to_owned()
                } else if i + 1 < args.len() {
                    i += 1;
                    args[i].clone()
                } else {
                    match LONG.iter().find(|(_, s, _)| *s == c) {
                        Some((n, _, _)) => v.error(&format!("option '-{}'/'--{n}' requires an argument", c as char)),
                        None => v.error(&format!("option '-{}' requires an argument", c as char)),
                    }
                    return Parsed::Exit(1);
                };
                if let Some(code) = handle(v, c, Some(value), false) {
                    return Parsed::Exit(code);
                }
                break;
            } else if SHORT_FLAGS.contains(&c) {
                if let Some(code) = handle(v, c, None, false) {
                    return Parsed::Exit(code);
                }
            } else {
                v.error(&format!("unsupported option '-{}'. See --help.", c as char));
                return Parsed::Exit(1);
            }
            j += 1;
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() {
        return Parsed::Interactive;
    }
    let cmds =
        if rest.len() == 1 { vsh::parse_string(v, &lookup, &rest[0]) } else { vsh::parse_argv(v, &lookup, rest) };
    match cmds {
        Some(c) => Parsed::Run(c),
        None => Parsed::Exit(1),
    }
}

/// `major.minor.micro` of a libvirt version number.
pub(crate) fn version_string(v: u64) -> String {
    format!("{}.{}.{}", v / 1_000_000, v % 1_000_000 / 1000, v % 1000)
}

fn main() {
    let mut args = std::env::args();
    let argv0 = args.next().unwrap_or_else(|| "virsh".into());
    let progname = argv0.rsplit('/').next().unwrap_or("virsh").to_owned();
    let args: Vec<String> = args.collect();
    let mut v = Virsh {
        conn: None,
        connname: None,
        readonly: false,
        keepalive_interval: None,
        keepalive_count: None,
        quiet: false,
        timing: false,
        imode: false,
        last_error: None,
        disconnected: false,
        use_get_info: false,
    };
    let parsed = parse_args(&mut v, &progname, &args);
    let cmds = match parsed {
        Parsed::Exit(code) => {
            v.deinit();
            std::process::exit(code);
        }
        Parsed::Run(c) => Some(c),
        Parsed::Interactive => None,
    };
    // virshInit: a named connection must open now; the default one waits for a command.
    if v.connname.is_some() && !v.reconnect(None, false, false) {
        v.report_error();
        v.deinit();
        std::process::exit(1);
    }
    if v.connname.is_none() {
        v.connname = std::env::var("VIRSH_DEFAULT_CONNECT_URI").ok();
    }
    let ret = match cmds {
        Some(cmds) => v.run(&cmds),
        None => interactive(&mut v, &progname),
    };
    v.deinit();
    std::process::exit(if ret { 0 } else { 1 });
}

/// The shell: a prompt, one line at a time, until `quit` or end of input.
fn interactive(v: &mut Virsh, progname: &str) -> bool {
    v.imode = true;
    if !v.quiet {
        v.print(&format!("Welcome to {progname}, the virtualization interactive terminal.\n\n"));
        v.print("Type:  'help' for help with commands\n       'quit' to quit\n\n");
    }
    let stdin = std::io::stdin();
    // readline echoes what it reads when its input is not a terminal; a terminal echoes itself.
    let echo = !std::io::IsTerminal::is_terminal(&stdin);
    let mut input = stdin.lock();
    while v.imode {
        v.print(if v.readonly { "virsh > " } else { "virsh # " });
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.ends_with('\n') {
            line.pop();
        }
        if echo {
            v.print(&format!("{line}\n"));
        }
        if !line.is_empty() {
            if let Some(cmds) = vsh::parse_string(v, &lookup, &line) {
                v.run(&cmds);
            }
        }
    }
    // virsh ends with a new line whether input ended or `quit` was typed.
    v.print("\n");
    true
}
