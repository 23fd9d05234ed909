//! Expressions: one [`Expr`] variant per expression kind of the grammar.
//!
//! [`Lowerer::lower_expr`] allocates the node's id, guards the depth, and hands the node to the
//! function for its kind, found in a table of function pointers. Each of those small functions
//! lowers the children and stores the [`Expr`] itself, so the frames on the recursive path hold
//! no expression values and stay small. A run of parentheses is unwrapped with a loop. An
//! expression whose kind is unknown, an ERROR or a MISSING node lowers to `Expr::Missing`.
//! Literal-valued expressions are in `values.rs`.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::values;
use super::{Lowerer, field, fields, has_field};
use crate::hir::{
    BinaryOp, CompoundOp, Expr, ExprId, Ident, NodeId, ObjectField, PostfixOp, PrefixOp,
};
use crate::parse::KindTable;

/// Lowers one expression node, whose id is already allocated, and stores it.
pub(super) type ExprFn = fn(&mut Lowerer<'_>, Node<'_>, NodeId) -> ExprId;

/// The lowering of each expression kind.
fn expr_fn(kind: &str) -> Option<ExprFn> {
    let lower: ExprFn = match kind {
        "parenthesized_expression" => parens,
        "identifier" => name,
        "enum_value" => enum_value,
        "member_expression" => member,
        "index_expression" => index,
        "call_expression" => call,
        "binary_expression" => binary,
        "prefix_expression" => prefix,
        "postfix_update_expression" => postfix,
        "conditional_expression" => conditional,
        "containment_expression" => containment,
        "compound_assignment" => compound,
        "tuple_expression" => tuple,
        "array_expression" => array,
        "object_expression" => object,
        "pair_literal" => pair,
        "lambda_expression" => lambda,
        "convert_expression" => convert,
        "iterate_expression" => iterate,
        "query_expression" => query,
        other => return values::value_fn(other),
    };
    Some(lower)
}

/// The function that lowers a node; none for ERROR and MISSING nodes and unknown kinds.
fn lowering(node: Node<'_>) -> Option<ExprFn> {
    if node.is_missing() || node.is_error() {
        return None;
    }
    static TABLE: OnceLock<KindTable<Option<ExprFn>>> = OnceLock::new();
    TABLE.get_or_init(|| KindTable::new(expr_fn)).get(node)
}

impl Lowerer<'_> {
    /// Lowers an expression node; past the depth limit it lowers to `Expr::Missing`.
    pub(super) fn lower_expr(&mut self, node: Node<'_>) -> ExprId {
        let id = self.alloc(node);
        if !self.enter(node) {
            return self.missing_at(id);
        }
        let expr = match lowering(node) {
            Some(lower) => lower(self, node, id),
            None => self.missing_at(id),
        };
        self.leave();
        expr
    }

    /// Stores an expression under its node's id.
    pub(super) fn store(&mut self, id: NodeId, expr: Expr) -> ExprId {
        self.body.alloc_expr(expr, id)
    }

    /// Stores `Expr::Missing` under a node's id.
    fn missing_at(&mut self, id: NodeId) -> ExprId {
        self.store(id, Expr::Missing)
    }

    /// The expression in field `name` of `parent`, or `Expr::Missing` when it is absent.
    pub(super) fn expr_field(&mut self, parent: Node<'_>, name: &str) -> ExprId {
        match field(parent, name) {
            Some(node) => self.lower_expr(node),
            None => self.missing_expr(parent),
        }
    }

    /// The expression in field `name` of `parent`, when present.
    pub(super) fn opt_expr_field(&mut self, parent: Node<'_>, name: &str) -> Option<ExprId> {
        field(parent, name).map(|node| self.lower_expr(node))
    }

    /// Every expression in field `name` of `parent`, in source order.
    pub(super) fn expr_fields(&mut self, parent: Node<'_>, name: &str) -> Vec<ExprId> {
        fields(parent, name)
            .into_iter()
            .map(|node| self.lower_expr(node))
            .collect()
    }

    /// An `Expr::Missing` for a child absent from `parent`.
    fn missing_expr(&mut self, parent: Node<'_>) -> ExprId {
        let id = self.alloc_absent(parent);
        self.missing_at(id)
    }

    /// The innermost expression of a run of parentheses, lowered.
    fn innermost(&mut self, parens: Node<'_>) -> ExprId {
        let mut inner = parens;
        while inner.kind() == "parenthesized_expression" && !inner.is_missing() {
            match field(inner, "expression") {
                Some(child) => inner = child,
                None => return self.missing_expr(inner),
            }
        }
        let id = self.alloc(inner);
        match lowering(inner) {
            Some(lower) => lower(self, inner, id),
            None => self.missing_at(id),
        }
    }

    /// The text of the `operator` field of `node`.
    fn operator(&self, node: Node<'_>) -> &str {
        field(node, "operator").map_or("", |operator| self.text(operator))
    }
}

/// A run of nested parentheses lowers to one `Expr::Paren` around the innermost expression. The
/// run is unwrapped with a loop, so it costs no depth.
fn parens(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let value = lowerer.innermost(node);
    lowerer.store(id, Expr::Paren(value))
}

/// A name is one node: the expression and its identifier share the id.
fn name(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let name = lowerer.text(node).to_owned();
    lowerer.store(id, Expr::Name(Ident { name, node: id }))
}

