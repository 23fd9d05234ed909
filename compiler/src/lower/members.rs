//! Declarations with members: records, messages, enums and services.
//!
//! Each member node gets its own id; members of kinds the HIR does not know (comments, ERROR
//! nodes left by recovery) are skipped.

use tree_sitter::Node;

use super::{Lowerer, field, fields, has_field, literals, named_children};
use crate::hir::{
    Decl, Enum, EnumLabel, Message, MessageField, MessageMember, Record, RecordMember,
    ServiceMember,
};

impl Lowerer<'_> {
    /// `record R { … }`
    pub(super) fn record(&mut self, node: Node<'_>) -> Record {
        let name = self.ident_field(node, "name");
        let members = self
            .member_nodes(node)
            .into_iter()
            .filter_map(|member| self.record_member(member))
            .collect();
        Record { name, members }
    }

    /// The named, non-error children of the `body` field.
    fn member_nodes<'tree>(&self, node: Node<'tree>) -> Vec<Node<'tree>> {
        field(node, "body").map_or_else(Vec::new, |body| {
            named_children(body)
                .into_iter()
                .filter(|member| !member.is_error() && !member.is_missing())
                .collect()
        })
    }

    fn record_member(&mut self, node: Node<'_>) -> Option<RecordMember> {
        let member = match node.kind() {
            "field_declaration" => {
                let id = self.alloc(node);
                RecordMember::Field(self.field_decl(node, id))
            }
            "formula_declaration" | "cached_formula_declaration" => {
                let id = self.alloc(node);
                RecordMember::Formula(self.formula(node, id))
            }
            "bubble_declaration" => {
                let id = self.alloc(node);
                RecordMember::Bubble(self.bubble(node, id))
            }
            "method_declaration" => {
                let id = self.alloc(node);
                RecordMember::Method(self.function(node, id))
            }
            "policy_declaration" => {
                let id = self.alloc(node);
                RecordMember::Policy(self.policy(node, id))
            }
            "require_declaration" => RecordMember::Require(self.ident_field(node, "policy")),
            "index_declaration" => RecordMember::Index(self.ident_field(node, "field")),
            "join_declaration" => {
                let id = self.alloc(node);
                RecordMember::Join(self.join(node, id))
            }
            "replication_declaration" => RecordMember::Replication(self.replication(node)),
            "ingested_event" => {
                let id = self.alloc(node);
                RecordMember::Ingested {
                    body: self.block_field(node, "body"),
                    node: id,
                }
            }
            _ => return None,
        };
        Some(member)
    }

    /// `message M { … }`
    pub(super) fn message(&mut self, node: Node<'_>) -> Message {
        let name = self.ident_field(node, "name");
        let members = self
            .member_nodes(node)
            .into_iter()
            .filter_map(|member| self.message_member(member))
            .collect();
        Message { name, members }
    }

    fn message_member(&mut self, node: Node<'_>) -> Option<MessageMember> {
        let member = match node.kind() {
            "message_field" => MessageMember::Field(self.message_field(node)),
            "index_declaration" => MessageMember::Index(self.ident_field(node, "field")),
            "csv_option" => MessageMember::Csv(self.alloc(node)),
            "parsed_event" => {
                let id = self.alloc(node);
                MessageMember::Parsed {
                    body: self.block_field(node, "body"),
                    node: id,
                }
            }
            "method_declaration" => {
                let id = self.alloc(node);
                MessageMember::Method(self.function(node, id))
            }
            _ => return None,
        };
        Some(member)
    }

    fn message_field(&mut self, node: Node<'_>) -> MessageField {
        let id = self.alloc(node);
        let readonly = has_field(node, "readonly");
        let ty = self.type_field(node, "type");
        let name = self.ident_field(node, "name");
        let value = self.opt_expr_field(node, "value");
        let (mut lossy, mut unique, mut silent) = (false, None, false);
        for option in fields(node, "option") {
            match self.text(option) {
                "lossy" => lossy = true,
                "unique" => unique = Some(self.alloc(option)),
                "@silent" => silent = true,
                _ => {}
            }
        }
        MessageField {
            readonly,
            ty,
            name,
            value,
            lossy,
            unique,
            silent,
            node: id,
        }
    }

    /// `enum E { … }`
    pub(super) fn enumeration(&mut self, node: Node<'_>) -> Enum {
        let name = self.ident_field(node, "name");
        let labels = fields(node, "label")
            .into_iter()
            .filter(|label| !label.is_missing() && !label.is_error())
            .map(|label| {
                self.read(label);
                EnumLabel {
                    name: self.ident_field(label, "name"),
                    value: field(label, "value")
                        .and_then(|value| literals::integer(self.text(value))),
                    default: has_field(label, "default"),
                }
            })
            .collect();
        Enum { name, labels }
    }

    /// `service name { … }`
    pub(super) fn service(&mut self, node: Node<'_>) -> Decl {
        let name = self.ident_field(node, "name");
        let members = named_children(node)
            .into_iter()
            .filter(|member| !member.is_missing())
            .filter_map(|member| self.service_member(member))
            .collect();
        Decl::Service { name, members }
    }

    fn service_member(&mut self, node: Node<'_>) -> Option<ServiceMember> {
        let member = match node.kind() {
            "service_method" => ServiceMember::Method {
                secured: has_field(node, "secured"),
                input: self.ident_field(node, "input"),
                output: self.ident_field(node, "output"),
                array: has_field(node, "array"),
                name: self.ident_field(node, "name"),
            },
            "service_replication" => ServiceMember::Replication {
                input: self.ident_field(node, "input"),
                name: self.ident_field(node, "name"),
            },
            "service_setting" => ServiceMember::Setting {
                name: self.ident_field(node, "name"),
                value: self.expr_field(node, "value"),
            },
            _ => return None,
        };
        Some(member)
    }
}
