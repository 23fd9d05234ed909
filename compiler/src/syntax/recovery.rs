//! Diagnostics for the places where the parser had to recover: MISSING nodes (a token it
//! inserted) and ERROR nodes (tokens it could not place).
//!
//! A message names what was expected and where. For an ERROR node we find the first token the
//! grammar could not accept, by replaying the parse states tree-sitter recorded on each token: the
//! state after a token says which tokens may follow it. When those states are unavailable (tokens
//! the parser skipped), we fall back to patterns of common mistakes.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::describe::{node_phrase, token_phrase};
use super::node_text;
use crate::diagnostic::{Code, Diagnostic};

/// How many tokens of one ERROR node are examined; a larger error is reported at its start.
const MAX_ERROR_TOKENS: usize = 4096;

/// Expected-token lists longer than this are summarised instead of listed.
const MAX_LISTED_EXPECTATIONS: usize = 6;

/// A diagnostic for a token the parser inserted because the grammar requires it.
pub fn missing_node(text: &str, node: Node<'_>) -> Diagnostic {
    let kind = node.kind();
    let previous = previous_token(node);
    let at = previous.map_or(node.start_byte(), |token| token.end_byte());
    let context = node.parent().map_or("document", |parent| parent.kind());
    let expected = token_phrase(kind);

    if let Some(opener) = closing_partner(kind).and_then(|open| find_opener(node, open)) {
        let line = opener.start_position().row + 1;
        return Diagnostic::error(
            Code::MissingToken,
            at..at,
            format!(
                "expected {expected} to close {} opened on line {line}",
                node_phrase(context)
            ),
        )
        .with_label(opener.byte_range(), "opened here")
        .with_help(format!("add {expected}"))
        .with_fix(format!("Insert '{kind}'"), at..at, kind);
    }

    let message = match (kind, previous) {
        (";", _) => format!("expected ';' after {}", node_phrase(context)),
        (_, Some(token)) => format!(
            "expected {expected} after '{}'",
            short(node_text(text, token))
        ),
        (_, None) => format!("expected {expected} in {}", node_phrase(context)),
    };
    let help = if kind == ";" {
        "add ';' here".to_owned()
    } else {
        format!("insert {expected}")
    };
    let diagnostic = Diagnostic::error(Code::MissingToken, at..at, message).with_help(help);
    if kind == ";" {
        diagnostic.with_fix("Insert ';'", at..at, ";")
    } else {
        diagnostic
    }
}

/// A diagnostic for tokens the parser could not place.
pub fn error_node(text: &str, node: Node<'_>) -> Diagnostic {
    let tokens = tokens_of(node);
    if let Some(bad) = tokens
        .iter()
        .find(|token| token.is_error() && token.child_count() == 0)
    {
        return bad_character(text, *bad);
    }
    let context = node.parent().map_or("document", |parent| parent.kind());
    let before = previous_token(node);
    let after = next_token(node);
    if after.is_none()
        && let Some(diagnostic) = ends_early(text, &tokens)
    {
        return diagnostic;
    }
    if let Some(diagnostic) = do_without_while(text, &tokens, after) {
        return diagnostic;
    }

    // Replay: the first token that the parse state it was read in does not accept.
    let mut predecessor = before;
    for token in tokens.iter().copied().chain(after) {
        if let (Some(expected), Some(previous)) = (rejected(token), predecessor) {
            return unexpected(text, previous, token, &expected, context);
        }
        predecessor = Some(token);
    }

    if let Some(diagnostic) = unclosed_bracket(text, &tokens) {
        return diagnostic;
    }
    let first = tokens.first().copied().unwrap_or(node);
    if let Some(diagnostic) = dangling_operator(text, first, tokens.get(1).copied().or(after)) {
        return diagnostic;
    }

    // No recorded state rejected anything: report the first token of the error.
    let found = describe_found(text, first);
    let mut diagnostic = Diagnostic::error(
        Code::UnexpectedToken,
        first.byte_range(),
        format!("unexpected {found} in {}", node_phrase(context)),
    );
    if context == "document" {
        diagnostic = diagnostic.with_help(
            "only declarations may appear at the top level; statements belong inside a block such as `@construct { … }` or a handler",
        );
    }
    diagnostic
}

