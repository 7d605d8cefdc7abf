//! Domain snapshots (the snapshot entries of the test driver's hypervisor table): created from
//! `<domainsnapshot>` documents with a copy of the domain's definition, kept in a tree (each
//! snapshot's parent is the domain's current snapshot when it was taken), listed, looked up,
//! reverted to and deleted with the test driver's rules.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::{reason, DomainHandle, DomainState};
use super::domain_conf::DomainDef;
use super::error::{self, Error, Result};
use super::events::domain_event;
use super::xml::{self, escape, Buf};
use super::Hypervisor;

/// One snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    name: String,
    description: Option<String>,
    parent: Option<String>,
    creation_time: i64,
    state: DomainState,
    def: DomainDef,
}

/// `virDomainSnapshotCreateFlags` the test driver takes.
mod create {
    pub(super) const REDEFINE: u32 = 1;
    pub(super) const CURRENT: u32 = 2;
    pub(super) const HALT: u32 = 8;
    pub(super) const ALLOWED: u32 = REDEFINE | CURRENT | HALT | 64 | 128 | 256 | 512;
}

/// `virDomainSnapshotListFlags`.
mod list {
    /// `ROOTS` for domains, `DESCENDANTS` for children.
    pub(super) const ROOTS_OR_DESCENDANTS: u32 = 1;
    pub(super) const METADATA: u32 = 2;
    pub(super) const LEAVES: u32 = 4;
    pub(super) const NO_LEAVES: u32 = 8;
    pub(super) const NO_METADATA: u32 = 16;
    pub(super) const INACTIVE: u32 = 32;
    pub(super) const ACTIVE: u32 = 64;
    pub(super) const DISK_ONLY: u32 = 128;
    pub(super) const INTERNAL: u32 = 256;
    pub(super) const EXTERNAL: u32 = 512;
    pub(super) const TOPOLOGICAL: u32 = 1024;
    pub(super) const ALLOWED: u32 = 2047;
}

fn state_name(s: DomainState) -> &'static str {
    match s {
        DomainState::NoState => "nostate",
        DomainState::Running => "running",
        DomainState::Blocked => "blocked",
        DomainState::Paused => "paused",
        DomainState::Shutdown => "shutdown",
        DomainState::Shutoff => "shutoff",
        DomainState::Crashed => "crashed",
        DomainState::PmSuspended => "pmsuspended",
    }
}

fn no_snapshot(message: String) -> Error {
    error::e(
        ErrorCode::VIR_ERR_NO_DOMAIN_SNAPSHOT,
        ErrorDomain::VIR_FROM_TEST,
        format!("Domain snapshot not found: {message}"),
    )
}

impl Snapshot {
    fn format(&self, domain_uuid: &str, secure: bool) -> String {
        let _ = domain_uuid;
        let mut b = Buf::new();
        b.line("<domainsnapshot>");
        b.push();
        b.text_elem("name", &self.name);
        if let Some(d) = &self.description {
            b.text_elem("description", d);
        }
        b.text_elem("state", state_name(self.state));
        if let Some(p) = &self.parent {
            b.line("<parent>");
            b.push();
            b.text_elem("name", p);
            b.pop();
            b.line("</parent>");
        }
        b.text_elem("creationTime", &self.creation_time.to_string());
        let memory = if self.state == DomainState::Shutoff { "no" } else { "internal" };
        b.line(&format!("<memory snapshot='{memory}'/>"));
        let disks = self.def.snapshot_disks();
        if !disks.is_empty() {
            b.line("<disks>");
            b.push();
            for (dst, internal) in disks {
                let how = if internal { "internal" } else { "no" };
                b.line(&format!("<disk name='{}' snapshot='{how}'/>", escape(&dst)));
            }
            b.pop();
            b.line("</disks>");
        }
        for line in self.def.format(None, secure).lines() {
            b.line(line);
        }
        b.pop();
        b.line("</domainsnapshot>");
        b.finish()
    }
}

