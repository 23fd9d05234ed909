//! Whatever the text, parsing, the syntax checks and the whole checker return diagnostics with
//! ranges inside the text; they never panic.

use adama_compiler::{Database, SourceFile, parse, queries, syntax};
use proptest::prelude::*;

/// Fragments of Adama and of common mistakes, so that random texts get deep into the grammar.
const FRAGMENTS: &[&str] = &[
    "public ",
    "private ",
    "int ",
    "string ",
    "x ",
    "y",
    "=",
    "==",
    "= =",
    ";",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "[]",
    "<",
    ">",
    "<-",
    "->",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "?",
    ":",
    "::",
    ",",
    ".",
    "1",
    "1e3",
    "0x",
    "2147483648",
    "3-1",
    ".5",
    "\"s\"",
    "\"\\z\"",
    "\"",
    "'",
    "`t`",
    "#s",
    "@construct",
    "@web get /",
    "record R ",
    "message M ",
    "channel c(M m) ",
    "iterate t where ",
    "order by ",
    "map @lambda q: ",
    "if (",
    "else ",
    "while ",
    "for (",
    "foreach (e in ",
    "switch (",
    "case ",
    "return ",
    "transition ",
    "@maybe<",
    "@date ",
    "@timespan ",
    "table<",
    "maybe<",
    "function f() ",
    "-> int ",
    "\n",
    " ",
    "//c\n",
    "/*",
    "*/",
    "é",
    "\u{4e16}",
    "\u{1F600}",
    "public int x;\n",
    "record R { public int id; public string name; }\n",
    "table<R> t;\n",
    "message M { int n; }\n",
    "channel c(M m) { x += m.n; }\n",
    "formula f = x + 1;\n",
    "procedure p(int a) -> int { return a; }\n",
    "#s { transition #s in 1; }\n",
    "enum E { A, B }\n",
    "@construct { x = 1; }\n",
    "formula q = iterate t where id > 1 order by name;\n",
];

fn program() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..80).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn syntax_checks_never_panic_and_stay_in_range(text in program()) {
        let tree = parse(&text, None);
        for diagnostic in syntax::check(&text, &tree) {
            prop_assert!(diagnostic.range.start <= diagnostic.range.end);
            prop_assert!(diagnostic.range.end <= text.len());
            prop_assert!(!diagnostic.message.is_empty());
        }
    }

    #[test]
    fn the_whole_checker_never_panics_and_stays_in_range(text in program()) {
        let db = Database::default();
        let file = SourceFile::new(&db, "soup.a".to_owned(), text.clone());
        for diagnostic in queries::diagnostics(&db, file) {
            prop_assert!(diagnostic.range.start <= diagnostic.range.end);
            prop_assert!(diagnostic.range.end <= text.len());
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(text in "\\PC{0,200}") {
        let tree = parse(&text, None);
        let _ = syntax::check(&text, &tree);
    }
}
