//! Loading a program for the commands that run code (`run`, `test`): read, check, and build the
//! IR; a file with errors is reported like `adama check` does and not run.

use std::path::Path;
use std::sync::Arc;

use adama_compiler::ir::{Program, build_program};
use adama_compiler::{Database, Severity, SourceFile, queries};

use super::Outcome;
use crate::input::{Input, describe_io_error, read_source};
use crate::report::{FileReport, human};

/// The stack code runs on: the compiler and the interpreter recurse over nested code.
pub const STACK_BYTES: usize = 256 * 1024 * 1024;

/// Runs work on a thread with a large stack.
pub fn on_big_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let worker = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(work);
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(error) => panic!("cannot start a worker thread: {error}"),
    }
}

/// Reads and compiles a file; on failure the problems are on stderr and the outcome says how
/// the command must exit.
pub fn load(path: &Path) -> Result<Arc<Program>, Outcome> {
    let name = path.display().to_string();
    let text = match read_source(path) {
        Ok(Input::Text(text)) => text,
        Ok(Input::NotText(error)) => {
            let report = FileReport::not_text(name, &error);
            let _ = human::write(&mut std::io::stderr(), &[report]);
            return Err(Outcome::Errors);
        }
        Err(error) => {
            eprintln!("error: {}", describe_io_error(&name, &error));
            return Err(Outcome::Failure);
        }
    };
    let (diagnostics, program) = {
        let name = name.clone();
        let text = text.clone();
        on_big_stack(move || {
            let db = Database::for_one_check();
            let file = SourceFile::new(&db, name, text);
            let diagnostics = queries::diagnostics(&db, file).clone();
            let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
            let program = (!has_errors).then(|| build_program(&db, file));
            (diagnostics, program)
        })
    };
    match program {
        Some(program) => Ok(Arc::new(program)),
        None => {
            let report = FileReport::from_text(name, text, diagnostics);
            let _ = human::write(&mut std::io::stderr(), &[report]);
            Err(Outcome::Errors)
        }
    }
}
