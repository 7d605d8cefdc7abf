//! The report as JUnit XML (one `<testsuite>` per tier), the format CI systems read.

use std::fmt::Write as _;

use super::Report;

/// The JUnit XML document for `report`; `name` names the `<testsuites>` (e.g. the URI).
#[must_use]
pub fn to_xml(report: &Report, name: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = report.results.len();
    let failed = report.results.iter().filter(|r| r.failure.is_some()).count();
    let _ = writeln!(out, "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failed}\">", escape(name));
    for tier in report.tiers() {
        let (p, f) = report.counts(tier);
        let time: f64 = report.results.iter().filter(|r| r.tier == tier).map(|r| r.time.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" time=\"{time:.3}\">",
            tier.name(),
            p + f
        );
        for r in report.results.iter().filter(|r| r.tier == tier) {
            let _ = write!(
                out,
                "    <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3}\"",
                tier.name(),
                escape(r.name),
                r.time.as_secs_f64()
            );
            match &r.failure {
                None => out.push_str("/>\n"),
                Some(why) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(why),
                        escape(why)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// XML-escapes text for an attribute or element body (control characters become spaces).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{CaseResult, Report, Tier};
    use super::to_xml;

    #[test]
    fn failures_are_escaped_and_counted() {
        let report = Report {
            results: vec![
                CaseResult { tier: Tier::Protocol, name: "a", failure: None, time: Duration::ZERO },
                CaseResult {
                    tier: Tier::Protocol,
                    name: "b",
                    failure: Some("got <x> & \"y\"\u{1}".into()),
                    time: Duration::ZERO,
                },
            ],
        };
        let xml = to_xml(&report, "test+unix:///default?socket=/s");
        assert!(xml.contains("<testsuite name=\"protocol\" tests=\"2\" failures=\"1\""), "{xml}");
        assert!(xml.contains("<failure message=\"got &lt;x&gt; &amp; &quot;y&quot; \">"), "{xml}");
        assert!(xml.contains("<testcase classname=\"conformance.protocol\" name=\"a\" time=\"0.000\"/>"), "{xml}");
        assert_eq!(report.summary(), "protocol: 1 passed, 1 failed\n");
    }
}
