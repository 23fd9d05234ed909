//! Calls: functions, methods, overloads and the capabilities a call needs.

use super::*;

/// What a call names, for pointing at the parameters it passes arguments to.
pub(super) enum Callee<'a> {
    /// A function or procedure of the document by name.
    Function(&'a str),
    /// A method of a record or message.
    Method(Owner, &'a str),
    /// A callee whose declaration is not pointed at (dispatchers).
    Unnamed,
}

impl Checker<'_> {
    pub(super) fn call(&mut self, function: ExprId, arguments: &[ExprId], node: NodeId) -> Value {
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
            self.note_method(name, owner.clone(), &overloads, &argument_types);
            let callee = Callee::Method(owner, &name.name);
            let value = self.pick_overload(&overloads, &argument_types, node, callee);
            self.note_argument_literals(name, None, arguments, &argument_types);
            return value;
        }
        let callee = self.expr(function);
        match &callee.ty {
            Ty::Error => Value::error(),
            Ty::Function(name) => {
                let overloads = self.function_overloads(name);
                if let Some(index) = self.overload_index(&overloads, &argument_types) {
                    self.note_function(function, name, index);
                }
                let callee = Callee::Function(name);
                let value = self.pick_overload(&overloads, &argument_types, node, callee);
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
    pub(super) fn note_argument_literals(
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
    pub(super) fn own_methods(&self, name: &str) -> Option<Vec<FnSig>> {
        let owner = match (&self.context.record, &self.context.message) {
            (Some(record), _) => self.signatures.records.get(&**record),
            (None, Some(message)) => self.signatures.messages.get(&**message),
            (None, None) => None,
        }?;
        owner.methods.get(name).cloned()
    }

    /// The overload [`Checker::pick_overload`] takes: of those whose parameters accept the
    /// arguments, the closest fit (`ty::best_overload`), else the first with as many parameters.
    /// Every overload of a function or procedure by that name, functions first.
    pub(super) fn function_overloads(&self, name: &str) -> Vec<FnSig> {
        self.signatures
            .functions
            .get(name)
            .into_iter()
            .chain(self.signatures.procedures.get(name))
            .flatten()
            .cloned()
            .collect()
    }

    pub(super) fn overload_index(&self, overloads: &[FnSig], arguments: &[Ty]) -> Option<usize> {
        let params: Vec<Vec<Ty>> = overloads
            .iter()
            .map(|sig| sig.params.iter().map(|param| param.ty.clone()).collect())
            .collect();
        crate::ty::best_overload(params.iter().map(Vec::as_slice), arguments, self.signatures)
            .or_else(|| {
                overloads
                    .iter()
                    .position(|sig| sig.params.len() == arguments.len())
            })
    }

    /// Notes the method overload a call by `name` takes.
    pub(super) fn note_method(
        &mut self,
        name: &Ident,
        owner: Owner,
        overloads: &[FnSig],
        arguments: &[Ty],
    ) {
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
    pub(super) fn note_function(&mut self, function: ExprId, name: &str, index: usize) {
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

    /// The definition of overload `index` of a callee (functions before procedures, as
    /// [`Checker::function_overloads`] lists them).
    fn callee_definition(&self, callee: &Callee<'_>, index: usize) -> Option<Definition> {
        match callee {
            Callee::Function(name) => {
                let functions = self.signatures.functions.get(*name).map_or(0, Vec::len);
                let (procedure, overload) = if index < functions {
                    (false, index)
                } else {
                    (true, index - functions)
                };
                Some(Definition::Function {
                    name: (*name).to_owned(),
                    procedure,
                    overload: u32::try_from(overload).ok()?,
                })
            }
            Callee::Method(owner, name) => Some(Definition::Method {
                owner: owner.clone(),
                name: (*name).to_owned(),
                overload: u32::try_from(index).ok()?,
            }),
            Callee::Unnamed => None,
        }
    }

    pub(super) fn pick_overload(
        &mut self,
        overloads: &[FnSig],
        arguments: &[Ty],
        node: NodeId,
        callee: Callee<'_>,
    ) -> Value {
        if overloads.is_empty() {
            return Value::error();
        }
        let params: Vec<Vec<Ty>> = overloads
            .iter()
            .map(|sig| sig.params.iter().map(|param| param.ty.clone()).collect())
            .collect();
        let best =
            crate::ty::best_overload(params.iter().map(Vec::as_slice), arguments, self.signatures);
        if let Some(sig) = best.map(|index| overloads[index].clone()) {
            self.call_capability(&sig, node);
            return Value {
                ty: sig.returns.clone(),
                place: Place::Value,
                mutable_source: true,
            };
        }
        if let Some(index) = overloads
            .iter()
            .position(|sig| sig.params.len() == arguments.len())
        {
            let sig = overloads[index].clone();
            // An argument that does not fit is shown with the parameter type it must fit.
            let definition = self.callee_definition(&callee, index);
            for (position, (param, argument)) in sig.params.iter().zip(arguments).enumerate() {
                let origin = definition
                    .clone()
                    .map(|callee| crate::check::Anchor::Parameter {
                        callee,
                        index: position,
                    });
                self.expect_storable_in(node, &param.ty, argument, false, origin);
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
    pub(super) fn call_capability(&mut self, sig: &FnSig, node: NodeId) {
        use crate::check::CodeKind::*;
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
        // Code that only reads (metrics, @traffic, @web get, joins, lambda bodies, rank scores,
        // message methods) may call only what only reads.
        let readonly_region = self.readonly_regions > 0
            || matches!(
                self.context.kind,
                ReadOnlyExpression | Traffic | WebRead | MessageCode { readonly: true, .. }
            );
        let region_breached = readonly_region
            && !readonly_callee
            && message
                != Some(
                    "Read only methods can only call other read-only methods or pure functions",
                );
        if region_breached {
            self.error_with_help(
                node,
                Code::ReadonlyCall,
                "Read only methods can only call other read-only methods or pure functions",
                "mark the procedure `readonly` if it changes nothing, or call it from a handler",
            );
        }
        if let Some(message) = message {
            self.error(node, Code::CallCapability, message);
            return;
        }
        if region_breached {
            return;
        }
        let can_call_aborts = matches!(
            self.context.kind,
            Handler
                | Procedure { aborts: true, .. }
                | Method { aborts: true, .. }
                | MessageCode { aborts: true, .. }
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
    pub(super) fn service_arguments(
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
    pub(super) fn enqueue_arguments(&mut self, message: &str, arguments: &[Ty], node: NodeId) {
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
    pub(super) fn service_capability(&mut self, node: NodeId) {
        use crate::check::CodeKind::*;
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

    pub(super) fn method_call(
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
                    crate::check::CodeKind::Static | crate::check::CodeKind::MessageCode { .. }
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
                    let owner = owner_of(&object.ty);
                    if let Some(owner) = owner.clone() {
                        self.note_method(member, owner, &overloads, arguments);
                    }
                    let callee = owner.map_or(Callee::Unnamed, |owner| Callee::Method(owner, name));
                    return self.pick_overload(&overloads, arguments, node, callee);
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
                    let owner = owner_of(element);
                    if let Some(owner) = owner.clone() {
                        self.note_method(member, owner, &overloads, arguments);
                    }
                    let callee = owner.map_or(Callee::Unnamed, |owner| Callee::Method(owner, name));
                    let result = self.pick_overload(&overloads, arguments, node, callee);
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
                    return self.pick_overload(&overloads, arguments, node, Callee::Unnamed);
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
    pub(super) fn table_method(&mut self, element: &Ty, member: &Ident, arguments: &[Ty]) -> Value {
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
    pub(super) fn expect_document_change(&mut self, member: &Ident) {
        if self.context_is_readonly() {
            self.error_with_help(
                member.node,
                Code::ReadonlyCode,
                format!("'{}' changes the document, which read-only code can not do", member.name),
                "move this call into a message handler, procedure or other code that may change the document",
            );
        }
    }

    pub(super) fn builtin_method(
        &mut self,
        receiver: &Ty,
        member: &Ident,
        arguments: &[Ty],
    ) -> Value {
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
    pub(super) fn library_result(
        &mut self,
        call: library::Call,
        function: &str,
        node: NodeId,
    ) -> Value {
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
}
