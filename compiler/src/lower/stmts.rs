//! Statements and blocks: one [`Stmt`] per statement kind of the grammar.
//!
//! A `{ … }` block lowers to a [`Block`] whose `end` is the closing brace; ERROR nodes and
//! comments inside it are skipped. The single-statement body of `if`, `while`, `for`, `foreach`
//! and `do` is that statement's id. Like expressions, each kind has a small function, found in a
//! table, that stores its statement itself; nesting counts against the depth limit (a statement
//! past it lowers to `Stmt::Empty`).

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{Lowerer, field, find_token, has_field, named_children};
use crate::hir::{Block, ExprId, InferKind, NodeId, Stmt, StmtId};
use crate::parse::KindTable;

/// Lowers one statement node, whose id is already allocated, and stores it.
type StmtFn = fn(&mut Lowerer<'_>, Node<'_>, NodeId) -> StmtId;

/// The lowering of each statement kind.
fn stmt_fn(kind: &str) -> Option<StmtFn> {
    let lower: StmtFn = match kind {
        "block" => block,
        "if_statement" => if_statement,
        "local_declaration" => local,
        "inferred_declaration" => inferred,
        "while_statement" => while_statement,
        "do_statement" => do_statement,
        "for_statement" => for_statement,
        "foreach_statement" => foreach,
        "switch_statement" => switch,
        "return_statement" => return_statement,
        "transition_statement" => transition,
        "pump_statement" => pump,
        "send_statement" => send,
        "aborts_statement" => aborts,
        "assignment_statement" | "assignment" => assignment,
        "ingestion_statement" => ingestion,
        "empty_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Empty),
        "default_label" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Default),
        "break_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Break),
        "continue_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Continue),
        "abort_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Abort),
        "block_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Wait),
        "step_statement" => |lowerer, _, id| lowerer.store_stmt(id, Stmt::Step),
        "case_label" => |lowerer, node, id| lowerer.wrap(node, id, "value", Stmt::Case),
        "invoke_statement" => |lowerer, node, id| lowerer.wrap(node, id, "target", Stmt::Invoke),
        "preempt_statement" => |lowerer, node, id| lowerer.wrap(node, id, "target", Stmt::Preempt),
        "assert_statement" => |lowerer, node, id| lowerer.wrap(node, id, "value", Stmt::Assert),
        "log_statement" => |lowerer, node, id| lowerer.wrap(node, id, "value", Stmt::Log),
        "forward_statement" => |lowerer, node, id| lowerer.wrap(node, id, "seconds", Stmt::Forward),
        "expression_statement" => {
            |lowerer, node, id| lowerer.wrap(node, id, "expression", Stmt::Expr)
        }
        _ => return None,
    };
    Some(lower)
}

/// The function that lowers a node; none for ERROR and MISSING nodes and unknown kinds.
fn lowering(node: Node<'_>) -> Option<StmtFn> {
    if node.is_missing() || node.is_error() {
        return None;
    }
    static TABLE: OnceLock<KindTable<Option<StmtFn>>> = OnceLock::new();
    TABLE.get_or_init(|| KindTable::new(stmt_fn)).get(node)
}

impl Lowerer<'_> {
    /// Lowers a `block` node: its statements and its closing brace.
    pub(super) fn lower_block(&mut self, node: Node<'_>) -> Block {
        let whole = Some(self.alloc(node));
        let mut stmts = Vec::new();
        for child in named_children(node) {
            if lowering(child).is_some() {
                stmts.push(self.lower_stmt(child));
            }
        }
        let end = self.closing_brace(node);
        Block { stmts, whole, end }
    }

    /// The id of a block's closing brace, unless the parser had to invent it.
    fn closing_brace(&mut self, block: Node<'_>) -> Option<NodeId> {
        find_token(block, "}").map(|brace| self.alloc(brace))
    }

    /// The body in field `name` of `parent`: a block, or a lone statement read as a block of one
    /// (empty when it is absent).
    pub(super) fn block_field(&mut self, parent: Node<'_>, name: &str) -> Block {
        match field(parent, name) {
            Some(node) if node.kind() == "block" && !node.is_missing() => self.lower_block(node),
            Some(node) if lowering(node).is_some() => {
                let whole = Some(self.alloc(node));
                let stmt = self.lower_stmt(node);
                Block {
                    stmts: vec![stmt],
                    whole,
                    end: whole,
                }
            }
            _ => Block::default(),
        }
    }

    /// Lowers a statement node; past the depth limit it lowers to `Stmt::Empty`.
    pub(super) fn lower_stmt(&mut self, node: Node<'_>) -> StmtId {
        let id = self.alloc(node);
        if !self.enter(node) {
            return self.empty_at(id);
        }
        let stmt = match lowering(node) {
            Some(lower) => lower(self, node, id),
            None => self.empty_at(id),
        };
        self.leave();
        stmt
    }

    /// Stores a statement under its node's id.
    fn store_stmt(&mut self, id: NodeId, stmt: Stmt) -> StmtId {
        self.body.alloc_stmt(stmt, id)
    }

    /// Stores `Stmt::Empty` under a node's id.
    fn empty_at(&mut self, id: NodeId) -> StmtId {
        self.store_stmt(id, Stmt::Empty)
    }

    /// A statement made of the expression in field `name`.
    fn wrap(&mut self, node: Node<'_>, id: NodeId, name: &str, make: fn(ExprId) -> Stmt) -> StmtId {
        let expr = self.expr_field(node, name);
        self.store_stmt(id, make(expr))
    }

    /// The statement in field `name` of `parent`, or `Stmt::Empty` when it is absent.
    fn stmt_field(&mut self, parent: Node<'_>, name: &str) -> StmtId {
        match field(parent, name) {
            Some(node) => self.lower_stmt(node),
            None => {
                let id = self.alloc_absent(parent);
                self.empty_at(id)
            }
        }
    }

    /// The update clause of a `for`: an assignment, or an expression whose statement shares the
    /// expression's id.
    fn for_update(&mut self, node: Node<'_>) -> StmtId {
        if node.kind() == "assignment" {
            return self.lower_stmt(node);
        }
        let expr = self.lower_expr(node);
        let id = self.body.expr(expr).node;
        self.store_stmt(id, Stmt::Expr(expr))
    }
}

