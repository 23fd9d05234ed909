//! `adama log show LOG`: a readable summary of each transaction of a log; `adama log export`: one
//! document's log as JSON lines, read from a node's data directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use adama_debugger::log::{describe_command, parse_log};
use adama_runtime::TransactionRecord;
use clap::{Args, Subcommand};
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
    /// Write a document's log (the entries a node still holds) as JSON lines on stdout.
    Export(ExportArgs),
}

/// Arguments of `adama log export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The node's data directory.
    #[arg(long, value_name = "DIR", default_value = "adama-data")]
    data: PathBuf,
    /// The document's space.
    #[arg(long)]
    space: String,
    /// The document's key.
    #[arg(long)]
    key: String,
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
        LogCommand::Export(export) => export_log(export),
    }
}

/// Writes a stored document's log on stdout.
fn export_log(export: &ExportArgs) -> Outcome {
    match adama_node::export::log_lines(&export.data, &export.space, &export.key) {
        Ok(lines) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for line in lines {
                if writeln!(out, "{line}").is_err() {
                    return Outcome::Failure;
                }
            }
            Outcome::Clean
        }
        Err(message) => {
            eprintln!("error: {message}");
            Outcome::Failure
        }
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
