//! `adama parse`: print the concrete syntax tree of a file, with field names and positions.
//!
//! The output lists named nodes, one per line, indented by depth: `field: kind [row, col] - [row,
//! col]`, with MISSING and ERROR nodes marked. It is meant for grammar work and bug reports.

use std::io::Write;
use std::path::PathBuf;

use adama_compiler::parse;
use clap::Args;
use tree_sitter::Tree;

use super::Outcome;
use crate::input::{Input, describe_io_error, read_source};

/// Arguments of `adama parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The Adama file to parse.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs the command: exit 0 for a clean tree, 1 if the tree has errors, 2 if the file is unreadable.
pub fn run(args: &ParseArgs) -> Outcome {
    let name = args.file.display().to_string();
    let text = match read_source(&args.file) {
        Ok(Input::Text(text)) => text,
        Ok(Input::NotText(error)) => {
            eprintln!(
                "{name}:{}:{}: error: {}",
                error.line + 1,
                error.column + 1,
                error
            );
            return Outcome::Errors;
        }
        Err(error) => {
            eprintln!("error: {}", describe_io_error(&name, &error));
            return Outcome::Failure;
        }
    };
    let tree = parse(&text, None);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = print_tree(&mut out, &tree).and_then(|()| out.flush());
    if tree.root_node().has_error() {
        Outcome::Errors
    } else {
        Outcome::Clean
    }
}

/// Prints the named nodes of `tree`, iteratively so that deep nesting cannot overflow the stack.
fn print_tree(out: &mut impl Write, tree: &Tree) -> std::io::Result<()> {
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        if node.is_named() || node.is_missing() {
            let field = cursor
                .field_name()
                .map(|name| format!("{name}: "))
                .unwrap_or_default();
            let kind = if node.is_missing() {
                format!("MISSING {}", node.kind())
            } else {
                node.kind().to_owned()
            };
            let start = node.start_position();
            let end = node.end_position();
            writeln!(
                out,
                "{}{field}{kind} [{}, {}] - [{}, {}]",
                "  ".repeat(depth),
                start.row,
                start.column,
                end.row,
                end.column
            )?;
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Ok(());
            }
            depth -= 1;
        }
    }
}
