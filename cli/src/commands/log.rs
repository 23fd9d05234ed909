//! `adama log show LOG`: a readable summary of each transaction of a log.

use std::path::{Path, PathBuf};

use adama_debugger::log::{describe_command, parse_log};
use adama_runtime::TransactionRecord;
use clap::Subcommand;
use serde_json::Value as Json;

use super::Outcome;
use crate::input::describe_io_error;

/// The subcommands of `adama log`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print one summary per transaction: its step, seq, time, command and what it changed.
    Show {
        /// The log: JSON lines of transaction records (`adama run --record LOG`).
        #[arg(value_name = "LOG")]
        log: PathBuf,
    },
}

/// Runs the command.
pub fn run(command: &LogCommand) -> Outcome {
    match command {
        LogCommand::Show { log } => match read_log(log) {
            Ok(records) => {
                for (index, record) in records.iter().enumerate() {
                    println!("{}", summary(index, record));
                }
                Outcome::Clean
            }
            Err(outcome) => outcome,
        },
    }
}

/// Reads and parses a log; on failure the reason is on stderr.
pub fn read_log(path: &Path) -> Result<Vec<TransactionRecord>, Outcome> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        eprintln!("error: {}", describe_io_error(&name, &error));
        Outcome::Failure
    })?;
    parse_log(&text).map_err(|error| {
        eprintln!("error: {name}: {error}");
        Outcome::Errors
    })
}

/// The summary of one transaction: a heading, then the fields it changed.
fn summary(index: usize, record: &TransactionRecord) -> String {
    let mut text = format!(
        "step {}  seq {}  time {}  {}",
        index + 1,
        record.seq,
        record.time,
        describe_command(&record.command)
    );
    let Some(redo) = record.redo.as_object() else {
        return text;
    };
    let internal = redo.keys().filter(|key| key.starts_with("__")).count();
    for (key, value) in redo.iter().filter(|(key, _)| !key.starts_with("__")) {
        let before = record.undo.get(key).unwrap_or(&Json::Null);
        text.push_str(&format!("\n  {key}: {} -> {}", short(before), short(value)));
    }
    if internal > 0 {
        text.push_str(&format!("\n  ({internal} internal fields)"));
    }
    if let Some(response) = &record.response {
        text.push_str(&format!("\n  response: {}", short(response)));
    }
    text
}

/// A value on one line, cut when long.
fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}
