//! libvirt connection URIs (placeholder; see issue 2 item 7).
