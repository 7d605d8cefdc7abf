//! daemon-min: a minimal libvirtd on its built-in in-memory hypervisor.
//!
//! ```text
//! daemon-min [--listen] [--config FILE] [--timeout SECS] [--pid-file FILE] [--state-dir DIR]
//!            [--runtime smol|blocking] [--audit FILE]
//! ```
//!
//! With no options it serves a read-write and a read-only unix socket in a per-user runtime
//! directory that does not collide with a real libvirtd, and prints the URIs to use.
#![forbid(unsafe_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use adapter_blocking::server::{Listener as BListener, Server as BServer};
use adapter_smol::server::{serve, ServeOptions, ServerGroup};
use clap::Parser;
use daemon_min::config::Config;
use daemon_min::dispatch::Daemon;
use daemon_min::hypervisor::{host, Hypervisor, SharedHypervisor, StateDir};
use daemon_min::serve::{served_programs, DaemonHandler};
use proto_core::server::ServerConfig;
use smol::Async;

/// A minimal libvirtd serving libvirt's remote protocol on an in-memory hypervisor.
#[derive(Debug, Parser)]
#[command(name = "daemon-min", version)]
struct Args {
    /// Listen for TCP/IP connections (per listen_tcp / listen_tls in the config).
    #[arg(short = 'l', long)]
    listen: bool,
    /// Configuration file in libvirtd.conf syntax.
    #[arg(short = 'f', long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Exit after this many seconds with no client connected.
    #[arg(short = 't', long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Write the daemon's pid to this file.
    #[arg(short = 'p', long = "pid-file", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// Keep persistent objects in this directory across restarts.
    #[arg(long = "state-dir", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Test hook: every fsync of the state directory takes this many milliseconds longer (a
    /// deliberately slow disk).
    #[arg(long, hide = true, value_name = "MS")]
    debug_slow_fsync_ms: Option<u64>,
    /// The runtime: smol (the default), or blocking (one `polling` loop on one thread).
    #[arg(long, default_value = "smol", value_parser = ["smol", "blocking"])]
    runtime: String,
    /// Record every protocol deviation a client makes in FILE (one line each; empty: none).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Test-only: break one behaviour the named conformance tier checks (see
    /// `daemon_min::conformance_break`).
    #[arg(long = "conformance-break", value_name = "TIER", hide = true, value_parser = ["protocol", "semantics", "corpus"])]
    conformance_break: Option<String>,
}

fn default_socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("daemon-min"),
        None => {
            let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
            if uid == 0 {
                PathBuf::from("/run/daemon-min")
            } else {
                std::env::temp_dir().join(format!("daemon-min-{uid}"))
            }
        }
    }
}

fn bind_unix(path: &Path, mode: u32) -> Result<UnixListener, String> {
    if path.exists() {
        // A socket nobody answers on is a leftover; one that answers belongs to a live daemon.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!("{} is in use by another daemon", path.display()));
        }
        let _ = std::fs::remove_file(path);
    }
    let l = UnixListener::bind(path).map_err(|e| format!("cannot bind {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set permissions of {}: {e}", path.display()))?;
    Ok(l)
}

