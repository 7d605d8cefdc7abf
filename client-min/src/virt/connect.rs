//! `virConnect…`: a connection, opened through the driver table, and the host-wide calls.

use std::sync::{Arc, Mutex};

use adapter_blocking::{Client, ConnectOptions};
use proto_core::programs::remote as r;
use proto_core::Procedure;
use uuid::Uuid;

use crate::domain::{Domain, DomainStatsRecord};
use crate::driver;
pub use crate::enums::{ConnectCredentialType, ConnectCredentialTypeEnum};
use crate::error::Error;
use crate::interface::Interface;
use crate::macros::twin;
use crate::network::Network;
use crate::nodedev::NodeDevice;
use crate::nwfilter::NWFilter;
use crate::secret::Secret;
pub use crate::security::SecurityModel;
use crate::storage_pool::StoragePool;
use crate::storage_vol::StorageVol;
use crate::sys;
use crate::util::{count, opt, s, strings};

/// The library version this crate implements (`virGetVersion`): libvirt 9.0.0's API.
pub const LIB_VERSION: u32 = 9_000_000;

/// The host's description (`virNodeInfo`).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The CPU model.
    pub model: String,
    /// Memory size in kibibytes.
    pub memory: u64,
    /// Active CPUs.
    pub cpus: u32,
    /// Expected CPU frequency in MHz.
    pub mhz: u32,
    /// NUMA cells.
    pub nodes: u32,
    /// CPU sockets per node.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
}

/// An authentication callback (`virConnectAuthCallbackPtr`): fills `result` in each credential.
pub type ConnectAuthCallback = fn(creds: &mut Vec<ConnectCredential>);

/// One credential a daemon asks for (`virConnectCredential`).
#[derive(Clone, Debug)]
pub struct ConnectCredential {
    /// What is asked for.
    pub typed: ConnectCredentialType,
    /// The prompt to show.
    pub prompt: String,
    /// A challenge, if any.
    pub challenge: String,
    /// The default answer.
    pub def_result: String,
    /// The answer the callback gives.
    pub result: Option<String>,
}

/// The credential types a caller can answer and its callback (`virConnectAuth`).
pub struct ConnectAuth {
    creds: Vec<ConnectCredentialType>,
    callback: ConnectAuthCallback,
}

impl ConnectAuth {
    /// Which credentials `callback` answers.
    pub fn new(creds: Vec<ConnectCredentialType>, callback: ConnectAuthCallback) -> Self {
        Self { creds, callback }
    }

    /// The credential types this callback answers.
    pub fn credential_types(&self) -> &[ConnectCredentialType] {
        &self.creds
    }

    /// Runs the callback on `creds`.
    pub fn ask(&self, creds: &mut Vec<ConnectCredential>) {
        (self.callback)(creds);
    }
}

struct Inner {
    client: Client,
    uri: String,
    read_only: bool,
    encrypted: bool,
    secure: bool,
    /// Over a UNIX socket or in process (the close callback's end-of-file reason).
    unix: bool,
    /// Keeps the in-process `test:///default` state alive while this connection is open.
    _local: Option<Arc<driver::LocalDefault>>,
    /// `CONNECT_GET_TYPE`'s answer: the remote driver asks once per connection.
    hv_type: Mutex<Option<String>>,
    /// The domain event callbacks.
    events: Arc<Mutex<crate::object_event::Registry<Connect>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.client.close_reason().is_none() {
            self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).closing = true;
            let _ = self.client.close();
        }
    }
}

/// A connection to a hypervisor (`virConnectPtr`); clones share it, the last one closes it.
#[derive(Clone)]
pub struct Connect {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect").field("uri", &self.inner.uri).finish_non_exhaustive()
    }
}

/// The options `virConnectOpen*` open with: keepalive is offered to the daemon only once an
/// event loop is registered ([`crate::event::event_register_default_impl`]), as libvirt's
/// client offers it (`virNetClientKeepAliveIsSupported` in `doRemoteOpen`); a program without
/// one makes libvirt.so's calls, without the keepalive probe.
fn api_options(read_only: bool) -> ConnectOptions {
    ConnectOptions { read_only, offer_keepalive: crate::event::registered(), ..ConnectOptions::default() }
}

impl Connect {
    /// Opens `uri` read-write (`virConnectOpen`); `None` means `LIBVIRT_DEFAULT_URI`, else the
    /// daemon's default.
    pub fn open(uri: Option<&str>) -> Result<Self, Error> {
        Self::open_with(uri, &api_options(false))
    }

    /// Opens `uri` read-only (`virConnectOpenReadOnly`).
    pub fn open_read_only(uri: Option<&str>) -> Result<Self, Error> {
        Self::open_with(uri, &api_options(true))
    }

    /// `virConnectOpenAuth`. The transports this crate has authenticate without asking
    /// (SASL and polkit are not implemented: a daemon requiring them fails with libvirt's
    /// "unsupported authentication type"), so the callback is never called.
    pub fn open_auth(uri: Option<&str>, auth: &mut ConnectAuth, flags: sys::virConnectFlags) -> Result<Self, Error> {
        let _ = auth;
        Self::open_with(uri, &api_options(flags & sys::VIR_CONNECT_RO != 0))
    }

