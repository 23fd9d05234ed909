//! A diagnostic points at the mistake and, beside it, at what made it a mistake: the type a value
//! had to fit where that type was written, the declaration a rule about a whole declaration blames.

use adama_compiler::{Database, Diagnostic, LineIndex, SourceFile, queries};

fn diagnose(text: &str) -> Vec<Diagnostic> {
    let db = Database::default();
    let file = SourceFile::new(&db, "doc.a".to_owned(), text.to_owned());
    queries::diagnostics(&db, file).clone()
}

/// Each diagnostic as its 0-based line, and the lines and labels of its related locations.
fn lines(text: &str) -> Vec<(usize, Vec<(usize, String)>)> {
    let index = LineIndex::new(text);
    diagnose(text)
        .iter()
        .map(|diagnostic| {
            (
                index.line_of(diagnostic.range.start),
                diagnostic
                    .related
                    .iter()
                    .map(|label| (index.line_of(label.range.start), label.message.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn because(line: usize) -> Vec<(usize, String)> {
    vec![(line, "expected because of this type".to_owned())]
}

#[test]
fn a_value_that_does_not_fit_points_at_the_type_it_had_to_fit() {
    let text = "public int count;\n\
                function label_of() -> string {\n  return 3;\n}\n\
                @construct {\n  count = \"many\";\n  int n = 4;\n  n = \"four\";\n  string s = 5;\n}\n\
                public double ratio = \"half\";\n";
    // The return that does not fit does not count, so the function does not return either.
    let unfit = "this value does not fit the return type, so this `return` does not count";
    assert_eq!(
        lines(text),
        vec![
            (1, vec![(2, unfit.to_owned())]),
            (2, because(1)),
            (5, because(0)),
            (7, because(6)),
            (8, because(8)),
            (10, because(10)),
        ]
    );
}

#[test]
fn an_argument_that_does_not_fit_points_at_the_parameter_type() {
    let text = "procedure take(int n) { }\n\
                function two(int a, string b) -> int { return a; }\n\
                function ov(int a) -> int { return a; }\n\
                function ov(string a, int b) -> int { return b; }\n\
                record R {\n  public int id;\n  method m(double d) { }\n  method m(int x, int y) { }\n}\n\
                table<R> rows;\n\
                message M {\n  int x;\n  method mm(bool b) -> int readonly { return x; }\n}\n\
                public int count;\n\
                @construct {\n  take(\"x\");\n  count = two(1, 2);\n  count = ov(1, 2);\n\
                foreach (r in iterate rows) { r.m(1, \"y\"); }\n  M msg;\n  count = msg.mm(1);\n}\n";
    let related = |text: &str| {
        let index = LineIndex::new(text);
        diagnose(text)
            .iter()
            .map(|diagnostic| {
                let label = &diagnostic.related[0];
                (
                    index.line_of(diagnostic.range.start),
                    text[label.range.clone()].to_owned(),
                    index.line_of(label.range.start),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        related(text),
        vec![
            (16, "int".to_owned(), 0),
            (17, "string".to_owned(), 1),
            // The second overload is the one with two parameters.
            (18, "string".to_owned(), 3),
            (19, "int".to_owned(), 7),
            (21, "bool".to_owned(), 12),
        ]
    );
    for diagnostic in diagnose(text) {
        assert_eq!(
            diagnostic.related[0].message,
            "expected because of this type"
        );
    }
}

#[test]
fn a_record_field_assigned_elsewhere_points_at_its_declaration() {
    let text = "record R {\n  public int id;\n  public int score;\n}\n\
                table<R> rows;\n\
                @construct {\n  foreach (r in iterate rows) {\n    r.score = \"high\";\n  }\n}\n";
    assert_eq!(lines(text), vec![(7, because(2))]);
}

#[test]
fn declaration_rules_blame_the_declaration_and_show_the_part() {
    let text = "enum Suit { Hearts, Spades }\n\
                dispatch Suit::Hearts score() -> int { return 1; }\n";
    assert_eq!(
        lines(text),
        vec![(0, vec![(1, "the dispatcher".to_owned())])]
    );
    let text = "function twice(int v) -> int { return v; }\n\
                function twice(int w) -> int { return w; }\n";
    assert_eq!(
        lines(text),
        vec![(0, vec![(1, "the same parameter types again".to_owned())])]
    );
    let text = "record Card {\n  public int id;\n}\n\
                message Hand {\n  table<Card> cards;\n}\n";
    // Both rules hold here: the message can't hold the record (blamed on the message), and a
    // table outside the document must hold a message (blamed on the record).
    assert_eq!(
        lines(text),
        vec![
            (
                0,
                vec![(4, "a table of this record outside the document".to_owned())]
            ),
            (
                3,
                vec![
                    (4, "this field's type".to_owned()),
                    (0, "'Card' is a record, not a message".to_owned()),
                ]
            )
        ]
    );
}
