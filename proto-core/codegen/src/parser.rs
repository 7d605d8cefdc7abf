//! A nom 8 parser for rpcgen's `.x` language (RFC 4506 §6 plus rpcgen's `%` pass-through lines),
//! keeping the `@key: value` annotations that libvirt writes in the comment in front of each
//! procedure.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{char as ch, digit1, hex_digit1, multispace1, not_line_ending};
use nom::combinator::{cut, eof, map, map_res, not, opt, peek, recognize};
use nom::error::{ContextError, ErrorKind, ParseError};
use nom::multi::{many0, many1};
use nom::sequence::{delimited, preceded, terminated};
use nom::{IResult, Parser};

use crate::ast::{
    Decl, DeclType, Def, EnumDef, EnumMember, NamedDecl, Spec, StructDef, TypeSpec, UnionArm, UnionDef, Value,
};

/// Where parsing stopped and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PError<'a> {
    at: &'a str,
    expected: String,
}

impl<'a> ParseError<&'a str> for PError<'a> {
    fn from_error_kind(input: &'a str, kind: ErrorKind) -> Self {
        Self { at: input, expected: format!("{kind:?}") }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Keep the alternative that got further.
        if other.at.len() <= self.at.len() {
            other
        } else {
            self
        }
    }
}

impl<'a, E: std::fmt::Display> nom::error::FromExternalError<&'a str, E> for PError<'a> {
    fn from_external_error(input: &'a str, _kind: ErrorKind, e: E) -> Self {
        Self { at: input, expected: format!("expected a valid number ({e})") }
    }
}

impl<'a> ContextError<&'a str> for PError<'a> {
    fn add_context(_input: &'a str, ctx: &'static str, mut other: Self) -> Self {
        if !other.expected.starts_with("expected") {
            other.expected = format!("expected {ctx}");
        }
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PError<'a>>;

/// A parse failure with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The file name given to [`parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What was expected.
    pub message: String,
    /// The text where parsing stopped.
    pub found: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}, found `{}`", self.file, self.line, self.column, self.message, self.found)
    }
}

impl std::error::Error for SyntaxError {}

/// 1-based line and column of `rest` (a suffix of `src`).
#[must_use]
pub fn position(src: &str, rest: &str) -> (usize, usize) {
    let off = src.len() - rest.len();
    let before = &src[..off];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses a whole `.x` file. `file` only names it in errors.
///
/// # Errors
/// A [`SyntaxError`] naming file, line and column.
pub fn parse(file: &str, src: &str) -> Result<Spec, SyntaxError> {
    let mut p = Parse { src };
    let res = (|i| p.spec(i)).parse_complete(src);
    match res {
        Ok((_, defs)) => Ok(Spec { defs }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let (line, column) = position(src, e.at);
            let found: String = e.at.chars().take(40).take_while(|c| *c != '\n').collect();
            let message =
                if e.expected.starts_with("expected") { e.expected } else { format!("syntax error ({})", e.expected) };
            Err(SyntaxError { file: file.to_owned(), line, column, message, found })
        }
        Err(nom::Err::Incomplete(_)) => Err(SyntaxError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: "incomplete input".into(),
            found: String::new(),
        }),
    }
}

fn expected<'a, O>(
    what: &'static str,
    mut p: impl Parser<&'a str, Output = O, Error = PError<'a>>,
) -> impl FnMut(&'a str) -> PResult<'a, O> {
    move |i: &'a str| match p.parse(i) {
        Ok(r) => Ok(r),
        Err(nom::Err::Error(e)) => Err(nom::Err::Error(PError::add_context(i, what, e))),
        Err(nom::Err::Failure(e)) => Err(nom::Err::Failure(PError::add_context(i, what, e))),
        Err(e) => Err(e),
    }
}

/// One comment, without its delimiters.
fn comment(i: &str) -> PResult<'_, &str> {
    delimited(tag("/*"), take_until("*/"), tag("*/")).parse(i)
}

/// Whitespace and comments; returns the comments.
fn ws(i: &str) -> PResult<'_, Vec<&str>> {
    let (i, items) =
        many0(alt((map(multispace1, |_| None), map(comment, Some), map((tag("//"), not_line_ending), |_| None))))
            .parse(i)?;
    Ok((i, items.into_iter().flatten().collect()))
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn raw_ident(i: &str) -> PResult<'_, &str> {
    recognize((take_while1(is_ident_start), take_while(is_ident_char))).parse(i)
}

