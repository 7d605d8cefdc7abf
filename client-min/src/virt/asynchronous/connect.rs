//! `virConnect…`, async.

use std::sync::Arc;

use adapter_smol::{Client, ConnectOptions};
use proto_core::connect::ConnectSequence;
use proto_core::programs::remote as r;
use proto_core::uri::{LibvirtUri, RemoteTarget, Transport};
use proto_core::Procedure;
use smol::Async;

use super::domain::{Domain, DomainEvent};
use crate::driver::shown_uri;
use crate::error::{Error, ErrorDomain, ErrorNumber};
use crate::sys;

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) uri: String,
    pub(crate) read_only: bool,
    /// The transport encrypts (TLS).
    pub(crate) encrypted: bool,
    /// The transport is safe from eavesdropping (not plain TCP or ext).
    pub(crate) secure: bool,
    /// Over a UNIX socket or in process (the close callback's end-of-file reason).
    pub(crate) unix: bool,
    /// `CONNECT_GET_TYPE`'s answer: the remote driver asks once per connection.
    pub(crate) hv_type: std::sync::Mutex<Option<String>>,
    /// The domain event callbacks.
    pub(crate) events: Arc<std::sync::Mutex<crate::object_event::Registry<Connect>>>,
    /// Keeps the in-process `test:///default` state alive while this connection is open.
    pub(crate) _local: Option<Arc<crate::driver::LocalDefault>>,
}

/// An async connection (`virConnectPtr`); clones share it.
#[derive(Clone)]
pub struct Connect {
    pub(crate) inner: Arc<Inner>,
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

    /// `virConnectOpenAuth`: as the blocking one, the callback is never called (the transports
    /// this crate has authenticate without asking).
    pub async fn open_auth(
        uri: Option<&str>,
        auth: &mut crate::connect::ConnectAuth,
        flags: sys::virConnectFlags,
    ) -> Result<Self, Error> {
        let _ = auth;
        let read_only = flags & sys::VIR_CONNECT_RO != 0;
        Self::open_with(uri, &ConnectOptions { read_only, ..ConnectOptions::default() }).await
    }

    /// Opens through the driver table with explicit options: the in-process `test:///` driver
    /// first, the remote driver last.
    pub async fn open_with(uri: Option<&str>, options: &ConnectOptions) -> Result<Self, Error> {
        let env_default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
        let uri = proto_core::uri::select_uri(uri, env_default.as_deref());
        let (client, shown, local, encrypted, secure, unix) = match uri {
            Some(u) if daemon_min::embedded::is_local_test_uri(u) => {
                let (client, local) = open_local(u, options).await?;
                (client, shown_uri(u), local, false, true, true)
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
                let secure = !matches!(target.transport, Transport::Tcp | Transport::Ext);
                let unix = target.transport == Transport::Unix;
                (client, shown, None, target.transport == Transport::Tls, secure, unix)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                uri: shown,
                read_only: options.read_only,
                encrypted,
                secure,
                unix,
                hv_type: std::sync::Mutex::new(None),
                events: Arc::default(),
                _local: local,
            }),
        })
    }

    /// The underlying async client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// A typed call, the error as libvirt reports it.
    pub(crate) async fn call<P: Procedure>(&self, args: &P::Args) -> Result<P::Ret, Error> {
        Ok(self.inner.client.call::<P>(args).await?)
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
    pub(crate) async fn call_rw<P: Procedure>(&self, func: &str, args: &P::Args) -> Result<P::Ret, Error> {
        self.check_rw(func)?;
        self.call::<P>(args).await
    }

    /// Whether `other` is this same connection (a clone of it).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// `virConnectClose`: closes the connection for every clone; 0 remain.
    pub async fn close(self) -> Result<i32, Error> {
        self.event_registry().closing = true;
        self.inner.client.close().await?;
        Ok(0)
    }

    /// The domain event callbacks.
    pub(crate) fn event_registry(&self) -> std::sync::MutexGuard<'_, crate::object_event::Registry<Self>> {
        self.inner.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the task (on smol's global executor) that hands this connection's events to the
    /// callbacks (once); it ends, dropping the callbacks, when the connection closes.
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
        smol::spawn(async move {
            let reason = loop {
                match sub.recv().await {
                    Ok(ev) => {
                        let Some(inner) = weak.upgrade() else { break None };
                        let conn = Self { inner };
                        crate::object_event::dispatch(&registry, &ev, &conn);
                    }
                    Err(e) => break Some(crate::object_event::close_reason(&e, unix)),
                }
            };
            crate::object_event::closed(&registry, reason);
        })
        .detach();
    }

    /// [`Connect::domain_event_register_any`] as a stream: the events `event_id`
    /// (`VIR_DOMAIN_EVENT_ID_…`) of `dom`, or of every domain; dropping the stream deregisters.
    pub async fn domain_events(&self, dom: Option<&Domain>, event_id: i32) -> Result<DomainEvents, Error> {
        let (tx, rx) = smol::channel::bounded(crate::domain_event::QUEUED_EVENTS);
        let missed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = missed.clone();
        let callback_id = self
            .domain_event_register_any(dom, event_id, move |ev| {
                if tx.try_send(ev).is_err() {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .await?;
        Ok(DomainEvents { conn: Some(self.clone()), callback_id, rx, missed })
    }
}

/// A stream of domain events (see [`Connect::domain_events`]); dropping it deregisters.
pub struct DomainEvents {
    conn: Option<Connect>,
    callback_id: i32,
    rx: smol::channel::Receiver<DomainEvent>,
    missed: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for DomainEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainEvents").field("callback_id", &self.callback_id).finish_non_exhaustive()
    }
}

impl DomainEvents {
    /// The registration's callback id.
    pub fn callback_id(&self) -> i32 {
        self.callback_id
    }

    /// The next event; an error once the connection closed.
    pub async fn recv(&self) -> Result<DomainEvent, Error> {
        self.rx.recv().await.map_err(|_| Error::rpc("internal error: client socket is closed"))
    }

    /// Events dropped because the queue was full.
    pub fn missed(&self) -> u64 {
        self.missed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `virConnectDomainEventDeregisterAny`, waiting for the daemon's answer.
    pub async fn deregister(mut self) -> Result<(), Error> {
        match self.conn.take() {
            Some(conn) => conn.domain_event_deregister_any(self.callback_id).await,
            None => Ok(()),
        }
    }
}

impl Drop for DomainEvents {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if conn.is_alive().unwrap_or(false) {
                let id = self.callback_id;
                smol::spawn(async move {
                    let _ = conn.domain_event_deregister_any(id).await;
                })
                .detach();
            }
        }
    }
}
