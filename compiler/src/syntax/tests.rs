//! Tests of the syntax checks: each pins the code, line and gist of the message a user sees.

use super::check;
use crate::diagnostic::Code;
use crate::line_index::LineIndex;
use crate::parse::parse;

/// (code, 1-based line, message) of every syntax diagnostic of `text`.
fn diagnose(text: &str) -> Vec<(Code, usize, String)> {
    let tree = parse(text, None);
    let index = LineIndex::new(text);
    check(text, &tree)
        .into_iter()
        .map(|diagnostic| {
            (
                diagnostic.code,
                index.line_of(diagnostic.range.start) + 1,
                diagnostic.message,
            )
        })
        .collect()
}

fn first(text: &str) -> (Code, usize, String) {
    diagnose(text)
        .into_iter()
        .next()
        .unwrap_or((Code::NotText, 0, "no diagnostic".to_owned()))
}

#[test]
fn a_valid_program_has_no_syntax_diagnostic() {
    let text =
        "public int x = 1;\nrecord R { public int id; }\ntable<R> t;\nchannel c(M m) { x += 1; }\n";
    assert_eq!(diagnose(text), vec![]);
}

#[test]
fn a_missing_semicolon_after_a_field_is_named_on_its_line() {
    let (code, line, message) = first("public int x\npublic int y;\n");
    assert_eq!((code, line), (Code::MissingToken, 1));
    assert_eq!(message, "expected ';' after the field declaration");
}

#[test]
fn a_missing_semicolon_between_statements_is_on_the_first_line() {
    let (code, line, message) = first("function f() -> int {\n  int x = 1\n  return x;\n}\n");
    assert_eq!((code, line), (Code::MissingToken, 2));
    assert!(message.contains("';'"), "{message}");
}

#[test]
fn an_unclosed_record_points_at_its_opening_brace() {
    let text = "record R {\n  public int x;\n\npublic int y;\n";
    let tree = parse(text, None);
    let diagnostics = check(text, &tree);
    let first = diagnostics
        .first()
        .map(|d| (d.code, d.message.clone(), d.related.len()));
    assert_eq!(
        first,
        Some((
            Code::MissingToken,
            "expected '}' to close the record opened on line 1".to_owned(),
            1
        ))
    );
}

#[test]
fn an_incomplete_expression_is_reported_where_it_stops() {
    let (code, line, message) = first("message M { int x; }\nchannel c(M m) {\n  x = (1 + ;\n}\n");
    assert_eq!(line, 3, "{code:?} {message}");
}

#[test]
fn two_values_in_a_row_are_unexpected() {
    let (code, line, message) = first("public int x = 1 2;\n");
    assert_eq!((code, line), (Code::UnexpectedToken, 1), "{message}");
    assert!(message.contains("'2'"), "{message}");
}

#[test]
fn a_record_without_a_name_says_a_name_was_expected() {
    let (_, line, message) = first("public int x = 1;\nrecord {\n}\n");
    assert_eq!(line, 2);
    assert!(message.contains("a name"), "{message}");
}

#[test]
fn a_statement_at_the_top_level_is_reported_there() {
    let (_, line, _) = first("int x = 1;\nx = 2;\n");
    assert_eq!(line, 2);
}

#[test]
fn single_quotes_get_a_hint_about_double_quotes() {
    let text = "public string s = 'a';\n";
    let tree = parse(text, None);
    let diagnostics = check(text, &tree);
    assert_eq!(
        diagnostics.first().and_then(|d| d.help.clone()).as_deref(),
        Some("strings are written with double quotes: \"text\"")
    );
}

#[test]
fn characters_beyond_latin1_are_only_allowed_in_strings_and_comments() {
    assert_eq!(
        diagnose("// ok: \u{4e16}\npublic string s = \"\u{4e16}\";\n"),
        vec![]
    );
    let (code, line, _) = first("public int x = 1;\npublic int \u{4e16} = 2;\n");
    assert_eq!((code, line), (Code::InvalidCharacter, 2));
}

#[test]
fn malformed_numbers_are_reported_with_their_text() {
    let (code, line, message) = first("public int x = 1;\npublic int y = 1e3;\n");
    assert_eq!(
        (code, line, message.as_str()),
        (Code::MalformedNumber, 2, "'1e3' is not a valid number")
    );
    assert_eq!(first("public int y = 3-1;\n").0, Code::MalformedNumber);
    assert_eq!(
        first("public int y = 2147483648;\n").0,
        Code::IntegerOutOfRange
    );
    assert_eq!(
        diagnose("public int y = 3 - 1;\npublic int z = -2147483647;\n"),
        vec![]
    );
}

