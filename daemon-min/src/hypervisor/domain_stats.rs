//! The test driver's domain statistics with fixed or derived values: memory statistics
//! (`virDomainMemoryStats`), block device sizes (`virDomainGetBlockInfo`) and disk errors
//! (`virDomainGetDiskErrors`), as libvirt 9.0's
//! `src/test/test_driver.c` answers them, with the checks of libvirtd's dispatcher.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::error::{self, Result};
use super::Hypervisor;

/// `REMOTE_DOMAIN_DISK_ERRORS_MAX`.
const DISK_ERRORS_MAX: u32 = 256;
/// `REMOTE_DOMAIN_MEMORY_STATS_MAX`.
const MEMORY_STATS_MAX: u32 = 1024;
/// `VIR_DOMAIN_MEMORY_STAT_NR` in libvirt 9.0.
const MEMORY_STAT_NR: usize = 13;
/// What the test driver reports for any disk with a source: capacity, allocation, physical.
const BLOCK_INFO: (u64, u64, u64) = (1_099_506_450_432, 1_099_511_627_776, 1_099_511_627_776);

impl Hypervisor {
    /// `DOMAIN_MEMORY_STATS`: (tag, value) pairs, KiB, for a running domain with a balloon.
    pub fn domain_memory_stats(&self, dom: &DomainHandle, max_stats: u32, flags: u32) -> Result<Vec<(i32, u64)>> {
        if max_stats > MEMORY_STATS_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX",
            ));
        }
        // virDomainMemoryStats answers nothing for no room, before asking the driver.
        if max_stats == 0 {
            return Ok(Vec::new());
        }
        error::check_flags(flags, 0, "testDomainMemoryStats")?;
        let i = self.active_dom(dom)?;
        let def = &self.domains[i].def;
        if !def.has_memballoon() {
            return Ok(Vec::new());
        }
        let cur = def.current_memory;
        // Tags: ACTUAL_BALLOON 6, SWAP_IN 0, SWAP_OUT 1, MAJOR_FAULT 2, MINOR_FAULT 3, UNUSED 4,
        // AVAILABLE 5, USABLE 8, LAST_UPDATE 9, DISK_CACHES 10, HUGETLB_PGALLOC 11,
        // HUGETLB_PGFAIL 12, RSS 7; in the test driver's order.
        let all = [
            (6, cur),
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, cur / 2),
            (5, cur),
            (8, cur / 2),
            (9, 627_319_920),
            (10, cur / 8),
            (11, 0),
            (12, 0),
            (7, cur / 2),
        ];
        let n = (max_stats as usize).min(MEMORY_STAT_NR);
        Ok(all.into_iter().take(n).collect())
    }

    /// `DOMAIN_GET_BLOCK_INFO`: (allocation, capacity, physical) of a disk with a source.
    pub fn domain_get_block_info(&self, dom: &DomainHandle, path: &str, flags: u32) -> Result<(u64, u64, u64)> {
        error::check_flags(flags, 0, "testDomainGetBlockInfo")?;
        let i = self.dom_index(dom)?;
        let invalid = |m: String| {
            error::e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_TEST, format!("invalid argument: {m}"))
        };
        match self.domains[i].def.disk_by_name(path) {
            None => Err(invalid(format!("invalid path {path} not assigned to domain"))),
            Some(false) => Err(invalid(format!("disk '{path}' does not currently have a source assigned"))),
            Some(true) => Ok((BLOCK_INFO.1, BLOCK_INFO.0, BLOCK_INFO.2)),
        }
    }

    /// `DOMAIN_GET_DISK_ERRORS`: the running domain's disks, in order, with the test driver's
    /// made-up errors (`UNSPEC`, `NO_SPACE`, ...), and its number of disks.
    pub fn domain_get_disk_errors(
        &self,
        dom: &DomainHandle,
        max_errors: u32,
        flags: u32,
    ) -> Result<(Vec<(String, i32)>, i32)> {
        if max_errors > DISK_ERRORS_MAX {
            return Err(error::e(
                ErrorCode::VIR_ERR_INTERNAL_ERROR,
                ErrorDomain::VIR_FROM_RPC,
                "internal error: maxerrors too large",
            ));
        }
        error::check_flags(flags, 0, "testDomainGetDiskErrors")?;
        let i = self.active_dom(dom)?;
        let disks = self.domains[i].def.snapshot_disks();
        if max_errors == 0 {
            return Ok((Vec::new(), i32::try_from(disks.len()).unwrap_or(i32::MAX)));
        }
        let errors: Vec<(String, i32)> = disks
            .into_iter()
            .take(max_errors as usize)
            .enumerate()
            .map(|(k, (dst, _))| (dst, (k % 2) as i32 + 1))
            .collect();
        let n = i32::try_from(errors.len()).unwrap_or(i32::MAX);
        Ok((errors, n))
    }
}
