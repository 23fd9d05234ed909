//! One debug session: requests in, responses and events out, a [`Replay`] in between.
//!
//! The adapter has one thread (the document) and one stack frame (the transaction at the
//! position). A request that fails is answered with `success: false` and a message that says
//! what to fix; the session goes on.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::Arc;

use adama_runtime::{Principal, principal_from_json};
use serde_json::{Value as Json, json};

use super::framing::{read_message, write_message};
use crate::log::parse_log;
use crate::replay::{Breakpoint, DEFAULT_INTERVAL, Replay, Stop};
use crate::tree::{Variable, preview};

const THREAD: i64 = 1;
const FRAME: i64 = 1;

/// Serves one session until `disconnect` or the end of the input.
pub fn serve(input: &mut impl BufRead, output: &mut impl Write) -> io::Result<()> {
    let mut session = Session::default();
    loop {
        let message = match read_message(input) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                session.event(
                    "output",
                    json!({"category": "stderr",
                    "output": format!("a message is not JSON and was skipped: {error}\n")}),
                );
                session.flush(output)?;
                continue;
            }
            Err(error) => return Err(error),
        };
        let done = session.handle(&message);
        session.flush(output)?;
        if done {
            return Ok(());
        }
    }
}

/// What a request answers: a body, or a message saying why it failed.
type Answer = Result<Json, String>;

#[derive(Debug, Default)]
struct Session {
    seq: i64,
    outbox: Vec<Json>,
    replay: Option<Replay>,
    program_path: String,
    stop_on_entry: bool,
    function_breakpoints: Vec<Breakpoint>,
    data_breakpoints: Vec<Breakpoint>,
    /// Variables handed out since the last stop, by reference.
    variables: HashMap<i64, Variable>,
}

impl Session {
    fn flush(&mut self, output: &mut impl Write) -> io::Result<()> {
        for message in std::mem::take(&mut self.outbox) {
            write_message(output, &message)?;
        }
        Ok(())
    }

    fn next_seq(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    fn event(&mut self, event: &str, body: Json) {
        let seq = self.next_seq();
        self.outbox
            .push(json!({"seq": seq, "type": "event", "event": event, "body": body}));
    }

    /// Handles a request; true when the session ends.
    fn handle(&mut self, request: &Json) -> bool {
        let command = request
            .get("command")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        let request_seq = request.get("seq").and_then(Json::as_i64).unwrap_or(0);
        let empty = json!({});
        let arguments = request.get("arguments").unwrap_or(&empty);
        let mut after: Option<Stop> = None;
        let answer = self.answer(&command, arguments, &mut after);
        let seq = self.next_seq();
        let mut response = json!({"seq": seq, "type": "response", "request_seq": request_seq,
            "command": command, "success": answer.is_ok()});
        match answer {
            Ok(body) => response["body"] = body,
            Err(message) => response["message"] = Json::String(message),
        }
        self.outbox.push(response);
        if command == "initialize" {
            self.event("initialized", json!({}));
        }
        if let Some(stop) = after {
            self.stopped(stop);
        }
        command == "disconnect"
    }

    fn answer(&mut self, command: &str, arguments: &Json, after: &mut Option<Stop>) -> Answer {
        match command {
            "initialize" => Ok(capabilities()),
            "launch" => self.launch(arguments),
            "configurationDone" => {
                let stop_on_entry = self.stop_on_entry;
                let replay = self.replay_mut()?;
                *after = Some(if stop_on_entry {
                    Stop::Edge
                } else {
                    replay.resume()
                });
                Ok(json!({}))
            }
            "setBreakpoints" => Ok(source_breakpoints(arguments)),
            "setFunctionBreakpoints" => self.set_function_breakpoints(arguments),
            "dataBreakpointInfo" => self.data_breakpoint_info(arguments),
            "setDataBreakpoints" => self.set_data_breakpoints(arguments),
            "setExceptionBreakpoints" => Ok(json!({})),
            "threads" => Ok(json!({"threads": [{"id": THREAD, "name": "document"}]})),
            "stackTrace" => self.stack_trace(),
            "scopes" => self.scopes(),
            "variables" => self.variables(arguments),
            "next" | "stepIn" | "stepOut" => self.move_by(after, Replay::step_forward),
            "stepBack" => self.move_by(after, Replay::step_back),
            "continue" => self.move_by(after, Replay::resume),
            "reverseContinue" => self.move_by(after, Replay::reverse),
            "gotoTargets" => self.goto_targets(arguments),
            "goto" => {
                let target = arguments
                    .get("targetId")
                    .and_then(Json::as_u64)
                    .ok_or("goto needs a targetId (a step number from gotoTargets)")?;
                let replay = self.replay_mut()?;
                let step = usize::try_from(target)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(1);
                *after = Some(replay.goto(step)?);
                Ok(json!({}))
            }
            "pause" => Ok(json!({})),
            "disconnect" | "terminate" => Ok(json!({})),
            other => Err(format!("the Adama debugger does not support `{other}`")),
        }
    }

    fn replay_mut(&mut self) -> Result<&mut Replay, String> {
        self.replay
            .as_mut()
            .ok_or_else(|| "no log is loaded: launch with a `program` and a `log` first".to_owned())
    }

    fn launch(&mut self, arguments: &Json) -> Answer {
        let text = |key: &str| arguments.get(key).and_then(Json::as_str);
        let program_path = text("program")
            .ok_or("launch needs `program`: the path of the .a file the log was recorded with")?;
        let log_path = text("log").ok_or(
            "launch needs `log`: the path of a log of transaction records (`adama run --record LOG`)",
        )?;
        let source = std::fs::read_to_string(program_path)
            .map_err(|error| format!("cannot read the program {program_path}: {error}"))?;
        let program = adama_runtime::compile(program_path, &source).map_err(|diagnostics| {
            let first = diagnostics
                .iter()
                .find(|diagnostic| diagnostic.severity == adama_compiler::Severity::Error)
                .map(|diagnostic| diagnostic.message.clone())
                .unwrap_or_default();
            format!(
                "{program_path} has {} error(s) and cannot run (first: {first}); run `adama check {program_path}`",
                diagnostics.len()
            )
        })?;
        let log = std::fs::read_to_string(log_path)
            .map_err(|error| format!("cannot read the log {log_path}: {error}"))?;
        let records = parse_log(&log).map_err(|error| format!("{log_path}: {error}"))?;
        let mut replay = Replay::new(Arc::clone(&program), records, DEFAULT_INTERVAL)
            .map_err(|error| format!("{log_path}: {error}"))?;
        let viewers = match arguments.get("viewers") {
            Some(Json::Array(items)) => items.iter().map(viewer).collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(
                    "`viewers` is a list of principals, as \"agent/authority\" or {\"agent\", \"authority\"}"
                        .to_owned(),
                );
            }
            None => Vec::new(),
        };
        replay.set_viewers(viewers);
        replay.set_breakpoints(self.all_breakpoints());
        self.stop_on_entry = arguments
            .get("stopOnEntry")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        self.program_path = program_path.to_owned();
        let steps = replay.len();
        self.replay = Some(replay);
        self.event(
            "output",
            json!({"category": "console",
                "output": format!("replaying {steps} transactions of {log_path} with {program_path}\n")}),
        );
        Ok(json!({}))
    }

