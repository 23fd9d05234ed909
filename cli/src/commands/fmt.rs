//! `adama fmt`: rewrite files in the canonical layout, or with `--check` only say which would
//! change.

use std::path::PathBuf;

use adama_compiler::format::format;
use clap::Args;

use super::Outcome;
use crate::input::{Input, describe_io_error, read_source};

/// Arguments of `adama fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    check: bool,
    /// The Adama files to format.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(args: &FmtArgs) -> Outcome {
    let mut outcome = Outcome::Clean;
    for path in &args.files {
        let name = path.display().to_string();
        let text = match read_source(path) {
            Ok(Input::Text(text)) => text,
            Ok(Input::NotText(error)) => {
                eprintln!("error: cannot format '{name}': {error}");
                outcome = worse(outcome, Outcome::Errors);
                continue;
            }
            Err(error) => {
                eprintln!("error: {}", describe_io_error(&name, &error));
                outcome = worse(outcome, Outcome::Failure);
                continue;
            }
        };
        let Ok(formatted) = format(&text) else {
            eprintln!(
                "error: cannot format '{name}': it has syntax errors (see `adama check {name}`)"
            );
            outcome = worse(outcome, Outcome::Errors);
            continue;
        };
        if formatted == text {
            continue;
        }
        if args.check {
            println!("{name}");
            outcome = worse(outcome, Outcome::Errors);
        } else if let Err(error) = std::fs::write(path, formatted) {
            eprintln!("error: cannot write '{name}': {error}");
            outcome = worse(outcome, Outcome::Failure);
        }
    }
    outcome
}

fn worse(current: Outcome, other: Outcome) -> Outcome {
    if other.code() > current.code() {
        other
    } else {
        current
    }
}
