//! The dispatch: what each remote procedure does on the in-memory hypervisor, with
//! libvirtd's rules around it (`src/remote/remote_daemon_dispatch.c`; `protocol-facts.md`
//! §7–8, §10–11). It is runtime-agnostic: the listeners (smol or blocking) hand each call here
//! and turn the [`Outcome`] into a reply, an error reply or a stream.
//!
//! - Before `REMOTE_PROC_CONNECT_OPEN` only `AUTH_LIST` and the keepalive feature query are
//!   answered; anything else gets "internal error: hypervisor connection not open".
//! - `CONNECT_OPEN` picks the driver as libvirt's test driver does: `test:///default` is one
//!   state shared by the connections open on it, built afresh when the first opens and dropped
//!   when the last closes (unless the daemon keeps it: `--state-dir`, [`Daemon::with_default`]);
//!   each connection to `test:///PATH` loads its own private state from that node description
//!   file; anything else gets libvirtd's errors.
//! - A read-only connection (read-only socket, or `VIR_CONNECT_RO`) may only call procedures
//!   whose `@acl` permissions all read; others get "operation forbidden: read only access
//!   prevents virXxx".
//! - Each served procedure has an entry in its family's table (`connect`, `host`, `domain`,
//!   `network`, `storage`, as libvirt's driver tables), laid out along the generated procedure
//!   table by [`table`].
//! - Every procedure the model does not implement answers "this function is not supported by
//!   the connection driver: virXxx" (`VIR_ERR_NO_SUPPORT`).

mod checkpoint;
mod connect;
mod domain;
mod domain_guest;
mod domain_save;
mod domain_tuning;
mod domain_vcpu;
mod host;
mod host_cpu;
mod interface;
mod network;
mod nodedev;
mod snapshot;
mod storage;
pub mod table;
mod wire;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use proto_core::error::{ErrorCode, ErrorDomain, RemoteError};
use proto_core::program::ProcedureInfo;
use proto_core::programs::remote::{self as r, *};
use proto_core::xdr::XdrEncode;
use proto_core::Header;

use crate::hypervisor::{Event, Hypervisor, SharedHypervisor, SubscriptionId, Uuid, VolumeHandle, WeakHypervisor};
use wire::{dom_out, net_out, pool_out};

/// `VIR_CONNECT_RO`.
const VIR_CONNECT_RO: u32 = 1;
/// `VIR_DOMAIN_EVENT_ID_LAST` in libvirt 9.0.
const VIR_DOMAIN_EVENT_ID_LAST: i32 = 27;
/// `VIR_NETWORK_EVENT_ID_LAST`.
const VIR_NETWORK_EVENT_ID_LAST: i32 = 2;
/// `VIR_STORAGE_POOL_EVENT_ID_LAST`.
const VIR_STORAGE_POOL_EVENT_ID_LAST: i32 = 2;
/// `VIR_NODE_DEVICE_EVENT_ID_LAST`.
const VIR_NODE_DEVICE_EVENT_ID_LAST: i32 = 2;
/// Where a connection's events go: the listener's handle on it.
pub trait EventSink: Send + Sync {
    /// Sends a `MESSAGE` of `REMOTE_PROGRAM` with this procedure and body.
    fn send_event(&self, proc_: i32, body: Bytes);
}

/// What the listener must do with a call.
#[derive(Debug)]
pub enum Outcome {
    /// Reply with this body.
    Reply(Bytes),
    /// Reply with this error.
    Error(RemoteError),
    /// Reply, then close the connection (`REMOTE_PROC_CONNECT_CLOSE`).
    ReplyThenClose(Bytes),
    /// Open the call's stream, reply, then feed the client's data into the volume
    /// (`REMOTE_PROC_STORAGE_VOL_UPLOAD`).
    Upload(Transfer),
    /// Open the call's stream, reply, then send the volume's data
    /// (`REMOTE_PROC_STORAGE_VOL_DOWNLOAD`).
    Download(Transfer),
}

