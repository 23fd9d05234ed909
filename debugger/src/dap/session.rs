//! One debug session: requests in, responses and events out, a [`Replay`] in between.
//!
//! The adapter has one thread (the document) and, between transactions, one stack frame (the
//! transaction at the position); inside the code, one frame per active call above it. A
//! request that fails is answered with `success: false` and a message that says what to fix;
//! the session goes on.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::Arc;

use adama_runtime::{Principal, principal_from_json};
use serde_json::{Value as Json, json};

use super::framing::{read_message, write_message};
use crate::code::{Recorder, Seen, Statement, locate_seen};
use crate::guard::Guard;
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

/// Where a move left the session.
#[derive(Debug)]
enum Shown {
    /// At a transaction of the log.
    Replay(Stop),
    /// At a statement of the transaction being stepped through, with the stop's reason.
    Code(&'static str),
    /// Past the last statement of a launched test: the session is over.
    TestDone,
}

/// A launched test block: its statements are stepped through, its result shown at the end.
#[derive(Debug)]
struct TestRun {
    name: String,
    result: adama_runtime::TestResult,
}

/// Stepping through the statements of the transaction at the position.
#[derive(Debug)]
struct Inside {
    trace: Vec<Statement>,
    at: usize,
}

/// A frame of the stack inside the code, as `stackTrace` lists it.
#[derive(Debug)]
struct CodeFrame {
    name: String,
    line: usize,
    column: usize,
}

impl Inside {
    /// The frames at the stop, the running statement's first, then each caller's.
    fn frames(&self) -> Vec<CodeFrame> {
        let Some(top) = self.trace.get(self.at) else {
            return Vec::new();
        };
        let mut frames = vec![CodeFrame {
            name: top.frame.clone(),
            line: top.line,
            column: top.column,
        }];
        frames.extend(top.callers.iter().map(|caller| CodeFrame {
            name: caller.name.clone(),
            line: caller.line,
            column: caller.column,
        }));
        frames
    }

    /// What frame `frame_id` (1 for the running statement's, 2 for its caller's...) sees: its
    /// own locals, and the document as the running statement sees it. Any other id is the
    /// running statement's frame.
    fn seen_in(&self, frame_id: Option<i64>) -> Option<Arc<Seen>> {
        let top = self.trace.get(self.at)?;
        let running = top.state.clone()?;
        let caller = frame_id
            .and_then(|id| usize::try_from(id).ok())
            .and_then(|id| id.checked_sub(2))
            .and_then(|index| top.callers.get(index));
        let Some(caller) = caller else {
            return Some(running);
        };
        let locals = caller
            .at
            .and_then(|at| self.trace.get(at))
            .and_then(|statement| statement.state.as_ref())
            .map(|seen| seen.locals.clone())
            .unwrap_or_default();
        Some(Arc::new(Seen {
            locals,
            document: running.document.clone(),
        }))
    }

    /// Where `next`, `stepIn` or `stepOut` goes from the stop: the next statement at any
    /// depth (`stepIn`), at the same depth or shallower, stepping over calls (`next`), or
    /// shallower, back in the caller (`stepOut`); `None` when the code ends first.
    fn target(&self, command: &str) -> Option<usize> {
        let depth = self.trace.get(self.at)?.depth();
        let reaches = |statement: &Statement| match command {
            "stepIn" => true,
            "stepOut" => statement.depth() < depth,
            _ => statement.depth() <= depth,
        };
        self.trace
            .iter()
            .enumerate()
            .skip(self.at + 1)
            .find(|(_, statement)| reaches(statement))
            .map(|(index, _)| index)
    }
}

#[derive(Debug, Default)]
struct Session {
    seq: i64,
    outbox: Vec<Json>,
    replay: Option<Replay>,
    program_path: String,
    stop_on_entry: bool,
    function_breakpoints: Vec<(Breakpoint, Guard)>,
    data_breakpoints: Vec<(Breakpoint, Guard)>,
    /// Variables handed out since the last stop, by reference, and whether each is in the
    /// Document scope (where a data breakpoint can watch it).
    variables: HashMap<i64, (bool, Variable)>,
    inside: Option<Inside>,
    test: Option<TestRun>,
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
        let mut after: Option<Shown> = None;
        let answer = self.answer(&command, arguments, &mut after);
        let seq = self.next_seq();
        let mut response = json!({"seq": seq, "type": "response", "request_seq": request_seq,
            "command": command, "success": answer.is_ok()});
        match answer {
            Ok(body) => response["body"] = body,
            Err(message) => response["message"] = Json::String(message),
        }
        let launched = command == "launch" && response["success"] == true;
        self.outbox.push(response);
        let logs = self
            .replay
            .as_mut()
            .map(Replay::take_logs)
            .unwrap_or_default();
        for log in logs {
            self.event(
                "output",
                json!({"category": "console", "output": format!("{log}\n")}),
            );
        }
        // Configuration (breakpoints) follows the launch, so that it is checked against the
        // program.
        if launched {
            self.event("initialized", json!({}));
        }
        if let Some(shown) = after {
            self.stopped(shown);
        }
        command == "disconnect"
    }

