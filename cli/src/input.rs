//! Reading a source file named on the command line.
//!
//! Reading can fail in two ways that the user must tell apart: the file cannot be read at all (an
//! I/O failure, exit code 2), or its bytes are not Adama source text (a diagnostic, exit code 1).

use std::path::Path;

use adama_compiler::{SourceError, decode_source};

/// What reading a file gave.
#[derive(Debug)]
pub enum Input {
    /// The file's text.
    Text(String),
    /// The file was read but is not UTF-8 text.
    NotText(SourceError),
}

/// Reads `path` and decodes it.
pub fn read_source(path: &Path) -> std::io::Result<Input> {
    let bytes = std::fs::read(path)?;
    Ok(match decode_source(&bytes) {
        Ok(text) => Input::Text(text),
        Err(error) => Input::NotText(error),
    })
}

/// An I/O error as one sentence, without Rust's debug noise.
pub fn describe_io_error(path: &str, error: &std::io::Error) -> String {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => error.to_string(),
    };
    format!("cannot read '{path}': {reason}")
}