/// A transfer started by a volume's upload or download call, or a screenshot.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The hypervisor holding the volume.
    pub hv: SharedHypervisor,
    /// The volume.
    pub vol: VolumeHandle,
    /// Start offset.
    pub offset: u64,
    /// Bytes to transfer; 0 means to the end.
    pub length: u64,
    /// Holes travel as holes (`VIR_STORAGE_VOL_*_SPARSE_STREAM`).
    pub sparse: bool,
    /// The call's reply body, sent when the stream opens (empty for volume transfers).
    pub reply: Bytes,
    /// A download of these bytes instead of the volume's (the test driver's screenshot).
    pub data: Option<Bytes>,
}

#[derive(Debug, Default)]
struct Callbacks {
    /// Callback-style domain registrations: id → (event id, domain filter).
    domain: BTreeMap<i32, (i32, Option<Uuid>)>,
    /// Old-style registrations (`REMOTE_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY`): event ids.
    domain_old: Vec<i32>,
    network: BTreeMap<i32, (i32, Option<Uuid>)>,
    pool: BTreeMap<i32, (i32, Option<Uuid>)>,
    /// Node-device registrations: id → (event id, device name filter).
    node_device: BTreeMap<i32, (i32, Option<String>)>,
}

struct Opened {
    hv: SharedHypervisor,
    read_only: bool,
    uri: String,
    subscription: SubscriptionId,
}

/// One client connection's state.
pub struct Session {
    read_only_socket: bool,
    opened: Option<Opened>,
    sink: Arc<dyn EventSink>,
    callbacks: Arc<Mutex<Callbacks>>,
    /// Keeps the session in the daemon's list of live sessions until it is dropped.
    _live: Registration,
}

/// The daemon's count of live sessions (for `--timeout`).
#[derive(Default)]
struct Registry {
    live: AtomicUsize,
}

