//! `conformance server URI [--reference URI] [--junit FILE] [--tier TIER]…
//! [--keepalive-interval SECS] [--keepalive-count N] [--corpus DIR]`
//!
//! Runs the conformance tiers (protocol, semantics, corpus) against the daemon at URI (a unix,
//! tcp or ssh libvirt URI whose daemon serves `test:///default`), and against the reference
//! daemon too when one is given, comparing the two. Prints `TIER: N passed, M failed` per tier
//! (the failures on standard error), writes JUnit XML when asked, and exits 1 when a check
//! failed, 2 on a usage error.

use std::process::ExitCode;
use std::time::Duration;

use spec_tests::conformance::{junit, run, Target, Tier};

const USAGE: &str =
    "usage: conformance server URI [--reference URI] [--junit FILE] [--tier protocol|semantics|corpus]... \
[--keepalive-interval SECS] [--keepalive-count N] [--corpus DIR]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1).collect()) {
        Ok((target, reference, junit_file, tiers)) => {
            let report = run(&tiers, &target, reference.as_ref());
            print!("{}", report.summary());
            eprint!("{}", report.failures());
            if let Some(path) = junit_file {
                if let Err(e) = std::fs::write(&path, junit::to_xml(&report, &target.uri)) {
                    eprintln!("conformance: cannot write {path}: {e}");
                    return ExitCode::from(2);
                }
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("conformance: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

type Parsed = (Target, Option<Target>, Option<String>, Vec<Tier>);

fn parse(args: Vec<String>) -> Result<Parsed, String> {
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("server") => {}
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command".into()),
    }
    let uri = it.next().ok_or("no URI")?;
    let mut target = Target::new(&uri);
    let (mut reference, mut junit_file, mut tiers) = (None, None, vec![]);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--reference" => reference = Some(value()?),
            "--junit" => junit_file = Some(value()?),
            "--tier" => {
                let v = value()?;
                tiers.push(Tier::from_name(&v).ok_or(format!("unknown tier {v:?}"))?);
            }
            "--keepalive-interval" => {
                let v = value()?;
                target.keepalive_interval = Duration::from_secs(v.parse().map_err(|_| format!("bad seconds {v:?}"))?);
            }
            "--keepalive-count" => {
                let v = value()?;
                target.keepalive_count = v.parse().map_err(|_| format!("bad count {v:?}"))?;
            }
            "--corpus" => target.corpus_dir = value()?.into(),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if tiers.is_empty() {
        tiers = Tier::ALL.to_vec();
    }
    let reference = reference.map(|r| Target { uri: r, ..target.clone() });
    Ok((target, reference, junit_file, tiers))
}
