//! The async handles of the objects other than domains: the same plumbing as the blocking
//! ones, on the async connection; their methods come from the blocking modules' `twin!`
//! descriptions.

use crate::macros::handle;

handle!(super::connect::Connect;
    /// An async domain snapshot handle (`virDomainSnapshotPtr`).
    DomainSnapshot(RemoteNonnullDomainSnapshot)
);

handle!(super::connect::Connect;
    /// An async virtual network handle (`virNetworkPtr`).
    Network(RemoteNonnullNetwork)
);

handle!(super::connect::Connect;
    /// An async host interface handle (`virInterfacePtr`).
    Interface(RemoteNonnullInterface)
);

handle!(super::connect::Connect;
    /// An async storage pool handle (`virStoragePoolPtr`).
    StoragePool(RemoteNonnullStoragePool)
);

handle!(super::connect::Connect;
    /// An async storage volume handle (`virStorageVolPtr`).
    StorageVol(RemoteNonnullStorageVol)
);

handle!(super::connect::Connect;
    /// An async node device handle (`virNodeDevicePtr`).
    NodeDevice(RemoteNonnullNodeDevice)
);

handle!(super::connect::Connect;
    /// An async secret handle (`virSecretPtr`).
    Secret(RemoteNonnullSecret)
);

handle!(super::connect::Connect;
    /// An async network filter handle (`virNWFilterPtr`).
    NWFilter(RemoteNonnullNwfilter)
);
