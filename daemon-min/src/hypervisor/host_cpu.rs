//! The host's CPU models and free pages as the test driver reports them
//! (`connectGetCPUModelNames`, `nodeGetFreePages`).
//!
//! libvirt answers CPU model names from its CPU drivers: x86 and ppc64 list the models of the
//! CPU map (below, as Debian's libvirt 9.0 ships it, in its order), s390 and arm have no list
//! (an empty answer), other known architectures have no CPU driver.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{self, Result};
use super::Hypervisor;

/// `virArch` names (libvirt 9.0), `none` (0) first: it is not an architecture one can ask for.
pub(super) const ARCHES: &[&str] = &[
    "none",
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "aarch64",
    "cris",
    "i686",
    "ia64",
    "lm32",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "x86_64",
    "xtensa",
    "xtensaeb",
];

/// The x86 models of libvirt 9.0's CPU map (`cpu_map/index.xml`), in its order.
const X86_MODELS: &[&str] = &[
    "486",
    "pentium",
    "pentium2",
    "pentium3",
    "pentiumpro",
    "coreduo",
    "n270",
    "core2duo",
    "qemu32",
    "kvm32",
    "cpu64-rhel5",
    "cpu64-rhel6",
    "qemu64",
    "kvm64",
    "Conroe",
    "Penryn",
    "Nehalem",
    "Nehalem-IBRS",
    "Westmere",
    "Westmere-IBRS",
    "SandyBridge",
    "SandyBridge-IBRS",
    "IvyBridge",
    "IvyBridge-IBRS",
    "Haswell-noTSX",
    "Haswell-noTSX-IBRS",
    "Haswell",
    "Haswell-IBRS",
    "Broadwell-noTSX",
    "Broadwell-noTSX-IBRS",
    "Broadwell",
    "Broadwell-IBRS",
    "Skylake-Client",
    "Skylake-Client-IBRS",
    "Skylake-Client-noTSX-IBRS",
    "Skylake-Server",
    "Skylake-Server-IBRS",
    "Skylake-Server-noTSX-IBRS",
    "Cascadelake-Server",
    "Cascadelake-Server-noTSX",
    "Icelake-Client",
    "Icelake-Client-noTSX",
    "Icelake-Server",
    "Icelake-Server-noTSX",
    "Cooperlake",
    "Snowridge",
    "athlon",
    "phenom",
    "Opteron_G1",
    "Opteron_G2",
    "Opteron_G3",
    "Opteron_G4",
    "Opteron_G5",
    "EPYC",
    "EPYC-IBPB",
    "EPYC-Rome",
    "EPYC-Milan",
    "Dhyana",
];

/// The ppc64 models of libvirt 9.0's CPU map, in its order.
const PPC64_MODELS: &[&str] = &["POWER6", "POWER7", "POWER8", "POWER9", "POWER10", "POWERPC_e5500", "POWERPC_e6500"];

impl Hypervisor {
    /// `CONNECT_GET_CPU_MODEL_NAMES` (no flags): the CPU models libvirt knows for `arch`.
    pub fn connect_get_cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<&'static str>> {
        error::check_flags(flags, 0, "testConnectGetCPUModelNames")?;
        if !ARCHES[1..].contains(&arch) {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_TEST,
                format!("invalid argument: cannot find architecture {arch}"),
            ));
        }
        match arch {
            "i686" | "x86_64" => Ok(X86_MODELS.to_vec()),
            "ppc64" | "ppc64le" => Ok(PPC64_MODELS.to_vec()),
            "s390" | "s390x" | "armv6l" | "armv7l" | "armv7b" | "aarch64" => Ok(Vec::new()),
            _ => Err(error::e(
                ErrorCode::VIR_ERR_NO_SUPPORT,
                ErrorDomain::VIR_FROM_CPU,
                format!(
                    "this function is not supported by the connection driver: '{arch}' architecture is not supported by CPU driver"
                ),
            )),
        }
    }

    /// `NODE_GET_FREE_PAGES` (no flags): the test driver's made-up counts, `cell_count` ×
    /// `npages` of them (the caller bounds both). It reports success as 0 pages counted, which
    /// libvirtd then answers as an error (see the dispatch).
    pub fn node_get_free_pages(&self, npages: usize, cell_count: usize, flags: u32) -> Result<Vec<u64>> {
        error::check_flags(flags, 0, "testNodeGetFreePages")?;
        let mut x: u64 = 6;
        let mut counts = Vec::with_capacity(npages.saturating_mul(cell_count));
        for _ in 0..cell_count {
            for _ in 0..npages {
                x = x.wrapping_mul(2).wrapping_add(7);
                counts.push(x);
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_by_architecture() {
        let h = Hypervisor::new_default("host");
        assert_eq!(h.connect_get_cpu_model_names("i686", 0).unwrap()[..3], ["486", "pentium", "pentium2"]);
        assert_eq!(h.connect_get_cpu_model_names("ppc64le", 0).unwrap().len(), 7);
        assert!(h.connect_get_cpu_model_names("aarch64", 0).unwrap().is_empty());
        let e = h.connect_get_cpu_model_names("mips", 0).unwrap_err();
        assert_eq!((e.code().0, e.domain().0), (3, 31));
        let e = h.connect_get_cpu_model_names("none", 0).unwrap_err();
        assert_eq!(e.triple(), (8, 12, "invalid argument: cannot find architecture none"));
        let e = h.connect_get_cpu_model_names("nope", 1).unwrap_err();
        assert_eq!(e.triple(), (8, 12, "unsupported flags (0x1) in function testConnectGetCPUModelNames"));
    }

    #[test]
    fn free_pages_counts() {
        let h = Hypervisor::new_default("host");
        assert_eq!(h.node_get_free_pages(2, 2, 0).unwrap(), [19, 45, 97, 201]);
        assert!(h.node_get_free_pages(1, 1, 1).is_err());
    }
}
