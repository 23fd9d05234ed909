//! The IR addresses layouts by id: every slot and expression that holds records names the layout
//! of those records, and a message channel names its message.

use adama_compiler::ir::{Program, RecordId, build_program};
use adama_compiler::{Database, SourceFile, queries};

fn build(source: &str) -> Program {
    let db = Database::default();
    let file = SourceFile::new(&db, "layouts.a".to_owned(), source.to_owned());
    assert!(
        queries::diagnostics(&db, file).is_empty(),
        "{:?}",
        queries::diagnostics(&db, file)
    );
    build_program(&db, file)
}

fn record(program: &Program, name: &str) -> RecordId {
    program
        .records
        .iter_ids()
        .find(|(_, layout)| layout.name == name)
        .map(|(id, _)| id)
        .expect("a layout of that name")
}

const SOURCE: &str = r#"
record First { public int x; }
record Second { public string y; maybe<First> inner; }
table<Second> seconds;
maybe<Second> one;
map<int, First> by_key;
First first;
int plain;
message Hello { int n; }
channel hello(Hello h) { plain = h.n; }
procedure pick() -> maybe<Second> { return one; }
"#;

#[test]
fn fields_holding_records_name_their_layout() {
    let program = build(SOURCE);
    let (first, second) = (record(&program, "First"), record(&program, "Second"));
    assert_ne!(first, second);
    let root = &program.records[RecordId::ROOT];
    let of = |name: &str| {
        root.fields
            .iter()
            .find(|field| field.name == name)
            .expect("a field of that name")
            .records
    };
    assert_eq!(of("seconds"), Some(second));
    assert_eq!(of("one"), Some(second));
    assert_eq!(of("by_key"), Some(first));
    assert_eq!(of("first"), Some(first));
    assert_eq!(of("plain"), None);
    let inner = program.records[second]
        .fields
        .iter()
        .find(|field| field.name == "inner")
        .expect("the inner field");
    assert_eq!(inner.records, Some(first));
}

#[test]
fn expressions_of_record_types_name_their_layout() {
    let program = build(SOURCE);
    let second = record(&program, "Second");
    let unit = program
        .units
        .iter()
        .find(|unit| matches!(&unit.item.decl, adama_compiler::hir::Decl::Procedure(_)))
        .expect("the procedure's unit");
    assert_eq!(unit.records.len(), unit.types.len());
    assert!(unit.records.iter().flatten().all(|id| *id == second));
    assert!(unit.records.iter().any(Option::is_some));
}

#[test]
fn channels_name_their_message() {
    let program = build(SOURCE);
    let message = program.handlers["hello"]
        .message
        .expect("a declared message");
    assert_eq!(program.messages[message].name, "Hello");
    assert_eq!(program.message_named("Hello"), Some(message));
    assert_eq!(program.message_named("Missing"), None);
}
