//! Parser speed: a full parse of a generated 10,000-line program, and the incremental re-parse
//! after a one-character edit inside it.
//!
//! Targets: at least 5 MB/s for the full parse; under 1 ms for the re-parse.
//! Run with `cargo bench -p tree-sitter-adama`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tree_sitter::{InputEdit, Parser, Point, Tree};

/// Lines in the generated program.
const TARGET_LINES: usize = 10_000;

fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_adama::LANGUAGE.into())
        .unwrap_or_else(|error| panic!("the grammar loads: {error}"));
    parser
}

fn parse(parser: &mut Parser, text: &str, old: Option<&Tree>) -> Tree {
    parser.parse(text, old).unwrap_or_else(|| panic!("a tree"))
}

fn point_of(text: &str, offset: usize) -> Point {
    let before = &text[..offset];
    let row = before.matches('\n').count();
    let column = offset - before.rfind('\n').map_or(0, |newline| newline + 1);
    Point { row, column }
}

fn full_parse(criterion: &mut Criterion) {
    let program = tree_sitter_adama::generated_program(TARGET_LINES);
    let mut parser = new_parser();
    assert!(
        !parse(&mut parser, &program, None).root_node().has_error(),
        "the generated program parses cleanly"
    );
    let mut group = criterion.benchmark_group("parse");
    group.throughput(Throughput::Bytes(program.len() as u64));
    group.bench_function("full_10k_lines", |bencher| {
        bencher.iter(|| parse(&mut parser, &program, None))
    });
    group.finish();
}

fn incremental_reparse(criterion: &mut Criterion) {
    let program = tree_sitter_adama::generated_program(TARGET_LINES);
    let mut parser = new_parser();
    let tree = parse(&mut parser, &program, None);

    // Change one digit inside a function body in the middle of the program: `* 2 +` becomes `* 3 +`.
    let middle = program.len() / 2;
    let offset = middle
        + program[middle..]
            .find("* 2 +")
            .unwrap_or_else(|| panic!("a function body"))
        + 2;
    let mut edited = program.clone();
    edited.replace_range(offset..offset + 1, "3");
    let edit = InputEdit {
        start_byte: offset,
        old_end_byte: offset + 1,
        new_end_byte: offset + 1,
        start_position: point_of(&program, offset),
        old_end_position: point_of(&program, offset + 1),
        new_end_position: point_of(&edited, offset + 1),
    };

    // Only the parse is timed: cloning and editing the old tree, and dropping trees, are not part
    // of a re-parse.
    criterion.bench_function("parse/reparse_after_one_char_edit", |bencher| {
        bencher.iter_custom(|iterations| {
            let mut elapsed = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let mut old = tree.clone();
                old.edit(&edit);
                let started = std::time::Instant::now();
                let new_tree = parse(&mut parser, &edited, Some(&old));
                elapsed += started.elapsed();
                drop(std::hint::black_box(new_tree));
            }
            elapsed
        });
    });
}

criterion_group!(benches, full_parse, incremental_reparse);
criterion_main!(benches);
