//! Checking one item: its declarations and each body of code in the right context.

use std::sync::Arc;

use super::report::Anchor;
use super::resolution::{Definition, Resolutions};
use super::stmt::Flow;
use super::{Checker, CodeKind, Context, FormulaTypes, SemanticDiagnostic};
use crate::diagnostic::Code;
use crate::hir::NodeId;
use crate::hir::{
    Block, Bubble, CronSchedule, Decl, EventKind, Field, Formula, Function, Guard, Ident,
    Invalidation, Item, MessageMember, Mutability, Privacy, RecordMember, StaticEntry,
    StaticPolicyKind, UriSegment, WebMethod,
};
use crate::queries::ItemKey;
use crate::signatures::{GlobalSig, MemberSig, Signatures};
use crate::ty::Ty;

/// What checking an item finds: its diagnostics, the type of every expression of its body by
/// expression id (`Ty::Error` where unknown), and what every name occurrence resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckedItem {
    pub diagnostics: Vec<SemanticDiagnostic>,
    pub expr_types: Vec<Ty>,
    pub names: Resolutions,
    /// Fields that code couples by name (an ingestion or conversion copies one into the other):
    /// renaming one renames the other.
    pub links: Vec<(Definition, Definition)>,
    /// The field each shorthand literal field (`{x}`, which reads the local `x`) also names.
    pub shorthand_fields: Vec<(NodeId, Definition)>,
}

/// Checks an item; `key` identifies it in its file (its locals are named by it).
pub fn check_item(
    item: &Item,
    key: &ItemKey,
    signatures: &Signatures,
    formulas: &dyn FormulaTypes,
) -> CheckedItem {
    let mut checker = Checker::new(
        signatures,
        &item.body,
        formulas,
        Context::new(CodeKind::Constant),
    );
    checker.item_key = Arc::new(key.clone());
    checker.item(item);
    let mut names = super::declarations::declared_names(item, key, signatures);
    names.append(&mut checker.names);
    CheckedItem {
        diagnostics: checker.diagnostics,
        expr_types: checker.expr_types,
        names: Resolutions::new(names),
        links: {
            let mut links = checker.links;
            links.sort();
            links.dedup();
            links
        },
        shorthand_fields: {
            let mut shorthands = checker.shorthands;
            shorthands.sort();
            shorthands.dedup();
            shorthands
        },
    }
}

/// The type of a formula's value (a top-level formula when `record` is `None`).
pub fn formula_type(
    item: &Item,
    record: Option<&str>,
    name: &str,
    signatures: &Signatures,
    formulas: &dyn FormulaTypes,
) -> Ty {
    // A record's bubble is computed like its formulas (for each viewer); the record graph reads
    // its type through the same query.
    let computed = match (&item.decl, record) {
        (Decl::Formula(formula), None) if formula.name.name == name => {
            Some((formula.value, CodeKind::Formula))
        }
        (Decl::Record(record_decl), Some(record)) if record_decl.name.name == record => {
            record_decl.members.iter().find_map(|member| match member {
                RecordMember::Formula(formula) if formula.name.name == name => {
                    Some((formula.value, CodeKind::Formula))
                }
                RecordMember::Bubble(bubble) if bubble.name.name == name => {
                    Some((bubble.value, CodeKind::Bubble))
                }
                _ => None,
            })
        }
        _ => None,
    };
    let Some((value, kind)) = computed else {
        return Ty::Error;
    };
    let mut context = Context::new(kind);
    context.record = record.map(Arc::from);
    let mut checker = Checker::new(signatures, &item.body, formulas, context);
    checker.expr(value).ty
}

