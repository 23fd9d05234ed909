//! `textDocument/semanticTokens/full`: the editor's colours, from the grammar's highlight query.
//!
//! The query's captures follow Neovim's names; where several patterns capture the same node, the
//! later pattern wins (Neovim's rule, which the query is written for). Tokens never span lines,
//! so a multi-line comment or string becomes one token per line.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use adama_compiler::queries::parsed;
use adama_compiler::{Db, SourceFile};
use rustc_hash::FxHashMap;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenType, SemanticTokens, SemanticTokensEdit, SemanticTokensLegend,
};
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator};

/// The token types, in legend order.
const TOKEN_TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::TYPE,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::METHOD,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::OPERATOR,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::MACRO,
];

/// The legend the server advertises.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TOKEN_TYPES.to_vec(),
        token_modifiers: Vec::new(),
    }
}

/// The legend index of a Neovim capture name, or `None` for captures that get no colour.
fn token_type(capture: &str) -> Option<u32> {
    let head = capture.split('.').next().unwrap_or(capture);
    let index = match (head, capture) {
        (_, "function.method") => 3,
        (_, "variable.parameter") => 5,
        (_, "variable.member") | (_, "property") => 6,
        (_, "constant.builtin") | (_, "constant") => 11,
        ("keyword", _) | ("boolean", _) | ("attribute", _) => 0,
        ("type", _) => 1,
        ("function", _) => 2,
        ("variable", _) => 4,
        ("string", _) | ("character", _) => 7,
        ("number", _) => 8,
        ("comment", _) => 9,
        ("operator", _) => 10,
        ("label", _) => 11,
        ("module", _) => 12,
        _ => return None,
    };
    Some(index)
}

fn highlights() -> Option<&'static Query> {
    static QUERY: OnceLock<Option<Query>> = OnceLock::new();
    QUERY
        .get_or_init(|| {
            Query::new(
                &tree_sitter_adama::LANGUAGE.into(),
                tree_sitter_adama::HIGHLIGHTS_QUERY,
            )
            .ok()
        })
        .as_ref()
}

/// The tokens of each open document's top-level nodes, by node text, as last computed.
///
/// Invariant: an error-free top-level node parses the same whatever surrounds it (the parser
/// reads every item from the same state), so its text alone decides its captures; nodes with
/// syntax errors are never cached. Only the nodes of a file's last version are kept, so an edit
/// re-runs the highlight query over the nodes it touched and re-uses the rest.
#[derive(Debug, Default)]
pub struct TokenCache {
    files: Mutex<HashMap<String, NodeTokens>>,
}

/// The tokens of a file's cached nodes, by node text (hashed quickly: every node's whole text is
/// a key, and a request hashes them all).
type NodeTokens = FxHashMap<String, Arc<[NodeToken]>>;

impl TokenCache {
    fn take(&self, path: &str) -> NodeTokens {
        self.files
            .lock()
            .ok()
            .and_then(|mut files| files.remove(path))
            .unwrap_or_default()
    }

    fn put(&self, path: &str, nodes: NodeTokens) {
        if let Ok(mut files) = self.files.lock() {
            files.insert(path.to_owned(), nodes);
        }
    }

    /// Drops what is cached for a document the client closed.
    pub fn forget(&self, path: &str) {
        if let Ok(mut files) = self.files.lock() {
            files.remove(path);
        }
    }
}

/// One token of a top-level node, placed relative to the node so that it stays valid when the
/// node moves: `line` counts from the node's first line, and `column` (UTF-16 units) from the
/// node's start on that first line and from the line's start on later lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NodeToken {
    line: u32,
    column: u32,
    length: u32,
    token_type: u32,
}

/// The semantic tokens of a whole file.
pub fn semantic_tokens(db: &dyn Db, file: SourceFile, cache: &TokenCache) -> SemanticTokens {
    tokens_in(db, file, cache, None)
}

/// The semantic tokens of the lines `lines` (a half-open range of line numbers) of a file,
/// encoded from the start of the file as the protocol asks.
pub fn semantic_tokens_in_lines(
    db: &dyn Db,
    file: SourceFile,
    cache: &TokenCache,
    lines: std::ops::Range<u32>,
) -> SemanticTokens {
    tokens_in(db, file, cache, Some(lines))
}

