//! The program corpus as tests: one test per file under `tests/corpus/` and `examples/`.
//!
//! A `_success` program (and every example) must have no diagnostic at all. A `_failure` program
//! states on its first line what it expects, as `// expect: LINE: FRAGMENT` with a 1-based line:
//! when FRAGMENT starts with a code (such as `E0002`) the file must report that code on that line;
//! otherwise it must report, on that line, a diagnostic whose message contains FRAGMENT (ignoring
//! case).
//!
//! `tests/corpus/PENDING.txt` lists the failure programs whose rule the checker does not enforce
//! yet. For those the test asserts today's (wrong) outcome, that the expected diagnostic is absent,
//! so that the list can only shrink: once a rule is enforced, its programs fail here until they are
//! removed from the list.

use std::path::Path;

use adama_compiler::{Database, Diagnostic, LineIndex, SourceFile, queries};

/// The expectation line of a failure program.
#[derive(Debug)]
struct Expectation {
    line: usize,
    fragment: String,
}

fn read(path: &Path) -> datatest_stable::Result<String> {
    Ok(std::fs::read_to_string(path)?)
}

fn diagnose(text: &str) -> Vec<Diagnostic> {
    let db = Database::default();
    let file = SourceFile::new(&db, "corpus.a".to_owned(), text.to_owned());
    queries::diagnostics(&db, file).clone()
}

/// The failure programs whose rule is not enforced yet.
fn pending() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join("PENDING.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn render(text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    diagnostics
        .iter()
        .map(|diagnostic| {
            let position = index.position_chars(text, diagnostic.range.start);
            format!(
                "{}:{}: {} {}",
                position.line + 1,
                position.character + 1,
                diagnostic.code,
                diagnostic.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_expectation(text: &str) -> Option<Expectation> {
    let first_line = text.lines().next()?;
    let rest = first_line
        .trim()
        .strip_prefix("//")?
        .trim()
        .strip_prefix("expect:")?
        .trim();
    let (line, fragment) = rest.split_once(':')?;
    Some(Expectation {
        line: line.trim().parse().ok()?,
        fragment: fragment.trim().to_owned(),
    })
}

fn code_of(fragment: &str) -> Option<&str> {
    let code = fragment.split_whitespace().next()?;
    let digits = code.strip_prefix('E')?;
    (digits.len() == 4 && digits.bytes().all(|byte| byte.is_ascii_digit())).then_some(code)
}

fn valid_program(path: &Path) -> datatest_stable::Result<()> {
    let text = read(path)?;
    let diagnostics = diagnose(&text);
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a valid program must have no diagnostic, got:\n{}",
            render(&text, &diagnostics)
        )
        .into())
    }
}

fn invalid_program(path: &Path) -> datatest_stable::Result<()> {
    let text = read(path)?;
    let expectation =
        parse_expectation(&text).ok_or("the first line must be `// expect: LINE: FRAGMENT`")?;
    let diagnostics = diagnose(&text);
    let index = LineIndex::new(&text);
    let on_line =
        |diagnostic: &&Diagnostic| index.line_of(diagnostic.range.start) + 1 == expectation.line;
    let found = match code_of(&expectation.fragment) {
        Some(code) => diagnostics
            .iter()
            .filter(on_line)
            .any(|diagnostic| diagnostic.code.as_str() == code),
        None => {
            let fragment = expectation.fragment.to_lowercase();
            diagnostics
                .iter()
                .filter(on_line)
                .any(|diagnostic| diagnostic.message.to_lowercase().contains(&fragment))
        }
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let is_pending = pending().contains(&name);
    match (found, is_pending) {
        (true, false) | (false, true) => Ok(()),
        (false, false) => Err(format!(
            "expected '{}' on line {}, got:\n{}",
            expectation.fragment,
            expectation.line,
            render(&text, &diagnostics)
        )
        .into()),
        (true, true) => {
            Err(format!("{name} is now detected: remove it from tests/corpus/PENDING.txt").into())
        }
    }
}

datatest_stable::harness! {
    { test = valid_program, root = "corpus", pattern = r"_success\.a$" },
    { test = invalid_program, root = "corpus", pattern = r"_failure\.a$" },
    { test = valid_program, root = "../examples", pattern = r"\.a$" },
}
