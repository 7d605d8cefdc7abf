//! What is generated from what: the six `.x` files, their programs, and the constants they
//! take from libvirt's C headers.

/// libvirt version and Debian source package the committed output was generated from.
pub const LIBVIRT_VERSION: &str = "9.0.0";
/// The Debian source package.
pub const DEBIAN_PACKAGE: &str = "libvirt_9.0.0-4+deb12u2";
/// How to regenerate (quoted in every generated file).
pub const REGEN_COMMAND: &str =
    "cargo run -p libvirt-codegen -- --libvirt-src <libvirt-9.0.0> --out proto-core/src/programs";

/// How one `.x` file becomes one Rust module.
#[derive(Debug)]
pub struct ProgramCfg {
    /// Path of the `.x` file inside the libvirt source tree.
    pub file: &'static str,
    /// Rust module name under `proto-core/src/programs/`.
    pub module: &'static str,
    /// Modules whose definitions this file sees (rpcgen `%#include` of their headers).
    pub deps: &'static [&'static str],
    /// The program it defines, if any.
    pub program: Option<ProgCfg>,
}

/// The program part of a [`ProgramCfg`].
#[derive(Debug)]
pub struct ProgCfg {
    /// Name of the program-number constant.
    pub program_const: &'static str,
    /// Name of the version constant.
    pub version_const: &'static str,
    /// Name of the enum listing the procedures.
    pub procedure_enum: &'static str,
    /// Prefix of each procedure name (`REMOTE_PROC_`), replaced by `type_prefix` to find the
    /// `_args`/`_ret`/`_msg` structs.
    pub proc_prefix: &'static str,
    /// See `proc_prefix`.
    pub type_prefix: &'static str,
    /// Every procedure is a one-way message (keepalive's PING and PONG travel as
    /// `VIR_NET_MESSAGE` and have no body).
    pub all_messages: bool,
}

/// The six files, in dependency order.
pub const PROGRAMS: &[ProgramCfg] = &[
    ProgramCfg { file: "src/rpc/virnetprotocol.x", module: "virnet", deps: &[], program: None },
    ProgramCfg {
        file: "src/remote/remote_protocol.x",
        module: "remote",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "REMOTE_PROGRAM",
            version_const: "REMOTE_PROTOCOL_VERSION",
            procedure_enum: "remote_procedure",
            proc_prefix: "REMOTE_PROC_",
            type_prefix: "remote_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/remote/qemu_protocol.x",
        module: "qemu",
        deps: &["remote"],
        program: Some(ProgCfg {
            program_const: "QEMU_PROGRAM",
            version_const: "QEMU_PROTOCOL_VERSION",
            procedure_enum: "qemu_procedure",
            proc_prefix: "QEMU_PROC_",
            type_prefix: "qemu_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/remote/lxc_protocol.x",
        module: "lxc",
        deps: &["remote"],
        program: Some(ProgCfg {
            program_const: "LXC_PROGRAM",
            version_const: "LXC_PROTOCOL_VERSION",
            procedure_enum: "lxc_procedure",
            proc_prefix: "LXC_PROC_",
            type_prefix: "lxc_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/admin/admin_protocol.x",
        module: "admin",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "ADMIN_PROGRAM",
            version_const: "ADMIN_PROTOCOL_VERSION",
            procedure_enum: "admin_procedure",
            proc_prefix: "ADMIN_PROC_",
            type_prefix: "admin_",
            all_messages: false,
        }),
    },
    ProgramCfg {
        file: "src/rpc/virkeepaliveprotocol.x",
        module: "keepalive",
        deps: &[],
        program: Some(ProgCfg {
            program_const: "KEEPALIVE_PROGRAM",
            version_const: "KEEPALIVE_PROTOCOL_VERSION",
            procedure_enum: "keepalive_procedure",
            proc_prefix: "KEEPALIVE_PROC_",
            type_prefix: "keepalive_",
            all_messages: true,
        }),
    },
];

/// Constants the `.x` files use but libvirt defines in its public C headers:
/// (name, value, header).
pub const EXTERNS: &[(&str, i64, &str)] = &[
    ("VIR_UUID_BUFLEN", 16, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_MODEL_BUFLEN", 257, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_LABEL_BUFLEN", 4097, "include/libvirt/libvirt-host.h"),
    ("VIR_SECURITY_DOI_BUFLEN", 257, "include/libvirt/libvirt-host.h"),
    ("VIR_TYPED_PARAM_INT", 1, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_UINT", 2, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_LLONG", 3, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_ULLONG", 4, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_DOUBLE", 5, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_BOOLEAN", 6, "include/libvirt/libvirt-common.h"),
    ("VIR_TYPED_PARAM_STRING", 7, "include/libvirt/libvirt-common.h"),
];
