//! `virConnect…`, async.

use std::sync::Arc;

use adapter_smol::{Client, ConnectOptions};
use proto_core::connect::ConnectSequence;
use proto_core::events::{EventFamily, TypedEvent};
use proto_core::programs::remote as r;
use proto_core::uri::{LibvirtUri, RemoteTarget};
use proto_core::Procedure;
use smol::Async;
use uuid::Uuid;

use super::domain::{Domain, DomainEvent};
use crate::connect::NodeInfo;
use crate::driver::shown_uri;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::sys;
use crate::util::{count, s};

struct Inner {
    client: Client,
    uri: String,
    read_only: bool,
    /// Keeps the in-process `test:///default` state alive while this connection is open.
    _local: Option<Arc<crate::driver::LocalDefault>>,
}

/// An async connection (`virConnectPtr`); clones share it.
#[derive(Clone)]
pub struct Connect {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect").field("uri", &self.inner.uri).finish_non_exhaustive()
    }
}

/// The in-process `test:///` driver on smol: the blocking driver's local daemon (shared state
/// for `test:///default`) on one end of a socket pair, this client on the other.
async fn open_local(
    uri: &str,
    options: &ConnectOptions,
) -> Result<(Client, Option<Arc<crate::driver::LocalDefault>>), Error> {
    let io = |e: std::io::Error| Error::new(ErrorNumber::SystemError, ErrorDomain::Rpc, e.to_string());
    let (ours, stop, local) = crate::driver::local_channel(uri)?;
    let client = Client::start(Box::new(Async::new(ours).map_err(io)?), None, options.clone());
    let mut seq = ConnectSequence::new(Some(uri.to_owned()), u32::from(options.read_only));
    while let Some((spec, args)) = seq.next_call() {
        let reply = match client.call_raw(spec, &args).await {
            Ok(body) => Ok(body),
            Err(adapter_smol::Error::Call(e)) => Err(e),
            Err(other) => {
                stop.shutdown();
                return Err(other.into());
            }
        };
        if let Err(e) = seq.on_reply(reply) {
            stop.shutdown();
            return Err(adapter_smol::Error::from(e).into());
        }
    }
    Ok((client, local))
}

impl Connect {
    /// `virConnectOpen`.
    pub async fn open(uri: Option<&str>) -> Result<Self, Error> {
        Self::open_with(uri, &ConnectOptions::default()).await
    }

    /// `virConnectOpenReadOnly`.
    pub async fn open_read_only(uri: Option<&str>) -> Result<Self, Error> {
        Self::open_with(uri, &ConnectOptions { read_only: true, ..ConnectOptions::default() }).await
    }

    /// Opens through the driver table with explicit options: the in-process `test:///` driver
    /// first, the remote driver last.
    pub async fn open_with(uri: Option<&str>, options: &ConnectOptions) -> Result<Self, Error> {
        let env_default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = proto_core::uri::select_uri(uri, env_default.as_deref());
        let (client, shown, local) = match uri {
            Some(u) if daemon_min::embedded::is_local_test_uri(u) => {
                let (client, local) = open_local(u, options).await?;
                (client, shown_uri(u), local)
            }
            _ => {
                let env = adapter_blocking::transport::client_env();
                let target = match uri {
                    Some(u) => LibvirtUri::parse(u).and_then(|p| p.resolve(&env, options.read_only)),
                    None => RemoteTarget::for_probe(&env, options.read_only),
                }
                .map_err(|e| Error::new(ErrorNumber::InvalidArg, ErrorDomain::Remote, e.to_string()))?;
                let client = Client::connect_target(&target, options).await?;
                let shown = match uri {
                    Some(u) => shown_uri(u),
                    None => client.call::<r::ConnectGetUri>(&()).await?.uri.to_string(),
                };
                (client, shown, None)
            }
        };
        Ok(Self { inner: Arc::new(Inner { client, uri: shown, read_only: options.read_only, _local: local }) })
    }

