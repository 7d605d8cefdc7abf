//! The URI parser and resolver, end to end: libvirt's documented examples, errors, sockets,
//! command lines and TLS paths, and property tests over arbitrary strings.

use super::escape::encode_into;
use super::*;
use proptest::prelude::*;

fn user_env() -> ClientEnv {
    ClientEnv {
        is_root: false,
        runtime_dir: Some("/run/user/1000".into()),
        home: Some("/home/u".into()),
        ..ClientEnv::default()
    }
}

fn root_env() -> ClientEnv {
    ClientEnv { is_root: true, home: Some("/root".into()), ..ClientEnv::default() }
}

fn resolve(uri: &str, env: &ClientEnv) -> RemoteTarget {
    LibvirtUri::parse(uri).and_then(|u| u.resolve(env, false)).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

fn err(uri: &str) -> UriError {
    LibvirtUri::parse(uri).and_then(|u| u.resolve(&user_env(), false)).expect_err(uri)
}

fn path(p: &str) -> Option<UnixSocket> {
    Some(UnixSocket::Path(p.into()))
}

fn probe(direct: &str, legacy: &str) -> Option<UnixSocket> {
    Some(UnixSocket::Probe { direct: direct.into(), legacy: legacy.into() })
}

/// URI, transport, host, port, socket, `CONNECT_OPEN` name.
type Case = (String, Transport, &'static str, Option<u16>, Option<UnixSocket>, &'static str);

/// URIs from docs/uri.rst (and the forms listed in the remote driver), resolved as a
/// non-root user with `XDG_RUNTIME_DIR=/run/user/1000`.
#[test]
fn documented_examples() {
    use Transport::*;
    const SYS: &str = "/var/run/libvirt/libvirt-sock";
    let kh = "?known_hosts=/home/user/.ssh/known_hosts";
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("test:///default".into(), Unix, "localhost", None, probe("/var/run/libvirt/virttestd-sock", SYS), "test:///default"),
        ("test:///path/to/host/definitions".into(), Unix, "localhost", None,
         probe("/var/run/libvirt/virttestd-sock", SYS), "test:///path/to/host/definitions"),
        ("qemu:///system".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtqemud-sock", SYS), "qemu:///system"),
        ("qemu:///session".into(), Unix, "localhost", None,
         probe("/run/user/1000/libvirt/virtqemud-sock", "/run/user/1000/libvirt/libvirt-sock"), "qemu:///session"),
        ("xen:///system".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
        ("xen".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
        ("xen://".into(), Unix, "localhost", None, probe("/var/run/libvirt/virtxend-sock", SYS), "xen:///system"),
        ("xen+ssh://rjones@towada/system".into(), Ssh, "towada", None, path(SYS), "xen:///system"),
        ("xen://towada/system".into(), Tls, "towada", Some(16514), None, "xen:///system"),
        ("xen://towada/system?no_verify=1".into(), Tls, "towada", Some(16514), None, "xen:///system"),
        ("qemu+unix:///system?socket=/opt/libvirt/run/libvirt/libvirt-sock".into(), Unix, "localhost", None,
         path("/opt/libvirt/run/libvirt/libvirt-sock"), "qemu:///system"),
        ("test+tcp://localhost:5000/default".into(), Tcp, "localhost", Some(5000), None, "test:///default"),
        (format!("qemu+libssh2://user@host/system{kh}"), Libssh2, "host", Some(22), path(SYS), "qemu:///system"),
        (format!("qemu+libssh://user@host/system{kh}"), Libssh, "host", Some(22), path(SYS), "qemu:///system"),
        // protocol-facts §7.1
        ("test+tcp://127.0.0.1:16509/default".into(), Tcp, "127.0.0.1", Some(16509), None, "test:///default"),
        // the "hard answer" list in doRemoteOpen
        ("qemu+tls:///system".into(), Tls, "localhost", Some(16514), None, "qemu:///system"),
        ("qemu+tcp:///system".into(), Tcp, "localhost", Some(16509), None, "qemu:///system"),
        ("qemu+ssh:///system".into(), Ssh, "localhost", None, path(SYS), "qemu:///system"),
        ("qemu+TLS://h/system".into(), Tls, "h", Some(16514), None, "qemu:///system"),
        ("qemu+ext:///system?command=/bin/tunnel".into(), Ext, "localhost", None, None, "qemu:///system"),
        ("qemu+tcp://[::1]:1234/system".into(), Tcp, "::1", Some(1234), None, "qemu:///system"),
        ("qemu://[fe80::1]/system".into(), Tls, "fe80::1", Some(16514), None, "qemu:///system"),
        ("qemu+tcp://h:0/system".into(), Tcp, "h", Some(16509), None, "qemu:///system"),
        ("remote+tcp://h/".into(), Tcp, "h", Some(16509), None, ""),
        ("qemu+ssh://h/system?name=qemu%3A%2F%2F%2Fsession".into(), Ssh, "h", None, path(SYS), "qemu:///session"),
    ];
    for (uri, transport, host, port, socket, name) in cases {
        let t = resolve(&uri, &user_env());
        assert_eq!((t.transport, t.host.as_str(), t.port), (transport, host, port), "{uri}");
        assert_eq!(t.socket, socket, "{uri}");
        assert_eq!(t.name, name, "{uri}");
    }
}

#[test]
fn parsed_parts() {
    let u = LibvirtUri::parse("qemu+SSH://us%65r@host:2222/sys%20tem?a=1&keyfile=/k#frag").unwrap();
    assert_eq!((u.scheme.as_str(), u.driver.as_str(), u.transport), ("qemu+SSH", "qemu", Some(Transport::Ssh)));
    assert_eq!((u.user.as_deref(), u.host.as_deref(), u.port), (Some("user"), Some("host"), Some(2222)));
    assert_eq!((u.path.as_str(), u.query.as_deref()), ("/sys tem", Some("a=1&keyfile=/k")));
    assert_eq!((u.param("a"), u.param("keyfile"), u.fragment.as_deref()), (Some("1"), Some("/k"), Some("frag")));
    assert!(u.is_remote() && !LibvirtUri::parse("qemu:///system").unwrap().is_remote());
    assert_eq!(u.connect_open_name().unwrap(), "qemu:///sys%20tem?a=1#frag");
    assert_eq!("test:/default".parse::<LibvirtUri>().unwrap().connect_open_name().unwrap(), "test:///default");
    assert_eq!(LibvirtUri::parse("test+tcp://:5000/x").unwrap().port, None);
}

#[test]
fn query_params_and_name() {
    let u = "test+tcp://h/default?foo=a%20b%2F&Socket=/s&bar&=dropped&&no_verify=1&x=%C3%A9";
    let t = resolve(u, &user_env());
    assert_eq!(t.name, "test:///default?foo=a%20b%2F&bar=&x=%C3%A9");
    assert_eq!((t.params.socket.as_deref(), t.params.no_verify), (Some("/s"), true));
    // `;` separates only when no `&` is left; the last value of a parameter wins.
    let u = LibvirtUri::parse("test:///d?a=1;b=2&c=3;d=4").unwrap();
    let names: Vec<_> = u.params.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
    assert_eq!(names, [("a", "1;b=2"), ("c", "3"), ("d", "4")]);
    let p = LibvirtUri::parse("qemu+ssh://h/system?keyfile=/a&KEYFILE=/b&authfile=/f").unwrap();
    let t = p.resolve(&user_env(), false).unwrap();
    assert_eq!((t.params.keyfile.as_deref(), t.params.authfile.as_deref()), (Some("/b"), Some("/f")));
    assert_eq!(t.name, "qemu:///system");
    assert_eq!(resolve("test:///a:b;c", &user_env()).name, "test:///a%3Ab;c");
}

#[test]
fn typed_remote_params() {
    let q = "?command=/opt/openssh/bin/ssh&netcat=/opt/netcat/bin/nc&keyfile=/root/.ssh/example_key\
             &pkipath=/tmp/pki/client&tls_priority=NORMAL:-VERS-SSL3.0&mode=legacy&proxy=netcat\
             &known_hosts_verify=ignore&sshauth=privkey,agent&auth=sasl.gssapi&no_sanity=%202&no_tty=0";
    let t = resolve(&format!("qemu+ssh://h/system{q}"), &user_env());
    let p = &t.params;
    assert_eq!(p.command.as_deref(), Some("/opt/openssh/bin/ssh"));
    assert_eq!(p.netcat.as_deref(), Some("/opt/netcat/bin/nc"));
    assert_eq!(p.keyfile.as_deref(), Some("/root/.ssh/example_key"));
    assert_eq!(p.pkipath.as_deref(), Some("/tmp/pki/client"));
    assert_eq!(p.tls_priority.as_deref(), Some("NORMAL:-VERS-SSL3.0"));
    assert_eq!((p.mode, p.proxy), (Some(DaemonMode::Legacy), Some(ProxyMode::Netcat)));
    assert_eq!((p.known_hosts_verify.as_deref(), p.sshauth.as_deref()), (Some("ignore"), Some("privkey,agent")));
    assert_eq!((p.auth.as_deref(), p.no_sanity, p.no_tty, p.no_verify), (Some("sasl.gssapi"), true, false, false));
    assert!(p.passthrough.is_empty() && t.name == "qemu:///system");
    assert!(resolve("qemu:///system?no_verify=-1", &user_env()).params.no_verify);
}

#[test]
fn errors() {
    assert_eq!(err("qemu+foo://host/system"), UriError::UnknownTransport("foo".into()));
    assert_eq!(err("qemu+://host/system"), UriError::UnknownTransport(String::new()));
    assert_eq!(err("qemu+unix://host/system"), UriError::UnixWithHost("host".into()));
    assert_eq!(err("qemu+ext:///system"), UriError::MissingCommand);
    assert_eq!(err("qemu+tcp://h:abc/system"), UriError::InvalidPort("abc".into()));
    assert_eq!(err("qemu+tcp://h:65536/system"), UriError::InvalidPort("65536".into()));
    assert_eq!(err("qemu+tcp://h:/system"), UriError::InvalidPort(String::new()));
    assert_eq!(err("test:///default?x=%zz"), UriError::BadPercentEncoding("query"));
    assert_eq!(err("test:///d%4"), UriError::BadPercentEncoding("path"));
    assert_eq!(err("test:///%FF"), UriError::InvalidUtf8("path"));
    assert_eq!(err("test:///a b"), UriError::InvalidCharacter { ch: ' ', component: "path" });
    assert_eq!(err("qemu+tcp://a@b@c/"), UriError::InvalidCharacter { ch: '@', component: "host" });
    assert_eq!(err("qemu+tcp://[::1/"), UriError::InvalidCharacter { ch: '[', component: "host" });
    assert_eq!(err("qemu+tcp://[::1]x/"), UriError::InvalidCharacter { ch: 'x', component: "host" });
    assert_eq!(err(""), UriError::Empty);
    assert_eq!(err("/just/a/path"), UriError::MissingScheme("/just/a/path".into()));
    assert_eq!(err("1qemu:///system"), UriError::MissingScheme("1qemu:///system".into()));
    assert!(matches!(err("qemu://system"), UriError::MissingSlash { ref host, .. } if host == "system"));
    assert!(LibvirtUri::parse("qemu+ssh://system/").is_ok());
    let bad_bool = UriError::InvalidBool { name: "no_tty".into(), value: "yes".into() };
    assert_eq!(err("qemu+ssh://h/system?no_tty=yes"), bad_bool);
    assert!(matches!(err("qemu:///system?no_verify"), UriError::InvalidBool { .. }));
    assert_eq!(err("qemu:///system?mode=Direct"), UriError::UnknownMode("Direct".into()));
    assert_eq!(err("qemu:///system?proxy=ssh"), UriError::UnknownProxy("ssh".into()));
    assert_eq!(err("qemu+ssh://h/system?mode=direct"), UriError::DirectModeUnsupported(Transport::Ssh));
    assert_eq!(err("qemu+ssh://h/system?proxy=native&netcat=nc"), UriError::NetcatWithNativeProxy);
    assert!(resolve("qemu+tcp://h/system?mode=direct&proxy=native&netcat=nc", &user_env()).socket.is_none());
    let no_home = ClientEnv::default();
    let u = LibvirtUri::parse("qemu:///session").unwrap();
    assert_eq!(u.resolve(&no_home, false), Err(UriError::MissingHome("session socket path")));
    assert!(err("qemu+bogus://h/").to_string().contains("unknown transport 'bogus'"));
}

#[test]
fn sockets_modes_and_flags() {
    let (user, root) = (user_env(), root_env());
    let t = resolve("qemu:///system?mode=direct", &root);
    assert_eq!(t.socket, path("/var/run/libvirt/virtqemud-sock"));
    assert_eq!(resolve("qemu:///system?mode=legacy", &root).socket, path("/var/run/libvirt/libvirt-sock"));
    let ro = LibvirtUri::parse("qemu:///system?mode=legacy").unwrap().resolve(&root, true).unwrap();
    assert_eq!((ro.socket.clone(), ro.connect_open_flags()), (path("/var/run/libvirt/libvirt-sock-ro"), 1));
    // Session: no read-only socket; root never uses the session socket.
    let ro = LibvirtUri::parse("qemu:///session?mode=legacy").unwrap().resolve(&user, true).unwrap();
    assert_eq!((ro.socket.clone(), ro.connect_open_flags()), (path("/run/user/1000/libvirt/libvirt-sock"), 7));
    assert_eq!(resolve("qemu:///session?mode=legacy", &root).socket, path("/var/run/libvirt/libvirt-sock"));
    // Without XDG_RUNTIME_DIR: XDG_CACHE_HOME, then ~/.cache.
    let mut env = ClientEnv { runtime_dir: Some(String::new()), ..user.clone() };
    let sock = |env: &ClientEnv| resolve("qemu:///session?mode=legacy", env).socket;
    assert_eq!(sock(&env), path("/home/u/.cache/libvirt/libvirt-sock"));
    env.cache_home = Some("/c/".into());
    assert_eq!(sock(&env), path("/c/libvirt/libvirt-sock"));
    // CONNECT_OPEN flags: test+… URIs are session URIs; autostart only for local unix.
    assert_eq!(resolve("test+tcp://h/default", &user).connect_open_flags(), OPEN_FLAG_USER);
    assert_eq!(resolve("test+tcp://h/default", &root).connect_open_flags(), 0);
    assert_eq!(resolve("test:///default", &user).connect_open_flags(), 0);
    assert_eq!(resolve("qemu:///session", &user).connect_open_flags(), 6);
    let env = ClientEnv { autostart: Some("0".into()), ..user.clone() };
    assert_eq!(resolve("qemu:///session", &env).connect_open_flags(), OPEN_FLAG_USER);
    // Probing `mode=auto`.
    let s = resolve("qemu:///system", &root).socket.unwrap();
    assert_eq!(s.choose(|p| p.ends_with("virtqemud-sock"), false), "/var/run/libvirt/virtqemud-sock");
    assert_eq!(s.choose(|p| p.ends_with("libvirt-sock"), true), "/var/run/libvirt/libvirt-sock");
    assert_eq!(s.choose(|_| false, true), "/var/run/libvirt/virtqemud-sock");
    assert_eq!(s.choose(|_| false, false), "/var/run/libvirt/libvirt-sock");
    // No URI at all.
    let p = RemoteTarget::for_probe(&user, false).unwrap();
    assert_eq!(
        (p.name.as_str(), p.socket.clone(), p.connect_open_flags()),
        ("", path("/run/user/1000/libvirt/libvirt-sock"), 6)
    );
    let p = RemoteTarget::for_probe(&root, true).unwrap();
    assert_eq!((p.socket.clone(), p.connect_open_flags()), (path("/var/run/libvirt/libvirt-sock-ro"), 1));
    assert!(resolve("qemu+tls://h/system", &root).is_secure() && !resolve("qemu+tcp://h/s", &root).is_secure());
}

#[test]
fn ssh_command_line() {
    let t = resolve("qemu+ssh://root@host:2222/system?keyfile=/k&no_tty=1&no_verify=1", &root_env());
    let helper = "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     \
                  virt-ssh-helper 'qemu:///system'; else    \
                  if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;\
                  'nc' $ARG -U /var/run/libvirt/libvirt-sock; fi'";
    let argv = [
        "ssh",
        "-p",
        "2222",
        "-l",
        "root",
        "-i",
        "/k",
        "-T",
        "-e",
        "none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "--",
        "host",
        helper,
    ];
    assert_eq!(t.ssh_argv().unwrap(), argv);
    assert_eq!(t.proxy, ProxyMode::Auto);

    // Defaults: no port, no user; command= replaces the binary.
    let t = resolve("qemu+ssh://host/system?command=/opt/ssh", &root_env());
    assert_eq!(t.ssh_argv().unwrap()[..6], ["/opt/ssh", "-T", "-e", "none", "--", "host"]);

    // socket= forces netcat; netcat= too, and is double shell-escaped.
    let t = resolve("qemu+ssh://h/system?socket=/s", &root_env());
    let nc =
        "if 'nc' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'nc' $ARG -U /s";
    assert_eq!((t.proxy, t.remote_helper_command().unwrap()), (ProxyMode::Netcat, format!("sh -c '{nc}'")));
    let t = resolve("qemu+ssh://h/system?netcat=/my%20nc", &root_env());
    assert_eq!(t.proxy, ProxyMode::Netcat);
    assert!(t.remote_helper_command().unwrap().starts_with(r"sh -c 'if '''\''/my nc'\'''' -q 2>&1"));

    // Session URIs default to the native helper; read-only adds -r; odd names get quoted twice.
    let t = LibvirtUri::parse("qemu+ssh://h/session").unwrap().resolve(&user_env(), true).unwrap();
    assert_eq!(t.remote_helper_command().unwrap(), "sh -c 'virt-ssh-helper -r 'qemu:///session''");
    let t = resolve("qemu+ssh://h/system?proxy=native&x=1", &root_env());
    assert_eq!(t.remote_helper_command().unwrap(), r"sh -c 'virt-ssh-helper '''\''qemu:///system?x=1'\'''''");
    // libssh runs the same remote command in-process, with port 22 and user root by default.
    let t = resolve("qemu+libssh://h/system", &root_env());
    assert_eq!((t.port, t.user.as_deref(), t.ssh_argv()), (Some(22), Some("root"), None));
    assert!(t.remote_helper_command().is_some());
    assert_eq!(resolve("qemu+tcp://h/system", &root_env()).remote_helper_command(), None);
}

#[test]
fn ext_command() {
    let t = resolve("qemu+ext:///system?command=/usr/bin/my%20tunnel", &root_env());
    assert_eq!(t.ext_argv().unwrap(), ["/usr/bin/my tunnel"]);
    assert_eq!((t.socket, t.port), (None, None));
    assert_eq!(resolve("qemu+ssh://h/system?command=x", &root_env()).ext_argv(), None);
}

#[test]
fn tls_pki_paths() {
    let sys = TlsPkiPaths::system(false);
    assert_eq!(sys.ca_crl, "/etc/pki/CA/cacrl.pem");
    assert_eq!(
        (sys.cert.as_str(), sys.key.as_str()),
        ("/etc/pki/libvirt/clientcert.pem", "/etc/pki/libvirt/private/clientkey.pem")
    );
    assert_eq!(TlsPkiPaths::system(true).key, "/etc/pki/libvirt/private/serverkey.pem");
    let t = resolve("qemu+tls://h/system?pkipath=/tmp/pki/client", &user_env());
    let p = t.tls_pki_paths(&user_env(), |_| false);
    assert_eq!(p, TlsPkiPaths::in_dir("/tmp/pki/client", false));
    assert_eq!(p.key, "/tmp/pki/client/clientkey.pem");
    let t = resolve("qemu://h/system", &user_env());
    assert_eq!(t.tls_pki_paths(&root_env(), |_| true), sys);
    // Non-root: file by file from ~/.pki/libvirt, cert and key only as a pair.
    let p = t.tls_pki_paths(&user_env(), |f| f.ends_with("cacert.pem") || f.ends_with("clientcert.pem"));
    assert_eq!(p.ca_cert, "/home/u/.pki/libvirt/cacert.pem");
    assert_eq!((p.ca_crl, p.cert, p.key), (sys.ca_crl.clone(), sys.cert.clone(), sys.key.clone()));
    let p = t.tls_pki_paths(&user_env(), |f| f.starts_with("/home"));
    assert_eq!(p, TlsPkiPaths::in_dir("/home/u/.pki/libvirt", false));
}

#[test]
fn default_uri_selection() {
    assert_eq!(select_uri(Some("qemu:///system"), Some("test:///default")), Some("qemu:///system"));
    assert_eq!(select_uri(Some(""), Some("test:///default")), Some("test:///default"));
    assert_eq!(select_uri(None, Some("test:///default")), Some("test:///default"));
    assert_eq!(select_uri(None, Some("")), None);
    assert_eq!(select_uri(None, None), None);
}

fn exercise(s: &str, env: &ClientEnv, ro: bool) {
    if let Ok(u) = LibvirtUri::parse(s) {
        let _ = u.connect_open_name();
        if let Ok(t) = u.resolve(env, ro) {
            let _ = (t.ssh_argv(), t.ext_argv(), t.remote_helper_command(), t.connect_open_flags());
            let _ = t.tls_pki_paths(env, |f| f.len() % 2 == 0);
            if let Some(s) = &t.socket {
                let _ = s.choose(|f| f.len() % 3 == 0, ro);
            }
        }
    }
}

proptest! {
    #[test]
    fn random_strings_never_panic(s in any::<String>(), root: bool, ro: bool) {
        exercise(&s, &ClientEnv { is_root: root, ..user_env() }, ro);
    }

    #[test]
    fn uri_like_strings_never_panic(s in "[a-zA-Z0-9+:/@\\[\\]%?&=#;._~ é-]{0,48}", ro: bool) {
        exercise(&s, &user_env(), ro);
        exercise(&s, &ClientEnv::default(), ro);
    }

    /// The derived `name` parses again, with the same driver, path and passed-through params.
    #[test]
    fn name_round_trips(
        driver in "[a-z]{1,6}",
        transport in "(|\\+tcp|\\+tls|\\+ssh|\\+libssh|\\+ext)",
        host in "(|h|[0-9.]{1,7}|\\[::1\\])",
        path in "(/[a-zA-Z0-9:@;=+$,!*'()~%]{0,5}){0,3}",
        values in proptest::collection::vec(any::<String>(), 0..3),
    ) {
        let query: Vec<String> = values.iter().enumerate().map(|(i, v)| {
            let mut enc = String::new();
            encode_into(&mut enc, v, |c| c.is_ascii_alphanumeric());
            format!("x{i}={enc}")
        }).collect();
        let s = format!("{driver}{transport}://{host}{path}?command=c&{}", query.join("&"));
        if let Ok(u) = LibvirtUri::parse(&s) {
            let name = u.resolve(&user_env(), false).unwrap().name;
            let back = LibvirtUri::parse(&name).unwrap();
            prop_assert_eq!((&back.driver, &back.path, back.host.as_deref()), (&u.driver, &u.path, None));
            let vals: Vec<&str> = back.params.iter().map(|p| p.value.as_str()).collect();
            prop_assert_eq!(vals, values.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