const KEYWORDS: &[&str] = &[
    "bool",
    "case",
    "const",
    "default",
    "double",
    "quadruple",
    "enum",
    "float",
    "hyper",
    "int",
    "opaque",
    "string",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "char",
    "short",
    "long",
    "program",
    "version",
];

/// An identifier that is not a keyword, then whitespace.
fn ident(i: &str) -> PResult<'_, String> {
    let (rest, id) = expected("an identifier", raw_ident)(i)?;
    if KEYWORDS.contains(&id) {
        return Err(nom::Err::Error(PError { at: i, expected: "expected an identifier, not a keyword".into() }));
    }
    let (rest, _) = ws(rest)?;
    Ok((rest, id.to_owned()))
}

/// A keyword (not followed by an identifier character), then whitespace.
fn kw<'a>(word: &'static str) -> impl FnMut(&'a str) -> PResult<'a, &'a str> {
    move |i: &'a str| {
        let (rest, k) = terminated(tag(word), not(peek(take_while1(is_ident_char)))).parse(i)?;
        let (rest, _) = ws(rest)?;
        Ok((rest, k))
    }
}

/// A punctuation character, then whitespace.
fn sym<'a>(c: char) -> impl FnMut(&'a str) -> PResult<'a, char> {
    move |i: &'a str| {
        let (rest, c) = ch(c).parse(i)?;
        let (rest, _) = ws(rest)?;
        Ok((rest, c))
    }
}

fn number(i: &str) -> PResult<'_, i64> {
    let (i, neg) = opt(ch('-')).parse(i)?;
    let (i, v) = alt((
        map_res(preceded(alt((tag("0x"), tag("0X"))), hex_digit1), |h: &str| i64::from_str_radix(h, 16)),
        map_res(recognize((ch('0'), take_while1(|c: char| c.is_digit(8)))), |o: &str| i64::from_str_radix(&o[1..], 8)),
        map_res(digit1, str::parse::<i64>),
    ))
    .parse(i)?;
    let (i, _) = not(peek(take_while1(is_ident_char))).parse(i)?;
    let (i, _) = ws(i)?;
    Ok((i, if neg.is_some() { -v } else { v }))
}

fn value(i: &str) -> PResult<'_, Value> {
    expected("a number or a constant name", alt((map(number, Value::Num), map(ident, Value::Ident)))).parse(i)
}

fn type_spec(i: &str) -> PResult<'_, TypeSpec> {
    expected(
        "a type",
        alt((
            map(
                preceded(
                    kw("unsigned"),
                    opt(alt((
                        map(kw("int"), |_| TypeSpec::UInt),
                        map(kw("long"), |_| TypeSpec::UInt),
                        map(kw("hyper"), |_| TypeSpec::UHyper),
                        map(kw("char"), |_| TypeSpec::UChar),
                        map(kw("short"), |_| TypeSpec::UShort),
                    ))),
                ),
                |t| t.unwrap_or(TypeSpec::UInt),
            ),
            map(kw("int"), |_| TypeSpec::Int),
            map(kw("long"), |_| TypeSpec::Int),
            map(kw("hyper"), |_| TypeSpec::Hyper),
            map(kw("char"), |_| TypeSpec::Char),
            map(kw("short"), |_| TypeSpec::Short),
            map(kw("float"), |_| TypeSpec::Float),
            map(kw("double"), |_| TypeSpec::Double),
            map(kw("bool"), |_| TypeSpec::Bool),
            map(preceded(alt((kw("struct"), kw("enum"), kw("union"))), ident), TypeSpec::Named),
            map(ident, TypeSpec::Named),
        )),
    )
    .parse(i)
}

fn bound(i: &str) -> PResult<'_, Option<Value>> {
    delimited(sym('<'), opt(value), cut(expected("`>`", sym('>')))).parse(i)
}

fn fixed(i: &str) -> PResult<'_, Value> {
    delimited(sym('['), cut(value), cut(expected("`]`", sym(']')))).parse(i)
}

