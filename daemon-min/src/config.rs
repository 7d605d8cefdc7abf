//! `libvirtd.conf`: its syntax (`key = value` lines, `#` comments, integers, quoted strings and
//! `[ … ]` lists that may span lines) and the keys daemon-min honours, with libvirtd's defaults
//! (`src/remote/libvirtd.conf.in`, `src/remote/remote_daemon_config.c`; `protocol-facts.md` §11).
//!
//! An unknown key, a value of the wrong type or out of range is an error naming the line.

use std::fmt;

/// An authentication setting (`auth_unix_rw`, `auth_tcp`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `"none"`.
    None,
    /// `"sasl"` (refused at start: daemon-min speaks no SASL).
    Sasl,
    /// `"polkit"` (refused at start: daemon-min has no polkit).
    Polkit,
}

/// The daemon's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `listen_tls` (honoured only with `--listen`).
    pub listen_tls: bool,
    /// `listen_tcp` (honoured only with `--listen`).
    pub listen_tcp: bool,
    /// `tls_port`.
    pub tls_port: u16,
    /// `tcp_port`.
    pub tcp_port: u16,
    /// `listen_addr`.
    pub listen_addr: String,
    /// `unix_sock_dir`; `None` means the per-user default.
    pub unix_sock_dir: Option<String>,
    /// `unix_sock_rw_perms` (octal).
    pub unix_sock_rw_perms: u32,
    /// `unix_sock_ro_perms` (octal).
    pub unix_sock_ro_perms: u32,
    /// `auth_unix_rw`.
    pub auth_unix_rw: Auth,
    /// `auth_unix_ro`.
    pub auth_unix_ro: Auth,
    /// `auth_tcp`.
    pub auth_tcp: Auth,
    /// `auth_tls`.
    pub auth_tls: Auth,
    /// `key_file`.
    pub key_file: Option<String>,
    /// `cert_file`.
    pub cert_file: Option<String>,
    /// `ca_file`.
    pub ca_file: Option<String>,
    /// `crl_file`: the CA's revocation list (skipped if the file does not exist, as libvirtd).
    pub crl_file: Option<String>,
    /// `tls_no_verify_certificate`.
    pub tls_no_verify_certificate: bool,
    /// `tls_allowed_dn_list`: the client certificate DNs accepted over TLS (GLib wildcards
    /// `*` and `?`, matched against the DN as GnuTLS writes it); unset = any client the CA
    /// vouches for, an empty list = nobody (as libvirtd). Ignored with
    /// `tls_no_verify_certificate = 1`.
    pub tls_allowed_dn_list: Option<Vec<String>>,
    /// `max_clients`.
    pub max_clients: usize,
    /// `max_anonymous_clients`.
    pub max_anonymous_clients: usize,
    /// `max_client_requests`.
    pub max_client_requests: usize,
    /// `keepalive_interval` in seconds; `-1` turns the server's PINGs off.
    pub keepalive_interval: i64,
    /// `keepalive_count`.
    pub keepalive_count: u32,
}

impl Default for Config {
    /// libvirtd's defaults, except the auth settings: daemon-min has no SASL or polkit, so every
    /// socket defaults to `none`.
    fn default() -> Self {
        Self {
            listen_tls: true,
            listen_tcp: false,
            tls_port: 16514,
            tcp_port: 16509,
            listen_addr: "0.0.0.0".into(),
            unix_sock_dir: None,
            unix_sock_rw_perms: 0o700,
            unix_sock_ro_perms: 0o777,
            auth_unix_rw: Auth::None,
            auth_unix_ro: Auth::None,
            auth_tcp: Auth::None,
            auth_tls: Auth::None,
            key_file: None,
            cert_file: None,
            ca_file: None,
            crl_file: None,
            tls_no_verify_certificate: false,
            tls_allowed_dn_list: None,
            max_clients: 5000,
            max_anonymous_clients: 20,
            max_client_requests: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
        }
    }
}

/// A configuration error, naming the file's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file name as given.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(i64),
    Str(String),
    List(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => write!(f, "\"{s}\""),
            Self::List(l) => write!(f, "{l:?}"),
        }
    }
}

