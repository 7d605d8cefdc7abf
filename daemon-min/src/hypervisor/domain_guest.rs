//! The test driver's guest-facing domain entries: what a guest agent or the guest's devices
//! would answer, made up as libvirt 9.0's `src/test/test_driver.c` makes it up: file systems
//! (`virDomainFSFreeze`/`FSThaw`/`FSTrim`/`GetFSInfo`), interface addresses and statistics,
//! block statistics, memory peeks, user passwords, process signals, the balloon's statistics
//! period, launch security, renaming, and `virConnectGetAllDomainStats`. Each checks what the
//! public API and libvirtd's dispatcher check before the driver.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_devices::Device;
use super::domain_tune::{TypedValue, AFFECT_CONFIG, AFFECT_LIVE};
use super::error::{self, Result};
use super::events::{domain_event, Event};
use super::xml::{Element, Node};
use super::Hypervisor;

/// `VIR_DOMAIN_PROCESS_SIGNAL_LAST`.
const PROCESS_SIGNAL_LAST: u32 = 65;
/// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LAST`.
const ADDRESSES_SRC_LAST: u32 = 3;
/// `REMOTE_DOMAIN_MEMORY_PEEK_BUFFER_MAX`.
const MEMORY_PEEK_BUFFER_MAX: u32 = 4_194_304;
/// `VIR_MEMORY_VIRTUAL`, `VIR_MEMORY_PHYSICAL`.
const MEMORY_VIRTUAL: u32 = 1;
const MEMORY_PHYSICAL: u32 = 2;
/// `VIR_DOMAIN_UNDEFINED_RENAMED`, `VIR_DOMAIN_DEFINED_RENAMED`.
const UNDEFINED_RENAMED: i32 = 1;
const DEFINED_RENAMED: i32 = 2;
/// `VIR_DOMAIN_STATS_STATE`, `VIR_DOMAIN_STATS_IOTHREAD`: the groups the test driver fills.
const STATS_STATE: u32 = 1;
const STATS_IOTHREAD: u32 = 1 << 7;
/// `VIR_CONNECT_LIST_DOMAINS_FILTERS_{ACTIVE,PERSISTENT,STATE}`.
const STATS_LIST_FILTERS: u32 = 0xff;
/// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_{NOWAIT,BACKING,ENFORCE_STATS}`.
const STATS_NOWAIT: u32 = 1 << 29;
const STATS_BACKING: u32 = 1 << 30;
const STATS_ENFORCE: u32 = 1 << 31;
/// `REMOTE_DOMAIN_LIST_MAX`.
const DOMAIN_LIST_MAX: usize = 16384;

/// One domain's statistics (`virDomainStatsRecord`): the domain and its typed parameters.
pub type StatsRecord = (DomainHandle, Vec<(String, TypedValue)>);

/// One guest file system (`virDomainFSInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    /// Mount point.
    pub mountpoint: String,
    /// Device name in the guest.
    pub name: String,
    /// File system type.
    pub fstype: String,
    /// The disks' target names.
    pub dev_aliases: Vec<String>,
}

/// One guest interface and its addresses (`virDomainInterface`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestInterface {
    /// Interface name.
    pub name: String,
    /// MAC address.
    pub hwaddr: Option<String>,
    /// (type: 0 IPv4, 1 IPv6; address; prefix).
    pub addrs: Vec<(i32, String, u32)>,
}

/// A public API argument check (`virCheck*Arg`), raised by libvirt-domain.c.
pub(super) fn api_arg(what: &str) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_DOMAIN, format!("invalid argument: {what}"))
}

fn test_error(code: ErrorCode, message: String) -> error::Error {
    error::e(code, ErrorDomain::VIR_FROM_TEST, message)
}

/// `virSocketAddrGetIPPrefix`: the prefix, else the netmask's bits, else the class's.
fn ip_prefix(address: Option<&str>, netmask: Option<&str>, prefix: Option<&str>, v6: bool) -> u32 {
    if let Some(p) = prefix.and_then(|p| p.trim().parse::<u32>().ok()) {
        return p;
    }
    if let Some(m) = netmask.and_then(|m| m.parse::<std::net::Ipv4Addr>().ok()) {
        return u32::from(m).count_ones();
    }
    if v6 {
        return 64;
    }
    match address.and_then(|a| a.parse::<std::net::Ipv4Addr>().ok()).map(|a| a.octets()[0]) {
        Some(0..=127) => 8,
        Some(128..=191) => 16,
        Some(192..=223) => 24,
        _ => 0,
    }
}