/// A session's place in the [`Registry`], given back when the session is dropped.
struct Registration {
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.live.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("read_only_socket", &self.read_only_socket)
            .field("open", &self.opened.as_ref().map(|o| o.uri.clone()))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether the connection is read-only.
    #[must_use]
    pub fn read_only(&self) -> bool {
        self.read_only_socket || self.opened.as_ref().is_some_and(|o| o.read_only)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where `test:///default` lives.
enum DefaultDriver {
    /// The daemon keeps one for its lifetime (`--state-dir`).
    Kept(SharedHypervisor),
    /// As libvirt's test driver: shared by the open connections, fresh after the last closes
    /// (a copy of the pristine state, built once: parsing it again for every first open
    /// was most of a connection's cost).
    PerConnections(Mutex<WeakHypervisor>, Box<Hypervisor>),
}

/// The daemon's drivers and the dispatch table.
pub struct Daemon {
    default: DefaultDriver,
    hostname: String,
    next_callback: Arc<AtomicI32>,
    sessions: Arc<Registry>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("hostname", &self.hostname).finish_non_exhaustive()
    }
}

/// Results inside dispatch carry the model's boxed error (a `RemoteError` is large).
type Res<T> = Result<T, crate::hypervisor::Error>;

fn internal(domain: ErrorDomain, info: &str) -> RemoteError {
    RemoteError::with_info(ErrorCode::VIR_ERR_INTERNAL_ERROR, domain, "internal error: %s", Some(info))
}

/// libvirt's public API name for a procedure (`REMOTE_PROC_DOMAIN_GET_XML_DESC` →
/// `virDomainGetXMLDesc`), with the word fix-ups libvirt's generator applies.
#[must_use]
pub fn api_name(proc_name: &str) -> String {
    let base = proc_name.strip_prefix("REMOTE_PROC_").unwrap_or(proc_name);
    let mut out = String::from("vir");
    for word in base.split('_') {
        let mut w = word.to_ascii_lowercase();
        if let Some(first) = w.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let fixed = match w.as_str() {
            "Nwfilter" => "NWFilter",
            "Nwfilters" => "NWFilters",
            "Xml" => "XML",
            "Uri" => "URI",
            "Uuid" => "UUID",
            "Id" => "ID",
            "Mac" => "MAC",
            "Cpu" => "CPU",
            "Os" => "OS",
            "Nmi" => "NMI",
            "Scsi" => "SCSI",
            "Iothread" => "IOThread",
            "Fstrim" => "FSTrim",
            "Fsfreeze" => "FSFreeze",
            "Fsthaw" => "FSThaw",
            "Fsinfo" => "FSInfo",
            "Wwn" => "WWN",
            "Dhcp" => "DHCP",
            "Fd" => "FD",
            other => other,
        };
        out.push_str(&fixed.replacen("Pm", "PM", 1));
    }
    out
}

/// The error domain libvirt's public API reports for a function (the file it lives in).
fn api_domain(api: &str) -> ErrorDomain {
    let family = [
        ("NodeDevice", ErrorDomain::VIR_FROM_NODEDEV),
        ("StoragePool", ErrorDomain::VIR_FROM_STORAGE),
        ("StorageVol", ErrorDomain::VIR_FROM_STORAGE),
        ("Network", ErrorDomain::VIR_FROM_NETWORK),
        ("Secret", ErrorDomain::VIR_FROM_SECRET),
        ("NWFilter", ErrorDomain::VIR_FROM_NWFILTER),
        ("Interface", ErrorDomain::VIR_FROM_INTERFACE),
        ("Domain", ErrorDomain::VIR_FROM_DOMAIN),
    ];
    family.iter().find(|(k, _)| api.contains(k)).map_or(ErrorDomain::VIR_FROM_NONE, |(_, d)| *d)
}

/// `VIR_ERR_NO_SUPPORT` as libvirt's public API raises it.
#[must_use]
pub fn no_support(info: &ProcedureInfo) -> RemoteError {
    let api = api_name(info.name);
    RemoteError::with_info(
        ErrorCode::VIR_ERR_NO_SUPPORT,
        api_domain(&api),
        "this function is not supported by the connection driver: %s",
        Some(&api),
    )
}

/// Whether `args` decode as the procedure's arguments. libvirtd decodes a call's arguments
/// before anything else looks at the call (`virNetServerProgramDispatchCall`), so a refusal
/// ("not open", read-only, "not supported") goes to decodable arguments only; the others get
/// "Unable to decode message payload". Only refusals pay for this decode.
fn decodable(info: &ProcedureInfo, args: &Bytes) -> bool {
    let mut r = proto_core::xdr::XdrReader::new(args.clone());
    !matches!(proto_core::programs::decode_args(info.program, info.version, info.number, &mut r), Some(Err(_)))
}

/// A call refused with `e`, unless its arguments do not decode (see [`decodable`]).
#[must_use]
pub fn refusal(info: &ProcedureInfo, args: &Bytes, e: RemoteError) -> Outcome {
    if decodable(info, args) {
        Outcome::Error(e)
    } else {
        Outcome::Error(RemoteError::undecodable_payload())
    }
}

fn forbidden(domain: ErrorDomain, info: &str) -> RemoteError {
    RemoteError::with_info(ErrorCode::VIR_ERR_OPERATION_DENIED, domain, "operation forbidden: %s", Some(info))
}

/// The read-only refusal for a procedure.
#[must_use]
pub fn read_only_refusal(info: &ProcedureInfo) -> RemoteError {
    let api = api_name(info.name);
    forbidden(api_domain(&api), &format!("read only access prevents {api}"))
}

/// Whether a procedure's `@acl` permissions only read (allowed on read-only connections).
///
/// A conditional permission (`domain:read_secure:VIR_DOMAIN_XML_SECURE`) applies only when
/// the call sets that flag, so it does not make the procedure a write: libvirt checks such
/// flags in the API itself (e.g. `virDomainGetXMLDesc` with `VIR_DOMAIN_XML_SECURE`), and so
/// does the dispatch here.
#[must_use]
pub fn acl_is_read_only(info: &ProcedureInfo) -> bool {
    info.acl.iter().all(|perm| {
        let mut parts = perm.splitn(3, ':');
        let (_object, action, condition) = (parts.next(), parts.next().unwrap_or(""), parts.next());
        condition.is_some() || matches!(action, "getattr" | "read") || action.starts_with("search_")
    })
}

impl Daemon {
    /// A daemon with libvirt's test-driver semantics: `test:///default` is shared by the
    /// connections open on it and reset when the last one closes. `hostname` is what
    /// `CONNECT_GET_HOSTNAME` answers.
    #[must_use]
    pub fn new(hostname: String) -> Self {
        let pristine = Box::new(Hypervisor::new_default(&hostname));
        Self::build(DefaultDriver::PerConnections(Mutex::new(WeakHypervisor::default()), pristine), hostname)
    }

