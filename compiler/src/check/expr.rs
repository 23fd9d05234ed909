//! Typing of expressions.

use std::sync::Arc;

use super::resolution::{Definition, Owner, tuple_index};
use super::{Checker, SemanticDiagnostic, library, ops};
use crate::diagnostic::Code;
use crate::hir::{
    AtConstant, BinaryOp, Clause, CompoundOp, Expr, ExprId, Ident, Literal, NodeId, PrefixOp,
};
use crate::signatures::{FnSig, GlobalSig, MemberSig};
use crate::ty::{Ty, unify};

/// Where a value lives, which decides whether it can be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A computed value.
    Value,
    /// A local variable or parameter.
    Local { readonly: bool, name: String },
    /// A document or record field (reactive storage).
    Field { readonly: bool, name: String },
    /// A field of a message value, writable when the message is.
    MessageField { writable: bool, name: String },
    /// An entry of a map, an element reached through an index, or a list projection.
    Element,
}

/// The type of an expression and where its value lives.
#[derive(Debug, Clone)]
pub struct Value {
    pub ty: Ty,
    pub place: Place,
    /// Whether a `let` of this value may be written (language section 3.9).
    pub mutable_source: bool,
}

impl Value {
    pub fn of(ty: Ty) -> Value {
        Value {
            ty,
            place: Place::Value,
            mutable_source: false,
        }
    }

    fn error() -> Value {
        Value::of(Ty::Error)
    }
}

