//! `adama check`: report the problems of Adama files, for people or for tools.

use std::io::Write;
use std::path::PathBuf;

use adama_compiler::{Database, Diagnostic, Severity, SourceFile, parallel};
use clap::{Args, ValueEnum};

use super::Outcome;
use crate::input::{Input, describe_io_error, read_source};
use crate::report::{FileReport, human, json};

/// Arguments of `adama check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// How to print the diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The Adama files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Output formats of `adama check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `file:line:col: error: message`, then the source line and a caret.
    Human,
    /// A JSON array of diagnostics on stdout (a stable contract; see docs/cli.md).
    Json,
}

/// Makes tree-sitter allocate through the process's allocator (mimalloc) rather than the C
/// library's: the parser makes a small allocation for nearly every node of the tree, and the C
/// library's allocator made parsing a tenth slower. Called before any tree is made.
#[allow(unsafe_code)]
pub fn parse_with_the_process_allocator() {
    let allocator = tree_sitter::Allocator {
        malloc: parser_memory::malloc,
        calloc: parser_memory::calloc,
        realloc: parser_memory::realloc,
        free: parser_memory::free,
    };
    // SAFETY: the four functions are one family (mimalloc's), never return null for a non-zero
    // size, and return memory aligned as `malloc`'s; no tree-sitter object exists yet, and the
    // command runs on one thread until it starts the compiler's.
    unsafe { tree_sitter::set_allocator(Some(allocator)) }
}

/// mimalloc's functions as tree-sitter needs them: out of memory ends the process, as
/// tree-sitter's own allocation functions do, instead of returning null.
#[allow(unsafe_code)]
mod parser_memory {
    use std::ffi::c_void;

    fn present(pointer: *mut c_void, size: usize) -> *mut c_void {
        if pointer.is_null() && size > 0 {
            eprintln!("error: out of memory while parsing");
            std::process::abort();
        }
        pointer
    }

    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        // SAFETY: any size may be asked of mimalloc.
        present(unsafe { libmimalloc_sys::mi_malloc(size) }, size)
    }

    pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        // SAFETY: mimalloc checks the product for overflow itself.
        present(
            unsafe { libmimalloc_sys::mi_calloc(count, size) },
            count.saturating_mul(size),
        )
    }

    pub unsafe extern "C" fn realloc(pointer: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: tree-sitter passes null or a pointer these functions returned.
        present(unsafe { libmimalloc_sys::mi_realloc(pointer, size) }, size)
    }

    pub unsafe extern "C" fn free(pointer: *mut c_void) {
        // SAFETY: tree-sitter passes null or a pointer these functions returned.
        unsafe { libmimalloc_sys::mi_free(pointer) }
    }
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> Outcome {
    let mut reports = Vec::new();
    let mut io_failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        match read_source(path) {
            Ok(Input::Text(text)) => {
                let diagnostics = check_text(&name, &text);
                reports.push(FileReport::from_text(name, text, diagnostics));
            }
            Ok(Input::NotText(error)) => reports.push(FileReport::not_text(name, &error)),
            Err(error) => {
                eprintln!("error: {}", describe_io_error(&name, &error));
                io_failed = true;
            }
        }
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Human => human::write(&mut out, &reports),
        Format::Json => json::write(&mut out, &reports),
    };
    // A closed stdout (for example `| head`) is not worth a panic; the exit code still tells.
    let _ = written.and_then(|()| out.flush());

    let has_errors = reports
        .iter()
        .flat_map(|report| &report.entries)
        .any(|entry| entry.severity == Severity::Error);
    if io_failed {
        Outcome::Failure
    } else if has_errors {
        Outcome::Errors
    } else {
        Outcome::Clean
    }
}

/// The stack the compiler runs on: checking recurses over nested code, bounded by the lowering's
/// nesting limit, and this leaves a wide margin for it.
const COMPILER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Checks one file's text on a pool of threads with large stacks, one per core: the file is
/// parsed on one of them, and its items lowered and checked on all of them.
fn check_text(name: &str, text: &str) -> Vec<Diagnostic> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(COMPILER_STACK_BYTES)
        .thread_name(|index| format!("adama-check-{index}"))
        .build()
        .unwrap_or_else(|error| panic!("cannot start the compiler threads: {error}"));
    let diagnostics = pool.install(|| {
        let db = Database::for_one_check();
        let file = SourceFile::new(&db, name.to_owned(), text.to_owned());
        let diagnostics = parallel::diagnostics(&db, file).to_vec();
        // Freeing every tree, item and memo one by one costs about a sixth of a cold check,
        // and the process ends soon after: the operating system takes the memory back.
        std::mem::forget(db);
        diagnostics
    });
    // The threads have nothing left to do; they end on their own while the report is printed.
    drop(pool);
    diagnostics
}
