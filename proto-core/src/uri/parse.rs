//! Parsing a libvirt URI: `driver[+transport]://[user@][host][:port]/[path][?query]` into a
//! [`LibvirtUri`], its query parameters, and the `name` that `CONNECT_OPEN` carries.

use std::fmt;
use std::str::FromStr;

use super::escape::{check_chars, decode, encode_into, is_mark_unreserved};
use super::{RemoteParams, UriError};

/// How the remote driver reaches the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP with TLS (the default when the URI has a host).
    Tls,
    /// Local unix socket (the default when the URI has no host).
    Unix,
    /// The `ssh` binary, speaking RPC over its stdin/stdout.
    Ssh,
    /// In-process SSH with libssh2.
    Libssh2,
    /// An external command given by `command=`.
    Ext,
    /// Plain TCP.
    Tcp,
    /// In-process SSH with libssh.
    Libssh,
}

impl Transport {
    /// The URI keyword (`tls`, `unix`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Unix => "unix",
            Self::Ssh => "ssh",
            Self::Libssh2 => "libssh2",
            Self::Ext => "ext",
            Self::Tcp => "tcp",
            Self::Libssh => "libssh",
        }
    }

    /// True for the transports that tunnel to a remote unix socket over SSH.
    #[must_use]
    pub const fn is_ssh(self) -> bool {
        matches!(self, Self::Ssh | Self::Libssh | Self::Libssh2)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = UriError;

    /// Case-insensitive, as in libvirt.
    fn from_str(s: &str) -> Result<Self, UriError> {
        [Self::Tls, Self::Unix, Self::Ssh, Self::Libssh2, Self::Ext, Self::Tcp, Self::Libssh]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UriError::UnknownTransport(s.to_owned()))
    }
}

/// One `name=value` of the query string, percent-decoded. `name` alone gives an empty value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    /// Decoded name.
    pub name: String,
    /// Decoded value.
    pub value: String,
}

/// A parsed libvirt connection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibvirtUri {
    /// The whole scheme as written, e.g. `qemu+ssh`.
    pub scheme: String,
    /// The driver part of the scheme, e.g. `qemu`.
    pub driver: String,
    /// The explicit `+transport`, if any.
    pub transport: Option<Transport>,
    /// Decoded user name.
    pub user: Option<String>,
    /// Decoded host, without IPv6 brackets; `None` when absent or empty.
    pub host: Option<String>,
    /// Port; `None` when absent, `0`, or given without a host (libvirt ignores those).
    pub port: Option<u16>,
    /// Decoded path, `""` when there is none.
    pub path: String,
    /// The raw query string (without `?`).
    pub query: Option<String>,
    /// The query parameters in order.
    pub params: Vec<QueryParam>,
    /// Decoded fragment.
    pub fragment: Option<String>,
}

impl FromStr for LibvirtUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        Self::parse(s)
    }
}

