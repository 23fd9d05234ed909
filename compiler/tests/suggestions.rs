//! "Did you mean": a misspelt name of each kind gets the declared name of that kind closest to
//! it, as a hint and as a fix that replaces exactly the misspelt text.

use adama_compiler::{Code, Database, Diagnostic, SourceFile, queries};

const DECLARATIONS: &str = "\
enum Color { Red, Green, Blue }
record Player { public int score; public string name; }
table<Player> players;
message Add { int n; }
channel<Add> answers;
public int total;
policy is_admin { return true; }
#ready {
}
";

/// The diagnostics of the declarations followed by `code`.
fn diagnose(code: &str) -> (String, Vec<Diagnostic>) {
    let text = format!("{DECLARATIONS}{code}");
    let db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), text.clone());
    let diagnostics = queries::diagnostics(&db, file).clone();
    (text, diagnostics)
}

/// Checks that `code` has one diagnostic, of `expected_code`, on `misspelt`, suggesting
/// `suggestion`, with a fix that puts `suggestion` in place of `misspelt`.
fn assert_suggests(code: &str, expected_code: Code, misspelt: &str, suggestion: &str) {
    let (text, diagnostics) = diagnose(code);
    assert_eq!(diagnostics.len(), 1, "{code}: {diagnostics:#?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.code, expected_code, "{code}");
    assert_eq!(&text[diagnostic.range.clone()], misspelt, "{code}");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(format!("did you mean '{suggestion}'?").as_str()),
        "{code}"
    );
    let fix = &diagnostic.fixes[0];
    assert_eq!(fix.title, format!("Change to '{suggestion}'"));
    assert_eq!(fix.edits.len(), 1);
    let mut fixed = text.clone();
    fixed.replace_range(fix.edits[0].range.clone(), &fix.edits[0].text);
    let db = Database::default();
    let file = SourceFile::new(&db, "fixed.a".to_owned(), fixed.clone());
    assert!(
        queries::diagnostics(&db, file).is_empty(),
        "the fixed program checks clean:\n{fixed}"
    );
}

#[test]
fn a_misspelt_local_or_field_name() {
    assert_suggests(
        "procedure p() { int count = 1; count = cont + total; }",
        Code::UnknownName,
        "cont",
        "count",
    );
}

#[test]
fn a_misspelt_record_or_message_field() {
    assert_suggests(
        "channel add(Add a) { total += a.nn; }",
        Code::UnknownMember,
        "nn",
        "n",
    );
    assert_suggests(
        "procedure p() { foreach (row in iterate players) { total += row.scor; } }",
        Code::UnknownMember,
        "scor",
        "score",
    );
}

#[test]
fn a_misspelt_method() {
    assert_suggests(
        "procedure p() { int s = players.siz(); }",
        Code::UnknownMethod,
        "siz",
        "size",
    );
    assert_suggests(
        "procedure p() { string t = \"x\".upperr(); }",
        Code::UnknownMethod,
        "upperr",
        "upper",
    );
    assert_suggests(
        "procedure p() { double m = Math.flor(2.5); }",
        Code::UnknownMethod,
        "flor",
        "floor",
    );
}

#[test]
fn a_misspelt_type() {
    assert_suggests("procedure p(Ad a) { }", Code::UnknownType, "Ad", "Add");
    assert_suggests(
        "procedure p() { Colr c = Color::Red; }",
        Code::UnknownType,
        "Colr",
        "Color",
    );
}

#[test]
fn a_misspelt_state_enum_value_channel_or_policy() {
    assert_suggests(
        "procedure p() { transition #reday; }",
        Code::UnknownState,
        "#reday",
        "#ready",
    );
    assert_suggests(
        "procedure p() { Color c = Color::Gren; }",
        Code::UnknownEnumValue,
        "Gren",
        "Green",
    );
    assert_suggests(
        "test t { @pump {n: 1} into answer; }",
        Code::UnknownChannel,
        "answer",
        "answers",
    );
    assert_suggests(
        "channel kick(Add k) requires<is_admn> { }",
        Code::UnknownPolicy,
        "is_admn",
        "is_admin",
    );
}

#[test]
fn a_name_far_from_every_declared_one_gets_no_suggestion() {
    let (_, diagnostics) = diagnose("procedure p() { total = zzzzzz; }");
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].fixes, Vec::new());
    assert!(
        !diagnostics[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean")
    );
}
