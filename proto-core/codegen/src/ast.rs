//! The syntax tree of an rpcgen `.x` file, as far as libvirt's protocol files use the language.

/// A parsed `.x` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The definitions in file order.
    pub defs: Vec<Def>,
}

/// A value as written: a number literal or the name of a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal (decimal, hexadecimal or octal, possibly negative).
    Num(i64),
    /// A constant or enum member, defined in the `.x` files or in libvirt's C headers.
    Ident(String),
}

/// One top-level definition.
#[derive(Debug, Clone, PartialEq)]
pub enum Def {
    /// `const NAME = value;`
    Const {
        /// The constant's name.
        name: String,
        /// Its value.
        value: Value,
        /// 1-based line of the definition.
        line: usize,
    },
    /// `typedef declaration;`
    Typedef(Decl),
    /// `enum name { ... };`
    Enum(EnumDef),
    /// `struct name { ... };`
    Struct(StructDef),
    /// `union name switch (...) { ... };`
    Union(UnionDef),
    /// A `%` line, passed through by rpcgen to the C output (`%#include ...`).
    Passthrough(String),
}

/// An enum definition.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDef {
    /// The enum's name.
    pub name: String,
    /// Its members in order.
    pub members: Vec<EnumMember>,
}

/// One enum member, with the `@key: value` annotations of the comment in front of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumMember {
    /// The member's name.
    pub name: String,
    /// Its value.
    pub value: Value,
    /// `(key, value)` pairs from `@key: value` lines, in order (keys repeat, e.g. `acl`).
    pub annotations: Vec<(String, String)>,
    /// 1-based line of the member.
    pub line: usize,
}

/// A struct definition.
#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    /// The struct's name.
    pub name: String,
    /// Its fields in order (never `void`).
    pub fields: Vec<NamedDecl>,
}

/// A union definition with an explicit discriminant.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionDef {
    /// The union's name.
    pub name: String,
    /// The discriminant declaration (`int type`, an enum, `unsigned int`, `bool`).
    pub discriminant: NamedDecl,
    /// The `case` arms in order.
    pub arms: Vec<UnionArm>,
    /// The `default:` arm, if any.
    pub default: Option<Decl>,
}

/// One union arm: one or more `case` labels sharing a declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct UnionArm {
    /// The case labels.
    pub cases: Vec<Value>,
    /// The arm's declaration.
    pub decl: Decl,
}

/// A declaration that may be `void` (typedefs, union arms).
#[derive(Debug, Clone, PartialEq)]
pub enum Decl {
    /// `void`.
    Void,
    /// Anything else.
    Named(NamedDecl),
}

/// `type name` with its array/optional form.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedDecl {
    /// The declared name.
    pub name: String,
    /// Its type.
    pub ty: DeclType,
}

/// The forms a declaration takes.
#[derive(Debug, Clone, PartialEq)]
pub enum DeclType {
    /// `T x`
    Plain(TypeSpec),
    /// `T x[N]`
    FixedArray(TypeSpec, Value),
    /// `T x<N>` (`None`: `<>`, unbounded)
    VarArray(TypeSpec, Option<Value>),
    /// `opaque x[N]`
    FixedOpaque(Value),
    /// `opaque x<N>`
    VarOpaque(Option<Value>),
    /// `string x<N>`
    String(Option<Value>),
    /// `T *x`
    Optional(TypeSpec),
}

/// A type specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSpec {
    /// `int` (and `long`).
    Int,
    /// `unsigned int`, `unsigned`, `unsigned long`.
    UInt,
    /// `hyper`.
    Hyper,
    /// `unsigned hyper`.
    UHyper,
    /// `char`.
    Char,
    /// `unsigned char`.
    UChar,
    /// `short`.
    Short,
    /// `unsigned short`.
    UShort,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `bool`.
    Bool,
    /// A named type (typedef, struct, union or enum; `struct x` is the same as `x`).
    Named(String),
}
