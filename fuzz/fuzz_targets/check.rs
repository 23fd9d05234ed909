//! Fuzzes the whole front end: decoding, parsing, the syntax checks, lowering and the checker.
//! Any input must give diagnostics, never a panic, a hang or a stack overflow.

#![no_main]

use adama_compiler::{Database, SourceFile, decode_source, queries};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = decode_source(bytes) else {
        return;
    };
    let db = Database::default();
    let file = SourceFile::new(&db, "fuzz.a".to_owned(), text.clone());
    for diagnostic in queries::diagnostics(&db, file) {
        assert!(diagnostic.range.start <= diagnostic.range.end && diagnostic.range.end <= text.len());
    }
});
