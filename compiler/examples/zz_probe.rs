use adama_compiler::{Database, LineIndex, SourceFile, queries};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let tree = adama_compiler::parse(&text, None);
    if std::env::args().nth(2).is_some() {
        println!("{}", tree.root_node().to_sexp());
    }
    let db = Database::default();
    let file = SourceFile::new(&db, "p.a".to_owned(), text.clone());
    let index = LineIndex::new(&text);
    for d in queries::diagnostics(&db, file).iter() {
        let p = index.position_chars(&text, d.range.start);
        println!("L{}:{} {} {}", p.line, p.character, d.code, d.message);
        for r in &d.related {
            let p = index.position_chars(&text, r.range.start);
            println!("    related L{}:{} {}", p.line, p.character, r.message);
        }
    }
}
