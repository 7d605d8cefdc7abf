//! `arbitrary.rs`: proptest strategies for every generated type and the generated round-trip
//! and bound tests.

use std::fmt::Write as _;

use super::model::Model;
use super::module::header;
use super::names::snake;
use super::resolve::Shape;

pub(super) struct ArbType {
    pub(super) xname: String,
    pub(super) rust: String,
    pub(super) module: &'static str,
    /// strategy function body
    pub(super) strategy: String,
    /// bound probes: (description, code producing `out`, max expr, max value)
    pub(super) probes: Vec<Probe>,
    pub(super) needs_sample: bool,
}

pub(super) struct Probe {
    pub(super) what: String,
    /// statements writing the prefix into `out` (may use `v` and `?`)
    pub(super) prefix: String,
    pub(super) max_expr: String,
}

/// For a shape: every declared bound inside it, as (what, prefix statements, max expression).
pub(super) fn probes_of(shape: &Shape) -> Vec<((String, String), String)> {
    let mut out = Vec::new();
    match shape {
        Shape::Str(b) | Shape::Opaque(b) if b.value < u64::from(u32::MAX) => {
            out.push(((String::new(), String::new()), b.expr.clone()));
        }
        Shape::Array(el, b) => {
            if b.value < u64::from(u32::MAX) {
                out.push(((String::new(), String::new()), b.expr.clone()));
            }
            if b.value >= 1 {
                for ((w, p), m) in probes_of(el) {
                    out.push(((format!(" (element{w})"), format!("put_u32(out, 1);\n{p}")), m));
                }
            }
        }
        Shape::Fixed(el, n) if *n >= 1 => {
            for ((w, p), m) in probes_of(el) {
                out.push(((format!(" (first element{w})"), p), m));
            }
        }
        Shape::Opt(inner, _) => {
            for ((w, p), m) in probes_of(inner) {
                out.push(((format!(" (present{w})"), format!("put_u32(out, 1);\n{p}")), m));
            }
        }
        _ => {}
    }
    out
}

/// Nests strategies into tuples of at most 10 and returns (strategy tuple, pattern).
pub(super) fn nest(items: &[String], vars: &[String]) -> (String, String) {
    if items.len() <= 10 {
        return (format!("({},)", items.join(", ")), format!("({},)", vars.join(", ")));
    }
    let mut ts = Vec::new();
    let mut ps = Vec::new();
    for (chunk, vchunk) in items.chunks(10).zip(vars.chunks(10)) {
        let (t, p) = nest(chunk, vchunk);
        ts.push(t);
        ps.push(p);
    }
    nest(&ts, &ps)
}

/// A proptest strategy expression for a shape (small sizes).
pub(super) fn strat(shape: &Shape) -> String {
    match shape {
        Shape::Prim("f64") => "any::<i32>().prop_map(f64::from)".into(),
        Shape::Prim(p) => format!("any::<{p}>()"),
        Shape::Named { xname, module, .. } => format!("crate::programs::arbitrary::{module}::{}()", snake(xname)),
        Shape::Str(b) => format!("arb_string({})", b.value.min(8)),
        Shape::Opaque(b) => format!("arb_bytes({})", b.value.min(8)),
        Shape::OpaqueFixed(n) => format!("arb_fixed_bytes::<{n}>()"),
        Shape::Array(el, b) => format!("proptest::collection::vec({}, 0..={})", strat(el), b.value.min(3)),
        Shape::Fixed(el, n) => format!("arb_array::<_, {n}>({})", strat(el)),
        Shape::Opt(inner, boxed) => {
            if *boxed {
                format!("proptest::option::of({}).prop_map(|o| o.map(Box::new))", strat(inner))
            } else {
                format!("proptest::option::of({})", strat(inner))
            }
        }
    }
}