impl LibvirtUri {
    /// Parses a URI. As `virConnectOpen` does, it takes `xen` (any case) and `xen://` to mean
    /// `xen:///system`. It rejects `qemu://system`-style URIs (missing slash), unknown
    /// transports, and `+unix` with a host.
    ///
    /// The URI must follow RFC 3986's character rules, except that non-ASCII characters are
    /// allowed. Query parameters are split as libvirt splits them: on `&`, or on `;` when no
    /// `&` remains. A `=value` with no name is dropped.
    pub fn parse(input: &str) -> Result<Self, UriError> {
        let input = if input.eq_ignore_ascii_case("xen") || input == "xen://" { "xen:///system" } else { input };
        if input.is_empty() {
            return Err(UriError::Empty);
        }
        let (scheme, rest) = match input.split_once(':') {
            Some((s, r)) if is_scheme(s) => (s, r),
            _ => return Err(UriError::MissingScheme(input.to_owned())),
        };
        let (rest, fragment) = split_opt(rest, '#');
        let (rest, query) = split_opt(rest, '?');
        let (authority, raw_path) = match rest.strip_prefix("//") {
            Some(r) => {
                let slash = r.find('/').unwrap_or(r.len());
                (Some(&r[..slash]), &r[slash..])
            }
            None => (None, rest),
        };
        let (user, host, port) = match authority {
            Some(a) => parse_authority(a)?,
            None => (None, None, None),
        };
        check_chars(raw_path, "path", b":@/")?;
        let path = decode(raw_path, "path")?;
        let params = match query {
            Some(q) => {
                check_chars(q, "query", b":@/?")?;
                parse_query(q)?
            }
            None => Vec::new(),
        };
        let fragment = match fragment {
            Some(f) => {
                check_chars(f, "fragment", b":@/?")?;
                Some(decode(f, "fragment")?)
            }
            None => None,
        };
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d, Some(t.parse::<Transport>()?)),
            None => (scheme, None),
        };
        if let (Some(Transport::Unix), Some(h)) = (transport, &host) {
            return Err(UriError::UnixWithHost(h.clone()));
        }
        if let Some(h) = host.as_deref().filter(|h| matches!(*h, "system" | "session")) {
            if matches!(scheme, "qemu" | "vbox" | "vz") {
                let (uri, scheme, host) = (input.to_owned(), scheme.to_owned(), h.to_owned());
                return Err(UriError::MissingSlash { uri, scheme, host });
            }
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            driver: driver.to_owned(),
            transport,
            user,
            host,
            port,
            path,
            query: query.map(str::to_owned),
            params,
            fragment,
        })
    }

    /// The transport the remote driver uses: the explicit one, else `tls` with a host and
    /// `unix` without one.
    #[must_use]
    pub fn effective_transport(&self) -> Transport {
        match (self.transport, &self.host) {
            (Some(t), _) => t,
            (None, Some(_)) => Transport::Tls,
            (None, None) => Transport::Unix,
        }
    }

    /// True when libvirt would treat the URI as remote, i.e. it has a host or a transport.
    /// (This crate always goes through the daemon, so [`Self::resolve`] works on local URIs
    /// as well.)
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.host.is_some() || self.transport.is_some()
    }

    /// The first query parameter with exactly this name.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// The `name` sent in `CONNECT_OPEN`. It is `name=` if given; `""` for the `remote` driver,
    /// which lets the server probe; otherwise `driver://` followed by the path, the query
    /// parameters the remote driver does not know, and the fragment.
    pub fn connect_open_name(&self) -> Result<String, UriError> {
        Ok(self.build_name(&RemoteParams::from_query(&self.params)?))
    }

    pub(super) fn build_name(&self, params: &RemoteParams) -> String {
        if let Some(n) = &params.name {
            return n.clone();
        }
        if self.driver == "remote" {
            return String::new();
        }
        let mut out = format!("{}://", self.driver);
        encode_into(&mut out, &self.path, |c| is_mark_unreserved(c) || b"/;@&=+$,".contains(&c));
        for (i, p) in params.passthrough.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&p.name);
            out.push('=');
            encode_into(&mut out, &p.value, |c| c.is_ascii_alphanumeric() || b"-._~".contains(&c));
        }
        if let Some(f) = &self.fragment {
            out.push('#');
            encode_into(&mut out, f, |c| is_mark_unreserved(c) || b";/?:@&=+$,[]".contains(&c));
        }
        out
    }
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic()) && b.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

fn split_opt(s: &str, sep: char) -> (&str, Option<&str>) {
    match s.split_once(sep) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

type Authority = (Option<String>, Option<String>, Option<u16>);

fn parse_authority(a: &str) -> Result<Authority, UriError> {
    let (user, hostport) = match a.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, a),
    };
    let user = match user {
        Some(u) => {
            check_chars(u, "user", b":")?;
            Some(decode(u, "user")?).filter(|u| !u.is_empty())
        }
        None => None,
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let (lit, after) = r.split_once(']').ok_or(UriError::InvalidCharacter { ch: '[', component: "host" })?;
        check_chars(lit, "host", b":")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None => match after.chars().next() {
                Some(ch) => return Err(UriError::InvalidCharacter { ch, component: "host" }),
                None => None,
            },
        };
        (decode(lit, "host")?, port)
    } else {
        let (h, p) = split_opt(hostport, ':');
        check_chars(h, "host", b"")?;
        (decode(h, "host")?, p)
    };
    let port = port.map(parse_port).transpose()?.flatten();
    Ok(if host.is_empty() { (user, None, None) } else { (user, Some(host), port) })
}

/// Decimal port; `0` means "not given", as in libvirt.
fn parse_port(p: &str) -> Result<Option<u16>, UriError> {
    let bad = || UriError::InvalidPort(p.to_owned());
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u16 = p.parse().map_err(|_| bad())?;
    Ok((n != 0).then_some(n))
}

fn parse_query(q: &str) -> Result<Vec<QueryParam>, UriError> {
    let mut out = Vec::new();
    let mut rest = q;
    while !rest.is_empty() {
        let end = rest.find('&').or_else(|| rest.find(';')).unwrap_or(rest.len());
        let seg = &rest[..end];
        match seg.find('=') {
            _ if seg.is_empty() => {}
            Some(0) => {}
            Some(eq) => {
                out.push(QueryParam { name: decode(&seg[..eq], "query")?, value: decode(&seg[eq + 1..], "query")? })
            }
            None => out.push(QueryParam { name: decode(seg, "query")?, value: String::new() }),
        }
        rest = rest.get(end + 1..).unwrap_or("");
    }
    Ok(out)
}
