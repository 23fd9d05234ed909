//! A large file parsed as consecutive chunks of top-level items, each its own tree-sitter tree.
//!
//! Tree-sitter parses a file on one thread, and re-parsing after an edit walks the whole list of
//! top-level items, however small the edit. Cut into chunks at item boundaries, a file parses on
//! every thread of the host's pool at once, and an edit re-parses only the chunk it falls in.
//! Each chunk's tree is parsed over its byte range of the whole text, so every node has the
//! position it would have in a tree of the whole file.
//!
//! Invariant: an error-free top-level item parses the same whatever comes before or after it
//! (the parser reads every item from the state it starts the file in), so chunks cut at item
//! boundaries that all parse without errors hold the very items a parse of the whole file holds.
//! A cut is only made where a line that starts an item follows a line that ends one, and a
//! parse whose chunks show any error is thrown away for a parse of the whole region as one
//! chunk: a cut that was not at an item boundary (inside a comment, say) always leaves an error
//! on one side of it. After an edit, an error in one chunk stays in that chunk: the recovery
//! then sees the chunk only, where a parse of the whole file might let an unclosed brace run on
//! into the next items.

use std::ops::Range;

use tree_sitter::{InputEdit, Node, Point, Tree};

use crate::incremental::{input_edit, point_at, text_change};
use crate::parse::{new_parser, parse_with};

/// The size a chunk grows to before a cut is looked for. Small enough that re-parsing one after
/// an edit costs a small part of the file, large enough that a thread parses many items in one go.
const CHUNK_BYTES: usize = 4 * 1024;

/// Part of a file's text and its syntax tree.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The bytes of the file's text this tree was parsed from.
    pub range: Range<usize>,
    /// Where `range` starts and ends, in tree-sitter's lines and byte columns.
    start: Point,
    end: Point,
    pub tree: Tree,
}

impl Chunk {
    /// The root node of the chunk's tree.
    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }
}

/// The chunks of `text`, parsed from scratch (in parallel inside a rayon pool).
pub fn parse(text: &str) -> Vec<Chunk> {
    parse_in_chunks_of(text, CHUNK_BYTES)
}

/// Like [`parse`], with a cut looked for once a chunk has grown to `chunk_bytes` (at least 1)
/// rather than the usual size: small chunks put many more cuts to the test.
pub fn parse_in_chunks_of(text: &str, chunk_bytes: usize) -> Vec<Chunk> {
    parse_region(
        text,
        0..text.len(),
        Point::new(0, 0),
        point_at(text, text.len()),
        chunk_bytes.max(1),
    )
}

/// The chunks of `text`, which replaced `old_text`, whose chunks were `chunks`: only the chunks the
/// change touched are parsed again, incrementally when it lies inside one.
pub fn reparse(old_text: &str, mut chunks: Vec<Chunk>, text: &str) -> Vec<Chunk> {
    let Some(change) = text_change(old_text, text) else {
        return chunks;
    };
    if chunks.is_empty() {
        return parse(text);
    }
    let edit = input_edit(old_text, text, change);
    let holding = |offset: usize| {
        chunks
            .iter()
            .rposition(|chunk| chunk.range.start <= offset)
            .unwrap_or(0)
    };
    let first = holding(change.start);
    let last = if change.old_end > change.start {
        holding(change.old_end - 1).max(first)
    } else {
        first
    };
    // The touched chunks start where the first of them starts (before the change) and end
    // where the last of them ends (at or after it).
    let (start, start_point) = (chunks[first].range.start, chunks[first].start);
    let (end, end_point) = (
        shift_byte(chunks[last].range.end, &edit),
        shift_point(chunks[last].end, &edit),
    );
    let later: Vec<Chunk> = chunks
        .split_off(last + 1)
        .into_iter()
        .map(|chunk| shifted(chunk, &edit))
        .collect();
    let touched = chunks.split_off(first);
    if let [single] = touched.as_slice() {
        let mut tree = single.tree.clone();
        tree.edit(&edit);
        chunks.push(parse_chunk(
            text,
            start..end,
            start_point,
            end_point,
            Some(&tree),
        ));
    } else {
        // A change across chunks has no one tree to start from: the region is cut afresh.
        chunks.extend(parse_region(
            text,
            start..end,
            start_point,
            end_point,
            CHUNK_BYTES,
        ));
    }
    chunks.extend(later);
    chunks
}

