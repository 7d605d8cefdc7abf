//! Domain checkpoints (the checkpoint entries of the test driver's hypervisor table): only on
//! running domains without snapshots, kept in a tree like snapshots, listed, looked up, formatted
//! and deleted with the test driver's rules.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_conf::DomainDef;
use super::error::{self, Error, Result};
use super::xml::{self, escape, Buf};
use super::Hypervisor;

/// One checkpoint.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    name: String,
    description: Option<String>,
    parent: Option<String>,
    creation_time: i64,
    def: DomainDef,
}

fn unsupported(message: &str) -> Error {
    error::e(
        ErrorCode::VIR_ERR_OPERATION_UNSUPPORTED,
        ErrorDomain::VIR_FROM_TEST,
        format!("Operation not supported: {message}"),
    )
}

fn no_checkpoint(message: String) -> Error {
    error::e(
        ErrorCode::VIR_ERR_NO_DOMAIN_CHECKPOINT,
        ErrorDomain::VIR_FROM_TEST,
        format!("Domain checkpoint not found: {message}"),
    )
}

impl Checkpoint {
    fn format(&self, flags: u32) -> String {
        let mut b = Buf::new();
        b.line("<domaincheckpoint>");
        b.push();
        b.text_elem("name", &self.name);
        if let Some(d) = &self.description {
            b.text_elem("description", d);
        }
        if let Some(p) = &self.parent {
            b.line("<parent>");
            b.push();
            b.text_elem("name", p);
            b.pop();
            b.line("</parent>");
        }
        b.text_elem("creationTime", &self.creation_time.to_string());
        let disks = self.def.snapshot_disks();
        if !disks.is_empty() {
            b.line("<disks>");
            b.push();
            for (dst, bitmap) in disks {
                if bitmap {
                    b.line(&format!(
                        "<disk name='{}' checkpoint='bitmap' bitmap='{}'/>",
                        escape(&dst),
                        escape(&self.name)
                    ));
                } else {
                    b.line(&format!("<disk name='{}' checkpoint='no'/>", escape(&dst)));
                }
            }
            b.pop();
            b.line("</disks>");
        }
        // VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN
        if flags & 2 == 0 {
            for line in self.def.format(None, flags & 1 != 0).lines() {
                b.line(line);
            }
        }
        b.pop();
        b.line("</domaincheckpoint>");
        b.finish()
    }
}

