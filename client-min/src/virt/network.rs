//! `virNetwork…`.

use uuid::Uuid;

use crate::error::Error;
use crate::macros::{handle, obj_bool, obj_string, obj_void, twin};
use crate::sys;
use crate::util::uuid_string;

handle!(crate::connect::Connect;
    /// A virtual network (`virNetworkPtr`).
    Network(RemoteNonnullNetwork)
);

twin! { Network; local impl Network {
    /// `virNetworkGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virNetworkGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.raw.uuid))
    }

    /// `virNetworkGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.raw.uuid))
    }
} }

twin! { Network; impl Network {
    /// `virNetworkSetAutostart`.
    pub async fn set_autostart(&self, autostart: bool) -> Result<(), Error> {
        let args = proto_core::programs::remote::RemoteNetworkSetAutostartArgs {
            net: self.raw(),
            autostart: i32::from(autostart),
        };
        aw!(self.conn.call_rw::<proto_core::programs::remote::NetworkSetAutostart>("virNetworkSetAutostart", &args))
    }

    /// `virNetworkUpdate`.
    pub async fn update(
        &self,
        cmd: sys::virNetworkUpdateCommand,
        section: sys::virNetworkUpdateSection,
        index: i32,
        xml: &str,
        flags: sys::virNetworkUpdateFlags,
    ) -> Result<(), Error> {
        let args = proto_core::programs::remote::RemoteNetworkUpdateArgs {
            net: self.raw(),
            command: cmd,
            section,
            parent_index: index,
            xml: xml.into(),
            flags,
        };
        aw!(self.conn.call_rw::<proto_core::programs::remote::NetworkUpdate>("virNetworkUpdate", &args))
    }
} }

obj_string! { Network.net;
    /// `virNetworkGetBridgeName`.
    bridge_name() = NetworkGetBridgeName(RemoteNetworkGetBridgeNameArgs).name;
    /// `virNetworkGetXMLDesc`.
    xml_desc(flags: sys::virNetworkXMLFlags => flags) = NetworkGetXmlDesc(RemoteNetworkGetXmlDescArgs).xml;
}

obj_void! { Network.net;
    /// `virNetworkCreate`.
    create() = NetworkCreate(RemoteNetworkCreateArgs) "virNetworkCreate";
    /// `virNetworkDestroy`.
    destroy() = NetworkDestroy(RemoteNetworkDestroyArgs) "virNetworkDestroy";
    /// `virNetworkUndefine`.
    undefine() = NetworkUndefine(RemoteNetworkUndefineArgs) "virNetworkUndefine";
}

obj_bool! { Network.net;
    /// `virNetworkIsActive`.
    is_active() = NetworkIsActive(RemoteNetworkIsActiveArgs).active;
    /// `virNetworkIsPersistent`.
    is_persistent() = NetworkIsPersistent(RemoteNetworkIsPersistentArgs).persistent;
    /// `virNetworkGetAutostart`.
    autostart() = NetworkGetAutostart(RemoteNetworkGetAutostartArgs).autostart;
}