    /// A daemon whose `test:///default` is `default` for the daemon's whole lifetime, whether or
    /// not connections are open (the `--state-dir` extension).
    #[must_use]
    pub fn with_default(default: SharedHypervisor, hostname: String) -> Self {
        Self::build(DefaultDriver::Kept(default), hostname)
    }

    fn build(default: DefaultDriver, hostname: String) -> Self {
        Self { default, hostname, next_callback: Arc::new(AtomicI32::new(0)), sessions: Arc::new(Registry::default()) }
    }

    /// `test:///default` for a connection opening it.
    fn default_driver(&self) -> SharedHypervisor {
        match &self.default {
            DefaultDriver::Kept(hv) => hv.clone(),
            DefaultDriver::PerConnections(current, pristine) => {
                let mut current = lock(current);
                if let Some(hv) = current.upgrade() {
                    return hv;
                }
                let hv = SharedHypervisor::new((**pristine).clone());
                *current = hv.downgrade();
                hv
            }
        }
    }

    /// A new connection's state.
    #[must_use]
    pub fn session(&self, read_only_socket: bool, sink: Arc<dyn EventSink>) -> Session {
        let callbacks = Arc::new(Mutex::new(Callbacks::default()));
        self.sessions.live.fetch_add(1, Ordering::Relaxed);
        let live = Registration { registry: self.sessions.clone() };
        Session { read_only_socket, opened: None, sink, callbacks, _live: live }
    }

    /// Sessions alive now (connections the listeners have handed over and not yet ended).
    #[must_use]
    pub fn live_sessions(&self) -> usize {
        self.sessions.live.load(Ordering::Relaxed)
    }

    /// Forgets a closed connection (its event subscriptions).
    pub fn end_session(&self, session: &mut Session) {
        if let Some(o) = session.opened.take() {
            o.hv.unsubscribe(o.subscription);
        }
    }

    fn open_driver(&self, name: Option<&str>) -> Res<(SharedHypervisor, String)> {
        let uri = match name {
            None | Some("") => "test:///default",
            Some(n) => n,
        };
        let (scheme, rest) = uri.split_once("://").unwrap_or((uri, ""));
        let no_driver = || {
            RemoteError::with_info(
                ErrorCode::VIR_ERR_NO_CONNECT,
                ErrorDomain::VIR_FROM_NONE,
                "no connection driver available for %s",
                Some(uri),
            )
        };
        if scheme != "test" {
            return Err(no_driver().into());
        }
        // test://[host]/path: a host part means the client went remote, so here it is empty.
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        let path = path.split('?').next().unwrap_or(path);
        if path == "/default" {
            return Ok((self.default_driver(), uri.to_owned()));
        }
        if path.is_empty() || path == "/" {
            return Err(no_driver().into());
        }
        let hv = Hypervisor::from_node_file(std::path::Path::new(path), &self.hostname).map_err(|e| {
            // A node file that wants credentials keeps its own error (see testnode).
            if e.domain() == ErrorDomain::VIR_FROM_AUTH {
                return e;
            }
            crate::hypervisor::Error::from(RemoteError::with_info(
                ErrorCode::VIR_ERR_XML_ERROR,
                ErrorDomain::VIR_FROM_TEST,
                "XML error: %s",
                Some(&format!("failed to parse xml document '{path}'")),
            ))
        })?;
        Ok((SharedHypervisor::new(hv), uri.to_owned()))
    }

