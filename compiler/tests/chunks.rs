//! A file parsed in chunks holds the same nodes, at the same places, as the file parsed whole:
//! from scratch, and after edits that re-parse only the chunks they touch.

// The corpus is read from disk; the compiler itself does no IO.
#![allow(clippy::disallowed_methods)]

mod support;

use std::ops::Range;

use adama_compiler::chunks::{self, Chunk};
use adama_compiler::parse::{parse, walk_tree};
use tree_sitter::{Node, Point};

/// Every node under `root`: its kind, whether it is an error or missing, and where it is.
type Outline = Vec<(String, bool, Range<usize>, Point, Point)>;

fn outline_into(root: Node<'_>, outline: &mut Outline) {
    walk_tree(root, |node| {
        outline.push((
            node.kind().to_owned(),
            node.is_error() || node.is_missing(),
            node.byte_range(),
            node.start_position(),
            node.end_position(),
        ));
        true
    });
}

/// The outline of the top-level nodes under `roots` (the roots themselves left out).
fn top_level_outline<'tree>(roots: impl Iterator<Item = Node<'tree>>) -> Outline {
    let mut outline = Vec::new();
    for root in roots {
        let mut cursor = root.walk();
        for node in root.children(&mut cursor) {
            outline_into(node, &mut outline);
        }
    }
    outline
}

fn chunked_outline(chunks: &[Chunk]) -> Outline {
    top_level_outline(chunks.iter().map(Chunk::root))
}

fn whole_outline(text: &str) -> Outline {
    top_level_outline(std::iter::once(parse(text, None).root_node()))
}

/// The chunks cover `text` from its first byte to its last, in order, without overlap.
fn assert_tiles(chunks: &[Chunk], text: &str, context: &str) {
    let mut next = 0;
    for chunk in chunks {
        assert_eq!(chunk.range.start, next, "{context}: chunks leave a gap");
        next = chunk.range.end;
    }
    assert_eq!(next, text.len(), "{context}: chunks stop short of the end");
}

/// The chunks cover `text` and hold every node a parse of the whole text holds.
fn assert_same_as_whole(chunks: &[Chunk], text: &str, context: &str) {
    assert_tiles(chunks, text, context);
    assert_eq!(chunked_outline(chunks), whole_outline(text), "{context}");
}

#[test]
fn the_corpus_in_the_smallest_chunks_parses_as_it_does_whole() {
    let mut chunked = 0;
    for (path, text) in support::programs() {
        if parse(&text, None).root_node().has_error() {
            continue;
        }
        let chunks = chunks::parse_in_chunks_of(&text, 1);
        if chunks.len() > 1 {
            chunked += 1;
        }
        assert_same_as_whole(&chunks, &text, &path);
    }
    assert!(
        chunked > 200,
        "only {chunked} programs were cut into chunks"
    );
}

#[test]
fn the_corpus_in_one_file_parses_in_chunks_as_it_does_whole() {
    let text: String = support::programs()
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| !parse(text, None).root_node().has_error())
        .map(|text| format!("{}\n", text.trim_end()))
        .collect();
    for size in [64, 1024, 8192] {
        let chunks = chunks::parse_in_chunks_of(&text, size);
        assert!(chunks.len() > 20, "{size}: {} chunks", chunks.len());
        assert_same_as_whole(&chunks, &text, &format!("the corpus in chunks of {size}"));
    }
}

#[test]
fn a_large_program_is_cut_into_chunks_that_hold_what_the_whole_holds() {
    let text = tree_sitter_adama::generated_program(10_000);
    let chunks = chunks::parse(&text);
    assert!(chunks.len() >= 8, "{} chunks", chunks.len());
    assert_same_as_whole(&chunks, &text, "generated");
}

#[test]
fn a_cut_inside_a_comment_or_an_item_gives_way_to_one_chunk() {
    let program = tree_sitter_adama::generated_program(400);
    let middle = program.len() / 3;
    let open = middle + program[middle..].find("\n// unit").unwrap_or(0) + 1;
    let close = open + program.len() / 3;
    let close = close + program[close..].find('\n').unwrap_or(0) + 1;
    // A block comment over many items; and a record whose fields sit at the left margin, each a
    // line that ends with `;` followed by one that starts with a letter.
    let commented = format!(
        "{}/*\n{}*/\n{}",
        &program[..open],
        &program[open..close],
        &program[close..]
    );
    let fields: String = (0..400)
        .map(|index| format!("public int field{index};\n"))
        .collect();
    let flat_record = format!("{program}record Flat {{\n{fields}}}\n{program}");
    for text in [commented, flat_record] {
        assert!(!parse(&text, None).root_node().has_error());
        let chunks = chunks::parse_in_chunks_of(&text, 64);
        assert_same_as_whole(&chunks, &text, "cut");
    }
}