fn tokens_in(
    db: &dyn Db,
    file: SourceFile,
    cache: &TokenCache,
    lines: Option<std::ops::Range<u32>>,
) -> SemanticTokens {
    let parsed = parsed(db, file);
    let Some(query) = highlights() else {
        return SemanticTokens::default();
    };
    let text = parsed.text.as_str();
    let path = file.path(db);
    let mut previous = cache.take(path);
    let mut kept = NodeTokens::with_capacity_and_hasher(previous.len(), Default::default());
    let mut encoder = Encoder::default();
    for node in parsed.top_level() {
        let first_line = u32::try_from(node.start_position().row).unwrap_or(u32::MAX);
        let last_line = u32::try_from(node.end_position().row).unwrap_or(u32::MAX);
        let node_text = text.get(node.byte_range()).unwrap_or("");
        let wanted = lines
            .as_ref()
            .is_none_or(|lines| first_line < lines.end && last_line >= lines.start);
        let tokens = if node.has_error() {
            if !wanted {
                continue;
            }
            node_tokens(query, node, text)
        } else if let Some((key, tokens)) = previous.remove_entry(node_text) {
            kept.entry(key).or_insert(tokens).clone()
        } else if let Some(tokens) = kept.get(node_text) {
            tokens.clone()
        } else if wanted {
            let tokens = node_tokens(query, node, text);
            kept.insert(node_text.to_owned(), tokens.clone());
            tokens
        } else {
            continue;
        };
        if !wanted {
            continue;
        }
        let line_start = text[..node.start_byte()]
            .rfind('\n')
            .map_or(0, |newline| newline + 1);
        let start_column = utf16_len(&text[line_start..node.start_byte()]);
        for token in tokens.iter() {
            let line = first_line + token.line;
            if lines.as_ref().is_some_and(|lines| !lines.contains(&line)) {
                continue;
            }
            let column = if token.line == 0 {
                start_column + token.column
            } else {
                token.column
            };
            encoder.push(line, column, token.length, token.token_type);
        }
    }
    cache.put(path, kept);
    SemanticTokens {
        result_id: None,
        data: encoder.data,
    }
}

/// The protocol's relative encoding: each token's line and start from the previous token's.
#[derive(Default)]
struct Encoder {
    data: Vec<SemanticToken>,
    previous_line: u32,
    previous_start: u32,
}

impl Encoder {
    fn push(&mut self, line: u32, column: u32, length: u32, token_type: u32) {
        let delta_line = line - self.previous_line;
        let delta_start = if delta_line == 0 {
            column - self.previous_start
        } else {
            column
        };
        self.data.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type,
            token_modifiers_bitset: 0,
        });
        self.previous_line = line;
        self.previous_start = column;
    }
}

/// The tokens of one top-level node, from the highlight query run over the node alone.
fn node_tokens(query: &Query, node: Node<'_>, text: &str) -> Arc<[NodeToken]> {
    // The winning capture of each node: (start, end) -> (pattern index, token type).
    let mut winners: BTreeMap<(usize, usize), (usize, u32)> = BTreeMap::new();
    let mut cursor = QueryCursor::new();
    let names = query.capture_names();
    let mut matches = cursor.matches(query, node, text.as_bytes());
    while let Some(found) = matches.next() {
        for capture in found.captures() {
            let Some(token) = names
                .get(capture.index as usize)
                .and_then(|name| token_type(name))
            else {
                continue;
            };
            let range = capture.node.byte_range();
            let entry = winners
                .entry((range.start, range.end))
                .or_insert((found.pattern_index, token));
            if found.pattern_index >= entry.0 {
                *entry = (found.pattern_index, token);
            }
        }
    }
    let mut tokens = Vec::new();
    let mut lines = LineWalker::new(text, node.start_byte());
    let mut last_end = 0usize;
    for ((start, end), (_, token_type)) in winners {
        // Nested captures (a node inside a coloured node) keep the outer colour only.
        if start < last_end {
            continue;
        }
        last_end = end;
        let end = end.min(text.len());
        for (piece_start, piece_end) in line_pieces(text, start, end) {
            let length = utf16_len(text.get(piece_start..piece_end).unwrap_or(""));
            if length == 0 {
                continue;
            }
            let (line, column) = lines.position(piece_start);
            tokens.push(NodeToken {
                line,
                column,
                length,
                token_type,
            });
        }
    }
    tokens.into()
}

/// Positions of increasing offsets inside a node, relative to the node (see [`NodeToken`]).
struct LineWalker<'text> {
    text: &'text str,
    /// How far the text has been read, the line reached and where that line starts (the
    /// node's start on its first line).
    offset: usize,
    line: u32,
    line_start: usize,
}

