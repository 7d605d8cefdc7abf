//! `virDomainMigrate…`: libvirt's client-side migration entry points. Each runs the checks
//! `src/libvirt-domain.c` makes before any RPC (read-only connections, exclusive and required
//! flags), asks the drivers which migration protocols they speak
//! (`REMOTE_PROC_CONNECT_SUPPORTS_FEATURE` with `VIR_DRV_FEATURE_MIGRATION_…`, in libvirt's
//! order) and takes the path libvirt takes. The daemon-driven paths (`virDomainMigrateToURI*`
//! and peer-to-peer `virDomainMigrate*`) are one `DOMAIN_MIGRATE_PERFORM*` call, as the remote
//! driver makes it. The client-driven protocols (`virDomainMigrateVersion1/2/3/3Params`: begin,
//! prepare, perform, finish and confirm across both connections) are not implemented: when
//! both drivers offer one, the call fails with `VIR_ERR_NO_SUPPORT` naming the protocol.
//! Neither libvirt's test driver nor daemon-min offers any migration feature, so there every
//! call ends with libvirt's own error.

use proto_core::programs::remote as r;

use crate::connect::Connect;
use crate::domain::{Domain, MigrateParameters};
use crate::error::{Error, ErrorNumber};
use crate::macros::twin;
use crate::sys;
use crate::typedparams::{TypedParamValue, TypedParams};
use crate::util::{opt, s};

/// `VIR_DRV_FEATURE_MIGRATION_V1` (`src/libvirt_internal.h`).
const MIGRATION_V1: i32 = 1;
/// `VIR_DRV_FEATURE_MIGRATION_V2`.
const MIGRATION_V2: i32 = 3;
/// `VIR_DRV_FEATURE_MIGRATION_P2P`.
const MIGRATION_P2P: i32 = 4;
/// `VIR_DRV_FEATURE_MIGRATION_DIRECT`.
const MIGRATION_DIRECT: i32 = 5;
/// `VIR_DRV_FEATURE_MIGRATION_V3`.
const MIGRATION_V3: i32 = 6;
/// `VIR_DRV_FEATURE_MIGRATE_CHANGE_PROTECTION`.
const CHANGE_PROTECTION: i32 = 7;
/// `VIR_DRV_FEATURE_MIGRATION_OFFLINE`.
const MIGRATION_OFFLINE: i32 = 12;
/// `VIR_DRV_FEATURE_MIGRATION_PARAMS`.
const MIGRATION_PARAMS: i32 = 13;

const NON_SHARED_DISK: u32 = sys::VIR_MIGRATE_NON_SHARED_DISK;
const NON_SHARED_INC: u32 = sys::VIR_MIGRATE_NON_SHARED_INC;
const SYNC_WRITES: u32 = sys::VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES;
const TUNNELLED: u32 = sys::VIR_MIGRATE_TUNNELLED;
const PARALLEL: u32 = sys::VIR_MIGRATE_PARALLEL;
const PEER2PEER: u32 = sys::VIR_MIGRATE_PEER2PEER;
const OFFLINE: u32 = sys::VIR_MIGRATE_OFFLINE;
const CHANGE_PROT: u32 = sys::VIR_MIGRATE_CHANGE_PROTECTION;

/// The parameters the older protocols carry (`compatParams` of `virDomainMigrate3` and
/// `virDomainMigrateUnmanagedProto3`).
const COMPAT3: &[&str] = &[
    sys::VIR_MIGRATE_PARAM_URI,
    sys::VIR_MIGRATE_PARAM_DEST_NAME,
    sys::VIR_MIGRATE_PARAM_DEST_XML,
    sys::VIR_MIGRATE_PARAM_BANDWIDTH,
];
/// `virDomainMigrateUnmanagedProto2`'s.
const COMPAT2: &[&str] =
    &[sys::VIR_MIGRATE_PARAM_DEST_NAME, sys::VIR_MIGRATE_PARAM_BANDWIDTH, sys::VIR_MIGRATE_PARAM_URI];

fn flag_name(flag: u32) -> &'static str {
    match flag {
        NON_SHARED_DISK => "VIR_MIGRATE_NON_SHARED_DISK",
        NON_SHARED_INC => "VIR_MIGRATE_NON_SHARED_INC",
        TUNNELLED => "VIR_MIGRATE_TUNNELLED",
        PARALLEL => "VIR_MIGRATE_PARALLEL",
        _ => "VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES",
    }
}

