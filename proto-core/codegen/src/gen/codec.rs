//! The Rust code that encodes and decodes a value of a given shape.

use super::resolve::Shape;

fn prim_reader(p: &str) -> &'static str {
    match p {
        "i32" => "i32",
        "u32" => "u32",
        "i64" => "i64",
        "u64" => "u64",
        "f64" => "f64",
        "i8" => "char",
        "u8" => "uchar",
        "i16" => "short",
        "u16" => "ushort",
        "bool" => "bool",
        _ => unreachable!("{p}"),
    }
}

/// `e` (an expression of type `&T`) as a method-call receiver.
fn recv(e: &str) -> String {
    match e.strip_prefix('&') {
        Some(rest) if rest.starts_with('*') => format!("({rest})"),
        Some(rest) => rest.to_owned(),
        None => e.to_owned(),
    }
}

/// Statements that encode `e` (an expression of type `&T`) into `out`.
pub(super) fn enc(shape: &Shape, e: &str, depth: usize) -> String {
    let re = recv(e);
    match shape {
        Shape::Prim(_) | Shape::Named { .. } => format!("XdrEncode::encode({e}, out)?;"),
        Shape::Str(b) => format!("put_string(out, {re}.as_bytes(), {})?;", b.expr),
        Shape::Opaque(b) => format!("put_opaque(out, {e}, {})?;", b.expr),
        Shape::OpaqueFixed(_) => format!("put_opaque_fixed(out, {e});"),
        Shape::Array(el, b) => {
            let x = format!("x{depth}");
            format!("put_count(out, {re}.len(), {})?; for {x} in {re}.iter() {{ {} }}", b.expr, enc(el, &x, depth + 1))
        }
        Shape::Fixed(el, _) => {
            let x = format!("x{depth}");
            format!("for {x} in {re}.iter() {{ {} }}", enc(el, &x, depth + 1))
        }
        Shape::Opt(inner, boxed) => {
            let x = format!("x{depth}");
            let inner_e = if *boxed { format!("&**{x}") } else { x.clone() };
            format!(
                "match {e} {{ None => put_u32(out, 0), Some({x}) => {{ put_u32(out, 1); {} }} }}",
                enc(inner, &inner_e, depth + 1)
            )
        }
    }
}

/// An expression of type `Result<T, DecodeError>` reading from `r`.
pub(super) fn dec(shape: &Shape) -> String {
    match shape {
        Shape::Prim(p) => format!("r.{}()", prim_reader(p)),
        Shape::Named { path, .. } => format!("{path}::decode(r)"),
        Shape::Str(b) => format!("r.string({})", b.expr),
        Shape::Opaque(b) => format!("r.opaque({})", b.expr),
        Shape::OpaqueFixed(_) => "r.opaque_fixed()".into(),
        Shape::Array(el, b) => format!("r.array_with({}, {})", b.expr, dec_fn(el)),
        Shape::Fixed(el, _) => format!("r.array_fixed_with({})", dec_fn(el)),
        Shape::Opt(inner, boxed) => {
            if *boxed {
                format!("r.optional_with(|r| {}.map(Box::new))", dec(inner))
            } else {
                format!("r.optional_with({})", dec_fn(inner))
            }
        }
    }
}

/// A callable `FnMut(&mut XdrReader) -> Result<T, DecodeError>`.
fn dec_fn(shape: &Shape) -> String {
    match shape {
        Shape::Prim(p) => format!("XdrReader::{}", prim_reader(p)),
        Shape::Named { path, .. } => format!("{path}::decode"),
        Shape::OpaqueFixed(_) => "XdrReader::opaque_fixed".into(),
        other => format!("|r| {}", dec(other)),
    }
}
