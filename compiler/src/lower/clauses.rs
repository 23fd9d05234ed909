//! LINQ clauses: the clause node of a `query_expression` lowers to a [`Clause`].

use tree_sitter::Node;

use super::{Lowerer, fields, has_field};
use crate::hir::{Clause, Direction, OrderKey};

impl Lowerer<'_> {
    /// Lowers a clause node; `None` for a node that is no clause (an ERROR, say).
    pub(super) fn lower_clause(&mut self, node: Node<'_>) -> Option<Clause> {
        if node.is_missing() || node.is_error() {
            return None;
        }
        self.read(node);
        Some(match node.kind() {
            "where_clause" => Clause::Where(self.expr_field(node, "predicate")),
            "where_as_clause" => Clause::WhereAs {
                binding: self.ident_field(node, "binding"),
                predicate: self.expr_field(node, "predicate"),
            },
            "order_clause" => Clause::Order(self.order_keys(node)),
            "order_dyn_clause" => Clause::OrderDyn(self.expr_field(node, "specification")),
            "shuffle_clause" => Clause::Shuffle,
            "limit_clause" => Clause::Limit(self.expr_field(node, "count")),
            "offset_clause" => Clause::Offset(self.expr_field(node, "count")),
            "map_clause" => Clause::Map(self.expr_field(node, "function")),
            "reduce_clause" => Clause::Reduce {
                key: self.ident_field(node, "key"),
                function: self.opt_expr_field(node, "function"),
            },
            "unique_clause" => self.unique(node),
            "rank_clause" => Clause::Rank {
                binding: self.ident_field(node, "binding"),
                score: self.expr_field(node, "score"),
                threshold: self.opt_expr_field(node, "threshold"),
            },
            "materialize_clause" => Clause::Materialize,
            "traverse_clause" => Clause::Traverse(self.ident_field(node, "assoc")),
            _ => return None,
        })
    }

    fn order_keys(&mut self, node: Node<'_>) -> Vec<OrderKey> {
        fields(node, "key")
            .into_iter()
            .map(|key| {
                let field = self.ident_field(key, "field");
                let descending = super::field(key, "direction")
                    .is_some_and(|direction| self.text(direction) == "desc");
                OrderKey {
                    field,
                    direction: if descending {
                        Direction::Descending
                    } else {
                        Direction::Ascending
                    },
                    insensitive: has_field(key, "insensitive"),
                }
            })
            .collect()
    }

    /// `unique`, `unique first k`, `unique last k`.
    fn unique(&mut self, node: Node<'_>) -> Clause {
        let keep_last = super::field(node, "keep").is_some_and(|keep| self.text(keep) == "last");
        Clause::Unique {
            keep_last,
            key: self.opt_ident_field(node, "key"),
        }
    }
}
