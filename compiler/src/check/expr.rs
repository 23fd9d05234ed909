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

mod calls;
mod convert;
mod names;
mod queries;

pub(super) use names::closest;
use names::owner_of;

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
                // A literal branch joined with a named message becomes that message: its field
                // names are the message's fields.
                if matches!(ty, Ty::Message(_)) {
                    for (branch, branch_ty) in
                        [(then, &then_value.ty), (otherwise, &otherwise_value.ty)]
                    {
                        if matches!(branch_ty, Ty::Anonymous(_)) {
                            self.note_literal(branch, &ty);
                        }
                    }
                }
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
        if matches!(
            value.place,
            Place::Local { readonly: true, .. }
                | Place::MessageField {
                    writable: false,
                    ..
                }
        ) && self.readonly_copy_written(node)
        {
            return;
        }
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