#[test]
fn a_file_with_a_syntax_error_parses_as_one_chunk_from_scratch() {
    let program = tree_sitter_adama::generated_program(2_000);
    let at = program.len() / 2;
    let at = at + program[at..].find("return").unwrap_or(0);
    let broken = format!("{}{{ {}", &program[..at], &program[at..]);
    let chunks = chunks::parse_in_chunks_of(&broken, 256);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunked_outline(&chunks), whole_outline(&broken));
}

/// Applies `edits` (range of the current text, replacement) one after the other, re-parsing
/// after each; whenever the text parses whole without errors, the chunks must hold the same.
fn check_edits(start: &str, chunk_bytes: usize, edits: &[(Range<usize>, &str)]) {
    let mut text = start.to_owned();
    let mut chunks = chunks::parse_in_chunks_of(&text, chunk_bytes);
    for (step, (range, replacement)) in edits.iter().enumerate() {
        let mut next = text.clone();
        next.replace_range(range.clone(), replacement);
        chunks = chunks::reparse(&text, chunks, &next);
        text = next;
        let context = format!("edit {step}: {range:?} -> {replacement:?}");
        assert_tiles(&chunks, &text, &context);
        let whole = whole_outline(&text);
        if !whole.iter().any(|(_, broken, ..)| *broken) {
            assert_eq!(chunked_outline(&chunks), whole, "{context}");
        }
    }
}

#[test]
fn edits_anywhere_re_parse_to_what_a_whole_parse_gives() {
    let program = tree_sitter_adama::generated_program(600);
    let chunks = chunks::parse_in_chunks_of(&program, 1024);
    assert!(chunks.len() > 4);
    let boundaries: Vec<usize> = chunks
        .iter()
        .skip(1)
        .map(|chunk| chunk.range.start)
        .collect();
    for boundary in boundaries {
        // Typing at a boundary, joining two chunks' lines and splitting them again, deleting
        // across a boundary and putting the text back, and a brace left open then closed.
        let removed = program[boundary - 3..boundary + 5].to_owned();
        check_edits(
            &program,
            1024,
            &[
                (boundary..boundary, "x"),
                (boundary..boundary + 1, ""),
                (boundary - 1..boundary, ""),
                (boundary - 1..boundary - 1, "\n"),
                (boundary - 3..boundary + 5, ""),
                (boundary - 3..boundary - 3, &removed),
                (boundary + 2..boundary + 2, "{"),
                (boundary + 2..boundary + 3, ""),
            ],
        );
    }
    // A one-character edit inside each function body in turn, then the original back.
    let mut edits = Vec::new();
    let mut from = 0;
    while let Some(found) = program[from..].find("* 2 +") {
        let at = from + found + 2;
        edits.push((at..at + 1, "3"));
        edits.push((at..at + 1, "2"));
        from = at + 1;
    }
    check_edits(&program, 1024, &edits);
    // Everything replaced at once, and a file that shrinks to nothing and grows again.
    let other = tree_sitter_adama::generated_program(300);
    check_edits(
        &program,
        1024,
        &[
            (0..program.len(), &other),
            (0..other.len(), ""),
            (0..0, &program),
        ],
    );
}

#[test]
fn an_error_typed_into_a_chunk_stays_in_that_chunk() {
    let program = tree_sitter_adama::generated_program(600);
    let chunks = chunks::parse_in_chunks_of(&program, 1024);
    let count = chunks.len();
    let at = chunks[1].range.start + 10;
    let mut broken = program.clone();
    broken.insert_str(at, "record Open {\n");
    let chunks = chunks::reparse(&program, chunks, &broken);
    assert_eq!(chunks.len(), count, "no chunk was merged or cut");
    let erroneous: Vec<usize> = chunks
        .iter()
        .enumerate()
        .filter(|(_, chunk)| chunk.root().has_error())
        .map(|(index, _)| index)
        .collect();
    assert_eq!(erroneous, vec![1]);
    let chunks = chunks::reparse(&broken, chunks, &program);
    assert_eq!(chunked_outline(&chunks), whole_outline(&program));
}