struct Parser<'a> {
    file: &'a str,
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl Parser<'_> {
    fn err(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError { file: self.file.to_owned(), line, message: message.into() }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips blanks and comments; with `newlines`, line ends too.
    fn skip(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if newlines => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    fn string(&mut self) -> Result<String, ConfigError> {
        let line = self.line;
        let quote = self.src[self.pos];
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == quote {
                let s = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
                self.pos += 1;
                return Ok(s);
            }
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
        Err(self.err(line, "unterminated string"))
    }

    fn value(&mut self) -> Result<Value, ConfigError> {
        let line = self.line;
        match self.peek() {
            Some(b'"' | b'\'') => self.string().map(Value::Str),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip(true);
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::List(items));
                        }
                        Some(b'"' | b'\'') => items.push(self.string()?),
                        _ => return Err(self.err(self.line, "expected a string or ']' in the list")),
                    }
                    self.skip(true);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {}
                        _ => return Err(self.err(self.line, "expected ',' or ']' in the list")),
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                text.parse().map(Value::Int).map_err(|_| self.err(line, format!("invalid number '{text}'")))
            }
            _ => Err(self.err(line, "expected a value (a number, a quoted string or a list)")),
        }
    }
}

fn parse_pairs(file: &str, text: &str) -> Result<Vec<(usize, String, Value)>, ConfigError> {
    let mut p = Parser { file, src: text.as_bytes(), pos: 0, line: 1 };
    let mut out = Vec::new();
    loop {
        p.skip(true);
        if p.peek().is_none() {
            return Ok(out);
        }
        let line = p.line;
        let key = p.ident().ok_or_else(|| p.err(line, "expected a setting name"))?;
        p.skip(false);
        if p.peek() != Some(b'=') {
            return Err(p.err(line, format!("expected '=' after '{key}'")));
        }
        p.pos += 1;
        p.skip(false);
        let value = p.value()?;
        p.skip(false);
        match p.peek() {
            None | Some(b'\n' | b';') => {
                if p.peek() == Some(b';') {
                    p.pos += 1;
                }
            }
            Some(_) => return Err(p.err(p.line, "unexpected text after the value")),
        }
        out.push((line, key, value));
    }
}

