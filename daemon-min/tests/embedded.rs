//! The in-process `test:///` driver: no daemon, the same hypervisor and dispatch.

use adapter_blocking::ConnectOptions;
use daemon_min::embedded;
use proto_core::programs::remote::*;

#[test]
fn test_default_in_process() {
    assert!(embedded::is_local_test_uri("test:///default"));
    assert!(!embedded::is_local_test_uri("test+tcp://h/default"));
    assert!(!embedded::is_local_test_uri("qemu:///system"));
    let c = embedded::open("test:///default", false, &ConnectOptions::default()).unwrap();
    let r = c.call::<ConnectListAllDomains>(&RemoteConnectListAllDomainsArgs { need_results: 1, flags: 3 }).unwrap();
    let names: Vec<String> = r.domains.iter().map(|d| d.name.to_string()).collect();
    assert_eq!(names, vec!["test".to_owned()]);
    assert_eq!(c.call::<ConnectGetType>(&()).unwrap().type_, "TEST");
    let xml = "<domain type='test'><name>e1</name><memory>1024</memory><os><type>hvm</type></os></domain>";
    let d = c.call::<DomainDefineXml>(&RemoteDomainDefineXmlArgs { xml: xml.into() }).unwrap().dom;
    c.call::<DomainCreate>(&RemoteDomainCreateArgs { dom: d }).unwrap();
    c.close().unwrap();
}

#[test]
fn read_only_and_missing_file() {
    let c = embedded::open("test:///default", true, &ConnectOptions::default()).unwrap();
    let dom = c.call::<DomainLookupByName>(&RemoteDomainLookupByNameArgs { name: "test".into() }).unwrap().dom;
    let e = c.call::<DomainSuspend>(&RemoteDomainSuspendArgs { dom }).unwrap_err();
    assert_eq!(e.remote().unwrap().to_string(), "operation forbidden: read only access prevents virDomainSuspend");
    let e = embedded::open("test:///nonexistent.xml", false, &ConnectOptions::default()).unwrap_err();
    assert_eq!(e.remote().unwrap().to_string(), "XML error: failed to parse xml document '/nonexistent.xml'");
}
