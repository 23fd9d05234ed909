//! Top-level declarations: the [`Decl`] of each item kind.
//!
//! This file holds the dispatch and the declarations that are fields, formulas, functions or
//! simple named values; records, messages, enums and services are in `members.rs`, handlers
//! and events in `handlers.rs`.

use tree_sitter::Node;

use super::{Lowerer, field, has_field, literals, named_children};
use crate::hir::{
    Bubble, CachePolicy, Decl, DispatchPattern, Field, Formula, Invalidation, Join, NodeId, Policy,
    Replication, TimeUnit, ViewField,
};

impl Lowerer<'_> {
    /// The declaration of an item node (`None` for a kind that is no item); `id` is the item's
    /// node id.
    pub(super) fn lower_decl(&mut self, node: Node<'_>, id: NodeId) -> Option<Decl> {
        let decl = match node.kind() {
            "field_declaration" => Decl::Field(self.field_decl(node, id)),
            "formula_declaration" | "cached_formula_declaration" => {
                Decl::Formula(self.formula(node, id))
            }
            "bubble_declaration" => Decl::Bubble(self.bubble(node, id)),
            "view_declaration" => Decl::View(self.view(node, id)),
            "record_declaration" => Decl::Record(self.record(node)),
            "message_declaration" => Decl::Message(self.message(node)),
            "enum_declaration" => Decl::Enum(self.enumeration(node)),
            "dispatch_declaration" => self.dispatch(node, id),
            "function_declaration" => Decl::Function(self.function(node, id)),
            "procedure_declaration" => Decl::Procedure(self.function(node, id)),
            "policy_declaration" => Decl::Policy(self.policy(node, id)),
            "filter_declaration" => Decl::Filter(self.policy(node, id)),
            "test_declaration" => Decl::Test {
                name: self.ident_field(node, "name"),
                body: self.block_field(node, "body"),
            },
            "include_declaration" => self.include(node),
            "link_declaration" => self.link(node),
            "service_declaration" => self.service(node),
            "replication_declaration" => Decl::Replication(self.replication(node)),
            "metric_declaration" => Decl::Metric {
                name: self.ident_field(node, "name"),
                value: self.expr_field(node, "value"),
            },
            "traffic_declaration" => Decl::Traffic {
                value: self.expr_field(node, "value"),
            },
            "assoc_declaration" => Decl::Assoc {
                from: self.ident_field(node, "from"),
                to: self.ident_field(node, "to"),
                edge: self.opt_ident_field(node, "edge"),
                name: self.ident_field(node, "name"),
            },
            "join_declaration" => Decl::Join(self.join(node, id)),
            "template_declaration" => self.template(node),
            _ => return self.lower_handler(node),
        };
        Some(decl)
    }

    /// A document or record field.
    pub(super) fn field_decl(&mut self, node: Node<'_>, id: NodeId) -> Field {
        let (privacy, privacy_node) = self.privacy_field(node);
        let readonly = has_field(node, "readonly");
        let ty = self.type_field(node, "type");
        let name = self.ident_field(node, "name");
        let value = self.opt_expr_field(node, "value");
        let invalidation = field(node, "invalidation").and_then(|token| {
            let kind = match self.text(token) {
                "@updated" => Invalidation::Updated,
                "@bump" => Invalidation::Bump,
                _ => return None,
            };
            Some((kind, self.alloc(token)))
        });
        Field {
            privacy,
            privacy_node,
            readonly,
            ty,
            name,
            value,
            invalidation,
            required: has_field(node, "required"),
            node: id,
        }
    }

    /// `formula x = e;`, `auto x = e;` or `cached<…> x = e;`.
    pub(super) fn formula(&mut self, node: Node<'_>, id: NodeId) -> Formula {
        let (privacy, _) = self.privacy_field(node);
        let cached = (node.kind() == "cached_formula_declaration").then(|| self.cache_policy(node));
        Formula {
            privacy,
            name: self.ident_field(node, "name"),
            value: self.expr_field(node, "value"),
            cached,
            node: id,
        }
    }

    /// `once`, or `every <period> <unit>`.
    fn cache_policy(&mut self, node: Node<'_>) -> CachePolicy {
        if field(node, "policy").is_some_and(|policy| self.text(policy) == "once") {
            return CachePolicy::Once;
        }
        let period = field(node, "period")
            .and_then(|period| literals::integer(self.text(period)))
            .unwrap_or(0);
        let unit_name = self.ident_field(node, "unit");
        CachePolicy::Every {
            period,
            unit: TimeUnit::from_word(&unit_name.name),
            unit_name,
        }
    }

    /// `bubble<guard> x = e;`
    pub(super) fn bubble(&mut self, node: Node<'_>, id: NodeId) -> Bubble {
        Bubble {
            guard: self.opt_guard_field(node, "guard"),
            name: self.ident_field(node, "name"),
            value: self.expr_field(node, "value"),
            node: id,
        }
    }

    fn view(&mut self, node: Node<'_>, id: NodeId) -> ViewField {
        ViewField {
            ty: self.type_field(node, "type"),
            name: self.ident_field(node, "name"),
            node: id,
        }
    }

    /// `dispatch E::L name(args) -> T { … }`
    fn dispatch(&mut self, node: Node<'_>, id: NodeId) -> Decl {
        let enumeration = self.ident_field(node, "enum");
        let pattern = match field(node, "pattern") {
            Some(pattern) if has_field(pattern, "all") => DispatchPattern::All(self.alloc(pattern)),
            Some(pattern) => {
                let label = self.ident_field(pattern, "label");
                if has_field(pattern, "prefix") {
                    DispatchPattern::Prefix(label)
                } else {
                    DispatchPattern::Label(label)
                }
            }
            None => DispatchPattern::Label(self.ident_field(node, "pattern")),
        };
        let function = self.function(node, id);
        Decl::Dispatch(crate::hir::Dispatch {
            enumeration,
            pattern,
            function,
        })
    }

    /// `policy name { … }` or `filter name { … }`.
    pub(super) fn policy(&mut self, node: Node<'_>, id: NodeId) -> Policy {
        Policy {
            name: self.ident_field(node, "name"),
            body: self.block_field(node, "body"),
            node: id,
        }
    }

    /// `@include a/b;`: the identifiers of the path.
    fn include(&mut self, node: Node<'_>) -> Decl {
        let path = field(node, "path").map_or_else(Vec::new, |path| {
            named_children(path)
                .into_iter()
                .filter(|part| part.kind() == "identifier" && !part.is_missing())
                .map(|part| self.text(part).to_owned())
                .collect()
        });
        Decl::Include { path }
    }

    /// `@link name { key = e; … }`
    fn link(&mut self, node: Node<'_>) -> Decl {
        let name = self.ident_field(node, "name");
        let params = named_children(node)
            .into_iter()
            .filter(|child| child.kind() == "link_parameter" && !child.is_missing())
            .map(|parameter| {
                let key = self.ident_field(parameter, "name");
                (key, self.expr_field(parameter, "value"))
            })
            .collect();
        Decl::Link { name, params }
    }

    /// `replication<service:method> name = e;`
    pub(super) fn replication(&mut self, node: Node<'_>) -> Replication {
        Replication {
            service: self.ident_field(node, "service"),
            method: self.ident_field(node, "method"),
            name: self.ident_field(node, "name"),
            value: self.expr_field(node, "value"),
        }
    }

    /// `join assoc via table[item] from e to e;`
    pub(super) fn join(&mut self, node: Node<'_>, id: NodeId) -> Join {
        Join {
            assoc: self.ident_field(node, "assoc"),
            table: self.ident_field(node, "table"),
            item: self.ident_field(node, "item"),
            from: self.expr_field(node, "from"),
            to: self.expr_field(node, "to"),
            node: id,
        }
    }

    /// `template name: `tag`…`tag``
    fn template(&mut self, node: Node<'_>) -> Decl {
        let name = self.ident_field(node, "name");
        let text = field(node, "body")
            .map_or("", |body| literals::template(self.text(body)))
            .to_owned();
        Decl::Template { name, text }
    }
}