fn named_decl(i: &str) -> PResult<'_, NamedDecl> {
    alt((
        map(
            preceded(kw("opaque"), cut((ident, expected("`[` or `<`", alt((map(fixed, Ok), map(bound, Err))))))),
            |(name, b)| NamedDecl {
                name,
                ty: match b {
                    Ok(n) => DeclType::FixedOpaque(n),
                    Err(m) => DeclType::VarOpaque(m),
                },
            },
        ),
        map(preceded(kw("string"), cut((ident, expected("`<`", bound)))), |(name, m)| NamedDecl {
            name,
            ty: DeclType::String(m),
        }),
        map((type_spec, sym('*'), cut(ident)), |(t, _, name)| NamedDecl { name, ty: DeclType::Optional(t) }),
        map((type_spec, ident, opt(alt((map(fixed, Ok), map(bound, Err))))), |(t, name, a)| NamedDecl {
            name,
            ty: match a {
                None => DeclType::Plain(t),
                Some(Ok(n)) => DeclType::FixedArray(t, n),
                Some(Err(m)) => DeclType::VarArray(t, m),
            },
        }),
    ))
    .parse(i)
}

fn decl(i: &str) -> PResult<'_, Decl> {
    expected("a declaration", alt((map(kw("void"), |_| Decl::Void), map(named_decl, Decl::Named)))).parse(i)
}

fn semi(i: &str) -> PResult<'_, char> {
    expected("`;`", sym(';')).parse(i)
}

/// `@key: value` lines of a comment.
fn annotations(comments: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in comments {
        for line in c.lines() {
            let line = line.trim_start().trim_start_matches('*').trim();
            let Some(rest) = line.strip_prefix('@') else { continue };
            let Some((k, v)) = rest.split_once(':') else { continue };
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.push((k.to_owned(), v.trim().to_owned()));
            }
        }
    }
    out
}

struct Parse<'s> {
    src: &'s str,
}

impl<'s> Parse<'s> {
    fn line(&self, rest: &str) -> usize {
        position(self.src, rest).0
    }

    fn spec(&mut self, i: &'s str) -> PResult<'s, Vec<Def>> {
        let (mut i, _) = ws(i)?;
        let mut defs = Vec::new();
        loop {
            if let Ok((rest, _)) = eof::<_, PError<'_>>(i) {
                return Ok((rest, defs));
            }
            let (rest, d) = self.definition(i)?;
            defs.push(d);
            i = rest;
        }
    }

