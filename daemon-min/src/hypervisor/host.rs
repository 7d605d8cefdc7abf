//! The host the test driver pretends to run on: node info, NUMA cells, capabilities XML, the
//! security model and the fixed strings (`TEST`, version 2, sysinfo).

use std::fmt::Write as _;

/// `virNodeInfo`, as `NODE_GET_INFO` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// CPU model (at most 31 bytes on the wire).
    pub model: String,
    /// Memory, KiB.
    pub memory: u64,
    /// Active CPUs.
    pub cpus: u32,
    /// CPU frequency, MHz.
    pub mhz: u32,
    /// NUMA nodes.
    pub nodes: u32,
    /// Sockets per node.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
}

impl Default for NodeInfo {
    /// The test driver's `defaultNodeInfo`: i686, 3 GiB, 16 CPUs at 1400 MHz, 2×2×2×2.
    fn default() -> Self {
        Self {
            model: "i686".to_owned(),
            memory: 3 * 1024 * 1024,
            cpus: 16,
            mhz: 1400,
            nodes: 2,
            sockets: 2,
            cores: 2,
            threads: 2,
        }
    }
}

/// The security model (`NODE_GET_SECURITY_MODEL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityModel {
    /// `testSecurity` for the test driver.
    pub model: String,
    /// The DOI: empty for the test driver.
    pub doi: String,
}

/// A domain's security label (`DOMAIN_GET_SECURITY_LABEL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityLabel {
    /// `libvirt-test` for running domains, empty otherwise.
    pub label: String,
    /// Whether the label is enforced.
    pub enforcing: bool,
}

/// One simulated NUMA cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    /// Memory, KiB.
    pub(crate) mem: u64,
    /// Free memory, KiB.
    pub(crate) free_mem: u64,
    /// `(id, socket_id, core_id)` of each CPU.
    pub(crate) cpus: Vec<(u32, u32, u32)>,
}

/// The two cells of `test:///default`: 8 CPUs each, 2 and 4 GiB.
pub(crate) fn default_cells() -> Vec<Cell> {
    (0..2u32)
        .map(|i| Cell {
            mem: u64::from(i + 1) * 2048 * 1024,
            free_mem: u64::from(i + 1) * 1024 * 1024,
            cpus: (0..8u32).map(|c| (i * 8 + c, i, c)).collect(),
        })
        .collect()
}

/// The capabilities document `testBuildCapabilities` produces for these cells.
pub(crate) fn capabilities_xml(cells: &[Cell], secmodel: &SecurityModel) -> String {
    let page_sizes = [4u64, 8, 2048, 1024 * 1024];
    let mut s = String::from("<capabilities>\n\n  <host>\n    <cpu>\n      <arch>i686</arch>\n      <features>\n");
    s.push_str("        <pae/>\n        <nonpae/>\n      </features>\n");
    for p in page_sizes {
        let _ = writeln!(s, "      <pages unit='KiB' size='{p}'/>");
    }
    s.push_str("    </cpu>\n    <power_management/>\n    <iommu support='no'/>\n    <topology>\n");
    let _ = writeln!(s, "      <cells num='{}'>", cells.len());
    for (i, c) in cells.iter().enumerate() {
        let first_page = if i == 1 { page_sizes[1] } else { page_sizes[0] };
        let _ = writeln!(s, "        <cell id='{i}'>");
        let _ = writeln!(s, "          <memory unit='KiB'>{}</memory>", c.mem);
        let _ = writeln!(s, "          <pages unit='KiB' size='{first_page}'>{}</pages>", c.mem / first_page);
        for p in &page_sizes[2..] {
            let _ = writeln!(s, "          <pages unit='KiB' size='{p}'>0</pages>");
        }
        let _ = writeln!(s, "          <cpus num='{}'>", c.cpus.len());
        for (id, socket, core) in &c.cpus {
            let _ = writeln!(
                s,
                "            <cpu id='{id}' socket_id='{socket}' die_id='0' core_id='{core}' siblings='{id}'/>"
            );
        }
        s.push_str("          </cpus>\n        </cell>\n");
    }
    s.push_str("      </cells>\n    </topology>\n    <secmodel>\n");
    let _ = writeln!(s, "      <model>{}</model>", super::xml::escape(&secmodel.model));
    let _ = writeln!(s, "      <doi>{}</doi>", super::xml::escape(&secmodel.doi));
    s.push_str("    </secmodel>\n  </host>\n\n");
    for os in ["hvm", "xen"] {
        let _ = writeln!(
            s,
            "  <guest>\n    <os_type>{os}</os_type>\n    <arch name='i686'>\n      <wordsize>32</wordsize>"
        );
        s.push_str("      <emulator>/usr/bin/test-hv</emulator>\n      <domain type='test'/>\n    </arch>\n");
        s.push_str("    <features>\n      <pae/>\n      <nonpae/>\n    </features>\n  </guest>\n\n");
    }
    s.push_str("</capabilities>\n");
    s
}

