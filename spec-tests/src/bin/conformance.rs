//! `conformance server URI [--reference URI] [--junit FILE] [--tier TIER]…
//! [--keepalive-interval SECS] [--keepalive-count N] [--corpus DIR]`
//! `conformance model URI [--seed N] [--cases N] [--steps N]`
//!
//! Runs the conformance tiers (protocol, semantics, corpus) against the daemon at URI (a unix,
//! tcp or ssh libvirt URI whose daemon serves `test:///default`), and against the reference
//! daemon too when one is given, comparing the two. Prints `TIER: N passed, M failed` per tier
//! (the failures on standard error), writes JUnit XML when asked, and exits 1 when a check
//! failed, 2 on a usage error.
//!
//! `model` runs the two proptest models against the daemon (`spec_tests::conformance::model`,
//! the domain life cycle, and `wire_model`, the client core with the daemon as its server):
//! `--cases` random sequences of at most `--steps` transitions each, from `--seed` (defaults 64,
//! 16, 0), printing `model: N cases passed` / `wire model: …` or the shrunk failing sequence.

use std::process::ExitCode;
use std::time::Duration;

use spec_tests::conformance::{junit, model, run, wire_model, Target, Tier};

const USAGE: &str = "usage: conformance server URI [--reference URI] [--junit FILE] \
[--tier protocol|semantics|corpus]... [--keepalive-interval SECS] [--keepalive-count N] [--corpus DIR]
       conformance model URI [--seed N] [--cases N] [--steps N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("model") {
        return run_model(&args[1..]);
    }
    match parse(args) {
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

fn run_model(args: &[String]) -> ExitCode {
    let (uri, seed, cases, steps) = match parse_model(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("conformance: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let target = Target::new(&uri);
    let mut failed = false;
    for (name, result) in [
        ("model", model::run(&target, seed, cases, steps)),
        ("wire model", wire_model::run(&target, seed, cases, steps)),
    ] {
        match result {
            Ok(model::Outcome::Passed { cases }) => println!("{name}: {cases} cases passed (seed {seed})"),
            Ok(model::Outcome::Failed { sequence, why }) => {
                println!("{name}: failed (seed {seed}): {why}\nminimal sequence: {sequence}");
                failed = true;
            }
            Err(e) => {
                eprintln!("conformance: {name}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
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

fn parse_model(args: &[String]) -> Result<(String, u64, u32, usize), String> {
    let mut it = args.iter();
    let uri = it.next().ok_or("no URI")?.clone();
    let (mut seed, mut cases, mut steps) = (0u64, 64u32, 16usize);
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let bad = || format!("bad value {v:?} for {a}");
        match a.as_str() {
            "--seed" => seed = v.parse().map_err(|_| bad())?,
            "--cases" => cases = v.parse().map_err(|_| bad())?,
            "--steps" => steps = v.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok((uri, seed, cases, steps))
}
