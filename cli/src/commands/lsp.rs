//! `adama lsp`: the language server on stdin and stdout, for editors.

use super::Outcome;

/// Serves until the client exits; a failure to start the server is an I/O failure.
pub fn run() -> Outcome {
    match adama_lsp::serve_stdio() {
        Ok(()) => Outcome::Clean,
        Err(error) => {
            eprintln!("error: the language server could not start: {error}");
            Outcome::Failure
        }
    }
}
