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
mod declarations;
mod expr;
pub mod global;
mod items;
pub mod library;
mod ops;
pub mod report;
pub mod resolution;
mod stmt;
mod suggest;

use std::collections::HashMap;
use std::sync::Arc;

pub use context::{CodeKind, Context};
pub use items::formula_type as items_formula_type;
pub use items::{CheckedItem, check_item};
pub use resolution::{Definition, Owner, Resolutions, Resolved};

use crate::diagnostic::Code;
use crate::hir::{Body, Expr, ExprId, Ident, NodeId, TypeRef};
use crate::queries::ItemKey;
use crate::signatures::{Signatures, TypeError};
use crate::ty::Ty;
use report::Anchor;

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
    /// Where it is shown when that is not `node`: another declaration, or the start of the file.
    pub at: Option<report::Anchor>,
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
    /// What the name resolves to: the declaring binding, or the field of a query's row.
    definition: Definition,
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
    /// The item being checked, which identifies its locals.
    item_key: Arc<ItemKey>,
    /// Every name occurrence met so far and what it resolves to.
    names: Vec<Resolved>,
    /// Fields of two types that code couples by name (ingestion, conversion).
    links: Vec<(Definition, Definition)>,
    /// The fields that shorthand literal fields (`{x}`) name, by the node of the name.
    shorthands: Vec<(NodeId, Definition)>,
    /// How many read-only regions (lambda bodies, rank scores) enclose the code being checked.
    readonly_regions: u32,
    /// Message locals that are read-only because their initial value is (`M x = m;` in a
    /// handler of `m`): writing them is reported as a write to a read-only copy.
    readonly_copies: Vec<Definition>,
    /// The whole top-level declaration being checked, blamed by rules about its shape.
    declaration: NodeId,
    /// The return type written on the function being checked, which its `return`s must fit.
    return_origin: Option<NodeId>,
    /// The values of the `return`s of the current body that do not fit its return type: such a
    /// return does not end its path (as in the reference), which the missing-return rules say.
    unfit_returns: Vec<NodeId>,
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
            item_key: Arc::new(ItemKey {
                kind: "",
                name: String::new(),
                occurrence: 0,
            }),
            names: Vec::new(),
            links: Vec::new(),
            shorthands: Vec::new(),
            readonly_regions: 0,
            readonly_copies: Vec::new(),
            declaration: NodeId(0),
            return_origin: None,
            unfit_returns: Vec::new(),
        }
    }

    /// Couples the fields two struct types share by name: ingestion and `@convert` copy a field
    /// into the field of the same name, so renaming one must rename the other (a record's `id`
    /// is coupled too, so that the language server can refuse to rename it).
    fn link_fields(&mut self, target: &Ty, source: &Ty) {
        let (Some(target_owner), Some(source_owner)) = (struct_owner(target), struct_owner(source))
        else {
            return;
        };
        if target_owner == source_owner {
            return;
        }
        let (Some(target_sig), Some(source_sig)) = (
            self.signatures.struct_of(target),
            self.signatures.struct_of(source),
        ) else {
            return;
        };
        let shared: Vec<String> = target_sig
            .order
            .iter()
            .filter(|name| source_sig.members.contains_key(*name))
            .cloned()
            .collect();
        for name in shared {
            self.links.push((
                Definition::Field {
                    owner: target_owner.clone(),
                    name: name.clone(),
                },
                Definition::Field {
                    owner: source_owner.clone(),
                    name,
                },
            ));
        }
    }

    /// An anonymous message literal stored where a record or message is expected: its field
    /// names are the names of that type's fields.
    fn note_literal_fields(&mut self, node: NodeId, target: &Ty, source: &Ty) {
        let literal = match source {
            Ty::Array(element) | Ty::List(element) => matches!(**element, Ty::Anonymous(_)),
            other => matches!(other, Ty::Anonymous(_)),
        };
        if !literal {
            return;
        }
        if let Some(index) = self.body.exprs.iter().position(|expr| expr.node == node) {
            let id = crate::hir::ExprId(u32::try_from(index).unwrap_or(u32::MAX));
            self.note_literal(id, target);
        }
    }

    /// The fields of the literal `id` (an object, or an array of them, nested) read as fields of
    /// `target` (a record or message, or a collection of them).
    fn note_literal(&mut self, id: crate::hir::ExprId, target: &Ty) {
        use crate::hir::Expr;
        let target = match target {
            Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) | Ty::Table(inner) => {
                (**inner).clone()
            }
            other => other.clone(),
        };
        match self.body.expr(id).expr.clone() {
            Expr::Paren(inner) => self.note_literal(inner, &target),
            Expr::Array(elements) => {
                for element in elements {
                    self.note_literal(element, &target);
                }
            }
            Expr::Object(fields) => {
                let (Some(owner), Some(sig)) =
                    (struct_owner(&target), self.signatures.struct_of(&target))
                else {
                    return;
                };
                let mut nested = Vec::new();
                for field in &fields {
                    let Some(crate::signatures::MemberSig::Field { ty, .. }) =
                        sig.members.get(&field.name.name)
                    else {
                        continue;
                    };
                    // `{x}` reads the local x: its name resolves to the local, and it also
                    // names the field.
                    let Some(value) = field.value else {
                        self.shorthands.push((
                            field.name.node,
                            Definition::Field {
                                owner: owner.clone(),
                                name: field.name.name.clone(),
                            },
                        ));
                        continue;
                    };
                    nested.push((field.name.clone(), value, ty.clone()));
                }
                for (name, value, ty) in nested {
                    self.note(
                        name.node,
                        Definition::Field {
                            owner: owner.clone(),
                            name: name.name,
                        },
                    );
                    self.note_literal(value, &ty);
                }
            }
            _ => {}
        }
    }

    /// Notes what the name at `node` resolves to.
    fn note(&mut self, node: NodeId, definition: Definition) {
        self.names.push(Resolved {
            node,
            definition,
            declaration: false,
        });
    }

    /// Notes that the name at `node` declares `definition`.
    fn note_declaration(&mut self, node: NodeId, definition: Definition) {
        self.names.push(Resolved {
            node,
            definition,
            declaration: true,
        });
    }

    /// The definition of a local declared by `name` in this item.
    fn local_definition(&self, name: &Ident) -> Definition {
        Definition::Local {
            item: Arc::clone(&self.item_key),
            node: name.node,
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
        // A dispatcher's `self` is implied: it is written nowhere, so it is no occurrence.
        let implied = name.name == "self";
        if self.lookup_local(&name.name).is_some() {
            self.error(
                name.node,
                Code::Duplicate,
                format!("Variable '{}' was already defined", name.name),
            );
            return;
        }
        let definition = self.local_definition(name);
        if !implied {
            self.note_declaration(name.node, definition.clone());
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(
                name.name.clone(),
                Local {
                    ty,
                    readonly,
                    definition,
                },
            );
        }
    }

    fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.scopes.iter().rev().find_map(|scope| scope.get(name))
    }

    /// Resolves a written type, reporting an unknown name.
    fn resolve_type(&mut self, type_ref: &TypeRef) -> Ty {
        self.note_type_names(type_ref);
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

    /// Notes the record, message and enum names written in a type.
    fn note_type_names(&mut self, type_ref: &TypeRef) {
        let mut pending = vec![type_ref];
        while let Some(type_ref) = pending.pop() {
            match type_ref {
                TypeRef::Named(ident) => {
                    if let Some(definition) = self.type_definition(&ident.name) {
                        self.note(ident.node, definition);
                    }
                }
                TypeRef::Generic { args, .. } => pending.extend(args.iter()),
                TypeRef::Array { element, .. } => pending.push(element),
                TypeRef::Projection { .. } | TypeRef::Missing(_) => {}
            }
        }
    }

    /// The declaration a type name refers to, when the program declares it.
    fn type_definition(&self, name: &str) -> Option<Definition> {
        type_definition(self.signatures, name)
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
        self.expect_storable_in(node, target, source, reactive, None);
    }

    /// Like [`Checker::expect_storable`], with where the target's type was written (`origin`),
    /// shown beside the mistake as the reason for what was expected.
    fn expect_storable_in(
        &mut self,
        node: NodeId,
        target: &Ty,
        source: &Ty,
        reactive: bool,
        origin: Option<Anchor>,
    ) -> bool {
        self.note_literal_fields(node, target, source);
        if let (Ty::Enum(a), Ty::Enum(b)) = (target.unwrap_maybe(), source.unwrap_maybe())
            && a != b
        {
            self.error(
                node,
                Code::TypeMismatch,
                format!("the enumerations '{a}' and '{b}' are different types"),
            );
            return false;
        }
        if !crate::ty::can_store(target, source, reactive, self.signatures) {
            let mut diagnostic = SemanticDiagnostic::new(
                node,
                Code::TypeMismatch,
                format!("expected '{target}', found '{source}'"),
            );
            if let Some(origin) = origin {
                diagnostic = diagnostic.with_label(origin, "expected because of this type");
            }
            self.report(diagnostic);
            return false;
        }
        true
    }

    /// Where the type of an assigned place was written: the declaration of the local, parameter
    /// or field the target names.
    fn origin_of(&self, target: ExprId) -> Option<Anchor> {
        let name = match &self.body.expr(target).expr {
            Expr::Name(name) => name.node,
            Expr::Member { member, .. } => member.node,
            _ => return None,
        };
        let resolved = self
            .names
            .iter()
            .rev()
            .find(|resolved| resolved.node == name)?;
        match &resolved.definition {
            Definition::Local { node, .. } => Some(Anchor::Node(*node)),
            definition @ Definition::Field { .. } => Some(Anchor::Declared(definition.clone())),
            _ => None,
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

/// The record or message a struct type is.
fn struct_owner(ty: &Ty) -> Option<Owner> {
    match ty {
        Ty::Record(name) => Some(Owner::Record(name.to_string())),
        Ty::Message(name) | Ty::Holder(name) => Some(Owner::Message(name.to_string())),
        _ => None,
    }
}

/// The record, message or enum a type name refers to, when the program declares it.
fn type_definition(signatures: &Signatures, name: &str) -> Option<Definition> {
    if signatures.records.contains_key(name) {
        Some(Definition::Record(name.to_owned()))
    } else if signatures.messages.contains_key(name) {
        Some(Definition::Message(name.to_owned()))
    } else if signatures.enums.contains_key(name) {
        Some(Definition::Enum(name.to_owned()))
    } else {
        None
    }
}