impl Config {
    /// Parses `text` (the contents of `file`) over the defaults.
    ///
    /// # Errors
    /// A syntax error, an unknown key, or a bad value, naming the line.
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        for (line, key, value) in parse_pairs(file, text)? {
            let err = |m: String| ConfigError { file: file.to_owned(), line, message: m };
            let int = |v: &Value| match v {
                Value::Int(i) => Ok(*i),
                other => Err(err(format!("{key} must be a number, not {other}"))),
            };
            let string = |v: &Value| match v {
                Value::Str(s) => Ok(s.clone()),
                other => Err(err(format!("{key} must be a quoted string, not {other}"))),
            };
            let boolean = |v: &Value| match int(v)? {
                0 => Ok(false),
                1 => Ok(true),
                other => Err(err(format!("{key} must be 0 or 1, not {other}"))),
            };
            let count = |v: &Value| {
                usize::try_from(int(v)?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| err(format!("{key} must be a positive number")))
            };
            let port = |v: &Value| {
                let s = string(v)?;
                s.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| err(format!("{key}: invalid port '{s}'")))
            };
            let perms = |v: &Value| {
                let s = string(v)?;
                u32::from_str_radix(&s, 8)
                    .ok()
                    .filter(|p| *p <= 0o7777)
                    .ok_or_else(|| err(format!("{key}: invalid octal permissions '{s}'")))
            };
            let auth = |v: &Value| match string(v)?.as_str() {
                "none" => Ok(Auth::None),
                "sasl" => Ok(Auth::Sasl),
                "polkit" => Ok(Auth::Polkit),
                other => Err(err(format!("{key}: unknown authentication type '{other}' (none, sasl or polkit)"))),
            };
            match key.as_str() {
                "listen_tls" => c.listen_tls = boolean(&value)?,
                "listen_tcp" => c.listen_tcp = boolean(&value)?,
                "tls_port" => c.tls_port = port(&value)?,
                "tcp_port" => c.tcp_port = port(&value)?,
                "listen_addr" => c.listen_addr = string(&value)?,
                "unix_sock_dir" => c.unix_sock_dir = Some(string(&value)?),
                "unix_sock_rw_perms" => c.unix_sock_rw_perms = perms(&value)?,
                "unix_sock_ro_perms" => c.unix_sock_ro_perms = perms(&value)?,
                "auth_unix_rw" => c.auth_unix_rw = auth(&value)?,
                "auth_unix_ro" => c.auth_unix_ro = auth(&value)?,
                "auth_tcp" => c.auth_tcp = auth(&value)?,
                "auth_tls" => c.auth_tls = auth(&value)?,
                "key_file" => c.key_file = Some(string(&value)?),
                "cert_file" => c.cert_file = Some(string(&value)?),
                "ca_file" => c.ca_file = Some(string(&value)?),
                "crl_file" => c.crl_file = Some(string(&value)?),
                "tls_no_verify_certificate" => c.tls_no_verify_certificate = boolean(&value)?,
                "tls_allowed_dn_list" => match value {
                    Value::List(l) => c.tls_allowed_dn_list = Some(l),
                    other => return Err(err(format!("{key} must be a list of strings, not {other}"))),
                },
                "max_clients" => c.max_clients = count(&value)?,
                "max_anonymous_clients" => c.max_anonymous_clients = count(&value)?,
                "max_client_requests" => c.max_client_requests = count(&value)?,
                "keepalive_interval" => {
                    let v = int(&value)?;
                    if v == 0 || v < -1 {
                        return Err(err(format!("{key} must be positive, or -1 to turn keepalive off")));
                    }
                    c.keepalive_interval = v;
                }
                "keepalive_count" => {
                    c.keepalive_count =
                        u32::try_from(int(&value)?).map_err(|_| err(format!("{key} must be 0 or more")))?;
                }
                other => return Err(err(format!("unknown setting '{other}'"))),
            }
        }
        Ok(c)
    }

    /// The first authentication setting that daemon-min cannot honour, if any.
    #[must_use]
    pub fn unsupported_auth(&self) -> Option<(&'static str, Auth)> {
        [
            ("auth_unix_rw", self.auth_unix_rw),
            ("auth_unix_ro", self.auth_unix_ro),
            ("auth_tcp", self.auth_tcp),
            ("auth_tls", self.auth_tls),
        ]
        .into_iter()
        .find(|(_, a)| *a != Auth::None)
    }

    /// The core's keepalive setting.
    #[must_use]
    pub fn keepalive(&self) -> Option<proto_core::KeepaliveConfig> {
        (self.keepalive_interval > 0).then(|| proto_core::KeepaliveConfig {
            interval: std::time::Duration::from_secs(self.keepalive_interval.unsigned_abs()),
            count: self.keepalive_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ci_configuration_parses() {
        let text = r#"
# comment
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"   # trailing comment
tcp_port = "16609"
unix_sock_dir = "/tmp/x"
auth_unix_rw = "none"
auth_tcp = 'none'
unix_sock_rw_perms = "0770"
tls_allowed_dn_list = [ "C=GB,O=Test,*",
                        "C=FR,*" ]
max_client_requests = 10
keepalive_interval = -1
keepalive_count = 0
"#;
        let c = Config::parse("t.conf", text).unwrap();
        assert!(!c.listen_tls && c.listen_tcp);
        assert_eq!(c.listen_addr, "127.0.0.1");
        assert_eq!(c.tcp_port, 16609);
        assert_eq!(c.unix_sock_dir.as_deref(), Some("/tmp/x"));
        assert_eq!(c.unix_sock_rw_perms, 0o770);
        assert_eq!(c.tls_allowed_dn_list, Some(vec!["C=GB,O=Test,*".to_owned(), "C=FR,*".to_owned()]));
        assert_eq!(c.max_client_requests, 10);
        assert_eq!(c.keepalive(), None);
        assert_eq!(c.unsupported_auth(), None);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("listen_tcp = 1\nbogus_key = 1\n", 2, "unknown setting 'bogus_key'"),
            ("\n\nlisten_tcp = 2\n", 3, "listen_tcp must be 0 or 1, not 2"),
            ("tcp_port = 16509\n", 1, "tcp_port must be a quoted string, not 16509"),
            ("tcp_port = \"99999\"\n", 1, "tcp_port: invalid port '99999'"),
            ("auth_tcp = \"kerberos\"\n", 1, "auth_tcp: unknown authentication type 'kerberos' (none, sasl or polkit)"),
            ("max_clients = 0\n", 1, "max_clients must be a positive number"),
            ("listen_addr = \"127.0.0.1\n", 1, "unterminated string"),
            ("listen_tcp 1\n", 1, "expected '=' after 'listen_tcp'"),
            ("unix_sock_rw_perms = \"0999\"\n", 1, "unix_sock_rw_perms: invalid octal permissions '0999'"),
            ("keepalive_interval = 0\n", 1, "keepalive_interval must be positive, or -1 to turn keepalive off"),
            ("x = [ \"a\" \"b\" ]\n", 1, "expected ',' or ']' in the list"),
        ];
        for (text, line, msg) in cases {
            let e = Config::parse("f.conf", text).unwrap_err();
            assert_eq!((e.line, e.message.as_str()), (line, msg), "{text:?}");
            assert_eq!(e.to_string(), format!("f.conf:{line}: {msg}"));
        }
    }

    #[test]
    fn sasl_is_reported() {
        let c = Config::parse("f", "auth_tcp = \"sasl\"").unwrap();
        assert_eq!(c.unsupported_auth(), Some(("auth_tcp", Auth::Sasl)));
    }
}