/// The chunks of `range` of `text`: cut and parsed in parallel, or parsed as one chunk when it is
/// small or a cut left an error.
fn parse_region(
    text: &str,
    range: Range<usize>,
    start: Point,
    end: Point,
    chunk_bytes: usize,
) -> Vec<Chunk> {
    let cuts = cuts(text, range.clone(), start, chunk_bytes);
    if cuts.len() > 1 {
        let pieces: Vec<(Range<usize>, Point, Point)> = cuts
            .iter()
            .enumerate()
            .map(|(index, (from, from_point))| match cuts.get(index + 1) {
                Some((to, to_point)) => (*from..*to, *from_point, *to_point),
                None => (*from..range.end, *from_point, end),
            })
            .collect();
        let chunks = crate::parallel::map(&pieces, |(piece, from, to)| {
            parse_chunk(text, piece.clone(), *from, *to, None)
        });
        if !chunks.iter().any(|chunk| chunk.root().has_error()) {
            return chunks;
        }
    }
    vec![parse_chunk(text, range, start, end, None)]
}

/// Parses `range` of `text` alone, re-using `old` (already edited) when given.
fn parse_chunk(
    text: &str,
    range: Range<usize>,
    start: Point,
    end: Point,
    old: Option<&Tree>,
) -> Chunk {
    let mut parser = new_parser();
    // Invariant: one range, with its start before its end, is always accepted.
    parser
        .set_included_ranges(&[tree_sitter::Range {
            start_byte: range.start,
            end_byte: range.end,
            start_point: start,
            end_point: end,
        }])
        .unwrap_or_else(|error| panic!("a chunk's range {range:?} is refused: {error:?}"));
    let tree = parse_with(&mut parser, text, old);
    Chunk {
        range,
        start,
        end,
        tree,
    }
}

/// Where the chunks of `range` start (the first at `range.start`, at `start`): a cut is made
/// once a chunk has grown to `chunk_bytes`, at the next line that starts an item right after a
/// line that ends one, unless what is left is small.
fn cuts(text: &str, range: Range<usize>, start: Point, chunk_bytes: usize) -> Vec<(usize, Point)> {
    let mut cuts = vec![(range.start, start)];
    if range.len() < 2 * chunk_bytes {
        return cuts;
    }
    let mut lines = text[range.clone()].split_inclusive('\n');
    // The region's first line may start past the left margin: it neither ends an item nor is
    // cut before.
    let first = lines.next().map_or(0, str::len);
    let (mut offset, mut row) = (range.start + first, start.row + 1);
    let mut after_an_item = false;
    for line in lines {
        let content = line.trim_end();
        if !content.is_empty() {
            let last_cut = cuts.last().map_or(range.start, |(cut, _)| *cut);
            if after_an_item
                && offset - last_cut >= chunk_bytes
                && range.end - offset >= chunk_bytes / 2
                && starts_an_item(content)
            {
                cuts.push((offset, Point::new(row, 0)));
            }
            after_an_item = ends_an_item(content);
        }
        offset += line.len();
        row += 1;
    }
    cuts
}

/// Whether a line can start a top-level item (or the comment above one): it starts at the left
/// margin with a letter, an annotation, a state or a comment.
fn starts_an_item(line: &str) -> bool {
    line.as_bytes()
        .first()
        .is_some_and(|byte| byte.is_ascii_alphabetic() || matches!(byte, b'@' | b'#' | b'/'))
}

/// Whether a line looks like the end of a top-level item: it starts at the left margin, ends
/// with `}` or `;`, and holds no comment or quote that could run on past it.
fn ends_an_item(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes
        .first()
        .is_some_and(|byte| !byte.is_ascii_whitespace())
        && matches!(bytes.last(), Some(b'}' | b';'))
        && !bytes
            .iter()
            .any(|byte| matches!(byte, b'/' | b'"' | b'\'' | b'`'))
}

/// A chunk after the edit, which lies wholly before it.
fn shifted(mut chunk: Chunk, edit: &InputEdit) -> Chunk {
    chunk.tree.edit(edit);
    chunk.range = shift_byte(chunk.range.start, edit)..shift_byte(chunk.range.end, edit);
    chunk.start = shift_point(chunk.start, edit);
    chunk.end = shift_point(chunk.end, edit);
    chunk
}

/// Where a byte at or after the end of the edited text is after the edit.
fn shift_byte(offset: usize, edit: &InputEdit) -> usize {
    offset - edit.old_end_byte + edit.new_end_byte
}

/// Where a position at or after the end of the edited text is after the edit.
fn shift_point(point: Point, edit: &InputEdit) -> Point {
    let (old, new) = (edit.old_end_position, edit.new_end_position);
    if point.row == old.row {
        Point::new(new.row, new.column + (point.column - old.column))
    } else {
        Point::new(point.row - old.row + new.row, point.column)
    }
}
