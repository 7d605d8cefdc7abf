//! `virInterface…`.

use crate::error::Error;
use crate::macros::{handle, obj_bool, obj_string, obj_void, twin};
use crate::sys;

handle!(crate::connect::Connect;
    /// A host network interface (`virInterfacePtr`).
    Interface(RemoteNonnullInterface)
);

twin! { Interface; local impl Interface {
    /// `virInterfaceGetName`.
    pub fn name(&self) -> Result<String, Error> {
        Ok(self.raw.name.to_string())
    }

    /// `virInterfaceGetMACString`.
    pub fn mac_string(&self) -> Result<String, Error> {
        Ok(self.raw.mac.to_string())
    }
} }

obj_string! { Interface.iface;
    /// `virInterfaceGetXMLDesc`.
    xml_desc(flags: sys::virInterfaceXMLFlags => flags) = InterfaceGetXmlDesc(RemoteInterfaceGetXmlDescArgs).xml;
}

obj_void! { Interface.iface;
    /// `virInterfaceCreate`.
    create(flags: sys::virInterfaceXMLFlags => flags) = InterfaceCreate(RemoteInterfaceCreateArgs) "virInterfaceCreate";
    /// `virInterfaceDestroy`.
    destroy(flags: u32 => flags) = InterfaceDestroy(RemoteInterfaceDestroyArgs) "virInterfaceDestroy";
    /// `virInterfaceUndefine`.
    undefine() = InterfaceUndefine(RemoteInterfaceUndefineArgs) "virInterfaceUndefine";
}

obj_bool! { Interface.iface;
    /// `virInterfaceIsActive`.
    is_active() = InterfaceIsActive(RemoteInterfaceIsActiveArgs).active;
}