    fn answer(&mut self, command: &str, arguments: &Json, after: &mut Option<Shown>) -> Answer {
        match command {
            "initialize" => Ok(capabilities()),
            "launch" => self.launch(arguments),
            "configurationDone" => {
                let stop_on_entry = self.stop_on_entry;
                self.replay_mut()?;
                *after = Some(if self.test.is_some() {
                    if stop_on_entry {
                        Shown::Code("entry")
                    } else {
                        self.test_continue(0)
                    }
                } else if stop_on_entry {
                    Shown::Replay(Stop::Edge)
                } else {
                    self.resume()?
                });
                Ok(json!({}))
            }
            "setBreakpoints" => self.set_line_breakpoints(arguments),
            "setFunctionBreakpoints" => self.set_function_breakpoints(arguments),
            "dataBreakpointInfo" => self.data_breakpoint_info(arguments),
            "setDataBreakpoints" => self.set_data_breakpoints(arguments),
            "setExceptionBreakpoints" => Ok(json!({})),
            "threads" => Ok(json!({"threads": [{"id": THREAD, "name": "document"}]})),
            "stackTrace" => self.stack_trace(),
            "scopes" => self.scopes(arguments),
            "variables" => self.variables(arguments),
            "next" | "stepIn" | "stepOut" | "stepBack" | "continue" | "reverseContinue" => {
                *after = Some(self.move_by(command)?);
                Ok(json!({}))
            }
            "gotoTargets" => self.goto_targets(arguments),
            "evaluate" => self.evaluate(arguments),
            "goto" => {
                let target = arguments
                    .get("targetId")
                    .and_then(Json::as_u64)
                    .ok_or("goto needs a targetId (a step number from gotoTargets)")?;
                if self.test.is_some() {
                    return Err("a test is stepped through statement by statement: `goto` \
                        jumps between the steps of a log"
                        .to_owned());
                }
                let replay = self.replay_mut()?;
                let step = usize::try_from(target)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(1);
                let stop = replay.goto(step)?;
                self.inside = None;
                *after = Some(Shown::Replay(stop));
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
        let test = text("test").filter(|_| text("log").is_none());
        let log_path = match test {
            Some(_) => "",
            None => text("log").ok_or(
                "launch needs `log` (the path of a log of transaction records, from `adama run \
                 --record LOG`) or `test` (the name of a test block to step through)",
            )?,
        };
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
        if let Some(test) = test {
            return self.launch_test(arguments, program_path, source, program, test);
        }
        let log = std::fs::read_to_string(log_path)
            .map_err(|error| format!("cannot read the log {log_path}: {error}"))?;
        let records = parse_log(&log).map_err(|error| format!("{log_path}: {error}"))?;
        let mut replay = Replay::new(Arc::clone(&program), records, DEFAULT_INTERVAL)
            .map_err(|error| format!("{log_path}: {error}"))?;
        replay.set_viewers(viewers(arguments)?);
        replay.set_source(Arc::from(source));
        replay.set_guarded_breakpoints(self.all_breakpoints());
        self.stop_on_entry = arguments
            .get("stopOnEntry")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        self.program_path = program_path.to_owned();
        // Line breakpoints belong to the program launched before; the client sets them again.
        self.inside = None;
        self.test = None;
        self.variables.clear();
        let steps = replay.len();
        self.replay = Some(replay);
        self.event(
            "output",
            json!({"category": "console",
                "output": format!("replaying {steps} transactions of {log_path} with {program_path}\n")}),
        );
        Ok(json!({}))
    }

    /// Launches a test block: runs it once on a fresh document, recording each statement with
    /// its locals and the document, and steps through that record.
    fn launch_test(
        &mut self,
        arguments: &Json,
        program_path: &str,
        source: String,
        program: Arc<adama_compiler::ir::Program>,
        test: &str,
    ) -> Answer {
        let recorder = Recorder::seeing();
        let Some(result) =
            adama_runtime::run_test_hooked(&program, test, Box::new(recorder.clone()))
        else {
            let names: Vec<&str> = program
                .tests
                .iter()
                .map(|test| test.name.as_str())
                .collect();
            return Err(format!(
                "{program_path} has no test block `{test}`; its tests: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        };
        let trace = locate_seen(&program, &source, &recorder.take(), recorder.take_seen());
        if trace.is_empty() {
            return Err(format!("the test block `{test}` runs no statement"));
        }
        let mut replay = Replay::new(Arc::clone(&program), Vec::new(), DEFAULT_INTERVAL)?;
        replay.set_viewers(viewers(arguments)?);
        replay.set_source(Arc::from(source));
        self.stop_on_entry = arguments
            .get("stopOnEntry")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        self.program_path = program_path.to_owned();
        self.variables.clear();
        self.inside = Some(Inside { trace, at: 0 });
        self.test = Some(TestRun {
            name: test.to_owned(),
            result,
        });
        self.replay = Some(replay);
        self.event(
            "output",
            json!({"category": "console",
                "output": format!("stepping through test {test} of {program_path}\n")}),
        );
        Ok(json!({}))
    }

    /// In a test: runs on from statement `from` to a line breakpoint, or to the test's end.
    fn test_continue(&mut self, from: usize) -> Shown {
        let (Some(replay), Some(inside)) = (self.replay.as_mut(), self.inside.as_mut()) else {
            return Shown::TestDone;
        };
        match replay.line_stop(&inside.trace, from) {
            Some(at) => {
                inside.at = at;
                Shown::Code("breakpoint")
            }
            None => Shown::TestDone,
        }
    }

    /// A move in a test's statements.
    fn move_in_test(&mut self, command: &str) -> Shown {
        let Some(inside) = self.inside.as_mut() else {
            return Shown::TestDone;
        };
        match command {
            "stepBack" => {
                inside.at = inside.at.saturating_sub(1);
                Shown::Code("step")
            }
            "reverseContinue" => {
                inside.at = 0;
                Shown::Code("step")
            }
            "continue" => {
                let from = inside.at + 1;
                self.test_continue(from)
            }
            _ => match self.step_inside(command) {
                Some(shown) => shown,
                None => Shown::TestDone,
            },
        }
    }

    /// `next`, `stepIn` or `stepOut` inside the code: to its target, or to a line breakpoint
    /// on the way (inside a call stepped over). `None` when the move leaves the code.
    fn step_inside(&mut self, command: &str) -> Option<Shown> {
        let (Some(replay), Some(inside)) = (self.replay.as_mut(), self.inside.as_mut()) else {
            return None;
        };
        let target = inside.target(command);
        let end = target.unwrap_or(inside.trace.len());
        if command != "stepIn"
            && let Some(at) = replay.line_stop_before(&inside.trace, inside.at + 1, end)
        {
            inside.at = at;
            return Some(Shown::Code("breakpoint"));
        }
        inside.at = target?;
        Some(Shown::Code("step"))
    }

    /// The end of a launched test: its result, as `adama test` reports it, then `terminated`.
    fn test_done(&mut self) {
        let Some(run) = &self.test else {
            return;
        };
        let result = &run.result;
        let mut text = format!(
            "test {}: {} ({} of {} assertions passed)\n",
            run.name,
            if result.succeeded() {
                "passed"
            } else {
                "FAILED"
            },
            result.passed,
            result.total
        );
        for log in &result.logs {
            text.push_str(&format!("  log: {log}\n"));
        }
        if let Some(error) = &result.error {
            text.push_str(&format!("  error: {error}\n"));
        }
        let category = if result.succeeded() {
            "console"
        } else {
            "stderr"
        };
        self.event("output", json!({"category": category, "output": text}));
        self.event("terminated", json!({}));
    }

    /// What frame `frame_id` at the stop inside the code sees (the running statement's frame
    /// when the id names no caller).
    fn seen(&self, frame_id: Option<i64>) -> Option<Arc<Seen>> {
        self.inside.as_ref()?.seen_in(frame_id)
    }

    /// A breakpoint's condition, hit count and log message, checked against the program.
    fn guard(&mut self, entry: &Json) -> Result<Guard, String> {
        let guard = Guard::from_dap(entry)?;
        if let Some(condition) = &guard.condition {
            self.replay_mut()?.check_condition(condition)?;
        }
        Ok(guard)
    }

    fn all_breakpoints(&self) -> Vec<(Breakpoint, Guard)> {
        let mut all = self.function_breakpoints.clone();
        all.extend(self.data_breakpoints.iter().cloned());
        all
    }

    fn set_function_breakpoints(&mut self, arguments: &Json) -> Answer {
        let program = Arc::clone(
            self.replay
                .as_ref()
                .ok_or(
                    "set function breakpoints after launch: their names are checked against the program",
                )?
                .program(),
        );
        let mut kept = Vec::new();
        let mut answers = Vec::new();
        for entry in list(arguments, "breakpoints") {
            let name = entry.get("name").and_then(Json::as_str).unwrap_or("");
            let parsed = Breakpoint::parse(name, &program)
                .and_then(|breakpoint| Ok((breakpoint, self.guard(entry)?)));
            match parsed {
                Ok(breakpoint) => {
                    kept.push(breakpoint);
                    answers.push(json!({"verified": true}));
                }
                Err(message) => answers.push(json!({"verified": false, "message": message})),
            }
        }
        self.function_breakpoints = kept;
        let all = self.all_breakpoints();
        self.replay_mut()?.set_guarded_breakpoints(all);
        Ok(json!({"breakpoints": answers}))
    }

    fn data_breakpoint_info(&self, arguments: &Json) -> Answer {
        let name = arguments.get("name").and_then(Json::as_str).unwrap_or("");
        let parent = arguments
            .get("variablesReference")
            .and_then(Json::as_i64)
            .and_then(|reference| self.variables.get(&reference));
        let path = match parent {
            Some((true, parent)) => {
                let mut path = parent.path.clone();
                path.push(name.to_owned());
                path.join(".")
            }
            Some((false, _)) => {
                return Ok(json!({"dataId": null,
                    "description": "only fields of the Document scope can be watched"}));
            }
            None => name.to_owned(),
        };
        Ok(
            json!({"dataId": path, "description": format!("the transactions that change {path}"),
            "accessTypes": ["write"], "canPersist": true}),
        )
    }

    fn set_data_breakpoints(&mut self, arguments: &Json) -> Answer {
        let mut kept = Vec::new();
        let mut answers = Vec::new();
        for entry in list(arguments, "breakpoints") {
            let Some(path) = entry.get("dataId").and_then(Json::as_str) else {
                answers.push(
                    json!({"verified": false, "message": "a data breakpoint needs a dataId"}),
                );
                continue;
            };
            match self.guard(entry) {
                Ok(guard) => {
                    kept.push((Breakpoint::Field(path.to_owned()), guard));
                    answers.push(json!({"verified": true}));
                }
                Err(message) => answers.push(json!({"verified": false, "message": message})),
            }
        }
        self.data_breakpoints = kept;
        let all = self.all_breakpoints();
        if let Some(replay) = self.replay.as_mut() {
            replay.set_guarded_breakpoints(all);
        }
        Ok(json!({"breakpoints": answers}))
    }

    /// The frames at the stop. Inside the code: the running statement's frame (id 1), then
    /// its callers' (2, 3...) up to the handler or test block, then the transaction's; between
    /// transactions, the transaction's alone.
    fn stack_trace(&mut self) -> Answer {
        let path = self.program_path.clone();
        let replay = self.replay_mut()?;
        let name = replay.label();
        let source = json!({"name": file_name(&path), "path": path});
        let mut frames = Vec::new();
        if let Some(inside) = &self.inside {
            for (index, frame) in inside.frames().into_iter().enumerate() {
                frames.push(json!({"id": FRAME + index as i64, "name": frame.name,
                    "line": frame.line, "column": frame.column, "source": source}));
            }
        }
        if self.test.is_none() {
            let id = FRAME + frames.len() as i64;
            frames.push(json!({"id": id, "name": name, "line": 0, "column": 0,
                "source": source, "presentationHint": "label"}));
        }
        let total = frames.len();
        Ok(json!({"stackFrames": frames, "totalFrames": total}))
    }

    fn scopes(&mut self, arguments: &Json) -> Answer {
        let frame_id = arguments.get("frameId").and_then(Json::as_i64);
        let mut scopes = self.replay_mut()?.scopes();
        if let Some(seen) = self.seen(frame_id) {
            // Inside the code the document, and each viewer's view of it, are as the statement
            // sees them, the code's changes so far included.
            let replay = self.replay_mut()?;
            let views = replay
                .has_viewers()
                .then(|| replay.views_of(&seen.document));
            for scope in &mut scopes {
                match scope.name {
                    "Document" => scope.value = seen.document.clone(),
                    "Views" => {
                        if let Some(views) = &views {
                            scope.value = views.clone();
                        }
                    }
                    _ => {}
                }
            }
            let locals: serde_json::Map<String, Json> = seen
                .locals
                .iter()
                .map(|local| (local.name.clone(), local.value.clone()))
                .collect();
            scopes.insert(
                0,
                crate::replay::Scope {
                    name: "Locals",
                    value: Json::Object(locals),
                },
            );
        }
        let mut listed = Vec::new();
        for scope in scopes {
            let variable = Variable {
                name: scope.name.to_owned(),
                path: Vec::new(),
                value: scope.value,
            };
            let reference = self.remember(scope.name == "Document", variable);
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
        let (in_document, parent) = self
            .variables
            .get(&reference)
            .cloned()
            .ok_or("this variable is gone: the debugger moved since it was shown")?;
        let mut listed = Vec::new();
        for child in parent.children() {
            let shown = preview(&child.value);
            let name = child.name.clone();
            let reference = if child.expandable() {
                self.remember(in_document, child)
            } else {
                0
            };
            listed.push(json!({"name": name, "value": shown, "variablesReference": reference}));
        }
        Ok(json!({"variables": listed}))
    }

    fn remember(&mut self, in_document: bool, variable: Variable) -> i64 {
        let reference = i64::try_from(self.variables.len()).unwrap_or(i64::MAX - 1) + 1;
        self.variables.insert(reference, (in_document, variable));
        reference
    }

    /// A move, inside a transaction's statements or between transactions.
    fn move_by(&mut self, command: &str) -> Result<Shown, String> {
        self.replay_mut()?;
        if self.test.is_some() {
            return Ok(self.move_in_test(command));
        }
        if self.inside.is_some()
            && matches!(command, "next" | "stepIn" | "stepOut")
            && let Some(shown) = self.step_inside(command)
        {
            return Ok(shown);
        }
        if let Some(inside) = &mut self.inside {
            match command {
                "stepBack" if inside.at > 0 => {
                    inside.at -= 1;
                    return Ok(Shown::Code("step"));
                }
                "stepBack" => {
                    // Back out of the code to the transaction, which has not run.
                    self.inside = None;
                    return Ok(Shown::Replay(Stop::Step));
                }
                "continue" => {
                    let replay = self.replay.as_mut().ok_or("no log is loaded")?;
                    if let Some(at) = replay.line_stop(&inside.trace, inside.at + 1) {
                        inside.at = at;
                        return Ok(Shown::Code("breakpoint"));
                    }
                }
                _ => {}
            }
            self.inside = None;
            if command == "reverseContinue" {
                return Ok(Shown::Replay(self.replay_mut()?.reverse()));
            }
            // Leaving the code runs the rest of the transaction.
            let stop = self.replay_mut()?.step_forward();
            if command != "continue" || matches!(stop, Stop::Divergence(_) | Stop::Edge) {
                return Ok(Shown::Replay(stop));
            }
            return self.resume();
        }
        let replay = self.replay_mut()?;
        match command {
            "stepIn" => {
                let trace = replay.trace()?;
                if trace.is_empty() {
                    return Ok(Shown::Replay(replay.step_forward()));
                }
                self.inside = Some(Inside { trace, at: 0 });
                Ok(Shown::Code("step"))
            }
            "stepBack" => Ok(Shown::Replay(replay.step_back())),
            "continue" => self.resume(),
            "reverseContinue" => Ok(Shown::Replay(replay.reverse())),
            _ => Ok(Shown::Replay(replay.step_forward())),
        }
    }

    /// Runs forward; a line breakpoint stops inside the transaction that reaches it.
    fn resume(&mut self) -> Result<Shown, String> {
        match self.replay_mut()?.resume() {
            Stop::Line { trace, at } => {
                // Run once more, keeping what each statement sees, to show locals. That run
                // starts without the formulas the live document had cached, so it may compute
                // more of them: the stop is the same occurrence of the same statement.
                let (trace, at) = match self.replay_mut()?.trace() {
                    Ok(seen) => match same_occurrence(&trace, at, &seen) {
                        Some(found) => (seen, found),
                        None => (trace, at),
                    },
                    Err(_) => (trace, at),
                };
                self.inside = Some(Inside { trace, at });
                Ok(Shown::Code("breakpoint"))
            }
            stop => Ok(Shown::Replay(stop)),
        }
    }

    fn set_line_breakpoints(&mut self, arguments: &Json) -> Answer {
        let program_path = self.program_path.clone();
        let replay = self
            .replay
            .as_ref()
            .ok_or("set breakpoints after launch: their lines are checked against the program")?;
        let path = arguments
            .get("source")
            .and_then(|source| source.get("path"))
            .and_then(Json::as_str)
            .unwrap_or("");
        let same = same_file(path, &program_path);
        let statements = replay.statement_lines();
        let mut kept = Vec::new();
        let mut answers = Vec::new();
        for entry in list(arguments, "breakpoints") {
            let line = entry.get("line").and_then(Json::as_u64).unwrap_or(0);
            let line = usize::try_from(line).unwrap_or(0);
            let guard = Guard::from_dap(entry).and_then(|guard| {
                if let Some(condition) = &guard.condition {
                    self.replay_mut()?.check_line_condition(line, condition)?;
                }
                Ok(guard)
            });
            if !same {
                answers.push(json!({"verified": false, "line": line,
                    "message": format!("breakpoints stop in the launched program, {program_path}")}));
            } else if !statements.contains(&line) {
                answers.push(json!({"verified": false, "line": line,
                    "message": format!("no statement starts on line {line}: put the breakpoint on a statement inside a handler, a function or a state")}));
            } else {
                match guard {
                    Ok(guard) => {
                        kept.push((line, guard));
                        answers.push(json!({"verified": true, "line": line}));
                    }
                    Err(message) => {
                        answers.push(json!({"verified": false, "line": line, "message": message}));
                    }
                }
            }
        }
        if same {
            self.replay_mut()?.set_guarded_lines(kept);
        }
        Ok(json!({"breakpoints": answers}))
    }

    /// Evaluates an Adama expression on the document at the stop (watch, REPL and hover).
    fn evaluate(&mut self, arguments: &Json) -> Answer {
        let expression = arguments
            .get("expression")
            .and_then(Json::as_str)
            .ok_or("evaluate needs an `expression`")?;
        let frame_id = arguments.get("frameId").and_then(Json::as_i64);
        let seen = self.seen(frame_id);
        let evaluated = match &seen {
            Some(seen) => match local_path(seen, expression) {
                Some(evaluated) => evaluated,
                None => self.replay_mut()?.evaluate_on(expression, seen)?,
            },
            None => self.replay_mut()?.evaluate(expression)?,
        };
        let result = preview(&evaluated.value);
        let variable = Variable {
            name: expression.to_owned(),
            path: Vec::new(),
            value: evaluated.value,
        };
        let reference = if variable.expandable() {
            self.remember(false, variable)
        } else {
            0
        };
        Ok(json!({"result": result, "type": evaluated.ty, "variablesReference": reference}))
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

    fn stopped(&mut self, shown: Shown) {
        self.variables.clear();
        let stop = match shown {
            Shown::Replay(stop) => stop,
            Shown::TestDone => {
                self.test_done();
                return;
            }
            Shown::Code(reason) => {
                let label = self
                    .inside
                    .as_ref()
                    .and_then(|inside| inside.trace.get(inside.at))
                    .map(|statement| format!("{} (line {})", statement.frame, statement.line))
                    .unwrap_or_default();
                self.event(
                    "stopped",
                    json!({"reason": reason, "threadId": THREAD,
                    "allThreadsStopped": true, "description": label}),
                );
                return;
            }
        };
        let (reason, text) = match &stop {
            Stop::Step => ("step", None),
            Stop::Breakpoint(_) => ("breakpoint", None),
            Stop::Edge => ("entry", None),
            Stop::Divergence(divergence) => ("exception", Some(divergence.to_string())),
            Stop::Line { .. } => ("breakpoint", None),
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
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsEvaluateForHovers": true,
        "supportsTerminateRequest": true,
        "supportsSteppingGranularity": false,
    })
}

/// A local, or a field path from one (`b.by`), read from what the statement sees; `None`
/// when the expression is anything else, for the compiler to type.
fn local_path(seen: &Seen, expression: &str) -> Option<crate::watch::Evaluated> {
    let mut parts = expression.trim().split('.').map(str::trim);
    let local = seen.local(parts.next()?)?;
    let mut value = &local.value;
    let mut path_ty = local.ty.clone();
    for part in parts {
        if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        value = value.get(part)?;
        path_ty = String::new();
    }
    Some(crate::watch::Evaluated {
        value: value.clone(),
        ty: path_ty,
    })
}

/// Where, in `other`, the statement at `at` of `trace` is: the same statement, run as many
/// times before.
fn same_occurrence(trace: &[Statement], at: usize, other: &[Statement]) -> Option<usize> {
    let stop = trace.get(at)?;
    let same = |statement: &&Statement| statement.unit == stop.unit && statement.stmt == stop.stmt;
    let before = trace[..at].iter().filter(same).count();
    other
        .iter()
        .enumerate()
        .filter(|(_, statement)| same(statement))
        .nth(before)
        .map(|(index, _)| index)
}

fn list<'a>(arguments: &'a Json, key: &str) -> &'a [Json] {
    arguments
        .get(key)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The launch's `viewers`: the principals whose views the Views scope shows.
fn viewers(arguments: &Json) -> Result<Vec<Principal>, String> {
    match arguments.get("viewers") {
        Some(Json::Array(items)) => items.iter().map(viewer).collect(),
        Some(_) => Err(
            "`viewers` is a list of principals, as \"agent/authority\" or {\"agent\", \"authority\"}"
                .to_owned(),
        ),
        None => Ok(Vec::new()),
    }
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

/// Whether two paths name one file, as far as the client's spelling allows.
fn same_file(left: &str, right: &str) -> bool {
    match (std::fs::canonicalize(left), std::fs::canonicalize(right)) {
        (Ok(left), Ok(right)) => left == right,
        _ => left == right,
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}