    /// The underlying async client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) async fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        Ok(self.inner.client.call::<P>(args).await?)
    }

    pub(crate) async fn call_rw<P: Procedure>(&self, func: &str, args: &P::Args) -> Result<P::Ret, Error> {
        if self.inner.read_only {
            return Err(Error::read_only(func));
        }
        self.call::<P>(args).await
    }

    /// `virConnectClose`: closes the connection for every clone.
    pub async fn close(self) -> Result<i32, Error> {
        self.inner.client.close().await?;
        Ok(0)
    }

    /// `virConnectGetURI`.
    pub fn uri(&self) -> Result<String, Error> {
        Ok(self.inner.uri.clone())
    }

    /// `virConnectIsAlive`.
    pub fn is_alive(&self) -> Result<bool, Error> {
        Ok(self.inner.client.close_reason().is_none())
    }

    /// `virConnectGetType`.
    pub async fn driver_type(&self) -> Result<String, Error> {
        Ok(self.call::<r::ConnectGetType>(&()).await?.type_.to_string())
    }

    /// `virConnectGetHostname`.
    pub async fn hostname(&self) -> Result<String, Error> {
        Ok(self.call::<r::ConnectGetHostname>(&()).await?.hostname.to_string())
    }

    /// `virConnectGetCapabilities`.
    pub async fn capabilities(&self) -> Result<String, Error> {
        Ok(self.call::<r::ConnectGetCapabilities>(&()).await?.capabilities.to_string())
    }

    /// `virConnectGetLibVersion`.
    pub async fn lib_version(&self) -> Result<u32, Error> {
        Ok(u32::try_from(self.call::<r::ConnectGetLibVersion>(&()).await?.lib_ver).unwrap_or(u32::MAX))
    }

    /// `virNodeGetInfo`.
    pub async fn node_info(&self) -> Result<NodeInfo, Error> {
        let ret = self.call::<r::NodeGetInfo>(&()).await?;
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

    /// `virConnectListAllDomains`.
    pub async fn list_all_domains(&self, flags: sys::virConnectListAllDomainsFlags) -> Result<Vec<Domain>, Error> {
        let ret = self
            .call::<r::ConnectListAllDomains>(&r::RemoteConnectListAllDomainsArgs { need_results: 1, flags })
            .await?;
        Ok(ret.domains.into_iter().map(|d| Domain::from_raw(self, d)).collect())
    }

    /// `virDomainLookupByName`.
    pub async fn lookup_domain_by_name(&self, id: &str) -> Result<Domain, Error> {
        let ret = self.call::<r::DomainLookupByName>(&r::RemoteDomainLookupByNameArgs { name: s(id) }).await?;
        Ok(Domain::from_raw(self, ret.dom))
    }

    /// `virDomainLookupByID`.
    pub async fn lookup_domain_by_id(&self, id: u32) -> Result<Domain, Error> {
        let id = i32::try_from(id)
            .map_err(|_| Error::invalid_arg("virDomainLookupByID", "id must be less than 2147483648"))?;
        Ok(Domain::from_raw(self, self.call::<r::DomainLookupById>(&r::RemoteDomainLookupByIdArgs { id }).await?.dom))
    }

    /// `virDomainLookupByUUID`.
    pub async fn lookup_domain_by_uuid(&self, uuid: Uuid) -> Result<Domain, Error> {
        let args = r::RemoteDomainLookupByUuidArgs { uuid: *uuid.as_bytes() };
        Ok(Domain::from_raw(self, self.call::<r::DomainLookupByUuid>(&args).await?.dom))
    }

    /// `virDomainDefineXML`.
    pub async fn define_domain_xml(&self, xml: &str) -> Result<Domain, Error> {
        let args = r::RemoteDomainDefineXmlArgs { xml: s(xml) };
        Ok(Domain::from_raw(self, self.call_rw::<r::DomainDefineXml>("virDomainDefineXML", &args).await?.dom))
    }

    /// `virDomainCreateXML`.
    pub async fn create_domain_xml(&self, xml: &str, flags: sys::virDomainCreateFlags) -> Result<Domain, Error> {
        let args = r::RemoteDomainCreateXmlArgs { xml_desc: s(xml), flags };
        Ok(Domain::from_raw(self, self.call_rw::<r::DomainCreateXml>("virDomainCreateXML", &args).await?.dom))
    }

    /// `virConnectDomainEventRegisterAny` as a stream: the events `event_id`
    /// (`VIR_DOMAIN_EVENT_ID_…`) of `dom`, or of every domain; dropping the stream deregisters.
    pub async fn domain_events(&self, dom: Option<&Domain>, event_id: i32) -> Result<DomainEvents, Error> {
        let filter = dom.map(Domain::raw);
        let reg = self.inner.client.register_events(EventFamily::Domain, event_id, filter.as_ref()).await?;
        Ok(DomainEvents { conn: self.clone(), reg })
    }
}

/// A stream of domain events (see [`Connect::domain_events`]).
pub struct DomainEvents {
    conn: Connect,
    reg: adapter_smol::Registration,
}

impl std::fmt::Debug for DomainEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainEvents").finish_non_exhaustive()
    }
}

impl DomainEvents {
    /// The next event; an error when the connection closed.
    pub async fn recv(&self) -> Result<DomainEvent, Error> {
        let ev = self.reg.recv().await.map_err(|e| Error::rpc(format!("internal error: {e}")))?;
        Ok(match ev {
            TypedEvent::Remote(r::Event::DomainEventCallbackLifecycle(m)) => DomainEvent::Lifecycle {
                domain: Domain::from_raw(&self.conn, m.msg.dom),
                event: crate::enumutil::Enum::from_raw(u32::try_from(m.msg.event).unwrap_or(u32::MAX)),
                detail: m.msg.detail,
            },
            other => DomainEvent::Other(Box::new(other)),
        })
    }
}
