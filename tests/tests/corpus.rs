//! The program corpus as tests: one test per file under `tests/corpus/` and `examples/`.
//!
//! A `_success` program (and every example) must have no diagnostic at all. A `_failure` program
//! states on its first line what it expects, as `// expect: LINE: FRAGMENT` with a 1-based line:
//! when FRAGMENT starts with a syntax code (E0001-E0010) the file must report that code on that
//! line; any other FRAGMENT names a rule of names, types or contexts, and until those checks exist
//! the file must at least be free of syntax errors, so that its failure is the rule it is about.

use std::path::Path;

use adama_compiler::{Diagnostic, LineIndex, parse, syntax};

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
    let tree = parse(text, None);
    syntax::check(text, &tree)
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

fn is_syntax_code(fragment: &str) -> Option<&str> {
    let code = fragment.split_whitespace().next()?;
    let number: u32 = code.strip_prefix('E')?.parse().ok()?;
    (1..=10).contains(&number).then_some(code)
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
    match is_syntax_code(&expectation.fragment) {
        Some(code) => {
            let found = diagnostics.iter().any(|diagnostic| {
                diagnostic.code.as_str() == code
                    && index.line_of(diagnostic.range.start) + 1 == expectation.line
            });
            if found {
                Ok(())
            } else {
                Err(format!(
                    "expected {code} on line {}, got:\n{}",
                    expectation.line,
                    render(&text, &diagnostics)
                )
                .into())
            }
        }
        None if diagnostics.is_empty() => Ok(()),
        None => Err(format!(
            "this program is about '{}' on line {}, so it must be free of syntax errors, got:\n{}",
            expectation.fragment,
            expectation.line,
            render(&text, &diagnostics)
        )
        .into()),
    }
}

datatest_stable::harness! {
    { test = valid_program, root = "corpus", pattern = r"_success\.a$" },
    { test = invalid_program, root = "corpus", pattern = r"_failure\.a$" },
    { test = valid_program, root = "../examples", pattern = r"\.a$" },
}
