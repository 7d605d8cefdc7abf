//! `virDomainSnapshot…`.

use proto_core::programs::remote as r;

use crate::domain::Domain;
use crate::error::Error;
use crate::macros::{handle, obj_bool, obj_string, obj_void, twin};
use crate::util::count;

handle!(crate::connect::Connect;
    /// A domain snapshot (`virDomainSnapshotPtr`).
    DomainSnapshot(RemoteNonnullDomainSnapshot)
);

twin! { Domain, DomainSnapshot; local impl DomainSnapshot {
    /// `virDomainSnapshotGetDomain`.
    pub fn domain(&self) -> Result<Domain, Error> {
        Ok(Domain::from_raw(&self.conn, self.raw.dom.clone()))
    }

    /// `virDomainSnapshotGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }
} }

twin! { Domain, DomainSnapshot; impl DomainSnapshot {
    /// `virDomainSnapshotGetParent`.
    pub async fn parent(&self, flags: u32) -> Result<Self, Error> {
        let args = r::RemoteDomainSnapshotGetParentArgs { snap: self.raw(), flags };
        Ok(Self::from_raw(&self.conn, aw!(self.conn.call::<r::DomainSnapshotGetParent>(&args))?.snap))
    }

    /// `virDomainSnapshotNumChildren`.
    pub async fn num_children(&self, flags: u32) -> Result<u32, Error> {
        let args = r::RemoteDomainSnapshotNumChildrenArgs { snap: self.raw(), flags };
        Ok(count(aw!(self.conn.call::<r::DomainSnapshotNumChildren>(&args))?.num))
    }

    /// `virDomainSnapshotListAllChildren`.
    pub async fn list_all_children(&self, flags: u32) -> Result<Vec<Self>, Error> {
        let args = r::RemoteDomainSnapshotListAllChildrenArgs { snapshot: self.raw(), need_results: 1, flags };
        let ret = aw!(self.conn.call::<r::DomainSnapshotListAllChildren>(&args))?;
        Ok(ret.snapshots.into_iter().map(|x| Self::from_raw(&self.conn, x)).collect())
    }
} }

obj_string! { DomainSnapshot.snap;
    /// `virDomainSnapshotGetXMLDesc`.
    xml_desc(flags: u32 => flags) = DomainSnapshotGetXmlDesc(RemoteDomainSnapshotGetXmlDescArgs).xml;
}

obj_void! { DomainSnapshot.snap;
    /// `virDomainRevertToSnapshot`.
    revert(flags: u32 => flags) = DomainRevertToSnapshot(RemoteDomainRevertToSnapshotArgs) "virDomainRevertToSnapshot";
    /// `virDomainSnapshotDelete`.
    delete(flags: u32 => flags) = DomainSnapshotDelete(RemoteDomainSnapshotDeleteArgs) "virDomainSnapshotDelete";
}

obj_bool! { DomainSnapshot.snap;
    /// `virDomainSnapshotIsCurrent`.
    is_current(flags: u32 => flags) = DomainSnapshotIsCurrent(RemoteDomainSnapshotIsCurrentArgs).current;
    /// `virDomainSnapshotHasMetadata`.
    has_metadata(flags: u32 => flags) = DomainSnapshotHasMetadata(RemoteDomainSnapshotHasMetadataArgs).metadata;
}
