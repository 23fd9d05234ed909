//! The formatter behind `adama fmt` and the language server's formatting: canonical indentation
//! (two spaces per level of braces, one more for a continued line), no trailing white space, at
//! most one blank line in a row, and a final newline.
//!
//! It changes only white space at the start and end of lines and blank lines, so it never
//! changes meaning: tokens, their order and the text inside them stay exactly as written. Lines
//! inside a multi-line string, comment or template are kept verbatim. A file with syntax errors
//! is not formatted.

use tree_sitter::Node;

use crate::parse::parse;

/// Nodes whose braces indent what they enclose.
const INDENTING: &[&str] = &[
    "block",
    "record_body",
    "message_body",
    "enum_declaration",
    "static_block",
    "service_declaration",
    "link_declaration",
    "object_expression",
];

/// Why a text was not formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The text has syntax errors; it is left as it is.
    SyntaxErrors,
}

/// Formats a whole file.
pub fn format(text: &str) -> Result<String, FormatError> {
    let tree = parse(text, None);
    let root = tree.root_node();
    if root.has_error() {
        return Err(FormatError::SyntaxErrors);
    }
    let mut output = String::with_capacity(text.len());
    let mut blank_lines = 0usize;
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        let first = line_start + (content.len() - content.trim_start().len());
        // A line that starts inside a multi-line token belongs to that token: keep it verbatim.
        let continues_token = |offset: usize| {
            root.descendant_for_byte_range(offset, offset)
                .is_some_and(|token| {
                    token.child_count() == 0
                        && token.start_byte() < offset
                        && offset < token.end_byte()
                })
        };
        if continues_token(first) {
            output.push_str(content);
            output.push('\n');
            blank_lines = 0;
            continue;
        }
        // White space at the end of a line that ends inside a token is part of that token.
        let end = line_start + content.len();
        let trimmed = if continues_token(end) {
            content.trim_start()
        } else {
            trimmed
        };
        if trimmed.is_empty() {
            blank_lines += 1;
            continue;
        }
        if blank_lines > 0 && !output.is_empty() && !trimmed.starts_with('}') {
            output.push('\n');
        }
        blank_lines = 0;
        let depth = root
            .descendant_for_byte_range(first, first)
            .map_or(0, |token| depth_of(token, first));
        output.push_str(&"  ".repeat(depth));
        output.push_str(trimmed);
        output.push('\n');
    }
    Ok(output)
}

/// The indentation level of the line whose first token starts at `offset`: one per enclosing
/// pair of braces, plus one when the line continues a statement or declaration begun above.
fn depth_of(token: Node<'_>, offset: usize) -> usize {
    // A line that starts with a brace or with `else` lines up with its statement's head.
    let brace_line = matches!(token.kind(), "{" | "}" | "else");
    let mut depth = 0;
    let mut decided = brace_line;
    let mut continued = false;
    let mut node = token;
    while let Some(parent) = node.parent() {
        if !decided && starts_a_line_unit(node) {
            continued = node.start_byte() < offset;
            decided = true;
        }
        if INDENTING.contains(&parent.kind()) && inside_braces(parent, offset) {
            depth += 1;
            decided = true;
        }
        if is_lone_body(node, parent) && node.start_position().row > parent.start_position().row {
            depth += 1;
            decided = true;
        }
        node = parent;
    }
    depth + usize::from(continued)
}

/// Whether `node` is a body without braces (`#idle x = 1;`, the statement of an `if`): written
/// on the lines below its head, it is indented under it. `else if` is not.
fn is_lone_body(node: Node<'_>, parent: Node<'_>) -> bool {
    if node.kind() == "block" {
        return false;
    }
    let is_field = |name: &str| {
        parent
            .child_by_field_name(name)
            .is_some_and(|child| child.id() == node.id())
    };
    let statement_field = is_field("body") || is_field("consequence");
    let else_branch = is_field("alternative") && node.kind() != "if_statement";
    (statement_field || else_branch) && parent.kind() != "lambda_expression"
}

/// Whether `offset` lies after the opening brace of `node` and before its closing brace.
fn inside_braces(node: Node<'_>, offset: usize) -> bool {
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    let open = children.iter().find(|child| child.kind() == "{");
    let close = children.iter().rev().find(|child| child.kind() == "}");
    match (open, close) {
        (Some(open), Some(close)) => open.end_byte() <= offset && offset < close.start_byte(),
        _ => false,
    }
}

/// Nodes that normally start a line: statements, declarations and members.
fn starts_a_line_unit(node: Node<'_>) -> bool {
    let kind = node.kind();
    (kind.ends_with("_statement")
        || kind.ends_with("_declaration")
        || kind == "message_field"
        || kind == "enum_label"
        || kind == "case_label"
        || kind == "static_policy"
        || kind == "static_setting"
        || kind == "object_field")
        && kind != "block_statement"
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn indentation_follows_the_braces() {
        let text = "record R {\npublic int id;\n      public string name;\n}\n\n\n\nchannel c(M m) {\nif (m.x > 1) {\ntotal += m.x;\n} else {\ntotal -= 1;   \n}\n}";
        let expected = "record R {\n  public int id;\n  public string name;\n}\n\nchannel c(M m) {\n  if (m.x > 1) {\n    total += m.x;\n  } else {\n    total -= 1;\n  }\n}\n";
        assert_eq!(format(text).as_deref(), Ok(expected));
    }

    #[test]
    fn bodies_without_braces_indent_under_their_head() {
        let text = "#idle\nx = 1;\nprocedure bump()\n      x++;\nchannel c(M m) {\nif (m.x > 1)\nx = 2;\nelse if (m.x > 0)\nx = 1;\nelse\nx = 0;\n}\n#go x = 3;\n";
        let expected = "#idle\n  x = 1;\nprocedure bump()\n  x++;\nchannel c(M m) {\n  if (m.x > 1)\n    x = 2;\n  else if (m.x > 0)\n    x = 1;\n  else\n    x = 0;\n}\n#go x = 3;\n";
        assert_eq!(format(text).as_deref(), Ok(expected));
    }

    #[test]
    fn continued_lines_indent_once_more() {
        let text = "public formula f = iterate t\nwhere x > 1\norder by x;\n";
        assert_eq!(
            format(text).as_deref(),
            Ok("public formula f = iterate t\n  where x > 1\n  order by x;\n")
        );
    }

    #[test]
    fn multi_line_comments_and_strings_stay_verbatim() {
        let text = "/* one\n      two */\npublic string s = \"a\n   b\";\n";
        assert_eq!(format(text).as_deref(), Ok(text));
    }

    #[test]
    fn white_space_inside_a_multi_line_string_is_kept() {
        let text = "public string s = \"a   \n\n\n   b\";\n";
        assert_eq!(format(text).as_deref(), Ok(text));
    }

    #[test]
    fn a_file_with_syntax_errors_is_left_alone() {
        assert!(format("public int x = ;\n").is_err());
    }
}
