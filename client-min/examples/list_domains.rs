//! A blocking script: every domain behind a URI, with its state.
//!
//! ```text
//! cargo run -p client-min --example list_domains -- test+tcp://127.0.0.1/default
//! ```
//!
//! The same calls as `virsh list --all`: `CONNECT_LIST_ALL_DOMAINS` with ACTIVE|INACTIVE,
//! then `DOMAIN_GET_STATE` for each domain.

use adapter_blocking::{Client, ConnectOptions};
use proto_core::programs::remote::{
    ConnectListAllDomains, DomainGetState, RemoteConnectListAllDomainsArgs, RemoteDomainGetStateArgs,
};

const STATES: [&str; 8] =
    ["no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(uri) = std::env::args().nth(1) else {
        eprintln!("usage: list_domains URI");
        std::process::exit(2);
    };
    let client = Client::connect(&uri, &ConnectOptions::default())?;
    let all =
        client.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 1 | 2 })?;
    for dom in all.domains {
        let state = client.call::<DomainGetState>(&RemoteDomainGetStateArgs { dom: dom.clone(), flags: 0 })?.state;
        let id = if dom.id == -1 { "-".to_owned() } else { dom.id.to_string() };
        let state = usize::try_from(state).ok().and_then(|s| STATES.get(s)).copied().unwrap_or("unknown");
        println!("{id:>4}  {:<20} {state}", dom.name.to_string_lossy());
    }
    client.close()?;
    Ok(())
}