    fn all_breakpoints(&self) -> Vec<Breakpoint> {
        let mut all = self.function_breakpoints.clone();
        all.extend(self.data_breakpoints.iter().cloned());
        all
    }

    fn set_function_breakpoints(&mut self, arguments: &Json) -> Answer {
        let replay = self.replay.as_ref().ok_or(
            "set function breakpoints after launch: their names are checked against the program",
        )?;
        let mut kept = Vec::new();
        let mut answers = Vec::new();
        for entry in list(arguments, "breakpoints") {
            let name = entry.get("name").and_then(Json::as_str).unwrap_or("");
            match Breakpoint::parse(name, replay.program()) {
                Ok(breakpoint) => {
                    kept.push(breakpoint);
                    answers.push(json!({"verified": true}));
                }
                Err(message) => answers.push(json!({"verified": false, "message": message})),
            }
        }
        self.function_breakpoints = kept;
        let all = self.all_breakpoints();
        self.replay_mut()?.set_breakpoints(all);
        Ok(json!({"breakpoints": answers}))
    }

    fn data_breakpoint_info(&self, arguments: &Json) -> Answer {
        let name = arguments.get("name").and_then(Json::as_str).unwrap_or("");
        let path = arguments
            .get("variablesReference")
            .and_then(Json::as_i64)
            .and_then(|reference| self.variables.get(&reference))
            .map(|parent| {
                let mut path = parent.path.clone();
                path.push(name.to_owned());
                path.join(".")
            })
            .unwrap_or_else(|| name.to_owned());
        Ok(
            json!({"dataId": path, "description": format!("the transactions that change {path}"),
            "accessTypes": ["write"], "canPersist": true}),
        )
    }

    fn set_data_breakpoints(&mut self, arguments: &Json) -> Answer {
        let mut kept = Vec::new();
        for entry in list(arguments, "breakpoints") {
            if let Some(path) = entry.get("dataId").and_then(Json::as_str) {
                kept.push(Breakpoint::Field(path.to_owned()));
            }
        }
        let answers: Vec<Json> = kept.iter().map(|_| json!({"verified": true})).collect();
        self.data_breakpoints = kept;
        let all = self.all_breakpoints();
        if let Some(replay) = self.replay.as_mut() {
            replay.set_breakpoints(all);
        }
        Ok(json!({"breakpoints": answers}))
    }