#[test]
fn bad_string_escapes_are_reported() {
    // A bad escape stops the lexer: it is reported for the whole file, at its start.
    let (code, line, message) = first("public int a;\npublic string s = \"a\\zb\";\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::InvalidEscape,
            1,
            "the file can not be read: '\\z' is not a valid escape in a string"
        )
    );
    assert_eq!(
        diagnose("public string s = \"\\t\\n\\\"\\\\\\u0041\";\n"),
        vec![]
    );
    assert_eq!(
        first("public string s = \"\\u00G1\";\n").0,
        Code::InvalidEscape
    );
}

#[test]
fn forbidden_chains_are_reported_and_ranges_are_not() {
    assert_eq!(
        first("public bool b = 1 == 2 == true;\n").0,
        Code::OperatorChain
    );
    assert_eq!(
        first("public int t = true ? 1 : false ? 2 : 3;\n").0,
        Code::OperatorChain
    );
    assert_eq!(first("public bool b = !!true;\n").0, Code::OperatorChain);
    assert_eq!(first("public bool b = 1 < 2 > 3;\n").0, Code::OperatorChain);
    assert_eq!(
        diagnose(
            "public bool b = 1 < 2 <= 3;\npublic int t = true ? 1 : (false ? 2 : 3);\npublic bool c = !(!true);\n"
        ),
        vec![]
    );
}

#[test]
fn reserved_words_cannot_name_declarations() {
    let (code, line, message) = first("public int x;\npublic int int;\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::ReservedName,
            2,
            "'int' is reserved and cannot be used as a name"
        )
    );
    assert_eq!(
        first("function f(int class) -> int { return 1; }\n").0,
        Code::ReservedName
    );
    assert_eq!(
        first("procedure p() { let while = 1; }\n").0,
        Code::ReservedName
    );
}

#[test]
fn a_function_without_a_return_type_is_told_to_declare_one() {
    let (code, line, message) = first("function f() {\n  return;\n}\n");
    assert_eq!((code, line), (Code::MissingToken, 1));
    assert!(message.contains("'->'"), "{message}");
}

#[test]
fn deep_nesting_neither_overflows_nor_hangs() {
    let depth = 10_000;
    let text = format!(
        "public int x = {}1{};\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(diagnose(&text), vec![]);
    let unbalanced = format!("public int x = {}1;\n", "(".repeat(depth));
    assert!(!diagnose(&unbalanced).is_empty());
}

#[test]
fn an_operator_with_nothing_after_it_is_named() {
    let (code, line, message) = first("procedure p() {\n  int x = 1;\n  x = x + ;\n}\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::UnexpectedToken,
            3,
            "expected an expression after '+', found ';'"
        )
    );
}

#[test]
fn an_unclosed_parenthesis_before_a_block_is_found() {
    let (code, line, message) = first("procedure p() {\n  for (int i = 0; i < 10; i++ {\n  }\n}\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::MissingToken,
            2,
            "expected ')' after '++' to close the '(' opened on line 2"
        )
    );
}

#[test]
fn an_unterminated_string_says_so() {
    let (code, line, message) = first("public string s = \"open;\npublic int y = 2;\n");
    assert_eq!(
        (code, line, message.as_str()),
        (Code::UnexpectedToken, 1, "this string is never closed")
    );
}

#[test]
fn a_stray_token_at_the_top_level_is_unexpected_there() {
    let (code, line, message) =
        first("public int score;\n/* no /* nesting */ */\npublic int other;\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::UnexpectedToken,
            2,
            "unexpected '*' in the top level of the document"
        )
    );
}

#[test]
fn an_arrow_inside_an_expression_is_not_a_comparison() {
    let (code, line, message) = first("procedure p(int a) {\n  if (a<-1) { }\n}\n");
    assert_eq!(
        (code, line, message.as_str()),
        (
            Code::UnexpectedToken,
            2,
            "'<-' is the ingestion arrow, not a comparison"
        )
    );
    assert_eq!(
        diagnose("procedure p(int a) {\n  if (a < -1) { }\n}\n"),
        vec![]
    );
}