    fn definition(&mut self, i: &'s str) -> PResult<'s, Def> {
        if let Ok((rest, line)) = preceded(ch::<_, PError<'_>>('%'), not_line_ending).parse(i) {
            let (rest, _) = ws(rest)?;
            return Ok((rest, Def::Passthrough(line.to_owned())));
        }
        if let Ok((rest, _)) = kw("const")(i) {
            let line = self.line(i);
            let (rest, (name, _, v, _)) = cut((ident, expected("`=`", sym('=')), value, semi)).parse(rest)?;
            return Ok((rest, Def::Const { name, value: v, line }));
        }
        if let Ok((rest, _)) = kw("typedef")(i) {
            let (rest, (d, _)) = cut((decl, semi)).parse(rest)?;
            return Ok((rest, Def::Typedef(d)));
        }
        if let Ok((rest, _)) = kw("enum")(i) {
            return self.enum_def(rest);
        }
        if let Ok((rest, _)) = kw("struct")(i) {
            let (mut rest, (name, _)) = cut((ident, expected("`{`", sym('{')))).parse(rest)?;
            let mut fields = Vec::new();
            loop {
                if let Ok((r, _)) = sym('}')(rest) {
                    let (r, _) = cut(semi).parse(r)?;
                    return Ok((r, Def::Struct(StructDef { name, fields })));
                }
                let (r, (f, _)) = cut((expected("a field or `}`", named_decl), semi)).parse(rest)?;
                fields.push(f);
                rest = r;
            }
        }
        if let Ok((rest, _)) = kw("union")(i) {
            return self.union_def(rest);
        }
        Err(nom::Err::Failure(PError {
            at: i,
            expected: "expected a definition (const, typedef, enum, struct, union or a `%` line)".into(),
        }))
    }

    fn enum_def(&mut self, i: &'s str) -> PResult<'s, Def> {
        let (i, (name, _)) = cut((ident, expected("`{`", ch('{')))).parse(i)?;
        let mut members = Vec::new();
        let (mut i, mut comments) = ws(i)?;
        loop {
            let line = self.line(i);
            let (rest, (mname, _, v)) = cut((ident, expected("`=`", sym('=')), value)).parse(i)?;
            members.push(EnumMember { name: mname, value: v, annotations: annotations(&comments), line });
            if let Ok((rest, _)) = ch::<_, PError<'_>>(',').parse(rest) {
                let (rest, c) = ws(rest)?;
                comments = c;
                i = rest;
                continue;
            }
            let (rest, _) = cut((expected("`,` or `}`", sym('}')), semi)).parse(rest)?;
            return Ok((rest, Def::Enum(EnumDef { name, members })));
        }
    }

    fn union_def(&mut self, i: &'s str) -> PResult<'s, Def> {
        let (mut i, (name, _, _, discriminant, _, _)) = cut((
            ident,
            expected("`switch`", kw("switch")),
            expected("`(`", sym('(')),
            expected("a discriminant declaration", named_decl),
            expected("`)`", sym(')')),
            expected("`{`", sym('{')),
        ))
        .parse(i)?;
        let mut arms = Vec::new();
        let mut default = None;
        loop {
            if let Ok((rest, cases)) =
                many0_nonempty(delimited(kw("case"), cut(value), cut(expected("`:`", sym(':')))))(i)
            {
                let (rest, (d, _)) = cut((decl, semi)).parse(rest)?;
                arms.push(UnionArm { cases, decl: d });
                i = rest;
                continue;
            }
            if let Ok((rest, _)) = kw("default")(i) {
                let (rest, (_, d, _)) = cut((expected("`:`", sym(':')), decl, semi)).parse(rest)?;
                default = Some(d);
                i = rest;
                continue;
            }
            let (rest, _) = cut((expected("`case`, `default` or `}`", sym('}')), semi)).parse(i)?;
            return Ok((rest, Def::Union(UnionDef { name, discriminant, arms, default })));
        }
    }
}

fn many0_nonempty<'a, O>(
    p: impl Parser<&'a str, Output = O, Error = PError<'a>>,
) -> impl FnMut(&'a str) -> PResult<'a, Vec<O>> {
    let mut inner = many1(p);
    move |i| inner.parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_file() {
        let src = r#"
%#include "x.h"
/* c */ const A = 0x10; const B = -2;
typedef string s<A>;
typedef s *os;
typedef opaque u[16];
enum e { X = 1, /** @generate: both
 * @acl: a:b
 * @acl: c:d */ Y = B };
struct st { unsigned x; unsigned hyper h; char m[32]; char d<A>; os o; u uu; st2 *p; opaque v<>; int arr<>; };
union un switch (int t) { case 1: case X: int i; case 2: void; default: string z<3>; };
"#;
        let s = parse("t.x", src).unwrap();
        assert_eq!(s.defs.len(), 9);
        let Def::Enum(e) = &s.defs[6] else { panic!() };
        assert_eq!(
            e.members[1].annotations,
            vec![("generate".into(), "both".into()), ("acl".into(), "a:b".into()), ("acl".into(), "c:d".into())]
        );
        let Def::Struct(st) = &s.defs[7] else { panic!() };
        assert_eq!(st.fields[0].ty, DeclType::Plain(TypeSpec::UInt));
        assert_eq!(st.fields[2].ty, DeclType::FixedArray(TypeSpec::Char, Value::Num(32)));
        assert_eq!(st.fields[7].ty, DeclType::VarOpaque(None));
        let Def::Union(u) = &s.defs[8] else { panic!() };
        assert_eq!(u.arms[0].cases, vec![Value::Num(1), Value::Ident("X".into())]);
        assert!(u.default.is_some());
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("bad.x", "const A = 1;\nstruct s {\n  int x\n};\n").unwrap_err();
        assert_eq!((e.line, e.column), (4, 1), "{e}");
        assert!(e.to_string().starts_with("bad.x:4:1: expected `;`"), "{e}");
        let e = parse("bad.x", "const A = 1;\n  foo bar;\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e}");
    }
}
