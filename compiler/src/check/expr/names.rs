//! Names, members and indexing: what a name, `E::X`, `a.b` or `a[i]` reads.

use super::*;

impl Checker<'_> {
    /// Resolves a bare name.
    pub(in crate::check) fn name(&mut self, ident: &Ident) -> Value {
        if ident.name.is_empty() {
            return Value::error();
        }
        if let Some(local) = self.lookup_local(&ident.name) {
            let readonly = local.readonly;
            let ty = local.ty.clone();
            // The implied `self` of a dispatcher has no written declaration to lead to.
            let definition = if ident.name == "self" {
                Definition::Receiver
            } else {
                local.definition.clone()
            };
            self.note(ident.node, definition);
            return Value {
                ty,
                place: Place::Local {
                    readonly,
                    name: ident.name.clone(),
                },
                mutable_source: !readonly,
            };
        }
        if let Some(record) = self.context.record.clone()
            && self
                .signatures
                .records
                .get(&*record)
                .is_some_and(|sig| sig.replications.contains(&ident.name))
        {
            self.note(
                ident.node,
                Definition::Replication {
                    owner: Owner::Record(record.to_string()),
                    name: ident.name.clone(),
                },
            );
            return Value::of(Ty::Replication);
        }
        if let Some(value) = self.struct_member_in_scope(&ident.name) {
            let owner = match (&self.context.record, &self.context.message) {
                (Some(record), _) => Owner::Record(record.to_string()),
                (None, Some(message)) => Owner::Message(message.to_string()),
                (None, None) => Owner::Document,
            };
            self.note(
                ident.node,
                Definition::Field {
                    owner,
                    name: ident.name.clone(),
                },
            );
            return value;
        }
        if self.context.kind == crate::check::CodeKind::Filter
            && let Some(ty) = self.signatures.views.get(&ident.name)
        {
            let ty = ty.clone();
            self.note(ident.node, Definition::View(ident.name.clone()));
            return Value::of(ty);
        }
        if let Some(global) = self.signatures.globals.get(&ident.name) {
            let document_value = matches!(
                global,
                GlobalSig::Field { .. }
                    | GlobalSig::Formula
                    | GlobalSig::Bubble
                    | GlobalSig::Handler { .. }
                    | GlobalSig::AsyncChannel { .. }
                    | GlobalSig::Replication
            );
            if !document_value || self.context.reads_document() {
                if let Some(definition) = global_definition(&ident.name, global) {
                    self.note(ident.node, definition);
                }
                match global {
                    GlobalSig::Field { ty, readonly } => {
                        return Value {
                            ty: ty.clone(),
                            place: Place::Field {
                                readonly: *readonly,
                                name: ident.name.clone(),
                            },
                            mutable_source: false,
                        };
                    }
                    GlobalSig::Formula => {
                        return Value::of(self.formulas.formula_type(None, &ident.name));
                    }
                    GlobalSig::Bubble => {}
                    GlobalSig::Handler { message, .. } => {
                        return Value::of(Ty::Handler(Arc::from(message.as_str())));
                    }
                    GlobalSig::AsyncChannel { ty } => {
                        return Value::of(Ty::Channel(Box::new(ty.clone())));
                    }
                    GlobalSig::Function | GlobalSig::Procedure => {
                        return Value::of(Ty::Function(Arc::from(ident.name.as_str())));
                    }
                    GlobalSig::Service => {
                        return Value::of(Ty::Service(Arc::from(ident.name.as_str())));
                    }
                    GlobalSig::Template => return Value::of(Ty::Template),
                    GlobalSig::Replication => return Value::of(Ty::Replication),
                    GlobalSig::Cron => {}
                }
            }
        }
        if library::NAMESPACES.contains(&ident.name.as_str()) {
            self.note(ident.node, Definition::Library(ident.name.clone()));
            return Value::of(Ty::Global(Arc::from(ident.name.as_str())));
        }
        let mut diagnostic = SemanticDiagnostic::new(
            ident.node,
            Code::UnknownName,
            format!("The variable '{}' was not defined", ident.name),
        );
        if let Some(suggestion) = self.closest_name(&ident.name) {
            diagnostic = diagnostic.with_suggestion(ident.node, &suggestion);
        }
        self.report(diagnostic);
        Value::error()
    }

    /// The visible name closest in spelling to `name`, if one is close enough to be a typo.
    pub(super) fn closest_name(&self, name: &str) -> Option<String> {
        let mut candidates: Vec<&str> = self
            .scopes
            .iter()
            .flat_map(|scope| scope.keys().map(String::as_str))
            .collect();
        if self.context.reads_document() {
            candidates.extend(self.signatures.globals.keys().map(String::as_str));
        }
        if let Some(record) = self
            .context
            .record
            .as_ref()
            .and_then(|record| self.signatures.records.get(&**record))
        {
            candidates.extend(record.members.keys().map(String::as_str));
        }
        closest(name, candidates)
    }

    /// A field of the record or message whose code this is, by bare name.
    pub(super) fn struct_member_in_scope(&mut self, name: &str) -> Option<Value> {
        let (struct_sig, record) = if let Some(record) = &self.context.record {
            (
                self.signatures.records.get(&**record)?,
                Some(record.clone()),
            )
        } else if let Some(message) = &self.context.message {
            (self.signatures.messages.get(&**message)?, None)
        } else {
            return None;
        };
        match struct_sig.members.get(name)? {
            MemberSig::Field { ty, readonly } => Some(Value {
                ty: ty.clone(),
                place: if record.is_some() {
                    Place::Field {
                        readonly: *readonly || name == "id",
                        name: name.to_owned(),
                    }
                } else {
                    Place::MessageField {
                        writable: true,
                        name: name.to_owned(),
                    }
                },
                mutable_source: false,
            }),
            MemberSig::Formula => Some(Value::of(
                self.formulas.formula_type(record.as_deref(), name),
            )),
            MemberSig::Bubble => None,
        }
    }

    pub(super) fn enum_value(
        &mut self,
        enumeration: &Ident,
        label: Option<&Ident>,
        prefix: bool,
    ) -> Value {
        let Some(labels) = self.signatures.enums.get(&enumeration.name) else {
            self.error_suggesting(
                enumeration.node,
                Code::UnknownType,
                format!("no enumeration named '{}'", enumeration.name),
                self.suggest_enum(&enumeration.name),
            );
            return Value::error();
        };
        let ty = Ty::Enum(Arc::from(enumeration.name.as_str()));
        self.note(enumeration.node, Definition::Enum(enumeration.name.clone()));
        if let Some(label) = label
            && !prefix
            && labels.contains(&label.name)
        {
            self.note(
                label.node,
                Definition::EnumLabel {
                    enumeration: enumeration.name.clone(),
                    label: label.name.clone(),
                },
            );
        }
        match label {
            None => Value::of(Ty::array(ty)),
            Some(label) if prefix => {
                if !labels
                    .iter()
                    .any(|candidate| candidate.starts_with(&label.name))
                {
                    self.error(
                        label.node,
                        Code::UnknownEnumValue,
                        format!(
                            "the enumeration '{}' has no value '{}'",
                            enumeration.name, label.name
                        ),
                    );
                }
                Value::of(Ty::array(ty))
            }
            Some(label) => {
                if !labels.contains(&label.name) {
                    self.error_suggesting(
                        label.node,
                        Code::UnknownEnumValue,
                        format!(
                            "the enumeration '{}' has no value '{}'",
                            enumeration.name, label.name
                        ),
                        self.suggest_enum_value(&enumeration.name, &label.name),
                    );
                }
                Value::of(ty)
            }
        }
    }

    /// `object.member` (not called).
    pub(super) fn member(&mut self, object: &Value, member: &Ident) -> Value {
        let name = member.name.as_str();
        match &object.ty {
            Ty::Error => Value::error(),
            Ty::Record(_) | Ty::Message(_) | Ty::Holder(_) => self.struct_field(object, member),
            Ty::Anonymous(fields) => {
                match fields.iter().position(|(field, _)| field == name) {
                    Some(index) => {
                        self.note(
                            member.node,
                            Definition::Element(u32::try_from(index).unwrap_or(u32::MAX)),
                        );
                        Value::of(fields[index].1.clone())
                    }
                    None => {
                        self.error_suggesting(member.node, Code::UnknownMember, format!("Field not found: the structure does not contain the field '{name}'."), self.suggest_field(&object.ty, name));
                        Value::error()
                    }
                }
            }
            Ty::Maybe(inner) if matches!(**inner, Ty::Record(_) | Ty::Message(_)) => {
                let inner_value = Value {
                    ty: (**inner).clone(),
                    place: object.place.clone(),
                    mutable_source: false,
                };
                let field = self.struct_field(&inner_value, member);
                Value::of(Ty::maybe(field.ty))
            }
            Ty::List(element) | Ty::Array(element)
                if matches!(**element, Ty::Record(_) | Ty::Message(_)) =>
            {
                let element_value = Value {
                    ty: (**element).clone(),
                    place: Place::Element,
                    mutable_source: false,
                };
                let field = self.struct_field(&element_value, member);
                Value {
                    ty: Ty::list(field.ty),
                    place: Place::Element,
                    mutable_source: false,
                }
            }
            Ty::Pair(key, value) => match name {
                "key" => {
                    self.note(member.node, Definition::Element(0));
                    Value::of((**key).clone())
                }
                "value" => {
                    self.note(member.node, Definition::Element(1));
                    Value::of((**value).clone())
                }
                _ => self.lacks(&object.ty, member),
            },
            Ty::Tuple(items) => match tuple_index(name).and_then(|index| items.get(index)) {
                Some(ty) => {
                    let ty = ty.clone();
                    let index = tuple_index(name).unwrap_or_default();
                    self.note(
                        member.node,
                        Definition::Element(u32::try_from(index).unwrap_or(u32::MAX)),
                    );
                    Value::of(ty)
                }
                None => self.lacks(&object.ty, member),
            },
            Ty::Viewer => match self.signatures.views.get(name) {
                Some(ty) => {
                    let ty = ty.clone();
                    self.note(member.node, Definition::View(name.to_owned()));
                    Value::of(ty)
                }
                None => {
                    self.error_suggesting(member.node, Code::UnknownMember, format!("The view field '{name}' was not defined; declare it with `view T {name};`"), self.suggest_field(&Ty::Viewer, name));
                    Value::error()
                }
            },
            Ty::Context => match name {
                "who" => Value::of(Ty::Principal),
                "origin" | "ip" | "key" | "domain" => Value::of(Ty::String),
                _ => self.lacks(&object.ty, member),
            },
            Ty::Global(namespace) => {
                if library::namespace_functions(namespace).contains(&name) {
                    self.note(
                        member.node,
                        Definition::Library(format!("{namespace}.{name}")),
                    );
                    Value::of(Ty::Function(Arc::from(
                        format!("{namespace}.{name}").as_str(),
                    )))
                } else {
                    self.error_suggesting(
                        member.node,
                        Code::UnknownMember,
                        format!("Global '{namespace}' lacks '{name}'"),
                        self.suggest_method(&object.ty, name),
                    );
                    Value::error()
                }
            }
            Ty::Json => Value::of(Ty::Json),
            ty if has_no_fields(ty) => self.lacks(ty, member),
            _ => Value::error(),
        }
    }

    pub(super) fn lacks(&mut self, ty: &Ty, member: &Ident) -> Value {
        self.error_suggesting(
            member.node,
            Code::UnknownMember,
            format!("Type '{ty}' lacks field '{}'", member.name),
            self.suggest_field(ty, &member.name),
        );
        Value::error()
    }

    pub(super) fn struct_field(&mut self, object: &Value, member: &Ident) -> Value {
        let Some(struct_sig) = self.signatures.struct_of(&object.ty) else {
            return Value::error();
        };
        let is_record = matches!(object.ty, Ty::Record(_));
        let member_sig = struct_sig.members.get(&member.name).cloned();
        if matches!(
            member_sig,
            Some(MemberSig::Field { .. } | MemberSig::Formula)
        ) && let Some(owner) = owner_of(&object.ty)
        {
            self.note(
                member.node,
                Definition::Field {
                    owner,
                    name: member.name.clone(),
                },
            );
        }
        match member_sig.as_ref() {
            Some(MemberSig::Field { ty, readonly }) => {
                let place = if is_record {
                    Place::Field {
                        readonly: *readonly || member.name == "id",
                        name: member.name.clone(),
                    }
                } else {
                    let writable = match &object.place {
                        Place::Local { readonly, .. } => !readonly,
                        Place::MessageField { writable, .. } => *writable,
                        Place::Field { readonly, .. } => !readonly,
                        Place::Element => true,
                        Place::Value => false,
                    };
                    Place::MessageField {
                        writable: writable && !readonly,
                        name: member.name.clone(),
                    }
                };
                Value {
                    ty: ty.clone(),
                    place,
                    mutable_source: false,
                }
            }
            Some(MemberSig::Formula) => {
                let record = match &object.ty {
                    Ty::Record(name) => Some(name.clone()),
                    _ => None,
                };
                Value::of(self.formulas.formula_type(record.as_deref(), &member.name))
            }
            Some(MemberSig::Bubble) | None => self.lacks(&object.ty, member),
        }
    }

    pub(super) fn index(&mut self, object: ExprId, index: ExprId, node: NodeId) -> Value {
        let object_value = self.expr(object);
        self.index_of(&object_value, index, node)
    }

    pub(super) fn index_of(&mut self, object_value: &Value, index: ExprId, node: NodeId) -> Value {
        let index_ty = self.expr(index).ty;
        let index_node = self.body.expr(index).node;
        match &object_value.ty {
            Ty::Error => Value::error(),
            Ty::Map(key, value) => {
                self.expect_storable(index_node, key, index_ty.unwrap_maybe(), false);
                Value {
                    ty: Ty::maybe((**value).clone()),
                    place: Place::Element,
                    mutable_source: false,
                }
            }
            Ty::List(element) | Ty::Array(element) => {
                if !matches!(index_ty.unwrap_maybe(), Ty::Int | Ty::Error) {
                    self.error(
                        index_node,
                        Code::BadIndex,
                        format!("an index must be an int, found '{index_ty}'"),
                    );
                }
                Value {
                    ty: Ty::maybe((**element).clone()),
                    place: Place::Element,
                    mutable_source: false,
                }
            }
            Ty::Table(element) if !matches!(**element, Ty::Record(_) | Ty::Error) => {
                self.error_with_help(
                    node,
                    Code::NotIterable,
                    format!("expected an array, list or map, found '{}'", object_value.ty),
                    "a local table of messages can not be indexed: iterate it (`iterate t where id == k`)",
                );
                Value::error()
            }
            Ty::Table(element) => match index_ty {
                Ty::List(_) => Value::of(Ty::list(Ty::maybe((**element).clone()))),
                Ty::Array(_) => {
                    self.error_with_help(
                        index_node,
                        Code::BadIndex,
                        format!("expected 'list<int>', found '{index_ty}'"),
                        "look rows up by a list of ids (a query result), not by an array",
                    );
                    Value::error()
                }
                _ => Value {
                    ty: Ty::maybe((**element).clone()),
                    place: Place::Element,
                    mutable_source: false,
                },
            },
            Ty::Json => Value::of(Ty::Json),
            other => {
                self.error(
                    node,
                    Code::NotIterable,
                    format!("expected an array, list or map, found '{other}'"),
                );
                Value::error()
            }
        }
    }
}