impl Hypervisor {
    fn wall_us(&self) -> u64 {
        (self.clock)() / 1000
    }

    /// `DOMAIN_GET_LAUNCH_SECURITY_INFO`: no parameters (the test driver looks nothing up).
    pub fn domain_get_launch_security_info(
        &self,
        _dom: &DomainHandle,
        flags: u32,
    ) -> Result<Vec<(String, TypedValue)>> {
        error::check_flags(flags, 0, "testDomainGetLaunchSecurityInfo")?;
        Ok(Vec::new())
    }

    /// `DOMAIN_SET_USER_PASSWORD` (flag `VIR_DOMAIN_PASSWORD_ENCRYPTED`): accepted on a running
    /// domain, forgotten.
    pub fn domain_set_user_password(
        &self,
        dom: &DomainHandle,
        user: Option<&str>,
        password: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        if user.is_none() {
            return Err(api_arg("user in virDomainSetUserPassword must not be NULL"));
        }
        if password.is_none() {
            return Err(api_arg("password in virDomainSetUserPassword must not be NULL"));
        }
        error::check_flags(flags, 1, "testDomainSetUserPassword")?;
        self.active_dom(dom).map(|_| ())
    }

    /// `DOMAIN_SEND_PROCESS_SIGNAL`: only to pid 1, and nothing happens.
    pub fn domain_send_process_signal(&self, dom: &DomainHandle, pid: i64, signum: u32, flags: u32) -> Result<()> {
        if pid == 0 {
            return Err(api_arg("pid_value in virDomainSendProcessSignal must not be zero"));
        }
        error::check_flags(flags, 0, "testDomainSendProcessSignal")?;
        if pid != 1 {
            return Err(test_error(
                ErrorCode::VIR_ERR_INVALID_ARG,
                "invalid argument: only sending a signal to pid 1 is supported".into(),
            ));
        }
        if signum >= PROCESS_SIGNAL_LAST {
            return Err(test_error(
                ErrorCode::VIR_ERR_INVALID_ARG,
                format!("invalid argument: signum value {} is out of range", signum as i32),
            ));
        }
        self.dom_index(dom).map(|_| ())
    }

    /// The two file systems the test driver's guests have, `/` and `/boot`, by index.
    fn mountpoint_index(mountpoint: &str) -> Result<usize> {
        match mountpoint {
            "/" => Ok(0),
            "/boot" => Ok(1),
            other => Err(test_error(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                format!("Requested operation is not valid: mount point not found: {other}"),
            )),
        }
    }

    /// `DOMAIN_FSFREEZE` (`freeze`) and `DOMAIN_FSTHAW`: the file systems whose state changed.
    /// No mount points means all of them.
    pub fn domain_fs_freeze(
        &mut self,
        dom: &DomainHandle,
        mountpoints: &[String],
        flags: u32,
        freeze: bool,
    ) -> Result<i32> {
        error::check_flags(flags, 0, if freeze { "testDomainFSFreeze" } else { "testDomainFSThaw" })?;
        let i = self.active_dom(dom)?;
        let mut frozen = self.domains[i].extra.frozen;
        let mut changed = 0;
        if mountpoints.is_empty() {
            changed = frozen.iter().filter(|f| **f != freeze).count();
            frozen = [freeze; 2];
        } else {
            for m in mountpoints {
                let k = Self::mountpoint_index(m)?;
                if frozen[k] != freeze {
                    frozen[k] = freeze;
                    changed += 1;
                }
            }
        }
        self.domains[i].extra.frozen = frozen;
        Ok(i32::try_from(changed).unwrap_or(0))
    }

    /// `DOMAIN_FSTRIM`: nothing to trim, on `/`, `/boot` or all.
    pub fn domain_fs_trim(&self, dom: &DomainHandle, mountpoint: Option<&str>, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testDomainFSTrim")?;
        self.active_dom(dom)?;
        if let Some(m) = mountpoint {
            Self::mountpoint_index(m)?;
        }
        Ok(())
    }

