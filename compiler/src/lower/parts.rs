//! Pieces shared by declarations: privacy, guards, parameters, modifiers and function shapes.

use tree_sitter::Node;

use super::{Lowerer, field, fields, has_field, has_token, named_children};
use crate::hir::{Function, Guard, Ident, Modifiers, Mutability, NodeId, Param, Privacy};

impl Lowerer<'_> {
    /// The privacy in field `privacy` of `parent`, and the privacy node's id when one is written.
    pub(super) fn privacy_field(&mut self, parent: Node<'_>) -> (Privacy, Option<NodeId>) {
        let Some(node) = field(parent, "privacy") else {
            return (Privacy::Default, None);
        };
        let id = self.alloc(node);
        let privacy = if has_field(node, "field") {
            Privacy::ViewerIs(self.ident_field(node, "field"))
        } else if let Some(guard) = self.opt_guard_field(node, "guard") {
            Privacy::UsePolicy(guard)
        } else if has_token(node, "public") {
            Privacy::Public
        } else if has_token(node, "private") {
            Privacy::Private
        } else {
            Privacy::Default
        };
        (privacy, Some(id))
    }

    /// The guard in field `name` of `parent`, when present.
    pub(super) fn opt_guard_field(&mut self, parent: Node<'_>, name: &str) -> Option<Guard> {
        field(parent, name)
            .filter(|guard| !guard.is_missing())
            .map(|guard| self.guard(guard))
    }

    /// `<p1, p2 | f1>`.
    fn guard(&mut self, node: Node<'_>) -> Guard {
        let id = self.alloc(node);
        let policies = fields(node, "policy")
            .into_iter()
            .map(|policy| self.ident(policy))
            .collect();
        let filters = fields(node, "filter")
            .into_iter()
            .map(|filter| self.ident(filter))
            .collect();
        Guard {
            policies,
            filters,
            node: id,
        }
    }

    /// The parameters in field `parameters` of `parent`.
    pub(super) fn params(&mut self, parent: Node<'_>) -> Vec<Param> {
        let Some(list) = field(parent, "parameters") else {
            return Vec::new();
        };
        named_children(list)
            .into_iter()
            .filter(|child| child.kind() == "parameter" && !child.is_missing())
            .map(|child| self.param(child))
            .collect()
    }

    /// A `parameter` or `rpc_parameter`.
    pub(super) fn param(&mut self, node: Node<'_>) -> Param {
        self.read(node);
        let mutability = match field(node, "mutability").map(|word| self.text(word)) {
            Some("readonly") => Some(Mutability::Readonly),
            Some("mutable") => Some(Mutability::Mutable),
            _ => None,
        };
        Param {
            mutability,
            ty: self.type_field(node, "type"),
            name: self.ident_field(node, "name"),
        }
    }

    /// The `modifier` fields of a procedure or method.
    fn modifiers(&self, node: Node<'_>) -> Modifiers {
        let mut modifiers = Modifiers::default();
        for modifier in fields(node, "modifier") {
            match self.text(modifier) {
                "readonly" => modifiers.readonly = true,
                "aborts" => modifiers.aborts = true,
                "viewer" => modifiers.viewer = true,
                _ => {}
            }
        }
        modifiers
    }

    /// A function, procedure, method or dispatcher: name, parameters, return type, modifiers
    /// and body. `id` is the declaration's node id, already allocated.
    pub(super) fn function(&mut self, node: Node<'_>, id: NodeId) -> Function {
        let name = self.ident_field(node, "name");
        let params = self.params(node);
        let returns = field(node, "return_type").map(|ty| self.lower_type(ty));
        let modifiers = self.modifiers(node);
        let body = self.block_field(node, "body");
        Function {
            name,
            params,
            returns,
            modifiers,
            body,
            node: id,
        }
    }

    /// `(M m)` of a constructor, web handler or authorization: the message type and parameter,
    /// when written.
    pub(super) fn message_parameter(&mut self, node: Node<'_>) -> Option<(Ident, Ident)> {
        if field(node, "message_type").is_none() && field(node, "parameter").is_none() {
            return None;
        }
        let message = self.ident_field(node, "message_type");
        let parameter = self.ident_field(node, "parameter");
        Some((message, parameter))
    }
}