/// A file that ends inside a block: the mistake is where the text stops, at its last token,
/// not at the start of the declaration that could not be completed.
fn ends_early(text: &str, tokens: &[Node<'_>]) -> Option<Diagnostic> {
    let mut open: Vec<Node<'_>> = Vec::new();
    for token in tokens {
        match token.kind() {
            "{" => open.push(*token),
            "}" => {
                open.pop();
            }
            _ => {}
        }
    }
    let opener = *open.last()?;
    let last = *tokens.last()?;
    let line = opener.start_position().row + 1;
    Some(
        Diagnostic::error(
            Code::UnexpectedToken,
            last.byte_range(),
            format!(
                "the file ends after '{}', inside the '{{' opened on line {line}",
                short(node_text(text, last))
            ),
        )
        .with_label(opener.byte_range(), "opened here")
        .with_help("complete what the last line starts, and close every '{' with '}'"),
    )
}

/// `do { … }` followed by anything but `while`: the token after the body is the mistake.
fn do_without_while<'tree>(
    text: &str,
    tokens: &[Node<'tree>],
    after: Option<Node<'tree>>,
) -> Option<Diagnostic> {
    let do_at = tokens.iter().position(|token| token.kind() == "do")?;
    if tokens.get(do_at + 1)?.kind() != "{" {
        return None;
    }
    let mut depth = 0usize;
    let mut close = None;
    for (index, token) in tokens.iter().enumerate().skip(do_at + 1) {
        match token.kind() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(index);
                    break;
                }
            }
            _ => {}
        }
    }
    let next = tokens.get(close? + 1).copied().or(after)?;
    if next.kind() == "while" {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::UnexpectedToken,
            next.byte_range(),
            format!(
                "expected 'while' after the body of 'do', found {}",
                describe_found(text, next)
            ),
        )
        .with_help("a `do` loop ends with `while (condition);`"),
    )
}

