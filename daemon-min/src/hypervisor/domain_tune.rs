//! The rest of the test driver's domain entries that are not the life cycle: guest time and
//! hostname, keys and NMI, control info, vCPU counts, scheduler parameters, memory settings
//! and managed save. Each follows the test driver's rules (what it checks, what it answers).

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::{reason, DomainHandle, DomainState};
use super::domain_conf::DomainDef;
use super::error::{self, Result};
use super::events::domain_event;
use super::Hypervisor;

/// `VIR_DOMAIN_AFFECT_LIVE`.
pub const AFFECT_LIVE: u32 = 1;
/// `VIR_DOMAIN_AFFECT_CONFIG`.
pub const AFFECT_CONFIG: u32 = 2;
/// `VIR_DOMAIN_VCPU_MAXIMUM` / `VIR_DOMAIN_MEM_MAXIMUM`.
pub const MAXIMUM: u32 = 4;

/// Per-domain state of these entries.
#[derive(Debug, Clone)]
pub(crate) struct DomainExtra {
    /// Guest time (`testDomainObjPrivate`'s seconds, nanoseconds).
    pub(crate) time: (i64, u32),
    /// A managed save image exists.
    pub(crate) managed_save: bool,
    /// Snapshots, oldest first.
    pub(crate) snapshots: Vec<super::snapshot::Snapshot>,
    /// The current snapshot's name.
    pub(crate) current_snapshot: Option<String>,
    /// Checkpoints, oldest first.
    pub(crate) checkpoints: Vec<super::checkpoint::Checkpoint>,
    /// The current checkpoint's name.
    pub(crate) current_checkpoint: Option<String>,
    /// Whether `/` and `/boot` are frozen (`virDomainFSFreeze`).
    pub(crate) frozen: [bool; 2],
    /// The IOThreads' polling parameters (`testIOThreadInfo`), in the order they were added.
    pub(crate) iothreads: Vec<super::domain_iothread::IoThreadPoll>,
}

impl Default for DomainExtra {
    fn default() -> Self {
        // The test driver's guests all start at the same fixed time.
        Self {
            time: (627_319_920, 0),
            managed_save: false,
            snapshots: Vec::new(),
            current_snapshot: None,
            checkpoints: Vec::new(),
            current_checkpoint: None,
            frozen: [false; 2],
            iothreads: Vec::new(),
        }
    }
}

/// A typed parameter (`virTypedParameter`) as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// `VIR_TYPED_PARAM_INT`.
    Int(i32),
    /// `VIR_TYPED_PARAM_UINT`.
    Uint(u32),
    /// `VIR_TYPED_PARAM_LLONG`.
    Llong(i64),
    /// `VIR_TYPED_PARAM_ULLONG`.
    Ullong(u64),
    /// `VIR_TYPED_PARAM_DOUBLE`.
    Double(f64),
    /// `VIR_TYPED_PARAM_BOOLEAN`.
    Boolean(bool),
    /// `VIR_TYPED_PARAM_STRING`.
    String(String),
}

impl TypedValue {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Int(_) => "int",
            Self::Uint(_) => "uint",
            Self::Llong(_) => "llong",
            Self::Ullong(_) => "ullong",
            Self::Double(_) => "double",
            Self::Boolean(_) => "boolean",
            Self::String(_) => "string",
        }
    }
}