    /// `DOMAIN_GET_FSINFO`: `/` and `/boot` (ext4) on the first disk of device `disk`.
    pub fn domain_get_fs_info(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<FsInfo>> {
        error::check_flags(flags, 0, "testDomainGetFSInfo")?;
        let i = self.active_dom(dom)?;
        let first = self.domains[i].def.devices.iter().find_map(|d| match d {
            Device::Disk(disk) if disk.device == "disk" => Some(disk.dst.clone()),
            _ => None,
        });
        Ok(first
            .map(|dst| {
                [("/", 1), ("/boot", 2)]
                    .into_iter()
                    .map(|(mountpoint, part)| FsInfo {
                        mountpoint: mountpoint.to_owned(),
                        name: format!("{dst}{part}"),
                        fstype: "ext4".to_owned(),
                        dev_aliases: vec![dst.clone()],
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `DOMAIN_INTERFACE_ADDRESSES`: one made-up address per interface; on a virtual network,
    /// the network's first address (or DHCP range start) plus an offset per domain and
    /// interface.
    pub fn domain_interface_addresses(
        &self,
        dom: &DomainHandle,
        source: u32,
        flags: u32,
    ) -> Result<Vec<GuestInterface>> {
        error::check_flags(flags, 0, "testDomainInterfaceAddresses")?;
        if source >= ADDRESSES_SRC_LAST {
            return Err(test_error(
                ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
                format!("argument unsupported: Unknown IP address data source {}", source as i32),
            ));
        }
        let i = self.active_dom(dom)?;
        let d = &self.domains[i];
        let nets = d.def.devices.iter().filter_map(|x| if let Device::Net(n) = x { Some(n) } else { None });
        let mut out = Vec::new();
        for (k, net) in nets.enumerate() {
            let offset = 20 * (i64::from(d.id) - 1) + k as i64 + 1;
            let addr = if net.net_type == "network" {
                let name = net.source.as_ref().and_then(|s| s.attr("network")).unwrap_or_default();
                let n = self.net_by_name(name)?;
                let def = &self.networks[n].def;
                let Some([family, address, netmask, prefix, range]) = def.first_ip() else {
                    return Err(error::internal(&format!("network '{name}' has no IP address")));
                };
                let v6 = family == Some("ipv6");
                let prefix = ip_prefix(address, netmask, prefix, v6);
                let base = range.or(address).unwrap_or_default();
                if v6 {
                    let mut a = base.parse::<std::net::Ipv6Addr>().map(|a| a.octets()).unwrap_or_default();
                    a[15] = a[15].wrapping_add(offset as u8);
                    (1, std::net::Ipv6Addr::from(a).to_string(), prefix)
                } else {
                    let a = base.parse::<std::net::Ipv4Addr>().map(u32::from).unwrap_or_default();
                    (0, std::net::Ipv4Addr::from(a.wrapping_add(offset as u32)).to_string(), prefix)
                }
            } else {
                (0, format!("192.168.0.{}", k + 1), 24)
            };
            out.push(GuestInterface {
                name: net.ifname.clone().unwrap_or_default(),
                hwaddr: Some(net.mac.clone()),
                addrs: vec![addr],
            });
        }
        Ok(out)
    }

    /// `virDomainNetFind`: by MAC address, or by interface name.
    fn net_find(&self, i: usize, device: &str) -> Result<()> {
        let nets =
            self.domains[i].def.devices.iter().filter_map(|x| if let Device::Net(n) = x { Some(n) } else { None });
        let mac = parse_mac(device);
        let found = nets.into_iter().any(|n| match &mac {
            Some(m) => parse_mac(&n.mac).as_ref() == Some(m),
            None => n.ifname.as_deref() == Some(device),
        });
        if found {
            return Ok(());
        }
        Err(error::e(
            ErrorCode::VIR_ERR_INVALID_ARG,
            ErrorDomain::VIR_FROM_DOMAIN,
            format!("invalid argument: '{device}' is not a known interface"),
        ))
    }

    /// `DOMAIN_INTERFACE_STATS`: counters derived from the wall clock.
    pub fn domain_interface_stats(&self, dom: &DomainHandle, device: &str) -> Result<[i64; 8]> {
        let i = self.active_dom(dom)?;
        self.net_find(i, device)?;
        let t = i64::try_from(self.wall_us()).unwrap_or(i64::MAX);
        Ok([t / 10, t / 100, t / 1_000_000, t / 2_000_000, t / 20, t / 110, t / 3_000_000, t / 4_000_000])
    }

    /// `DOMAIN_BLOCK_STATS`: counters derived from the wall clock, for a disk by target or
    /// source path.
    pub fn domain_block_stats(&self, dom: &DomainHandle, path: &str) -> Result<[i64; 5]> {
        if path.is_empty() {
            return Err(test_error(
                ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED,
                "Operation not supported: summary statistics are not supported yet".into(),
            ));
        }
        let i = self.active_dom(dom)?;
        if self.domains[i].def.disk_by_name(path).is_none() {
            return Err(test_error(ErrorCode::VIR_ERR_INVALID_ARG, format!("invalid argument: invalid path: {path}")));
        }
        let t = i64::try_from(self.wall_us()).unwrap_or(i64::MAX);
        Ok([t / 10, t / 20, t / 30, t / 40, t / 2_000_000])
    }

    /// `DOMAIN_MEMORY_PEEK`: `size` bytes counting up from the low byte of `start`.
    pub fn domain_memory_peek(&self, dom: &DomainHandle, start: u64, size: u32, flags: u32) -> Result<Vec<u8>> {
        if size > MEMORY_PEEK_BUFFER_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: size > maximum buffer size",
            ));
        }
        if flags & MEMORY_VIRTUAL != 0 && flags & MEMORY_PHYSICAL != 0 {
            return Err(api_arg("Flags 'VIR_MEMORY_VIRTUAL' and 'VIR_MEMORY_PHYSICAL' are mutually exclusive"));
        }
        error::check_flags(flags, MEMORY_VIRTUAL | MEMORY_PHYSICAL, "testDomainMemoryPeek")?;
        if flags != MEMORY_VIRTUAL && flags != MEMORY_PHYSICAL {
            return Err(test_error(
                ErrorCode::VIR_ERR_INVALID_ARG,
                "invalid argument: flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL".into(),
            ));
        }
        self.active_dom(dom)?;
        let first = start as u8;
        Ok((0..size).map(|k| first.wrapping_add(k as u8)).collect())
    }

    /// `DOMAIN_SET_MEMORY_STATS_PERIOD`: the balloon's `<stats period=...>`.
    pub fn domain_set_memory_stats_period(&mut self, dom: &DomainHandle, period: i32, flags: u32) -> Result<()> {
        if period < 0 {
            return Err(api_arg("period in virDomainSetMemoryStatsPeriod must be zero or greater"));
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetMemoryStatsPeriod")?;
        let i = self.dom_index(dom)?;
        let live = {
            let d = &self.domains[i];
            let mut f = flags;
            if f & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
                f |= if d.is_active() { AFFECT_LIVE } else { AFFECT_CONFIG };
            }
            self.one_def(i, flags)?;
            f & AFFECT_LIVE != 0
        };
        let d = &mut self.domains[i];
        let def = if live || !d.is_active() { &mut d.def } else { d.new_def.as_mut().unwrap_or(&mut d.def) };
        let balloon = def.devices.iter_mut().find_map(|x| match x {
            Device::Other(e) if e.name == "memballoon" && e.attr("model") != Some("none") => Some(e),
            _ => None,
        });
        let Some(balloon) = balloon else {
            return Err(error::internal("No memory balloon device configured, can not set the collection period"));
        };
        balloon.children.retain(|c| !matches!(c, Node::Element(e) if e.name == "stats"));
        if period != 0 {
            let stats = Element::new("stats").with_attr("period", period.to_string());
            balloon.children.insert(0, Node::Element(stats));
        }
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_RENAME`: an inactive persistent domain gets a new name (events UNDEFINED_RENAMED
    /// under the old name, DEFINED_RENAMED under the new).
    pub fn domain_rename(&mut self, dom: &DomainHandle, new_name: Option<&str>, flags: u32) -> Result<()> {
        let Some(new_name) = new_name else {
            return Err(api_arg("new_name in virDomainRename must not be NULL"));
        };
        if new_name.is_empty() {
            return Err(api_arg("string new_name in virDomainRename must not be empty"));
        }
        error::check_flags(flags, 0, "testDomainRename")?;
        let i = self.dom_index(dom)?;
        let invalid = |m: &str| {
            error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_TEST,
                format!("Requested operation is not valid: {m}"),
            )
        };
        let d = &self.domains[i];
        if d.is_active() {
            return Err(invalid("cannot rename active domain"));
        }
        if !d.persistent {
            return Err(invalid("cannot rename a transient domain"));
        }
        if d.def.name == new_name {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_DOMAIN,
                "Requested operation is not valid: Can't rename domain to itself",
            ));
        }
        if self.domains.iter().any(|o| o.def.name == new_name) {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_DOMAIN,
                format!("Requested operation is not valid: domain with name '{new_name}' already exists"),
            ));
        }
        if new_name.contains('/') {
            return Err(error::e(
                ErrorCode::VIR_ERR_XML_ERROR,
                ErrorDomain::VIR_FROM_TEST,
                format!("XML error: name {new_name} cannot contain '/'"),
            ));
        }
        let old = self.domains[i].handle();
        self.events.push(Event::DomainLifecycle {
            dom: old,
            event: domain_event::UNDEFINED,
            detail: UNDEFINED_RENAMED,
        });
        self.domains[i].def.name = new_name.to_owned();
        self.events.push(Event::DomainLifecycle {
            dom: self.domains[i].handle(),
            event: domain_event::DEFINED,
            detail: DEFINED_RENAMED,
        });
        self.persist_domain(i);
        Ok(())
    }

    /// `CONNECT_GET_ALL_DOMAIN_STATS`: the `state` and `iothread` groups of the domains given
    /// (missing ones skipped) or of all, filtered by the list flags.
    pub fn get_all_domain_stats(&self, doms: &[DomainHandle], stats: u32, flags: u32) -> Result<Vec<StatsRecord>> {
        if doms.len() > DOMAIN_LIST_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_RPC,
                ErrorDomain::VIR_FROM_RPC,
                format!("too many domains: {} for limit {DOMAIN_LIST_MAX}", doms.len()),
            ));
        }
        error::check_flags(
            flags,
            STATS_LIST_FILTERS | STATS_NOWAIT | STATS_BACKING | STATS_ENFORCE,
            "testConnectGetAllDomainStats",
        )?;
        let supported = STATS_STATE | STATS_IOTHREAD;
        let stats = if stats == 0 {
            supported
        } else if flags & STATS_ENFORCE != 0 && stats & !supported != 0 {
            return Err(test_error(
                ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
                format!(
                    "argument unsupported: Stats types bits 0x{:x} are not supported by this daemon",
                    stats & !supported
                ),
            ));
        } else {
            stats
        };
        let listed = self.list_all_domains(flags & STATS_LIST_FILTERS)?;
        let chosen: Vec<DomainHandle> = if doms.is_empty() {
            listed
        } else {
            doms.iter().filter_map(|h| listed.iter().find(|l| l.uuid == h.uuid).cloned()).collect()
        };
        let mut out = Vec::new();
        for h in chosen {
            let Ok(i) = self.dom_index(&h) else { continue };
            let d = &self.domains[i];
            let mut params = Vec::new();
            if stats & STATS_STATE != 0 {
                params.push(("state.state".to_owned(), TypedValue::Int(d.state as i32)));
                params.push(("state.reason".to_owned(), TypedValue::Int(d.reason)));
            }
            if stats & STATS_IOTHREAD != 0 && d.is_active() && !d.extra.iothreads.is_empty() {
                let n = u32::try_from(d.extra.iothreads.len()).unwrap_or(u32::MAX);
                params.push(("iothread.count".to_owned(), TypedValue::Uint(n)));
                for t in &d.extra.iothreads {
                    params.push((format!("iothread.{}.poll-max-ns", t.id), TypedValue::Ullong(t.poll_max_ns)));
                    params.push((format!("iothread.{}.poll-grow", t.id), TypedValue::Uint(t.poll_grow)));
                    params.push((format!("iothread.{}.poll-shrink", t.id), TypedValue::Uint(t.poll_shrink)));
                }
            }
            out.push((d.handle(), params));
        }
        Ok(out)
    }
}

/// `virMacAddrParse`: six hex octets separated by `:`.
pub(super) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for o in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_prefixes_as_libvirt_reads_them() {
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:ff"), Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        assert_eq!(parse_mac("testnet0"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(ip_prefix(Some("192.168.122.1"), Some("255.255.255.0"), None, false), 24);
        assert_eq!(ip_prefix(Some("10.0.0.1"), None, None, false), 8);
        assert_eq!(ip_prefix(None, None, Some("20"), false), 20);
        assert_eq!(ip_prefix(None, None, None, true), 64);
    }

    #[test]
    fn peeks_are_bounded_and_count_up() {
        let h = Hypervisor::new_default("host");
        let test = h.domain_lookup_by_name("test").unwrap();
        let e = h.domain_memory_peek(&test, 0, MEMORY_PEEK_BUFFER_MAX + 1, MEMORY_VIRTUAL).unwrap_err();
        assert_eq!(e.triple(), (1, 7, "internal error: size > maximum buffer size"));
        assert_eq!(h.domain_memory_peek(&test, 0x1fe, 4, MEMORY_PHYSICAL).unwrap(), vec![0xfe, 0xff, 0, 1]);
        assert_eq!(h.domain_memory_peek(&test, 0, 0, MEMORY_VIRTUAL).unwrap(), Vec::<u8>::new());
    }
}
