//! The state directory: persistent objects survive a restart and `kill -9`; transient ones do
//! not.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use daemon_min::hypervisor::{Chunk, DomainState, Hypervisor, SharedHypervisor, StateDir};

const D1: &str = "<domain type='test'><name>d1</name><uuid>11111111-2222-3333-4444-555555555501</uuid>\
                  <memory>1024</memory><os><type>hvm</type></os></domain>";
const D2: &str = "<domain type='test'><name>d2</name><uuid>11111111-2222-3333-4444-555555555502</uuid>\
                  <memory>1024</memory><os><type>hvm</type></os></domain>";
const TRANSIENT: &str = "<domain type='test'><name>tr</name><memory>1024</memory><os><type>hvm</type></os></domain>";

fn open(dir: &std::path::Path) -> SharedHypervisor {
    let state = StateDir::open(dir).unwrap();
    let h = Hypervisor::open_state_dir(&state, "vm").unwrap();
    SharedHypervisor::with_state_dir(h, state)
}

/// The changes both tests make.
fn populate(s: &SharedHypervisor) {
    let d1 = s.call(|h| h.domain_define_xml(D1, 0)).unwrap();
    s.call(|h| h.domain_set_autostart(&d1, true)).unwrap();
    let d2 = s.call(|h| h.domain_define_xml(D2, 0)).unwrap();
    let d2 = s.call(|h| h.domain_create(&d2, 0)).unwrap();
    s.call(|h| h.domain_suspend(&d2)).unwrap();
    s.call(|h| h.domain_create_xml(TRANSIENT, 0)).unwrap();
    let test = s.with(|h| h.domain_lookup_by_name("test")).unwrap();
    s.call(|h| h.domain_destroy(&test, 0)).unwrap();
    s.call(|h| h.domain_undefine(&test, 0)).unwrap();
    s.call(|h| h.network_define_xml("<network><name>n1</name><bridge name='br1'/></network>", 0)).unwrap();
    s.call(|h| h.network_create_xml("<network><name>ntr</name></network>", 0)).unwrap();
    let p = s.with(|h| h.storage_pool_lookup_by_name("default-pool")).unwrap();
    let v = s
        .call(|h| h.storage_vol_create_xml(&p, "<volume><name>disk.img</name><capacity>4096</capacity></volume>", 0))
        .unwrap();
    s.call(|h| {
        h.storage_vol_write(&v, 0, b"boot")?;
        h.storage_vol_write(&v, 4000, b"tail")?;
        h.storage_vol_commit(&v)
    })
    .unwrap();
    s.call(|h| {
        h.storage_pool_define_xml("<pool type='dir'><name>p2</name><target><path>/p2</path></target></pool>", 0)
    })
    .unwrap();
    s.call(|h| {
        h.storage_pool_create_xml("<pool type='dir'><name>ptr</name><target><path>/ptr</path></target></pool>", 0)
    })
    .unwrap();
}

/// What must hold after a restart that followed [`populate`].
fn verify(s: &SharedHypervisor) {
    s.with(|h| {
        // test was undefined; d1 (autostart) was started at load; d2 still paused with its id.
        assert!(h.domain_lookup_by_name("test").is_err());
        assert!(h.domain_lookup_by_name("tr").is_err(), "transient domain came back");
        let d1 = h.domain_lookup_by_name("d1").unwrap();
        assert!(h.domain_get_autostart(&d1).unwrap());
        assert_eq!(h.domain_get_state(&d1, 0).unwrap().0, DomainState::Running);
        let d2 = h.domain_lookup_by_name("d2").unwrap();
        assert_eq!(d2.id, 2);
        assert_eq!(h.domain_get_state(&d2, 0).unwrap(), (DomainState::Paused, 1));
        // Ids go on from the highest id of a domain that is still running.
        assert_eq!(d1.id, 3);
        assert_eq!(h.domain_get_xml_desc(&d2, 2).unwrap(), Hypervisor::new_default("vm").format_def(D2));
        // Networks: default still active, n1 defined, the transient one gone.
        let n1 = h.network_lookup_by_name("n1").unwrap();
        assert!(!h.network_is_active(&n1).unwrap());
        assert_eq!(h.network_get_bridge_name(&n1).unwrap(), "br1");
        assert!(h.network_is_active(&h.network_lookup_by_name("default").unwrap()).unwrap());
        assert!(h.network_lookup_by_name("ntr").is_err());
        // Pools and volume content.
        let p = h.storage_pool_lookup_by_name("default-pool").unwrap();
        assert_eq!(h.storage_pool_get_info(&p).unwrap().allocation, 4096);
        let v = h.storage_vol_lookup_by_name(&p, "disk.img").unwrap();
        assert_eq!(
            h.storage_vol_read(&v, 0, 0).unwrap(),
            [Chunk::Data(b"boot".to_vec()), Chunk::Hole(3996), Chunk::Data(b"tail".to_vec()), Chunk::Hole(92)]
        );
        assert!(h.storage_pool_lookup_by_name("p2").is_ok());
        assert!(h.storage_pool_lookup_by_name("ptr").is_err());
    });
}

trait FormatDef {
    fn format_def(self, xml: &str) -> String;
}

impl FormatDef for Hypervisor {
    fn format_def(mut self, xml: &str) -> String {
        let d = self.domain_define_xml(xml, 0).unwrap();
        self.domain_get_xml_desc(&d, 0).unwrap()
    }
}

#[test]
fn first_start_seeds_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(s.with(|h| h.domain_lookup_by_name("test")).unwrap().id, 1);
    drop(s);
    assert!(dir.path().join("initialized").exists());
    let s = open(dir.path());
    s.with(|h| {
        let d = h.domain_lookup_by_name("test").unwrap();
        assert_eq!(d.id, 1);
        assert_eq!(
            h.domain_get_xml_desc(&d, 0).unwrap(),
            Hypervisor::new_default("vm").domain_get_xml_desc(&d, 0).unwrap()
        );
        assert!(h.network_lookup_by_name("default").is_ok());
        assert!(h.storage_pool_lookup_by_name("default-pool").is_ok());
    });
}

#[test]
fn restart_keeps_persistent_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    populate(&s);
    drop(s);
    // A temporary file left by a write that was interrupted is ignored and removed.
    std::fs::write(dir.path().join("domains/half-written.xml.tmp"), b"<dom").unwrap();
    let s = open(dir.path());
    verify(&s);
    assert!(!dir.path().join("domains/half-written.xml.tmp").exists());
    // A second restart gives the same picture (loading wrote nothing inconsistent).
    drop(s);
    verify(&open(dir.path()));
}

/// Runs [`populate`] in a child process (this test binary, re-run with `CHILD_STATE_DIR`), kills
/// it with SIGKILL once it reports being done, and checks what a new process finds.
#[test]
fn survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process", "--nocapture", "--test-threads=1"])
        .env("CHILD_STATE_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut ready = false;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().contains("POPULATED") {
            ready = true;
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(ready, "child never finished populating");
    assert!(!status.success(), "the child must have been killed, not have exited");
    verify(&open(dir.path()));
}

/// Not a test by itself: the child half of [`survives_kill_9`].
#[test]
fn child_process() {
    let Some(dir) = std::env::var_os("CHILD_STATE_DIR") else { return };
    let s = open(std::path::Path::new(&dir));
    populate(&s);
    println!("POPULATED");
    // Wait to be killed; never exit normally.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
