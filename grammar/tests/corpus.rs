//! Runs the grammar's corpus (`test/corpus/*.txt`, tree-sitter's own test format) with the Rust
//! binding, so `cargo test` checks every expected tree without the tree-sitter CLI.
//!
//! A test is a header between lines of `=`, with the test's name and optional attributes
//! (`:error` expects a tree with an error and no particular shape, `:skip` skips the test), then
//! the input, a line of `-`, and the expected S-expression. Comparison ignores white space, and
//! field names when the expected tree has none.

use std::path::{Path, PathBuf};

struct CorpusTest {
    name: String,
    input: String,
    expected: String,
    expects_error: bool,
    skip: bool,
}

fn is_rule(line: &str, character: char) -> bool {
    line.len() >= 3 && line.chars().all(|c| c == character)
}

fn parse_corpus(text: &str) -> Vec<CorpusTest> {
    let lines: Vec<&str> = text.lines().collect();
    let mut tests = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if !is_rule(lines[index], '=') {
            index += 1;
            continue;
        }
        index += 1;
        let mut name = String::new();
        let mut expects_error = false;
        let mut skip = false;
        while index < lines.len() && !is_rule(lines[index], '=') {
            let line = lines[index].trim();
            match line {
                ":error" => expects_error = true,
                ":skip" => skip = true,
                _ if line.starts_with(':') => {}
                _ if name.is_empty() => name = line.to_owned(),
                _ => {}
            }
            index += 1;
        }
        index += 1;
        let mut input = Vec::new();
        while index < lines.len() && !is_rule(lines[index], '-') {
            input.push(lines[index]);
            index += 1;
        }
        index += 1;
        let mut expected = Vec::new();
        while index < lines.len() && !is_rule(lines[index], '=') {
            expected.push(lines[index]);
            index += 1;
        }
        tests.push(CorpusTest {
            name,
            input: input.join("\n").trim().to_owned(),
            expected: expected.join("\n"),
            expects_error,
            skip,
        });
    }
    tests
}

fn normalize(sexp: &str) -> String {
    let collapsed = sexp.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace(" )", ")")
}

fn strip_field_names(sexp: &str) -> String {
    sexp.split(' ')
        .filter(|word| !word.ends_with(':'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn corpus_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test")
        .join("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_test_parses_to_its_expected_tree() {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_adama::LANGUAGE.into())
        .unwrap_or_else(|error| panic!("the grammar loads: {error}"));
    let mut failures = Vec::new();
    let mut n_tests = 0;
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        for test in parse_corpus(&text) {
            if test.skip {
                continue;
            }
            n_tests += 1;
            let tree = parser
                .parse(&test.input, None)
                .unwrap_or_else(|| panic!("a tree for {}", test.name));
            let root = tree.root_node();
            let label = format!(
                "{}: {}",
                file.file_name()
                    .map_or(String::new(), |name| name.to_string_lossy().into_owned()),
                test.name
            );
            if test.expects_error {
                if !root.has_error() {
                    failures.push(format!(
                        "{label}: expected a syntax error, got {}",
                        root.to_sexp()
                    ));
                }
                continue;
            }
            let expected = normalize(&test.expected);
            let mut actual = normalize(&root.to_sexp());
            // As `tree-sitter test` does, field names are compared only when the test states them.
            if !expected.split(' ').any(|word| word.ends_with(':')) {
                actual = strip_field_names(&actual);
            }
            if actual != expected {
                failures.push(format!(
                    "{label}:\n  expected {expected}\n  actual   {actual}"
                ));
            }
        }
    }
    assert!(n_tests > 0, "the corpus has tests");
    assert!(
        failures.is_empty(),
        "{} of {n_tests} corpus tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