    fn subscribe(hv: &SharedHypervisor, sink: Arc<dyn EventSink>, callbacks: Arc<Mutex<Callbacks>>) -> SubscriptionId {
        hv.subscribe(move |ev| {
            let cbs = lock(&callbacks);
            let mut out: Vec<(i32, Bytes)> = Vec::new();
            let mut push = |proc_: i32, msg: &dyn XdrEncode| {
                let mut b = bytes::BytesMut::new();
                if msg.encode(&mut b).is_ok() {
                    out.push((proc_, b.freeze()));
                }
            };
            match ev {
                Event::DomainLifecycle { dom, event, detail } => {
                    let msg = RemoteDomainEventLifecycleMsg { dom: dom_out(dom), event: *event, detail: *detail };
                    for (id, (event_id, filter)) in &cbs.domain {
                        if *event_id == 0 && filter.is_none_or(|u| u == dom.uuid) {
                            let m = RemoteDomainEventCallbackLifecycleMsg { callback_id: *id, msg: msg.clone() };
                            push(REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, &m);
                        }
                    }
                    if cbs.domain_old.contains(&0) {
                        push(REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE, &msg);
                    }
                }
                // VIR_DOMAIN_EVENT_ID_METADATA_CHANGE (23).
                Event::DomainMetadataChange { dom, kind, nsuri } => {
                    for (id, (event_id, filter)) in &cbs.domain {
                        if *event_id == 23 && filter.is_none_or(|u| u == dom.uuid) {
                            let m = RemoteDomainEventCallbackMetadataChangeMsg {
                                callback_id: *id,
                                dom: dom_out(dom),
                                type_: *kind,
                                nsuri: nsuri.as_deref().map(proto_core::XdrString::from),
                            };
                            push(REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, &m);
                        }
                    }
                }
                Event::NetworkLifecycle { net, event, detail } => {
                    for (id, (event_id, filter)) in &cbs.network {
                        if *event_id == 0 && filter.is_none_or(|u| u == net.uuid) {
                            let m = RemoteNetworkEventLifecycleMsg {
                                callback_id: *id,
                                net: net_out(net),
                                event: *event,
                                detail: *detail,
                            };
                            push(REMOTE_PROC_NETWORK_EVENT_LIFECYCLE, &m);
                        }
                    }
                }
                Event::PoolLifecycle { pool, event, detail } => {
                    for (id, (event_id, filter)) in &cbs.pool {
                        if *event_id == 0 && filter.is_none_or(|u| u == pool.uuid) {
                            let m = RemoteStoragePoolEventLifecycleMsg {
                                callback_id: *id,
                                pool: pool_out(pool),
                                event: *event,
                                detail: *detail,
                            };
                            push(REMOTE_PROC_STORAGE_POOL_EVENT_LIFECYCLE, &m);
                        }
                    }
                }
                Event::NodeDeviceLifecycle { name, event, detail } => {
                    for (id, (event_id, filter)) in &cbs.node_device {
                        if *event_id == 0 && filter.as_ref().is_none_or(|f| f == name) {
                            let m = RemoteNodeDeviceEventLifecycleMsg {
                                callback_id: *id,
                                dev: RemoteNonnullNodeDevice { name: proto_core::XdrString::from(name.as_str()) },
                                event: *event,
                                detail: *detail,
                            };
                            push(REMOTE_PROC_NODE_DEVICE_EVENT_LIFECYCLE, &m);
                        }
                    }
                }
                Event::PoolRefresh { pool } => {
                    for (id, (event_id, filter)) in &cbs.pool {
                        if *event_id == 1 && filter.is_none_or(|u| u == pool.uuid) {
                            let m = RemoteStoragePoolEventRefreshMsg { callback_id: *id, pool: pool_out(pool) };
                            push(REMOTE_PROC_STORAGE_POOL_EVENT_REFRESH, &m);
                        }
                    }
                }
            }
            drop(cbs);
            for (proc_, body) in out {
                sink.send_event(proc_, body);
            }
        })
    }

