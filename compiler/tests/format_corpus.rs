//! The formatter on every program of the corpus and the examples: formatting twice gives the
//! same text, and the formatted program has the same tree and the same tokens as the original.
// A test reads the corpus from disk; the library itself never does.
#![allow(clippy::disallowed_methods)]

use adama_compiler::format::format;
use adama_compiler::parse;

fn leaves(text: &str) -> Vec<String> {
    let tree = parse(text, None);
    let mut tokens = Vec::new();
    adama_compiler::parse::walk_tree(tree.root_node(), |node| {
        if node.child_count() == 0 {
            tokens.push(text.get(node.byte_range()).unwrap_or("").to_owned());
        }
        true
    });
    tokens
}

fn programs() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for directory in [
        root.join("tests/corpus"),
        root.join("examples/chat"),
        root.join("examples/counter"),
    ] {
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
        paths.extend(
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|extension| extension == "a")),
        );
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path.display().to_string(), text)
        })
        .collect()
}

#[test]
fn formatting_is_stable_and_changes_only_white_space() {
    let mut n_formatted = 0;
    for (path, text) in programs() {
        let Ok(formatted) = format(&text) else {
            continue;
        };
        n_formatted += 1;
        assert_eq!(
            format(&formatted).as_deref(),
            Ok(formatted.as_str()),
            "{path}: formatting twice changed the text"
        );
        assert_eq!(
            parse(&formatted, None).root_node().to_sexp(),
            parse(&text, None).root_node().to_sexp(),
            "{path}: the tree changed"
        );
        assert_eq!(leaves(&formatted), leaves(&text), "{path}: a token changed");
    }
    assert!(
        n_formatted > 500,
        "only {n_formatted} programs were formatted"
    );
}
