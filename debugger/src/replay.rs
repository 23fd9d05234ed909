//! The replay model: a program, its log, and a position in the log's history.
//!
//! Position `p` (0 ..= the number of records) stands before transaction `p`: the document is
//! the state the first `p` records left, and the message is transaction `p`'s command. Moving
//! is cheap because the log carries every delta: forward applies a redo, back applies an undo,
//! and a jump starts from the nearest checkpoint (a copy of the stored document) and applies the
//! redos after it. A checkpoint is taken once the redos since the last one weigh as much as the
//! document itself, so a jump costs about two copies of the document whatever the log's length,
//! and all checkpoints together weigh no more than the log. Stepping forward also
//! re-executes the command through the runtime on a live document and compares its redo with
//! the recorded one: a difference is a divergence, where the program and the log part ways.

use std::fmt;
use std::sync::Arc;

use adama_compiler::ir::{Program, RecordId};
use adama_runtime::{
    Document, Loaded, Principal, StatementState, TransactionRecord, apply_patch, principal_json,
};
use serde_json::{Value as Json, json};

use crate::code::{
    Local, Ran, Recorder, Seen, Statement, field_type, held_type, locate, locate_seen, slot_names,
};
use crate::guard::{Guard, Verdict};
use crate::log::describe_command;
use crate::tree::patch_touches;
use crate::watch::{Evaluated, Watcher};

/// The default bound on the steps between checkpoints: none beyond the weight rule.
pub const DEFAULT_INTERVAL: usize = usize::MAX;

/// Why a log cannot be replayed by a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignLog {
    pub fields: Vec<String>,
    pub first_line: usize,
}

impl fmt::Display for ForeignLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the log does not belong to this program: line {} writes the field{} {} that the \
             program does not declare; open the program the log was recorded with",
            self.first_line,
            if self.fields.len() == 1 { "" } else { "s" },
            self.fields
                .iter()
                .map(|field| format!("`{field}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A transaction whose re-execution does not give the recorded redo.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// The index of the transaction in the log (0-based).
    pub step: usize,
    pub recorded: Json,
    /// The redo the program gives now, or the error it stops with.
    pub replayed: Result<Json, String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "step {} diverges from the log", self.step + 1)?;
        writeln!(f, "  recorded redo: {}", self.recorded)?;
        match &self.replayed {
            Ok(redo) => write!(f, "  replayed redo: {redo}"),
            Err(error) => write!(f, "  replayed: the command fails: {error}"),
        }
    }
}

/// Where continuing stops: before a transaction that matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakpoint {
    /// Before the transaction at this index (0-based).
    Step(usize),
    /// Before each command of this kind (`connect`, `send`...).
    Command(String),
    /// Before each message sent to this channel.
    Channel(String),
    /// Before each transaction whose redo changes the field at this dotted path.
    Field(String),
}

impl Breakpoint {
    /// Reads a breakpoint as a user writes it: `#12` (a step, 1-based as shown), a command kind,
    /// `field:score`, or a channel's name. An unknown name is an error that lists the choices.
    pub fn parse(text: &str, program: &Program) -> Result<Breakpoint, String> {
        let text = text.trim();
        if let Some(number) = text.strip_prefix('#') {
            return match number.trim().parse::<usize>() {
                Ok(step) if step >= 1 => Ok(Breakpoint::Step(step - 1)),
                _ => Err(format!("`{text}`: a step is written `#N` with N from 1")),
            };
        }
        if let Some(field) = text.strip_prefix("field:") {
            return Ok(Breakpoint::Field(field.trim().to_owned()));
        }
        const COMMANDS: [&str; 13] = [
            "construct",
            "connect",
            "disconnect",
            "send",
            "invalidate",
            "apply",
            "load",
            "delete",
            "attach",
            "expire",
            "web_put",
            "web_delete",
            "password",
        ];
        if COMMANDS.contains(&text) {
            return Ok(Breakpoint::Command(text.to_owned()));
        }
        if program.handlers.contains_key(text) || program.async_channels.contains_key(text) {
            return Ok(Breakpoint::Channel(text.to_owned()));
        }
        let mut channels: Vec<&str> = program
            .handlers
            .keys()
            .chain(program.async_channels.keys())
            .map(String::as_str)
            .collect();
        channels.sort_unstable();
        Err(format!(
            "`{text}` is not a channel of the program nor a command; write a channel ({}), a \
             command (send, connect...), `#N` for a step or `field:NAME` for a field",
            channels.join(", ")
        ))
    }

