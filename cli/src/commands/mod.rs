//! One module per subcommand, and the outcome they share.

pub mod check;
pub mod cluster;
pub mod dap;
pub mod deploy;
pub mod fmt;
pub mod keys;
pub mod log;
pub mod lsp;
pub mod parse;
pub mod program;
pub mod replay;
pub mod run;
pub mod serve;
pub mod test;

/// How a command ended, which sets the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Clean,
    /// The input has at least one error.
    Errors,
    /// The command could not do its work: bad usage or an I/O failure.
    Failure,
}

impl Outcome {
    /// The exit code: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Errors => 1,
            Outcome::Failure => 2,
        }
    }
}
