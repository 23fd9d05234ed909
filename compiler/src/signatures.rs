//! The declarations of a document, gathered in one table: what every name at the top level (and
//! every member of a record or message) is, with its type.
//!
//! The table holds no code and no positions, so an edit inside a body leaves it equal and nothing
//! that depends on it is re-checked. Formula types are not here: they depend on code and come from
//! their own query.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::hir::{
    Decl, EnumLabel, Function, GenericName, Item, MessageMember, Mutability, RecordMember,
    ServiceMember, TypeRef,
};
use crate::ty::{MessageShapes, Ty, can_store};

/// A function, procedure, method or dispatcher signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FnSig {
    pub params: Vec<ParamSig>,
    pub returns: Ty,
    pub readonly: bool,
    pub aborts: bool,
    pub viewer: bool,
    pub kind: FnKind,
}

/// What kind of code a signature belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FnKind {
    Function,
    Procedure,
    Method,
    Dispatcher,
}

/// A parameter of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParamSig {
    pub name: String,
    pub ty: Ty,
    pub mutability: Option<Mutability>,
}

/// A member of a record or message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberSig {
    Field {
        ty: Ty,
        readonly: bool,
    },
    /// A formula; its type comes from the formula-type query.
    Formula,
    /// A bubble: output only.
    Bubble,
}

/// A record or a message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StructSig {
    pub members: BTreeMap<String, MemberSig>,
    /// Field names in declaration order.
    pub order: Vec<String>,
    pub methods: BTreeMap<String, Vec<FnSig>>,
    pub policies: BTreeSet<String>,
    /// Message fields that may be dropped during ingestion.
    pub lossy: BTreeSet<String>,
    /// Record fields that ingestion must provide.
    pub required: BTreeSet<String>,
    /// Whether the message declares `@csv` (local tables of it have `to_csv()`).
    pub csv: bool,
    /// The record's `replication<service:method>` names, which its code reads as their status.
    pub replications: BTreeSet<String>,
}

/// A name in the document's value namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GlobalSig {
    Field { ty: Ty, readonly: bool },
    Formula,
    Bubble,
    Handler { message: String, array: bool },
    AsyncChannel { ty: Ty },
    Function,
    Procedure,
    Service,
    Template,
    Replication,
    Cron,
}

/// A method of a declared service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceMethodSig {
    pub input: String,
    pub output: Ty,
    pub secured: bool,
}

/// Every declaration of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Signatures {
    pub records: BTreeMap<String, StructSig>,
    pub messages: BTreeMap<String, StructSig>,
    /// Enum labels in declaration order.
    pub enums: BTreeMap<String, Vec<String>>,
    pub globals: BTreeMap<String, GlobalSig>,
    pub functions: BTreeMap<String, Vec<FnSig>>,
    pub procedures: BTreeMap<String, Vec<FnSig>>,
    /// Dispatchers by (enum, name).
    pub dispatchers: BTreeMap<(String, String), Vec<FnSig>>,
    pub views: BTreeMap<String, Ty>,
    pub states: BTreeSet<String>,
    pub policies: BTreeSet<String>,
    pub filters: BTreeSet<String>,
    pub services: BTreeMap<String, BTreeMap<String, ServiceMethodSig>>,
    /// The `replication<T> name;` members of each service: name to the type name T.
    pub service_replications: BTreeMap<String, BTreeMap<String, String>>,
    pub assocs: BTreeMap<String, (String, String)>,
    /// The edge record of each assoc that declares one.
    pub assoc_edges: BTreeMap<String, Option<String>>,
    pub has_static_invent: bool,
    /// The messages that `@construct` blocks take, in declaration order.
    pub constructor_messages: Vec<String>,
}