    /// Opens with explicit adapter options (keepalive, call timeout, event queue).
    pub fn open_with(uri: Option<&str>, options: &ConnectOptions) -> Result<Self, Error> {
        let opened = driver::open(uri, options)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client: opened.client,
                uri: opened.uri,
                read_only: options.read_only,
                encrypted: opened.encrypted,
                secure: opened.secure,
                unix: opened.unix,
                _local: opened.local,
                hv_type: Mutex::new(None),
                events: Arc::default(),
            }),
        })
    }

    /// The underlying client: typed calls of any procedure, streams and events.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// A typed call, the error as libvirt reports it.
    pub(crate) fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        self.inner.client.call::<P>(args).map_err(Error::from)
    }

    /// Refuses `func` on a read-only connection, as the client library does.
    pub(crate) fn check_rw(&self, func: &str) -> Result<(), Error> {
        if self.inner.read_only {
            Err(Error::read_only(func))
        } else {
            Ok(())
        }
    }

    /// Whether the connection was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// A call of an API read-only connections may not make.
    pub(crate) fn call_rw<P: Procedure>(&self, func: &str, args: &P::Args) -> Result<P::Ret, Error> {
        self.check_rw(func)?;
        self.call::<P>(args)
    }

    /// `virConnectClose`: closes this handle. Other clones keep the connection open; the
    /// result is how many remain (0 when this was the last).
    pub fn close(self) -> Result<i32, Error> {
        Ok(i32::try_from(Arc::strong_count(&self.inner) - 1).unwrap_or(i32::MAX))
    }

    /// The domain event callbacks.
    pub(crate) fn event_registry(&self) -> std::sync::MutexGuard<'_, crate::object_event::Registry<Self>> {
        self.inner.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the thread that hands this connection's events to the callbacks (once); it
    /// ends, dropping the callbacks, when the connection closes.
    pub(crate) fn start_event_dispatch(&self) {
        let registry = self.inner.events.clone();
        {
            let mut reg = self.event_registry();
            if reg.dispatching {
                return;
            }
            reg.dispatching = true;
        }
        let sub = self.inner.client.subscribe();
        let weak = Arc::downgrade(&self.inner);
        let unix = self.inner.unix;
        let run = move || {
            let reason = loop {
                match sub.recv() {
                    Ok(ev) => {
                        let Some(inner) = weak.upgrade() else { break None };
                        let conn = Self { inner };
                        crate::object_event::dispatch(&registry, &ev, &conn);
                    }
                    Err(e) => break Some(crate::object_event::close_reason(&e, unix)),
                }
            };
            crate::object_event::closed(&registry, reason);
        };
        if std::thread::Builder::new().name("virt-events".into()).spawn(run).is_err() {
            self.event_registry().dispatching = false;
        }
    }

    /// Whether `other` is this same connection (a clone of it).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

twin! { Connect, Domain, Network, Interface, StoragePool, StorageVol, NodeDevice, Secret, NWFilter; local impl Connect {
    /// `virGetVersion`: the version of the library.
    pub fn version() -> Result<u32, Error> {
        Ok(LIB_VERSION)
    }

    /// `virConnectGetURI`: answered locally, as the URI the connection was opened with.
    pub fn uri(&self) -> Result<String, Error> {
        Ok(self.inner.uri.clone())
    }

    /// `virConnectIsAlive`.
    pub fn is_alive(&self) -> Result<bool, Error> {
        Ok(self.inner.client.close_reason().is_none())
    }

    /// `virConnectSetKeepAlive`: keepalive is set when the connection opens (see
    /// [`Connect::open_with`]); changing it afterwards is not supported.
    pub fn set_keep_alive(&self, interval: i32, count: u32) -> Result<(), Error> {
        let _ = (interval, count);
        Err(Error::new(
            crate::error::ErrorNumber::NoSupport,
            crate::error::ErrorDomain::Domain,
            "this function is not supported by the connection driver: virConnectSetKeepAlive after open",
        ))
    }
} }

