//! `virNetwork…` and `virStoragePool…`, async: lookup, listing, state and lifecycle.

use proto_core::programs::remote as r;
use uuid::Uuid;

use super::connect::Connect;
use crate::error::Error;
use crate::sys;
use crate::util::{s, uuid_string};

macro_rules! async_handle {
    ($(#[$doc:meta])* $ty:ident($raw:ident), $field:ident, $api:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $ty {
            conn: Connect,
            raw: r::$raw,
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty)).field("name", &self.raw.name).finish_non_exhaustive()
            }
        }

        impl $ty {
            pub(crate) fn from_raw(conn: &Connect, raw: r::$raw) -> Self {
                Self { conn: conn.clone(), raw }
            }

            /// The connection this object belongs to.
            pub fn connect(&self) -> Result<Connect, Error> {
                Ok(self.conn.clone())
            }

            #[doc = concat!("`vir", $api, "GetName`.")]
            pub fn name(&self) -> Result<String, Error> {
                Ok(self.raw.name.to_string())
            }

            #[doc = concat!("`vir", $api, "GetUUID`.")]
            pub fn uuid(&self) -> Result<Uuid, Error> {
                Ok(Uuid::from_bytes(self.raw.uuid))
            }

            #[doc = concat!("`vir", $api, "GetUUIDString`.")]
            pub fn uuid_string(&self) -> Result<String, Error> {
                Ok(uuid_string(&self.raw.uuid))
            }
        }
    };
}

async_handle!(
    /// An async virtual network handle (`virNetworkPtr`).
    Network(RemoteNonnullNetwork), net, "Network"
);

async_handle!(
    /// An async storage pool handle (`virStoragePoolPtr`).
    StoragePool(RemoteNonnullStoragePool), pool, "StoragePool"
);

impl Network {
    /// `virNetworkIsActive`.
    pub async fn is_active(&self) -> Result<bool, Error> {
        let args = r::RemoteNetworkIsActiveArgs { net: self.raw.clone() };
        Ok(self.conn.call::<r::NetworkIsActive>(&args).await?.active != 0)
    }

    /// `virNetworkGetXMLDesc`.
    pub async fn xml_desc(&self, flags: sys::virNetworkXMLFlags) -> Result<String, Error> {
        let args = r::RemoteNetworkGetXmlDescArgs { net: self.raw.clone(), flags };
        Ok(self.conn.call::<r::NetworkGetXmlDesc>(&args).await?.xml.to_string())
    }

    /// `virNetworkCreate`.
    pub async fn create(&self) -> Result<(), Error> {
        self.conn
            .call_rw::<r::NetworkCreate>("virNetworkCreate", &r::RemoteNetworkCreateArgs { net: self.raw.clone() })
            .await
    }

    /// `virNetworkDestroy`.
    pub async fn destroy(&self) -> Result<(), Error> {
        let args = r::RemoteNetworkDestroyArgs { net: self.raw.clone() };
        self.conn.call_rw::<r::NetworkDestroy>("virNetworkDestroy", &args).await
    }
}

impl StoragePool {
    /// `virStoragePoolIsActive`.
    pub async fn is_active(&self) -> Result<bool, Error> {
        let args = r::RemoteStoragePoolIsActiveArgs { pool: self.raw.clone() };
        Ok(self.conn.call::<r::StoragePoolIsActive>(&args).await?.active != 0)
    }

    /// `virStoragePoolGetXMLDesc`.
    pub async fn xml_desc(&self, flags: sys::virStorageXMLFlags) -> Result<String, Error> {
        let args = r::RemoteStoragePoolGetXmlDescArgs { pool: self.raw.clone(), flags };
        Ok(self.conn.call::<r::StoragePoolGetXmlDesc>(&args).await?.xml.to_string())
    }

    /// `virStoragePoolCreate`.
    pub async fn create(&self, flags: sys::virStoragePoolCreateFlags) -> Result<(), Error> {
        let args = r::RemoteStoragePoolCreateArgs { pool: self.raw.clone(), flags };
        self.conn.call_rw::<r::StoragePoolCreate>("virStoragePoolCreate", &args).await
    }

    /// `virStoragePoolDestroy`.
    pub async fn destroy(&self) -> Result<(), Error> {
        let args = r::RemoteStoragePoolDestroyArgs { pool: self.raw.clone() };
        self.conn.call_rw::<r::StoragePoolDestroy>("virStoragePoolDestroy", &args).await
    }
}

impl Connect {
    /// `virConnectListAllNetworks`.
    pub async fn list_all_networks(&self, flags: sys::virConnectListAllNetworksFlags) -> Result<Vec<Network>, Error> {
        let ret = self
            .call::<r::ConnectListAllNetworks>(&r::RemoteConnectListAllNetworksArgs { need_results: 1, flags })
            .await?;
        Ok(ret.nets.into_iter().map(|n| Network::from_raw(self, n)).collect())
    }

    /// `virNetworkLookupByName`.
    pub async fn lookup_network_by_name(&self, id: &str) -> Result<Network, Error> {
        let ret = self.call::<r::NetworkLookupByName>(&r::RemoteNetworkLookupByNameArgs { name: s(id) }).await?;
        Ok(Network::from_raw(self, ret.net))
    }

    /// `virConnectListAllStoragePools`.
    pub async fn list_all_storage_pools(
        &self,
        flags: sys::virConnectListAllStoragePoolsFlags,
    ) -> Result<Vec<StoragePool>, Error> {
        let args = r::RemoteConnectListAllStoragePoolsArgs { need_results: 1, flags };
        let ret = self.call::<r::ConnectListAllStoragePools>(&args).await?;
        Ok(ret.pools.into_iter().map(|p| StoragePool::from_raw(self, p)).collect())
    }

    /// `virStoragePoolLookupByName`.
    pub async fn lookup_storage_pool_by_name(&self, id: &str) -> Result<StoragePool, Error> {
        let ret =
            self.call::<r::StoragePoolLookupByName>(&r::RemoteStoragePoolLookupByNameArgs { name: s(id) }).await?;
        Ok(StoragePool::from_raw(self, ret.pool))
    }
}
