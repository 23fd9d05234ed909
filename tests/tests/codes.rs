//! The diagnostic codes against their reference and the corpus: every code has a distinct number,
//! a row in `docs/diagnostics.md` with its title, and a failure program that expects it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use adama_compiler::Code;

/// Codes whose trigger a corpus program cannot hold: bytes that are not text, and nesting deeper
/// than a thousand levels. Their tests live with the CLI and the lowering.
const WITHOUT_CORPUS_PROGRAM: [&str; 2] = ["E0009", "E0011"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The codes named by the `// expect:` lines of every failure program.
fn expected_codes() -> BTreeSet<String> {
    let corpus = workspace().join("tests").join("corpus");
    let entries = std::fs::read_dir(&corpus).unwrap_or_else(|error| panic!("{error}"));
    let mut codes = BTreeSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with("_failure.a") {
            continue;
        }
        for line in read(&path).lines() {
            let Some(rest) = line.trim().strip_prefix("// expect:") else {
                break;
            };
            if let Some(code) = rest
                .split_once(':')
                .and_then(|(_, expected)| expected.split_whitespace().next())
            {
                codes.insert(code.to_owned());
            }
        }
    }
    codes
}

#[test]
fn codes_are_distinct_and_numbered_in_order() {
    let numbers: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(numbers, sorted, "codes are unique and listed in order");
}

#[test]
fn every_code_is_documented_with_its_title() {
    let reference = read(&workspace().join("docs").join("diagnostics.md"));
    for code in Code::ALL {
        let row = format!("| {} | {} |", code.as_str(), code.title());
        assert!(
            reference.contains(&row),
            "docs/diagnostics.md needs a row starting `{row}`"
        );
    }
    let documented = reference
        .lines()
        .filter_map(|line| line.strip_prefix("| E"))
        .filter_map(|rest| rest.split_whitespace().next())
        .count();
    assert_eq!(
        documented,
        Code::ALL.len(),
        "one row per code, and no row for a code that does not exist"
    );
}

#[test]
fn every_code_has_a_failure_program_that_expects_it() {
    let expected = expected_codes();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !WITHOUT_CORPUS_PROGRAM.contains(code) && !expected.contains(*code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a failure program: {missing:?}"
    );
}
