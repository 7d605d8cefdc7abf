//! `virSecret…`.

use proto_core::programs::remote as r;
use uuid::Uuid;

use crate::error::Error;
use crate::macros::{handle, obj_string, obj_void, twin};
use crate::util::uuid_string;

handle!(crate::connect::Connect;
    /// A secret (`virSecretPtr`).
    Secret(RemoteNonnullSecret)
);

twin! { Secret; local impl Secret {
    /// `virSecretGetUsageID`.
    pub fn usage_id(&self) -> Result<String, Error> {
        Ok(self.raw.usage_id.to_string())
    }

    /// `virSecretGetUsageType`.
    pub fn usage_type(&self) -> Result<u32, Error> {
        Ok(u32::try_from(self.raw.usage_type).unwrap_or(0))
    }

    /// `virSecretGetUUID`.
    pub fn uuid(&self) -> Result<Uuid, Error> {
        Ok(Uuid::from_bytes(self.raw.uuid))
    }

    /// `virSecretGetUUIDString`.
    pub fn uuid_string(&self) -> Result<String, Error> {
        Ok(uuid_string(&self.raw.uuid))
    }
} }

twin! { Secret; impl Secret {
    /// `virSecretSetValue`.
    pub async fn set_value(&self, value: &[u8], flags: u32) -> Result<(), Error> {
        let args = r::RemoteSecretSetValueArgs { secret: self.raw(), value: value.to_vec().into(), flags };
        aw!(self.conn.call_rw::<r::SecretSetValue>("virSecretSetValue", &args))
    }

    /// `virSecretGetValue`.
    pub async fn value(&self, flags: u32) -> Result<Vec<u8>, Error> {
        self.conn.check_rw("virSecretGetValue")?;
        let args = r::RemoteSecretGetValueArgs { secret: self.raw(), flags };
        Ok(aw!(self.conn.call::<r::SecretGetValue>(&args))?.value.to_vec())
    }
} }

obj_string! { Secret.secret;
    /// `virSecretGetXMLDesc`.
    xml_desc(flags: u32 => flags) = SecretGetXmlDesc(RemoteSecretGetXmlDescArgs).xml;
}

obj_void! { Secret.secret;
    /// `virSecretUndefine`.
    undefine() = SecretUndefine(RemoteSecretUndefineArgs) "virSecretUndefine";
}