    fn stack_trace(&mut self) -> Answer {
        let path = self.program_path.clone();
        let replay = self.replay_mut()?;
        let name = replay.label();
        let frame = json!({"id": FRAME, "name": name, "line": 0, "column": 0,
            "source": {"name": file_name(&path), "path": path},
            "presentationHint": "label"});
        Ok(json!({"stackFrames": [frame], "totalFrames": 1}))
    }

    fn scopes(&mut self) -> Answer {
        let scopes = self.replay_mut()?.scopes();
        let mut listed = Vec::new();
        for scope in scopes {
            let variable = Variable {
                name: scope.name.to_owned(),
                path: Vec::new(),
                value: scope.value,
            };
            let reference = self.remember(variable);
            listed.push(json!({"name": scope.name, "variablesReference": reference,
                "expensive": false}));
        }
        Ok(json!({"scopes": listed}))
    }

    fn variables(&mut self, arguments: &Json) -> Answer {
        let reference = arguments
            .get("variablesReference")
            .and_then(Json::as_i64)
            .unwrap_or(0);
        let parent = self
            .variables
            .get(&reference)
            .cloned()
            .ok_or("this variable is gone: the debugger moved since it was shown")?;
        let mut listed = Vec::new();
        for child in parent.children() {
            let shown = preview(&child.value);
            let name = child.name.clone();
            let reference = if child.expandable() {
                self.remember(child)
            } else {
                0
            };
            listed.push(json!({"name": name, "value": shown, "variablesReference": reference}));
        }
        Ok(json!({"variables": listed}))
    }

    fn remember(&mut self, variable: Variable) -> i64 {
        let reference = i64::try_from(self.variables.len()).unwrap_or(i64::MAX - 1) + 1;
        self.variables.insert(reference, variable);
        reference
    }

    fn move_by(&mut self, after: &mut Option<Stop>, by: fn(&mut Replay) -> Stop) -> Answer {
        let replay = self.replay_mut()?;
        *after = Some(by(replay));
        Ok(json!({}))
    }

    fn goto_targets(&mut self, arguments: &Json) -> Answer {
        let replay = self.replay_mut()?;
        let line = arguments.get("line").and_then(Json::as_u64).unwrap_or(1);
        let step = usize::try_from(line)
            .unwrap_or(usize::MAX)
            .min(replay.len() + 1);
        let label = match replay.goto_label(step.saturating_sub(1)) {
            Some(label) => label,
            None => return Ok(json!({"targets": []})),
        };
        Ok(json!({"targets": [{"id": step, "label": label, "line": line}]}))
    }

    fn stopped(&mut self, stop: Stop) {
        self.variables.clear();
        let (reason, text) = match &stop {
            Stop::Step => ("step", None),
            Stop::Breakpoint(_) => ("breakpoint", None),
            Stop::Edge => ("entry", None),
            Stop::Divergence(divergence) => ("exception", Some(divergence.to_string())),
        };
        let label = self.replay.as_ref().map(Replay::label).unwrap_or_default();
        let reason = match (&stop, self.replay.as_ref().map(Replay::position)) {
            (Stop::Edge, Some(position)) if position > 0 => "step",
            _ => reason,
        };
        if let Some(text) = &text {
            self.event(
                "output",
                json!({"category": "stderr", "output": format!("{text}\n")}),
            );
        }
        let mut body = json!({"reason": reason, "threadId": THREAD, "allThreadsStopped": true,
            "description": label});
        if let Some(text) = text {
            body["text"] = Json::String(text);
        }
        self.event("stopped", body);
    }
}

fn capabilities() -> Json {
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsStepBack": true,
        "supportsGotoTargetsRequest": true,
        "supportsFunctionBreakpoints": true,
        "supportsDataBreakpoints": true,
        "supportsTerminateRequest": true,
    })
}

/// Breakpoints on source lines stop inside a transaction's code, which this adapter does not
/// step into yet: each is answered unverified, with the alternatives.
fn source_breakpoints(arguments: &Json) -> Json {
    let answers: Vec<Json> = list(arguments, "breakpoints")
        .iter()
        .map(|entry| json!({"verified": false, "line": entry.get("line"),
            "message": "line breakpoints are not supported yet; use a function breakpoint on a channel or command, or a data breakpoint on a field"}))
        .collect();
    json!({"breakpoints": answers})
}

fn list<'a>(arguments: &'a Json, key: &str) -> &'a [Json] {
    arguments
        .get(key)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn viewer(value: &Json) -> Result<Principal, String> {
    match value {
        Json::String(text) => match text.split_once('/') {
            Some((agent, authority)) => Ok(principal_from_json(
                &json!({"agent": agent, "authority": authority}),
            )),
            None => Err(format!(
                "viewer `{text}`: write a principal as \"agent/authority\""
            )),
        },
        Json::Object(_) => Ok(principal_from_json(value)),
        other => Err(format!(
            "viewer {other}: write a principal as \"agent/authority\" or {{\"agent\", \"authority\"}}"
        )),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}