/// The Levenshtein distance between two names.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b_chars: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b_chars.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, b_char) in b_chars.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b_chars.len()]
}

/// The candidate closest in spelling to `name`, if one is close enough to be a typo of it.
pub(in crate::check) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let limit = if name.len() <= 3 { 1 } else { 2 };
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

/// The record or message a struct type belongs to.
pub(super) fn owner_of(ty: &Ty) -> Option<Owner> {
    match ty {
        Ty::Record(name) => Some(Owner::Record(name.to_string())),
        Ty::Message(name) | Ty::Holder(name) => Some(Owner::Message(name.to_string())),
        _ => None,
    }
}

/// What a document-level name declares, for the names code can read.
pub(super) fn global_definition(name: &str, global: &GlobalSig) -> Option<Definition> {
    let name = name.to_owned();
    Some(match global {
        GlobalSig::Field { .. } | GlobalSig::Formula => Definition::Field {
            owner: Owner::Document,
            name,
        },
        GlobalSig::Handler { .. } | GlobalSig::AsyncChannel { .. } => Definition::Channel(name),
        GlobalSig::Function => Definition::Function {
            name,
            procedure: false,
            overload: 0,
        },
        GlobalSig::Procedure => Definition::Function {
            name,
            procedure: true,
            overload: 0,
        },
        GlobalSig::Service => Definition::Service(name),
        GlobalSig::Template => Definition::Template(name),
        GlobalSig::Replication => Definition::Replication {
            owner: Owner::Document,
            name,
        },
        GlobalSig::Bubble | GlobalSig::Cron => return None,
    })
}
