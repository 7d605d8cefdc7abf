#![no_main]
//! See `proto_core_fuzz::targets::daemon_dispatch` for what this target does and how its input is laid out.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| proto_core_fuzz::targets::daemon_dispatch(data));
