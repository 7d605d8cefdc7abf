//! `libvirt-codegen`: a compiler for rpcgen's `.x` language that writes proto-core's typed
//! programs (`proto-core/src/programs/`). See `README.md` for how to run it.

pub mod ast;
pub mod gen;
pub mod parser;