/// `CONNECT_GET_SYSINFO`'s fixed document.
pub const SYSINFO: &str = "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n    <entry name='version'>G4ETA1WW (2.61 )</entry>\n    <entry name='date'>05/07/2014</entry>\n    <entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n";

/// `CONNECT_GET_TYPE`.
pub const HV_TYPE: &str = "TEST";
/// `CONNECT_GET_VERSION` (`hv_ver`): the test driver says 2, shown as "0.0.2".
pub const HV_VERSION: u64 = 2;
/// `CONNECT_GET_LIB_VERSION` of libvirt 9.0.0.
pub const LIB_VERSION: u64 = 9_000_000;
/// `CONNECT_GET_MAX_VCPUS`.
pub const MAX_VCPUS: i32 = 32;

/// The host name as libvirt's `virGetHostname` would usually report it: the kernel's node name.
/// Not part of the model (it reads `/proc`); the daemon passes the result in.
#[must_use]
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

use super::error::{self, Result};
use super::Hypervisor;

impl Hypervisor {
    // ----- connection-level ------------------------------------------------------------------

    /// `CONNECT_GET_HOSTNAME`.
    #[must_use]
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// `CONNECT_GET_TYPE`: "TEST".
    #[must_use]
    pub fn hv_type(&self) -> &'static str {
        HV_TYPE
    }

    /// `CONNECT_GET_VERSION`: 2.
    #[must_use]
    pub fn hv_version(&self) -> u64 {
        HV_VERSION
    }

    /// `CONNECT_GET_LIB_VERSION`: 9000000.
    #[must_use]
    pub fn lib_version(&self) -> u64 {
        LIB_VERSION
    }

    /// `CONNECT_GET_MAX_VCPUS`: 32 for every type.
    #[must_use]
    pub fn max_vcpus(&self) -> i32 {
        MAX_VCPUS
    }

    /// `NODE_GET_INFO`.
    #[must_use]
    pub fn node_info(&self) -> NodeInfo {
        self.node_info.clone()
    }

    /// `NODE_GET_FREE_MEMORY`: the cells' free memory, summed (KiB as the test driver counts).
    #[must_use]
    pub fn node_free_memory(&self) -> u64 {
        self.cells.iter().map(|c| c.free_mem).sum()
    }

    /// `CONNECT_GET_CAPABILITIES`.
    #[must_use]
    pub fn capabilities(&self) -> String {
        capabilities_xml(&self.cells, &self.secmodel)
    }

    /// `CONNECT_GET_SYSINFO`.
    pub fn sysinfo(&self, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(SYSINFO.to_owned())
    }

    /// `NODE_GET_SECURITY_MODEL`.
    #[must_use]
    pub fn security_model(&self) -> SecurityModel {
        self.secmodel.clone()
    }

    /// `NODE_GET_CELLS_FREE_MEMORY`: each cell's memory (the test driver reports its size as
    /// free), from `start` for at most `max` cells.
    pub fn node_get_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        if start >= self.cells.len() {
            return Err(error::e(
                proto_core::error::ErrorCode::VIR_ERR_INVALID_ARG,
                proto_core::error::ErrorDomain::VIR_FROM_TEST,
                "invalid argument: Range exceeds available cells",
            ));
        }
        let max = usize::try_from(max).unwrap_or(0);
        Ok(self.cells[start..].iter().take(max).map(|c| c.mem).collect())
    }

    /// `NODE_GET_CPU_MAP`: 8 CPUs, 0, 2 and 4 online (`0x15`).
    pub fn node_get_cpu_map(&self, flags: u32) -> Result<(Vec<u8>, u32, i32)> {
        error::check_flags(flags, 0, "testNodeGetCPUMap")?;
        Ok((vec![0x15], 3, 8))
    }

    /// `NODE_GET_CPU_STATS`: the test driver's four fixed counters, at most `nparams` of them
    /// (0 asks how many there are).
    pub fn node_get_cpu_stats(&self, nparams: i32, flags: u32) -> Result<(Vec<(&'static str, u64)>, i32)> {
        error::check_flags(flags, 0, "testNodeGetCPUStats")?;
        const STATS: [(&str, u64); 4] = [
            ("user", 9_797_400_000),
            ("kernel", 34_678_723_400_000),
            ("idle", 87_264_900_000),
            ("iowait", 763_600_000),
        ];
        if nparams == 0 {
            return Ok((Vec::new(), 4));
        }
        let v: Vec<(&'static str, u64)> = STATS.into_iter().take(usize::try_from(nparams).unwrap_or(0)).collect();
        let n = i32::try_from(v.len()).unwrap_or(0);
        Ok((v, n))
    }
}
