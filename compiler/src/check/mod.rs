//! The checker: names, types and the rules of each context, for the code of one item.
//!
//! [`check_item`] walks one item's declarations and code with the document's [`Signatures`] and
//! returns diagnostics anchored to the item's nodes ([`SemanticDiagnostic`]); positions are
//! attached later from the item's source map, so a check result stays valid when text moves.
//! Document-wide rules (duplicates, ...) live in [`global`].
//!
//! Invariant: an expression whose type cannot be known has type [`Ty::Error`], which every rule
//! accepts, so one mistake yields one diagnostic.

mod context;
pub mod cycles;
mod expr;
pub mod global;
mod items;
pub mod library;
mod ops;
pub mod report;
mod stmt;
mod suggest;

use std::collections::HashMap;

pub use context::{CodeKind, Context};
pub use items::formula_type as items_formula_type;
pub use items::{CheckedItem, check_item};

use crate::diagnostic::Code;
use crate::hir::{Body, Ident, NodeId, TypeRef};
use crate::signatures::{Signatures, TypeError};
use crate::ty::Ty;

/// A diagnostic anchored to a node of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemanticDiagnostic {
    pub node: NodeId,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// Other places that explain the problem ("first defined here").
    pub related: Vec<report::SemanticLabel>,
    /// Changes that resolve it.
    pub fixes: Vec<report::SemanticFix>,
}

/// How the checker learns the type of a formula (top-level when `record` is `None`).
pub trait FormulaTypes {
    fn formula_type(&self, record: Option<&str>, name: &str) -> Ty;
}

/// A local variable.
#[derive(Debug, Clone)]
struct Local {
    ty: Ty,
    readonly: bool,
}

/// The checker of one body of code (or one declaration).
pub struct Checker<'a> {
    signatures: &'a Signatures,
    body: &'a Body,
    formulas: &'a dyn FormulaTypes,
    context: Context,
    scopes: Vec<HashMap<String, Local>>,
    diagnostics: Vec<SemanticDiagnostic>,
    /// The type of every expression of the body, by expression id, as last computed.
    expr_types: Vec<Ty>,
}

impl std::fmt::Debug for Checker<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Checker")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl<'a> Checker<'a> {
    fn new(
        signatures: &'a Signatures,
        body: &'a Body,
        formulas: &'a dyn FormulaTypes,
        context: Context,
    ) -> Checker<'a> {
        Checker {
            signatures,
            body,
            formulas,
            context,
            scopes: vec![HashMap::new()],
            diagnostics: Vec::new(),
            expr_types: vec![Ty::Error; body.exprs.len()],
        }
    }

    fn error(&mut self, node: NodeId, code: Code, message: impl Into<String>) {
        self.diagnostics
            .push(SemanticDiagnostic::new(node, code, message));
    }

    fn error_with_help(
        &mut self,
        node: NodeId,
        code: Code,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diagnostics
            .push(SemanticDiagnostic::new(node, code, message).with_help(help));
    }

    fn push_scope(&mut self) {
        self.scopes.push(HashMap::new());
    }

    fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// Declares a local; a name already visible in this code body is an error.
    fn declare(&mut self, name: &Ident, ty: Ty, readonly: bool) {
        if name.name.is_empty() {
            return;
        }
        if self.lookup_local(&name.name).is_some() {
            self.error(
                name.node,
                Code::Duplicate,
                format!("Variable '{}' was already defined", name.name),
            );
            return;
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.name.clone(), Local { ty, readonly });
        }
    }

    fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.scopes.iter().rev().find_map(|scope| scope.get(name))
    }

    /// Resolves a written type, reporting an unknown name.
    fn resolve_type(&mut self, type_ref: &TypeRef) -> Ty {
        match self.signatures.resolve(type_ref) {
            Ok(ty) => {
                self.map_shapes(&ty, type_ref.node());
                ty
            }
            Err(TypeError::Unknown(ident)) => {
                let mut diagnostic = SemanticDiagnostic::new(
                    ident.node,
                    Code::UnknownType,
                    format!("no type named '{}'", ident.name),
                );
                if let Some(suggestion) = self.suggest_type(&ident.name) {
                    diagnostic = diagnostic.with_suggestion(ident.node, &suggestion);
                }
                self.report(diagnostic.with_declaration(
                    format!("Create message {}", ident.name),
                    format!("\nmessage {} {{\n}}\n", ident.name),
                ));
                Ty::Error
            }
            Err(TypeError::Arity { name, node }) => {
                self.error(
                    node,
                    Code::UnknownType,
                    format!("the type '{}' has the wrong type arguments", name.keyword()),
                );
                Ty::Error
            }
        }
    }

    /// Every map inside a written type has a legal domain (int, long, string, enum, principal)
    /// and a range that is not a table (language section 3.1). Reports the first offence.
    fn map_shapes(&mut self, ty: &Ty, node: NodeId) {
        let mut pending: Vec<&Ty> = vec![ty];
        while let Some(ty) = pending.pop() {
            match ty {
                Ty::Map(domain, range) => {
                    if !domain.is_map_domain() {
                        self.error_with_help(
                            node,
                            Code::BadMapType,
                            format!("'{domain}' can not be a map key"),
                            "map keys must be int, long, string, an enum or principal",
                        );
                        return;
                    }
                    if matches!(**range, Ty::Table(_)) {
                        self.error(
                            node,
                            Code::BadMapType,
                            format!("'{range}' can not be a map value"),
                        );
                        return;
                    }
                    pending.push(range);
                }
                Ty::Maybe(inner)
                | Ty::List(inner)
                | Ty::Array(inner)
                | Ty::Table(inner)
                | Ty::Future(inner)
                | Ty::Channel(inner) => pending.push(inner),
                Ty::Pair(key, value) => {
                    pending.push(key);
                    pending.push(value);
                }
                Ty::Tuple(items) => pending.extend(items.iter()),
                _ => {}
            }
        }
    }

    fn expect_storable(&mut self, node: NodeId, target: &Ty, source: &Ty, reactive: bool) {
        if let (Ty::Enum(a), Ty::Enum(b)) = (target.unwrap_maybe(), source.unwrap_maybe())
            && a != b
        {
            self.error(
                node,
                Code::TypeMismatch,
                format!("the enumerations '{a}' and '{b}' are different types"),
            );
            return;
        }
        if !crate::ty::can_store(target, source, reactive, self.signatures) {
            self.error(
                node,
                Code::TypeMismatch,
                format!("expected '{target}', found '{source}'"),
            );
        }
    }

    fn expect_bool(&mut self, node: NodeId, ty: &Ty, allow_maybe: bool) {
        let ok = match ty {
            Ty::Bool | Ty::Error => true,
            Ty::Maybe(inner) => allow_maybe && matches!(**inner, Ty::Bool),
            _ => false,
        };
        if !ok {
            self.error(
                node,
                Code::ConditionNotBool,
                format!("expected 'bool', found '{ty}'"),
            );
        }
    }
}
