//! Queries over tables and lists: `where`, `order`, `map`, `reduce` and the other clauses.

use super::*;

impl Checker<'_> {
    pub(super) fn query(&mut self, source: ExprId, clause: &Clause, node: NodeId) -> Value {
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
                self.unique_values(&element, key.as_ref(), node);
                Value::of(list)
            }
            Clause::Rank {
                binding,
                score,
                threshold,
            } => {
                self.readonly_regions += 1;
                self.with_row_scope(&element, Some(binding), |checker| {
                    let ty = checker.expr(*score).ty;
                    checker.expect_number(checker.body.expr(*score).node, &ty, "rank score");
                });
                self.readonly_regions -= 1;
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
    pub(super) fn row_field(&mut self, element: &Ty, field: &Ident) -> Ty {
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
    pub(super) fn with_row_scope(
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
                    crate::check::Local {
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
                        crate::check::Local {
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
    pub(super) fn apply_function(&mut self, function: ExprId, argument: &Ty) -> Ty {
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
                    crate::check::Local {
                        ty: argument.clone(),
                        readonly: true,
                        definition,
                    },
                );
            }
            self.readonly_regions += 1;
            let ty = self.expr(body).ty;
            self.readonly_regions -= 1;
            self.pop_scope();
            return ty;
        }
        let node = self.body.expr(function).node;
        let callee = self.expr(function);
        let Ty::Function(name) = &callee.ty else {
            return Ty::Error;
        };
        let overloads = self.function_overloads(name);
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
        // A function named as the argument of `map` is applied, not called from the surrounding
        // code: the purity rules of a formula or a read-only method do not reach it. It still
        // needs a viewer to have one.
        if sig.viewer && !self.context.has_viewer() {
            self.error(
                node,
                Code::CallCapability,
                "Functions with viewer can only be used from viewer states",
            );
        }
        sig.returns
    }
}

/// Whether values of a type can be compared, hashed and tested for equality, as `unique` needs.
fn hashable(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Int
            | Ty::Long
            | Ty::Double
            | Ty::Bool
            | Ty::String
            | Ty::Enum(_)
            | Ty::Date
            | Ty::DateTime
            | Ty::Time
            | Ty::TimeSpan
            | Ty::Complex
            | Ty::Principal
            | Ty::SecurePrincipal
            | Ty::Asset
            | Ty::Label
            | Ty::Error
    )
}

impl Checker<'_> {
    /// `unique` keeps the first (or last) of equal values: plain values are compared directly,
    /// rows by one of their fields.
    fn unique_values(&mut self, element: &Ty, key: Option<&crate::hir::Ident>, node: NodeId) {
        let Some(key) = key else {
            if !hashable(element) {
                self.error_with_help(
                    node,
                    Code::NotUnique,
                    format!("the element has a type of'{element}' which is not capable of being compared, hashed, and equality tested for uniqueness"),
                    "make rows unique by one of their fields: `unique first id`",
                );
            }
            return;
        };
        let ty = self.row_field(element, key);
        if !matches!(
            element,
            Ty::Record(_) | Ty::Message(_) | Ty::Anonymous(_) | Ty::Error
        ) {
            self.error(
                node,
                Code::NotUnique,
                "unique with a key requires the list to contain records or messages",
            );
        } else if !hashable(&ty) {
            self.error_with_help(
                node,
                Code::NotUnique,
                format!(
                    "the key '{}' must be capable of being compared, hashed, and equality tested for uniqueness",
                    key.name
                ),
                "use a field of a scalar type as the key (int, string, an enum, a date, ...)",
            );
        }
    }
}
