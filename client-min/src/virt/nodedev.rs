//! `virNodeDevice…`.

use proto_core::programs::remote as r;

use crate::error::Error;
use crate::macros::{handle, twin};
use crate::util::{count, opt, strings};

handle!(crate::connect::Connect;
    /// A host device (`virNodeDevicePtr`).
    NodeDevice(RemoteNonnullNodeDevice)
);

twin! { NodeDevice; local impl NodeDevice {
    fn name_arg(&self) -> r::RemoteNonnullString {
        self.raw.name.clone()
    }

    /// `virNodeDeviceGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }
} }

twin! { NodeDevice; impl NodeDevice {
    /// `virNodeDeviceGetParent`.
    pub async fn parent(&self) -> Result<String, Error> {
        let ret =
            aw!(self.conn.call::<r::NodeDeviceGetParent>(&r::RemoteNodeDeviceGetParentArgs { name: self.name_arg() }))?;
        Ok(ret.parent_name.map(|p| p.to_string()).unwrap_or_default())
    }

    /// `virNodeDeviceGetXMLDesc`.
    pub async fn xml_desc(&self, flags: u32) -> Result<String, Error> {
        let args = r::RemoteNodeDeviceGetXmlDescArgs { name: self.name_arg(), flags };
        Ok(aw!(self.conn.call::<r::NodeDeviceGetXmlDesc>(&args))?.xml.to_string())
    }

    /// `virNodeDeviceDestroy`.
    pub async fn destroy(&self) -> Result<(), Error> {
        aw!(self.conn.call_rw::<r::NodeDeviceDestroy>(
            "virNodeDeviceDestroy",
            &r::RemoteNodeDeviceDestroyArgs { name: self.name_arg() },
        ))
    }

    /// `virNodeDeviceDettach`.
    pub async fn detach(&self) -> Result<(), Error> {
        aw!(self.conn.call_rw::<r::NodeDeviceDettach>(
            "virNodeDeviceDettach",
            &r::RemoteNodeDeviceDettachArgs { name: self.name_arg() },
        ))
    }

    /// `virNodeDeviceReset`.
    pub async fn reset(&self) -> Result<(), Error> {
        aw!(self.conn.call_rw::<r::NodeDeviceReset>(
            "virNodeDeviceReset",
            &r::RemoteNodeDeviceResetArgs { name: self.name_arg() },
        ))
    }

    /// `virNodeDeviceReAttach`.
    pub async fn reattach(&self) -> Result<(), Error> {
        let args = r::RemoteNodeDeviceReAttachArgs { name: self.name_arg() };
        aw!(self.conn.call_rw::<r::NodeDeviceReAttach>("virNodeDeviceReAttach", &args))
    }

    /// `virNodeDeviceDetachFlags`.
    pub async fn detach_flags(&self, driver: Option<&str>, flags: u32) -> Result<(), Error> {
        let args = r::RemoteNodeDeviceDetachFlagsArgs { name: self.name_arg(), driver_name: opt(driver), flags };
        aw!(self.conn.call_rw::<r::NodeDeviceDetachFlags>("virNodeDeviceDetachFlags", &args))
    }

    /// `virNodeDeviceNumOfCaps`.
    pub async fn num_of_caps(&self) -> Result<u32, Error> {
        let args = r::RemoteNodeDeviceNumOfCapsArgs { name: self.name_arg() };
        Ok(count(aw!(self.conn.call::<r::NodeDeviceNumOfCaps>(&args))?.num))
    }

    /// `virNodeDeviceListCaps`.
    pub async fn list_caps(&self) -> Result<Vec<String>, Error> {
        let maxnames = i32::try_from(aw!(self.num_of_caps())?).unwrap_or(i32::MAX);
        let args = r::RemoteNodeDeviceListCapsArgs { name: self.name_arg(), maxnames };
        Ok(strings(&aw!(self.conn.call::<r::NodeDeviceListCaps>(&args))?.names))
    }
} }