/// An opening bracket inside an error that nothing inside it closes: the usual cause of an error
/// that swallows the rest of a statement, such as `for (…; i++ {`.
fn unclosed_bracket(text: &str, tokens: &[Node<'_>]) -> Option<Diagnostic> {
    let mut open: Vec<Node<'_>> = Vec::new();
    let mut previous: Option<Node<'_>> = None;
    let mut stop: Option<Node<'_>> = None;
    for token in tokens {
        match token.kind() {
            "(" | "[" => open.push(*token),
            ")" | "]" => {
                open.pop();
            }
            // A block cannot start inside parentheses: the bracket should have closed before it.
            "{" if !open.is_empty() => {
                stop = previous;
                break;
            }
            _ => {}
        }
        previous = Some(*token);
    }
    let opener = *open.last()?;
    let last = stop.or_else(|| tokens.last().copied())?;
    let closer = if opener.kind() == "(" { "')'" } else { "']'" };
    let at = last.end_byte();
    let line = opener.start_position().row + 1;
    Some(
        Diagnostic::error(
            Code::MissingToken,
            at..at,
            format!(
                "expected {closer} after '{}' to close the '{}' opened on line {line}",
                short(node_text(text, last)),
                opener.kind()
            ),
        )
        .with_label(opener.byte_range(), "opened here")
        .with_help(format!("add {closer}"))
        .with_fix(
            format!("Insert {closer}"),
            at..at,
            closer.trim_matches('\''),
        ),
    )
}

/// An operator with nothing after it, as in `x = x + ;`.
fn dangling_operator(text: &str, operator: Node<'_>, next: Option<Node<'_>>) -> Option<Diagnostic> {
    let operators = [
        "+", "-", "*", "/", "%", "&&", "||", "^^", "==", "!=", "<", "<=", ">", ">=", "=", "<-",
        "+=", "-=", "*=", "?", ":", "!",
    ];
    if !operators.contains(&operator.kind()) {
        return None;
    }
    let next = next.filter(|next| matches!(next.kind(), ";" | ")" | "]" | "}" | ","))?;
    Some(
        Diagnostic::error(
            Code::UnexpectedToken,
            next.byte_range(),
            format!(
                "expected an expression after '{}', found '{}'",
                node_text(text, operator),
                node_text(text, next)
            ),
        )
        .with_help("complete the expression, or remove the operator"),
    )
}

/// Builds the diagnostic for `token` not being acceptable after `previous`.
fn unexpected(
    text: &str,
    previous: Node<'_>,
    token: Node<'_>,
    expected: &BTreeSet<String>,
    context: &str,
) -> Diagnostic {
    let after = short(node_text(text, previous));
    let expectation = summarise(expected);
    // After ';', '{' or '}' a new construct starts: the token itself is the mistake.
    let previous_closes = matches!(previous.kind(), ";" | "{" | "}");
    let ends_line = !previous_closes && previous.end_position().row < token.start_position().row;
    if !previous_closes
        && expected.contains("';'")
        && (ends_line || token.kind() == "}" || token.end_byte() == token.start_byte())
    {
        let at = previous.end_byte();
        return Diagnostic::error(
            Code::MissingToken,
            at..at,
            format!("expected ';' after '{after}'"),
        )
        .with_help("add ';' to end the statement")
        .with_fix("Insert ';'", at..at, ";");
    }
    if ends_line {
        // The mistake is at the end of the line that stops short, not on the next line.
        let at = previous.end_byte();
        return Diagnostic::error(
            Code::MissingToken,
            at..at,
            format!("expected {expectation} after '{after}'"),
        );
    }
    let found = describe_found(text, token);
    let range = if token.end_byte() > token.start_byte() {
        token.byte_range()
    } else {
        previous.end_byte()..previous.end_byte()
    };
    let message = if previous_closes && expected.len() > MAX_LISTED_EXPECTATIONS {
        // At the start of a construct almost anything may come; listing it helps no one.
        format!("unexpected {found} in {}", node_phrase(context))
    } else {
        format!("expected {expectation} after '{after}', found {found}")
    };
    let mut diagnostic = Diagnostic::error(Code::UnexpectedToken, range, message);
    if context == "document" {
        diagnostic = diagnostic.with_help("only declarations may appear at the top level");
    }
    diagnostic
}

/// Whether the parse state `token` was read in rejects it; if it does, the set of tokens that
/// state accepts. Tokens the parser skipped while recovering carry no state and are not judged.
fn rejected(token: Node<'_>) -> Option<BTreeSet<String>> {
    let state = token.parse_state();
    if state == 0 || token.is_error() || token.is_missing() || token.kind() == "comment" {
        return None;
    }
    let language = token.language();
    let token_symbol = token.grammar_id();
    if language
        .lookahead_iterator(state)?
        .any(|symbol| symbol == token_symbol)
    {
        return None;
    }
    let expected = language
        .lookahead_iterator(state)?
        .filter_map(|symbol| {
            let name = language.node_kind_for_id(symbol)?;
            expectation_phrase(name, language.node_kind_is_named(symbol))
        })
        .collect();
    Some(expected)
}

/// How one acceptable token is named in an expectation, or `None` for tokens not worth naming.
fn expectation_phrase(name: &str, named: bool) -> Option<String> {
    if name.is_empty() || name == "end" || name == "comment" || name.starts_with('_') {
        return None;
    }
    if named {
        // Only token classes are worth naming; a rule name ("web method") is not a token.
        let is_token_class = matches!(
            name,
            "identifier" | "type_identifier" | "number" | "string" | "label" | "template_literal"
        );
        return is_token_class.then(|| token_phrase(name));
    }
    Some(format!("'{name}'"))
}

/// Joins expected tokens for a message: a short list is spelled out, a long one summarised.
fn summarise(expected: &BTreeSet<String>) -> String {
    let operators = ["'+'", "'-'", "'*'", "'&&'", "'=='", "'<'"];
    let items: Vec<&String> = expected.iter().collect();
    if items.is_empty() {
        return "something else".to_owned();
    }
    if items.len() > MAX_LISTED_EXPECTATIONS {
        let has_operators = operators.iter().all(|op| expected.contains(*op));
        let mut essentials: Vec<String> = [
            "';'", "')'", "']'", "'}'", "','", "a name", "a number", "'{'", "'='",
        ]
        .iter()
        .filter(|item| expected.contains(**item))
        .map(|item| (*item).to_owned())
        .collect();
        if has_operators {
            essentials.push("an operator".to_owned());
        }
        if expected.contains("a name") && expected.contains("a number") {
            return "an expression".to_owned();
        }
        if essentials.is_empty() {
            return "a different token".to_owned();
        }
        return join_or(&essentials);
    }
    let owned: Vec<String> = items.into_iter().cloned().collect();
    join_or(&owned)
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A diagnostic for a character the lexer does not accept at all.
fn bad_character(text: &str, node: Node<'_>) -> Diagnostic {
    let found = node_text(text, node);
    let character = found.chars().next().unwrap_or('?');
    let range = node.start_byte()..node.start_byte() + character.len_utf8();
    let code_point = u32::from(character);
    if code_point >= 256 {
        return Diagnostic::error(
            Code::InvalidCharacter,
            range,
            format!("the character '{character}' (U+{code_point:04X}) may only appear inside strings and comments"),
        )
        .with_help("names and operators use ASCII; put this character inside a string literal");
    }
    if character == '"' {
        return Diagnostic::error(Code::UnexpectedToken, range, "this string is never closed")
            .with_help("add the closing '\"'; a '\"' inside a string is written \\\"");
    }
    let help = match character {
        '\'' => "strings are written with double quotes: \"text\"",
        '\\' => "a backslash only appears inside strings, as an escape",
        '`' => "backticks only delimit template literals, after `template name :`",
        _ => "remove this character",
    };
    Diagnostic::error(
        Code::UnexpectedToken,
        range,
        format!("unexpected character '{}'", character.escape_default()),
    )
    .with_help(help)
}

/// The leaf tokens of a node, in order, skipping comments; bounded by [`MAX_ERROR_TOKENS`].
fn tokens_of(node: Node<'_>) -> Vec<Node<'_>> {
    let mut tokens = Vec::new();
    crate::parse::walk_tree(node, |current| {
        let is_leaf = current.child_count() == 0;
        if is_leaf
            && current.kind() != "comment"
            && current.id() != node.id()
            && tokens.len() < MAX_ERROR_TOKENS
        {
            tokens.push(current);
        }
        !is_leaf && tokens.len() < MAX_ERROR_TOKENS
    });
    if tokens.is_empty() && node.child_count() == 0 {
        tokens.push(node);
    }
    tokens
}

/// The last token before `node` in the tree, skipping comments.
fn previous_token(node: Node<'_>) -> Option<Node<'_>> {
    neighbour_token(node, false)
}

/// The first token after `node` in the tree, skipping comments.
fn next_token(node: Node<'_>) -> Option<Node<'_>> {
    neighbour_token(node, true)
}

fn neighbour_token(node: Node<'_>, forward: bool) -> Option<Node<'_>> {
    let mut current = node;
    loop {
        let sibling = if forward {
            current.next_sibling()
        } else {
            current.prev_sibling()
        };
        if let Some(sibling) = sibling {
            if let Some(token) = edge_token(sibling, !forward) {
                return Some(token);
            }
            current = sibling;
        } else {
            current = current.parent()?;
        }
    }
}

/// The first (or last) non-comment token inside `node`, found without recursion so that deeply
/// nested input cannot overflow the stack.
fn edge_token(node: Node<'_>, last: bool) -> Option<Node<'_>> {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if current.kind() == "comment" {
            continue;
        }
        let count = current.child_count();
        if count == 0 {
            return Some(current);
        }
        let mut cursor = current.walk();
        let children: Vec<Node<'_>> = current.children(&mut cursor).collect();
        if last {
            stack.extend(children);
        } else {
            stack.extend(children.into_iter().rev());
        }
    }
    None
}

/// The opening token that a closing token pairs with.
fn closing_partner(kind: &str) -> Option<&'static str> {
    match kind {
        "}" => Some("{"),
        ")" => Some("("),
        "]" => Some("["),
        _ => None,
    }
}

/// The unmatched opener among the earlier siblings of a missing closer.
fn find_opener<'tree>(missing: Node<'tree>, open: &str) -> Option<Node<'tree>> {
    let mut sibling = missing.prev_sibling();
    while let Some(node) = sibling {
        if node.kind() == open {
            return Some(node);
        }
        sibling = node.prev_sibling();
    }
    None
}

/// How a found token is described: its text in quotes, or "the end of the file".
fn describe_found(text: &str, token: Node<'_>) -> String {
    let found = node_text(text, token);
    if found.is_empty() {
        "the end of the file".to_owned()
    } else {
        format!("'{}'", short(found))
    }
}

/// A token's text, shortened for a message.
fn short(text: &str) -> String {
    const LIMIT: usize = 24;
    let first_line = text.lines().next().unwrap_or("");
    if first_line.chars().count() > LIMIT || first_line.len() < text.len() {
        let prefix: String = first_line.chars().take(LIMIT).collect();
        format!("{prefix}…")
    } else {
        first_line.to_owned()
    }
}