impl Checker<'_> {
    /// Types an expression.
    pub(super) fn expr(&mut self, id: ExprId) -> Value {
        let value = self.expr_value(id);
        if let Some(slot) = self.expr_types.get_mut(id.0 as usize) {
            *slot = value.ty.clone();
        }
        value
    }

    /// Types an expression (without recording it; see [`Checker::expr`]).
    fn expr_value(&mut self, id: ExprId) -> Value {
        let node = self.body.expr(id).node;
        let expr = self.body.expr(id).expr.clone();
        match expr {
            Expr::Missing => Value::error(),
            Expr::Literal(literal) => {
                if let Literal::Label(label) = &literal
                    && !label.is_empty()
                    && !self.signatures.states.contains(label)
                {
                    let mut diagnostic = SemanticDiagnostic::new(
                        node,
                        Code::UnknownState,
                        format!("no state named '#{label}'"),
                    )
                    .with_help(format!(
                        "declare the state with `#{label} {{ … }}`, or use `#` for no state"
                    ));
                    if let Some(state) = self.suggest_state(label) {
                        diagnostic = diagnostic.with_suggestion(node, &format!("#{state}"));
                    }
                    self.report(diagnostic.with_declaration(
                        format!("Create state #{label}"),
                        format!("\n#{label} {{\n}}\n"),
                    ));
                } else if let Literal::Label(label) = &literal
                    && !label.is_empty()
                {
                    self.note(node, Definition::State(label.clone()));
                }
                Value::of(literal_type(&literal))
            }
            Expr::Name(ident) => self.name(&ident),
            Expr::EnumValue {
                enumeration,
                label,
                prefix,
            } => self.enum_value(&enumeration, label.as_ref(), prefix),
            Expr::Member { object, member } => {
                let object_value = self.expr(object);
                self.member(&object_value, &member)
            }
            Expr::Index { object, index } => self.index(object, index, node),
            Expr::Call {
                function,
                arguments,
            } => self.call(function, &arguments, node),
            Expr::Binary { op, left, right } => self.binary(op, left, right, node),
            Expr::Prefix { op, operand } => self.prefix(op, operand, node),
            Expr::Postfix { operand, .. } => {
                let value = self.target(operand);
                self.increment(&value, node)
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                let condition_ty = self.expr(condition).ty;
                let condition_node = self.body.expr(condition).node;
                self.expect_bool(condition_node, &condition_ty, true);
                let then_value = self.expr(then);
                let otherwise_value = self.expr(otherwise);
                let ty = self.unify_or_report(&then_value.ty, &otherwise_value.ty, node);
                let assignable =
                    then_value.place != Place::Value && otherwise_value.place != Place::Value;
                Value {
                    ty,
                    place: if assignable {
                        Place::Element
                    } else {
                        Place::Value
                    },
                    mutable_source: false,
                }
            }
            Expr::Contains { key, map, .. } => {
                let key_ty = self.expr(key).ty;
                let map_ty = self.expr(map).ty;
                match &map_ty {
                    Ty::Map(domain, _) => {
                        self.expect_storable(self.body.expr(key).node, domain, &key_ty, false)
                    }
                    Ty::Error => {}
                    other => self.error(
                        node,
                        Code::NotIterable,
                        format!("expected a map, found '{other}'"),
                    ),
                }
                Value::of(Ty::Bool)
            }
            Expr::Compound { op, target, value } => self.compound(op, target, value, node),
            Expr::Tuple(elements) => Value::of(Ty::Tuple(
                elements
                    .iter()
                    .map(|element| self.expr(*element).ty)
                    .collect(),
            )),
            Expr::Array(elements) => {
                let mut element_ty: Option<Ty> = None;
                for element in elements {
                    let ty = self.expr(element).ty;
                    element_ty = Some(match element_ty {
                        None => ty,
                        Some(previous) => {
                            self.unify_or_report(&previous, &ty, self.body.expr(element).node)
                        }
                    });
                }
                Value::of(Ty::array(element_ty.unwrap_or(Ty::Error)))
            }
            Expr::Object(fields) => {
                let mut typed = Vec::new();
                for field in fields {
                    let ty = match field.value {
                        Some(value) => self.expr(value).ty,
                        None => self.name(&field.name).ty,
                    };
                    typed.push((field.name.name.clone(), ty));
                }
                Value::of(Ty::Anonymous(Arc::new(typed)))
            }
            Expr::At(constant) => Value::of(self.at_constant(constant, node)),
            Expr::DateTime(_) => Value::of(Ty::DateTime),
            Expr::Date { .. } => Value::of(Ty::Date),
            Expr::Time { .. } => Value::of(Ty::Time),
            Expr::TimeSpan {
                unit, unit_name, ..
            } => {
                if unit.is_none() && !unit_name.name.is_empty() {
                    self.error(
                        unit_name.node,
                        Code::UnknownReference,
                        format!("'{}' is not a unit of time", unit_name.name),
                    );
                }
                Value::of(Ty::TimeSpan)
            }
            Expr::EmptyList(type_ref) => Value::of(Ty::list(self.resolve_type(&type_ref))),
            Expr::EmptyMaybe(type_ref) => Value::of(Ty::maybe(self.resolve_type(&type_ref))),
            Expr::MaybeOf(value) => Value::of(Ty::maybe(self.expr(value).ty)),
            Expr::Pair { key, value } => {
                let key_ty = self.expr(key).ty;
                let value_ty = self.expr(value).ty;
                Value::of(Ty::Pair(Box::new(key_ty), Box::new(value_ty)))
            }
            Expr::Lambda { .. } => {
                self.error_with_help(
                    node,
                    Code::StructureRule,
                    "@lambda is only accepted where a one-argument function is expected",
                    "use it as the function of `map` or `reduce … via`",
                );
                Value::error()
            }
            Expr::Convert { target, value } => self.convert(&target, value),
            Expr::Iterate(source) => {
                let source_ty = self.expr(source).ty;
                match source_ty {
                    Ty::Table(element) => Value::of(Ty::List(element)),
                    Ty::Error => Value::error(),
                    other => {
                        self.error(
                            self.body.expr(source).node,
                            Code::NotATable,
                            format!("expected a table, found '{other}'"),
                        );
                        Value::error()
                    }
                }
            }
            Expr::Query { source, clause } => self.query(source, &clause, node),
            Expr::Paren(inner) => self.expr(inner),
        }
    }

    fn unify_or_report(&mut self, a: &Ty, b: &Ty, node: NodeId) -> Ty {
        if let Some(ty) = unify(a, b, self.signatures) {
            return ty;
        }
        let message = match (a, b) {
            (Ty::Message(x), Ty::Message(y)) => {
                format!("The message types `{x}` and `{y}` can not be joined.")
            }
            (Ty::Enum(x), Ty::Enum(y)) => {
                format!("the enumerations '{x}' and '{y}' are different types")
            }
            _ => format!("the types '{a}' and '{b}' have no common type"),
        };
        self.error(node, Code::Unification, message);
        Ty::Error
    }

    /// Resolves a bare name.
    pub(super) fn name(&mut self, ident: &Ident) -> Value {
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
        if self.context.kind == super::CodeKind::Filter
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
    fn closest_name(&self, name: &str) -> Option<String> {
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
    fn struct_member_in_scope(&mut self, name: &str) -> Option<Value> {
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

    fn enum_value(&mut self, enumeration: &Ident, label: Option<&Ident>, prefix: bool) -> Value {
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
    fn member(&mut self, object: &Value, member: &Ident) -> Value {
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

    fn lacks(&mut self, ty: &Ty, member: &Ident) -> Value {
        self.error_suggesting(
            member.node,
            Code::UnknownMember,
            format!("Type '{ty}' lacks field '{}'", member.name),
            self.suggest_field(ty, &member.name),
        );
        Value::error()
    }

    fn struct_field(&mut self, object: &Value, member: &Ident) -> Value {
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

    /// Types the left side of `=`, `<-`, a compound assignment or `++`/`--`. There an entry of a
    /// map creates-or-gets the entry and yields the value itself, also inside a chain such as
    /// `m[k].f = v;` (language section 3.4).
    pub(super) fn target(&mut self, id: ExprId) -> Value {
        let node = self.body.expr(id).node;
        let value = match self.body.expr(id).expr.clone() {
            Expr::Index { object, index } => {
                let object_value = self.target(object);
                match &object_value.ty {
                    Ty::Map(key, value_ty) => {
                        let index_ty = self.expr(index).ty;
                        let index_node = self.body.expr(index).node;
                        self.expect_storable(index_node, key, index_ty.unwrap_maybe(), false);
                        Value {
                            ty: (**value_ty).clone(),
                            place: Place::Element,
                            mutable_source: false,
                        }
                    }
                    _ => self.index_of(&object_value, index, node),
                }
            }
            Expr::Member { object, member } => {
                let object_value = self.target(object);
                self.member(&object_value, &member)
            }
            Expr::Paren(inner) => self.target(inner),
            _ => return self.expr(id),
        };
        if let Some(slot) = self.expr_types.get_mut(id.0 as usize) {
            *slot = value.ty.clone();
        }
        value
    }

    fn index(&mut self, object: ExprId, index: ExprId, node: NodeId) -> Value {
        let object_value = self.expr(object);
        self.index_of(&object_value, index, node)
    }

    fn index_of(&mut self, object_value: &Value, index: ExprId, node: NodeId) -> Value {
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

    fn call(&mut self, function: ExprId, arguments: &[ExprId], node: NodeId) -> Value {
        let argument_types: Vec<Ty> = arguments
            .iter()
            .map(|argument| self.expr(*argument).ty)
            .collect();
        let function_expr = self.body.expr(function).expr.clone();
        if let Expr::Member { object, member } = &function_expr {
            let object_value = self.expr(*object);
            let value = self.method_call(&object_value, member, &argument_types, node);
            self.note_argument_literals(member, Some(&object_value.ty), arguments, &argument_types);
            return value;
        }
        if let Expr::Name(name) = &function_expr
            && self.lookup_local(&name.name).is_none()
            && let Some(overloads) = self.own_methods(&name.name)
        {
            let owner = match (&self.context.record, &self.context.message) {
                (Some(record), _) => Owner::Record(record.to_string()),
                (None, Some(message)) => Owner::Message(message.to_string()),
                (None, None) => Owner::Document,
            };
            self.note_method(name, owner, &overloads, &argument_types);
            let value = self.pick_overload(&overloads, &argument_types, node);
            self.note_argument_literals(name, None, arguments, &argument_types);
            return value;
        }
        let callee = self.expr(function);
        match &callee.ty {
            Ty::Error => Value::error(),
            Ty::Function(name) => {
                let overloads: Vec<FnSig> = self
                    .signatures
                    .functions
                    .get(&**name)
                    .into_iter()
                    .chain(self.signatures.procedures.get(&**name))
                    .flatten()
                    .cloned()
                    .collect();
                if let Some(index) = self.overload_index(&overloads, &argument_types) {
                    self.note_function(function, name, index);
                }
                let value = self.pick_overload(&overloads, &argument_types, node);
                if let Expr::Name(callee) = &function_expr {
                    self.note_argument_literals(callee, None, arguments, &argument_types);
                }
                value
            }
            _ => {
                self.error(node, Code::NotCallable, "Expression is not a function");
                Value::error()
            }
        }
    }

    /// Anonymous message literals passed to the parameters of the callee named `callee` (as
    /// the checker resolved it): their field names are the fields of the parameter types.
    fn note_argument_literals(
        &mut self,
        callee: &Ident,
        receiver: Option<&Ty>,
        arguments: &[ExprId],
        argument_types: &[Ty],
    ) {
        let literal = |ty: &Ty| match ty {
            Ty::Array(element) | Ty::List(element) => matches!(**element, Ty::Anonymous(_)),
            other => matches!(other, Ty::Anonymous(_)),
        };
        if !argument_types.iter().any(literal) {
            return;
        }
        let resolved = self
            .names
            .iter()
            .rev()
            .find(|resolved| resolved.node == callee.node)
            .map(|resolved| resolved.definition.clone());
        let params: Vec<Ty> = match (resolved, receiver) {
            (
                Some(Definition::Function {
                    name,
                    procedure,
                    overload,
                }),
                _,
            ) => {
                let table = if procedure {
                    &self.signatures.procedures
                } else {
                    &self.signatures.functions
                };
                table
                    .get(&name)
                    .and_then(|overloads| overloads.get(overload as usize))
                    .map(|sig| sig.params.iter().map(|param| param.ty.clone()).collect())
                    .unwrap_or_default()
            }
            (
                Some(Definition::Method {
                    owner,
                    name,
                    overload,
                }),
                _,
            ) => {
                let sig = match owner {
                    Owner::Record(record) => self.signatures.records.get(&record),
                    Owner::Message(message) => self.signatures.messages.get(&message),
                    Owner::Document => None,
                };
                sig.and_then(|sig| sig.methods.get(&name))
                    .and_then(|overloads| overloads.get(overload as usize))
                    .map(|sig| sig.params.iter().map(|param| param.ty.clone()).collect())
                    .unwrap_or_default()
            }
            (Some(Definition::ServiceMethod { service, name }), _) => self
                .signatures
                .services
                .get(&service)
                .and_then(|methods| methods.get(&name))
                .map(|method| {
                    vec![
                        Ty::Error,
                        self.signatures.resolve_struct_name(&method.input),
                    ]
                })
                .unwrap_or_default(),
            (_, Some(Ty::Handler(message))) if callee.name == "enqueue" => {
                vec![Ty::Error, self.signatures.resolve_struct_name(message)]
            }
            _ => Vec::new(),
        };
        for ((argument, ty), param) in arguments.iter().zip(argument_types).zip(params) {
            if literal(ty) {
                self.note_literal(*argument, &param);
            }
        }
    }

    /// The methods named `name` of the record or message whose code this is.
    fn own_methods(&self, name: &str) -> Option<Vec<FnSig>> {
        let owner = match (&self.context.record, &self.context.message) {
            (Some(record), _) => self.signatures.records.get(&**record),
            (None, Some(message)) => self.signatures.messages.get(&**message),
            (None, None) => None,
        }?;
        owner.methods.get(name).cloned()
    }

    /// The overload [`Checker::pick_overload`] takes: the first whose parameters accept the
    /// arguments, else the first with as many parameters.
    fn overload_index(&self, overloads: &[FnSig], arguments: &[Ty]) -> Option<usize> {
        let fits = |sig: &FnSig| {
            sig.params.len() == arguments.len()
                && sig.params.iter().zip(arguments).all(|(param, argument)| {
                    crate::ty::can_store(&param.ty, argument, false, self.signatures)
                })
        };
        overloads.iter().position(fits).or_else(|| {
            overloads
                .iter()
                .position(|sig| sig.params.len() == arguments.len())
        })
    }

    /// Notes the method overload a call by `name` takes.
    fn note_method(&mut self, name: &Ident, owner: Owner, overloads: &[FnSig], arguments: &[Ty]) {
        if let Some(index) = self.overload_index(overloads, arguments) {
            self.note(
                name.node,
                Definition::Method {
                    owner,
                    name: name.name.clone(),
                    overload: u32::try_from(index).unwrap_or(u32::MAX),
                },
            );
        }
    }

    /// Notes the overload of a top-level function or procedure that the name in `function` (an
    /// expression naming it) takes; `index` counts functions first, then procedures.
    fn note_function(&mut self, function: ExprId, name: &str, index: usize) {
        let mut function = function;
        while let Expr::Paren(inner) = self.body.expr(function).expr {
            function = inner;
        }
        let Expr::Name(ident) = &self.body.expr(function).expr else {
            return;
        };
        let node = ident.node;
        let functions = self.signatures.functions.get(name).map_or(0, Vec::len);
        let (procedure, overload) = if index < functions {
            (false, index)
        } else {
            (true, index - functions)
        };
        self.note(
            node,
            Definition::Function {
                name: name.to_owned(),
                procedure,
                overload: u32::try_from(overload).unwrap_or(u32::MAX),
            },
        );
    }

    fn pick_overload(&mut self, overloads: &[FnSig], arguments: &[Ty], node: NodeId) -> Value {
        if overloads.is_empty() {
            return Value::error();
        }
        let fits = |sig: &FnSig| {
            sig.params.len() == arguments.len()
                && sig.params.iter().zip(arguments).all(|(param, argument)| {
                    crate::ty::can_store(&param.ty, argument, false, self.signatures)
                })
        };
        if let Some(sig) = overloads.iter().find(|sig| fits(sig)).cloned() {
            self.call_capability(&sig, node);
            return Value {
                ty: sig.returns.clone(),
                place: Place::Value,
                mutable_source: true,
            };
        }
        if let Some(sig) = overloads
            .iter()
            .find(|sig| sig.params.len() == arguments.len())
        {
            let sig = sig.clone();
            for (param, argument) in sig.params.iter().zip(arguments) {
                self.expect_storable(node, &param.ty, argument, false);
            }
            self.call_capability(&sig, node);
            return Value {
                ty: sig.returns,
                place: Place::Value,
                mutable_source: true,
            };
        }
        let expected = overloads.first().map_or(0, |sig| sig.params.len());
        self.error(
            node,
            Code::BadCall,
            format!(
                "Function invoked with wrong number of arguments. Expected {expected}, got {}",
                arguments.len()
            ),
        );
        Value::error()
    }

    /// Whether the current code may call code with this signature (language section 7.8).
    fn call_capability(&mut self, sig: &FnSig, node: NodeId) {
        use super::CodeKind::*;
        use crate::signatures::FnKind;
        let pure_callee = sig.kind == FnKind::Function;
        let readonly_callee = pure_callee || sig.readonly;
        let message = match self.context.kind {
            Function if !pure_callee => Some("Pure functions can only call other pure functions"),
            Formula | Bubble | Policy | Filter if !readonly_callee => {
                Some("Reactive expressions can only invoke pure functions")
            }
            Procedure { readonly: true, .. } | Method { readonly: true, .. }
                if !readonly_callee =>
            {
                Some("Read only methods can only call other read-only methods or pure functions")
            }
            _ => None,
        };
        if let Some(message) = message {
            self.error(node, Code::CallCapability, message);
            return;
        }
        let can_call_aborts = matches!(
            self.context.kind,
            Handler
                | Procedure { aborts: true, .. }
                | Method { aborts: true, .. }
                | MessageCode { aborts: true }
                | WebWrite
                | WebRead
                | Test
        );
        if sig.aborts && !can_call_aborts {
            self.error(node, Code::AbortableCall, "Abortable functions can only be called from another abortable function or within a message handler");
            return;
        }
        if sig.viewer && !self.context.has_viewer() {
            self.error(
                node,
                Code::CallCapability,
                "Functions with viewer can only be used from viewer states",
            );
        }
    }

    /// A service call takes the caller's principal and the method's input message; a `secured`
    /// method requires a proven `secure<principal>` (language section 3.6).
    fn service_arguments(
        &mut self,
        method: &crate::signatures::ServiceMethodSig,
        arguments: &[Ty],
        node: NodeId,
    ) {
        let [who, input] = arguments else {
            self.error(
                node,
                Code::BadCall,
                format!(
                    "Function invoked with wrong number of arguments. Expected 2, got {}",
                    arguments.len()
                ),
            );
            return;
        };
        let who_ty = if method.secured {
            Ty::SecurePrincipal
        } else {
            Ty::Principal
        };
        if method.secured && *who == Ty::Principal {
            self.error_with_help(
                node,
                Code::TypeMismatch,
                "expected 'secure<principal>', found 'principal'",
                "a secured service method must be called with @who",
            );
        } else {
            self.expect_storable(node, &who_ty, who, false);
        }
        let input_ty = self.signatures.resolve_struct_name(&method.input);
        self.expect_storable(node, &input_ty, input, false);
    }

    /// `c.enqueue(who, msg)`: a principal and the handler's message (an array of them for an
    /// array handler).
    fn enqueue_arguments(&mut self, message: &str, arguments: &[Ty], node: NodeId) {
        let [who, value] = arguments else {
            self.error_with_help(
                node,
                Code::BadCall,
                format!(
                    "Function invoked with wrong number of arguments. Expected 2, got {}",
                    arguments.len()
                ),
                "enqueue takes the sender and the message: `c.enqueue(who, msg)`",
            );
            return;
        };
        self.expect_storable(node, &Ty::Principal, who, false);
        let message_ty = self.signatures.resolve_struct_name(message);
        let expected = match value {
            Ty::Array(_) => Ty::array(message_ty),
            _ => message_ty,
        };
        self.expect_storable(node, &expected, value, false);
    }

    /// Whether the current code may call a service.
    fn service_capability(&mut self, node: NodeId) {
        use super::CodeKind::*;
        let message = match self.context.kind {
            Handler | State | Formula | WebRead | WebWrite => None,
            Procedure {
                readonly: false, ..
            }
            | Method {
                readonly: false, ..
            } => None,
            Function
            | Procedure { readonly: true, .. }
            | Method { readonly: true, .. }
            | Authorization
            | Filter
            | Policy
            | MessageCode { .. } => {
                Some("Services can not be invoked in read-only or pure functional context")
            }
            _ => Some("Remote invocation not available in this scope"),
        };
        if let Some(message) = message {
            self.error(node, Code::CallCapability, message);
        }
    }

    fn method_call(
        &mut self,
        object: &Value,
        member: &Ident,
        arguments: &[Ty],
        node: NodeId,
    ) -> Value {
        let name = member.name.as_str();
        match &object.ty {
            Ty::Error => Value::error(),
            Ty::Global(namespace) => {
                let document_bound = library::is_document_bound(namespace, name);
                let without_document = matches!(
                    self.context.kind,
                    super::CodeKind::Static | super::CodeKind::MessageCode { .. }
                );
                let call = library::namespace_call(namespace, name, arguments, self.signatures);
                if let Some(call) = call
                    && !(document_bound && without_document)
                {
                    self.note(
                        member.node,
                        Definition::Library(format!("{namespace}.{name}")),
                    );
                    self.library_result(call, &format!("{namespace}.{name}"), node)
                } else {
                    self.error_suggesting(
                        member.node,
                        Code::UnknownMethod,
                        format!("Global '{namespace}' lacks '{name}'"),
                        self.suggest_method(&object.ty, name),
                    );
                    Value::error()
                }
            }
            Ty::Record(_) | Ty::Message(_) => {
                if let Some(overloads) = self
                    .signatures
                    .struct_of(&object.ty)
                    .and_then(|sig| sig.methods.get(name))
                    .cloned()
                {
                    if let Some(owner) = owner_of(&object.ty) {
                        self.note_method(member, owner, &overloads, arguments);
                    }
                    return self.pick_overload(&overloads, arguments, node);
                }
                match (name, &object.ty) {
                    ("delete", Ty::Record(_)) => {
                        self.expect_document_change(member);
                        Value::of(Ty::Void)
                    }
                    ("to_dynamic", Ty::Message(_)) => Value::of(Ty::Dynamic),
                    ("ingest_dynamic" | "reset", Ty::Message(_)) => Value::of(Ty::Void),
                    _ => {
                        self.error_suggesting(
                            member.node,
                            Code::UnknownMethod,
                            format!("Type '{}' lacks method '{name}'", object.ty),
                            self.suggest_method(&object.ty, name),
                        );
                        Value::error()
                    }
                }
            }
            Ty::List(element) | Ty::Array(element)
                if matches!(**element, Ty::Record(_) | Ty::Message(_)) =>
            {
                if let Some(overloads) = self
                    .signatures
                    .struct_of(element)
                    .and_then(|sig| sig.methods.get(name))
                    .cloned()
                {
                    if let Some(owner) = owner_of(element) {
                        self.note_method(member, owner, &overloads, arguments);
                    }
                    let result = self.pick_overload(&overloads, arguments, node);
                    return Value::of(if result.ty == Ty::Void {
                        Ty::Void
                    } else {
                        Ty::list(result.ty)
                    });
                }
                if name == "delete" && matches!(**element, Ty::Record(_)) {
                    self.expect_document_change(member);
                    return Value::of(Ty::Void);
                }
                self.builtin_method(&object.ty, member, arguments)
            }
            Ty::Maybe(_) if name == "delete" => {
                self.expect_writable(object, node);
                Value::of(Ty::Void)
            }
            Ty::Map(_, _) if matches!(name, "clear" | "remove" | "insert") => {
                self.expect_writable(object, node);
                let result = self.builtin_method(&object.ty, member, arguments);
                if name == "insert" {
                    // `insert` returns its receiver, so calls chain on the same map.
                    return Value {
                        place: object.place.clone(),
                        mutable_source: object.mutable_source,
                        ..result
                    };
                }
                result
            }
            // Asking a principal for a message waits for input: not in read-only code.
            Ty::Channel(_) if matches!(name, "fetch" | "fetchTimed" | "decide" | "choose") => {
                self.expect_document_change(member);
                self.builtin_method(&object.ty, member, arguments)
            }
            Ty::Handler(message) if name == "enqueue" => {
                self.expect_document_change(member);
                self.enqueue_arguments(message, arguments, node);
                self.builtin_method(&object.ty, member, arguments)
            }
            Ty::Enum(enumeration) => {
                let key = (enumeration.to_string(), name.to_owned());
                if let Some(overloads) = self.signatures.dispatchers.get(&key).cloned() {
                    self.note(
                        member.node,
                        Definition::Dispatcher {
                            enumeration: enumeration.to_string(),
                            name: name.to_owned(),
                        },
                    );
                    return self.pick_overload(&overloads, arguments, node);
                }
                self.builtin_method(&object.ty, member, arguments)
            }
            Ty::Service(service) => {
                let method = self
                    .signatures
                    .services
                    .get(&**service)
                    .and_then(|methods| methods.get(name))
                    .cloned();
                match method {
                    Some(method) => {
                        self.note(
                            member.node,
                            Definition::ServiceMethod {
                                service: service.to_string(),
                                name: name.to_owned(),
                            },
                        );
                        self.service_capability(node);
                        self.service_arguments(&method, arguments, node);
                        Value::of(Ty::ServiceResult(Box::new(method.output)))
                    }
                    None => {
                        self.error_suggesting(
                            member.node,
                            Code::UnknownMethod,
                            format!("Service '{service}' lacks method '{name}'"),
                            self.suggest_method(&object.ty, name),
                        );
                        Value::error()
                    }
                }
            }
            Ty::Table(element) if matches!(name, "delete" | "to_csv") => {
                if name == "delete" && matches!(**element, Ty::Message(_)) {
                    self.expect_writable(object, node);
                }
                self.table_method(element, member, arguments)
            }
            Ty::Holder(message) if name == "write" => Value {
                ty: Ty::Message(message.clone()),
                place: Place::Element,
                mutable_source: true,
            },
            _ => self.builtin_method(&object.ty, member, arguments),
        }
    }

    /// `delete()` and `to_csv()` exist only on local tables of messages, `to_csv()` only when the
    /// message declares `@csv` (language section 3.4).
    fn table_method(&mut self, element: &Ty, member: &Ident, arguments: &[Ty]) -> Value {
        let table = Ty::Table(Box::new(element.clone()));
        match element {
            Ty::Record(_) => {
                let help = if member.name == "delete" {
                    "delete the rows instead: `(iterate t).delete();`"
                } else {
                    "only local tables of messages have this method"
                };
                self.error_with_help(
                    member.node,
                    Code::UnknownMethod,
                    format!("Type '{table}' lacks method '{}'", member.name),
                    help,
                );
                Value::error()
            }
            Ty::Message(message) if member.name == "to_csv" => {
                let csv = self
                    .signatures
                    .messages
                    .get(&**message)
                    .is_some_and(|sig| sig.csv);
                if !csv {
                    self.error_with_help(
                        member.node,
                        Code::UnknownMember,
                        format!("to_csv function is only available on a table when {message} has @csv enabled"),
                        format!("add `@csv;` to the message {message}"),
                    );
                }
                Value::of(Ty::String)
            }
            _ => self.builtin_method(&table, member, arguments),
        }
    }

    /// Built-in methods that change the document (`delete` of rows, `enqueue`) are not available
    /// in read-only or pure code (language section 7.8).
    fn expect_document_change(&mut self, member: &Ident) {
        if self.context_is_readonly() {
            self.error_with_help(
                member.node,
                Code::ReadonlyCode,
                format!("'{}' changes the document, which read-only code can not do", member.name),
                "move this call into a message handler, procedure or other code that may change the document",
            );
        }
    }

    fn builtin_method(&mut self, receiver: &Ty, member: &Ident, arguments: &[Ty]) -> Value {
        match library::method(receiver, &member.name, arguments, self.signatures) {
            Some(call) => self.library_result(call, &member.name, member.node),
            None => {
                self.error_suggesting(
                    member.node,
                    Code::UnknownMethod,
                    format!("Type '{receiver}' lacks method '{}'", member.name),
                    self.suggest_method(receiver, &member.name),
                );
                Value::error()
            }
        }
    }

    /// The value of a library call, or its diagnostic when the arguments do not fit.
    fn library_result(&mut self, call: library::Call, function: &str, node: NodeId) -> Value {
        match call {
            Ok(ty) => Value::of(ty),
            Err(error) => {
                let code = if error.is_arity() {
                    Code::BadCall
                } else {
                    Code::LibraryArguments
                };
                self.error_with_help(node, code, error.message(function), error.help(function));
                Value::error()
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, left: ExprId, right: ExprId, node: NodeId) -> Value {
        let left_ty = self.expr(left).ty;
        let right_ty = self.expr(right).ty;
        let is_range = matches!(op, BinaryOp::Lt | BinaryOp::Le)
            && matches!(
                &self.body.expr(left).expr,
                Expr::Binary {
                    op: BinaryOp::Lt | BinaryOp::Le,
                    ..
                }
            );
        if is_range {
            return Value::of(Ty::Bool);
        }
        match ops::binary(op, &left_ty, &right_ty) {
            Some(ty) => Value::of(ty),
            None => {
                self.error(
                    node,
                    Code::OperatorUndefined,
                    format!(
                        "Could not find a meaning for '{left_ty}' {} '{right_ty}'",
                        op.symbol()
                    ),
                );
                Value::of(
                    if matches!(
                        op,
                        BinaryOp::Add
                            | BinaryOp::Sub
                            | BinaryOp::Mul
                            | BinaryOp::Div
                            | BinaryOp::Mod
                    ) {
                        Ty::Error
                    } else {
                        Ty::Bool
                    },
                )
            }
        }
    }

    fn prefix(&mut self, op: PrefixOp, operand: ExprId, node: NodeId) -> Value {
        let value = if matches!(op, PrefixOp::Increment | PrefixOp::Decrement) {
            self.target(operand)
        } else {
            self.expr(operand)
        };
        match op {
            PrefixOp::Increment | PrefixOp::Decrement => self.increment(&value, node),
            PrefixOp::Negate => match &value.ty {
                Ty::Int | Ty::Long | Ty::Double | Ty::Error => Value::of(value.ty.clone()),
                Ty::List(element) if element.is_numeric() => Value::of(value.ty.clone()),
                other => {
                    self.error(
                        node,
                        Code::OperatorUndefined,
                        format!("Could not find a meaning for '-' '{other}'"),
                    );
                    Value::error()
                }
            },
            PrefixOp::Not => match &value.ty {
                Ty::Bool | Ty::Error => Value::of(Ty::Bool),
                Ty::List(element) if **element == Ty::Bool => Value::of(value.ty.clone()),
                other => {
                    self.error(
                        node,
                        Code::OperatorUndefined,
                        format!("Could not find a meaning for '!' '{other}'"),
                    );
                    Value::of(Ty::Bool)
                }
            },
        }
    }

    fn increment(&mut self, value: &Value, node: NodeId) -> Value {
        match &value.ty {
            Ty::Int | Ty::Long | Ty::Double | Ty::Error => {
                self.expect_writable(value, node);
                Value::of(value.ty.clone())
            }
            Ty::List(element) if element.is_numeric() => Value::of(value.ty.clone()),
            other => {
                self.error(
                    node,
                    Code::OperatorUndefined,
                    format!("Could not find a meaning for '++' on '{other}'"),
                );
                Value::error()
            }
        }
    }

    fn compound(&mut self, op: CompoundOp, target: ExprId, value: ExprId, node: NodeId) -> Value {
        let target_value = self.target(target);
        let value_ty = self.expr(value).ty;
        if matches!(target_value.ty, Ty::Table(_)) {
            self.error(
                node,
                Code::NotAssignable,
                format!(
                    "The type '{}' is not applicable for assignment ({})",
                    target_value.ty,
                    op.symbol()
                ),
            );
            return Value::error();
        }
        self.expect_writable(&target_value, self.body.expr(target).node);
        match ops::compound(op, &target_value.ty, &value_ty) {
            Some(ty) => Value::of(ty),
            None => {
                self.error(
                    node,
                    Code::OperatorUndefined,
                    format!(
                        "Could not find a meaning for '{}' {} '{value_ty}'",
                        target_value.ty,
                        op.symbol()
                    ),
                );
                Value::error()
            }
        }
    }

    /// Reports a write to something that cannot be written.
    pub(super) fn expect_writable(&mut self, value: &Value, node: NodeId) {
        match &value.place {
            Place::Local {
                readonly: true,
                name,
            } => {
                self.error(
                    node,
                    Code::NotAssignable,
                    format!("The variable '{name}' is readonly"),
                );
            }
            Place::Field {
                readonly: true,
                name,
            } => {
                if name == "id" {
                    self.error(
                        node,
                        Code::NotAssignable,
                        "'id' is a special readonly field",
                    );
                } else {
                    self.error(
                        node,
                        Code::NotAssignable,
                        format!("The field '{name}' is readonly"),
                    );
                }
            }
            Place::Field { .. } if self.context_is_readonly() => {
                self.error(
                    node,
                    Code::ReadonlyCode,
                    "The variable is readonly due to the environment",
                );
            }
            Place::MessageField {
                writable: false,
                name,
            } => {
                self.error(
                    node,
                    Code::NotAssignable,
                    format!("The field '{name}' is on a readonly message"),
                );
            }
            Place::Value if !value.ty.is_error() => {
                self.error(
                    node,
                    Code::NotAssignable,
                    "Expression expected to be computed, rather than assigned to",
                );
            }
            _ => {}
        }
    }

    fn context_is_readonly(&self) -> bool {
        use super::CodeKind::*;
        matches!(
            self.context.kind,
            Function
                | Formula
                | Bubble
                | Policy
                | Filter
                | CanAttach
                | WebRead
                | Authorization
                | ReadOnlyExpression
                | Traffic
                | Procedure { readonly: true, .. }
                | Method { readonly: true, .. }
        )
    }

    fn at_constant(&mut self, constant: AtConstant, node: NodeId) -> Ty {
        match constant {
            AtConstant::NoOne => Ty::Principal,
            AtConstant::Who => {
                if !self.context.has_who() {
                    self.error(node, Code::SpecialValueContext, "@who is only available from message handlers, events, policies, bubbles and web handlers");
                }
                Ty::SecurePrincipal
            }
            AtConstant::SelfRef => match (&self.context.record, &self.context.message) {
                (Some(record), _) => Ty::Record(record.clone()),
                (None, Some(message)) => Ty::Message(message.clone()),
                (None, None) => {
                    self.error(
                        node,
                        Code::SpecialValueContext,
                        "@self requires being inside a record",
                    );
                    Ty::Error
                }
            },
            AtConstant::Context => {
                if !self.context.has_context() {
                    self.error(node, Code::SpecialValueContext, "@context is only available within message handlers, events, static policies and web handlers");
                }
                Ty::Context
            }
            AtConstant::Headers => {
                if !self.context.is_web() {
                    self.error(
                        node,
                        Code::SpecialValueContext,
                        "@headers is only available in web paths",
                    );
                }
                Ty::Map(Box::new(Ty::String), Box::new(Ty::String))
            }
            AtConstant::Parameters => {
                if !self.context.is_web() {
                    self.error(
                        node,
                        Code::SpecialValueContext,
                        "@parameters is only available in web paths",
                    );
                }
                Ty::Dynamic
            }
            AtConstant::Viewer => {
                if !self.context.has_viewer() {
                    self.error(
                        node,
                        Code::SpecialValueContext,
                        "@viewer is only available in bubbles and viewer procedures",
                    );
                }
                Ty::Viewer
            }
            AtConstant::ImaginaryUnit => Ty::Complex,
            AtConstant::Null => Ty::Dynamic,
            AtConstant::Nothing => Ty::Asset,
            AtConstant::Stable | AtConstant::Blocked => Ty::Bool,
        }
    }

    fn convert(&mut self, target: &Ident, value: ExprId) -> Value {
        let source = self.expr(value).ty;
        let target_ty = self.signatures.resolve_struct_name(&target.name);
        if let Some(definition) = self.type_definition(&target.name) {
            self.note(target.node, definition);
        }
        if matches!(target_ty, Ty::Record(_)) {
            self.error_with_help(
                target.node,
                Code::UnknownType,
                format!(
                    "no message named '{}'",
                    target.name
                ),
                format!("'{}' is a record; @convert produces messages: declare a message with the fields to copy", target.name),
            );
            return Value::error();
        }
        if target_ty.is_error() {
            let mut diagnostic = SemanticDiagnostic::new(
                target.node,
                Code::UnknownType,
                format!("no message named '{}'", target.name),
            );
            if let Some(message) = self.suggest_message(&target.name) {
                diagnostic = diagnostic.with_suggestion(target.node, &message);
            }
            self.report(diagnostic.with_declaration(
                format!("Create message {}", target.name),
                format!("\nmessage {} {{\n}}\n", target.name),
            ));
            return Value::error();
        }
        let structured = |ty: &Ty| {
            matches!(
                ty,
                Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_) | Ty::Error
            )
        };
        let (result, element) = match (&target_ty, &source) {
            (_, Ty::Error) => (target_ty.clone(), None),
            (Ty::Enum(_), Ty::Int) => (target_ty.clone(), None),
            (Ty::Enum(enumeration), _) => {
                self.error_with_help(
                    self.body.expr(value).node,
                    Code::BadConversion,
                    format!("'{source}' can not be converted to the enumeration '{enumeration}'"),
                    "only an int converts to an enumeration (language section 3.10)",
                );
                (Ty::Error, None)
            }
            (_, Ty::List(element) | Ty::Array(element)) if structured(element) => {
                (Ty::array(target_ty.clone()), Some((**element).clone()))
            }
            (_, Ty::Maybe(element)) if structured(element) => {
                (Ty::maybe(target_ty.clone()), Some((**element).clone()))
            }
            (_, Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_)) => {
                (target_ty.clone(), Some(source.clone()))
            }
            _ => {
                self.error(
                    self.body.expr(value).node,
                    Code::BadConversion,
                    format!(
                        "'{source}' can not be converted: only list<S>, S[] and maybe<S> convert"
                    ),
                );
                (Ty::Error, None)
            }
        };
        if let Some(element) = element {
            self.link_fields(&target_ty, &element);
            // A literal converted in place names the target's fields.
            self.note_literal(value, &target_ty);
            self.convertible_fields(&target_ty, &element, self.body.expr(value).node);
        }
        Value::of(result)
    }

    /// Every field of the conversion's target must exist in the source with a storable type.
    fn convertible_fields(&mut self, target: &Ty, source: &Ty, node: NodeId) {
        let Some(target_sig) = self.signatures.struct_of(target).cloned() else {
            return;
        };
        let source_fields: Vec<(String, Ty)> = match source {
            Ty::Anonymous(fields) => (**fields).clone(),
            _ => match self.signatures.struct_of(source) {
                Some(sig) => sig
                    .members
                    .iter()
                    .filter_map(|(name, member)| match member {
                        MemberSig::Field { ty, .. } => Some((name.clone(), ty.clone())),
                        _ => None,
                    })
                    .collect(),
                None => return,
            },
        };
        for name in &target_sig.order {
            let Some((_, source_ty)) = source_fields.iter().find(|(field, _)| field == name) else {
                self.error(node, Code::BadConversion, format!("The type '{target}' contains field '{name}' which is not found within '{source}'."));
                return;
            };
            // Reactive-only storage reads as its native value.
            let source_ty = match source_ty {
                Ty::Text => &Ty::String,
                Ty::Holder(message) => &Ty::Message(message.clone()),
                other => other,
            };
            // Nested structures convert field by field too; only plain values are compared here.
            if let Some(MemberSig::Field { ty, .. }) = target_sig.members.get(name)
                && !holds_structure(ty)
                && !holds_structure(source_ty)
                && !crate::ty::can_store(ty, source_ty, false, self.signatures)
            {
                self.error_with_help(
                    node,
                    Code::BadConversion,
                    format!("expected '{ty}', found '{source_ty}'"),
                    format!("the field '{name}' of '{target}' can not hold the field '{name}' of '{source}'"),
                );
                return;
            }
        }
    }

    fn query(&mut self, source: ExprId, clause: &Clause, node: NodeId) -> Value {
        let source_value = self.expr(source);
        let element = match &source_value.ty {
            Ty::List(element) | Ty::Array(element) => (**element).clone(),
            Ty::Error => Ty::Error,
            other => {
                let message = if matches!(clause, Clause::Unique { .. }) {
                    format!("unique requires a list, found '{other}'")
                } else {
                    format!("expected a list, found '{other}'")
                };
                self.error(node, Code::NotIterable, message);
                Ty::Error
            }
        };
        let list = Ty::list(element.clone());
        match clause {
            Clause::Where(predicate) => {
                self.with_row_scope(&element, None, |checker| {
                    let ty = checker.expr(*predicate).ty;
                    checker.expect_bool(checker.body.expr(*predicate).node, &ty, true);
                });
                Value::of(list)
            }
            Clause::WhereAs { binding, predicate } => {
                self.with_row_scope(&element, Some(binding), |checker| {
                    let ty = checker.expr(*predicate).ty;
                    checker.expect_bool(checker.body.expr(*predicate).node, &ty, true);
                });
                Value::of(list)
            }
            Clause::Order(keys) => {
                for key in keys {
                    let ty = self.row_field(&element, &key.field);
                    if !orderable(&ty) {
                        self.error(
                            key.field.node,
                            Code::QueryRule,
                            format!("the field '{}' of '{element}' has type '{ty}', which can not be ordered", key.field.name),
                        );
                    }
                }
                Value::of(list)
            }
            Clause::Limit(count) | Clause::Offset(count) => {
                let ty = self.expr(*count).ty;
                self.expect_storable(self.body.expr(*count).node, &Ty::Int, &ty, false);
                Value::of(list)
            }
            Clause::OrderDyn(spec) => {
                if !matches!(element, Ty::Record(_) | Ty::Error) {
                    self.error(
                        node,
                        Code::QueryRule,
                        "order_dyn requires the list to contain reactive records",
                    );
                }
                let ty = self.expr(*spec).ty;
                self.expect_storable(self.body.expr(*spec).node, &Ty::String, &ty, false);
                Value::of(list)
            }
            Clause::Shuffle | Clause::Materialize => Value::of(list),
            Clause::Unique { key, .. } => {
                if let Some(key) = key {
                    self.row_field(&element, key);
                }
                Value::of(list)
            }
            Clause::Rank {
                binding,
                score,
                threshold,
            } => {
                self.with_row_scope(&element, Some(binding), |checker| {
                    let ty = checker.expr(*score).ty;
                    checker.expect_number(checker.body.expr(*score).node, &ty, "rank score");
                });
                if let Some(threshold) = threshold {
                    let ty = self.expr(*threshold).ty;
                    self.expect_number(self.body.expr(*threshold).node, &ty, "rank threshold");
                }
                Value::of(list)
            }
            Clause::Map(function) => {
                let result = self.apply_function(*function, &element);
                if result == Ty::Void {
                    self.error(
                        self.body.expr(*function).node,
                        Code::BadCall,
                        "The function given to map must return a value",
                    );
                    return Value::error();
                }
                Value::of(Ty::list(result))
            }
            Clause::Reduce { key, function } => {
                let key_ty = self.row_field(&element, key);
                if !key_ty.is_map_domain() {
                    self.error(
                        key.node,
                        Code::BadMapType,
                        format!("'{key_ty}' can not be a map key"),
                    );
                }
                let value_ty = match function {
                    Some(function) => self.apply_function(*function, &list),
                    None => list.clone(),
                };
                Value::of(Ty::Map(Box::new(key_ty), Box::new(value_ty)))
            }
            Clause::Traverse(assoc) => {
                match self.signatures.assocs.get(&assoc.name).cloned() {
                    Some((from, to)) => {
                        self.note(assoc.node, Definition::Assoc(assoc.name.clone()));
                        if let Ty::Record(name) | Ty::Message(name) = &element
                            && **name != *from
                        {
                            self.error(
                            assoc.node,
                            Code::QueryRule,
                            format!("The assoc '{}' starts from '{from}', but the list holds '{name}'", assoc.name),
                        );
                        }
                        Value::of(Ty::list(self.signatures.resolve_struct_name(&to)))
                    }
                    None => {
                        self.error(
                            assoc.node,
                            Code::UnknownReference,
                            format!("The assoc '{}' was not found", assoc.name),
                        );
                        Value::error()
                    }
                }
            }
        }
    }

    /// The type of field `name` of a query's element, reporting an unknown field.
    fn row_field(&mut self, element: &Ty, field: &Ident) -> Ty {
        if element.is_error() {
            return Ty::Error;
        }
        let Some(struct_sig) = self.signatures.struct_of(element) else {
            return Ty::Error;
        };
        let member = struct_sig.members.get(&field.name).cloned();
        if matches!(member, Some(MemberSig::Field { .. } | MemberSig::Formula))
            && let Some(owner) = owner_of(element)
        {
            self.note(
                field.node,
                Definition::Field {
                    owner,
                    name: field.name.clone(),
                },
            );
        }
        match member.as_ref() {
            Some(MemberSig::Field { ty, .. }) => ty.clone(),
            Some(MemberSig::Formula) => {
                let record = match element {
                    Ty::Record(name) => Some(name.clone()),
                    _ => None,
                };
                self.formulas.formula_type(record.as_deref(), &field.name)
            }
            _ => {
                self.error_suggesting(
                    field.node,
                    Code::UnknownMember,
                    format!("the key '{}' is not a field of '{element}'", field.name),
                    self.suggest_field(element, &field.name),
                );
                Ty::Error
            }
        }
    }

    /// Runs `check` with the fields of a query's element in scope as bare names (or with the
    /// element bound to `binding`).
    fn with_row_scope(
        &mut self,
        element: &Ty,
        binding: Option<&Ident>,
        check: impl FnOnce(&mut Self),
    ) {
        self.push_scope();
        if let Some(binding) = binding {
            let definition = self.local_definition(binding);
            self.note_declaration(binding.node, definition.clone());
            if let Some(scope) = self.scopes.last_mut() {
                scope.insert(
                    binding.name.clone(),
                    super::Local {
                        ty: element.clone(),
                        readonly: true,
                        definition,
                    },
                );
            }
        } else if let Some(struct_sig) = self.signatures.struct_of(element) {
            let record = match element {
                Ty::Record(name) => Some(name.clone()),
                _ => None,
            };
            let members: Vec<(String, MemberSig)> = struct_sig
                .members
                .iter()
                .map(|(name, member)| (name.clone(), member.clone()))
                .collect();
            for (name, member) in members {
                let ty = match member {
                    MemberSig::Field { ty, .. } => ty,
                    MemberSig::Formula => self.formulas.formula_type(record.as_deref(), &name),
                    MemberSig::Bubble => continue,
                };
                let definition = Definition::Field {
                    owner: owner_of(element).unwrap_or(Owner::Document),
                    name: name.clone(),
                };
                if let Some(scope) = self.scopes.last_mut() {
                    scope.insert(
                        name,
                        super::Local {
                            ty,
                            readonly: true,
                            definition,
                        },
                    );
                }
            }
        }
        check(self);
        self.pop_scope();
    }

    /// Applies a `map`/`reduce … via` function to an argument type and returns its result type.
    fn apply_function(&mut self, function: ExprId, argument: &Ty) -> Ty {
        let expr = self.body.expr(function).expr.clone();
        let function = match expr {
            Expr::Paren(inner) => inner,
            _ => function,
        };
        if let Expr::Lambda { parameter, body } = self.body.expr(function).expr.clone() {
            self.push_scope();
            let definition = self.local_definition(&parameter);
            self.note_declaration(parameter.node, definition.clone());
            if let Some(scope) = self.scopes.last_mut() {
                scope.insert(
                    parameter.name.clone(),
                    super::Local {
                        ty: argument.clone(),
                        readonly: true,
                        definition,
                    },
                );
            }
            let ty = self.expr(body).ty;
            self.pop_scope();
            return ty;
        }
        let node = self.body.expr(function).node;
        let callee = self.expr(function);
        let Ty::Function(name) = &callee.ty else {
            return Ty::Error;
        };
        let overloads: Vec<FnSig> = self
            .signatures
            .functions
            .get(&**name)
            .into_iter()
            .chain(self.signatures.procedures.get(&**name))
            .flatten()
            .cloned()
            .collect();
        if overloads.is_empty() {
            return Ty::Error;
        }
        let fits = overloads.iter().find(|sig| {
            sig.params.len() == 1
                && sig
                    .params
                    .iter()
                    .all(|param| crate::ty::can_store(&param.ty, argument, false, self.signatures))
        });
        if let Some(index) = overloads.iter().position(|sig| {
            sig.params.len() == 1
                && sig
                    .params
                    .iter()
                    .all(|param| crate::ty::can_store(&param.ty, argument, false, self.signatures))
        }) {
            self.note_function(function, name, index);
        }
        let Some(sig) = fits.cloned() else {
            self.error_with_help(
                node,
                Code::BadCall,
                format!("Function '{name}' can not be applied to one argument of type '{argument}'"),
                "the function of `map`/`reduce … via` takes exactly one parameter: the element (or group)",
            );
            return Ty::Error;
        };
        if sig.aborts {
            self.error(
                node,
                Code::AbortableCall,
                format!("Function '{name}' must not abort within a map function"),
            );
            return Ty::Error;
        }
        self.call_capability(&sig, node);
        sig.returns
    }

    /// An int, long or double (rank scores and thresholds).
    fn expect_number(&mut self, node: NodeId, ty: &Ty, what: &str) {
        if !matches!(ty, Ty::Int | Ty::Long | Ty::Double | Ty::Error) {
            self.error(
                node,
                Code::NotANumber,
                format!("the {what} must be an int, long or double, found '{ty}'"),
            );
        }
    }
}

fn literal_type(literal: &Literal) -> Ty {
    match literal {
        Literal::Int(_) => Ty::Int,
        Literal::Long(_) => Ty::Long,
        Literal::Double(_) => Ty::Double,
        Literal::String(_) => Ty::String,
        Literal::Bool(_) => Ty::Bool,
        Literal::Label(_) => Ty::Label,
    }
}

/// Whether a type is or contains a record or message.
pub(super) fn holds_structure(ty: &Ty) -> bool {
    match ty {
        Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_) | Ty::Holder(_) | Ty::Table(_) => true,
        Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) => holds_structure(inner),
        Ty::Map(key, value) | Ty::Pair(key, value) => {
            holds_structure(key) || holds_structure(value)
        }
        Ty::Tuple(items) => items.iter().any(holds_structure),
        _ => false,
    }
}

/// Whether a type certainly has no fields to read with `.name`: scalars, and maybes, lists and
/// arrays of scalars, maps and tables.
fn has_no_fields(ty: &Ty) -> bool {
    match ty {
        Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) => {
            is_scalar(inner) || matches!(**inner, Ty::Map(_, _) | Ty::Table(_))
        }
        Ty::Map(_, _) | Ty::Table(_) => true,
        other => is_scalar(other),
    }
}

fn is_scalar(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Int
            | Ty::Long
            | Ty::Double
            | Ty::Bool
            | Ty::String
            | Ty::Complex
            | Ty::Principal
            | Ty::SecurePrincipal
            | Ty::Date
            | Ty::DateTime
            | Ty::Time
            | Ty::TimeSpan
            | Ty::Label
            | Ty::Asset
            | Ty::Enum(_)
    )
}

/// Whether values of a type can be sorted by `order`.
fn orderable(ty: &Ty) -> bool {
    match ty {
        Ty::Maybe(inner) => orderable(inner),
        Ty::Int
        | Ty::Long
        | Ty::Double
        | Ty::Bool
        | Ty::String
        | Ty::Enum(_)
        | Ty::Principal
        | Ty::Date
        | Ty::Time
        | Ty::DateTime
        | Ty::TimeSpan
        | Ty::Label
        | Ty::Asset
        | Ty::Dynamic
        | Ty::Error => true,
        _ => false,
    }
}

/// The Levenshtein distance between two names.
fn edit_distance(a: &str, b: &str) -> usize {
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
pub(super) fn closest<'a>(
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
fn owner_of(ty: &Ty) -> Option<Owner> {
    match ty {
        Ty::Record(name) => Some(Owner::Record(name.to_string())),
        Ty::Message(name) | Ty::Holder(name) => Some(Owner::Message(name.to_string())),
        _ => None,
    }
}

/// What a document-level name declares, for the names code can read.
fn global_definition(name: &str, global: &GlobalSig) -> Option<Definition> {
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
