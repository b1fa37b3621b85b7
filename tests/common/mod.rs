//! What the command-line tests share: running the built `dacapo` binary.

// Each test file uses what it needs of these.
#![allow(dead_code)]

use std::process::{Command, Output};

/// `dacapo args...`, waited for.
pub fn dacapo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dacapo")).args(args).output().expect("dacapo runs")
}

/// What a run printed on standard error.
pub fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}