/// `virTypedParamsValidate`: each parameter known, of its type, at most once.
pub(crate) fn validate_params(params: &[(String, TypedValue)], allowed: &[(&str, &str)]) -> Result<()> {
    let mut sorted: Vec<&(String, TypedValue)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (field, value)) in sorted.iter().map(|p| (&p.0, &p.1)).enumerate() {
        let Some((_, ty)) = allowed.iter().find(|(name, _)| name == field) else {
            return Err(error::e(
                ErrorCode::VIR_ERR_ARGUMENT_UNSUPPORTED,
                ErrorDomain::VIR_FROM_NONE,
                format!("argument unsupported: parameter '{field}' not supported"),
            ));
        };
        if i > 0 && sorted[i - 1].0 == *field {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_NONE,
                format!("invalid argument: parameter '{field}' occurs multiple times"),
            ));
        }
        if value.type_name() != *ty {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_NONE,
                format!(
                    "invalid argument: invalid type '{}' for parameter '{field}', expected '{ty}'",
                    value.type_name()
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn operation_invalid(message: &str) -> error::Error {
    error::e(
        ErrorCode::VIR_ERR_OPERATION_INVALID,
        ErrorDomain::VIR_FROM_DOMAIN,
        format!("Requested operation is not valid: {message}"),
    )
}

impl Hypervisor {
    /// The index of a running domain (`virDomainObjCheckActive`).
    pub(super) fn active_dom(&self, dom: &DomainHandle) -> Result<usize> {
        let i = self.dom_index(dom)?;
        if !self.domains[i].is_active() {
            return Err(error::domain_not_running_invalid());
        }
        Ok(i)
    }

    /// `virDomainObjGetOneDef`: the live or the persistent definition, as `flags` pick.
    pub(super) fn one_def(&self, i: usize, flags: u32) -> Result<&DomainDef> {
        if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_DOMAIN,
                "invalid argument: Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
            ));
        }
        let d = &self.domains[i];
        let mut flags = flags;
        if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
            flags |= if d.is_active() { AFFECT_LIVE } else { AFFECT_CONFIG };
        }
        if !d.is_active() && flags & AFFECT_LIVE != 0 {
            return Err(operation_invalid("domain is not running"));
        }
        if !d.persistent && flags & AFFECT_CONFIG != 0 {
            return Err(operation_invalid("transient domains do not have any persistent config"));
        }
        if d.is_active() && flags & AFFECT_CONFIG != 0 {
            return Ok(d.new_def.as_ref().unwrap_or(&d.def));
        }
        Ok(&d.def)
    }

    /// `virDomainObjUpdateModificationImpact`: `flags` with LIVE or CONFIG made explicit.
    pub(super) fn impact(&self, i: usize, flags: u32) -> Result<u32> {
        let d = &self.domains[i];
        let mut flags = flags;
        if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
            flags |= if d.is_active() { AFFECT_LIVE } else { AFFECT_CONFIG };
        }
        if !d.is_active() && flags & AFFECT_LIVE != 0 {
            return Err(operation_invalid("domain is not running"));
        }
        if !d.persistent && flags & AFFECT_CONFIG != 0 {
            return Err(operation_invalid("transient domains do not have any persistent config"));
        }
        Ok(flags)
    }

    /// The definitions `flags` (already resolved) select: (live, persistent).
    pub(super) fn defs_mut(&mut self, i: usize, flags: u32) -> (Option<&mut DomainDef>, Option<&mut DomainDef>) {
        let d = &mut self.domains[i];
        let active = d.is_active();
        let (live, pers) = (flags & AFFECT_LIVE != 0, flags & AFFECT_CONFIG != 0);
        if active {
            let new_def = d.new_def.as_mut();
            (live.then_some(&mut d.def), if pers { new_def } else { None })
        } else {
            (None, pers.then_some(&mut d.def))
        }
    }

    /// `DOMAIN_SET_MEMORY` (live), `DOMAIN_SET_MAX_MEMORY` (`VIR_DOMAIN_MEM_MAXIMUM`),
    /// `DOMAIN_SET_MEMORY_FLAGS`; KiB.
    pub fn domain_set_memory_flags(&mut self, dom: &DomainHandle, memory: u64, flags: u32) -> Result<()> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM, "testDomainSetMemoryFlags")?;
        let i = self.dom_index(dom)?;
        self.one_def(i, flags)?;
        let flags = self.impact(i, flags)?;
        let live = flags & AFFECT_LIVE != 0;
        let (l, p) = self.defs_mut(i, flags);
        let Some(def) = (if live { l } else { p }) else { return Ok(()) };
        if flags & MAXIMUM != 0 {
            if live {
                return Err(error::e(
                    ErrorCode::VIR_ERR_OPERATION_INVALID,
                    ErrorDomain::VIR_FROM_TEST,
                    "Requested operation is not valid: cannot resize the maximum memory on an active domain",
                ));
            }
            def.max_memory = memory;
            def.current_memory = def.current_memory.min(memory);
        } else {
            if memory > def.max_memory {
                return Err(error::e(
                    ErrorCode::VIR_ERR_INVALID_ARG,
                    ErrorDomain::VIR_FROM_TEST,
                    "invalid argument: cannot set memory higher than max memory",
                ));
            }
            def.current_memory = memory;
        }
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_SET_VCPUS` (live) and `DOMAIN_SET_VCPUS_FLAGS`.
    pub fn domain_set_vcpus_flags(&mut self, dom: &DomainHandle, n: u32, flags: u32) -> Result<()> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM, "testDomainSetVcpusFlags")?;
        let max = u32::try_from(super::host::MAX_VCPUS).unwrap_or(u32::MAX);
        if n > max {
            return Err(error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_TEST,
                format!("invalid argument: requested cpu amount exceeds maximum supported amount ({n} > {max})"),
            ));
        }
        let i = self.dom_index(dom)?;
        let flags = self.impact(i, flags)?;
        let too_many = |have: u32| {
            error::e(
                ErrorCode::VIR_ERR_INVALID_ARG,
                ErrorDomain::VIR_FROM_TEST,
                format!("invalid argument: requested cpu amount exceeds maximum ({n} > {have})"),
            )
        };
        let (l, p) = self.defs_mut(i, flags);
        if let Some(def) = &l {
            if def.vcpus_max < n {
                return Err(too_many(def.vcpus_max));
            }
        }
        if let Some(def) = &p {
            if flags & MAXIMUM == 0 && def.vcpus_max < n {
                return Err(too_many(def.vcpus_max));
            }
        }
        // `current` is only kept (and written) when it differs from the maximum.
        let set = |def: &mut DomainDef, cur: u32| def.vcpus_current = (cur != def.vcpus_max).then_some(cur);
        if let Some(def) = l {
            set(def, n);
        }
        if let Some(def) = p {
            if flags & MAXIMUM != 0 {
                let cur = def.vcpus().min(n);
                def.vcpus_max = n;
                set(def, cur);
            } else {
                set(def, n);
            }
        }
        self.persist_domain(i);
        Ok(())
    }

    /// `DOMAIN_GET_HOSTNAME`: `<name>host` while running.
    pub fn domain_get_hostname(&self, dom: &DomainHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainGetHostname")?;
        self.active_dom(dom)?;
        Ok(format!("{}host", dom.name))
    }

    /// `DOMAIN_GET_TIME`: the guest's clock, only while running.
    pub fn domain_get_time(&self, dom: &DomainHandle, flags: u32) -> Result<(i64, u32)> {
        error::check_flags(flags, 0, "testDomainGetTime")?;
        let i = self.dom_index(dom)?;
        if self.domains[i].state != DomainState::Running {
            // Raised by the test driver itself (VIR_FROM_TEST), unlike virDomainObjCheckActive.
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_TEST,
                "Requested operation is not valid: domain is not running",
            ));
        }
        Ok(self.domains[i].extra.time)
    }

    /// `DOMAIN_SET_TIME` (flag `VIR_DOMAIN_TIME_SYNC`).
    pub fn domain_set_time(&mut self, dom: &DomainHandle, seconds: i64, nseconds: u32, flags: u32) -> Result<()> {
        error::check_flags(flags, 1, "testDomainSetTime")?;
        let i = self.active_dom(dom)?;
        self.domains[i].extra.time = (seconds, nseconds);
        Ok(())
    }

    /// `DOMAIN_RESET`, `DOMAIN_INJECT_NMI`: nothing happens to a running domain.
    pub fn domain_poke(&self, dom: &DomainHandle, flags: u32, function: &str) -> Result<()> {
        error::check_flags(flags, 0, function)?;
        self.active_dom(dom).map(|_| ())
    }

    /// `DOMAIN_SEND_KEY`: the keycodes must exist in the code set.
    pub fn domain_send_key(&self, dom: &DomainHandle, codeset: u32, keycodes: &[u32], flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testDomainSendKey")?;
        self.active_dom(dom)?;
        const CODESETS: [&str; 9] = ["linux", "xt", "atset1", "atset2", "atset3", "osx", "xt_kbd", "usb", "win32"];
        let name = CODESETS.get(codeset as usize).copied().unwrap_or("");
        if let Some(bad) = keycodes.iter().find(|k| **k > 0xffff) {
            return Err(error::internal(&format!("invalid keycode {bad} of {name} codeset")));
        }
        Ok(())
    }

    /// `DOMAIN_GET_CONTROL_INFO`: (state, details, stateTime) derived from the guest time as the
    /// test driver does.
    pub fn domain_get_control_info(&self, dom: &DomainHandle, flags: u32) -> Result<(u32, u32, u64)> {
        error::check_flags(flags, 0, "testDomainGetControlInfo")?;
        let i = self.active_dom(dom)?;
        let secs = self.domains[i].extra.time.0;
        let t = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(match secs {
            1..=9999 => (1, 0, t(secs)),
            10000..=29999 => (2, 0, t(secs - 10000)),
            30000..=59999 => (3, u32::try_from(secs % 4).unwrap_or(0), 0),
            _ => (0, 0, 0),
        })
    }

    /// `DOMAIN_GET_VCPUS_FLAGS` (`VIR_DOMAIN_AFFECT_*`, `VIR_DOMAIN_VCPU_MAXIMUM`) and
    /// `DOMAIN_GET_MAX_VCPUS` (live maximum).
    pub fn domain_get_vcpus_flags(&self, dom: &DomainHandle, flags: u32) -> Result<i32> {
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM, "testDomainGetVcpusFlags")?;
        let i = self.dom_index(dom)?;
        let def = self.one_def(i, flags)?;
        let n = if flags & MAXIMUM != 0 { def.vcpus_max } else { def.vcpus() };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// `DOMAIN_GET_SCHEDULER_TYPE`: `fair`, one parameter.
    pub fn domain_get_scheduler_type(&self, dom: &DomainHandle) -> Result<(String, i32)> {
        self.dom_index(dom)?;
        Ok(("fair".to_owned(), 1))
    }

    /// `DOMAIN_GET_SCHEDULER_PARAMETERS[_FLAGS]`: `weight` = 50.
    pub fn domain_get_scheduler_parameters(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<(String, TypedValue)>> {
        error::check_flags(flags, 0, "testDomainGetSchedulerParametersFlags")?;
        self.dom_index(dom)?;
        Ok(vec![("weight".to_owned(), TypedValue::Uint(50))])
    }

    /// `DOMAIN_SET_SCHEDULER_PARAMETERS[_FLAGS]`: `weight` (uint) accepted and forgotten.
    pub fn domain_set_scheduler_parameters(
        &mut self,
        dom: &DomainHandle,
        params: &[(String, TypedValue)],
        flags: u32,
    ) -> Result<()> {
        error::check_flags(flags, 0, "testDomainSetSchedulerParametersFlags")?;
        validate_params(params, &[("weight", "uint")])?;
        self.dom_index(dom).map(|_| ())
    }

    /// `DOMAIN_MANAGED_SAVE` (flags `BYPASS_CACHE`, `RUNNING`, `PAUSED`): stops a running
    /// persistent domain (shutoff reason SAVED, event STOPPED_SAVED) and marks the image.
    pub fn domain_managed_save(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 1 | 2 | 4, "testDomainManagedSave")?;
        let i = self.active_dom(dom)?;
        if !self.domains[i].persistent {
            return Err(operation_invalid("cannot do managed save for transient domain"));
        }
        self.domains[i].extra.managed_save = true;
        self.stop(i, reason::SHUTOFF_SAVED, domain_event::STOPPED_SAVED);
        Ok(())
    }

    /// `DOMAIN_MANAGED_SAVE_REMOVE`.
    pub fn domain_managed_save_remove(&mut self, dom: &DomainHandle, flags: u32) -> Result<()> {
        error::check_flags(flags, 0, "testDomainManagedSaveRemove")?;
        let i = self.dom_index(dom)?;
        self.domains[i].extra.managed_save = false;
        Ok(())
    }
}
