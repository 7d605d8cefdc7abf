//! daemon-min (in progress).
#![forbid(unsafe_code)]

fn main() {}
