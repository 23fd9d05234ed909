//! The formatter on every program of the corpus and the examples: formatting twice gives the
//! same text, and the formatted program has the same tree and the same tokens as the original.
// A test reads the corpus from disk; the library itself never does.
#![allow(clippy::disallowed_methods)]

mod support;

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

#[test]
fn formatting_is_stable_and_changes_only_white_space() {
    let mut n_formatted = 0;
    for (path, text) in support::programs() {
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
