//! The names a declaration writes outside of code: what it declares (a record, its fields and
//! methods, an enum and its labels, a channel...) and what it refers to by name (the message of
//! a channel, the policies of a privacy rule, the field of `viewer_is`, the enum and label of a
//! dispatcher...). Code is resolved while it is typed (see [`super::resolution`]).

use crate::hir::{
    Decl, DispatchPattern, Field, Guard, Ident, Item, MessageMember, Privacy, RecordMember,
    ServiceMember,
};
use crate::queries::ItemKey;
use crate::signatures::Signatures;

use super::resolution::{Definition, Owner, Resolved};

/// Every name the declaration of `item` writes, with what it resolves to.
pub(super) fn declared_names(item: &Item, key: &ItemKey, signatures: &Signatures) -> Vec<Resolved> {
    let mut names = Names {
        signatures,
        found: Vec::new(),
    };
    names.decl(&item.decl, key);
    names.found
}

struct Names<'a> {
    signatures: &'a Signatures,
    found: Vec<Resolved>,
}

impl Names<'_> {
    fn declares(&mut self, ident: &Ident, definition: Definition) {
        if ident.name.is_empty() {
            return;
        }
        self.found.push(Resolved {
            node: ident.node,
            definition,
            declaration: true,
        });
    }

    /// A method of a record or message: its overload is the number of methods of the same name
    /// declared before it.
    fn declares_method<'n>(&mut self, owner: &Owner, name: &'n Ident, methods: &mut Vec<&'n str>) {
        let overload = methods
            .iter()
            .filter(|earlier| **earlier == name.name)
            .count();
        methods.push(&name.name);
        self.declares(
            name,
            Definition::Method {
                owner: owner.clone(),
                name: name.name.clone(),
                overload: u32::try_from(overload).unwrap_or(u32::MAX),
            },
        );
    }

    /// A field named by an `index` declaration, when the record or message has it.
    fn index_field(&mut self, owner: &Owner, field: &Ident, known: bool) {
        if known {
            self.refers(
                field,
                Some(Definition::Field {
                    owner: owner.clone(),
                    name: field.name.clone(),
                }),
            );
        }
    }

    fn refers(&mut self, ident: &Ident, definition: Option<Definition>) {
        if let Some(definition) = definition {
            self.found.push(Resolved {
                node: ident.node,
                definition,
                declaration: false,
            });
        }
    }

    /// A record, message or enum named where a type is expected.
    fn type_name(&self, name: &str) -> Option<Definition> {
        super::type_definition(self.signatures, name)
    }

    fn decl(&mut self, decl: &Decl, key: &ItemKey) {
        match decl {
            Decl::Field(field) => self.field(field, &Owner::Document),
            Decl::Formula(formula) => {
                self.declares(&formula.name, document_field(&formula.name));
            }
            Decl::Bubble(bubble) => {
                self.declares(&bubble.name, document_field(&bubble.name));
                if let Some(guard) = &bubble.guard {
                    self.guard(guard, None);
                }
            }
            Decl::View(view) => {
                self.declares(&view.name, Definition::View(view.name.name.clone()));
            }
            Decl::Record(record) => self.record(record),
            Decl::Message(message) => self.message(message),
            Decl::Enum(enumeration) => {
                let name = &enumeration.name.name;
                self.declares(&enumeration.name, Definition::Enum(name.clone()));
                for label in &enumeration.labels {
                    self.declares(
                        &label.name,
                        Definition::EnumLabel {
                            enumeration: name.clone(),
                            label: label.name.name.clone(),
                        },
                    );
                }
            }
            Decl::Dispatch(dispatch) => {
                let enumeration = &dispatch.enumeration.name;
                let labels = self.signatures.enums.get(enumeration);
                self.refers(
                    &dispatch.enumeration,
                    labels.map(|_| Definition::Enum(enumeration.clone())),
                );
                if let DispatchPattern::Label(label) = &dispatch.pattern
                    && labels.is_some_and(|labels| labels.contains(&label.name))
                {
                    self.refers(
                        label,
                        Some(Definition::EnumLabel {
                            enumeration: enumeration.clone(),
                            label: label.name.clone(),
                        }),
                    );
                }
                self.declares(
                    &dispatch.function.name,
                    Definition::Dispatcher {
                        enumeration: enumeration.clone(),
                        name: dispatch.function.name.name.clone(),
                    },
                );
            }
            Decl::Function(function) | Decl::Procedure(function) => {
                self.declares(
                    &function.name,
                    Definition::Function {
                        name: function.name.name.clone(),
                        procedure: matches!(decl, Decl::Procedure(_)),
                        overload: key.occurrence,
                    },
                );
            }
            Decl::Policy(policy) => self.declares(
                &policy.name,
                Definition::Policy {
                    record: None,
                    name: policy.name.name.clone(),
                },
            ),
            Decl::Filter(filter) => {
                self.declares(&filter.name, Definition::Filter(filter.name.name.clone()));
            }
            Decl::Channel(channel) => {
                self.declares(
                    &channel.name,
                    Definition::Channel(channel.name.name.clone()),
                );
                self.refers(&channel.message, self.type_name(&channel.message.name));
                if let Some(guard) = &channel.guard {
                    self.guard(guard, None);
                }
            }
            Decl::AsyncChannel(channel) => {
                self.declares(
                    &channel.name,
                    Definition::Channel(channel.name.name.clone()),
                );
                self.refers(&channel.message, self.type_name(&channel.message.name));
            }
            Decl::Rpc(rpc) => {
                self.declares(&rpc.name, Definition::Channel(rpc.name.name.clone()));
            }
            Decl::State { label, .. } => {
                self.declares(label, Definition::State(label.name.clone()));
            }
            Decl::Constructor {
                parameter: Some((message, _)),
                ..
            }
            | Decl::Authorization { message, .. } => {
                self.refers(message, self.type_name(&message.name));
            }
            Decl::Web(web) => {
                if let Some((message, _)) = &web.parameter {
                    self.refers(message, self.type_name(&message.name));
                }
                if let Some(guard) = &web.guard {
                    self.guard(guard, None);
                }
            }
            Decl::Cron { name, schedule, .. } => {
                self.declares(name, Definition::Cron(name.name.clone()));
                if let crate::hir::CronSchedule::Variable { field, .. } = schedule
                    && self.signatures.globals.contains_key(&field.name)
                {
                    self.refers(field, Some(document_field(field)));
                }
            }
            Decl::Test { name, .. } => self.declares(name, Definition::Test(name.name.clone())),
            Decl::Metric { name, .. } => {
                self.declares(name, Definition::Metric(name.name.clone()));
            }
            Decl::Service { name, members } => {
                self.declares(name, Definition::Service(name.name.clone()));
                for member in members {
                    if let ServiceMember::Method {
                        input,
                        output,
                        name: method,
                        ..
                    } = member
                    {
                        self.refers(input, self.type_name(&input.name));
                        self.refers(output, self.type_name(&output.name));
                        self.declares(
                            method,
                            Definition::ServiceMethod {
                                service: name.name.clone(),
                                name: method.name.clone(),
                            },
                        );
                    }
                    if let ServiceMember::Replication {
                        input,
                        name: method,
                    } = member
                    {
                        self.refers(input, self.type_name(&input.name));
                        self.declares(
                            method,
                            Definition::ServiceMethod {
                                service: name.name.clone(),
                                name: method.name.clone(),
                            },
                        );
                    }
                }
            }
            Decl::Replication(replication) => self.replication(replication, Owner::Document),
            Decl::Assoc {
                from,
                to,
                edge,
                name,
            } => {
                for end in [Some(from), Some(to), edge.as_ref()].into_iter().flatten() {
                    self.refers(end, self.type_name(&end.name));
                }
                self.declares(name, Definition::Assoc(name.name.clone()));
            }
            Decl::Join(join) => {
                if self.signatures.assocs.contains_key(&join.assoc.name) {
                    self.refers(
                        &join.assoc,
                        Some(Definition::Assoc(join.assoc.name.clone())),
                    );
                }
            }
            Decl::Template { name, .. } => {
                self.declares(name, Definition::Template(name.name.clone()));
            }
            Decl::Constructor { .. }
            | Decl::Event { .. }
            | Decl::Static { .. }
            | Decl::Include { .. }
            | Decl::Link { .. }
            | Decl::Authorize { .. }
            | Decl::Password { .. }
            | Decl::Traffic { .. } => {}
        }
    }

    fn field(&mut self, field: &Field, owner: &Owner) {
        self.declares(
            &field.name,
            Definition::Field {
                owner: owner.clone(),
                name: field.name.name.clone(),
            },
        );
        let record = match owner {
            Owner::Record(record) => Some(record.as_str()),
            _ => None,
        };
        match &field.privacy {
            Privacy::ViewerIs(target) => {
                let known = match record {
                    Some(record) => self
                        .signatures
                        .records
                        .get(record)
                        .is_some_and(|sig| sig.members.contains_key(&target.name)),
                    None => self.signatures.globals.contains_key(&target.name),
                };
                if known {
                    self.refers(
                        target,
                        Some(Definition::Field {
                            owner: owner.clone(),
                            name: target.name.clone(),
                        }),
                    );
                }
            }
            Privacy::UsePolicy(guard) => self.guard(guard, record),
            Privacy::Default | Privacy::Private | Privacy::Public => {}
        }
    }

    /// The policies and filters of a guard; a record's own policy comes before the document's.
    fn guard(&mut self, guard: &Guard, record: Option<&str>) {
        for policy in &guard.policies {
            let definition = self.policy(&policy.name, record);
            self.refers(policy, definition);
        }
        for filter in &guard.filters {
            if self.signatures.filters.contains(&filter.name) {
                self.refers(filter, Some(Definition::Filter(filter.name.clone())));
            }
        }
    }

    fn policy(&self, name: &str, record: Option<&str>) -> Option<Definition> {
        let in_record = record.filter(|record| {
            self.signatures
                .records
                .get(*record)
                .is_some_and(|sig| sig.policies.contains(name))
        });
        if let Some(record) = in_record {
            return Some(Definition::Policy {
                record: Some(record.to_owned()),
                name: name.to_owned(),
            });
        }
        self.signatures
            .policies
            .contains(name)
            .then(|| Definition::Policy {
                record: None,
                name: name.to_owned(),
            })
    }

    fn record(&mut self, record: &crate::hir::Record) {
        let name = record.name.name.clone();
        self.declares(&record.name, Definition::Record(name.clone()));
        let owner = Owner::Record(name.clone());
        let mut methods: Vec<&str> = Vec::new();
        for member in &record.members {
            match member {
                RecordMember::Field(field) => self.field(field, &owner),
                RecordMember::Formula(formula) => self.declares(
                    &formula.name,
                    Definition::Field {
                        owner: owner.clone(),
                        name: formula.name.name.clone(),
                    },
                ),
                RecordMember::Bubble(bubble) => {
                    self.declares(
                        &bubble.name,
                        Definition::Field {
                            owner: owner.clone(),
                            name: bubble.name.name.clone(),
                        },
                    );
                    if let Some(guard) = &bubble.guard {
                        self.guard(guard, Some(&name));
                    }
                }
                RecordMember::Method(method) => {
                    self.declares_method(&owner, &method.name, &mut methods);
                }
                RecordMember::Policy(policy) => self.declares(
                    &policy.name,
                    Definition::Policy {
                        record: Some(name.clone()),
                        name: policy.name.name.clone(),
                    },
                ),
                RecordMember::Require(policy) => {
                    let definition = self.policy(&policy.name, Some(&name));
                    self.refers(policy, definition);
                }
                RecordMember::Index(field) => {
                    let known = self
                        .signatures
                        .records
                        .get(&name)
                        .is_some_and(|sig| sig.members.contains_key(&field.name));
                    self.index_field(&owner, field, known);
                }
                RecordMember::Join(join) => {
                    if self.signatures.assocs.contains_key(&join.assoc.name) {
                        self.refers(
                            &join.assoc,
                            Some(Definition::Assoc(join.assoc.name.clone())),
                        );
                    }
                }
                RecordMember::Replication(replication) => {
                    self.replication(replication, owner.clone());
                }
                RecordMember::Ingested { .. } => {}
            }
        }
    }

    fn message(&mut self, message: &crate::hir::Message) {
        let name = message.name.name.clone();
        self.declares(&message.name, Definition::Message(name.clone()));
        let owner = Owner::Message(name.clone());
        let mut methods: Vec<&str> = Vec::new();
        for member in &message.members {
            match member {
                MessageMember::Field(field) => self.declares(
                    &field.name,
                    Definition::Field {
                        owner: owner.clone(),
                        name: field.name.name.clone(),
                    },
                ),
                MessageMember::Index(field) => {
                    let known = self
                        .signatures
                        .messages
                        .get(&name)
                        .is_some_and(|sig| sig.members.contains_key(&field.name));
                    self.index_field(&owner, field, known);
                }
                MessageMember::Method(method) => {
                    self.declares_method(&owner, &method.name, &mut methods);
                }
                MessageMember::Csv(_) | MessageMember::Parsed { .. } => {}
            }
        }
    }

    fn replication(&mut self, replication: &crate::hir::Replication, owner: Owner) {
        let service = &replication.service.name;
        if self.signatures.services.contains_key(service) {
            self.refers(
                &replication.service,
                Some(Definition::Service(service.clone())),
            );
            self.refers(
                &replication.method,
                Some(Definition::ServiceMethod {
                    service: service.clone(),
                    name: replication.method.name.clone(),
                }),
            );
        }
        self.declares(
            &replication.name,
            Definition::Replication {
                owner,
                name: replication.name.name.clone(),
            },
        );
    }
}

fn document_field(name: &Ident) -> Definition {
    Definition::Field {
        owner: Owner::Document,
        name: name.name.clone(),
    }
}