pub(super) fn gen_arbitrary(model: &Model, arbs: &[ArbType]) -> String {
    let mut out = String::new();
    header(&mut out, "the six `.x` files");
    out.push_str(
        "//! Proptest strategies for every generated type, with small sizes (strings and opaque data of at\n//! most 8 bytes, arrays of at most 3 elements), plus the generated round-trip and bound tests.\n",
    );
    out.push_str("#![allow(clippy::all, clippy::pedantic, unused_imports, unused_variables, unused_mut)]\n\n");
    out.push_str(
        "use bytes::Bytes;
use proptest::prelude::*;

use crate::xdr::XdrString;

/// Strings of at most `max` bytes.
pub fn arb_string(max: u64) -> impl Strategy<Value = XdrString> + Clone {
    proptest::collection::vec(any::<u8>(), 0..=max as usize).prop_map(|v| XdrString(Bytes::from(v)))
}

/// Opaque data of at most `max` bytes.
pub fn arb_bytes(max: u64) -> impl Strategy<Value = Bytes> + Clone {
    proptest::collection::vec(any::<u8>(), 0..=max as usize).prop_map(Bytes::from)
}

/// Fixed opaque data.
pub fn arb_fixed_bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> + Clone {
    proptest::collection::vec(any::<u8>(), N).prop_map(|v| <[u8; N]>::try_from(v).unwrap_or([0; N]))
}

/// Fixed arrays.
pub fn arb_array<T: std::fmt::Debug + Clone, const N: usize>(
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = [T; N]> + Clone {
    proptest::collection::vec(s, N).prop_map(|v| match <[T; N]>::try_from(v) {
        Ok(a) => a,
        Err(_) => unreachable!(),
    })
}

",
    );
    for m in &model.modules {
        let module = m.cfg.module;
        let _ = writeln!(out, "/// Strategies for the types of [`crate::programs::{module}`].\npub mod {module} {{");
        out.push_str("use super::*;\n");
        let _ = writeln!(out, "use crate::programs::{module}::*;\n");
        for a in arbs.iter().filter(|a| a.module == module) {
            let _ = writeln!(
                out,
                "/// Values of [`{}`] (`{}`).\npub fn {}() -> BoxedStrategy<{}> {{\n{}\n}}\n",
                a.rust,
                a.xname,
                snake(&a.xname),
                a.rust,
                a.strategy
            );
        }
        out.push_str("}\n\n");
    }
    out.push_str(
        "/// Encodes one value, drawn from the type's strategy, of the type libvirt calls `xname` (e.g.
/// `remote_domain_get_state_args`); `None` for a name no `.x` file defines. For tests that only
/// know type names, such as the procedure tables' `args` and `ret`.
pub fn encode_sample(
    xname: &str,
    runner: &mut proptest::test_runner::TestRunner,
) -> Option<Result<Bytes, crate::xdr::EncodeError>> {
    fn one<T: crate::xdr::XdrEncode + std::fmt::Debug>(
        s: BoxedStrategy<T>,
        runner: &mut proptest::test_runner::TestRunner,
    ) -> Result<Bytes, crate::xdr::EncodeError> {
        let v = proptest::strategy::ValueTree::current(&s.new_tree(runner).expect(\"strategy\"));
        crate::xdr::to_bytes(&v)
    }
    Some(match xname {
",
    );
    for a in arbs {
        let _ = writeln!(out, "\"{}\" => one({}::{}(), runner),", a.xname, a.module, snake(&a.xname));
    }
    out.push_str("_ => return None,\n})\n}\n\n");
    out.push_str(
        "#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};

    use crate::xdr::{from_bytes_exact, to_bytes, DecodeErrorKind, XdrDecode, XdrEncode, XdrReader};

    /// Encodes, decodes and re-encodes 16 values of each type.
    pub(super) fn rt<T>(name: &str, s: BoxedStrategy<T>)
    where
        T: XdrEncode + XdrDecode + PartialEq + std::fmt::Debug,
    {
        let mut runner = TestRunner::new(Config { cases: 16, failure_persistence: None, ..Config::default() });
        for _ in 0..16 {
            let v = s.new_tree(&mut runner).expect(\"strategy\").current();
            let b = to_bytes(&v).unwrap_or_else(|e| panic!(\"{name}: encode {v:?}: {e}\"));
            assert_eq!(b.len() % 4, 0, \"{name}: XDR output is 4-aligned\");
            let back: T = from_bytes_exact(b.clone()).unwrap_or_else(|e| panic!(\"{name}: decode {v:?}: {e}\"));
            assert_eq!(back, v, \"{name}\");
            assert_eq!(to_bytes(&back).unwrap(), b, \"{name}: re-encoding\");
        }
    }

    /// One value of a strategy.
    pub(super) fn sample<T: std::fmt::Debug>(s: BoxedStrategy<T>) -> T {
        s.new_tree(&mut TestRunner::deterministic()).expect(\"strategy\").current()
    }

    /// `buf` ends with a count one over `max`: decoding must fail with `LengthOverMax` there.
    pub(super) fn over_max<T: XdrDecode + std::fmt::Debug>(what: &str, buf: BytesMut, max: u32) {
        let at = buf.len() - 4;
        let e = T::decode(&mut XdrReader::new(buf.freeze())).expect_err(what);
        assert_eq!(e.kind, DecodeErrorKind::LengthOverMax { len: max + 1, max }, \"{what}\");
        assert_eq!(e.offset, at, \"{what}: error offset\");
    }
",
    );
    for m in &model.modules {
        let module = m.cfg.module;
        let mine: Vec<&ArbType> = arbs.iter().filter(|a| a.module == module).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "mod {module} {{\nuse super::*;\nuse crate::programs::arbitrary::{module} as arb;\nuse crate::programs::{module}::*;\nuse crate::programs::put_count;\nuse crate::xdr::{{put_opaque, put_opaque_fixed, put_string, put_u32, put_i32, EncodeError}};\n");
        let _ = writeln!(out, "#[test]\nfn roundtrip_every_type() {{");
        for a in &mine {
            let _ = writeln!(out, "rt(\"{}\", arb::{}());", a.xname, snake(&a.xname));
        }
        let _ = writeln!(out, "}}\n");
        for a in mine.iter().filter(|a| !a.probes.is_empty()) {
            let _ = writeln!(out, "#[test]\nfn bounds_{}() {{", snake(&a.xname));
            if a.needs_sample {
                let _ = writeln!(out, "let v = sample(arb::{}());", snake(&a.xname));
            }
            for p in &a.probes {
                let _ = writeln!(
                    out,
                    "{{\nlet mut buf = BytesMut::new();\nlet out = &mut buf;\n(|| -> Result<(), EncodeError> {{\n{}\nOk(())\n}})().unwrap();\nput_u32(out, {} + 1);\nover_max::<{}>(\"{} {}\", buf, {});\n}}",
                    p.prefix,
                    p.max_expr,
                    a.rust,
                    a.xname,
                    p.what.replace('`', ""),
                    p.max_expr
                );
            }
            let _ = writeln!(out, "}}\n");
        }
        out.push_str("}\n\n");
    }
    out.push_str("}\n");
    out
}
