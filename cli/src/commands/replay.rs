//! `adama replay FILE.a LOG`: re-executes every command of a log with a program and checks that
//! each gives the recorded redo; the first difference is printed with both deltas (exit 1).
//! A command logged without its secret (a new password) cannot run again: its recorded redo is
//! applied, and the summary counts it apart.

use std::path::PathBuf;

use adama_debugger::replay::{DEFAULT_INTERVAL, Replay, Stop};
use clap::Args;

use super::Outcome;
use super::log::read_log;
use super::program::{load, on_big_stack};

/// Arguments of `adama replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The Adama file to replay the log with.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The log: JSON lines of transaction records (`adama run --record LOG`).
    #[arg(value_name = "LOG")]
    log: PathBuf,
}

/// Runs the command.
pub fn run(args: &ReplayArgs) -> Outcome {
    let program = match load(&args.file) {
        Ok(program) => program,
        Err(outcome) => return outcome,
    };
    let records = match read_log(&args.log) {
        Ok(records) => records,
        Err(outcome) => return outcome,
    };
    let log = args.log.display().to_string();
    let secret = records
        .iter()
        .filter(|record| adama_runtime::is_redacted(&record.command))
        .count();
    let (outcome, text) = on_big_stack(move || {
        let mut replay = match Replay::new(program, records, DEFAULT_INTERVAL) {
            Ok(replay) => replay,
            Err(error) => return (Outcome::Errors, format!("error: {log}: {error}")),
        };
        loop {
            let label = replay.label();
            match replay.step_forward() {
                Stop::Edge => {
                    let steps = replay.len();
                    let applied = match secret {
                        0 => String::new(),
                        1 => " (1 whose secret is not logged was applied as recorded)".to_owned(),
                        n => format!(" ({n} whose secret is not logged were applied as recorded)"),
                    };
                    return (
                        Outcome::Clean,
                        format!("{log}: all {steps} transactions reproduce{applied}"),
                    );
                }
                Stop::Divergence(divergence) => {
                    return (Outcome::Errors, format!("{log}: {label}\n{divergence}"));
                }
                Stop::Step | Stop::Breakpoint(_) | Stop::Line { .. } => {}
            }
        }
    });
    match outcome {
        Outcome::Clean => println!("{text}"),
        _ => eprintln!("{text}"),
    }
    outcome
}