impl Hypervisor {
    fn snap_index(&self, di: usize, name: &str) -> Result<usize> {
        self.domains[di]
            .extra
            .snapshots
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| no_snapshot(format!("no domain snapshot with matching name '{name}'")))
    }

    /// Names of the snapshots `flags` selects, children of `of` (roots or all when `None`).
    fn snap_select(&self, di: usize, of: Option<&str>, flags: u32) -> Vec<String> {
        let snaps = &self.domains[di].extra.snapshots;
        let is_leaf = |s: &Snapshot| !snaps.iter().any(|c| c.parent.as_deref() == Some(s.name.as_str()));
        let descends = |s: &Snapshot, from: &str| {
            let mut p = s.parent.clone();
            while let Some(name) = p {
                if name == from {
                    return true;
                }
                p = snaps.iter().find(|x| x.name == name).and_then(|x| x.parent.clone());
            }
            false
        };
        snaps
            .iter()
            .filter(|s| match of {
                None => flags & list::ROOTS_OR_DESCENDANTS == 0 || s.parent.is_none(),
                Some(from) if flags & list::ROOTS_OR_DESCENDANTS != 0 => descends(s, from),
                Some(from) => s.parent.as_deref() == Some(from),
            })
            .filter(|s| {
                let pair = |yes: u32, no: u32, v: bool| {
                    let m = yes | no;
                    flags & m == 0 || flags & m == m || (v && flags & yes != 0) || (!v && flags & no != 0)
                };
                pair(list::LEAVES, list::NO_LEAVES, is_leaf(s))
                    && pair(list::METADATA, list::NO_METADATA, true)
                    && {
                        let locs = list::INACTIVE | list::ACTIVE | list::DISK_ONLY;
                        flags & locs == 0
                            || (s.state == DomainState::Shutoff && flags & list::INACTIVE != 0)
                            || (s.state != DomainState::Shutoff && flags & list::ACTIVE != 0)
                    }
                    && (flags & (list::INTERNAL | list::EXTERNAL) == 0 || flags & list::INTERNAL != 0)
            })
            .map(|s| s.name.clone())
            .collect()
    }

    /// `DOMAIN_SNAPSHOT_CREATE_XML`.
    pub fn domain_snapshot_create_xml(&mut self, dom: &DomainHandle, text: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, create::ALLOWED, "testDomainSnapshotCreateXML")?;
        let di = self.dom_index(dom)?;
        let d = &self.domains[di];
        if !d.extra.checkpoints.is_empty() {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED,
                ErrorDomain::VIR_FROM_TEST,
                "Operation not supported: cannot create snapshot while checkpoint exists",
            ));
        }
        if !d.persistent && flags & create::HALT != 0 {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_TEST,
                "Requested operation is not valid: cannot halt after transient domain snapshot",
            ));
        }
        let root = xml::parse(text, "(domain_snapshot)")
            .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT, e.message))?;
        if root.name != "domainsnapshot" {
            return Err(error::xml_util_error(&format!(
                "expecting root element of 'domainsnapshot', not '{}'",
                root.name
            )));
        }
        let now = i64::try_from((self.clock)() / 1_000_000_000).unwrap_or(0);
        let name = root.child_text("name").map_or_else(|| now.to_string(), |n| n.trim().to_owned());
        let redefine = flags & create::REDEFINE != 0;
        if !redefine && self.domains[di].extra.snapshots.iter().any(|s| s.name == name) {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_DOMAIN_SNAPSHOT,
                format!("Requested operation is not valid: domain snapshot {name} already exists"),
            ));
        }
        let d = &self.domains[di];
        let snap = Snapshot {
            name: name.clone(),
            description: root.child_text("description"),
            parent: if redefine {
                root.child("parent").and_then(|p| p.child_text("name"))
            } else {
                d.extra.current_snapshot.clone()
            },
            creation_time: root.child_text("creationTime").and_then(|t| t.trim().parse().ok()).unwrap_or(now),
            state: if redefine {
                match root.child_text("state").as_deref().map(str::trim) {
                    Some("running") => DomainState::Running,
                    Some("paused") => DomainState::Paused,
                    _ => DomainState::Shutoff,
                }
            } else {
                d.state
            },
            def: d.def.clone(),
        };
        let extra = &mut self.domains[di].extra;
        extra.snapshots.retain(|s| s.name != name);
        extra.snapshots.push(snap);
        if !redefine || flags & create::CURRENT != 0 {
            extra.current_snapshot = Some(name.clone());
        }
        if flags & create::HALT != 0 && self.domains[di].is_active() {
            self.stop(di, reason::SHUTOFF_FROM_SNAPSHOT, domain_event::STOPPED_FROM_SNAPSHOT);
        }
        Ok(name)
    }

    /// `DOMAIN_SNAPSHOT_NUM` / `DOMAIN_SNAPSHOT_LIST_NAMES` / `DOMAIN_LIST_ALL_SNAPSHOTS`.
    pub fn domain_snapshot_list(&self, dom: &DomainHandle, flags: u32) -> Result<Vec<String>> {
        error::check_flags(flags, list::ALLOWED, "testDomainSnapshotNum")?;
        let di = self.dom_index(dom)?;
        Ok(self.snap_select(di, None, flags & !list::TOPOLOGICAL))
    }

    /// `DOMAIN_SNAPSHOT_NUM_CHILDREN` / `..._LIST_CHILDREN_NAMES` / `..._LIST_ALL_CHILDREN`.
    pub fn domain_snapshot_children(&self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<Vec<String>> {
        error::check_flags(flags, list::ALLOWED, "testDomainSnapshotNumChildren")?;
        let di = self.dom_index(dom)?;
        self.snap_index(di, snap)?;
        Ok(self.snap_select(di, Some(snap), flags & !list::TOPOLOGICAL))
    }

    /// `DOMAIN_SNAPSHOT_LOOKUP_BY_NAME`.
    pub fn domain_snapshot_lookup_by_name(&self, dom: &DomainHandle, name: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainSnapshotLookupByName")?;
        let di = self.dom_index(dom)?;
        self.snap_index(di, name).map(|_| name.to_owned())
    }

    /// `DOMAIN_HAS_CURRENT_SNAPSHOT`.
    pub fn domain_has_current_snapshot(&self, dom: &DomainHandle, flags: u32) -> Result<bool> {
        error::check_flags(flags, 0, "testDomainHasCurrentSnapshot")?;
        Ok(self.dom(dom)?.extra.current_snapshot.is_some())
    }

    /// `DOMAIN_SNAPSHOT_CURRENT`.
    pub fn domain_snapshot_current(&self, dom: &DomainHandle, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainSnapshotCurrent")?;
        self.dom(dom)?.extra.current_snapshot.clone().ok_or_else(|| {
            error::e(
                ErrorCode::VIR_ERR_NO_DOMAIN_SNAPSHOT,
                ErrorDomain::VIR_FROM_TEST,
                "Domain snapshot not found: the domain does not have a current snapshot",
            )
        })
    }

    /// `DOMAIN_SNAPSHOT_GET_PARENT`.
    pub fn domain_snapshot_get_parent(&self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainSnapshotGetParent")?;
        let di = self.dom_index(dom)?;
        let si = self.snap_index(di, snap)?;
        self.domains[di].extra.snapshots[si]
            .parent
            .clone()
            .ok_or_else(|| no_snapshot(format!("snapshot '{snap}' does not have a parent")))
    }

    /// `DOMAIN_SNAPSHOT_GET_XML_DESC` (flag `VIR_DOMAIN_SNAPSHOT_XML_SECURE`).
    pub fn domain_snapshot_get_xml_desc(&self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 1, "testDomainSnapshotGetXMLDesc")?;
        let di = self.dom_index(dom)?;
        let si = self.snap_index(di, snap)?;
        Ok(self.domains[di].extra.snapshots[si].format(&dom.uuid.to_string(), flags & 1 != 0))
    }

    /// `DOMAIN_SNAPSHOT_IS_CURRENT`.
    pub fn domain_snapshot_is_current(&self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<bool> {
        error::check_flags(flags, 0, "testDomainSnapshotIsCurrent")?;
        let di = self.dom_index(dom)?;
        self.snap_index(di, snap)?;
        Ok(self.domains[di].extra.current_snapshot.as_deref() == Some(snap))
    }

    /// `DOMAIN_SNAPSHOT_HAS_METADATA`: always.
    pub fn domain_snapshot_has_metadata(&self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<bool> {
        error::check_flags(flags, 0, "testDomainSnapshotHasMetadata")?;
        let di = self.dom_index(dom)?;
        self.snap_index(di, snap).map(|_| true)
    }

    /// `DOMAIN_SNAPSHOT_DELETE` (flags `CHILDREN` 1, `METADATA_ONLY` 2, `CHILDREN_ONLY` 4).
    pub fn domain_snapshot_delete(&mut self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<()> {
        error::check_flags(flags, 7, "testDomainSnapshotDelete")?;
        let di = self.dom_index(dom)?;
        let si = self.snap_index(di, snap)?;
        let descendants = self.snap_select(di, Some(snap), list::ROOTS_OR_DESCENDANTS);
        let extra = &mut self.domains[di].extra;
        if flags & (1 | 4) != 0 {
            if extra.current_snapshot.as_ref().is_some_and(|c| descendants.contains(c)) {
                extra.current_snapshot = (flags & 4 != 0).then(|| snap.to_owned());
            }
            extra.snapshots.retain(|s| !descendants.contains(&s.name));
            if flags & 4 != 0 {
                return Ok(());
            }
        } else {
            let parent = extra.snapshots[si].parent.clone();
            for s in &mut extra.snapshots {
                if s.parent.as_deref() == Some(snap) {
                    s.parent.clone_from(&parent);
                }
            }
            if extra.current_snapshot.as_deref() == Some(snap) {
                extra.current_snapshot = parent;
            }
        }
        if extra.current_snapshot.as_deref() == Some(snap) {
            extra.current_snapshot = None;
        }
        extra.snapshots.retain(|s| s.name != snap);
        Ok(())
    }

    /// `DOMAIN_REVERT_TO_SNAPSHOT`: the snapshot becomes current and the domain takes its
    /// definition and its running or shut-off state.
    pub fn domain_revert_to_snapshot(&mut self, dom: &DomainHandle, snap: &str, flags: u32) -> Result<()> {
        error::check_flags(flags, 1 | 2 | 4 | 8, "testDomainRevertToSnapshot")?;
        let di = self.dom_index(dom)?;
        let si = self.snap_index(di, snap)?;
        let s = self.domains[di].extra.snapshots[si].clone();
        self.domains[di].extra.current_snapshot = Some(snap.to_owned());
        let active = self.domains[di].is_active();
        if s.state == DomainState::Shutoff {
            if active {
                self.stop(di, reason::SHUTOFF_FROM_SNAPSHOT, domain_event::STOPPED_FROM_SNAPSHOT);
            }
            if let Some(i) = self.domains.iter().position(|d| d.def.uuid == dom.uuid) {
                self.domains[i].def = s.def;
            }
        } else {
            // Running or paused snapshot: a running domain stops first, then starts again from
            // the snapshot's definition with a new id (transitions 2, 3, 5, 6, 8, 9).
            if active {
                let id = self.shutdown_state(di, reason::SHUTOFF_FROM_SNAPSHOT);
                let d = &self.domains[di];
                let dom = DomainHandle { name: d.def.name.clone(), uuid: d.def.uuid, id };
                let (event, detail) = (domain_event::STOPPED, domain_event::STOPPED_FROM_SNAPSHOT);
                self.events.push(super::Event::DomainLifecycle { dom, event, detail });
            }
            self.domains[di].def = s.def;
            self.start_state(di, reason::RUNNING_FROM_SNAPSHOT);
            self.dom_event(di, domain_event::STARTED, domain_event::STARTED_FROM_SNAPSHOT);
            // VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING 1, _PAUSED 2.
            if flags & 1 == 0 && (s.state == DomainState::Paused || flags & 2 != 0) {
                let d = &mut self.domains[di];
                d.state = DomainState::Paused;
                // VIR_DOMAIN_PAUSED_FROM_SNAPSHOT.
                d.reason = 7;
                // VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT.
                self.dom_event(di, domain_event::SUSPENDED, 5);
            }
        }
        Ok(())
    }
}
