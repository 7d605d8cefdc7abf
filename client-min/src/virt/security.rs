//! `virNodeGetSecurityModel` and `virDomainGetSecurityLabel`: the host's security driver and a
//! domain's label under it (not in `virt` 0.5.0; virsh's `dominfo` shows both).

use proto_core::programs::remote as r;

use crate::connect::Connect;
use crate::domain::Domain;
use crate::error::Error;
use crate::macros::twin;

/// The host's security model (`virSecurityModel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityModel {
    /// The model's name (empty when there is no security driver).
    pub model: String,
    /// Its domain of interpretation.
    pub doi: String,
}

/// A domain's security label (`virSecurityLabel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityLabel {
    /// The label (empty when the domain has none).
    pub label: String,
    /// Whether the label is enforced.
    pub enforcing: bool,
}

/// A C string in a fixed `char` array, up to its NUL.
fn c_chars(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars.iter().map(|&c| c.to_ne_bytes()[0]).take_while(|&c| c != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

twin! { Connect; impl Connect {
    /// `virNodeGetSecurityModel`.
    pub async fn node_security_model(&self) -> Result<SecurityModel, Error> {
        let ret = aw!(self.call::<r::NodeGetSecurityModel>(&()))?;
        Ok(SecurityModel { model: c_chars(&ret.model), doi: c_chars(&ret.doi) })
    }
} }

twin! { Domain; impl Domain {
    /// `virDomainGetSecurityLabel`.
    pub async fn security_label(&self) -> Result<SecurityLabel, Error> {
        let args = r::RemoteDomainGetSecurityLabelArgs { dom: self.raw() };
        let ret = aw!(self.conn.call::<r::DomainGetSecurityLabel>(&args))?;
        Ok(SecurityLabel { label: c_chars(&ret.label), enforcing: ret.enforcing != 0 })
    }

    /// `virDomainGetMessages`: the messages the hypervisor keeps about the domain
    /// (`VIR_DOMAIN_MESSAGE_…` flags select which).
    pub async fn messages(&self, flags: u32) -> Result<Vec<String>, Error> {
        let args = r::RemoteDomainGetMessagesArgs { dom: self.raw(), flags };
        Ok(crate::util::strings(&aw!(self.conn.call::<r::DomainGetMessages>(&args))?.msgs))
    }
} }
