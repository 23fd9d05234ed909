//! Every fix the compiler attaches to a diagnostic repairs the program: applying the first fix of
//! the first diagnostic leaves a program that checks clean.

use adama_compiler::{Database, Diagnostic, SourceFile, queries};

fn diagnose(text: &str) -> Vec<Diagnostic> {
    let db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), text.to_owned());
    queries::diagnostics(&db, file).clone()
}

/// Applies the first fix of the only diagnostic of `text`, checking its title on the way.
fn fixed(text: &str, title: &str) -> String {
    let diagnostics = diagnose(text);
    assert_eq!(diagnostics.len(), 1, "{text}: {diagnostics:#?}");
    let fix = diagnostics[0]
        .fixes
        .first()
        .unwrap_or_else(|| panic!("{text}: no fix in {:#?}", diagnostics[0]));
    assert_eq!(fix.title, title, "{text}");
    let mut edits = fix.edits.clone();
    // From the last edit to the first, so that earlier ranges stay valid.
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.range.start));
    let mut result = text.to_owned();
    for edit in edits {
        result.replace_range(edit.range, &edit.text);
    }
    result
}

fn assert_repairs(text: &str, title: &str) {
    let result = fixed(text, title);
    let left = diagnose(&result);
    assert!(left.is_empty(), "after '{title}':\n{result}\n{left:#?}");
}

#[test]
fn syntax_fixes_insert_what_is_missing() {
    assert_repairs("public int x\n", "Insert ';'");
    assert_repairs("procedure p() {\n  int x = 1\n}\n", "Insert ';'");
    assert_repairs("procedure p() {\n  int x = 1;\n", "Insert '}'");
    assert_repairs("procedure p() {\n  int x = (1 + 2;\n}\n", "Insert ')'");
}

#[test]
fn literal_fixes_write_the_literal_as_intended() {
    assert_repairs(
        "public double d = 1e3;\n",
        "Insert '.0' before the exponent",
    );
    assert_repairs("public int y = 3-1;\n", "Put spaces around '-'");
    assert_repairs("public long big = 2147483648;\n", "Make it a long");
    assert_repairs("public string s = \"a\\d\";\n", "Escape the backslash");
}

#[test]
fn declaration_fixes_add_what_is_missing_at_the_end() {
    assert_repairs("channel go(Order o) {\n}\n", "Create message Order");
    assert_repairs(
        "procedure p() {\n  transition #ship;\n}\n",
        "Create state #ship",
    );
    assert_repairs(
        "message M { int n; }\nchannel c(M m) {\n  let x = @convert<Shape>(m);\n}\n",
        "Create message Shape",
    );
}

#[test]
fn a_suggestion_takes_the_declared_name() {
    assert_repairs(
        "public int total;\nformula doubled = totl * 2;\n",
        "Change to 'total'",
    );
}
