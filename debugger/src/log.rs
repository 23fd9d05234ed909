//! Logs: JSON lines of transaction records, as `adama run --record` writes them.

use std::fmt;

use adama_runtime::TransactionRecord;

/// Why a log could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// The log has no record.
    Empty,
    /// A line is not a transaction record.
    BadLine {
        line: usize,
        message: String,
        /// The last line stops in the middle of a record: the log was cut off.
        truncated: bool,
    },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Empty => write!(
                f,
                "the log has no transaction record (write one with `adama run --record LOG`)"
            ),
            LogError::BadLine {
                line,
                message,
                truncated: true,
            } => write!(
                f,
                "line {line}: the log is truncated, its last record is cut off ({message}); \
                 remove the partial line or export the log again"
            ),
            LogError::BadLine { line, message, .. } => write!(
                f,
                "line {line}: not a transaction record ({message}); a log holds one JSON \
                 record per line with seq, time, command, redo and undo"
            ),
        }
    }
}

impl std::error::Error for LogError {}

/// Reads a log; blank lines are skipped.
pub fn parse_log(text: &str) -> Result<Vec<TransactionRecord>, LogError> {
    let mut records = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<TransactionRecord>(line) {
            Ok(record) => records.push(record),
            Err(error) => {
                let last = lines[index + 1..].iter().all(|rest| rest.trim().is_empty());
                return Err(LogError::BadLine {
                    line: index + 1,
                    message: error.to_string(),
                    truncated: last && error.is_eof(),
                });
            }
        }
    }
    if records.is_empty() {
        return Err(LogError::Empty);
    }
    Ok(records)
}

/// Writes records as a log, one JSON line each.
pub fn log_lines(records: &[TransactionRecord]) -> Vec<String> {
    records
        .iter()
        .map(|record| serde_json::to_string(record).unwrap_or_default())
        .collect()
}

/// What a command was, in a few words: `send bump`, `connect ann/acme`.
pub fn describe_command(command: &serde_json::Value) -> String {
    let kind = command
        .get("command")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?");
    let who = command.get("who").map(|who| {
        let part = |key: &str| {
            who.get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
        };
        format!("{}/{}", part("agent"), part("authority"))
    });
    let channel = command.get("channel").and_then(serde_json::Value::as_str);
    let described = match (channel, who) {
        (Some(channel), Some(who)) => format!("{kind} {channel} by {who}"),
        (Some(channel), None) => format!("{kind} {channel}"),
        (None, Some(who)) => format!("{kind} by {who}"),
        (None, None) => kind.to_owned(),
    };
    if adama_runtime::is_redacted(command) {
        format!("{described} (secret not logged: applied as recorded)")
    } else {
        described
    }
}
