//! Into the code: the statements a transaction runs, through the runtime's statement hook, and
//! where they are in the program's source.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adama_compiler::hir::{Decl, Stmt};
use adama_compiler::ir::Program;
use adama_runtime::{StatementHook, StatementState};
use serde_json::Value as Json;

/// One statement a transaction ran, placed in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub unit: u32,
    pub stmt: u32,
    /// 1-based line and column of the statement's first character.
    pub line: usize,
    pub column: usize,
    /// The code the statement belongs to, as its first source line reads
    /// (`channel bump(Bump b)`, `#tick`, `@construct`).
    pub frame: String,
    /// The 1-based line where that code starts.
    pub frame_line: usize,
    /// What the statement starts from, when the run recorded it.
    pub state: Option<Arc<Seen>>,
}

/// The locals and the document a statement starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The parameters and the bound locals in scope, by name, with their declared types.
    pub locals: Vec<Local>,
    /// The stored document, with the changes the code made so far.
    pub document: Json,
}

/// A parameter or local of the running code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub name: String,
    pub ty: String,
    pub value: Json,
}

impl Seen {
    /// The local named `name`.
    pub fn local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().find(|local| local.name == name)
    }
}

/// Records each statement as it is about to run, and, when made [`Recorder::seeing`], the
/// state it starts from.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    ran: Arc<Mutex<Vec<(u32, u32)>>>,
    seen: Option<Arc<Mutex<Vec<StatementState>>>>,
}

impl Recorder {
    /// A recorder that also keeps each statement's frame and document (for stepping, not for
    /// running on: it copies the document at every statement).
    pub fn seeing() -> Recorder {
        Recorder {
            ran: Arc::default(),
            seen: Some(Arc::default()),
        }
    }

    /// Whether the recorder keeps each statement's state.
    pub fn wants_state(&self) -> bool {
        self.seen.is_some()
    }

    /// The states recorded so far, one per statement, and a fresh start.
    pub fn take_seen(&self) -> Vec<StatementState> {
        self.seen
            .as_ref()
            .and_then(|seen| seen.lock().ok().map(|mut seen| std::mem::take(&mut *seen)))
            .unwrap_or_default()
    }

    /// The statements recorded so far, and a fresh start.
    pub fn take(&self) -> Vec<(u32, u32)> {
        self.ran
            .lock()
            .map(|mut ran| std::mem::take(&mut *ran))
            .unwrap_or_default()
    }
}

impl StatementHook for Recorder {
    fn before_statement(&mut self, unit: u32, stmt: u32) {
        if let Ok(mut ran) = self.ran.lock() {
            ran.push((unit, stmt));
        }
    }

    fn wants_state(&self) -> bool {
        self.seen.is_some()
    }

    fn inspect(&mut self, state: &StatementState) {
        if let Some(seen) = &self.seen
            && let Ok(mut seen) = seen.lock()
        {
            seen.push(state.clone());
        }
    }
}

/// Places recorded statements and the states they started from (one per statement, or none).
pub fn locate_seen(
    program: &Program,
    source: &str,
    ran: &[(u32, u32)],
    seen: Vec<StatementState>,
) -> Vec<Statement> {
    let mut statements = locate(program, source, ran);
    if seen.len() != ran.len() || statements.len() != ran.len() {
        return statements;
    }
    let mut names: HashMap<u32, Vec<(u32, String, String)>> = HashMap::new();
    for (statement, state) in statements.iter_mut().zip(seen) {
        let slots = names
            .entry(statement.unit)
            .or_insert_with(|| slot_names(program, statement.unit));
        let locals = slots
            .iter()
            .filter_map(|(slot, name, ty)| {
                let value = state.slots.get(*slot as usize)?;
                (!value.is_null()).then(|| Local {
                    name: name.clone(),
                    ty: ty.clone(),
                    value: value.clone(),
                })
            })
            .collect();
        statement.state = Some(Arc::new(Seen {
            locals,
            document: state.document,
        }));
    }
    statements
}

/// The named slots of a code unit: its parameters and the locals its statements declare, with
/// their types as the compiler gave them.
pub fn slot_names(program: &Program, unit: u32) -> Vec<(u32, String, String)> {
    let mut names = Vec::new();
    let Some(code) = program.units.get(unit as usize) else {
        return names;
    };
    for function in program
        .functions
        .iter()
        .filter(|function| function.unit == unit)
    {
        if let Decl::Function(declared) | Decl::Procedure(declared) = &code.item.decl {
            for ((slot, param), ty) in function
                .params
                .iter()
                .zip(&declared.params)
                .zip(&function.param_types)
            {
                names.push((*slot, param.name.name.clone(), ty.to_string()));
            }
        }
    }
    if let Decl::Channel(channel) = &code.item.decl
        && let Some(handler) = program.handlers.get(&channel.name.name)
    {
        names.push((
            handler.param_slot,
            channel.parameter.name.clone(),
            channel.message.name.clone(),
        ));
    }
    for (stmt, slot) in code.stmt_slots.iter().enumerate() {
        let Some(node) = code.item.body.stmts.get(stmt) else {
            continue;
        };
        if let Stmt::Local { name, .. } | Stmt::Infer { name, .. } = &node.stmt {
            let ty = code
                .local_types
                .get(stmt)
                .map(ToString::to_string)
                .filter(|ty| !ty.is_empty() && ty != "error" && ty != "<error>")
                .unwrap_or_default();
            names.push((*slot, name.name.clone(), ty));
        }
    }
    names
}

/// Places recorded statements in the source the program was compiled from.
pub fn locate(program: &Program, source: &str, ran: &[(u32, u32)]) -> Vec<Statement> {
    let lines = LineStarts::new(source);
    ran.iter()
        .filter_map(|&(unit, stmt)| {
            let code = program.units.get(unit as usize)?;
            let node = code.item.body.stmts.get(stmt as usize)?.node;
            let start = code.offset + code.source_map.span(node).start;
            let item_start = code.offset + code.source_map.span(code.item.node).start;
            let (line, column) = lines.position(start);
            let (frame_line, _) = lines.position(item_start);
            Some(Statement {
                unit,
                stmt,
                line,
                column,
                frame: heading(source, item_start),
                frame_line,
                state: None,
            })
        })
        .collect()
}

/// The first line of an item, without its opening brace.
fn heading(source: &str, start: usize) -> String {
    let rest = source.get(start..).unwrap_or("");
    let first = rest.lines().next().unwrap_or("").trim();
    first.trim_end_matches('{').trim_end().to_owned()
}

/// Byte offsets of line starts, to turn offsets into lines and columns.
struct LineStarts {
    starts: Vec<usize>,
}

impl LineStarts {
    fn new(source: &str) -> LineStarts {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(at, _)| at + 1));
        LineStarts { starts }
    }

    /// 1-based line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }
}