impl<'text> LineWalker<'text> {
    fn new(text: &'text str, node_start: usize) -> LineWalker<'text> {
        LineWalker {
            text,
            offset: node_start,
            line: 0,
            line_start: node_start,
        }
    }

    /// The (line, column) of `offset`, which is not before the last offset asked for.
    fn position(&mut self, offset: usize) -> (u32, u32) {
        let read = self.text.get(self.offset..offset).unwrap_or("");
        for (index, byte) in read.bytes().enumerate() {
            if byte == b'\n' {
                self.line += 1;
                self.line_start = self.offset + index + 1;
            }
        }
        self.offset = offset.max(self.offset);
        let column = utf16_len(self.text.get(self.line_start..offset).unwrap_or(""));
        (self.line, column)
    }
}

fn utf16_len(text: &str) -> u32 {
    u32::try_from(text.chars().map(char::len_utf16).sum::<usize>()).unwrap_or(u32::MAX)
}

/// A byte range cut at line ends (the line breaks themselves are left out).
fn line_pieces(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut pieces = Vec::new();
    let mut piece_start = start;
    for (index, byte) in bytes.get(start..end).unwrap_or(&[]).iter().enumerate() {
        if *byte == b'\n' {
            let offset = start + index;
            let piece_end = if offset > piece_start && bytes[offset - 1] == b'\r' {
                offset - 1
            } else {
                offset
            };
            pieces.push((piece_start, piece_end));
            piece_start = offset + 1;
        }
    }
    pieces.push((piece_start, end));
    pieces
}

/// The edit that turns `old` into `new`: one replacement between their common prefix and
/// suffix, in units of the protocol's flat integer array (five per token).
pub fn delta(old: &[SemanticToken], new: &[SemanticToken]) -> Vec<SemanticTokensEdit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    if prefix == old.len() && prefix == new.len() {
        return Vec::new();
    }
    let inserted = new
        .get(prefix..new.len() - suffix)
        .map(<[SemanticToken]>::to_vec)
        .unwrap_or_default();
    vec![SemanticTokensEdit {
        start: u32::try_from(prefix * 5).unwrap_or(u32::MAX),
        delete_count: u32::try_from((old.len() - suffix - prefix) * 5).unwrap_or(u32::MAX),
        data: Some(inserted),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use adama_compiler::Database;
    use salsa::Setter;

    /// Every corpus program and example, as (path, text).
    fn programs() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("tests/corpus"))
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "a"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(&path).ok()?;
                Some((path.display().to_string(), text))
            })
            .collect()
    }

    /// Tokens as (line, column, length, type), from the protocol's relative encoding.
    fn absolute(tokens: &[SemanticToken]) -> Vec<(u32, u32, u32, u32)> {
        let (mut line, mut column) = (0, 0);
        tokens
            .iter()
            .map(|token| {
                if token.delta_line > 0 {
                    column = 0;
                }
                line += token.delta_line;
                column += token.delta_start;
                (line, column, token.length, token.token_type)
            })
            .collect()
    }

    /// Edits a program as a person might: lines inserted above, text before an item on its own
    /// line (with characters of two UTF-16 units), a name changed, a broken statement, undone.
    fn edits_of(text: &str) -> Vec<String> {
        let middle = text.len() / 2;
        let middle = (0..=middle)
            .rev()
            .find(|offset| text.is_char_boundary(*offset))
            .unwrap_or(0);
        let line_start = text[..middle].rfind('\n').map_or(0, |newline| newline + 1);
        vec![
            format!("// above\n\n{text}"),
            format!(
                "{}/* \u{1F600} */ {}",
                &text[..line_start],
                &text[line_start..]
            ),
            format!("{}x{}", &text[..middle], &text[middle..]),
            format!("{}{{ ( ;\n{}", &text[..line_start], &text[line_start..]),
            text.to_owned(),
        ]
    }

    #[test]
    fn tokens_after_edits_equal_tokens_computed_afresh() {
        for (path, text) in programs().into_iter().step_by(7) {
            let mut db = Database::default();
            let file = SourceFile::new(&db, path.clone(), text.clone());
            let warm = TokenCache::default();
            semantic_tokens(&db, file, &warm);
            for edited in edits_of(&text) {
                file.set_text(&mut db).to(edited.clone());
                let fresh_db = Database::default();
                let fresh_file = SourceFile::new(&fresh_db, path.clone(), edited.clone());
                assert_eq!(
                    semantic_tokens(&db, file, &warm).data,
                    semantic_tokens(&fresh_db, fresh_file, &TokenCache::default()).data,
                    "{path} after an edit:\n{edited}"
                );
            }
        }
    }

    #[test]
    fn range_tokens_are_the_full_tokens_of_those_lines() {
        for (path, text) in programs().into_iter().step_by(11) {
            let db = Database::default();
            let file = SourceFile::new(&db, path.clone(), text.clone());
            let cache = TokenCache::default();
            let full = absolute(&semantic_tokens(&db, file, &cache).data);
            let n_lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
            for lines in [0..n_lines / 2, n_lines / 3..n_lines, 2..3] {
                let expected: Vec<_> = full
                    .iter()
                    .copied()
                    .filter(|token| lines.contains(&token.0))
                    .collect();
                let in_range =
                    semantic_tokens_in_lines(&db, file, &TokenCache::default(), lines.clone());
                assert_eq!(absolute(&in_range.data), expected, "{path} {lines:?}");
                let cached = semantic_tokens_in_lines(&db, file, &cache, lines.clone());
                assert_eq!(absolute(&cached.data), expected, "{path} {lines:?}");
            }
        }
    }

    #[test]
    fn columns_count_utf16_units_from_the_line_start() {
        let db = Database::default();
        let text = "/* \u{1F600} */ public int x;\n  public int y;\n";
        let file = SourceFile::new(&db, "columns.a".to_owned(), text.to_owned());
        let tokens = absolute(&semantic_tokens(&db, file, &TokenCache::default()).data);
        // The comment is 8 units long (the emoji counts two), so `public` starts at 9.
        assert_eq!(
            tokens,
            vec![
                (0, 0, 8, 9),
                (0, 9, 6, 0),
                (0, 16, 3, 1),
                (0, 20, 1, 6),
                (1, 2, 6, 0),
                (1, 9, 3, 1),
                (1, 13, 1, 6),
            ]
        );
    }
}