impl Signatures {
    /// Gathers the declarations of every item.
    pub fn build<'a>(items: impl Iterator<Item = &'a Item> + Clone) -> Signatures {
        let mut signatures = Signatures::default();
        // Type names first, so that member types resolve whatever the order of declarations.
        for item in items.clone() {
            match &item.decl {
                Decl::Record(record) => {
                    signatures
                        .records
                        .entry(record.name.name.clone())
                        .or_default();
                }
                Decl::Message(message) => {
                    signatures
                        .messages
                        .entry(message.name.name.clone())
                        .or_default();
                }
                Decl::Enum(enumeration) => {
                    let labels = enumeration
                        .labels
                        .iter()
                        .map(|EnumLabel { name, .. }| name.name.clone())
                        .collect();
                    signatures
                        .enums
                        .entry(enumeration.name.name.clone())
                        .or_insert(labels);
                }
                Decl::Rpc(rpc) => {
                    signatures
                        .messages
                        .entry(rpc_message_name(&rpc.name.name))
                        .or_default();
                }
                _ => {}
            }
        }
        for item in items {
            signatures.add(&item.decl);
        }
        signatures
    }

    fn add(&mut self, decl: &Decl) {
        match decl {
            Decl::Field(field) => {
                let ty = self.resolve(&field.ty).unwrap_or(Ty::Error);
                let readonly = field.readonly || stays_at_default(&ty);
                self.globals
                    .entry(field.name.name.clone())
                    .or_insert(GlobalSig::Field { ty, readonly });
            }
            Decl::Formula(formula) => {
                self.globals
                    .entry(formula.name.name.clone())
                    .or_insert(GlobalSig::Formula);
            }
            Decl::Bubble(bubble) => {
                self.globals
                    .entry(bubble.name.name.clone())
                    .or_insert(GlobalSig::Bubble);
            }
            Decl::View(view) => {
                let ty = self.resolve(&view.ty).unwrap_or(Ty::Error);
                self.views.entry(view.name.name.clone()).or_insert(ty);
            }
            Decl::Record(record) => {
                let mut sig = StructSig::default();
                for member in &record.members {
                    match member {
                        RecordMember::Field(field) => {
                            let ty = self.resolve(&field.ty).unwrap_or(Ty::Error);
                            if field.required {
                                sig.required.insert(field.name.name.clone());
                            }
                            let readonly = field.readonly || stays_at_default(&ty);
                            sig.add_member(&field.name.name, MemberSig::Field { ty, readonly });
                        }
                        RecordMember::Formula(formula) => {
                            sig.add_member(&formula.name.name, MemberSig::Formula)
                        }
                        RecordMember::Bubble(bubble) => {
                            sig.add_member(&bubble.name.name, MemberSig::Bubble)
                        }
                        RecordMember::Method(method) => {
                            let fn_sig = self.fn_sig(method, FnKind::Method);
                            sig.methods
                                .entry(method.name.name.clone())
                                .or_default()
                                .push(fn_sig);
                        }
                        RecordMember::Policy(policy) => {
                            sig.policies.insert(policy.name.name.clone());
                        }
                        RecordMember::Replication(replication) => {
                            sig.replications.insert(replication.name.name.clone());
                        }
                        _ => {}
                    }
                }
                if !sig.members.contains_key("id") {
                    sig.members.insert(
                        "id".to_owned(),
                        MemberSig::Field {
                            ty: Ty::Int,
                            readonly: true,
                        },
                    );
                    sig.order.insert(0, "id".to_owned());
                }
                self.records.insert(record.name.name.clone(), sig);
            }
            Decl::Message(message) => {
                let mut sig = StructSig::default();
                for member in &message.members {
                    match member {
                        MessageMember::Field(field) => {
                            let ty = self.resolve(&field.ty).unwrap_or(Ty::Error);
                            if field.lossy {
                                sig.lossy.insert(field.name.name.clone());
                            }
                            sig.add_member(
                                &field.name.name,
                                MemberSig::Field {
                                    ty,
                                    readonly: field.readonly,
                                },
                            );
                        }
                        MessageMember::Csv(_) => sig.csv = true,
                        MessageMember::Method(method) => {
                            let fn_sig = self.fn_sig(method, FnKind::Method);
                            sig.methods
                                .entry(method.name.name.clone())
                                .or_default()
                                .push(fn_sig);
                        }
                        _ => {}
                    }
                }
                self.messages.insert(message.name.name.clone(), sig);
            }
            Decl::Dispatch(dispatch) => {
                let fn_sig = self.fn_sig(&dispatch.function, FnKind::Dispatcher);
                self.dispatchers
                    .entry((
                        dispatch.enumeration.name.clone(),
                        dispatch.function.name.name.clone(),
                    ))
                    .or_default()
                    .push(fn_sig);
            }
            Decl::Function(function) => {
                let fn_sig = self.fn_sig(function, FnKind::Function);
                self.functions
                    .entry(function.name.name.clone())
                    .or_default()
                    .push(fn_sig);
                self.globals
                    .entry(function.name.name.clone())
                    .or_insert(GlobalSig::Function);
            }
            Decl::Procedure(procedure) => {
                let fn_sig = self.fn_sig(procedure, FnKind::Procedure);
                self.procedures
                    .entry(procedure.name.name.clone())
                    .or_default()
                    .push(fn_sig);
                self.globals
                    .entry(procedure.name.name.clone())
                    .or_insert(GlobalSig::Procedure);
            }
            Decl::Policy(policy) => {
                self.policies.insert(policy.name.name.clone());
            }
            Decl::Filter(filter) => {
                self.filters.insert(filter.name.name.clone());
            }
            Decl::Channel(channel) => {
                self.globals
                    .entry(channel.name.name.clone())
                    .or_insert(GlobalSig::Handler {
                        message: channel.message.name.clone(),
                        array: channel.array,
                    });
            }
            Decl::AsyncChannel(channel) => {
                let message = self.resolve_struct_name(&channel.message.name);
                let ty = if channel.array {
                    Ty::array(message)
                } else {
                    message
                };
                self.globals
                    .entry(channel.name.name.clone())
                    .or_insert(GlobalSig::AsyncChannel { ty });
            }
            Decl::Rpc(rpc) => {
                let message_name = rpc_message_name(&rpc.name.name);
                let mut sig = StructSig::default();
                for param in &rpc.params {
                    let ty = self.resolve(&param.ty).unwrap_or(Ty::Error);
                    sig.add_member(
                        &param.name.name,
                        MemberSig::Field {
                            ty,
                            readonly: false,
                        },
                    );
                }
                self.messages.insert(message_name.clone(), sig);
                self.globals
                    .entry(rpc.name.name.clone())
                    .or_insert(GlobalSig::Handler {
                        message: message_name,
                        array: false,
                    });
            }
            Decl::State { label, .. } => {
                self.states.insert(label.name.clone());
            }
            Decl::Constructor {
                parameter: Some((message, _)),
                ..
            } => {
                self.constructor_messages.push(message.name.clone());
            }
            Decl::Static { entries, .. } => {
                self.has_static_invent |= entries.iter().any(|entry| {
                    matches!(
                        entry,
                        crate::hir::StaticEntry::Policy {
                            kind: crate::hir::StaticPolicyKind::Invent,
                            ..
                        }
                    )
                });
            }
            Decl::Cron { name, .. } => {
                self.globals
                    .entry(name.name.clone())
                    .or_insert(GlobalSig::Cron);
            }
            Decl::Service { name, members } => {
                let mut methods = BTreeMap::new();
                for member in members {
                    if let ServiceMember::Method {
                        secured,
                        input,
                        output,
                        array,
                        name,
                    } = member
                    {
                        let output_ty = self.resolve_name(&output.name).unwrap_or(Ty::Error);
                        let output = if *array {
                            Ty::array(output_ty)
                        } else {
                            output_ty
                        };
                        methods.insert(
                            name.name.clone(),
                            ServiceMethodSig {
                                input: input.name.clone(),
                                output,
                                secured: *secured,
                            },
                        );
                    }
                }
                self.services.insert(name.name.clone(), methods);
                let replications = members
                    .iter()
                    .filter_map(|member| match member {
                        ServiceMember::Replication { input, name } => {
                            Some((name.name.clone(), input.name.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                self.service_replications
                    .insert(name.name.clone(), replications);
                self.globals
                    .entry(name.name.clone())
                    .or_insert(GlobalSig::Service);
            }
            Decl::Replication(replication) => {
                self.globals
                    .entry(replication.name.name.clone())
                    .or_insert(GlobalSig::Replication);
            }
            Decl::Template { name, .. } => {
                self.globals
                    .entry(name.name.clone())
                    .or_insert(GlobalSig::Template);
            }
            Decl::Include { path } => {
                // The deployment binds these units; their declarations join the document.
                let field = match path.join("/").as_str() {
                    "std" => Some("std_here"),
                    "std/foo" => Some("foo_here"),
                    _ => None,
                };
                if let Some(field) = field {
                    self.globals
                        .entry(field.to_owned())
                        .or_insert(GlobalSig::Field {
                            ty: Ty::Int,
                            readonly: false,
                        });
                }
            }
            Decl::Link { name, .. } if name.name == "sample" => {
                // The built-in `sample` link: a message with one string field and an echo method.
                let message = "__SampleMessage".to_owned();
                let mut sig = StructSig::default();
                sig.add_member(
                    "message",
                    MemberSig::Field {
                        ty: Ty::String,
                        readonly: false,
                    },
                );
                self.messages.insert(message.clone(), sig);
                let mut methods = BTreeMap::new();
                methods.insert(
                    "echo".to_owned(),
                    ServiceMethodSig {
                        input: message.clone(),
                        output: Ty::Message(Arc::from(message.as_str())),
                        secured: false,
                    },
                );
                self.services.insert(name.name.clone(), methods);
                self.globals
                    .entry(name.name.clone())
                    .or_insert(GlobalSig::Service);
            }
            Decl::Assoc {
                from,
                to,
                name,
                edge,
            } => {
                self.assocs
                    .insert(name.name.clone(), (from.name.clone(), to.name.clone()));
                self.assoc_edges.insert(
                    name.name.clone(),
                    edge.as_ref().map(|edge| edge.name.clone()),
                );
            }
            _ => {}
        }
    }

    fn fn_sig(&self, function: &Function, kind: FnKind) -> FnSig {
        FnSig {
            params: function
                .params
                .iter()
                .map(|param| ParamSig {
                    name: param.name.name.clone(),
                    ty: self.resolve(&param.ty).unwrap_or(Ty::Error),
                    mutability: param.mutability,
                })
                .collect(),
            returns: function
                .returns
                .as_ref()
                .map_or(Ty::Void, |ty| self.resolve(ty).unwrap_or(Ty::Error)),
            readonly: function.modifiers.readonly,
            aborts: function.modifiers.aborts,
            viewer: function.modifiers.viewer,
            kind,
        }
    }

    /// The type of a record, message or enum name; `Ty::Error` for an unknown one.
    pub fn resolve_struct_name(&self, name: &str) -> Ty {
        if self.records.contains_key(name) {
            Ty::Record(Arc::from(name))
        } else if self.messages.contains_key(name) {
            Ty::Message(Arc::from(name))
        } else if self.enums.contains_key(name) {
            Ty::Enum(Arc::from(name))
        } else {
            Ty::Error
        }
    }

    /// Resolves a written type. `Err` holds the name that is unknown.
    pub fn resolve(&self, type_ref: &TypeRef) -> Result<Ty, TypeError> {
        match type_ref {
            TypeRef::Missing(_) => Ok(Ty::Error),
            TypeRef::Named(ident) => self
                .resolve_name(&ident.name)
                .ok_or_else(|| TypeError::Unknown(ident.clone())),
            TypeRef::Array { element, .. } => Ok(Ty::array(self.resolve(element)?)),
            TypeRef::Projection { .. } => Ok(Ty::Error),
            TypeRef::Generic { name, args, node } => {
                let resolved: Vec<Ty> = args
                    .iter()
                    .map(|arg| self.resolve(arg))
                    .collect::<Result<_, _>>()?;
                let arity_error = || TypeError::Arity {
                    name: *name,
                    node: *node,
                };
                let one = || resolved.first().cloned().ok_or_else(arity_error);
                Ok(match name {
                    GenericName::Maybe => Ty::maybe(one()?),
                    GenericName::List => Ty::list(one()?),
                    GenericName::Future => Ty::Future(Box::new(one()?)),
                    GenericName::Channel => Ty::Channel(Box::new(one()?)),
                    GenericName::Table => Ty::Table(Box::new(one()?)),
                    GenericName::Secure => match one()? {
                        Ty::Principal | Ty::Error => Ty::SecurePrincipal,
                        _ => return Err(arity_error()),
                    },
                    GenericName::Holder => match one()? {
                        Ty::Message(name) => Ty::Holder(name),
                        _ => Ty::Error,
                    },
                    GenericName::Map | GenericName::Pair => {
                        let [key, value] = resolved.as_slice() else {
                            return Err(arity_error());
                        };
                        if *name == GenericName::Map {
                            Ty::Map(Box::new(key.clone()), Box::new(value.clone()))
                        } else {
                            Ty::Pair(Box::new(key.clone()), Box::new(value.clone()))
                        }
                    }
                    GenericName::Tuple => {
                        if resolved.len() < 2 {
                            return Err(arity_error());
                        }
                        Ty::Tuple(resolved)
                    }
                })
            }
        }
    }

    fn resolve_name(&self, name: &str) -> Option<Ty> {
        Some(match name {
            "bool" => Ty::Bool,
            "int" => Ty::Int,
            "long" => Ty::Long,
            "double" => Ty::Double,
            "complex" => Ty::Complex,
            "string" => Ty::String,
            "principal" | "client" => Ty::Principal,
            "dynamic" => Ty::Dynamic,
            "json" => Ty::Json,
            "asset" => Ty::Asset,
            "date" => Ty::Date,
            "datetime" => Ty::DateTime,
            "time" => Ty::Time,
            "timespan" => Ty::TimeSpan,
            "label" => Ty::Label,
            "text" => Ty::Text,
            other => match self.resolve_struct_name(other) {
                Ty::Error => return None,
                ty => ty,
            },
        })
    }

    /// The record or message named by a struct type.
    pub fn struct_of(&self, ty: &Ty) -> Option<&StructSig> {
        match ty {
            Ty::Record(name) => self.records.get(&**name),
            Ty::Message(name) | Ty::Holder(name) => self.messages.get(&**name),
            _ => None,
        }
    }
}

impl MessageShapes for Signatures {
    fn anonymous_fits(&self, message: &str, fields: &[(String, Ty)]) -> bool {
        let Some(sig) = self
            .messages
            .get(message)
            .or_else(|| self.records.get(message))
        else {
            return false;
        };
        fields.iter().all(|(name, ty)| match sig.members.get(name) {
            Some(MemberSig::Field { ty: target, .. }) => can_store(target, ty, false, self),
            _ => false,
        })
    }
}

impl StructSig {
    fn add_member(&mut self, name: &str, member: MemberSig) {
        if !self.members.contains_key(name) {
            self.order.push(name.to_owned());
            self.members.insert(name.to_owned(), member);
        }
    }
}

/// A document or record field of a message type parses but is not reactive storage: it stays
/// at its default and code can not write it (language section 3.1; a `holder<M>` is the
/// reactive form).
fn stays_at_default(ty: &Ty) -> bool {
    matches!(ty, Ty::Message(_))
}

/// Why a written type did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeError {
    Unknown(crate::hir::Ident),
    Arity {
        name: GenericName,
        node: crate::hir::NodeId,
    },
}

/// The name of the message an `rpc` declares for its parameters.
pub fn rpc_message_name(rpc: &str) -> String {
    format!("__rpc_{rpc}")
}
