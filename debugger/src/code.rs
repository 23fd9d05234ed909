//! Into the code: the statements a transaction runs, through the runtime's statement hook, and
//! where they are in the program's source.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adama_compiler::hir::{Decl, Function, MessageMember, RecordMember, Stmt};
use adama_compiler::ir::{Program, RecordId};
use adama_compiler::ty::Ty;
use adama_runtime::{Callee, StatementHook, StatementState};
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
    /// (`channel bump(Bump b)`, `#tick`, `function double(int x) -> int`).
    pub frame: String,
    /// The 1-based line where that code starts.
    pub frame_line: usize,
    /// The frames below the statement's own, innermost first: the calls that led to it.
    pub callers: Vec<Caller>,
    /// What the statement starts from, when the run recorded it.
    pub state: Option<Arc<Seen>>,
}

impl Statement {
    /// How many calls deep the statement runs: 0 in the handler (or the test block).
    pub fn depth(&self) -> usize {
        self.callers.len()
    }
}

/// A frame below the running statement's: code waiting for a call it made to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// As [`Statement::frame`] names code: `channel bump(Bump b)`, `formula doubled`.
    pub name: String,
    /// Where the frame stands: the statement that made the call, or a formula's expression.
    pub line: usize,
    pub column: usize,
    /// The index, in the same trace, of the statement the frame stands at (whose state holds
    /// the frame's locals); `None` for a formula, which has no statements.
    pub at: Option<usize>,
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
    /// The type under which a document field can hold the local's value (`int`, a record's
    /// name, `holder<M>` for a message), so that an evaluated expression can use it; `None`
    /// for the types a field cannot hold (lists, maps, anonymous messages).
    pub field_type: Option<String>,
    /// For a local a field cannot hold, how a message field holds it instead; `None` for the
    /// rest (a field holds them, or nothing does, as a list of records).
    pub held: Option<Held>,
}

/// How a field of a message declared for the evaluator holds a local of a type that a document
/// field cannot hold (a list, a map, an anonymous message): the evaluator reads it through a
/// formula over that field, so the compiler types the local as the code does. `%` stands for
/// a prefix the evaluator picks so that the messages it declares clash with no name of the
/// program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The message field's type, as source text.
    pub ty: String,
    /// The declarations of the messages standing for the anonymous message types inside it.
    pub messages: Vec<String>,
}

impl Seen {
    /// The local named `name`.
    pub fn local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().find(|local| local.name == name)
    }
}

/// What the statement hook heard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Statement { unit: u32, stmt: u32 },
    Enter(Callee),
    Leave,
}

/// Records each statement as it is about to run and each call's entry and exit, and, when
/// made [`Recorder::seeing`], the state each statement starts from.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    ran: Arc<Mutex<Vec<Ran>>>,
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

    /// What ran so far, and a fresh start.
    pub fn take(&self) -> Vec<Ran> {
        self.ran
            .lock()
            .map(|mut ran| std::mem::take(&mut *ran))
            .unwrap_or_default()
    }

    fn push(&self, ran: Ran) {
        if let Ok(mut all) = self.ran.lock() {
            all.push(ran);
        }
    }
}

