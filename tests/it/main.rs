//! The one integration test binary: SQL files, the CLI, storage guarantees, the REPL.

mod cli;
mod common;
mod docs;
mod interop;
mod nl;
mod repl;
mod server;
mod server_auth;
mod server_catalog;
mod server_clients;
mod server_copy;
mod server_frames;
mod server_load;
mod server_suite;
mod slt;
mod stats;
mod storage;
