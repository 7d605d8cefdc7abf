//! From parsed `.x` files to Rust: resolves names across files, classifies procedures from
//! their annotations, and writes one module per program plus proptest strategies.

mod arbitrary;
mod codec;
mod config;
mod docs;
mod model;
mod module;
mod names;
mod procedures;
mod resolve;
mod types;

use crate::parser;

pub use config::{ProgCfg, ProgramCfg, DEBIAN_PACKAGE, EXTERNS, LIBVIRT_VERSION, PROGRAMS, REGEN_COMMAND};
pub use model::{analyze, Model, Module, Proc, Stream};
pub use module::{generate, Output};
pub use names::{camel, snake};

/// Any failure of analysis or generation.
#[derive(Debug)]
pub struct GenError(pub String);

impl std::fmt::Display for GenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenError {}

impl From<parser::SyntaxError> for GenError {
    fn from(e: parser::SyntaxError) -> Self {
        Self(e.to_string())
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, GenError> {
    Err(GenError(msg.into()))
}