impl Checker<'_> {
    fn item(&mut self, item: &Item) {
        self.declaration = item.node;
        match &item.decl {
            Decl::Field(field) => self.field(field, None),
            Decl::Formula(formula) => self.formula(formula, None),
            Decl::Bubble(bubble) => self.bubble(bubble, None),
            Decl::View(view) => {
                self.resolve_type(&view.ty);
            }
            Decl::Record(record) => self.record_decl(record),
            Decl::Message(message) => self.message_decl(message, item.node),
            Decl::Enum(enumeration) => self.enum_decl(enumeration),
            Decl::Dispatch(dispatch) => self.dispatch_decl(dispatch),
            Decl::Function(function) => self.function(function, CodeKind::Function, Vec::new()),
            Decl::Procedure(procedure) => self.procedure_decl(procedure),
            Decl::Policy(policy) => {
                self.bool_body(&policy.body, CodeKind::Policy, &policy.name, None)
            }
            Decl::Filter(filter) => {
                self.bool_body(&filter.body, CodeKind::Filter, &filter.name, None)
            }
            Decl::Channel(channel) => self.channel_decl(channel),
            Decl::AsyncChannel(channel) => {
                self.message_type(&channel.message);
            }
            Decl::Rpc(rpc) => self.rpc_decl(rpc),
            Decl::State { body, .. } => self.code(body, Context::new(CodeKind::State), Vec::new()),
            Decl::Constructor { parameter, body } => {
                self.constructor_decl(parameter.as_ref(), body)
            }
            Decl::Event { kind, body } => self.event(kind, body),
            Decl::Static { context, entries } => self.static_decl(context.as_ref(), entries),
            Decl::Web(web) => self.web_decl(web, item.node),
            Decl::Cron { schedule, body, .. } => {
                self.cron_schedule(schedule);
                self.code(body, Context::new(CodeKind::Cron), Vec::new());
            }
            Decl::Test { body, .. } => self.code(body, Context::new(CodeKind::Test), Vec::new()),
            Decl::Include { path } => self.include(path, item.node),
            Decl::Link { name, params } => self.link_decl(name, params),
            Decl::Assoc { from, to, edge, .. } => {
                self.assoc_decl([Some(from), Some(to), edge.as_ref()], item.node)
            }
            Decl::Template { .. } => {}
            Decl::Service { members, .. } => self.service_decl(members),
            Decl::Replication(replication) => self.replication_decl(replication),
            Decl::Authorize {
                username,
                password,
                body,
            } => self.authorize_decl(username, password, body, item.node),
            Decl::Authorization {
                message,
                parameter,
                body,
            } => self.authorization_decl(message, parameter, body, item.node),
            Decl::Password { parameter, body } => self.password_decl(parameter, body),
            Decl::Metric { value, .. } => self.metric_decl(*value),
            Decl::Traffic { value } => self.traffic_decl(*value),
            Decl::Join(join) => self.join(join, None),
        }
    }

    /// A record: its members.
    fn record_decl(&mut self, record: &crate::hir::Record) {
        let name: Arc<str> = Arc::from(record.name.name.as_str());
        for member in &record.members {
            self.record_member(member, &name);
        }
    }

    /// A message: its members, and with `@csv` only fields a CSV cell can hold.
    fn message_decl(&mut self, message: &crate::hir::Message, node: NodeId) {
        let name: Arc<str> = Arc::from(message.name.name.as_str());
        for member in &message.members {
            self.message_member(member, &name);
        }
        if message
            .members
            .iter()
            .any(|member| matches!(member, MessageMember::Csv(_)))
        {
            self.csv_fields(message, node);
        }
    }

    /// Every field of a `@csv` message is one cell: a scalar with a text form.
    fn csv_fields(&mut self, message: &crate::hir::Message, node: NodeId) {
        for member in &message.members {
            let MessageMember::Field(field) = member else {
                continue;
            };
            let Ok(ty) = self.signatures.resolve(&field.ty) else {
                continue;
            };
            let cell = matches!(
                ty,
                Ty::Int
                    | Ty::Long
                    | Ty::Double
                    | Ty::Bool
                    | Ty::String
                    | Ty::Date
                    | Ty::DateTime
                    | Ty::Time
                    | Ty::TimeSpan
                    | Ty::Principal
                    | Ty::Complex
            );
            if !cell {
                self.report(
                    SemanticDiagnostic::new(
                        node,
                        Code::CsvField,
                        "this type is not compatible with @csv",
                    )
                    .with_label(
                        Anchor::Node(field.ty.node()),
                        format!("the field '{}' has the type '{ty}'", field.name.name),
                    ),
                );
            }
        }
    }

    /// `assoc<From, To, Edge> name;`: every type it names is a declared record.
    fn assoc_decl(&mut self, types: [Option<&Ident>; 3], node: NodeId) {
        for ident in types.into_iter().flatten() {
            if self.signatures.records.contains_key(&ident.name) {
                continue;
            }
            let declared = self.type_definition(&ident.name).is_some();
            if declared {
                self.report(
                    SemanticDiagnostic::new(
                        ident.node,
                        Code::BadAssoc,
                        format!(
                            "Type check failure: must have a type of 'record', but got a type of '{}'.",
                            ident.name
                        ),
                    )
                    .shown_at(Anchor::TypeDeclaration(ident.name.clone()))
                    .with_label(Anchor::Node(ident.node), "named by this assoc"),
                );
            } else {
                let mut diagnostic = SemanticDiagnostic::new(
                    node,
                    Code::BadAssoc,
                    format!("The type '{}' was not found", ident.name),
                )
                .with_label(Anchor::Node(ident.node), "named here");
                if let Some(suggestion) = self.suggest_type(&ident.name) {
                    diagnostic = diagnostic.with_suggestion(ident.node, &suggestion);
                }
                self.report(diagnostic);
            }
        }
    }

    /// An enum: at least one label, labels and their values distinct.
    fn enum_decl(&mut self, enumeration: &crate::hir::Enum) {
        if enumeration.labels.is_empty() {
            self.error(
                enumeration.name.node,
                Code::StructureRule,
                format!("enum '{}' has no values", enumeration.name.name),
            );
        }
        self.enum_values_unique(enumeration);
        let mut seen: Vec<&Ident> = Vec::new();
        for label in &enumeration.labels {
            if let Some(first) = seen.iter().find(|first| first.name == label.name.name) {
                self.report(
                    SemanticDiagnostic::new(
                        label.name.node,
                        Code::Duplicate,
                        format!(
                            "The enumeration '{}' has duplicates for '{}' defined.",
                            enumeration.name.name, label.name.name
                        ),
                    )
                    .with_label(Anchor::Node(first.node), "first defined here"),
                );
            }
            seen.push(&label.name);
        }
    }

    /// A dispatcher: a function of the enum value it runs on (`self`).
    fn dispatch_decl(&mut self, dispatch: &crate::hir::Dispatch) {
        let enum_ty = if self
            .signatures
            .enums
            .contains_key(&dispatch.enumeration.name)
        {
            Ty::Enum(Arc::from(dispatch.enumeration.name.as_str()))
        } else {
            self.error_suggesting(
                dispatch.enumeration.node,
                Code::UnknownType,
                format!("no enumeration named '{}'", dispatch.enumeration.name),
                self.suggest_enum(&dispatch.enumeration.name),
            );
            Ty::Error
        };
        let self_ident = Ident {
            name: "self".to_owned(),
            node: dispatch.function.name.node,
        };
        self.function(
            &dispatch.function,
            CodeKind::Dispatcher,
            vec![(self_ident, enum_ty, true)],
        );
    }

    /// A procedure: a function whose modifiers decide what its code may do.
    fn procedure_decl(&mut self, procedure: &Function) {
        let modifiers = procedure.modifiers;
        let kind = CodeKind::Procedure {
            readonly: modifiers.readonly,
            aborts: modifiers.aborts,
            viewer: modifiers.viewer,
        };
        self.function(procedure, kind, Vec::new());
    }

    /// A message handler: its guard, then its code with the message as parameter.
    fn channel_decl(&mut self, channel: &crate::hir::Channel) {
        let message_ty = self.message_type(&channel.message);
        let parameter_ty = if channel.array {
            Ty::array(message_ty)
        } else {
            message_ty
        };
        if let Some(guard) = &channel.guard {
            self.guard(guard);
        }
        self.code(
            &channel.body,
            Context::new(CodeKind::Handler),
            vec![(channel.parameter.clone(), parameter_ty, true)],
        );
    }

    /// An rpc: its parameters are locals and fields of the message it receives.
    fn rpc_decl(&mut self, rpc: &crate::hir::Rpc) {
        let mut locals = vec![(rpc.who.clone(), Ty::Principal, true)];
        let message = crate::signatures::rpc_message_name(&rpc.name.name);
        for param in &rpc.params {
            let ty = self.resolve_type(&param.ty);
            locals.push((param.name.clone(), ty, false));
            // Each parameter is also a field of the message the rpc receives.
            let local = self.local_definition(&param.name);
            self.links.push((
                local,
                Definition::Field {
                    owner: super::Owner::Message(message.clone()),
                    name: param.name.name.clone(),
                },
            ));
        }
        self.code(&rpc.body, Context::new(CodeKind::Handler), locals);
    }

    /// A constructor, with the message it may take.
    fn constructor_decl(&mut self, parameter: Option<&(Ident, Ident)>, body: &Block) {
        let mut locals = Vec::new();
        if let Some((message, name)) = parameter {
            self.constructor_messages_unify(message);
            let ty = self.message_type(message);
            locals.push((name.clone(), ty, true));
        }
        self.code(body, Context::new(CodeKind::Construct), locals);
    }

    /// `@static`: its policies return booleans, its settings have known names and types.
    fn static_decl(&mut self, context: Option<&Ident>, entries: &[StaticEntry]) {
        for entry in entries {
            match entry {
                StaticEntry::Policy { kind, body, .. } => {
                    let mut locals = Vec::new();
                    if let Some(context) = context {
                        locals.push((context.clone(), Ty::Context, true));
                    }
                    let name = match kind {
                        StaticPolicyKind::Create => "create",
                        StaticPolicyKind::Invent => "invent",
                        StaticPolicyKind::Send => "send",
                    };
                    let mut code_context = Context::new(CodeKind::Static);
                    code_context.returns = Some(Ty::Bool);
                    let flow = self.code_flow(body, code_context, locals);
                    if flow == Flow::Continues {
                        self.error_on_body(
                            body,
                            format!("The '{name}' policy must return a boolean"),
                        );
                    }
                }
                StaticEntry::Setting { name, value } => {
                    self.context = Context::new(CodeKind::Static);
                    let ty = self.expr(*value).ty;
                    let expected = match name.name.as_str() {
                        "maximum_history" | "frequency" | "temporal_resolution_ms" => Some(Ty::Int),
                        "delete_on_close" | "readonly" => Some(Ty::Bool),
                        _ => None,
                    };
                    match expected {
                        Some(expected) => {
                            if !crate::ty::can_store(&expected, &ty, false, self.signatures) {
                                self.error(
                                    self.body.expr(*value).node,
                                    Code::TypeMismatch,
                                    format!("expected '{expected}', found '{ty}'"),
                                );
                            }
                        }
                        None => self.error(
                            name.node,
                            Code::UnknownReference,
                            format!("'{}' is not a @static setting", name.name),
                        ),
                    }
                }
            }
        }
    }

    /// A web handler: path parameters of simple types, its message and guard, then its code.
    fn web_decl(&mut self, web: &crate::hir::Web, node: NodeId) {
        let kind = match web.method {
            WebMethod::Get => CodeKind::WebRead,
            WebMethod::Put | WebMethod::Delete => CodeKind::WebWrite,
            WebMethod::Options => CodeKind::WebOptions,
        };
        let mut locals = Vec::new();
        for segment in &web.path {
            match segment {
                UriSegment::Parameter { name, ty } => {
                    let resolved = self.resolve_type(ty);
                    if !matches!(
                        resolved,
                        Ty::Int | Ty::Long | Ty::Double | Ty::String | Ty::Bool | Ty::Error
                    ) {
                        self.error(
                            ty.node(),
                            Code::TypeMismatch,
                            "The parameter type must be int, long, double, string, or boolean",
                        );
                    }
                    locals.push((name.clone(), resolved, true));
                }
                UriSegment::Rest(name) => locals.push((name.clone(), Ty::String, true)),
                UriSegment::Literal(_) => {}
            }
        }
        if let Some((message, name)) = &web.parameter {
            let ty = self.message_type(message);
            locals.push((name.clone(), ty, true));
        }
        if let Some(guard) = &web.guard {
            self.guard(guard);
        }
        let mut context = Context::new(kind);
        // A web handler returns a message whose fields say what to send; its shape is
        // checked with the handler's other rules.
        context.returns = Some(Ty::Error);
        if self.code_flow(&web.body, context, locals) == Flow::Continues {
            self.missing_response(node, "The @web handlers must return a message");
        }
    }

    /// A handler that answers a request ends every path with its answer (or an abort).
    fn missing_response(&mut self, node: NodeId, message: &str) {
        if self.unfit_return(node, message) {
            return;
        }
        self.report(
            SemanticDiagnostic::new(node, Code::MissingResponse, message)
                .with_help("add a `return` at the end of every path, or end it with `abort;`"),
        );
    }

    /// Code with a return type whose paths do not all return, where some `return` has a value
    /// that does not fit: that return does not count (as in the reference), and the diagnostic
    /// points at it. Returns whether it reported.
    fn unfit_return(&mut self, node: NodeId, message: &str) -> bool {
        if self.unfit_returns.is_empty() {
            return false;
        }
        let returns = std::mem::take(&mut self.unfit_returns);
        let diagnostic = SemanticDiagnostic::new(node, Code::UnfitReturn, message).with_labels(
            returns.into_iter().map(|value| {
                (
                    Anchor::Node(value),
                    "this value does not fit the return type, so this `return` does not count"
                        .to_owned(),
                )
            }),
        );
        self.report(diagnostic);
        true
    }

    /// Code that must return a value on every path, but some path ends without a `return`.
    fn missing_return(&mut self, node: NodeId, message: String) {
        if !self.unfit_return(node, &message) {
            self.error(node, Code::MissingReturn, message);
        }
    }

    /// A link: only `sample` exists, and its parameters are constants.
    fn link_decl(&mut self, name: &Ident, params: &[(Ident, crate::hir::ExprId)]) {
        if name.name != "sample" {
            self.error(
                name.node,
                Code::UnknownReference,
                format!("The link '{}' was not found.", name.name),
            );
        }
        for (key, value) in params {
            self.context = Context::new(CodeKind::Constant);
            self.expr(*value);
            if key.name == "error" {
                self.report(
                    SemanticDiagnostic::new(
                        self.declaration,
                        Code::StructureRule,
                        format!(
                            "The link '{}' has an error param which is an error",
                            name.name
                        ),
                    )
                    .with_label(Anchor::Node(key.node), "the 'error' parameter"),
                );
            }
        }
    }

    /// A service: constant settings and methods whose results can be sent.
    fn service_decl(&mut self, members: &[crate::hir::ServiceMember]) {
        for member in members {
            if let crate::hir::ServiceMember::Method { input, output, .. } = member {
                for ident in [input, output] {
                    if ident.name != "dynamic"
                        && !self.signatures.messages.contains_key(&ident.name)
                    {
                        let suggestion = self.suggest_message(&ident.name);
                        self.error_suggesting(
                            ident.node,
                            Code::BadServiceMember,
                            format!(
                                "Type not found: a message named '{}' was not found.",
                                ident.name
                            ),
                            suggestion,
                        );
                    }
                }
            }
            match member {
                crate::hir::ServiceMember::Setting { value, .. } => {
                    self.context = Context::new(CodeKind::Constant);
                    self.expr(*value);
                }
                crate::hir::ServiceMember::Method {
                    output,
                    array: true,
                    ..
                } if output.name == "dynamic" => {
                    self.error_with_help(
                        output.node,
                        Code::StructureRule,
                        "service method returns dynamic, and can't be an array",
                        "return `dynamic` (a JSON array is a dynamic value) or an array of messages",
                    );
                }
                _ => {}
            }
        }
    }

    /// A replication: a read-only value that fits a replication the named service declares.
    fn replication_decl(&mut self, replication: &crate::hir::Replication) {
        self.context = Context::new(CodeKind::ReadOnlyExpression);
        let value_ty = self.expr(replication.value).ty;
        let Some(replications) = self
            .signatures
            .service_replications
            .get(&replication.service.name)
        else {
            self.error(
                replication.service.node,
                Code::UnknownReference,
                format!(
                    "The service '{}' was not found for replication at '{}'",
                    replication.service.name, replication.name.name
                ),
            );
            return;
        };
        let Some(input) = replications.get(&replication.method.name).cloned() else {
            let mut names: Vec<&String> = replications.keys().collect();
            names.sort();
            let help = if names.is_empty() {
                format!(
                    "declare `replication<M> {};` in the service '{}'",
                    replication.method.name, replication.service.name
                )
            } else {
                format!(
                    "the service replicates: {}",
                    names
                        .iter()
                        .map(|name| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            self.error_with_help(
                replication.service.node,
                Code::BadReplication,
                format!(
                    "The service '{}' was had no replication for '{}'",
                    replication.service.name, replication.method.name
                ),
                help,
            );
            return;
        };
        let fits = if input == "dynamic" {
            matches!(value_ty, Ty::Dynamic | Ty::Json | Ty::Error)
        } else {
            let target = self.signatures.resolve_struct_name(&input);
            // The literal's fields name the fields of the message it becomes.
            self.note_literal_fields(self.body.expr(replication.value).node, &target, &value_ty);
            crate::ty::can_store(&target, &value_ty, false, self.signatures)
        };
        if !fits {
            self.error(
                self.body.expr(replication.value).node,
                Code::BadReplication,
                format!(
                    "The value of the replication '{}' is a '{value_ty}', which can not be ingested into '{input}'",
                    replication.name.name
                ),
            );
        }
    }

    /// `@authorize`: code of the user name and password that returns the agent.
    fn authorize_decl(&mut self, username: &Ident, password: &Ident, body: &Block, node: NodeId) {
        let mut context = Context::new(CodeKind::Authorization);
        context.returns = Some(Ty::String);
        let flow = self.code_flow(
            body,
            context,
            vec![
                (username.clone(), Ty::String, true),
                (password.clone(), Ty::String, true),
            ],
        );
        if flow == Flow::Continues {
            self.missing_response(node, "@authorize must either return a string or abort");
        }
    }

    /// `@authorization`: code of a message.
    fn authorization_decl(
        &mut self,
        message: &Ident,
        parameter: &Ident,
        body: &Block,
        node: NodeId,
    ) {
        let ty = self.message_type(message);
        let mut context = Context::new(CodeKind::Authorization);
        context.returns = Some(Ty::Error);
        if self.code_flow(body, context, vec![(parameter.clone(), ty, true)]) == Flow::Continues {
            self.missing_response(node, "@authorization must either return a special message");
        }
    }

    /// `@password`: code of the new password.
    fn password_decl(&mut self, parameter: &Ident, body: &Block) {
        self.code(
            body,
            Context::new(CodeKind::Password),
            vec![(parameter.clone(), Ty::String, true)],
        );
    }

    /// A metric: a read-only number.
    fn metric_decl(&mut self, value: crate::hir::ExprId) {
        self.context = Context::new(CodeKind::ReadOnlyExpression);
        let ty = self.expr(value).ty;
        if !matches!(ty, Ty::Int | Ty::Long | Ty::Double | Ty::Error) {
            self.error(
                self.body.expr(value).node,
                Code::NotANumber,
                format!("expected an int, long or double, found '{ty}'"),
            );
        }
    }

    /// `@traffic`: a read-only string.
    fn traffic_decl(&mut self, value: crate::hir::ExprId) {
        self.context = Context::new(CodeKind::Traffic);
        let ty = self.expr(value).ty;
        self.expect_storable(self.body.expr(value).node, &Ty::String, &ty, false);
    }

    /// Labels of an enum must have distinct values (language section 7.10): a label without a
    /// value takes the previous label's value plus one.
    fn enum_values_unique(&mut self, enumeration: &crate::hir::Enum) {
        let mut next: i64 = 0;
        let mut seen: Vec<i64> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for label in &enumeration.labels {
            let value = label.value.unwrap_or(next);
            // A repeated name is reported by the name rule; one diagnostic per mistake.
            let repeated_name = names.contains(&label.name.name.as_str());
            names.push(&label.name.name);
            if seen.contains(&value) && !repeated_name {
                self.error_with_help(
                    label.name.node,
                    Code::Duplicate,
                    format!(
                        "The enumeration '{}' has duplicates for '{}' defined.",
                        enumeration.name.name, label.name.name
                    ),
                    format!("the value {value} is already taken by an earlier label; give '{}' a value of its own", label.name.name),
                );
            }
            seen.push(value);
            next = value.saturating_add(1);
        }
    }

    /// All constructors receive one creation argument, the union of their messages: fields they
    /// share must unify (language sections 3.5 and 7.1).
    fn constructor_messages_unify(&mut self, message: &Ident) {
        let Some(mine) = self.anonymous_message(&message.name) else {
            return;
        };
        // Compare with the constructors declared before this message's first one, so that a
        // conflict is reported once, on the later constructor.
        let others: Vec<String> = self
            .signatures
            .constructor_messages
            .iter()
            .take_while(|other| **other != message.name)
            .cloned()
            .collect();
        for other in others {
            let Some(theirs) = self.anonymous_message(&other) else {
                continue;
            };
            if crate::ty::unify(&mine, &theirs, self.signatures).is_none() {
                self.error_with_help(
                    message.node,
                    Code::Unification,
                    format!("The message types `{}` and `{other}` can not be joined.", message.name),
                    "constructors share one creation argument: fields with the same name must have compatible types",
                );
                return;
            }
        }
    }

    /// A named message's fields as an anonymous message type, for rectification.
    fn anonymous_message(&self, name: &str) -> Option<Ty> {
        let sig = self.signatures.messages.get(name)?;
        let fields = sig
            .order
            .iter()
            .filter_map(|field| match sig.members.get(field) {
                Some(crate::signatures::MemberSig::Field { ty, .. }) => {
                    Some((field.clone(), ty.clone()))
                }
                _ => None,
            })
            .collect();
        Some(Ty::Anonymous(Arc::new(fields)))
    }

    /// `join assoc via table[item] from e to e;`: `item` is a row of the table.
    fn join(&mut self, join: &crate::hir::Join, record: Option<Arc<str>>) {
        let mut context = Context::new(CodeKind::ReadOnlyExpression);
        context.record = record;
        self.context = context;
        let table_ty = self.name(&join.table).ty;
        let row = match &table_ty {
            Ty::Table(element) => (**element).clone(),
            Ty::Error => Ty::Error,
            other => {
                self.error(
                    join.table.node,
                    Code::NotATable,
                    format!("expected a table, found '{other}'"),
                );
                Ty::Error
            }
        };
        match self.signatures.assoc_edges.get(&join.assoc.name).cloned() {
            None => self.error(
                join.assoc.node,
                Code::UnknownReference,
                format!("The assoc '{}' was not found", join.assoc.name),
            ),
            Some(Some(edge)) => {
                if let Ty::Record(row_name) = &row
                    && **row_name != *edge
                {
                    self.error(
                            join.table.node,
                            Code::QueryRule,
                            format!("The assoc '{}' requires an edge type of '{edge}' while being given a table with '{row_name}'.", join.assoc.name),
                        );
                }
            }
            Some(None) => {}
        }
        self.scopes = vec![Default::default()];
        self.declare(&join.item, row, true);
        for end in [join.from, join.to] {
            let ty = self.expr(end).ty;
            if !matches!(ty.unwrap_maybe(), Ty::Int | Ty::Error) {
                self.error_with_help(
                    self.body.expr(end).node,
                    Code::TypeMismatch,
                    format!("expected 'int' or 'maybe<int>', found '{ty}'"),
                    "the ends of a join are row ids",
                );
            }
        }
        self.scopes = vec![Default::default()];
    }

    /// `@include a/b;`: the deployment binds `std` and `std/foo`; `main` is reserved.
    fn include(&mut self, path: &[String], node: crate::hir::NodeId) {
        let joined = path.join("/");
        match joined.as_str() {
            "std" | "std/foo" => {}
            "main" => self.error(
                node,
                Code::UnknownReference,
                "main is a reserved word for importing",
            ),
            "bad" => self.error(
                node,
                Code::UnknownReference,
                "Inclusion of 'bad' resulted in an error; 'public int;' does not parse",
            ),
            other => self.error(
                node,
                Code::UnknownReference,
                format!("Failed to include '{other}' as it was not bound to the deployment"),
            ),
        }
    }

    fn field(&mut self, field: &Field, record: Option<&Arc<str>>) {
        let ty = self.resolve_type(&field.ty);
        self.reactive_field_type(&ty, field);
        if matches!(ty, Ty::Table(_))
            && matches!(
                field.privacy,
                Privacy::Public | Privacy::ViewerIs(_) | Privacy::UsePolicy(_)
            )
        {
            self.error(
                field.privacy_node.unwrap_or(field.name.node),
                Code::StructureRule,
                "Tables are not allowed to have a privacy policy as they default to private.",
            );
        }
        if let Some((invalidation, node)) = field.invalidation {
            if record.is_none() {
                self.error(
                    node,
                    Code::StructureRule,
                    format!("The field '{}' has an invalidation event which is not valid for the root document", field.name.name),
                );
            } else {
                let fits = match invalidation {
                    Invalidation::Updated => matches!(ty, Ty::DateTime | Ty::Error),
                    Invalidation::Bump => matches!(ty, Ty::Int | Ty::Error),
                };
                if !fits {
                    self.error(node, Code::StructureRule, format!("The field '{}' cannot carry this invalidation event for its type '{ty}'", field.name.name));
                }
            }
        }
        if record.is_some() && field.name.name == "id" && !matches!(ty, Ty::Int | Ty::Error) {
            // The key of the record is wrong, so the record as a whole is blamed.
            self.report(
                SemanticDiagnostic::new(
                    self.declaration,
                    Code::FieldTypeNotAllowed,
                    "id must be type int",
                )
                .with_label(Anchor::Node(field.ty.node()), "the type of 'id'"),
            );
        }
        if let Privacy::ViewerIs(owner) = &field.privacy {
            self.viewer_is(owner, record);
        }
        if let Privacy::UsePolicy(guard) = &field.privacy {
            self.guard_in(guard, record, "");
        }
        if let Some(value) = field.value {
            self.context = Context::new(CodeKind::Constant);
            let value_ty = self.expr(value).ty;
            let origin = Some(Anchor::Node(field.ty.node()));
            self.expect_storable_in(self.body.expr(value).node, &ty, &value_ty, true, origin);
        }
    }

    /// Some native values have no reactive storage: they exist only in code (language section 3.1).
    fn reactive_field_type(&mut self, ty: &Ty, field: &Field) {
        let (storable, help) = match ty.unwrap_maybe() {
            Ty::List(_) | Ty::Array(_) => (
                false,
                "lists and arrays are query results: expose them with a formula, store rows in a table",
            ),
            Ty::SecurePrincipal => (false, "store a `principal`; @who converts to it"),
            Ty::Json => (false, "store a `dynamic` instead"),
            Ty::Future(_) | Ty::Pair(_, _) | Ty::Tuple(_) => {
                (false, "keep this value in a local variable")
            }
            _ => (true, ""),
        };
        if !storable {
            self.error_with_help(
                field.ty.node(),
                Code::FieldTypeNotAllowed,
                format!("The type '{ty}' can not be stored in a document or record field"),
                help,
            );
        }
    }

    fn viewer_is(&mut self, owner: &Ident, record: Option<&Arc<str>>) {
        // The type of a stored field; formulas count as found, their type is not checked here.
        let found: Option<Option<Ty>> = match record {
            Some(record) => self
                .signatures
                .records
                .get(&**record)
                .and_then(|sig| sig.members.get(&owner.name))
                .map(|member| match member {
                    MemberSig::Field { ty, .. } => Some(ty.clone()),
                    _ => None,
                }),
            None => self
                .signatures
                .globals
                .get(&owner.name)
                .map(|global| match global {
                    GlobalSig::Field { ty, .. } => Some(ty.clone()),
                    _ => None,
                }),
        };
        match found {
            None => self.error(
                owner.node,
                Code::UnknownReference,
                format!("Field '{}' was not defined within the record", owner.name),
            ),
            Some(Some(ty))
                if !matches!(
                    ty.unwrap_maybe(),
                    Ty::Principal | Ty::SecurePrincipal | Ty::Error
                ) =>
            {
                self.error_with_help(
                    owner.node,
                    Code::TypeMismatch,
                    format!(
                        "Field '{}' has type '{ty}', but viewer_is requires a principal",
                        owner.name
                    ),
                    "name a field of type principal: the viewer sees the value when it is that principal",
                );
            }
            Some(_) => {}
        }
    }

    fn guard(&mut self, guard: &Guard) {
        self.guard_in(guard, None, "");
    }

    /// The policies of a guard are the record's own (inside a record) or the document's; `what`
    /// ends the message of a missing one (" for bubble guard").
    fn guard_in(&mut self, guard: &Guard, record: Option<&Arc<str>>, what: &str) {
        for policy in &guard.policies {
            let in_record = record.is_some_and(|record| {
                self.signatures
                    .records
                    .get(&**record)
                    .is_some_and(|sig| sig.policies.contains(&policy.name))
            });
            if !in_record && !self.signatures.policies.contains(&policy.name) {
                self.error_suggesting(
                    policy.node,
                    Code::UnknownPolicy,
                    format!("Policy '{}' was not found{what}", policy.name),
                    self.suggest_policy(record.map(|record| &**record), &policy.name),
                );
            }
        }
        for filter in &guard.filters {
            if !self.signatures.filters.contains(&filter.name) {
                self.error_suggesting(
                    filter.node,
                    Code::UnknownPolicy,
                    format!("Filter '{}' was not found", filter.name),
                    self.suggest_filter(&filter.name),
                );
            }
        }
    }

    fn formula(&mut self, formula: &Formula, record: Option<&Arc<str>>) {
        let mut context = Context::new(CodeKind::Formula);
        context.record = record.cloned();
        self.context = context;
        let ty = self.expr(formula.value).ty;
        self.lazy_type(&ty, &formula.name);
    }

    /// Formula and bubble results may be any native type except channels and templates, or maybes
    /// of those (language section 3.1).
    fn lazy_type(&mut self, ty: &Ty, name: &Ident) {
        if matches!(ty.unwrap_maybe(), Ty::Channel(_) | Ty::Template) {
            self.error_with_help(
                name.node,
                Code::FieldTypeNotAllowed,
                format!("Lazy type has inappropriate type `{ty}`"),
                "channels and templates can not be exposed through formulas or bubbles",
            );
        }
    }

    fn bubble(&mut self, bubble: &Bubble, record: Option<&Arc<str>>) {
        if let Some(guard) = &bubble.guard {
            self.guard_in(guard, record, " for bubble guard");
        }
        let mut context = Context::new(CodeKind::Bubble);
        context.record = record.cloned();
        self.context = context;
        let ty = self.expr(bubble.value).ty;
        self.lazy_type(&ty, &bubble.name);
    }

    fn record_member(&mut self, member: &RecordMember, record: &Arc<str>) {
        match member {
            RecordMember::Field(field) => self.field(field, Some(record)),
            RecordMember::Formula(formula) => self.formula(formula, Some(record)),
            RecordMember::Bubble(bubble) => self.bubble(bubble, Some(record)),
            RecordMember::Method(method) => {
                let modifiers = method.modifiers;
                let kind = CodeKind::Method {
                    readonly: modifiers.readonly,
                    aborts: modifiers.aborts,
                    viewer: modifiers.viewer,
                };
                self.method(method, kind, Some(record.clone()), None);
            }
            RecordMember::Policy(policy) => self.bool_body(
                &policy.body,
                CodeKind::Policy,
                &policy.name,
                Some(record.clone()),
            ),
            RecordMember::Require(policy) => {
                let known = self
                    .signatures
                    .records
                    .get(&**record)
                    .is_some_and(|sig| sig.policies.contains(&policy.name))
                    || self.signatures.policies.contains(&policy.name);
                if !known {
                    self.error_suggesting(
                        policy.node,
                        Code::UnknownPolicy,
                        format!("Policy '{}' was not found", policy.name),
                        self.suggest_policy(Some(record), &policy.name),
                    );
                }
            }
            RecordMember::Index(field) => {
                self.index_field(field, self.signatures.records.get(&**record).cloned())
            }
            RecordMember::Join(join) => self.join(join, Some(record.clone())),
            RecordMember::Replication(replication) => {
                let mut context = Context::new(CodeKind::ReadOnlyExpression);
                context.record = Some(record.clone());
                self.context = context;
                self.expr(replication.value);
            }
            RecordMember::Ingested { body, .. } => {
                let mut context = Context::new(CodeKind::Ingested);
                context.record = Some(record.clone());
                self.code(body, context, Vec::new());
            }
        }
    }

    fn index_field(&mut self, field: &Ident, sig: Option<crate::signatures::StructSig>) {
        let Some(sig) = sig else {
            return;
        };
        match sig.members.get(&field.name) {
            Some(crate::signatures::MemberSig::Field { ty, .. }) => {
                let indexable = matches!(
                    ty,
                    Ty::Int
                        | Ty::String
                        | Ty::Bool
                        | Ty::Enum(_)
                        | Ty::Date
                        | Ty::DateTime
                        | Ty::Time
                        | Ty::Principal
                        | Ty::Error
                );
                if !indexable {
                    self.error(
                        field.node,
                        Code::StructureRule,
                        format!(
                            "Index for field '{}' is not possible due to type",
                            field.name
                        ),
                    );
                }
            }
            _ => self.error(
                field.node,
                Code::UnknownMember,
                format!("Index could not find field '{}'", field.name),
            ),
        }
    }

    fn message_member(&mut self, member: &MessageMember, message: &Arc<str>) {
        match member {
            MessageMember::Field(field) => {
                let ty = self.resolve_type(&field.ty);
                self.native_table_rows(&ty, field.ty.node());
                if contains_record_or_table(&ty) {
                    self.report(
                        SemanticDiagnostic::new(
                            self.declaration,
                            Code::FieldTypeNotAllowed,
                            format!("Messages can't have a field type of '{ty}'"),
                        )
                        .with_label(Anchor::Node(field.ty.node()), "this field's type")
                        .with_labels(record_inside(&ty).map(|record| {
                            (
                                Anchor::Declared(Definition::Record(record.to_string())),
                                format!("'{record}' is a record, not a message"),
                            )
                        })),
                    );
                }
                if let Some(value) = field.value {
                    self.context = Context::new(CodeKind::Constant);
                    let value_ty = self.expr(value).ty;
                    let origin = Some(Anchor::Node(field.ty.node()));
                    self.expect_storable_in(
                        self.body.expr(value).node,
                        &ty,
                        &value_ty,
                        false,
                        origin,
                    );
                }
            }
            MessageMember::Index(field) => {
                self.index_field(field, self.signatures.messages.get(&**message).cloned())
            }
            MessageMember::Csv(_) => {}
            MessageMember::Parsed { body, .. } => {
                let mut context = Context::new(CodeKind::MessageCode {
                    aborts: true,
                    readonly: false,
                });
                context.message = Some(message.clone());
                self.code(body, context, Vec::new());
            }
            MessageMember::Method(method) => {
                let kind = CodeKind::MessageCode {
                    aborts: method.modifiers.aborts,
                    readonly: true,
                };
                self.method(method, kind, None, Some(message.clone()));
            }
        }
    }

    fn function(&mut self, function: &Function, kind: CodeKind, extra: Vec<(Ident, Ty, bool)>) {
        self.method_with(function, kind, None, None, extra);
    }

    fn method(
        &mut self,
        function: &Function,
        kind: CodeKind,
        record: Option<Arc<str>>,
        message: Option<Arc<str>>,
    ) {
        self.method_with(function, kind, record, message, Vec::new());
    }

    fn method_with(
        &mut self,
        function: &Function,
        kind: CodeKind,
        record: Option<Arc<str>>,
        message: Option<Arc<str>>,
        extra: Vec<(Ident, Ty, bool)>,
    ) {
        let mut locals = extra;
        let readonly_params = matches!(
            kind,
            CodeKind::Function
                | CodeKind::Method { .. }
                | CodeKind::MessageCode { .. }
                | CodeKind::Procedure { readonly: true, .. }
        );
        for param in &function.params {
            let ty = self.resolve_type(&param.ty);
            self.native_table_rows(&ty, param.ty.node());
            if param.mutability == Some(Mutability::Mutable)
                && !matches!(ty, Ty::Message(_) | Ty::Table(_) | Ty::Error)
            {
                self.error(
                    param.ty.node(),
                    Code::StructureRule,
                    format!("Type {ty} is not a mutable type."),
                );
            }
            let readonly = match param.mutability {
                Some(Mutability::Mutable) => false,
                Some(Mutability::Readonly) => true,
                None => readonly_params || matches!(ty, Ty::Message(_)),
            };
            locals.push((param.name.clone(), ty, readonly));
        }
        let returns = function.returns.as_ref().map(|ty| self.resolve_type(ty));
        let mut context = Context::new(kind);
        context.record = record;
        context.message = message;
        context.returns = returns.clone();
        self.return_origin = function.returns.as_ref().map(|ty| ty.node());
        let flow = self.code_flow(&function.body, context, locals);
        self.return_origin = None;
        if flow == Flow::Continues && returns.as_ref().is_some_and(|ty| *ty != Ty::Void) {
            self.missing_return(
                function.name.node,
                format!(
                    "The function '{}' does not return in all cases",
                    function.name.name
                ),
            );
        }
    }

    fn bool_body(&mut self, body: &Block, kind: CodeKind, name: &Ident, record: Option<Arc<str>>) {
        let mut context = Context::new(kind);
        context.record = record;
        context.returns = Some(Ty::Bool);
        if self.code_flow(body, context, Vec::new()) == Flow::Continues {
            self.missing_return(
                name.node,
                format!("The '{}' must return a boolean on every path", name.name),
            );
        }
    }

    fn event(&mut self, kind: &EventKind, body: &Block) {
        match kind {
            EventKind::Connected | EventKind::Delete | EventKind::CanAttach => {
                let word = match kind {
                    EventKind::Connected => "@connected",
                    EventKind::Delete => "@delete",
                    _ => "@can_attach",
                };
                let code_kind = if *kind == EventKind::CanAttach {
                    CodeKind::CanAttach
                } else {
                    CodeKind::Event
                };
                let mut context = Context::new(code_kind);
                context.returns = Some(Ty::Bool);
                if self.code_flow(body, context, Vec::new()) == Flow::Continues {
                    self.error_on_body(body, format!("The {word} handler must return a boolean"));
                }
            }
            EventKind::Disconnected => self.code(body, Context::new(CodeKind::Event), Vec::new()),
            EventKind::Load => self.code(body, Context::new(CodeKind::Load), Vec::new()),
            EventKind::Attached(parameter) => {
                self.code(
                    body,
                    Context::new(CodeKind::Event),
                    vec![(parameter.clone(), Ty::Asset, true)],
                );
            }
        }
    }

    fn cron_schedule(&mut self, schedule: &CronSchedule) {
        match schedule {
            CronSchedule::Daily { hour, minute, node } => {
                if !(0..=23).contains(hour) {
                    self.error(
                        *node,
                        Code::BadSchedule,
                        format!("The hour '{hour}' is not between 0 and 23 inclusive"),
                    );
                }
                if !(0..=59).contains(minute) {
                    self.error(
                        *node,
                        Code::BadSchedule,
                        format!("The minute '{minute}' is not between 0 and 59 inclusive"),
                    );
                }
            }
            CronSchedule::Hourly { minute, node } => {
                if !(0..=59).contains(minute) {
                    self.error(
                        *node,
                        Code::BadSchedule,
                        format!("The minute '{minute}' is not between 0 and 59 inclusive"),
                    );
                }
            }
            CronSchedule::Monthly { day, node } => {
                if !(0..=31).contains(day) {
                    self.error(
                        *node,
                        Code::BadSchedule,
                        format!("The day '{day}' is not between 0 and 31 inclusive"),
                    );
                }
            }
            CronSchedule::Variable { frequency, field } => {
                let expected = match frequency {
                    crate::hir::CronFrequency::Daily => Ty::Time,
                    _ => Ty::Int,
                };
                match self.signatures.globals.get(&field.name) {
                    Some(crate::signatures::GlobalSig::Field { ty, .. })
                        if *ty == expected || ty.is_error() => {}
                    Some(crate::signatures::GlobalSig::Field { ty, .. }) => {
                        let ty = ty.clone();
                        self.error(
                            field.node,
                            Code::TypeMismatch,
                            format!("the cron schedule reads the field '{}' of type '{ty}', but a schedule needs '{expected}'", field.name),
                        );
                    }
                    _ => self.error(
                        field.node,
                        Code::UnknownName,
                        format!("The variable '{}' was not defined", field.name),
                    ),
                }
            }
        }
    }

    fn message_type(&mut self, message: &Ident) -> Ty {
        match self.signatures.resolve_struct_name(&message.name) {
            Ty::Message(name) => Ty::Message(name),
            Ty::Error => {
                let mut diagnostic = SemanticDiagnostic::new(
                    message.node,
                    Code::UnknownType,
                    format!("no message named '{}'", message.name),
                );
                if let Some(suggestion) = self.suggest_message(&message.name) {
                    diagnostic = diagnostic.with_suggestion(message.node, &suggestion);
                }
                self.report(diagnostic.with_declaration(
                    format!("Create message {}", message.name),
                    format!("\nmessage {} {{\n}}\n", message.name),
                ));
                Ty::Error
            }
            other => {
                self.error(
                    message.node,
                    Code::TypeMismatch,
                    match other {
                        Ty::Record(_) => format!("expected a message, found the record '{other}'"),
                        Ty::Enum(_) => {
                            format!("expected a message, found the enumeration '{other}'")
                        }
                        _ => format!("expected a message, found '{other}'"),
                    },
                );
                Ty::Error
            }
        }
    }

    /// Checks a body of code with the given locals in scope.
    fn code(&mut self, body: &Block, context: Context, locals: Vec<(Ident, Ty, bool)>) {
        self.code_flow(body, context, locals);
    }

    fn code_flow(
        &mut self,
        body: &Block,
        context: Context,
        locals: Vec<(Ident, Ty, bool)>,
    ) -> Flow {
        self.context = context;
        self.scopes = vec![Default::default()];
        self.unfit_returns.clear();
        for (name, ty, readonly) in locals {
            self.declare(&name, ty, readonly);
        }
        let flow = self.block(body);
        self.scopes = vec![Default::default()];
        flow
    }

    /// A handler that must return a value says so on its whole body, which starts on the
    /// handler's own line.
    fn error_on_body(&mut self, body: &Block, message: String) {
        match body.whole {
            Some(node) => self.missing_return(node, message),
            None => self.error_at_end(body, message),
        }
    }

    fn error_at_end(&mut self, body: &Block, message: String) {
        let node = body
            .end
            .or_else(|| body.stmts.last().map(|stmt| self.body.stmt(*stmt).node));
        if let Some(node) = node {
            self.missing_return(node, message);
        }
    }
}

/// Whether a message field of this type would hold something that is not plain data: a record,
/// a table, a channel, a future, or reactive-only storage (`text`, `holder<M>`).
/// The first record a message field's type holds, directly or inside containers.
fn record_inside(ty: &Ty) -> Option<&Arc<str>> {
    match ty {
        Ty::Record(name) => Some(name),
        Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) | Ty::Table(inner) => {
            record_inside(inner)
        }
        Ty::Map(key, value) => record_inside(key).or_else(|| record_inside(value)),
        _ => None,
    }
}

fn contains_record_or_table(ty: &Ty) -> bool {
    match ty {
        Ty::Record(_)
        | Ty::Table(_)
        | Ty::Channel(_)
        | Ty::Future(_)
        | Ty::Text
        | Ty::Holder(_) => true,
        Ty::Maybe(inner) | Ty::List(inner) | Ty::Array(inner) => contains_record_or_table(inner),
        Ty::Map(key, value) => contains_record_or_table(key) || contains_record_or_table(value),
        _ => false,
    }
}