    /// Dispatches one call of `REMOTE_PROGRAM`.
    pub fn dispatch(&self, session: &mut Session, header: &Header, args: Bytes) -> Outcome {
        let Some(info) = r::procedure_by_number(header.proc_).filter(|i| !i.is_event) else {
            return Outcome::Error(RemoteError::unknown_procedure(header.proc_));
        };
        let pre_open = matches!(
            header.proc_,
            REMOTE_PROC_AUTH_LIST
                | REMOTE_PROC_AUTH_SASL_INIT
                | REMOTE_PROC_AUTH_SASL_START
                | REMOTE_PROC_AUTH_SASL_STEP
                | REMOTE_PROC_AUTH_POLKIT
                | REMOTE_PROC_CONNECT_OPEN
                | REMOTE_PROC_CONNECT_SUPPORTS_FEATURE
        );
        if session.opened.is_none() && !pre_open {
            // libvirtd closes nothing it has not opened: CONNECT_CLOSE before an open succeeds.
            if header.proc_ == REMOTE_PROC_CONNECT_CLOSE {
                return Outcome::Reply(Bytes::new());
            }
            if !decodable(info, &args) {
                return Outcome::Error(RemoteError::undecodable_payload());
            }
            return table::not_open(info.name);
        }
        if session.opened.is_some() && session.read_only() && !acl_is_read_only(info) {
            return refusal(info, &args, read_only_refusal(info));
        }
        match table::lookup(header.proc_) {
            Some(run) => run(&mut table::Call { daemon: self, session }, args),
            None => refusal(info, &args, no_support(info)),
        }
    }
}

/// Drops callback `id` of a family (`what`: "domain", "network", ...), or answers libvirtd's
/// error for an id the connection did not register.
fn deregister<F>(map: &mut BTreeMap<i32, (i32, F)>, id: i32, what: &str) -> Res<()> {
    if map.remove(&id).is_some() {
        Ok(())
    } else {
        Err(internal(ErrorDomain::VIR_FROM_RPC, &format!("{what} event callback {id} not registered")).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_follow_libvirt() {
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_GET_XML_DESC"), "virDomainGetXMLDesc");
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_MIGRATE_GET_MAX_SPEED"), "virDomainMigrateGetMaxSpeed");
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_DEFINE_XML"), "virDomainDefineXML");
        assert_eq!(api_name("REMOTE_PROC_NETWORK_LIST_ALL_PORTS"), "virNetworkListAllPorts");
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID"), "virDomainLookupByUUID");
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_PM_WAKEUP"), "virDomainPMWakeup");
        assert_eq!(api_name("REMOTE_PROC_CONNECT_GET_URI"), "virConnectGetURI");
        assert_eq!(api_name("REMOTE_PROC_CONNECT_LIST_ALL_NWFILTERS"), "virConnectListAllNWFilters");
        assert_eq!(api_name("REMOTE_PROC_DOMAIN_OPEN_GRAPHICS_FD"), "virDomainOpenGraphicsFD");
    }

    #[test]
    fn read_only_classification() {
        let get_state = r::procedure_by_number(REMOTE_PROC_DOMAIN_GET_STATE).unwrap();
        let suspend = r::procedure_by_number(REMOTE_PROC_DOMAIN_SUSPEND).unwrap();
        let list = r::procedure_by_number(REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS).unwrap();
        assert!(acl_is_read_only(get_state) && acl_is_read_only(list));
        assert!(!acl_is_read_only(suspend));
        // Only reads unless VIR_DOMAIN_XML_SECURE is given (checked in the dispatch).
        assert!(acl_is_read_only(r::procedure_by_number(REMOTE_PROC_DOMAIN_GET_XML_DESC).unwrap()));
        let e = read_only_refusal(suspend);
        assert_eq!(e.to_string(), "operation forbidden: read only access prevents virDomainSuspend");
        assert_eq!((e.code.0, e.domain.0), (29, 20));
        let e = no_support(r::procedure_by_number(REMOTE_PROC_NETWORK_LIST_ALL_PORTS).unwrap());
        assert_eq!(e.to_string(), "this function is not supported by the connection driver: virNetworkListAllPorts");
        assert_eq!((e.code.0, e.domain.0), (3, 19));
    }
}