    fn matches(&self, step: usize, record: &TransactionRecord) -> bool {
        let text = |key: &str| record.command.get(key).and_then(Json::as_str);
        match self {
            Breakpoint::Step(at) => *at == step,
            Breakpoint::Command(kind) => text("command") == Some(kind.as_str()),
            Breakpoint::Channel(channel) => text("channel") == Some(channel.as_str()),
            Breakpoint::Field(path) => {
                let parts: Vec<&str> = path.split('.').collect();
                patch_touches(&record.redo, &parts)
            }
        }
    }
}

/// Why the replay stopped where it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A plain move (a step or a jump).
    Step,
    /// Before a transaction a breakpoint matches (the index of the breakpoint).
    Breakpoint(usize),
    /// At the start or the end of the log.
    Edge,
    /// After a transaction whose re-execution diverged.
    Divergence(Divergence),
    /// Before a transaction whose code reaches a line breakpoint: the statements it runs and
    /// the index of the first on a breakpoint's line.
    Line { trace: Vec<Statement>, at: usize },
}

/// A named tree of values shown at a stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub name: &'static str,
    pub value: Json,
}

/// A program replaying a log.
#[derive(Debug)]
pub struct Replay {
    loaded: Arc<Loaded>,
    space: String,
    key: String,
    records: Vec<TransactionRecord>,
    /// Copies of the stored document before some transactions, by step, in order; the first is
    /// at step 0.
    checkpoints: Vec<(usize, Json)>,
    position: usize,
    /// The stored document at `position`, as the log recorded it.
    state: Json,
    /// A document of the program at `position`, when one is built: kept across forward steps
    /// that reproduce, rebuilt from `state` when needed after anything else.
    live: Option<Document>,
    breakpoints: Vec<(Breakpoint, Guard)>,
    viewers: Vec<Principal>,
    /// The last divergence found, shown until the next move.
    divergence: Option<Divergence>,
    /// The program's source text, to place statements; without it there is no stepping in.
    source: Option<Arc<str>>,
    /// Source lines with a breakpoint, checked as transactions run.
    lines: Vec<(usize, Guard)>,
    recorder: Recorder,
    /// Evaluates expressions on the document, once the source is given.
    watcher: Option<Watcher>,
    /// What logpoints printed since the last time they were taken.
    logs: Vec<String>,
}

impl Replay {
    /// Loads a log for a program, checking that the log writes only fields the program declares.
    /// Checkpoints are at most `interval` steps apart ([`DEFAULT_INTERVAL`]: by weight only).
    pub fn new(
        program: Arc<Program>,
        records: Vec<TransactionRecord>,
        interval: usize,
    ) -> Result<Replay, String> {
        check_fields(&program, &records).map_err(|foreign| foreign.to_string())?;
        let loaded = Loaded::new(program);
        let (space, key) = ("space".to_owned(), "key".to_owned());
        let empty = Document::of_loaded(Arc::clone(&loaded), &space, &key)
            .map_err(|fault| format!("the program cannot create a document: {fault}"))?;
        let initial = empty.dump();
        let interval = interval.max(1);
        let mut checkpoints = vec![(0, initial.clone())];
        let mut state = initial.clone();
        let mut document_weight = weight(&state);
        let (mut since_weight, mut since_steps) = (0, 0);
        for (step, record) in records.iter().enumerate() {
            if step > 0 && (since_weight >= document_weight || since_steps >= interval) {
                checkpoints.push((step, state.clone()));
                document_weight = weight(&state);
                (since_weight, since_steps) = (0, 0);
            }
            redo(&mut state, &record.redo);
            since_weight += weight(&record.redo);
            since_steps += 1;
        }
        Ok(Replay {
            loaded,
            space,
            key,
            records,
            checkpoints,
            position: 0,
            state: initial,
            live: Some(empty),
            breakpoints: Vec::new(),
            viewers: Vec::new(),
            divergence: None,
            source: None,
            lines: Vec::new(),
            recorder: Recorder::default(),
            watcher: None,
            logs: Vec::new(),
        })
    }