twin! { Connect, Domain, DomainStatsRecord, Network, Interface, StoragePool, StorageVol, NodeDevice, Secret, NWFilter; impl Connect {
    /// `virConnectGetHostname`.
    pub async fn hostname(&self) -> Result<String, Error> {
        Ok(aw!(self.call::<r::ConnectGetHostname>(&()))?.hostname.to_string())
    }

    /// `virConnectGetCapabilities`.
    pub async fn capabilities(&self) -> Result<String, Error> {
        Ok(aw!(self.call::<r::ConnectGetCapabilities>(&()))?.capabilities.to_string())
    }

    /// `virConnectGetLibVersion`: the daemon's libvirt version.
    pub async fn lib_version(&self) -> Result<u32, Error> {
        let v = aw!(self.call::<r::ConnectGetLibVersion>(&()))?.lib_ver;
        Ok(u32::try_from(v).unwrap_or(u32::MAX))
    }

    /// `virConnectGetType`: the hypervisor driver's name.
    pub async fn driver_type(&self) -> Result<String, Error> {
        if let Some(t) = &*self.inner.hv_type.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            return Ok(t.clone());
        }
        let t = aw!(self.call::<r::ConnectGetType>(&()))?.type_.to_string();
        *self.inner.hv_type.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(t.clone());
        Ok(t)
    }

    /// `virConnectGetSysinfo`.
    pub async fn sys_info(&self, flags: u32) -> Result<String, Error> {
        Ok(aw!(self.call::<r::ConnectGetSysinfo>(&r::RemoteConnectGetSysinfoArgs { flags }))?.sysinfo.to_string())
    }

    /// `virConnectGetMaxVcpus`.
    pub async fn max_vcpus(&self, domtype: Option<&str>) -> Result<u32, Error> {
        let ret = aw!(self.call::<r::ConnectGetMaxVcpus>(&r::RemoteConnectGetMaxVcpusArgs { type_: opt(domtype) }))?;
        Ok(count(ret.max_vcpus))
    }

    /// `virConnectGetCPUModelNames`.
    pub async fn cpu_models_names(&self, arch: &str, flags: u32) -> Result<Vec<String>, Error> {
        let args = r::RemoteConnectGetCpuModelNamesArgs { arch: s(arch), need_results: 1, flags };
        Ok(strings(&aw!(self.call::<r::ConnectGetCpuModelNames>(&args))?.models))
    }

    /// `virConnectIsEncrypted`: the transport encrypts (TLS) and the daemon's driver says its
    /// connection is secure, as the remote driver computes it.
    pub async fn is_encrypted(&self) -> Result<bool, Error> {
        let secure = aw!(self.call::<r::ConnectIsSecure>(&()))?.secure != 0;
        Ok(self.inner.encrypted && secure)
    }

    /// `virConnectIsSecure`: the transport is safe from eavesdropping (UNIX socket, TLS, ssh;
    /// not plain TCP or an ext command) and the daemon's driver says its connection is secure.
    pub async fn is_secure(&self) -> Result<bool, Error> {
        let secure = aw!(self.call::<r::ConnectIsSecure>(&()))?.secure != 0;
        Ok(self.inner.secure && secure)
    }

    /// `virConnectListDomains`: the ids of the running domains.
    pub async fn list_domains(&self) -> Result<Vec<u32>, Error> {
        let n = aw!(self.num_of_domains())?;
        aw!(self.list_domains_max(n))
    }

    /// `virConnectListDomains` with the caller's `maxids` (as C callers pass it).
    pub async fn list_domains_max(&self, maxids: u32) -> Result<Vec<u32>, Error> {
        let maxids = i32::try_from(maxids).unwrap_or(i32::MAX);
        let ret = aw!(self.call::<r::ConnectListDomains>(&r::RemoteConnectListDomainsArgs { maxids }))?;
        Ok(ret.ids.into_iter().map(count).collect())
    }

    /// `virConnectGetVersion`: the hypervisor's version.
    pub async fn hyp_version(&self) -> Result<u32, Error> {
        Ok(u32::try_from(aw!(self.call::<r::ConnectGetVersion>(&()))?.hv_ver).unwrap_or(u32::MAX))
    }

    /// `virConnectCompareCPU`.
    pub async fn compare_cpu(
        &self,
        xml: &str,
        flags: sys::virConnectCompareCPUFlags,
    ) -> Result<sys::virCPUCompareResult, Error> {
        Ok(aw!(self.call::<r::ConnectCompareCpu>(&r::RemoteConnectCompareCpuArgs { xml: s(xml), flags }))?.result)
    }

    /// `virNodeGetFreeMemory`.
    pub async fn free_memory(&self) -> Result<u64, Error> {
        Ok(aw!(self.call::<r::NodeGetFreeMemory>(&()))?.free_mem)
    }

    /// `virNodeGetInfo`.
    pub async fn node_info(&self) -> Result<NodeInfo, Error> {
        let ret = aw!(self.call::<r::NodeGetInfo>(&()))?;
        let model: Vec<u8> = ret.model.iter().map(|&c| c.to_ne_bytes()[0]).take_while(|&c| c != 0).collect();
        Ok(NodeInfo {
            model: String::from_utf8_lossy(&model).into_owned(),
            memory: ret.memory,
            cpus: count(ret.cpus),
            mhz: count(ret.mhz),
            nodes: count(ret.nodes),
            sockets: count(ret.sockets),
            cores: count(ret.cores),
            threads: count(ret.threads),
        })
    }

    /// `virConnectDomainXMLFromNative`.
    pub async fn domain_xml_from_native(&self, nformat: &str, nconfig: &str, flags: u32) -> Result<String, Error> {
        let args =
            r::RemoteConnectDomainXmlFromNativeArgs { native_format: s(nformat), native_config: s(nconfig), flags };
        Ok(aw!(self.call::<r::ConnectDomainXmlFromNative>(&args))?.domain_xml.to_string())
    }

    /// `virConnectDomainXMLToNative`.
    pub async fn domain_xml_to_native(&self, nformat: &str, dxml: &str, flags: u32) -> Result<String, Error> {
        let args = r::RemoteConnectDomainXmlToNativeArgs { native_format: s(nformat), domain_xml: s(dxml), flags };
        Ok(aw!(self.call::<r::ConnectDomainXmlToNative>(&args))?.native_config.to_string())
    }

    /// `virConnectGetDomainCapabilities`.
    pub async fn domain_capabilities(
        &self,
        emulatorbin: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String, Error> {
        let args = r::RemoteConnectGetDomainCapabilitiesArgs {
            emulatorbin: opt(emulatorbin),
            arch: opt(arch),
            machine: opt(machine),
            virttype: opt(virttype),
            flags,
        };
        Ok(aw!(self.call::<r::ConnectGetDomainCapabilities>(&args))?.capabilities.to_string())
    }

    /// `virConnectGetAllDomainStats`.
    pub async fn all_domain_stats(&self, stats: u32, flags: u32) -> Result<Vec<DomainStatsRecord>, Error> {
        let args = r::RemoteConnectGetAllDomainStatsArgs { doms: Vec::new(), stats, flags };
        let ret = aw!(self.call::<r::ConnectGetAllDomainStats>(&args))?;
        Ok(ret
            .ret_stats
            .into_iter()
            .map(|rec| DomainStatsRecord {
                domain: Domain::from_raw(self, rec.dom),
                params: crate::typedparams::TypedParams::from_remote(rec.params),
            })
            .collect())
    }

    /// `virConnectBaselineCPU`.
    pub async fn baseline_cpu(
        &self,
        xmlcpus: &[&str],
        flags: sys::virConnectBaselineCPUFlags,
    ) -> Result<String, Error> {
        let args = r::RemoteConnectBaselineCpuArgs { xml_cp_us: xmlcpus.iter().map(|x| s(x)).collect(), flags };
        Ok(aw!(self.call::<r::ConnectBaselineCpu>(&args))?.cpu.to_string())
    }

    /// `virConnectFindStoragePoolSources`.
    pub async fn find_storage_pool_sources(&self, kind: &str, spec: Option<&str>, flags: u32) -> Result<String, Error> {
        let args = r::RemoteConnectFindStoragePoolSourcesArgs { type_: s(kind), src_spec: opt(spec), flags };
        Ok(aw!(self.call::<r::ConnectFindStoragePoolSources>(&args))?.xml.to_string())
    }

    /// `virNodeGetCellsFreeMemory`.
    pub async fn cells_free_memory(&self, start_cell: i32, max_cells: i32) -> Result<Vec<u64>, Error> {
        let args = r::RemoteNodeGetCellsFreeMemoryArgs { start_cell, maxcells: max_cells };
        Ok(aw!(self.call::<r::NodeGetCellsFreeMemory>(&args))?.cells)
    }

    /// `virNodeGetFreePages`.
    pub async fn free_pages(
        &self,
        pages: &[u32],
        start_cell: u32,
        cell_count: u32,
        flags: u32,
    ) -> Result<Vec<u64>, Error> {
        let start_cell = i32::try_from(start_cell)
            .map_err(|_| Error::invalid_arg("virNodeGetFreePages", "startCell must be less than 2147483648"))?;
        let args = r::RemoteNodeGetFreePagesArgs { pages: pages.to_vec(), start_cell, cell_count, flags };
        Ok(aw!(self.call::<r::NodeGetFreePages>(&args))?.counts)
    }

    // Domains.

    /// `virDomainLookupByID`.
    pub async fn lookup_domain_by_id(&self, id: u32) -> Result<Domain, Error> {
        let id = i32::try_from(id)
            .map_err(|_| Error::invalid_arg("virDomainLookupByID", "id must be less than 2147483648"))?;
        Ok(Domain::from_raw(self, aw!(self.call::<r::DomainLookupById>(&r::RemoteDomainLookupByIdArgs { id }))?.dom))
    }

    /// `virDomainLookupByName`.
    pub async fn lookup_domain_by_name(&self, id: &str) -> Result<Domain, Error> {
        let ret = aw!(self.call::<r::DomainLookupByName>(&r::RemoteDomainLookupByNameArgs { name: s(id) }))?;
        Ok(Domain::from_raw(self, ret.dom))
    }

    /// `virDomainLookupByUUID`.
    pub async fn lookup_domain_by_uuid(&self, uuid: Uuid) -> Result<Domain, Error> {
        let ret = aw!(self.call::<r::DomainLookupByUuid>(&r::RemoteDomainLookupByUuidArgs { uuid: *uuid.as_bytes() }))?;
        Ok(Domain::from_raw(self, ret.dom))
    }

    /// `virDomainLookupByUUIDString`.
    pub async fn lookup_domain_by_uuid_string(&self, uuid: &str) -> Result<Domain, Error> {
        aw!(self.lookup_domain_by_uuid(parse_uuid("virDomainLookupByUUIDString", uuid)?))
    }

    /// `virDomainCreateXML`.
    pub async fn create_domain_xml(&self, xml: &str, flags: sys::virDomainCreateFlags) -> Result<Domain, Error> {
        let args = r::RemoteDomainCreateXmlArgs { xml_desc: s(xml), flags };
        Ok(Domain::from_raw(self, aw!(self.call_rw::<r::DomainCreateXml>("virDomainCreateXML", &args))?.dom))
    }

    /// `virDomainDefineXML`.
    pub async fn define_domain_xml(&self, xml: &str) -> Result<Domain, Error> {
        let args = r::RemoteDomainDefineXmlArgs { xml: s(xml) };
        Ok(Domain::from_raw(self, aw!(self.call_rw::<r::DomainDefineXml>("virDomainDefineXML", &args))?.dom))
    }

    /// `virDomainDefineXMLFlags`.
    pub async fn define_domain_xml_flags(&self, xml: &str, flags: sys::virDomainDefineFlags) -> Result<Domain, Error> {
        let args = r::RemoteDomainDefineXmlFlagsArgs { xml: s(xml), flags };
        Ok(Domain::from_raw(self, aw!(self.call_rw::<r::DomainDefineXmlFlags>("virDomainDefineXMLFlags", &args))?.dom))
    }

    /// `virDomainRestore`.
    pub async fn restore_domain(&self, path: &str) -> Result<(), Error> {
        aw!(self.call_rw::<r::DomainRestore>("virDomainRestore", &r::RemoteDomainRestoreArgs { from: s(path) }))
    }

    /// `virDomainRestoreFlags`.
    pub async fn restore_domain_flags(
        &self,
        path: &str,
        dxml: Option<&str>,
        flags: sys::virDomainSaveRestoreFlags,
    ) -> Result<(), Error> {
        let args = r::RemoteDomainRestoreFlagsArgs { from: s(path), dxml: opt(dxml), flags };
        aw!(self.call_rw::<r::DomainRestoreFlags>("virDomainRestoreFlags", &args))
    }

    /// `virDomainSaveImageGetXMLDesc`.
    pub async fn save_image_xml_desc(&self, file: &str, flags: u32) -> Result<String, Error> {
        let args = r::RemoteDomainSaveImageGetXmlDescArgs { file: s(file), flags };
        Ok(aw!(self.call::<r::DomainSaveImageGetXmlDesc>(&args))?.xml.to_string())
    }

    /// `virDomainSaveImageDefineXML`.
    pub async fn save_image_define_xml(&self, file: &str, dxml: &str, flags: u32) -> Result<(), Error> {
        let args = r::RemoteDomainSaveImageDefineXmlArgs { file: s(file), dxml: s(dxml), flags };
        aw!(self.call_rw::<r::DomainSaveImageDefineXml>("virDomainSaveImageDefineXML", &args))
    }

    // Networks.

    /// `virNetworkLookupByName`.
    pub async fn lookup_network_by_name(&self, id: &str) -> Result<Network, Error> {
        let ret = aw!(self.call::<r::NetworkLookupByName>(&r::RemoteNetworkLookupByNameArgs { name: s(id) }))?;
        Ok(Network::from_raw(self, ret.net))
    }

    /// `virNetworkLookupByUUID`.
    pub async fn lookup_network_by_uuid(&self, uuid: Uuid) -> Result<Network, Error> {
        let ret =
            aw!(self.call::<r::NetworkLookupByUuid>(&r::RemoteNetworkLookupByUuidArgs { uuid: *uuid.as_bytes() }))?;
        Ok(Network::from_raw(self, ret.net))
    }

    /// `virNetworkLookupByUUIDString`.
    pub async fn lookup_network_by_uuid_string(&self, uuid: &str) -> Result<Network, Error> {
        aw!(self.lookup_network_by_uuid(parse_uuid("virNetworkLookupByUUIDString", uuid)?))
    }

    /// `virNetworkDefineXML`.
    pub async fn define_network_xml(&self, xml: &str) -> Result<Network, Error> {
        let args = r::RemoteNetworkDefineXmlArgs { xml: s(xml) };
        Ok(Network::from_raw(self, aw!(self.call_rw::<r::NetworkDefineXml>("virNetworkDefineXML", &args))?.net))
    }

    /// `virNetworkCreateXML`.
    pub async fn create_network_xml(&self, xml: &str) -> Result<Network, Error> {
        let args = r::RemoteNetworkCreateXmlArgs { xml: s(xml) };
        Ok(Network::from_raw(self, aw!(self.call_rw::<r::NetworkCreateXml>("virNetworkCreateXML", &args))?.net))
    }

    // Interfaces.

    /// `virInterfaceLookupByName`.
    pub async fn lookup_interface_by_name(&self, id: &str) -> Result<Interface, Error> {
        let ret = aw!(self.call::<r::InterfaceLookupByName>(&r::RemoteInterfaceLookupByNameArgs { name: s(id) }))?;
        Ok(Interface::from_raw(self, ret.iface))
    }

    /// `virInterfaceLookupByMACString`.
    pub async fn lookup_interface_by_mac_string(&self, id: &str) -> Result<Interface, Error> {
        let ret =
            aw!(self.call::<r::InterfaceLookupByMacString>(&r::RemoteInterfaceLookupByMacStringArgs { mac: s(id) }))?;
        Ok(Interface::from_raw(self, ret.iface))
    }

    /// `virInterfaceDefineXML`.
    pub async fn define_interface_xml(&self, xml: &str, flags: u32) -> Result<Interface, Error> {
        let args = r::RemoteInterfaceDefineXmlArgs { xml: s(xml), flags };
        Ok(Interface::from_raw(self, aw!(self.call_rw::<r::InterfaceDefineXml>("virInterfaceDefineXML", &args))?.iface))
    }

    // Node devices.

    /// `virNodeDeviceLookupByName`.
    pub async fn lookup_node_device_by_name(&self, id: &str) -> Result<NodeDevice, Error> {
        let ret = aw!(self.call::<r::NodeDeviceLookupByName>(&r::RemoteNodeDeviceLookupByNameArgs { name: s(id) }))?;
        Ok(NodeDevice::from_raw(self, ret.dev))
    }

    /// `virNodeDeviceLookupSCSIHostByWWN`.
    pub async fn lookup_node_device_scsi_host_by_wwn(
        &self,
        wwnn: &str,
        wwpn: &str,
        flags: u32,
    ) -> Result<NodeDevice, Error> {
        let args = r::RemoteNodeDeviceLookupScsiHostByWwnArgs { wwnn: s(wwnn), wwpn: s(wwpn), flags };
        Ok(NodeDevice::from_raw(self, aw!(self.call::<r::NodeDeviceLookupScsiHostByWwn>(&args))?.dev))
    }

    /// `virNodeDeviceCreateXML`.
    pub async fn create_node_device_xml(&self, xml: &str, flags: u32) -> Result<NodeDevice, Error> {
        let args = r::RemoteNodeDeviceCreateXmlArgs { xml_desc: s(xml), flags };
        Ok(NodeDevice::from_raw(
            self,
            aw!(self.call_rw::<r::NodeDeviceCreateXml>("virNodeDeviceCreateXML", &args))?.dev,
        ))
    }

    /// `virNodeNumOfDevices`.
    pub async fn num_of_node_devices(&self, cap: Option<&str>, flags: u32) -> Result<u32, Error> {
        let args = r::RemoteNodeNumOfDevicesArgs { cap: opt(cap), flags };
        Ok(count(aw!(self.call::<r::NodeNumOfDevices>(&args))?.num))
    }

    // Network filters.

    /// `virNWFilterLookupByName`.
    pub async fn lookup_nwfilter_by_name(&self, id: &str) -> Result<NWFilter, Error> {
        let ret = aw!(self.call::<r::NwfilterLookupByName>(&r::RemoteNwfilterLookupByNameArgs { name: s(id) }))?;
        Ok(NWFilter::from_raw(self, ret.nwfilter))
    }

    /// `virNWFilterLookupByUUID`.
    pub async fn lookup_nwfilter_by_uuid(&self, uuid: Uuid) -> Result<NWFilter, Error> {
        let args = r::RemoteNwfilterLookupByUuidArgs { uuid: *uuid.as_bytes() };
        Ok(NWFilter::from_raw(self, aw!(self.call::<r::NwfilterLookupByUuid>(&args))?.nwfilter))
    }

    /// `virNWFilterLookupByUUIDString`.
    pub async fn lookup_nwfilter_by_uuid_string(&self, uuid: &str) -> Result<NWFilter, Error> {
        aw!(self.lookup_nwfilter_by_uuid(parse_uuid("virNWFilterLookupByUUIDString", uuid)?))
    }

    /// `virNWFilterDefineXML`.
    pub async fn define_nwfilter_xml(&self, xml: &str) -> Result<NWFilter, Error> {
        let args = r::RemoteNwfilterDefineXmlArgs { xml: s(xml) };
        Ok(NWFilter::from_raw(self, aw!(self.call_rw::<r::NwfilterDefineXml>("virNWFilterDefineXML", &args))?.nwfilter))
    }

    // Secrets.

    /// `virSecretDefineXML`.
    pub async fn define_secret_xml(&self, xml: &str, flags: u32) -> Result<Secret, Error> {
        let args = r::RemoteSecretDefineXmlArgs { xml: s(xml), flags };
        Ok(Secret::from_raw(self, aw!(self.call_rw::<r::SecretDefineXml>("virSecretDefineXML", &args))?.secret))
    }

    /// `virSecretLookupByUUID`.
    pub async fn lookup_secret_by_uuid(&self, uuid: Uuid) -> Result<Secret, Error> {
        let args = r::RemoteSecretLookupByUuidArgs { uuid: *uuid.as_bytes() };
        Ok(Secret::from_raw(self, aw!(self.call::<r::SecretLookupByUuid>(&args))?.secret))
    }

    /// `virSecretLookupByUUIDString`.
    pub async fn lookup_secret_by_uuid_string(&self, uuid: &str) -> Result<Secret, Error> {
        aw!(self.lookup_secret_by_uuid(parse_uuid("virSecretLookupByUUIDString", uuid)?))
    }

    /// `virSecretLookupByUsage`.
    pub async fn lookup_secret_by_usage(&self, usagetype: i32, usageid: &str) -> Result<Secret, Error> {
        let args = r::RemoteSecretLookupByUsageArgs { usage_type: usagetype, usage_id: s(usageid) };
        Ok(Secret::from_raw(self, aw!(self.call::<r::SecretLookupByUsage>(&args))?.secret))
    }

    // Storage.

    /// `virStoragePoolDefineXML`.
    pub async fn define_storage_pool_xml(&self, xml: &str, flags: u32) -> Result<StoragePool, Error> {
        let args = r::RemoteStoragePoolDefineXmlArgs { xml: s(xml), flags };
        Ok(StoragePool::from_raw(
            self,
            aw!(self.call_rw::<r::StoragePoolDefineXml>("virStoragePoolDefineXML", &args))?.pool,
        ))
    }

    /// `virStoragePoolCreateXML`.
    pub async fn create_storage_pool_xml(
        &self,
        xml: &str,
        flags: sys::virStoragePoolCreateFlags,
    ) -> Result<StoragePool, Error> {
        let args = r::RemoteStoragePoolCreateXmlArgs { xml: s(xml), flags };
        Ok(StoragePool::from_raw(
            self,
            aw!(self.call_rw::<r::StoragePoolCreateXml>("virStoragePoolCreateXML", &args))?.pool,
        ))
    }

    /// `virStoragePoolLookupByName`.
    pub async fn lookup_storage_pool_by_name(&self, id: &str) -> Result<StoragePool, Error> {
        let ret = aw!(self.call::<r::StoragePoolLookupByName>(&r::RemoteStoragePoolLookupByNameArgs { name: s(id) }))?;
        Ok(StoragePool::from_raw(self, ret.pool))
    }

    /// `virStoragePoolLookupByTargetPath`.
    pub async fn lookup_storage_pool_by_target_path(&self, path: &str) -> Result<StoragePool, Error> {
        let args = r::RemoteStoragePoolLookupByTargetPathArgs { path: s(path) };
        Ok(StoragePool::from_raw(self, aw!(self.call::<r::StoragePoolLookupByTargetPath>(&args))?.pool))
    }

    /// `virStoragePoolLookupByUUID`.
    pub async fn lookup_storage_pool_by_uuid(&self, uuid: Uuid) -> Result<StoragePool, Error> {
        let args = r::RemoteStoragePoolLookupByUuidArgs { uuid: *uuid.as_bytes() };
        Ok(StoragePool::from_raw(self, aw!(self.call::<r::StoragePoolLookupByUuid>(&args))?.pool))
    }

    /// `virStoragePoolLookupByUUIDString`.
    pub async fn lookup_storage_pool_by_uuid_string(&self, uuid: &str) -> Result<StoragePool, Error> {
        aw!(self.lookup_storage_pool_by_uuid(parse_uuid("virStoragePoolLookupByUUIDString", uuid)?))
    }

    /// `virStorageVolLookupByKey`.
    pub async fn lookup_storage_vol_by_key(&self, key: &str) -> Result<StorageVol, Error> {
        let ret = aw!(self.call::<r::StorageVolLookupByKey>(&r::RemoteStorageVolLookupByKeyArgs { key: s(key) }))?;
        Ok(StorageVol::from_raw(self, ret.vol))
    }

    /// `virStorageVolLookupByPath`.
    pub async fn lookup_storage_vol_by_path(&self, path: &str) -> Result<StorageVol, Error> {
        let ret = aw!(self.call::<r::StorageVolLookupByPath>(&r::RemoteStorageVolLookupByPathArgs { path: s(path) }))?;
        Ok(StorageVol::from_raw(self, ret.vol))
    }
} }