fn block(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let block = lowerer.lower_block(node);
    lowerer.store_stmt(id, Stmt::Block(block))
}

fn if_statement(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let (condition, binding) = match field(node, "condition") {
        Some(condition) => {
            lowerer.read(condition);
            (
                lowerer.expr_field(condition, "value"),
                lowerer.opt_ident_field(condition, "binding"),
            )
        }
        None => (lowerer.expr_field(node, "condition"), None),
    };
    let then = lowerer.stmt_field(node, "consequence");
    let otherwise = field(node, "alternative").map(|alternative| lowerer.lower_stmt(alternative));
    let stmt = Stmt::If {
        condition,
        binding,
        then,
        otherwise,
    };
    lowerer.store_stmt(id, stmt)
}

fn local(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let stmt = Stmt::Local {
        readonly: has_field(node, "readonly"),
        ty: lowerer.type_field(node, "type"),
        name: lowerer.ident_field(node, "name"),
        value: lowerer.opt_expr_field(node, "value"),
    };
    lowerer.store_stmt(id, stmt)
}

fn inferred(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let kind = match field(node, "kind").map(|kind| lowerer.text(kind)) {
        Some("var") => InferKind::Var,
        Some("auto") => InferKind::Auto,
        _ => InferKind::Let,
    };
    let name = lowerer.ident_field(node, "name");
    let value = lowerer.expr_field(node, "value");
    lowerer.store_stmt(id, Stmt::Infer { kind, name, value })
}

fn while_statement(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let condition = lowerer.expr_field(node, "condition");
    let body = lowerer.stmt_field(node, "body");
    lowerer.store_stmt(id, Stmt::While { condition, body })
}

fn do_statement(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let body = lowerer.stmt_field(node, "body");
    let condition = lowerer.expr_field(node, "condition");
    lowerer.store_stmt(id, Stmt::DoWhile { body, condition })
}

fn for_statement(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let init = field(node, "initializer").map(|init| lowerer.lower_stmt(init));
    let condition = lowerer.opt_expr_field(node, "condition");
    let update = field(node, "update").map(|update| lowerer.for_update(update));
    let body = lowerer.stmt_field(node, "body");
    let stmt = Stmt::For {
        init,
        condition,
        update,
        body,
    };
    lowerer.store_stmt(id, stmt)
}

fn foreach(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let variable = lowerer.ident_field(node, "variable");
    let iterable = lowerer.expr_field(node, "iterable");
    let body = lowerer.stmt_field(node, "body");
    let stmt = Stmt::Foreach {
        variable,
        iterable,
        body,
    };
    lowerer.store_stmt(id, stmt)
}

fn switch(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let value = lowerer.expr_field(node, "value");
    let body = lowerer.stmt_field(node, "body");
    lowerer.store_stmt(id, Stmt::Switch { value, body })
}

fn return_statement(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let value = lowerer.opt_expr_field(node, "value");
    lowerer.store_stmt(id, Stmt::Return(value))
}

fn transition(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let target = lowerer.expr_field(node, "target");
    let delay = lowerer.opt_expr_field(node, "delay");
    lowerer.store_stmt(id, Stmt::Transition { target, delay })
}

fn pump(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let message = lowerer.expr_field(node, "message");
    let channel = lowerer.ident_field(node, "channel");
    lowerer.store_stmt(id, Stmt::Pump { message, channel })
}

fn send(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let channel = lowerer.ident_field(node, "channel");
    let who = lowerer.expr_field(node, "who");
    let message = lowerer.expr_field(node, "message");
    let stmt = Stmt::Send {
        channel,
        who,
        message,
    };
    lowerer.store_stmt(id, stmt)
}

/// `@aborts { … }`
fn aborts(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let body = lowerer.block_field(node, "body");
    lowerer.store_stmt(id, Stmt::Aborts(body))
}

/// `left = right;`, and the `left = right` update of a `for`.
fn assignment(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let target = lowerer.expr_field(node, "left");
    let value = lowerer.expr_field(node, "right");
    lowerer.store_stmt(id, Stmt::Assign { target, value })
}

fn ingestion(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> StmtId {
    let target = lowerer.expr_field(node, "target");
    let source = lowerer.expr_field(node, "source");
    let binding = lowerer.opt_ident_field(node, "binding");
    let stmt = Stmt::Ingest {
        target,
        source,
        binding,
    };
    lowerer.store_stmt(id, stmt)
}
