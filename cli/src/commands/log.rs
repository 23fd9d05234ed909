//! `adama log export`: one document's log as JSON lines, read from a node's data directory.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Outcome;

/// Arguments of `adama log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Write a document's log (the entries still held) as JSON lines on stdout.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct ExportArgs {
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
pub fn run(args: &LogArgs) -> Outcome {
    let LogCommand::Export(export) = &args.command;
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