/// `virUUIDParse` (not `Uuid::parse_str`: libvirt allows dashes anywhere and blanks around)
/// for the `…ByUUIDString` lookups, with libvirt's messages.
pub(crate) fn parse_uuid(func: &str, uuid: &str) -> Result<Uuid, Error> {
    crate::util::parse_uuid(uuid).map(Uuid::from_bytes).ok_or_else(|| {
        if func == "virDomainLookupByUUIDString" {
            Error::invalid_arg(func, "Invalid UUID")
        } else {
            Error::invalid_arg(func, format!("uuidstr in {func} must be a valid UUID"))
        }
    })
}

/// The `virConnectNumOf…` / `virConnectList…` pairs: a count, then the names.
macro_rules! name_lists {
    ($($num:ident = $numproc:ident, $list:ident / $list_max:ident = $listproc:ident($args:ident);)*) => {
        twin! { Connect; impl Connect {
            $(
                #[doc = concat!("`", stringify!($numproc), "`: how many there are.")]
                pub async fn $num(&self) -> Result<u32, Error> {
                    Ok(count(aw!(self.call::<r::$numproc>(&()))?.num))
                }

                #[doc = concat!("`", stringify!($listproc), "`: their names (counted first).")]
                pub async fn $list(&self) -> Result<Vec<String>, Error> {
                    let n = aw!(self.$num())?;
                    aw!(self.$list_max(n))
                }

                #[doc = concat!("`", stringify!($listproc), "` with the caller's `maxnames` (as C callers pass it).")]
                pub async fn $list_max(&self, maxnames: u32) -> Result<Vec<String>, Error> {
                    let maxnames = i32::try_from(maxnames).unwrap_or(i32::MAX);
                    let ret = aw!(self.call::<r::$listproc>(&r::$args { maxnames }))?;
                    Ok(strings(&ret.names))
                }
            )*
        } }
    };
}

