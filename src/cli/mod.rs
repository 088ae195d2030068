//! The command line's subcommands that run the engine (the binary only;
//! everything they call is the library's).

pub mod merge;
mod progress;
pub mod replay;
pub mod run;
