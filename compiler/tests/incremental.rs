//! Incrementality, measured with salsa's execution events: an edit inside one function body
//! re-checks only that function; an edit of white space or comments re-checks nothing.

use adama_compiler::{Database, SourceFile, queries};
use salsa::Setter;

const PROGRAM: &str = "\
public int total;
record Row { public int id; public int value; }
table<Row> rows;
message Add { int n; }

function twice(int x) -> int {
  return x * 2;
}

function triple(int x) -> int {
  return x * 3;
}

channel add(Add a) {
  total += twice(a.n);
}
";

fn executions(log: &std::sync::Mutex<Vec<String>>, query: &str) -> usize {
    log.lock()
        .map(|log| log.iter().filter(|entry| entry.starts_with(query)).count())
        .unwrap_or(0)
}

fn clear(log: &std::sync::Mutex<Vec<String>>) {
    if let Ok(mut log) = log.lock() {
        log.clear();
    }
}

#[test]
fn a_first_check_runs_every_item_once() {
    let (db, log) = Database::with_execution_log();
    let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
    assert!(queries::diagnostics(&db, file).is_empty());
    assert_eq!(executions(&log, "check_item"), 7);
}

#[test]
fn an_edit_inside_one_function_body_rechecks_only_that_function() {
    let (mut db, log) = Database::with_execution_log();
    let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
    assert!(queries::diagnostics(&db, file).is_empty());
    clear(&log);

    file.set_text(&mut db).to(PROGRAM.replace("x * 3", "x * 4"));
    assert!(queries::diagnostics(&db, file).is_empty());
    assert_eq!(
        executions(&log, "check_item"),
        1,
        "{:?}",
        log.lock().map(|log| log.clone())
    );
    assert_eq!(
        executions(&log, "signatures"),
        0,
        "no declaration changed, so they are not gathered again"
    );
}

#[test]
fn an_edit_of_white_space_or_comments_rechecks_nothing() {
    let (mut db, log) = Database::with_execution_log();
    let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
    assert!(queries::diagnostics(&db, file).is_empty());
    clear(&log);

    let edited = PROGRAM
        .replace("  return x * 3;", "  // triple it\n  return   x * 3;")
        .replace("public int total;", "public int total;   ");
    file.set_text(&mut db).to(edited);
    assert!(queries::diagnostics(&db, file).is_empty());
    assert_eq!(
        executions(&log, "check_item"),
        0,
        "{:?}",
        log.lock().map(|log| log.clone())
    );
}

#[test]
fn diagnostics_follow_the_text_when_it_moves() {
    let mut db = Database::default();
    let broken = PROGRAM.replace("x * 3", "y * 3");
    let file = SourceFile::new(&db, "doc.a".to_owned(), broken.clone());
    let before = queries::diagnostics(&db, file).clone();
    assert_eq!(before.len(), 1);
    assert_eq!(&broken[before[0].range.clone()], "y");

    let moved = format!("\n\n// a comment above everything\n{broken}");
    file.set_text(&mut db).to(moved.clone());
    let after = queries::diagnostics(&db, file).clone();
    assert_eq!(after.len(), 1);
    assert_eq!(&moved[after[0].range.clone()], "y");
    assert_eq!(after[0].message, "The variable 'y' was not defined");
}

#[test]
fn fixes_and_related_locations_follow_moved_text_without_a_recheck() {
    let (mut db, log) = Database::with_execution_log();
    let program = "public int score;\npublic double score;\nformula f = scroe + 1;\n";
    let file = SourceFile::new(&db, "doc.a".to_owned(), program.to_owned());
    let located = |text: &str, range: &std::ops::Range<usize>| text[range.clone()].to_owned();
    let before = queries::diagnostics(&db, file).clone();
    assert_eq!(before.len(), 2, "{before:?}");
    clear(&log);

    let moved = format!("// a comment that moves everything\n\n{program}");
    file.set_text(&mut db).to(moved.clone());
    let after = queries::diagnostics(&db, file).clone();
    assert_eq!(executions(&log, "check_item"), 0, "the checks are reused");
    let duplicate = &after[0];
    assert_eq!(duplicate.related.len(), 1);
    assert_eq!(duplicate.related[0].message, "first defined here");
    assert_eq!(
        duplicate.related[0].range.start,
        moved.find("score").unwrap_or_default()
    );
    let misspelt = &after[1];
    let edit = &misspelt.fixes[0].edits[0];
    assert_eq!(located(&moved, &edit.range), "scroe");
    assert_eq!(edit.text, "score");
}

/// Checks every item, as a tool asking about each name would while the file is edited.
fn check_every_item(db: &Database, file: SourceFile) {
    for item in queries::file_items(db, file) {
        queries::check_item(db, *item);
    }
}

#[test]
fn a_syntax_error_typed_into_a_declaration_and_removed_reuses_every_earlier_check() {
    let mut db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), PROGRAM.to_owned());
    assert!(queries::diagnostics(&db, file).is_empty());
    let before: Vec<_> = queries::file_items(&db, file)
        .iter()
        .map(|item| std::sync::Arc::clone(queries::check_item(&db, *item)))
        .collect();
    let declarations = std::sync::Arc::clone(queries::signatures(&db, file));

    // The record's name is broken: its declarations change, and every item is checked against
    // them (hover, completion) until the mistake is undone.
    file.set_text(&mut db)
        .to(PROGRAM.replace("record Row {", "record Ro w {"));
    assert!(!queries::diagnostics(&db, file).is_empty());
    check_every_item(&db, file);
    file.set_text(&mut db).to(PROGRAM.to_owned());
    assert!(queries::diagnostics(&db, file).is_empty());

    assert!(
        std::sync::Arc::ptr_eq(queries::signatures(&db, file), &declarations),
        "the declarations are those of the first version"
    );
    let after = queries::file_items(&db, file);
    assert_eq!(after.len(), before.len());
    for (item, earlier) in after.iter().zip(&before) {
        let checked = queries::check_item(&db, *item);
        assert_eq!(checked, earlier);
        // The record's own item was lowered again from text that was broken in between.
        if item.key(&db).name != "Row" {
            assert!(
                std::sync::Arc::ptr_eq(checked, earlier),
                "{:?} is checked again",
                item.key(&db)
            );
        }
    }
}

#[test]
fn an_earlier_check_is_not_reused_when_a_formula_it_read_changed_meanwhile() {
    let program = "\
public formula g = 1;
record Row { public int id; }
procedure uses() -> int {
  return g;
}
";
    let mut db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), program.to_owned());
    let clean = queries::diagnostics(&db, file);
    assert!(clean.is_empty(), "{clean:?}");
    // The declarations break and come back, while the formula's type changes for good.
    file.set_text(&mut db)
        .to(program.replace("record Row {", "record Ro w {"));
    assert!(!queries::diagnostics(&db, file).is_empty());
    check_every_item(&db, file);
    let changed = program.replace("g = 1;", "g = \"one\";");
    file.set_text(&mut db).to(changed.clone());
    let diagnostics = queries::diagnostics(&db, file).clone();

    let fresh = Database::default();
    let fresh_file = SourceFile::new(&fresh, "doc.a".to_owned(), changed);
    assert_eq!(diagnostics, *queries::diagnostics(&fresh, fresh_file));
    assert!(
        diagnostics
            .iter()
            .any(|d| d.message == "expected 'int', found 'string'"),
        "{diagnostics:?}"
    );
}