impl StatementHook for Recorder {
    fn before_statement(&mut self, unit: u32, stmt: u32) {
        self.push(Ran::Statement { unit, stmt });
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

    fn enter(&mut self, callee: Callee) {
        self.push(Ran::Enter(callee));
    }

    fn leave(&mut self) {
        self.push(Ran::Leave);
    }
}

/// Places recorded statements and the states they started from (one per statement, or none).
pub fn locate_seen(
    program: &Program,
    source: &str,
    ran: &[Ran],
    seen: Vec<StatementState>,
) -> Vec<Statement> {
    let mut statements = locate(program, source, ran);
    if seen.len() != statements.len() {
        return statements;
    }
    let mut names: HashMap<u32, Vec<SlotName>> = HashMap::new();
    for (statement, state) in statements.iter_mut().zip(seen) {
        let slots = names
            .entry(statement.unit)
            .or_insert_with(|| slot_names(program, statement.unit));
        let locals = slots
            .iter()
            .filter_map(|named| {
                let value = state.slots.get(named.slot as usize)?;
                (!value.is_null()).then(|| Local {
                    name: named.name.clone(),
                    ty: named.ty.to_string(),
                    value: value.clone(),
                    field_type: field_type(program, &named.ty),
                    held: held_type(program, &named.ty, &named.name),
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

/// A named slot of a code unit: a parameter or a local its statements declare.
#[derive(Debug, Clone)]
pub struct SlotName {
    pub slot: u32,
    pub name: String,
    /// The type the compiler gave it (`Ty::Error` when it has none).
    pub ty: Ty,
}

/// The named slots of a code unit: the parameters of its functions, procedures and methods,
/// a handler's message, and the locals its statements declare, with their types as the
/// compiler gave them.
pub fn slot_names(program: &Program, unit: u32) -> Vec<SlotName> {
    let mut names = Vec::new();
    let Some(code) = program.units.get(unit as usize) else {
        return names;
    };
    for (index, function) in program.functions.iter().enumerate() {
        if function.unit != unit {
            continue;
        }
        let Some(declared) = function_decl(program, index) else {
            continue;
        };
        for ((slot, param), ty) in function
            .params
            .iter()
            .zip(&declared.params)
            .zip(&function.param_types)
        {
            names.push(SlotName {
                slot: *slot,
                name: param.name.name.clone(),
                ty: ty.clone(),
            });
        }
    }
    if let Decl::Channel(channel) = &code.item.decl
        && let Some(handler) = program.handlers.get(&channel.name.name)
    {
        names.push(SlotName {
            slot: handler.param_slot,
            name: channel.parameter.name.clone(),
            ty: Ty::Message(Arc::from(channel.message.name.as_str())),
        });
    }
    let type_of = |expr: adama_compiler::hir::ExprId| {
        code.types
            .get(expr.0 as usize)
            .cloned()
            .unwrap_or(Ty::Error)
    };
    for (stmt, slot) in code.stmt_slots.iter().enumerate() {
        let Some(node) = code.item.body.stmts.get(stmt) else {
            continue;
        };
        let (name, ty) = match &node.stmt {
            Stmt::Local { name, .. } => (
                name,
                code.local_types.get(stmt).cloned().unwrap_or(Ty::Error),
            ),
            Stmt::Infer { name, value, .. } => (name, type_of(*value)),
            Stmt::If {
                binding: Some(name),
                condition,
                ..
            } => match type_of(*condition) {
                Ty::Maybe(inner) => (name, *inner),
                other => (name, other),
            },
            Stmt::Foreach {
                variable, iterable, ..
            } => match type_of(*iterable) {
                Ty::List(item) | Ty::Array(item) | Ty::Table(item) => (variable, *item),
                _ => (variable, Ty::Error),
            },
            _ => continue,
        };
        names.push(SlotName {
            slot: *slot,
            name: name.name.clone(),
            ty,
        });
    }
    names
}

/// The type a document field declares to hold a value of `ty`, when one can.
pub fn field_type(program: &Program, ty: &Ty) -> Option<String> {
    match ty {
        Ty::Bool
        | Ty::Int
        | Ty::Long
        | Ty::Double
        | Ty::String
        | Ty::Principal
        | Ty::Date
        | Ty::DateTime
        | Ty::Time
        | Ty::TimeSpan
        | Ty::Complex
        | Ty::Enum(_)
        | Ty::Record(_) => Some(ty.to_string()),
        // A plain message field stays at its default; a holder stores the whole message.
        Ty::Message(name) if program.message_named(name).is_some() => {
            Some(format!("holder<{name}>"))
        }
        Ty::Maybe(inner) if !matches!(**inner, Ty::Message(_) | Ty::Maybe(_)) => {
            field_type(program, inner).map(|inner| format!("maybe<{inner}>"))
        }
        _ => None,
    }
}

/// How a message field holds a local `name` of type `ty` that no document field can hold.
pub fn held_type(program: &Program, ty: &Ty, name: &str) -> Option<Held> {
    if field_type(program, ty).is_some() {
        return None;
    }
    let mut messages = Vec::new();
    let ty = message_field_type(program, ty, name, &mut messages)?;
    Some(Held { ty, messages })
}

/// The type a message field declares to hold a value of `ty`, declaring a message for each
/// anonymous message type met (records and tables cannot be in messages).
fn message_field_type(
    program: &Program,
    ty: &Ty,
    name: &str,
    messages: &mut Vec<String>,
) -> Option<String> {
    match ty {
        Ty::Bool
        | Ty::Int
        | Ty::Long
        | Ty::Double
        | Ty::String
        | Ty::Principal
        | Ty::Date
        | Ty::DateTime
        | Ty::Time
        | Ty::TimeSpan
        | Ty::Complex
        | Ty::Dynamic
        | Ty::Enum(_) => Some(ty.to_string()),
        Ty::Message(message) if program.message_named(message).is_some() => Some(ty.to_string()),
        Ty::Maybe(item) => Some(format!(
            "maybe<{}>",
            message_field_type(program, item, name, messages)?
        )),
        Ty::List(item) => Some(format!(
            "list<{}>",
            message_field_type(program, item, name, messages)?
        )),
        Ty::Array(item) => Some(format!(
            "{}[]",
            message_field_type(program, item, name, messages)?
        )),
        Ty::Map(key, value) => Some(format!(
            "map<{},{}>",
            message_field_type(program, key, name, messages)?,
            message_field_type(program, value, name, messages)?
        )),
        Ty::Anonymous(fields) => {
            let mut body = String::new();
            for (field, ty) in fields.iter() {
                body.push_str(&format!(
                    " {} {field};",
                    message_field_type(program, ty, name, messages)?
                ));
            }
            let message = format!("%_{name}_{}", messages.len());
            messages.push(format!("message {message} {{{body} }}"));
            Some(message)
        }
        _ => None,
    }
}

/// The declaration of a function of the program (a function, procedure, record or message
/// method, or dispatcher), found in its code unit by its body; `None` for policies and
/// filters, which have no parameters.
pub fn function_decl(program: &Program, index: usize) -> Option<&Function> {
    let definition = program.functions.get(index)?;
    let code = program.units.get(definition.unit as usize)?;
    let same = |function: &&Function| function.body.stmts == definition.body.stmts;
    match &code.item.decl {
        Decl::Function(function) | Decl::Procedure(function) => Some(function).filter(same),
        Decl::Dispatch(dispatch) => Some(&dispatch.function).filter(same),
        Decl::Record(record) => record.members.iter().find_map(|member| match member {
            RecordMember::Method(function) => Some(function).filter(same),
            _ => None,
        }),
        Decl::Message(message) => message.members.iter().find_map(|member| match member {
            MessageMember::Method(function) => Some(function).filter(same),
            _ => None,
        }),
        _ => None,
    }
}

/// A frame of the stack [`locate`] keeps as it walks what ran.
#[derive(Debug)]
struct Open {
    name: String,
    name_line: usize,
    kind: OpenKind,
    unit: u32,
    line: usize,
    column: usize,
    at: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    /// The code a command (or a test) runs: a handler, a state, an event, a test block.
    Root,
    /// A handler a test block's `@send` ran: shown above the test.
    Sent,
    /// A function, procedure, method or dispatcher.
    Call,
    Formula,
}

/// Places recorded statements in the source the program was compiled from, each with the
/// frames that called it.
pub fn locate(program: &Program, source: &str, ran: &[Ran]) -> Vec<Statement> {
    let lines = LineStarts::new(source);
    let position = |unit: u32, node: adama_compiler::hir::NodeId| {
        let code = &program.units[unit as usize];
        lines.position(code.offset + code.source_map.span(node).start)
    };
    let root = |unit: u32, kind: OpenKind| {
        let code = &program.units[unit as usize];
        let (name_line, _) = position(unit, code.item.node);
        let start = code.offset + code.source_map.span(code.item.node).start;
        Open {
            name: heading(source, start),
            name_line,
            kind,
            unit,
            line: name_line,
            column: 1,
            at: None,
        }
    };
    let tests: Vec<u32> = program.tests.iter().map(|test| test.unit).collect();
    let mut stack: Vec<Open> = Vec::new();
    let mut statements = Vec::new();
    for event in ran {
        match *event {
            Ran::Enter(Callee::Function(function)) => {
                let Some(definition) = program.functions.get(function as usize) else {
                    continue;
                };
                let mut open = root(definition.unit, OpenKind::Call);
                match function_decl(program, function as usize) {
                    Some(declared) => {
                        let code = &program.units[definition.unit as usize];
                        let start = code.offset + code.source_map.span(declared.node).start;
                        open.name = heading(source, start);
                        (open.name_line, _) = position(definition.unit, declared.node);
                    }
                    None => open.name = definition.name.clone(),
                }
                (open.line, open.column) = (open.name_line, 1);
                stack.push(open);
            }
            Ran::Enter(Callee::Formula {
                layout,
                slot,
                unit,
                expr,
            }) => {
                let Some(code) = program.units.get(unit as usize) else {
                    continue;
                };
                let record = &program.records[layout];
                let field = record
                    .fields
                    .get(slot as usize)
                    .map_or("?", |field| field.name.as_str());
                let name = if layout == RecordId::ROOT {
                    format!("formula {field}")
                } else {
                    format!("formula {}.{field}", record.name)
                };
                let node = code
                    .item
                    .body
                    .exprs
                    .get(expr as usize)
                    .map(|node| node.node);
                let (line, column) = node.map_or((1, 1), |node| position(unit, node));
                stack.push(Open {
                    name,
                    name_line: line,
                    kind: OpenKind::Formula,
                    unit,
                    line,
                    column,
                    at: None,
                });
            }
            Ran::Leave => {
                if stack
                    .last()
                    .is_some_and(|open| matches!(open.kind, OpenKind::Call | OpenKind::Formula))
                {
                    stack.pop();
                }
            }
            Ran::Statement { unit, stmt } => {
                let Some(node) = program
                    .units
                    .get(unit as usize)
                    .and_then(|code| code.item.body.stmts.get(stmt as usize))
                    .map(|node| node.node)
                else {
                    continue;
                };
                match stack.last().map(|open| (open.kind, open.unit)) {
                    None => stack.push(root(unit, OpenKind::Root)),
                    Some((OpenKind::Call | OpenKind::Formula, _)) => {}
                    Some((_, top)) if top == unit => {}
                    Some(_) if tests.contains(&stack[0].unit) => {
                        // In a test block, the handlers its `@send`s run show above it.
                        stack.truncate(1);
                        if stack[0].unit != unit {
                            stack.push(root(unit, OpenKind::Sent));
                        }
                    }
                    Some(_) => {
                        stack.clear();
                        stack.push(root(unit, OpenKind::Root));
                    }
                }
                let (line, column) = position(unit, node);
                let index = statements.len();
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                (top.line, top.column, top.at) = (line, column, Some(index));
                let callers = stack[..stack.len() - 1]
                    .iter()
                    .rev()
                    .map(|open| Caller {
                        name: open.name.clone(),
                        line: open.line,
                        column: open.column,
                        at: open.at,
                    })
                    .collect();
                let top = &stack[stack.len() - 1];
                statements.push(Statement {
                    unit,
                    stmt,
                    line,
                    column,
                    frame: top.name.clone(),
                    frame_line: top.name_line,
                    callers,
                    state: None,
                });
            }
        }
    }
    statements
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