name_lists! {
    num_of_interfaces = ConnectNumOfInterfaces, list_interfaces / list_interfaces_max = ConnectListInterfaces(RemoteConnectListInterfacesArgs);
    num_of_networks = ConnectNumOfNetworks, list_networks / list_networks_max = ConnectListNetworks(RemoteConnectListNetworksArgs);
    num_of_nw_filters = ConnectNumOfNwfilters, list_nw_filters / list_nw_filters_max = ConnectListNwfilters(RemoteConnectListNwfiltersArgs);
    num_of_storage_pools = ConnectNumOfStoragePools, list_storage_pools / list_storage_pools_max = ConnectListStoragePools(RemoteConnectListStoragePoolsArgs);
    num_of_defined_domains = ConnectNumOfDefinedDomains, list_defined_domains / list_defined_domains_max = ConnectListDefinedDomains(RemoteConnectListDefinedDomainsArgs);
    num_of_defined_interfaces = ConnectNumOfDefinedInterfaces, list_defined_interfaces / list_defined_interfaces_max = ConnectListDefinedInterfaces(RemoteConnectListDefinedInterfacesArgs);
    num_of_defined_storage_pools = ConnectNumOfDefinedStoragePools, list_defined_storage_pools / list_defined_storage_pools_max = ConnectListDefinedStoragePools(RemoteConnectListDefinedStoragePoolsArgs);
    num_of_defined_networks = ConnectNumOfDefinedNetworks, list_defined_networks / list_defined_networks_max = ConnectListDefinedNetworks(RemoteConnectListDefinedNetworksArgs);
}

