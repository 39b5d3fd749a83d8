//! The interactive shell and the result printers shared with the one-shot CLI.

mod backend;
mod completion;
mod format;
mod meta;
mod progress;
mod shell;

pub use backend::Backend;
pub use format::{print_output, Format};
pub use shell::{run_script, Repl};
