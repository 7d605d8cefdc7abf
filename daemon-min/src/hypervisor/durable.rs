//! Durability (`--state-dir`): which changes are queued for the state directory, how the
//! stored objects load back, and the autostart pass after a restart.

use super::domain::{reason, DomainObj, DomainState};
use super::domain_conf::DomainDef;
use super::error::Error;
use super::events::{domain_event, network_event, pool_event};
use super::network::NetworkObj;
use super::network_conf::NetworkDef;
use super::persist::{self, Op, StateDir, Stored};
use super::storage::VolObj;
use super::storage_conf::{PoolDef, VolDef};
use super::uuid::Uuid;
use super::Hypervisor;

impl Hypervisor {
    // ----- durability ------------------------------------------------------------------------------------

    pub(super) fn pending_if_durable(&mut self, op: Op) {
        if self.durable {
            self.pending.push(op);
        }
    }

    pub(super) fn persist_all(&mut self) {
        for i in 0..self.domains.len() {
            self.persist_domain(i);
        }
        for i in 0..self.networks.len() {
            self.persist_network(i);
        }
        for i in 0..self.pools.len() {
            self.persist_pool(i);
            for vi in 0..self.pools[i].vols.len() {
                self.persist_vol(i, vi, true);
            }
        }
    }

    pub(super) fn persist_domain(&mut self, i: usize) {
        if !self.durable {
            return;
        }
        let d = &self.domains[i];
        if !d.persistent {
            return;
        }
        let base = format!("domains/{}", d.def.uuid);
        let config = d.new_def.as_ref().unwrap_or(&d.def).format(None, true);
        let status = persist::status_text(&[
            ("autostart", u8::from(d.autostart).to_string()),
            ("state", (d.state as i32).to_string()),
            ("reason", d.reason.to_string()),
            ("id", d.id.to_string()),
        ]);
        let live = d.is_active().then(|| d.def.format(None, true));
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        match live {
            Some(l) => self.pending.push(Op::Write(format!("{base}.live.xml").into(), l.into_bytes())),
            None => self.pending.push(Op::Remove(format!("{base}.live.xml").into())),
        }
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    /// Removes a domain's files (it was undefined; if still running it lives on, transient).
    pub(super) fn unpersist_domain(&mut self, uuid: &Uuid) {
        self.unpersist("domains", uuid);
    }

    pub(super) fn unpersist(&mut self, sub: &str, uuid: &Uuid) {
        if !self.durable {
            return;
        }
        for ext in ["xml", "live.xml", "status"] {
            self.pending.push(Op::Remove(format!("{sub}/{uuid}.{ext}").into()));
        }
    }

    pub(super) fn persist_network(&mut self, i: usize) {
        if !self.durable || !self.networks[i].persistent {
            return;
        }
        let n = &self.networks[i];
        let base = format!("networks/{}", n.def.uuid);
        let config = n.new_def.as_ref().unwrap_or(&n.def).format();
        let status = persist::status_text(&[
            ("autostart", u8::from(n.autostart).to_string()),
            ("active", u8::from(n.active).to_string()),
        ]);
        let live = n.active.then(|| n.def.format());
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        match live {
            Some(l) => self.pending.push(Op::Write(format!("{base}.live.xml").into(), l.into_bytes())),
            None => self.pending.push(Op::Remove(format!("{base}.live.xml").into())),
        }
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    pub(super) fn persist_pool(&mut self, i: usize) {
        if !self.durable || !self.pools[i].persistent {
            return;
        }
        let p = &self.pools[i];
        let base = format!("pools/{}", p.def.uuid);
        let config = p.new_def.as_ref().unwrap_or(&p.def).format(p.capacity, p.allocation, p.available);
        let status = persist::status_text(&[
            ("autostart", u8::from(p.autostart).to_string()),
            ("active", u8::from(p.active).to_string()),
        ]);
        self.pending.push(Op::Write(format!("{base}.xml").into(), config.into_bytes()));
        self.pending.push(Op::Write(format!("{base}.status").into(), status));
    }

    pub(super) fn persist_vol(&mut self, pi: usize, vi: usize, with_data: bool) {
        if !self.durable || !self.pools[pi].persistent {
            return;
        }
        let p = &self.pools[pi];
        let v = &p.vols[vi];
        let base = format!("pools/{}.vols/{}", p.def.uuid, persist::hex_name(&v.def.name));
        let xml = v.def.format(&p.def);
        let data = with_data.then(|| persist::encode_extents(&v.content));
        self.pending.push(Op::Write(format!("{base}.xml").into(), xml.into_bytes()));
        if let Some(d) = data {
            self.pending.push(Op::Write(format!("{base}.data").into(), d));
        }
        self.persist_pool(pi);
    }

    pub(super) fn load_state(&mut self, dir: &StateDir) -> std::io::Result<()> {
        let bad = |what: &str, e: Error| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{what}: {}", e.message()))
        };
        let flag = |s: &Stored, k: &str| s.status.get(k).is_some_and(|v| v == "1");
        for (stem, s) in dir.read_objects("domains")? {
            let Some(config) = &s.config else { continue };
            let def = DomainDef::parse(config).map_err(|e| bad(&format!("domains/{stem}.xml"), e))?;
            let state = s.status.get("state").and_then(|v| v.parse().ok()).and_then(DomainState::from_i32);
            let state = state.unwrap_or(DomainState::Shutoff);
            let id: i32 = s.status.get("id").and_then(|v| v.parse().ok()).unwrap_or(-1);
            let mut obj = DomainObj {
                def,
                new_def: None,
                id: -1,
                state: DomainState::Shutoff,
                reason: s.status.get("reason").and_then(|v| v.parse().ok()).unwrap_or(0),
                persistent: true,
                autostart: flag(&s, "autostart"),
                extra: Default::default(),
            };
            if state != DomainState::Shutoff && id > 0 {
                let live = match &s.live {
                    Some(l) => DomainDef::parse(l).map_err(|e| bad(&format!("domains/{stem}.live.xml"), e))?,
                    None => obj.def.clone(),
                };
                obj.new_def = Some(std::mem::replace(&mut obj.def, live));
                obj.state = state;
                obj.id = id;
                self.next_dom_id = self.next_dom_id.max(id + 1);
            }
            self.domains.push(obj);
        }
        for (stem, s) in dir.read_objects("networks")? {
            let Some(config) = &s.config else { continue };
            let def = NetworkDef::parse(config).map_err(|e| bad(&format!("networks/{stem}.xml"), e))?;
            let active = flag(&s, "active");
            let mut obj = NetworkObj { def, new_def: None, active, persistent: true, autostart: flag(&s, "autostart") };
            if let (true, Some(l)) = (active, &s.live) {
                let live = NetworkDef::parse(l).map_err(|e| bad(&format!("networks/{stem}.live.xml"), e))?;
                if live != obj.def {
                    obj.new_def = Some(std::mem::replace(&mut obj.def, live));
                }
            }
            self.networks.push(obj);
        }
        for (stem, s) in dir.read_objects("pools")? {
            let Some(config) = &s.config else { continue };
            let def = PoolDef::parse(config).map_err(|e| bad(&format!("pools/{stem}.xml"), e))?;
            let mut obj = Self::new_pool(def);
            obj.active = flag(&s, "active");
            obj.autostart = flag(&s, "autostart");
            for (xml, content) in dir.read_volumes(&stem)? {
                let def = VolDef::parse(&xml, &obj.def).map_err(|e| bad(&format!("pools/{stem}.vols"), e))?;
                obj.allocation += def.allocation;
                obj.vols.push(VolObj { def, content });
            }
            obj.available = obj.capacity.saturating_sub(obj.allocation);
            self.pools.push(obj);
        }
        Ok(())
    }

    /// Starts the inactive objects marked autostart, as libvirtd does when it starts.
    pub(super) fn autostart_all(&mut self) {
        for i in 0..self.networks.len() {
            if self.networks[i].autostart && !self.networks[i].active {
                self.networks[i].active = true;
                self.net_event(i, network_event::STARTED);
                self.persist_network(i);
            }
        }
        for i in 0..self.pools.len() {
            if self.pools[i].autostart && !self.pools[i].active {
                self.pools[i].active = true;
                self.pool_event(i, pool_event::STARTED);
                self.persist_pool(i);
            }
        }
        for i in 0..self.domains.len() {
            if self.domains[i].autostart && !self.domains[i].is_active() {
                self.start_state(i, reason::RUNNING_BOOTED);
                self.dom_event(i, domain_event::STARTED, domain_event::STARTED_BOOTED);
                self.persist_domain(i);
            }
        }
    }
}
