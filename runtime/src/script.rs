//! Scripts of commands, one JSON object per line, run through a document: what `adama run` prints
//! and what the runtime's scenario tests record. The output format is a contract for tools
//! (docs/cli.md): one JSON line per command (its record and every open view's delta), then the
//! whole stored document.
//!
//! Besides the commands of the protocol, a script may open a view:
//! `{"command": "view", "who": {...}, "viewer_state": {...}}`.

use std::sync::Arc;

use adama_compiler::ir::Program;
use serde_json::{Map, Value as Json, json};

use crate::document::Document;
use crate::encode::principal_from_json;
use crate::transaction::TransactionRecord;
use crate::value::Principal;
use crate::view::ViewId;

/// Runs the lines of a script through a fresh document of a program; blank lines are skipped.
/// The output lines, or the one line saying why the document could not be created.
pub fn run_script(
    program: Arc<Program>,
    space: &str,
    key: &str,
    lines: &[String],
) -> Result<Vec<String>, String> {
    run_script_recorded(program, space, key, lines).map(|(output, _)| output)
}

/// [`run_script`], also giving the record of every committed transaction in order: the log a
/// host would persist and a debugger replays (`adama run --record`).
pub fn run_script_recorded(
    program: Arc<Program>,
    space: &str,
    key: &str,
    lines: &[String],
) -> Result<(Vec<String>, Vec<TransactionRecord>), String> {
    let mut records = Vec::new();
    let mut document = Document::new(program, space, key)
        .map_err(|fault| json!({"error": {"code": 0, "message": fault.to_string()}}).to_string())?;
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
        let (line, record) = run_command(&mut document, &command);
        output.push(line.to_string());
        records.extend(record);
    }
    output.push(json!({"document": document.dump()}).to_string());
    Ok((output, records))
}

fn error_line(document: &Document, code: i32, message: &str) -> String {
    json!({"seq": document.meta.seq, "redo": null, "undo": null, "views": {},
        "error": {"code": code, "message": message}})
    .to_string()
}

fn run_command(document: &mut Document, command: &Json) -> (Json, Option<TransactionRecord>) {
    let kind = command.get("command").and_then(Json::as_str).unwrap_or("");
    if kind == "view" {
        let who = command
            .get("who")
            .map(principal_from_json)
            .unwrap_or_else(Principal::no_one);
        let state = command.get("viewer_state").cloned().unwrap_or(json!({}));
        let view = document.open_view(who, state);
        let mut views = Map::new();
        match document.view_delta(view) {
            Ok(delta) => {
                views.insert(view_name(document, view), delta);
            }
            Err(fault) => {
                let line = json!({"seq": document.meta.seq, "redo": null, "undo": null, "views": {},
                    "error": {"code": 0, "message": fault.to_string()}});
                return (line, None);
            }
        }
        let line = json!({"seq": document.meta.seq, "redo": null, "undo": null, "views": views, "error": null});
        return (line, None);
    }
    let result = document.execute_batch(command);
    // A script has no connections or store to act on what code asks of its host.
    document.host_requests.clear();
    match result {
        Ok(record) => {
            let mut views = Map::new();
            for view in document.view_ids() {
                if let Ok(delta) = document.view_delta(view) {
                    views.insert(view_name(document, view), delta);
                }
            }
            let mut line = json!({"seq": record.seq, "redo": record.redo, "undo": record.undo, "views": views, "error": null});
            if let (Some(response), Some(object)) = (record.response.clone(), line.as_object_mut())
            {
                object.insert("response".into(), response);
            }
            (line, Some(record))
        }
        Err(error) => {
            let line = json!({"seq": document.meta.seq, "redo": null, "undo": null, "views": {},
                "error": {"code": error.code, "message": error.message}});
            (line, None)
        }
    }
}

fn view_name(document: &Document, view: ViewId) -> String {
    document
        .view_principal(view)
        .map(Principal::key)
        .unwrap_or_default()
}
