//! `virNWFilter…`.

use uuid::Uuid;

use crate::error::Error;
use crate::macros::{handle, obj_string, obj_void, twin};
use crate::util::uuid_string;

handle!(crate::connect::Connect;
    /// A network filter (`virNWFilterPtr`).
    NWFilter(RemoteNonnullNwfilter)
);

twin! { NWFilter; local impl NWFilter {
    /// `virNWFilterGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virNWFilterGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.raw.uuid))
    }

    /// `virNWFilterGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.raw.uuid))
    }
} }

obj_string! { NWFilter.nwfilter;
    /// `virNWFilterGetXMLDesc`.
    xml_desc(flags: u32 => flags) = NwfilterGetXmlDesc(RemoteNwfilterGetXmlDescArgs).xml;
}

obj_void! { NWFilter.nwfilter;
    /// `virNWFilterUndefine`.
    undefine() = NwfilterUndefine(RemoteNwfilterUndefineArgs) "virNWFilterUndefine";
}