fn enum_value(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let enumeration = lowerer.ident_field(node, "enum");
    let label = lowerer.opt_ident_field(node, "label");
    let prefix = label.is_some() && has_field(node, "prefix");
    let expr = Expr::EnumValue {
        enumeration,
        label,
        prefix,
    };
    lowerer.store(id, expr)
}

fn member(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let object = lowerer.expr_field(node, "object");
    let member = lowerer.ident_field(node, "member");
    lowerer.store(id, Expr::Member { object, member })
}

fn index(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let object = lowerer.expr_field(node, "object");
    let index = lowerer.expr_field(node, "index");
    lowerer.store(id, Expr::Index { object, index })
}

fn call(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let function = lowerer.expr_field(node, "function");
    let arguments = match field(node, "arguments") {
        Some(arguments) => lowerer.expr_fields(arguments, "argument"),
        None => Vec::new(),
    };
    let expr = Expr::Call {
        function,
        arguments,
    };
    lowerer.store(id, expr)
}

fn binary(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let left = lowerer.expr_field(node, "left");
    let right = lowerer.expr_field(node, "right");
    let expr = BinaryOp::from_symbol(lowerer.operator(node))
        .map_or(Expr::Missing, |op| Expr::Binary { op, left, right });
    lowerer.store(id, expr)
}

fn prefix(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let operand = lowerer.expr_field(node, "operand");
    let op = match lowerer.operator(node) {
        "-" => Some(PrefixOp::Negate),
        "!" => Some(PrefixOp::Not),
        "++" => Some(PrefixOp::Increment),
        "--" => Some(PrefixOp::Decrement),
        _ => None,
    };
    let expr = op.map_or(Expr::Missing, |op| Expr::Prefix { op, operand });
    lowerer.store(id, expr)
}

fn postfix(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let operand = lowerer.expr_field(node, "operand");
    let op = match lowerer.operator(node) {
        "++" => Some(PostfixOp::Increment),
        "--" => Some(PostfixOp::Decrement),
        _ => None,
    };
    let expr = op.map_or(Expr::Missing, |op| Expr::Postfix { op, operand });
    lowerer.store(id, expr)
}

fn conditional(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let condition = lowerer.expr_field(node, "condition");
    let then = lowerer.expr_field(node, "consequence");
    let otherwise = lowerer.expr_field(node, "alternative");
    let expr = Expr::Conditional {
        condition,
        then,
        otherwise,
    };
    lowerer.store(id, expr)
}

fn containment(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let key = lowerer.expr_field(node, "key");
    let map = lowerer.expr_field(node, "map");
    let inside = match lowerer.operator(node) {
        "inside" => Some(true),
        "outside" => Some(false),
        _ => None,
    };
    let expr = inside.map_or(Expr::Missing, |inside| Expr::Contains { key, map, inside });
    lowerer.store(id, expr)
}

fn compound(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let target = lowerer.expr_field(node, "left");
    let value = lowerer.expr_field(node, "right");
    let op = match lowerer.operator(node) {
        "+=" => Some(CompoundOp::Add),
        "-=" => Some(CompoundOp::Sub),
        "*=" => Some(CompoundOp::Mul),
        _ => None,
    };
    let expr = op.map_or(Expr::Missing, |op| Expr::Compound { op, target, value });
    lowerer.store(id, expr)
}

fn tuple(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let elements = lowerer.expr_fields(node, "element");
    lowerer.store(id, Expr::Tuple(elements))
}

fn array(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let elements = lowerer.expr_fields(node, "element");
    lowerer.store(id, Expr::Array(elements))
}

fn object(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let fields = fields(node, "field")
        .into_iter()
        .map(|entry| ObjectField {
            name: lowerer.ident_field(entry, "name"),
            value: lowerer.opt_expr_field(entry, "value"),
        })
        .collect();
    lowerer.store(id, Expr::Object(fields))
}

fn pair(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let key = lowerer.expr_field(node, "key");
    let value = lowerer.expr_field(node, "value");
    lowerer.store(id, Expr::Pair { key, value })
}

fn lambda(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let parameter = lowerer.ident_field(node, "parameter");
    let body = lowerer.expr_field(node, "body");
    lowerer.store(id, Expr::Lambda { parameter, body })
}

fn convert(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let target = lowerer.ident_field(node, "type");
    let value = lowerer.expr_field(node, "value");
    lowerer.store(id, Expr::Convert { target, value })
}

fn iterate(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let source = lowerer.expr_field(node, "source");
    lowerer.store(id, Expr::Iterate(source))
}

fn query(lowerer: &mut Lowerer<'_>, node: Node<'_>, id: NodeId) -> ExprId {
    let source = lowerer.expr_field(node, "source");
    let first = field(node, "clause");
    let clause = first.and_then(|clause| lowerer.lower_clause(clause));
    // A query statement's source may be a query whose clause the `clause` field finds first:
    // the clause written last is then a child that lowering does not read.
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind().ends_with("_clause") && first.is_none_or(|first| first.id() != child.id()) {
            lowerer.read_whole(child);
        }
    }
    let expr = clause.map_or(Expr::Missing, |clause| Expr::Query { source, clause });
    lowerer.store(id, expr)
}
