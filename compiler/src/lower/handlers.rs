//! Handlers and events: channels, rpc, state blocks, the constructor, document events,
//! `@static`, `@web`, `@cron` and the authentication hooks.

use tree_sitter::Node;

use super::{Lowerer, field, fields, has_field, literals, named_children};
use crate::hir::{
    AsyncChannel, Channel, CronFrequency, CronSchedule, Decl, EventKind, Ident, Rpc, StaticEntry,
    StaticPolicyKind, UriSegment, Web, WebMethod,
};

impl Lowerer<'_> {
    /// The declaration of a handler or event item; `None` for a kind that is no item.
    pub(super) fn lower_handler(&mut self, node: Node<'_>) -> Option<Decl> {
        let decl = match node.kind() {
            "channel_declaration" => Decl::Channel(self.channel(node)),
            "async_channel_declaration" => Decl::AsyncChannel(AsyncChannel {
                message: self.ident_field(node, "message_type"),
                array: has_field(node, "array"),
                name: self.ident_field(node, "name"),
            }),
            "rpc_declaration" => Decl::Rpc(self.rpc(node)),
            "state_block" => self.state(node),
            "constructor_declaration" => Decl::Constructor {
                parameter: self.message_parameter(node),
                body: self.block_field(node, "body"),
            },
            "document_event" => self.document_event(node)?,
            "attached_event" => Decl::Event {
                kind: EventKind::Attached(self.ident_field(node, "parameter")),
                body: self.block_field(node, "body"),
            },
            "static_block" => self.static_block(node),
            "web_handler" => Decl::Web(self.web(node)?),
            "cron_declaration" => self.cron(node),
            "authorize_declaration" => Decl::Authorize {
                username: self.ident_field(node, "username"),
                password: self.ident_field(node, "password"),
                body: self.block_field(node, "body"),
            },
            "authorization_declaration" => Decl::Authorization {
                message: self.ident_field(node, "message_type"),
                parameter: self.ident_field(node, "parameter"),
                body: self.block_field(node, "body"),
            },
            "password_declaration" => Decl::Password {
                parameter: self.ident_field(node, "parameter"),
                body: self.block_field(node, "body"),
            },
            _ => return None,
        };
        Some(decl)
    }

    /// `channel name(M m) open requires<p> { … }`
    fn channel(&mut self, node: Node<'_>) -> Channel {
        Channel {
            name: self.ident_field(node, "name"),
            message: self.ident_field(node, "message_type"),
            array: has_field(node, "array"),
            parameter: self.ident_field(node, "parameter"),
            open: has_field(node, "open"),
            guard: self.opt_guard_field(node, "guard"),
            body: self.block_field(node, "body"),
        }
    }

    /// `rpc name(who, T a, …) { … }`
    fn rpc(&mut self, node: Node<'_>) -> Rpc {
        let name = self.ident_field(node, "name");
        let who = self.ident_field(node, "who");
        let params = fields(node, "parameter")
            .into_iter()
            .filter(|parameter| !parameter.is_missing() && !parameter.is_error())
            .map(|parameter| self.param(parameter))
            .collect();
        Rpc {
            name,
            who,
            params,
            body: self.block_field(node, "body"),
        }
    }

    /// `#label { … }`: the label's name without its `#`.
    fn state(&mut self, node: Node<'_>) -> Decl {
        let label = match field(node, "label") {
            Some(label) => Ident {
                name: literals::label(self.text(label)).to_owned(),
                node: self.alloc(label),
            },
            None => self.ident_field(node, "label"),
        };
        Decl::State {
            label,
            body: self.block_field(node, "body"),
        }
    }

    /// `@connected { … }` and the other document events without parameters.
    fn document_event(&mut self, node: Node<'_>) -> Option<Decl> {
        let kind = match field(node, "event").map(|event| self.text(event)) {
            Some("@connected") => EventKind::Connected,
            Some("@disconnected") => EventKind::Disconnected,
            Some("@delete") => EventKind::Delete,
            Some("@load") => EventKind::Load,
            Some("@can_attach") => EventKind::CanAttach,
            _ => return None,
        };
        Some(Decl::Event {
            kind,
            body: self.block_field(node, "body"),
        })
    }

    /// `@static (context) { create { … } name = e; … }`
    fn static_block(&mut self, node: Node<'_>) -> Decl {
        let context = self.opt_ident_field(node, "context");
        let entries = named_children(node)
            .into_iter()
            .filter(|entry| !entry.is_missing())
            .filter_map(|entry| self.static_entry(entry))
            .collect();
        Decl::Static { context, entries }
    }

    fn static_entry(&mut self, node: Node<'_>) -> Option<StaticEntry> {
        match node.kind() {
            "static_policy" => {
                let id = self.alloc(node);
                let kind = match field(node, "kind").map(|kind| self.text(kind)) {
                    Some("create") => StaticPolicyKind::Create,
                    Some("invent") => StaticPolicyKind::Invent,
                    Some("send") => StaticPolicyKind::Send,
                    _ => return None,
                };
                Some(StaticEntry::Policy {
                    kind,
                    body: self.block_field(node, "body"),
                    node: id,
                })
            }
            "static_setting" => Some(StaticEntry::Setting {
                name: self.ident_field(node, "name"),
                value: self.expr_field(node, "value"),
            }),
            _ => None,
        }
    }

    /// `@web method /path (M m) requires<p> { … }`
    fn web(&mut self, node: Node<'_>) -> Option<Web> {
        let method = match field(node, "method").map(|method| self.text(method)) {
            Some("get") => WebMethod::Get,
            Some("put") => WebMethod::Put,
            Some("delete") => WebMethod::Delete,
            Some("options") => WebMethod::Options,
            _ => return None,
        };
        let (path, path_node) = match field(node, "path") {
            Some(uri) => (self.alloc(uri), uri),
            None => (self.alloc_absent(node), node),
        };
        let segments = if path_node.kind() == "uri" {
            self.uri_segments(path_node)
        } else {
            Vec::new()
        };
        Some(Web {
            method,
            path: segments,
            path_node: path,
            parameter: self.message_parameter(node),
            guard: self.opt_guard_field(node, "guard"),
            body: self.block_field(node, "body"),
        })
    }

    /// The segments of a `uri` node.
    fn uri_segments(&mut self, uri: Node<'_>) -> Vec<UriSegment> {
        fields(uri, "segment")
            .into_iter()
            .filter(|segment| !segment.is_missing() && !segment.is_error())
            .map(|segment| self.uri_segment(segment))
            .collect()
    }

    fn uri_segment(&mut self, segment: Node<'_>) -> UriSegment {
        match segment.kind() {
            "string" => UriSegment::Literal(literals::string(self.text(segment))),
            "uri_parameter" => {
                let name = self.ident_field(segment, "name");
                if has_field(segment, "rest") {
                    UriSegment::Rest(name)
                } else {
                    UriSegment::Parameter {
                        name,
                        ty: self.type_field(segment, "type"),
                    }
                }
            }
            _ => UriSegment::Literal(self.text(segment).to_owned()),
        }
    }

    /// `@cron name daily 8:30 { … }`
    fn cron(&mut self, node: Node<'_>) -> Decl {
        let name = self.ident_field(node, "name");
        let schedule = match field(node, "schedule") {
            Some(schedule) => self.cron_schedule(schedule),
            None => CronSchedule::Variable {
                frequency: CronFrequency::Daily,
                field: self.ident_field(node, "schedule"),
            },
        };
        Decl::Cron {
            name,
            schedule,
            body: self.block_field(node, "body"),
        }
    }

    fn cron_schedule(&mut self, node: Node<'_>) -> CronSchedule {
        let frequency = match field(node, "frequency").map(|word| self.text(word)) {
            Some("hourly") => CronFrequency::Hourly,
            Some("monthly") => CronFrequency::Monthly,
            _ => CronFrequency::Daily,
        };
        if has_field(node, "variable") {
            return CronSchedule::Variable {
                frequency,
                field: self.ident_field(node, "variable"),
            };
        }
        let id = self.alloc(node);
        let number = |name: &str| {
            field(node, name)
                .and_then(|value| literals::integer(self.text(value)))
                .unwrap_or(0)
        };
        match frequency {
            CronFrequency::Daily => CronSchedule::Daily {
                hour: number("hour"),
                minute: number("minute"),
                node: id,
            },
            CronFrequency::Hourly => CronSchedule::Hourly {
                minute: number("value"),
                node: id,
            },
            CronFrequency::Monthly => CronSchedule::Monthly {
                day: number("value"),
                node: id,
            },
        }
    }
}