    /// The number of transactions in the log.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the log is empty (a loaded replay never is).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The position: how many transactions the document has seen.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The transaction about to run, if the position is not the end.
    pub fn current(&self) -> Option<&TransactionRecord> {
        self.records.get(self.position)
    }

    /// The stored document at the position.
    pub fn document(&self) -> &Json {
        &self.state
    }

    /// The divergence the last move found, if any.
    pub fn divergence(&self) -> Option<&Divergence> {
        self.divergence.as_ref()
    }

    /// The program being replayed.
    pub fn program(&self) -> &Arc<Program> {
        self.loaded.program()
    }

    /// Replaces the breakpoints.
    pub fn set_breakpoints(&mut self, breakpoints: Vec<Breakpoint>) {
        self.set_guarded_breakpoints(
            breakpoints
                .into_iter()
                .map(|breakpoint| (breakpoint, Guard::default()))
                .collect(),
        );
    }

    /// Replaces the breakpoints, each with its condition, hit count or log message.
    pub fn set_guarded_breakpoints(&mut self, breakpoints: Vec<(Breakpoint, Guard)>) {
        self.breakpoints = breakpoints;
    }

    /// Evaluates an Adama expression on the document at the position (the document before the
    /// transaction about to run, also while stepping through its code).
    pub fn evaluate(&mut self, expression: &str) -> Result<Evaluated, String> {
        let watcher = self
            .watcher
            .as_mut()
            .ok_or("the program's source is not loaded, so expressions cannot be evaluated")?;
        watcher.evaluate(expression, &self.state)
    }

    /// Evaluates an Adama expression on another stored document of the program (the document
    /// as a statement inside the code sees it).
    pub fn evaluate_on(&mut self, expression: &str, seen: &Seen) -> Result<Evaluated, String> {
        let watcher = self
            .watcher
            .as_mut()
            .ok_or("the program's source is not loaded, so expressions cannot be evaluated")?;
        watcher.evaluate_with(expression, &seen.document, &seen.locals)
    }

    /// Checks that a breakpoint's condition type-checks as a bool (on the document at the
    /// position), so that a mistake shows when the breakpoint is set.
    pub fn check_condition(&mut self, expression: &str) -> Result<(), String> {
        let watcher = self
            .watcher
            .as_mut()
            .ok_or("the program's source is not loaded, so conditions cannot be checked")?;
        watcher.condition(expression, &self.state, &[]).map(|_| ())
    }

    /// Checks that a line breakpoint's condition type-checks as a bool with the locals of the
    /// code on that line in scope.
    pub fn check_line_condition(&mut self, line: usize, expression: &str) -> Result<(), String> {
        let program = Arc::clone(self.loaded.program());
        let mut locals: Vec<Local> = Vec::new();
        for unit in self.units_on_line(line) {
            for named in slot_names(&program, unit) {
                locals.push(Local {
                    held: held_type(&program, &named.ty, &named.name),
                    name: named.name,
                    ty: named.ty.to_string(),
                    value: Json::Null,
                    field_type: field_type(&program, &named.ty),
                });
            }
        }
        let watcher = self
            .watcher
            .as_mut()
            .ok_or("the program's source is not loaded, so conditions cannot be checked")?;
        if let Some(local) = locals.iter().find(|local| local.name == expression.trim()) {
            return match local.ty.as_str() {
                "bool" => Ok(()),
                ty => Err(format!(
                    "the condition `{}` is a {ty}, not a bool",
                    local.name
                )),
            };
        }
        match watcher.type_of(expression, &locals)?.as_str() {
            "bool" => Ok(()),
            ty => Err(format!(
                "the condition `{}` is a {ty}, not a bool; write a comparison such as `score > 3`",
                expression.trim()
            )),
        }
    }

