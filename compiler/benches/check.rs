//! Checker speed on a generated 10,000-line program: a cold check in a fresh database, and the
//! re-check after a one-character edit inside one function body; and cold checks of 50,000 and
//! 100,000 lines, which should take time in proportion to the size.
//!
//! A cold check is timed as `adama check` runs it: from a fresh database to the diagnostics. The
//! database is freed after the timing (the routine returns it), since `adama check` leaves that to
//! the end of the process.
//!
//! Where a cold check of the 10,000-line program spends its CPU time (`perf record` of
//! `adama check`): parsing a third (tree-sitter alone, with its own allocations), lowering with
//! the syntax checks 30 % (a tenth of the whole in the syntax checks' walk over every node),
//! checking items 23 % (4 of them building the declaration table), and allocation with first
//! touches of fresh pages spread through all of them. The same shares hold at 100,000 lines;
//! the time per line grows with the size (7 % more at 50,000 lines, 21 % at 100,000) as the
//! working set outgrows the caches.
//!
//! Targets: cold check under 25 ms; re-check under 2 ms. Run with
//! `cargo bench -p adama-compiler`.

use adama_compiler::{Database, SourceFile, queries};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use salsa::Setter;

const TARGET_LINES: usize = 10_000;

fn cold_check(criterion: &mut Criterion) {
    let program = tree_sitter_adama::generated_program(TARGET_LINES);
    {
        let db = Database::default();
        let file = SourceFile::new(&db, "bench.a".to_owned(), program.clone());
        assert!(
            queries::diagnostics(&db, file).is_empty(),
            "the generated program checks cleanly"
        );
    }
    criterion.bench_function("check/cold_10k_lines", |bencher| {
        bencher.iter_batched(
            || program.clone(),
            |text| {
                let db = Database::default();
                let file = SourceFile::new(&db, "bench.a".to_owned(), text);
                let count = queries::diagnostics(&db, file).len();
                (count, db)
            },
            BatchSize::PerIteration,
        );
    });
}

/// Cold checks of larger programs, to see that the time grows linearly with the size.
fn cold_check_scaling(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("check/cold_scaling");
    group.sample_size(10);
    for lines in [10_000, 50_000, 100_000] {
        let program = tree_sitter_adama::generated_program(lines);
        group.bench_function(format!("{lines}_lines"), |bencher| {
            bencher.iter_batched(
                || program.clone(),
                |text| {
                    let db = Database::default();
                    let file = SourceFile::new(&db, "bench.a".to_owned(), text);
                    let count = queries::diagnostics(&db, file).len();
                    (count, db)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn recheck_after_edit(criterion: &mut Criterion) {
    let program = tree_sitter_adama::generated_program(TARGET_LINES);
    let middle = program.len() / 2;
    let offset = middle
        + program[middle..]
            .find("* 2 +")
            .unwrap_or_else(|| panic!("a function body"))
        + 2;
    let edited: Vec<String> = ["3", "2"]
        .iter()
        .map(|digit| {
            let mut text = program.clone();
            text.replace_range(offset..offset + 1, digit);
            text
        })
        .collect();
    let mut db = Database::default();
    let file = SourceFile::new(&db, "bench.a".to_owned(), program.clone());
    assert!(queries::diagnostics(&db, file).is_empty());
    let mut turn = 0;
    criterion.bench_function("check/recheck_after_one_char_edit", |bencher| {
        bencher.iter(|| {
            turn = (turn + 1) % 2;
            file.set_text(&mut db).to(edited[turn].clone());
            queries::diagnostics(&db, file).len()
        });
    });
}

criterion_group!(benches, cold_check, recheck_after_edit, cold_check_scaling);
criterion_main!(benches);
