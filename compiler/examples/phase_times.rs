//! Prints how long each phase of checking takes on a generated program (a profiling aid).
//! It is not part of the library, so it may read the clock.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use adama_compiler::{Database, SourceFile, parse, queries, syntax};
use salsa::Setter;

fn main() {
    let lines = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let program = tree_sitter_adama::generated_program(lines);
    let started = Instant::now();
    let tree = parse(&program, None);
    println!(
        "parse            {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let started = Instant::now();
    let _ = syntax::check(&program, &tree);
    println!(
        "syntax::check    {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let started = Instant::now();
    let lowered = adama_compiler::lower::lower_file(&program, &tree);
    println!(
        "lower_file       {:>8.2} ms ({} items)",
        started.elapsed().as_secs_f64() * 1e3,
        lowered.items.len()
    );
    let started = Instant::now();
    let copy = lowered.clone();
    println!(
        "clone lowered    {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let started = Instant::now();
    assert!(copy == lowered);
    println!(
        "compare lowered  {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let mut db = Database::default();
    let file = SourceFile::new(&db, "bench.a".to_owned(), program.clone());
    let started = Instant::now();
    let _ = queries::diagnostics(&db, file).len();
    println!(
        "cold diagnostics {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let middle = program.len() / 2;
    let offset = middle + program[middle..].find("* 2 +").unwrap_or(0) + 2;
    for digit in ["3", "2", "3"] {
        let mut text = program.clone();
        text.replace_range(offset..offset + 1, digit);
        file.set_text(&mut db).to(text);
        let started = Instant::now();
        let _ = queries::parsed(&db, file);
        let parsed_ms = started.elapsed().as_secs_f64() * 1e3;
        let _ = queries::lowered(&db, file);
        let lowered_ms = started.elapsed().as_secs_f64() * 1e3;
        let _ = queries::signatures(&db, file);
        let signatures_ms = started.elapsed().as_secs_f64() * 1e3;
        let _ = queries::document_checks(&db, file);
        let global_ms = started.elapsed().as_secs_f64() * 1e3;
        let _ = queries::diagnostics(&db, file).len();
        let total_ms = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "recheck: parsed {parsed_ms:.2} lowered {lowered_ms:.2} signatures {signatures_ms:.2} global {global_ms:.2} total {total_ms:.2} ms (cumulative)"
        );
    }
}
