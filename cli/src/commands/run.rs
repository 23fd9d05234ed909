//! `adama run`: run a document through a script of commands, printing one JSON line per command
//! (its record and every view's delta) and then the whole stored document. The output format is
//! a contract for tools (docs/cli.md).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use adama_runtime::Document;
use adama_runtime::principal_from_json;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value as Json, json};

use super::Outcome;
use super::program::{load, on_big_stack};

/// Arguments of `adama run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The output format (JSON lines).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The Adama file to run.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A file of commands, one JSON object per line.
    #[arg(long, value_name = "SCRIPT")]
    script: PathBuf,
    /// The space and key of the document, as `space/key`.
    #[arg(long, default_value = "space/key")]
    document: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Outcome {
    let program = match load(&args.file) {
        Ok(program) => program,
        Err(outcome) => return outcome,
    };
    let script = match std::fs::File::open(&args.script) {
        Ok(file) => file,
        Err(error) => {
            eprintln!(
                "error: {}",
                crate::input::describe_io_error(&args.script.display().to_string(), &error)
            );
            return Outcome::Failure;
        }
    };
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(script).lines() {
        match line {
            Ok(line) => lines.push(line),
            Err(error) => {
                eprintln!("error: cannot read the script: {error}");
                return Outcome::Failure;
            }
        }
    }
    let (space, key) = args.document.split_once('/').unwrap_or(("space", "key"));
    let (space, key) = (space.to_owned(), key.to_owned());
    let output = on_big_stack(move || execute_script(program, &space, &key, &lines));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in &output.lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    output.outcome
}

struct ScriptOutput {
    lines: Vec<String>,
    outcome: Outcome,
}

fn execute_script(
    program: std::sync::Arc<adama_compiler::ir::Program>,
    space: &str,
    key: &str,
    lines: &[String],
) -> ScriptOutput {
    let mut document = match Document::new(program, space, key) {
        Ok(document) => document,
        Err(fault) => {
            return ScriptOutput {
                lines: vec![
                    json!({"error": {"code": 0, "message": fault.to_string()}}).to_string(),
                ],
                outcome: Outcome::Errors,
            };
        }
    };
    let mut output = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let command: Json = match serde_json::from_str(line) {
            Ok(command) => command,
            Err(error) => {
                output.push(error_line(
                    &document,
                    0,
                    &format!("line {}: the command is not JSON: {error}", number + 1),
                ));
                continue;
            }
        };
        output.push(run_command(&mut document, &command).to_string());
    }
    output.push(json!({"document": document.dump()}).to_string());
    ScriptOutput {
        lines: output,
        outcome: Outcome::Clean,
    }
}

fn error_line(document: &Document, code: i32, message: &str) -> String {
    json!({"seq": document.meta().seq, "redo": null, "undo": null, "views": {},
        "error": {"code": code, "message": message}})
    .to_string()
}

fn run_command(document: &mut Document, command: &Json) -> Json {
    let kind = command.get("command").and_then(Json::as_str).unwrap_or("");
    if kind == "view" {
        let who = command
            .get("who")
            .map(principal_from_json)
            .unwrap_or_else(adama_runtime::Principal::no_one);
        let state = command.get("viewer_state").cloned().unwrap_or(json!({}));
        let view = document.open_view(who, state);
        let mut views = Map::new();
        match document.view_delta(view) {
            Ok(delta) => {
                views.insert(view_name(document, view), delta);
            }
            Err(fault) => {
                return json!({"seq": document.meta().seq, "redo": null, "undo": null, "views": {},
                    "error": {"code": 0, "message": fault.to_string()}});
            }
        }
        return json!({"seq": document.meta().seq, "redo": null, "undo": null, "views": views, "error": null});
    }
    match document.execute_batch(command) {
        Ok(record) => {
            let mut views = Map::new();
            for view in document.view_ids() {
                if let Ok(delta) = document.view_delta(view) {
                    views.insert(view_name(document, view), delta);
                }
            }
            let mut line = json!({"seq": record.seq, "redo": record.redo, "undo": record.undo, "views": views, "error": null});
            if let (Some(response), Some(object)) = (record.response, line.as_object_mut()) {
                object.insert("response".into(), response);
            }
            line
        }
        Err(error) => json!({"seq": document.meta().seq, "redo": null, "undo": null, "views": {},
            "error": {"code": error.code, "message": error.message}}),
    }
}

fn view_name(document: &Document, view: usize) -> String {
    document
        .view_principal(view)
        .map(adama_runtime::Principal::key)
        .unwrap_or_default()
}
