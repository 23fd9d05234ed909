//! The program corpus as tests: one test per file under `tests/corpus/` and `examples/`.
//!
//! A `_success` program (and every example) must have no diagnostic at all. A `_failure` program
//! states in its first lines what it expects, one `// expect: LINE: CODE [FRAGMENT]` line per
//! diagnostic (1-based lines): the file must report that code on that line, with a message that
//! contains FRAGMENT (ignoring case) when there is one. A line without a code
//! (`// expect: LINE: FRAGMENT`) matches any code. One expectation covers every diagnostic on its
//! line that it matches, and a diagnostic that no expectation matches fails the test.
//!
//! `tests/corpus/PENDING.txt` lists the failure programs whose rule the checker does not enforce
//! yet. For those the test asserts today's (wrong) outcome, that the first expected diagnostic is
//! absent, so that the list can only shrink: once a rule is enforced, its programs fail here until
//! they are removed from the list.

use std::path::Path;

use adama_compiler::{Database, Diagnostic, LineIndex, SourceFile, queries};

/// One expectation line of a failure program.
#[derive(Debug)]
struct Expectation {
    line: usize,
    code: Option<String>,
    fragment: String,
}

impl Expectation {
    fn matches(&self, index: &LineIndex, diagnostic: &Diagnostic) -> bool {
        index.line_of(diagnostic.range.start) + 1 == self.line
            && self
                .code
                .as_deref()
                .is_none_or(|code| diagnostic.code.as_str() == code)
            && diagnostic
                .message
                .to_lowercase()
                .contains(&self.fragment.to_lowercase())
    }
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:", self.line)?;
        if let Some(code) = &self.code {
            write!(formatter, " {code}")?;
        }
        if !self.fragment.is_empty() {
            write!(formatter, " '{}'", self.fragment)?;
        }
        Ok(())
    }
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

/// The expectations of a failure program: its leading `// expect:` lines.
fn parse_expectations(text: &str) -> Vec<Expectation> {
    text.lines()
        .map_while(|line| {
            line.trim()
                .strip_prefix("//")?
                .trim()
                .strip_prefix("expect:")
                .map(str::trim)
        })
        .filter_map(|rest| {
            let (line, expected) = rest.split_once(':')?;
            let expected = expected.trim();
            let (code, fragment) = match code_of(expected) {
                Some(code) => (Some(code.to_owned()), expected[code.len()..].trim()),
                None => (None, expected),
            };
            Some(Expectation {
                line: line.trim().parse().ok()?,
                code,
                fragment: fragment.to_owned(),
            })
        })
        .collect()
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
    let expectations = parse_expectations(&text);
    if expectations.is_empty() {
        return Err("the first line must be `// expect: LINE: CODE`".into());
    }
    let diagnostics = diagnose(&text);
    let index = LineIndex::new(&text);
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if pending().contains(&name) {
        let first = &expectations[0];
        return if diagnostics
            .iter()
            .any(|diagnostic| first.matches(&index, diagnostic))
        {
            Err(format!("{name} is now detected: remove it from tests/corpus/PENDING.txt").into())
        } else {
            Ok(())
        };
    }
    let missing: Vec<String> = expectations
        .iter()
        .filter(|expectation| {
            !diagnostics
                .iter()
                .any(|diagnostic| expectation.matches(&index, diagnostic))
        })
        .map(ToString::to_string)
        .collect();
    let unexpected: Vec<Diagnostic> = diagnostics
        .iter()
        .filter(|diagnostic| {
            !expectations
                .iter()
                .any(|expectation| expectation.matches(&index, diagnostic))
        })
        .cloned()
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let mut report = String::new();
    if !missing.is_empty() {
        report.push_str(&format!("expected, not reported: {}\n", missing.join("; ")));
    }
    if !unexpected.is_empty() {
        report.push_str(&format!(
            "reported, not expected (add `// expect: LINE: CODE` lines):\n{}\n",
            render(&text, &unexpected)
        ));
    }
    Err(format!("{report}all diagnostics:\n{}", render(&text, &diagnostics)).into())
}

datatest_stable::harness! {
    { test = valid_program, root = "corpus", pattern = r"_success\.a$" },
    { test = invalid_program, root = "corpus", pattern = r"_failure\.a$" },
    { test = valid_program, root = "../examples", pattern = r"\.a$" },
}
