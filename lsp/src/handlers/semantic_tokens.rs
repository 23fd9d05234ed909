//! `textDocument/semanticTokens/full`: the editor's colours, from the grammar's highlight query.
//!
//! The query's captures follow Neovim's names; where several patterns capture the same node, the
//! later pattern wins (Neovim's rule, which the query is written for). Tokens never span lines,
//! so a multi-line comment or string becomes one token per line.

use std::sync::OnceLock;

use adama_compiler::queries::parsed;
use adama_compiler::{Db, SourceFile};
use ropey::Rope;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenType, SemanticTokens, SemanticTokensEdit, SemanticTokensLegend,
};
use tree_sitter::{Query, QueryCursor, StreamingIterator};

use crate::convert::position_of;

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

/// The semantic tokens of a whole file.
pub fn semantic_tokens(db: &dyn Db, file: SourceFile, rope: &Rope) -> SemanticTokens {
    let parsed = parsed(db, file);
    let Some(query) = highlights() else {
        return SemanticTokens::default();
    };
    // The winning capture of each node: (start, end) -> (pattern index, token type).
    let mut winners: std::collections::BTreeMap<(usize, usize), (usize, u32)> =
        std::collections::BTreeMap::new();
    let mut cursor = QueryCursor::new();
    let names = query.capture_names();
    let mut matches = cursor.matches(query, parsed.tree.root_node(), parsed.text.as_bytes());
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
    let mut data = Vec::new();
    let (mut previous_line, mut previous_start) = (0u32, 0u32);
    let mut last_end = 0usize;
    for ((start, end), (_, token)) in winners {
        // Nested captures (a node inside a coloured node) keep the outer colour only.
        if start < last_end {
            continue;
        }
        last_end = end;
        for (line_start, line_end) in line_pieces(rope, start, end) {
            let from = position_of(rope, line_start);
            let to = position_of(rope, line_end);
            let length = to.character.saturating_sub(from.character);
            if length == 0 {
                continue;
            }
            let delta_line = from.line - previous_line;
            let delta_start = if delta_line == 0 {
                from.character - previous_start
            } else {
                from.character
            };
            data.push(SemanticToken {
                delta_line,
                delta_start,
                length,
                token_type: token,
                token_modifiers_bitset: 0,
            });
            previous_line = from.line;
            previous_start = from.character;
        }
    }
    SemanticTokens {
        result_id: None,
        data,
    }
}

/// A byte range cut at line ends (the line breaks themselves are left out).
fn line_pieces(rope: &Rope, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut pieces = Vec::new();
    let mut piece_start = start;
    let text = rope.byte_slice(start..end.min(rope.len_bytes()));
    let mut offset = start;
    for character in text.chars() {
        if character == '\n' {
            let piece_end = if offset > piece_start && rope.byte(offset - 1) == b'\r' {
                offset - 1
            } else {
                offset
            };
            pieces.push((piece_start, piece_end));
            piece_start = offset + 1;
        }
        offset += character.len_utf8();
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
