//! Domain procedures of the test driver's hypervisor table that answer for the guest: file
//! systems, interface addresses and statistics, block statistics, memory peeks, passwords,
//! signals, the balloon period, launch security, renaming and `CONNECT_GET_ALL_DOMAIN_STATS`
//! (`hypervisor/domain_guest.rs`).

use proto_core::programs::remote::*;

use bytes::Bytes;
use proto_core::error::ErrorDomain;
use proto_core::xdr;

use super::table::{on, Call, Entry};
use super::wire::*;
use super::{forbidden, Outcome};
use proto_core::error::RemoteError;

/// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT`.
const ADDRESSES_SRC_AGENT: u32 = 1;

fn strings(v: &[XdrString]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

use proto_core::XdrString;

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainGetLaunchSecurityInfo, try |m, a| m
        .domain_get_launch_security_info(&dom_in(&a.dom), a.flags)
        .map(|p| RemoteDomainGetLaunchSecurityInfoRet { params: params_out(p) })),
    on!(DomainSetUserPassword, try |m, a| {
        let (user, password) = (a.user.as_ref().map(ToString::to_string), a.password.as_ref().map(ToString::to_string));
        m.domain_set_user_password(&dom_in(&a.dom), user.as_deref(), password.as_deref(), a.flags)
    }),
    on!(DomainSendProcessSignal, try |m, a| m
        .domain_send_process_signal(&dom_in(&a.dom), a.pid_value, a.signum, a.flags)),
    on!(DomainFsfreeze, try |m, a| m
        .domain_fs_freeze(&dom_in(&a.dom), &strings(&a.mountpoints), a.flags, true)
        .map(|filesystems| RemoteDomainFsfreezeRet { filesystems })),
    on!(DomainFsthaw, try |m, a| m
        .domain_fs_freeze(&dom_in(&a.dom), &strings(&a.mountpoints), a.flags, false)
        .map(|filesystems| RemoteDomainFsthawRet { filesystems })),
    on!(DomainFstrim, try |m, a| {
        let mountpoint = a.mount_point.as_ref().map(ToString::to_string);
        m.domain_fs_trim(&dom_in(&a.dom), mountpoint.as_deref(), a.flags)
    }),
    on!(DomainGetFsinfo, try |m, a| m.domain_get_fs_info(&dom_in(&a.dom), a.flags).map(|v| {
        RemoteDomainGetFsinfoRet {
            ret: v.len() as u32,
            info: v
                .into_iter()
                .map(|f| RemoteDomainFsinfo {
                    mountpoint: s(&f.mountpoint),
                    name: s(&f.name),
                    fstype: s(&f.fstype),
                    dev_aliases: names(f.dev_aliases),
                })
                .collect(),
        }
    })),
    Entry { number: REMOTE_PROC_DOMAIN_INTERFACE_ADDRESSES, run: domain_interface_addresses },
    on!(DomainInterfaceStats, try |m, a| m.domain_interface_stats(&dom_in(&a.dom), &a.device.to_string()).map(|v| {
        RemoteDomainInterfaceStatsRet {
            rx_bytes: v[0],
            rx_packets: v[1],
            rx_errs: v[2],
            rx_drop: v[3],
            tx_bytes: v[4],
            tx_packets: v[5],
            tx_errs: v[6],
            tx_drop: v[7],
        }
    })),
    on!(DomainBlockStats, try |m, a| m.domain_block_stats(&dom_in(&a.dom), &a.path.to_string()).map(|v| {
        RemoteDomainBlockStatsRet { rd_req: v[0], rd_bytes: v[1], wr_req: v[2], wr_bytes: v[3], errs: v[4] }
    })),
    on!(DomainMemoryPeek, try |m, a| m
        .domain_memory_peek(&dom_in(&a.dom), a.offset, a.size, a.flags)
        .map(|b| RemoteDomainMemoryPeekRet { buffer: Bytes::from(b) })),
    on!(DomainSetMemoryStatsPeriod, try |m, a| m
        .domain_set_memory_stats_period(&dom_in(&a.dom), a.period, a.flags)),
    on!(DomainRename, try |m, a| {
        let name = a.new_name.as_ref().map(ToString::to_string);
        m.domain_rename(&dom_in(&a.dom), name.as_deref(), a.flags).map(|()| RemoteDomainRenameRet { retcode: 0 })
    }),
    on!(ConnectGetAllDomainStats, try |m, a| {
        let doms: Vec<_> = a.doms.iter().map(dom_in).collect();
        m.get_all_domain_stats(&doms, a.stats, a.flags).map(|v| RemoteConnectGetAllDomainStatsRet {
            ret_stats: v
                .into_iter()
                .map(|(d, p)| RemoteDomainStatsRecord { dom: dom_out(&d), params: params_out(p) })
                .collect(),
        })
    }),
];

/// `DOMAIN_INTERFACE_ADDRESSES`: asking the guest agent is a write on a read-only connection
/// (`virDomainInterfaceAddresses`).
fn domain_interface_addresses(c: &mut Call<'_>, args: Bytes) -> Outcome {
    let Ok(a) = xdr::from_bytes::<RemoteDomainInterfaceAddressesArgs>(args.clone()) else {
        return Outcome::Error(RemoteError::undecodable_payload());
    };
    if c.session.read_only() && a.source == ADDRESSES_SRC_AGENT {
        return Outcome::Error(forbidden(
            ErrorDomain::VIR_FROM_DOMAIN,
            "read only access prevents virDomainInterfaceAddresses",
        ));
    }
    let get = on!(DomainInterfaceAddresses, try |m, a| m
    .domain_interface_addresses(&dom_in(&a.dom), a.source, a.flags)
    .map(|v| RemoteDomainInterfaceAddressesRet {
        ifaces: v
            .into_iter()
            .map(|i| RemoteDomainInterface {
                name: s(&i.name),
                hwaddr: i.hwaddr.as_deref().map(s),
                addrs: i
                    .addrs
                    .into_iter()
                    .map(|(type_, addr, prefix)| RemoteDomainIpAddr { type_, addr: s(&addr), prefix })
                    .collect(),
            })
            .collect(),
    }));
    (get.run)(c, args)
}
