//! How code and commands fail.

use std::fmt;

/// Why running code stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `abort;` or an aborting library call: the transaction rolls back.
    Abort,
    /// An `await` on a future without a value: the run rolls back and waits for input.
    Blocked { channel: String },
    /// `block;` in a state block.
    Wait,
    /// A runtime failure with a stable code (runtime spec codes where one exists).
    Error { code: i32, message: String },
}

impl Fault {
    pub fn error(code: i32, message: impl Into<String>) -> Fault {
        Fault::Error {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Abort => formatter.write_str("the code aborted"),
            Fault::Blocked { channel } => write!(formatter, "blocked on channel '{channel}'"),
            Fault::Wait => formatter.write_str("the state blocked"),
            Fault::Error { code, message } => write!(formatter, "{message} (code {code})"),
        }
    }
}

/// Error codes the runtime reports (the reference's where it has one).
pub mod codes {
    pub const NO_COMMAND: i32 = 194_575;
    pub const NO_TIMESTAMP: i32 = 143_889;
    pub const UNKNOWN_COMMAND: i32 = 132_116;
    pub const ALREADY_CONSTRUCTED: i32 = 132_111;
    pub const NOT_CONSTRUCTED: i32 = 132_112;
    pub const MISSING_ARG: i32 = 196_624;
    /// A logged command whose secret was taken out (see `command::redact`): it cannot run again.
    pub const SECRET_REDACTED: i32 = 196_631;
    pub const MISSING_CONTEXT: i32 = 127_155;
    pub const ALREADY_CONNECTED: i32 = 115_724;
    pub const CONNECTION_REJECTED: i32 = 184_333;
    pub const NOT_CONNECTED_DISCONNECT: i32 = 145_423;
    pub const SEND_NO_CHANNEL: i32 = 160_268;
    pub const SEND_NO_MESSAGE: i32 = 184_332;
    pub const SEND_NOT_CONNECTED: i32 = 143_373;
    pub const HANDLER_ABORT: i32 = 127_152;
    pub const BAD_MESSAGE: i32 = 184_335;
    /// A client's message that does not fit the channel's message type.
    pub const MESSAGE_MISFIT: i32 = 145_627;
    pub const UNKNOWN_CHANNEL: i32 = 117_823;
    pub const POLICY_REJECTED: i32 = 139_279;
    pub const BUDGET_EXHAUSTED: i32 = 950_384;
    pub const RUNTIME_FAILURE: i32 = 180_978;
    pub const RECURSION_TOO_DEEP: i32 = 180_979;
    pub const MEMORY_EXHAUSTED: i32 = 180_980;
    pub const DELETE_REJECTED: i32 = 130_000;
    pub const DUPLICATE_MARKER: i32 = 143_407;
    pub const NOTHING_TO_EXPIRE: i32 = 131_203;
    pub const NOTHING_TO_DELIVER: i32 = 131_204;
    /// A `replicate` when no replication has a step to take.
    pub const NOTHING_TO_REPLICATE: i32 = 131_205;
}