fn run(args: Args) -> Result<(), String> {
    // Installed before any socket is bound or the banner printed: a SIGTERM that arrives as soon
    // as a client can see the daemon must already shut it down cleanly, not kill it.
    let signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Config::parse(&path.display().to_string(), &text).map_err(|e| e.to_string())?
        }
        None => Config::default(),
    };
    if let Some((key, auth)) = config.unsupported_auth() {
        return Err(format!("{key}: {auth:?} authentication is not supported by daemon-min (use \"none\")"));
    }
    if let Some(b) = args.conformance_break.as_deref().and_then(daemon_min::conformance_break::Break::from_name) {
        daemon_min::conformance_break::set(b);
    }
    if let Some(path) = &args.audit {
        daemon_min::audit::init(path).map_err(|e| format!("cannot create the audit file {}: {e}", path.display()))?;
    }
    let hostname = host::system_hostname();
    // With a state directory, it is written by its own thread; at exit, whatever that thread
    // still has queued is written first (`state`).
    let (daemon, state) = match &args.state_dir {
        Some(dir) => {
            let dir = StateDir::open(dir).map_err(|e| format!("cannot open state dir {}: {e}", dir.display()))?;
            let dir = dir.with_sync_delay(Duration::from_millis(args.debug_slow_fsync_ms.unwrap_or(0)));
            let model = Hypervisor::open_state_dir(&dir, &hostname).map_err(|e| format!("cannot load state: {e}"))?;
            let hv = SharedHypervisor::with_state_dir(model, dir);
            (Daemon::with_default(hv.clone(), hostname), Some(hv))
        }
        None => (Daemon::new(hostname), None),
    };
    let daemon = Arc::new(daemon);
    let handler = Arc::new(DaemonHandler::new(daemon.clone()));

    let sock_dir = config.unix_sock_dir.as_ref().map_or_else(default_socket_dir, PathBuf::from);
    std::fs::create_dir_all(&sock_dir).map_err(|e| format!("cannot create {}: {e}", sock_dir.display()))?;
    let rw_path = sock_dir.join("libvirt-sock");
    let ro_path = sock_dir.join("libvirt-sock-ro");
    let rw = bind_unix(&rw_path, config.unix_sock_rw_perms)?;
    let ro = bind_unix(&ro_path, config.unix_sock_ro_perms)?;

    let group = ServerGroup::default();
    let server_config = ServerConfig::default()
        .with_programs(served_programs())
        .with_max_client_requests(config.max_client_requests)
        .with_keepalive(config.keepalive())
        .with_audit(daemon_min::audit::enabled());
    let options = ServeOptions {
        server_config,
        tls: None,
        max_clients: config.max_clients,
        read_only: false,
        group: group.clone(),
    };

    let mut tcp = None;
    let mut tls = None;
    if args.listen && config.listen_tcp {
        let addr = format!("{}:{}", config.listen_addr, config.tcp_port);
        tcp = Some(std::net::TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?);
    }
    if args.listen && config.listen_tls {
        let pki = proto_core::uri::TlsPkiPaths::system(true);
        // As libvirtd: with any file named in the config, the revocation list is `crl_file`
        // (none if unset); otherwise the default one. A missing list is skipped.
        let named =
            [&config.ca_file, &config.cert_file, &config.key_file, &config.crl_file].iter().any(|f| f.is_some());
        let crl = if named { config.crl_file.clone() } else { Some(pki.ca_crl) };
        let crl = crl.filter(|p| Path::new(p).exists());
        let ca = config.ca_file.clone().unwrap_or(pki.ca_cert);
        let cert = config.cert_file.clone().unwrap_or(pki.cert);
        let key = config.key_file.clone().unwrap_or(pki.key);
        let mut tls_config = adapter_blocking::transport::tls_server_config(
            &ca,
            crl.as_deref(),
            &cert,
            &key,
            config.tls_no_verify_certificate,
        )
        .map_err(|e| e.to_string())?;
        if let (false, Some(list)) = (config.tls_no_verify_certificate, &config.tls_allowed_dn_list) {
            tls_config = tls_config.with_client_check(daemon_min::tls_acl::allowed_dn_check(list.clone()));
        }
        let addr = format!("{}:{}", config.listen_addr, config.tls_port);
        let l = std::net::TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        tls = Some((l, tls_config));
    }

    if let Some(p) = &args.pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    println!("daemon-min: serving test:///default on an in-memory hypervisor");
    println!("  virsh -c 'test+unix:///default?socket={}' list --all", rw_path.display());
    println!("  virsh -r -c 'test+unix:///default?socket={}' list --all", ro_path.display());
    if let Some(l) = &tcp {
        if let Ok(a) = l.local_addr() {
            println!("  virsh -c 'test+tcp://{a}/default' list --all");
        }
    }
    if let Some((l, _)) = &tls {
        if let Ok(a) = l.local_addr() {
            println!("  virsh -c 'test+tls://{a}/default' list --all");
        }
    }

    if args.runtime == "blocking" {
        let mut listeners = vec![
            BListener::unix(rw, options.server_config.clone(), false),
            BListener::unix(ro, options.server_config.clone(), true),
        ];
        if let Some(l) = tcp {
            listeners.push(BListener::tcp(l, options.server_config.clone(), None));
        }
        if let Some((l, cfg)) = tls {
            listeners.push(BListener::tcp(l, options.server_config.clone(), Some(cfg)));
        }
        let server = BServer::new(listeners, config.max_clients, handler).map_err(|e| e.to_string())?;
        let handle = server.shutdown_handle();
        watch_signals_and_idle(signals, args.timeout, daemon, move || handle.shutdown())?;
        let result = server.run().map_err(|e| e.to_string());
        let synced = state.as_ref().map_or(Ok(()), SharedHypervisor::sync).map_err(|e| e.to_string());
        cleanup(&rw_path, &ro_path, args.pid_file.as_deref());
        return result.and(synced);
    }

    let stop = group.clone();
    watch_signals_and_idle(signals, args.timeout, daemon, move || stop.shutdown())?;

    let result = smol::block_on(async {
        let mut tasks = Vec::new();
        let rw = Async::new(rw).map_err(|e| e.to_string())?;
        let ro = Async::new(ro).map_err(|e| e.to_string())?;
        tasks.push(smol::spawn(serve(rw, options.clone(), handler.clone())));
        tasks.push(smol::spawn(serve(ro, ServeOptions { read_only: true, ..options.clone() }, handler.clone())));
        if let Some(l) = tcp {
            let l = Async::new(l).map_err(|e| e.to_string())?;
            tasks.push(smol::spawn(serve(l, options.clone(), handler.clone())));
        }
        if let Some((l, cfg)) = tls {
            let l = Async::new(l).map_err(|e| e.to_string())?;
            tasks.push(smol::spawn(serve(l, ServeOptions { tls: Some(cfg), ..options.clone() }, handler.clone())));
        }
        for t in tasks {
            t.await;
        }
        Ok::<(), String>(())
    });
    let synced = state.as_ref().map_or(Ok(()), SharedHypervisor::sync).map_err(|e| e.to_string());
    cleanup(&rw_path, &ro_path, args.pid_file.as_deref());
    result.and(synced)
}