impl Hypervisor {
    fn ckpt_index(&self, di: usize, name: &str) -> Result<usize> {
        self.domains[di]
            .extra
            .checkpoints
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| no_checkpoint(format!("no domain checkpoint with matching name '{name}'")))
    }

    /// `DOMAIN_CHECKPOINT_CREATE_XML` (flags `REDEFINE` 1 not modelled, `QUIESCE` 2).
    pub fn domain_checkpoint_create_xml(&mut self, dom: &DomainHandle, text: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 1 | 2, "testDomainCheckpointCreateXML")?;
        let di = self.dom_index(dom)?;
        if !self.domains[di].extra.snapshots.is_empty() {
            return Err(unsupported("cannot create checkpoint while snapshot exists"));
        }
        if !self.domains[di].is_active() {
            return Err(unsupported("cannot create checkpoint for inactive domain"));
        }
        let root = xml::parse(text, "(domain_checkpoint)")
            .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_DOMAIN_CHECKPOINT, e.message))?;
        if root.name != "domaincheckpoint" {
            return Err(error::xml_util_error(&format!(
                "expecting root element of 'domaincheckpoint', not '{}'",
                root.name
            )));
        }
        let now = i64::try_from((self.clock)() / 1_000_000_000).unwrap_or(0);
        let name = root.child_text("name").map_or_else(|| now.to_string(), |n| n.trim().to_owned());
        let extra = &self.domains[di].extra;
        if extra.checkpoints.iter().any(|c| c.name == name) {
            return Err(error::e(
                ErrorCode::VIR_ERR_OPERATION_INVALID,
                ErrorDomain::VIR_FROM_DOMAIN_CHECKPOINT,
                format!("Requested operation is not valid: domain checkpoint {name} already exists"),
            ));
        }
        let c = Checkpoint {
            name: name.clone(),
            description: root.child_text("description"),
            parent: extra.current_checkpoint.clone(),
            creation_time: now,
            def: self.domains[di].def.clone(),
        };
        let extra = &mut self.domains[di].extra;
        extra.checkpoints.push(c);
        extra.current_checkpoint = Some(name.clone());
        Ok(name)
    }

    /// `DOMAIN_LIST_ALL_CHECKPOINTS` (flags `ROOTS` 1, `TOPOLOGICAL` 2, `LEAVES` 4, `NO_LEAVES` 8).
    pub fn domain_list_all_checkpoints(&self, dom: &DomainHandle, of: Option<&str>, flags: u32) -> Result<Vec<String>> {
        error::check_flags(flags, 15, "testDomainListAllCheckpoints")?;
        let di = self.dom_index(dom)?;
        if let Some(of) = of {
            self.ckpt_index(di, of)?;
        }
        let cks = &self.domains[di].extra.checkpoints;
        let is_leaf = |n: &str| !cks.iter().any(|c| c.parent.as_deref() == Some(n));
        let descends = |c: &Checkpoint, from: &str| {
            let mut p = c.parent.clone();
            while let Some(name) = p {
                if name == from {
                    return true;
                }
                p = cks.iter().find(|x| x.name == name).and_then(|x| x.parent.clone());
            }
            false
        };
        Ok(cks
            .iter()
            .filter(|c| match of {
                None => flags & 1 == 0 || c.parent.is_none(),
                Some(from) if flags & 1 != 0 => descends(c, from),
                Some(from) => c.parent.as_deref() == Some(from),
            })
            .filter(|c| {
                let m = 4 | 8;
                flags & m == 0 || flags & m == m || (is_leaf(&c.name) == (flags & 4 != 0))
            })
            .map(|c| c.name.clone())
            .collect())
    }

    /// `DOMAIN_CHECKPOINT_LOOKUP_BY_NAME`.
    pub fn domain_checkpoint_lookup_by_name(&self, dom: &DomainHandle, name: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainCheckpointLookupByName")?;
        let di = self.dom_index(dom)?;
        self.ckpt_index(di, name).map(|_| name.to_owned())
    }

    /// `DOMAIN_CHECKPOINT_GET_PARENT`.
    pub fn domain_checkpoint_get_parent(&self, dom: &DomainHandle, name: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 0, "testDomainCheckpointGetParent")?;
        let di = self.dom_index(dom)?;
        let ci = self.ckpt_index(di, name)?;
        self.domains[di].extra.checkpoints[ci]
            .parent
            .clone()
            .ok_or_else(|| no_checkpoint(format!("checkpoint '{name}' does not have a parent")))
    }

    /// `DOMAIN_CHECKPOINT_GET_XML_DESC` (flags `SECURE` 1, `NO_DOMAIN` 2, `SIZE` 4).
    pub fn domain_checkpoint_get_xml_desc(&self, dom: &DomainHandle, name: &str, flags: u32) -> Result<String> {
        error::check_flags(flags, 7, "testDomainCheckpointGetXMLDesc")?;
        let di = self.dom_index(dom)?;
        let ci = self.ckpt_index(di, name)?;
        Ok(self.domains[di].extra.checkpoints[ci].format(flags))
    }

    /// `DOMAIN_CHECKPOINT_DELETE` (flags `CHILDREN` 1, `METADATA_ONLY` 2, `CHILDREN_ONLY` 4).
    pub fn domain_checkpoint_delete(&mut self, dom: &DomainHandle, name: &str, flags: u32) -> Result<()> {
        error::check_flags(flags, 7, "testDomainCheckpointDelete")?;
        let di = self.dom_index(dom)?;
        let ci = self.ckpt_index(di, name)?;
        let descendants = self.domain_list_all_checkpoints(dom, Some(name), 1)?;
        let extra = &mut self.domains[di].extra;
        if flags & (1 | 4) != 0 {
            if extra.current_checkpoint.as_ref().is_some_and(|c| descendants.contains(c)) {
                extra.current_checkpoint = (flags & 4 != 0).then(|| name.to_owned());
            }
            extra.checkpoints.retain(|c| !descendants.contains(&c.name));
            if flags & 4 != 0 {
                return Ok(());
            }
        } else {
            let parent = extra.checkpoints[ci].parent.clone();
            for c in &mut extra.checkpoints {
                if c.parent.as_deref() == Some(name) {
                    c.parent.clone_from(&parent);
                }
            }
            if extra.current_checkpoint.as_deref() == Some(name) {
                extra.current_checkpoint = parent;
            }
        }
        if extra.current_checkpoint.as_deref() == Some(name) {
            extra.current_checkpoint = None;
        }
        extra.checkpoints.retain(|c| c.name != name);
        Ok(())
    }
}