    /// The code units with a statement on a 1-based source line.
    fn units_on_line(&self, line: usize) -> Vec<u32> {
        let mut units: Vec<u32> = self
            .all_statements()
            .into_iter()
            .filter(|statement| statement.line == line)
            .map(|statement| statement.unit)
            .collect();
        units.dedup();
        units
    }

    /// What logpoints printed since the last call.
    pub fn take_logs(&mut self) -> Vec<String> {
        std::mem::take(&mut self.logs)
    }

    /// Gives the program's source text, which places the statements a transaction runs.
    pub fn set_source(&mut self, source: Arc<str>) {
        self.watcher = Some(Watcher::new(Arc::clone(&source), self.loaded.program()));
        self.source = Some(source);
    }

    /// Replaces the source lines where continuing stops inside a transaction's code.
    pub fn set_line_breakpoints(&mut self, lines: Vec<usize>) {
        self.set_guarded_lines(
            lines
                .into_iter()
                .map(|line| (line, Guard::default()))
                .collect(),
        );
    }

    /// Replaces the line breakpoints, each with its condition, hit count or log message.
    pub fn set_guarded_lines(&mut self, lines: Vec<(usize, Guard)>) {
        self.lines = lines;
    }

    /// The first statement of `trace` from `from` on whose line breakpoint stops, checked on
    /// the document before the transaction (the position); logpoints on the way print.
    pub fn line_stop(&mut self, trace: &[Statement], from: usize) -> Option<usize> {
        self.line_stop_before(trace, from, trace.len())
    }

    /// As [`Replay::line_stop`], among the statements `from..to` of `trace` only.
    pub fn line_stop_before(
        &mut self,
        trace: &[Statement],
        from: usize,
        to: usize,
    ) -> Option<usize> {
        for (index, statement) in trace.iter().enumerate().take(to).skip(from) {
            for at in 0..self.lines.len() {
                if self.lines[at].0 != statement.line {
                    continue;
                }
                let (document, locals) = match &statement.state {
                    Some(seen) => (&seen.document, seen.locals.as_slice()),
                    None => (&self.state, &[][..]),
                };
                let verdict = self.lines[at]
                    .1
                    .check(self.watcher.as_mut(), document, locals);
                match verdict {
                    Verdict::Pass => {}
                    Verdict::Log(message) => self.logs.push(message),
                    Verdict::Stop(note) => {
                        self.logs
                            .extend(note.map(|note| format!("line {}: {note}", statement.line)));
                        return Some(index);
                    }
                }
            }
        }
        None
    }

