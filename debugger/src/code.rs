//! Into the code: the statements a transaction runs, through the runtime's statement hook, and
//! where they are in the program's source.

use std::sync::{Arc, Mutex};

use adama_compiler::ir::Program;
use adama_runtime::StatementHook;

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
}

/// Records each statement as it is about to run.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    ran: Arc<Mutex<Vec<(u32, u32)>>>,
}

impl Recorder {
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
