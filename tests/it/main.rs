//! The one integration test binary: SQL files, the CLI, storage guarantees, the REPL.

mod cli;
mod common;
mod docs;
mod interop;
mod nl;
mod repl;
mod server;
mod slt;
mod stats;
mod storage;