twin! { Connect, Domain, Network, Interface, StoragePool, StorageVol, NodeDevice, Secret, NWFilter; impl Connect {
    /// `virConnectNumOfDomains`: how many domains run.
    pub async fn num_of_domains(&self) -> Result<u32, Error> {
        Ok(count(aw!(self.call::<r::ConnectNumOfDomains>(&()))?.num))
    }

    /// `virConnectNumOfSecrets`.
    pub async fn num_of_secrets(&self) -> Result<u32, Error> {
        Ok(count(aw!(self.call::<r::ConnectNumOfSecrets>(&()))?.num))
    }

    /// `virConnectListSecrets`: their UUIDs.
    pub async fn list_secrets(&self) -> Result<Vec<String>, Error> {
        let maxuuids = i32::try_from(aw!(self.num_of_secrets())?).unwrap_or(i32::MAX);
        Ok(strings(&aw!(self.call::<r::ConnectListSecrets>(&r::RemoteConnectListSecretsArgs { maxuuids }))?.uuids))
    }
} }

/// The `virConnectListAll…` calls.
macro_rules! list_all {
    ($($(#[$doc:meta])* $fn:ident($flags:ty) -> $ty:ident = $proc:ident($args:ident).$field:ident;)*) => {
        twin! { Connect, Domain, Network, Interface, NodeDevice, Secret, StoragePool, NWFilter; impl Connect {
            $(
                $(#[$doc])*
                pub async fn $fn(&self, flags: $flags) -> Result<Vec<$ty>, Error> {
                    let ret = aw!(self.call::<r::$proc>(&r::$args { need_results: 1, flags }))?;
                    Ok(ret.$field.into_iter().map(|x| $ty::from_raw(self, x)).collect())
                }
            )*
        } }
    };
}

list_all! {
    /// `virConnectListAllDomains`.
    list_all_domains(sys::virConnectListAllDomainsFlags) -> Domain = ConnectListAllDomains(RemoteConnectListAllDomainsArgs).domains;
    /// `virConnectListAllNetworks`.
    list_all_networks(sys::virConnectListAllNetworksFlags) -> Network = ConnectListAllNetworks(RemoteConnectListAllNetworksArgs).nets;
    /// `virConnectListAllInterfaces`.
    list_all_interfaces(sys::virConnectListAllInterfacesFlags) -> Interface = ConnectListAllInterfaces(RemoteConnectListAllInterfacesArgs).ifaces;
    /// `virConnectListAllNodeDevices`.
    list_all_node_devices(sys::virConnectListAllNodeDeviceFlags) -> NodeDevice = ConnectListAllNodeDevices(RemoteConnectListAllNodeDevicesArgs).devices;
    /// `virConnectListAllSecrets`.
    list_all_secrets(sys::virConnectListAllSecretsFlags) -> Secret = ConnectListAllSecrets(RemoteConnectListAllSecretsArgs).secrets;
    /// `virConnectListAllStoragePools`.
    list_all_storage_pools(sys::virConnectListAllStoragePoolsFlags) -> StoragePool = ConnectListAllStoragePools(RemoteConnectListAllStoragePoolsArgs).pools;
    /// `virConnectListAllNWFilters`.
    list_all_nw_filters(u32) -> NWFilter = ConnectListAllNwfilters(RemoteConnectListAllNwfiltersArgs).filters;
}