/// `VIR_EXCLUSIVE_FLAGS_GOTO(a, b)`.
fn exclusive(func: &str, flags: u32, a: u32, b: u32) -> Result<(), Error> {
    if flags & a != 0 && flags & b != 0 {
        return Err(Error::invalid_arg(
            func,
            format!("Flags '{}' and '{}' are mutually exclusive", flag_name(a), flag_name(b)),
        ));
    }
    Ok(())
}

/// `VIR_REQUIRE_FLAG_GOTO(NON_SHARED_SYNCHRONOUS_WRITES, NON_SHARED_DISK | NON_SHARED_INC)`.
fn sync_writes_need_disks(func: &str, flags: u32) -> Result<(), Error> {
    if flags & SYNC_WRITES != 0 && flags & (NON_SHARED_DISK | NON_SHARED_INC) == 0 {
        return Err(Error::invalid_arg(
            func,
            "Flag 'VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_NON_SHARED_INC' is required by flag 'VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES'",
        ));
    }
    Ok(())
}

fn unsupported_arg(func: &str, what: &str) -> Error {
    Error::in_api(func, ErrorNumber::ArgumentUnsupported, format!("argument unsupported: {what}"))
}

/// `virReportUnsupportedError` in `func`.
fn no_support(func: &str) -> Error {
    Error::in_api(
        func,
        ErrorNumber::NoSupport,
        format!("this function is not supported by the connection driver: {func}"),
    )
}

/// A client-driven protocol both drivers offer, which this crate does not run.
fn not_implemented(func: &str, protocol: &str) -> Error {
    Error::in_api(
        func,
        ErrorNumber::NoSupport,
        format!("this function is not supported by the connection driver: {func} (client-driven migration {protocol} is not implemented)"),
    )
}

/// `virTypedParamsCheck`: every parameter's name is one of `names`.
fn only(params: &TypedParams, names: &[&str]) -> bool {
    params.0.iter().all(|p| names.contains(&p.field.as_str()))
}

/// `virDomainMigrateCheckNotLocal`: a peer-to-peer destination URI naming this host
/// (`localhost…`, or no server and no `socket=`) is refused.
fn check_not_local(func: &str, dconnuri: &str) -> Result<(), Error> {
    let (rest, query) = dconnuri.split_once('?').unwrap_or((dconnuri, ""));
    let server = rest.split_once("://").map(|(_, after)| {
        let authority = after.split('/').next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        host.split(':').next().unwrap_or("").to_owned()
    });
    let unix_socket = query.split('&').any(|kv| kv.split('=').next() == Some("socket"));
    let local = match server.as_deref() {
        Some(h) if !h.is_empty() => h.starts_with("localhost"),
        _ => !unix_socket,
    };
    if local {
        return Err(Error::invalid_arg(func, "Attempt to migrate guest to the same host"));
    }
    Ok(())
}

/// `virDomainMigrateUnmanaged`'s parameter list.
fn unmanaged_params(xmlin: Option<&str>, dname: Option<&str>, miguri: Option<&str>, bandwidth: u64) -> TypedParams {
    let mut p = TypedParams::default();
    let st = |v: Option<&str>| v.map(|x| TypedParamValue::String(x.to_owned()));
    p.push(sys::VIR_MIGRATE_PARAM_URI, st(miguri));
    p.push(sys::VIR_MIGRATE_PARAM_DEST_NAME, st(dname));
    p.push(sys::VIR_MIGRATE_PARAM_DEST_XML, st(xmlin));
    p.push(sys::VIR_MIGRATE_PARAM_BANDWIDTH, Some(TypedParamValue::ULLong(bandwidth)));
    p
}

