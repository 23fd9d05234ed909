//! Types as written: type names, generic types, arrays and projections lower to [`TypeRef`].
//!
//! Generic arguments nest, so lowering a type counts as one guarded level of depth.

use tree_sitter::Node;

use super::{Lowerer, field, fields};
use crate::hir::{GenericName, TypeRef};

impl Lowerer<'_> {
    /// The type in field `name` of `parent`, or `TypeRef::Missing` when it is absent.
    pub(super) fn type_field(&mut self, parent: Node<'_>, name: &str) -> TypeRef {
        match field(parent, name) {
            Some(node) => self.lower_type(node),
            None => TypeRef::Missing(self.alloc_absent(parent)),
        }
    }

    /// Lowers a type node.
    pub(super) fn lower_type(&mut self, node: Node<'_>) -> TypeRef {
        if node.is_missing() || node.is_error() || !self.enter(node) {
            return TypeRef::Missing(self.alloc(node));
        }
        let ty = match node.kind() {
            "type_identifier" | "identifier" => TypeRef::Named(self.ident(node)),
            "generic_type" => self.generic_type(node),
            "array_type" => self.array_type(node),
            "projection_type" => self.projection_type(node),
            _ => TypeRef::Missing(self.alloc(node)),
        };
        self.leave();
        ty
    }

    fn generic_type(&mut self, node: Node<'_>) -> TypeRef {
        let id = self.alloc(node);
        let keyword = field(node, "name").map_or("", |name| self.text(name));
        let Some(name) = GenericName::from_keyword(keyword) else {
            return TypeRef::Missing(id);
        };
        let args = fields(node, "argument")
            .into_iter()
            .map(|argument| self.lower_type(argument))
            .collect();
        TypeRef::Generic {
            name,
            args,
            node: id,
        }
    }

    fn array_type(&mut self, node: Node<'_>) -> TypeRef {
        let id = self.alloc(node);
        let element = self.type_field(node, "element");
        TypeRef::Array {
            element: Box::new(element),
            node: id,
        }
    }

    fn projection_type(&mut self, node: Node<'_>) -> TypeRef {
        let id = self.alloc(node);
        let table = self.ident_field(node, "table");
        let field = self.ident_field(node, "field");
        TypeRef::Projection {
            table,
            field,
            node: id,
        }
    }
}
