//! A check in a rayon pool (`adama_compiler::parallel`, as `adama check` runs it) gives exactly
//! the diagnostics of a check on one thread, in the same order, for every program of the corpus
//! and the examples, and for programs whose items read each other's formula types.
// A test reads the corpus from disk; the library itself never does.
#![allow(clippy::disallowed_methods)]

mod support;

use adama_compiler::{Database, Diagnostic, SourceFile, parallel, queries};

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .stack_size(256 * 1024 * 1024)
        .build()
        .unwrap_or_else(|error| panic!("cannot build the pool: {error}"))
}

fn one_thread(path: &str, text: &str) -> Vec<Diagnostic> {
    let db = Database::default();
    let file = SourceFile::new(&db, path.to_owned(), text.to_owned());
    queries::diagnostics(&db, file).clone()
}

fn in_pool(pool: &rayon::ThreadPool, path: &str, text: &str) -> Vec<Diagnostic> {
    pool.install(|| {
        let db = Database::default();
        let file = SourceFile::new(&db, path.to_owned(), text.to_owned());
        parallel::diagnostics(&db, file).to_vec()
    })
}

#[test]
fn every_corpus_program_has_the_same_diagnostics_in_a_pool() {
    let pool = pool();
    let programs = support::programs();
    assert!(programs.len() > 100, "the corpus is found");
    let mut with_errors = 0;
    for (path, text) in &programs {
        let expected = one_thread(path, text);
        with_errors += usize::from(!expected.is_empty());
        assert_eq!(in_pool(&pool, path, text), expected, "{path}");
    }
    assert!(with_errors > 100, "failure programs are among them");
}

/// Formulas that read each other, some in cycles, spread over many items, so that threads
/// meet in the same formula types and cycles.
fn formula_web(units: usize) -> String {
    let mut program = String::new();
    for unit in 0..units {
        let next = (unit + 1) % units;
        let later = (unit + 7) % units;
        program.push_str(&format!(
            "public int f{unit};\n\
             formula a{unit} = b{unit} + f{unit};\n\
             formula b{unit} = {};\n\
             formula c{unit} = a{next} + c{later};\n\
             function g{unit}() -> int {{ return a{unit} + c{unit} + b{next}; }}\n\
             procedure p{unit}() {{ f{unit} = g{unit}() + \"x\"; }}\n",
            if unit % 5 == 0 {
                format!("a{unit} * 2")
            } else {
                format!("f{next}")
            }
        ));
    }
    program
}

#[test]
fn formula_types_read_across_items_and_in_cycles_give_the_same_diagnostics() {
    let pool = pool();
    let program = formula_web(60);
    let expected = one_thread("web.a", &program);
    assert!(
        !expected.is_empty(),
        "the program has cycles and type errors"
    );
    for _ in 0..5 {
        assert_eq!(in_pool(&pool, "web.a", &program), expected);
    }
}

#[test]
fn the_generated_program_checks_cleanly_in_a_pool() {
    let pool = pool();
    let program = tree_sitter_adama::generated_program(2_000);
    assert_eq!(one_thread("generated.a", &program), Vec::new());
    assert_eq!(in_pool(&pool, "generated.a", &program), Vec::new());
}