twin! { Connect, Domain; impl Domain {
    /// `VIR_DRV_SUPPORTS_FEATURE` through the remote driver: a failed call counts as "no",
    /// as `remoteConnectSupportsFeature` makes it.
    async fn supports(conn: &Connect, feature: i32) -> bool {
        let args = r::RemoteConnectSupportsFeatureArgs { feature };
        aw!(conn.call::<r::ConnectSupportsFeature>(&args)).is_ok_and(|ret| ret.supported != 0)
    }

    /// The offline and change-protection probes the managed entry points share.
    async fn migrate_probes(&self, func: &str, dconn: &Connect, flags: u32, offline_first: bool) -> Result<(), Error> {
        if offline_first && flags & OFFLINE != 0 {
            if !aw!(Self::supports(&self.conn, MIGRATION_OFFLINE)) {
                return Err(unsupported_arg(func, "offline migration is not supported by the source host"));
            }
            if !aw!(Self::supports(dconn, MIGRATION_OFFLINE)) {
                return Err(unsupported_arg(func, "offline migration is not supported by the destination host"));
            }
        }
        if !offline_first && flags & CHANGE_PROT != 0 && !aw!(Self::supports(&self.conn, CHANGE_PROTECTION)) {
            return Err(unsupported_arg(func, "cannot enforce change protection"));
        }
        Ok(())
    }

    /// `virDomainMigrate`/`virDomainMigrate2`'s common body.
    #[allow(clippy::too_many_arguments)]
    async fn migrate_managed(&self, func: &str, dconn: &Connect, dxml: Option<&str>, flags: u32, dname: Option<&str>, uri: Option<&str>, bandwidth: u64) -> Result<Domain, Error> {
        self.conn.check_rw(func)?;
        dconn.check_rw(func)?;
        exclusive(func, flags, NON_SHARED_DISK, NON_SHARED_INC)?;
        exclusive(func, flags, TUNNELLED, PARALLEL)?;
        sync_writes_need_disks(func, flags)?;
        aw!(self.migrate_probes(func, dconn, flags, true))?;
        if flags & PEER2PEER != 0 {
            if !aw!(Self::supports(&self.conn, MIGRATION_P2P)) {
                return Err(no_support(func));
            }
            let dconnuri = dconn.uri()?;
            // virDomainMigrate passes the migration URI (or the destination's) as the
            // destination connection's; virDomainMigrate2 passes both.
            let (dconnuri, miguri) = if func == "virDomainMigrate" { (uri.unwrap_or(&dconnuri), None) } else { (dconnuri.as_str(), uri) };
            let params = unmanaged_params(dxml, dname, miguri, bandwidth);
            aw!(self.migrate_unmanaged(func, Some(dconnuri), params, flags))?;
            let name = dname.map_or_else(|| self.name.to_string(), str::to_owned);
            return aw!(dconn.lookup_domain_by_name(&name));
        }
        aw!(self.migrate_probes(func, dconn, flags, false))?;
        let flags = flags & !CHANGE_PROT;
        if flags & TUNNELLED != 0 {
            return Err(Error::in_api(
                func,
                ErrorNumber::OperationInvalid,
                "Requested operation is not valid: cannot perform tunnelled migration without using peer2peer flag",
            ));
        }
        aw!(self.migrate_versions(func, dconn, dxml.is_some()))
    }

    /// The V3, V2, V1 probes of the managed entry points, each on both sides.
    async fn migrate_versions(&self, func: &str, dconn: &Connect, dxml: bool) -> Result<Domain, Error> {
        for (feature, protocol) in [(MIGRATION_V3, "protocol 3"), (MIGRATION_V2, "protocol 2"), (MIGRATION_V1, "protocol 1")] {
            let src = aw!(Self::supports(&self.conn, feature));
            let dst = aw!(Self::supports(dconn, feature));
            if src && dst {
                if dxml && feature != MIGRATION_V3 {
                    return Err(unsupported_arg(func, "Unable to change target guest XML during migration"));
                }
                return Err(not_implemented(func, protocol));
            }
        }
        Err(no_support(func))
    }

    /// `virDomainMigrateUnmanagedCheckCompat`.
    async fn migrate_check_compat(&self, func: &str, flags: u32) -> Result<(), Error> {
        exclusive(func, flags, NON_SHARED_DISK, NON_SHARED_INC)?;
        sync_writes_need_disks(func, flags)?;
        if flags & OFFLINE != 0 && !aw!(Self::supports(&self.conn, MIGRATION_OFFLINE)) {
            return Err(unsupported_arg(func, "offline migration is not supported by the source host"));
        }
        if flags & PEER2PEER != 0 {
            if !aw!(Self::supports(&self.conn, MIGRATION_P2P)) {
                return Err(unsupported_arg(func, "p2p migration is not supported by the source host"));
            }
        } else if !aw!(Self::supports(&self.conn, MIGRATION_DIRECT)) {
            return Err(unsupported_arg(func, "direct migration is not supported by the source host"));
        }
        Ok(())
    }

    /// `virDomainMigrateUnmanagedParams`: the source daemon migrates, told in one call.
    async fn migrate_unmanaged(&self, func: &str, dconnuri: Option<&str>, params: TypedParams, flags: u32) -> Result<(), Error> {
        if flags & PEER2PEER != 0 {
            check_not_local(func, dconnuri.unwrap_or(""))?;
            if aw!(Self::supports(&self.conn, MIGRATION_PARAMS)) {
                let args = r::RemoteDomainMigratePerform3ParamsArgs {
                    dom: self.raw(),
                    dconnuri: opt(dconnuri),
                    params: params.into_remote(),
                    cookie_in: Default::default(),
                    flags,
                };
                return aw!(self.conn.call::<r::DomainMigratePerform3Params>(&args)).map(|_| ());
            }
        }
        let uri = params.string(sys::VIR_MIGRATE_PARAM_URI);
        let dname = params.string(sys::VIR_MIGRATE_PARAM_DEST_NAME);
        let bandwidth = params.u64(sys::VIR_MIGRATE_PARAM_BANDWIDTH).unwrap_or(0);
        if aw!(Self::supports(&self.conn, MIGRATION_V3)) {
            if !only(&params, COMPAT3) {
                return Err(unsupported_arg(func, "Some parameters are not supported by migration protocol 3"));
            }
            let args = r::RemoteDomainMigratePerform3Args {
                dom: self.raw(),
                xmlin: opt(params.string(sys::VIR_MIGRATE_PARAM_DEST_XML).as_deref()),
                cookie_in: Default::default(),
                dconnuri: opt(dconnuri),
                uri: opt(uri.as_deref()),
                flags: u64::from(flags),
                dname: opt(dname.as_deref()),
                resource: bandwidth,
            };
            return aw!(self.conn.call::<r::DomainMigratePerform3>(&args)).map(|_| ());
        }
        if !only(&params, COMPAT2) {
            return Err(unsupported_arg(func, "Some parameters are not supported by migration protocol 2"));
        }
        let uri = if flags & PEER2PEER != 0 {
            if uri.is_some() {
                return Err(Error::in_api(func, ErrorNumber::InternalError, "internal error: Unable to override peer2peer migration URI"));
            }
            dconnuri.map(str::to_owned)
        } else {
            uri
        };
        let args = r::RemoteDomainMigratePerformArgs {
            dom: self.raw(),
            cookie: Default::default(),
            uri: s(uri.as_deref().unwrap_or("")),
            flags: u64::from(flags),
            dname: opt(dname.as_deref()),
            resource: bandwidth,
        };
        aw!(self.conn.call::<r::DomainMigratePerform>(&args)).map(|_| ())
    }

    /// `virDomainMigrate`: migrate this domain to the host `dconn` is connected to; the
    /// domain there.
    pub async fn migrate(&self, dconn: &Connect, flags: u32, dname: Option<&str>, uri: Option<&str>, bandwidth: u64) -> Result<Domain, Error> {
        aw!(self.migrate_managed("virDomainMigrate", dconn, None, flags, dname, uri, bandwidth))
    }

    /// `virDomainMigrate2`: as [`Domain::migrate`], with the destination's domain XML.
    #[allow(clippy::too_many_arguments)]
    pub async fn migrate2(&self, dconn: &Connect, dxml: Option<&str>, flags: u32, dname: Option<&str>, uri: Option<&str>, bandwidth: u64) -> Result<Domain, Error> {
        aw!(self.migrate_managed("virDomainMigrate2", dconn, dxml, flags, dname, uri, bandwidth))
    }

    /// `virDomainMigrate3`: as [`Domain::migrate`], with typed parameters.
    pub async fn migrate3(&self, dconn: &Connect, parameters: MigrateParameters, flags: u32) -> Result<Domain, Error> {
        const FUNC: &str = "virDomainMigrate3";
        self.conn.check_rw(FUNC)?;
        dconn.check_rw(FUNC)?;
        exclusive(FUNC, flags, NON_SHARED_DISK, NON_SHARED_INC)?;
        sync_writes_need_disks(FUNC, flags)?;
        if flags & PEER2PEER != 0 {
            return Err(Error::invalid_arg(FUNC, "use virDomainMigrateToURI3 for peer-to-peer migration"));
        }
        if flags & TUNNELLED != 0 {
            return Err(Error::invalid_arg(FUNC, "cannot perform tunnelled migration without using peer2peer flag"));
        }
        aw!(self.migrate_probes(FUNC, dconn, flags, true))?;
        aw!(self.migrate_probes(FUNC, dconn, flags, false))?;
        let src = aw!(Self::supports(&self.conn, MIGRATION_PARAMS));
        let dst = aw!(Self::supports(dconn, MIGRATION_PARAMS));
        if src && dst {
            return Err(not_implemented(FUNC, "protocol 3 with parameters"));
        }
        let params = parameters.to_params();
        if !only(&params, COMPAT3) {
            return Err(unsupported_arg(
                FUNC,
                "Migration APIs with extensible parameters are not supported but extended parameters were passed",
            ));
        }
        aw!(self.migrate_versions(FUNC, dconn, parameters.dest_xml.is_some()))
    }

    /// `virDomainMigrateToURI`: the source daemon migrates this domain to `duri` (the
    /// destination's connection URI with `VIR_MIGRATE_PEER2PEER`, else its migration URI).
    pub async fn migrate_to_uri(&self, duri: &str, flags: u32, dname: Option<&str>, bandwidth: u64) -> Result<(), Error> {
        const FUNC: &str = "virDomainMigrateToURI";
        self.conn.check_rw(FUNC)?;
        exclusive(FUNC, flags, TUNNELLED, PARALLEL)?;
        aw!(self.migrate_check_compat(FUNC, flags))?;
        let (dconnuri, miguri) = if flags & PEER2PEER != 0 { (Some(duri), None) } else { (None, Some(duri)) };
        aw!(self.migrate_unmanaged(FUNC, dconnuri, unmanaged_params(None, dname, miguri, bandwidth), flags))
    }

    /// `virDomainMigrateToURI2`: as [`Domain::migrate_to_uri`], with both URIs and the
    /// destination's domain XML.
    #[allow(clippy::too_many_arguments)]
    pub async fn migrate_to_uri2(&self, dconn_uri: Option<&str>, mig_uri: Option<&str>, dxml: Option<&str>, flags: u32, dname: Option<&str>, bandwidth: u64) -> Result<(), Error> {
        const FUNC: &str = "virDomainMigrateToURI2";
        self.conn.check_rw(FUNC)?;
        exclusive(FUNC, flags, TUNNELLED, PARALLEL)?;
        aw!(self.migrate_check_compat(FUNC, flags))?;
        let dconnuri = if flags & PEER2PEER != 0 {
            if dconn_uri.is_none() {
                return Err(Error::invalid_arg(FUNC, format!("dconnuri in {FUNC} must not be NULL")));
            }
            dconn_uri
        } else {
            None
        };
        aw!(self.migrate_unmanaged(FUNC, dconnuri, unmanaged_params(dxml, dname, mig_uri, bandwidth), flags))
    }

    /// `virDomainMigrateToURI3`: as [`Domain::migrate_to_uri`], with typed parameters.
    pub async fn migrate_to_uri3(&self, dconn_uri: Option<&str>, parameters: MigrateParameters, flags: u32) -> Result<(), Error> {
        const FUNC: &str = "virDomainMigrateToURI3";
        self.conn.check_rw(FUNC)?;
        exclusive(FUNC, flags, TUNNELLED, PARALLEL)?;
        aw!(self.migrate_check_compat(FUNC, flags))?;
        let dconnuri = if flags & PEER2PEER != 0 {
            if dconn_uri.is_none() {
                return Err(Error::invalid_arg(FUNC, format!("dconnuri in {FUNC} must not be NULL")));
            }
            dconn_uri
        } else {
            None
        };
        aw!(self.migrate_unmanaged(FUNC, dconnuri, parameters.to_params(), flags))
    }
} }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_to_peer_refuses_this_host_as_libvirt_does() {
        let f = "virDomainMigrateToURI";
        assert!(check_not_local(f, "qemu+ssh://localhost/system").is_err());
        assert!(check_not_local(f, "qemu+ssh://root@localhost.localdomain:22/system").is_err());
        assert!(check_not_local(f, "qemu:///system").is_err());
        assert!(check_not_local(f, "qemu:///system?socket=/run/x.sock").is_ok());
        assert!(check_not_local(f, "qemu+tcp://otherhost/system").is_ok());
        assert_eq!(
            check_not_local(f, "test:///default").unwrap_err().message(),
            "Attempt to migrate guest to the same host"
        );
    }

    #[test]
    fn flag_checks_raise_libvirts_errors() {
        let f = "virDomainMigrate";
        let e = exclusive(f, NON_SHARED_DISK | NON_SHARED_INC, NON_SHARED_DISK, NON_SHARED_INC).unwrap_err();
        assert_eq!(
            e.message(),
            "Flags 'VIR_MIGRATE_NON_SHARED_DISK' and 'VIR_MIGRATE_NON_SHARED_INC' are mutually exclusive"
        );
        assert!(exclusive(f, NON_SHARED_DISK, NON_SHARED_DISK, NON_SHARED_INC).is_ok());
        assert!(sync_writes_need_disks(f, SYNC_WRITES).is_err());
        assert!(sync_writes_need_disks(f, SYNC_WRITES | NON_SHARED_INC).is_ok());
    }
}