    /// The 1-based lines that hold a statement of the program: where a line breakpoint can stop.
    pub fn statement_lines(&self) -> Vec<usize> {
        let mut lines: Vec<usize> = self
            .all_statements()
            .into_iter()
            .map(|statement| statement.line)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// Every statement of the program, placed in the source.
    fn all_statements(&self) -> Vec<Statement> {
        let Some(source) = &self.source else {
            return Vec::new();
        };
        let program = self.loaded.program();
        let all: Vec<Ran> = (0..program.units.len())
            .flat_map(|unit| {
                let count = program.units[unit].item.body.stmts.len();
                let unit = u32::try_from(unit).unwrap_or(u32::MAX);
                (0..count).map(move |stmt| Ran::Statement {
                    unit,
                    stmt: u32::try_from(stmt).unwrap_or(u32::MAX),
                })
            })
            .collect();
        locate(program, source, &all)
    }

    /// The statements the transaction at the position runs, in order, re-executed on a copy of
    /// the document before it (the replay does not move).
    pub fn trace(&self) -> Result<Vec<Statement>, String> {
        let record = self
            .current()
            .ok_or("the end of the log: no transaction is left to step into")?;
        if adama_runtime::is_redacted(&record.command) {
            return Err(
                "this transaction's secret (a new password) is not kept in the log, so its \
                 statements cannot run again; step over it to apply what it recorded"
                    .to_owned(),
            );
        }
        let source = self
            .source
            .as_ref()
            .ok_or("the program's source is not loaded, so its statements cannot be shown")?;
        let mut document = Document::of_loaded(Arc::clone(&self.loaded), &self.space, &self.key)
            .map_err(|fault| format!("cannot rebuild the document: {fault}"))?;
        document.insert(&self.state);
        let recorder = Recorder::seeing();
        document.set_hook(Some(Box::new(recorder.clone())));
        // A command that fails now still ran its statements up to the failure: they are shown.
        let _ = document.execute_batch(&record.command);
        Ok(locate_seen(
            self.loaded.program(),
            source,
            &recorder.take(),
            recorder.take_seen(),
        ))
    }

    /// Chooses the principals whose views the Views scope shows.
    pub fn set_viewers(&mut self, viewers: Vec<Principal>) {
        self.viewers = viewers;
    }

    /// A one-line label of the position: `step 3/7: send bump by ann/acme`.
    pub fn label(&self) -> String {
        match self.current() {
            Some(record) => format!(
                "step {}/{}: {}",
                self.position + 1,
                self.records.len(),
                describe_command(&record.command)
            ),
            None => format!("end of the log ({} steps)", self.records.len()),
        }
    }

    /// The label of a step (0-based), for a jump target; `None` past the end.
    pub fn goto_label(&self, step: usize) -> Option<String> {
        match self.records.get(step) {
            Some(record) => Some(format!(
                "step {}/{}: {}",
                step + 1,
                self.records.len(),
                describe_command(&record.command)
            )),
            None if step == self.records.len() => Some("end of the log".to_owned()),
            None => None,
        }
    }

    /// Runs the transaction at the position and moves past it, checking that it reproduces.
    pub fn step_forward(&mut self) -> Stop {
        self.divergence = None;
        if self.position >= self.records.len() {
            return Stop::Edge;
        }
        match self.advance() {
            Some(divergence) => {
                self.divergence = Some(divergence.clone());
                Stop::Divergence(divergence)
            }
            None => Stop::Step,
        }
    }

    /// Moves back before the previous transaction.
    pub fn step_back(&mut self) -> Stop {
        self.divergence = None;
        if self.position == 0 {
            return Stop::Edge;
        }
        self.retreat();
        Stop::Step
    }

    /// Runs forward, re-executing each transaction, until a breakpoint, a divergence or the end.
    pub fn resume(&mut self) -> Stop {
        self.divergence = None;
        while self.position < self.records.len() {
            let tracing = !self.lines.is_empty() && self.source.is_some();
            // Conditions and log messages may read locals: then each statement's state is kept.
            let seeing = self
                .lines
                .iter()
                .any(|(_, guard)| guard.condition.is_some() || guard.log.is_some());
            if seeing {
                self.recorder = Recorder::seeing();
            } else if self.recorder.wants_state() {
                self.recorder = Recorder::default();
            }
            let recorder = self.recorder.clone();
            if tracing && let Ok(live) = self.live_document() {
                live.set_hook(Some(Box::new(recorder)));
            }
            let diverged = self.advance();
            let ran = self.recorder.take();
            let seen = self.recorder.take_seen();
            if let Some(live) = &mut self.live {
                live.set_hook(None);
            }
            if let Some(divergence) = diverged {
                self.divergence = Some(divergence.clone());
                return Stop::Divergence(divergence);
            }
            if tracing && let Some(stop) = self.line_hit(&ran, seen) {
                return stop;
            }
            if let Some(hit) = self.breakpoint_here() {
                return Stop::Breakpoint(hit);
            }
        }
        Stop::Edge
    }

    /// Runs backward until a breakpoint or the start.
    pub fn reverse(&mut self) -> Stop {
        self.divergence = None;
        while self.position > 0 {
            self.retreat();
            if let Some(hit) = self.breakpoint_here() {
                return Stop::Breakpoint(hit);
            }
        }
        Stop::Edge
    }

    /// Jumps before transaction `step` (0 ..= the number of records), from the nearest checkpoint.
    pub fn goto(&mut self, step: usize) -> Result<Stop, String> {
        if step > self.records.len() {
            return Err(format!(
                "step {} is past the end of the log, which has {} steps",
                step + 1,
                self.records.len()
            ));
        }
        self.divergence = None;
        let at = self
            .checkpoints
            .partition_point(|(checkpoint, _)| *checkpoint <= step);
        let (from, checkpoint) = &self.checkpoints[at.saturating_sub(1)];
        let mut state = checkpoint.clone();
        for record in &self.records[*from..step] {
            redo(&mut state, &record.redo);
        }
        self.state = state;
        self.position = step;
        self.live = None;
        Ok(Stop::Step)
    }

    /// The trees shown at the position: the transaction, its message, the document, each
    /// viewer's view, and the divergence when there is one.
    pub fn scopes(&mut self) -> Vec<Scope> {
        let mut scopes = Vec::new();
        if let Some(record) = self.current() {
            let message = record
                .command
                .get("message")
                .or_else(|| record.command.get("arg"))
                .cloned()
                .unwrap_or(Json::Null);
            scopes.push(Scope {
                name: "Message",
                value: message,
            });
            scopes.push(Scope {
                name: "Transaction",
                value: json!({
                    "step": self.position + 1,
                    "seq": record.seq,
                    "time": record.time,
                    "command": *record.command,
                    "redo": record.redo,
                    "undo": record.undo,
                }),
            });
        }
        scopes.push(Scope {
            name: "Document",
            value: self.state.clone(),
        });
        if !self.viewers.is_empty() {
            scopes.push(Scope {
                name: "Views",
                value: self.views(),
            });
        }
        if let Some(divergence) = &self.divergence {
            scopes.push(Scope {
                name: "Divergence",
                value: json!({
                    "step": divergence.step + 1,
                    "recorded": divergence.recorded,
                    "replayed": match &divergence.replayed {
                        Ok(redo) => redo.clone(),
                        Err(error) => json!({"error": error}),
                    },
                }),
            });
        }
        scopes
    }

    /// Each chosen viewer's view of the document at the position, by `agent/authority`.
    fn views(&mut self) -> Json {
        let viewers = self.viewers.clone();
        match self.live_document() {
            Ok(document) => views_on(document, viewers),
            Err(error) => json!({ "error": error }),
        }
    }

    /// Whether the Views scope is shown: some viewers were chosen.
    pub fn has_viewers(&self) -> bool {
        !self.viewers.is_empty()
    }

    /// Each chosen viewer's view of another stored document of the program: the document as
    /// a statement inside the code sees it, the code's changes so far included.
    pub fn views_of(&self, state: &Json) -> Json {
        match Document::of_loaded(Arc::clone(&self.loaded), &self.space, &self.key) {
            Ok(mut document) => {
                document.insert(state);
                views_on(&mut document, self.viewers.clone())
            }
            Err(fault) => json!({ "error": format!("cannot rebuild the document: {fault}") }),
        }
    }

    /// The live document at the position, rebuilt from the recorded state when needed.
    fn live_document(&mut self) -> Result<&mut Document, String> {
        match &mut self.live {
            Some(document) => Ok(document),
            slot => {
                let mut document =
                    Document::of_loaded(Arc::clone(&self.loaded), &self.space, &self.key)
                        .map_err(|fault| format!("cannot rebuild the document: {fault}"))?;
                document.insert(&self.state);
                Ok(slot.insert(document))
            }
        }
    }

    /// Executes the transaction at the position and moves past it; the recorded state wins, so
    /// one divergence does not spread to the steps after it.
    fn advance(&mut self) -> Option<Divergence> {
        let step = self.position;
        let record = &self.records[step];
        if adama_runtime::is_redacted(&record.command) {
            // Its secret is not in the log, so it cannot run again: what it did is applied as
            // recorded, to the live document as well, and nothing can diverge.
            self.reapply();
            return None;
        }
        let recorded = record.redo.clone();
        let command = Arc::clone(&record.command);
        let replayed = self.live_document().and_then(|document| {
            let result = document.execute_batch(&command);
            // What the code asks of a host (a kick, a view-state push) is the node's business
            // when it first ran; a replay drops it rather than keep it.
            document.take_host_requests();
            result
                .map(|record| record.redo)
                .map_err(|error| format!("{} (code {})", error.message, error.code))
        });
        redo(&mut self.state, &recorded);
        self.position += 1;
        if replayed.as_ref() == Ok(&recorded) {
            return None;
        }
        self.live = None;
        Some(Divergence {
            step,
            recorded,
            replayed,
        })
    }

    /// Moves back one transaction: the undo applies to the recorded state and, loaded like a
    /// patch of a stored document, to the live document, so stepping back and forth re-executes
    /// without rebuilding it.
    fn retreat(&mut self) {
        self.position -= 1;
        let undo = &self.records[self.position].undo;
        apply_patch(&mut self.state, undo);
        if let Some(live) = &mut self.live {
            live.insert(undo);
        }
    }

    /// After a transaction ran: the stop at the first statement whose line breakpoint stops,
    /// back before the transaction; or, when none stops, still after it.
    fn line_hit(&mut self, ran: &[Ran], seen: Vec<StatementState>) -> Option<Stop> {
        let source = self.source.as_ref()?;
        let trace = locate_seen(self.loaded.program(), source, ran, seen);
        let reached = trace
            .iter()
            .any(|statement| self.lines.iter().any(|(line, _)| *line == statement.line));
        if !reached {
            return None;
        }
        // Conditions see the document the code starts from.
        self.retreat();
        match self.line_stop(&trace, 0) {
            Some(at) => Some(Stop::Line { trace, at }),
            None => {
                self.reapply();
                None
            }
        }
    }

    /// Moves forward over the transaction at the position without re-executing it, the
    /// reverse of [`Replay::retreat`].
    fn reapply(&mut self) {
        let patch = &self.records[self.position].redo;
        redo(&mut self.state, patch);
        if let Some(live) = &mut self.live {
            live.insert(patch);
        }
        self.position += 1;
    }

    fn breakpoint_here(&mut self) -> Option<usize> {
        let record = self.records.get(self.position)?;
        for at in 0..self.breakpoints.len() {
            if !self.breakpoints[at].0.matches(self.position, record) {
                continue;
            }
            let verdict = self.breakpoints[at]
                .1
                .check(self.watcher.as_mut(), &self.state, &[]);
            match verdict {
                Verdict::Pass => {}
                Verdict::Log(message) => self.logs.push(message),
                Verdict::Stop(note) => {
                    self.logs.extend(note);
                    return Some(at);
                }
            }
        }
        None
    }
}

/// Each viewer's view of `document`, by `agent/authority`.
fn views_on(document: &mut Document, viewers: Vec<Principal>) -> Json {
    let mut views = serde_json::Map::new();
    for who in viewers {
        let name = who.key();
        let view = document.open_view(who.clone(), json!({}));
        let shown = match document.view_delta(view) {
            Ok(delta) => delta.get("data").cloned().unwrap_or(delta),
            Err(fault) => json!({"error": fault.to_string(), "who": principal_json(&who)}),
        };
        document.close_view(view);
        views.insert(name, shown);
    }
    Json::Object(views)
}

/// How many JSON values a value holds: the cost of copying it or applying it, roughly.
fn weight(value: &Json) -> usize {
    match value {
        Json::Object(map) => 1 + map.values().map(weight).sum::<usize>(),
        Json::Array(items) => 1 + items.iter().map(weight).sum::<usize>(),
        _ => 1,
    }
}

/// Applies a redo to a stored document. `__blocked_on` is a note in the redo of a transaction
/// that blocked (which channel it waits on), not a stored field: the document never keeps it.
fn redo(state: &mut Json, patch: &Json) {
    apply_patch(state, patch);
    if let Json::Object(fields) = state {
        fields.shift_remove("__blocked_on");
    }
}

/// The top-level fields the log writes that the program's document does not declare.
fn check_fields(program: &Program, records: &[TransactionRecord]) -> Result<(), ForeignLog> {
    let root = &program.records[RecordId::ROOT];
    let mut foreign: Vec<String> = Vec::new();
    let mut first_line = 0;
    for (index, record) in records.iter().enumerate() {
        let Some(redo) = record.redo.as_object() else {
            continue;
        };
        for key in redo.keys() {
            if key.starts_with("__") || root.slot_index.contains_key(key) {
                continue;
            }
            if foreign.is_empty() {
                first_line = index + 1;
            }
            if !foreign.contains(key) {
                foreign.push(key.clone());
            }
        }
    }
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(ForeignLog {
            fields: foreign,
            first_line,
        })
    }
}