fn cleanup(rw: &Path, ro: &Path, pid_file: Option<&Path>) {
    let _ = std::fs::remove_file(rw);
    let _ = std::fs::remove_file(ro);
    if let Some(p) = pid_file {
        let _ = std::fs::remove_file(p);
    }
}

/// SIGTERM / SIGINT: stop accepting, finish calls in flight, close every connection, exit 0, as
/// libvirtd does; clients that registered a close callback hear it from the end of file
/// (`VIR_CONNECT_CLOSE_REASON_EOF`). With `--timeout`, the same after that many seconds with
/// no client.
///
/// "No client" counts the daemon's live sessions, not the runtime's: adapter-smol's
/// `ServerGroup::clients` includes the slot each idle listener holds for its next connection.
fn watch_signals_and_idle(
    mut signals: signal_hook::iterator::Signals,
    timeout: Option<u64>,
    daemon: Arc<Daemon>,
    shutdown: impl Fn() + Send + Sync + 'static,
) -> Result<(), String> {
    let clients = move || daemon.live_sessions();
    let stop = Arc::new(shutdown);
    let on_signal = stop.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            on_signal();
        }
    });
    if let Some(secs) = timeout {
        std::thread::spawn(move || {
            let mut idle_for = 0u64;
            loop {
                std::thread::sleep(Duration::from_secs(1));
                idle_for = if clients() == 0 { idle_for + 1 } else { 0 };
                if idle_for >= secs {
                    stop();
                    return;
                }
            }
        });
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("daemon-min: error: {e}");
            ExitCode::FAILURE
        }
    }
}
