//! Checking statements, and the flow rules: unreachable code and returns on every path.

use super::expr::Place;
use super::report::Anchor;
use super::{Checker, CodeKind, SemanticDiagnostic};
use crate::diagnostic::Code;
use crate::hir::{Block, Expr, ExprId, InferKind, Literal, Stmt, StmtId};
use crate::ty::Ty;

/// Whether control can continue after a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continues,
    /// Every path returns, aborts or blocks.
    Stops,
}

impl Checker<'_> {
    /// Checks a block in a new scope; reports the first unreachable statement.
    pub(super) fn block(&mut self, block: &Block) -> Flow {
        self.push_scope();
        let flow = self.statements(&block.stmts);
        self.pop_scope();
        flow
    }

    /// Checks statements in order; every statement after one that stops is unreachable.
    fn statements(&mut self, stmts: &[StmtId]) -> Flow {
        let mut stopped_by: Option<StmtId> = None;
        for stmt in stmts {
            if let Some(stopper) = stopped_by
                && !matches!(self.body.stmt(*stmt).stmt, Stmt::Empty)
            {
                let code = if matches!(self.body.stmt(stopper).stmt, Stmt::Switch { .. }) {
                    Code::SwitchUnreachable
                } else {
                    Code::ControlFlow
                };
                self.error(
                    self.body.stmt(*stmt).node,
                    code,
                    "This code is unreachable.",
                );
            }
            if self.stmt(*stmt) == Flow::Stops {
                stopped_by = stopped_by.or(Some(*stmt));
            }
        }
        if stopped_by.is_some() {
            Flow::Stops
        } else {
            Flow::Continues
        }
    }

    /// Checks one statement.
    pub(super) fn stmt(&mut self, id: StmtId) -> Flow {
        let node = self.body.stmt(id).node;
        let stmt = self.body.stmt(id).stmt.clone();
        match stmt {
            Stmt::Empty | Stmt::Break | Stmt::Continue => Flow::Continues,
            Stmt::Block(block) => self.block(&block),
            Stmt::If {
                condition,
                binding,
                then,
                otherwise,
            } => {
                let condition_ty = self.expr(condition).ty;
                let condition_node = self.body.expr(condition).node;
                self.push_scope();
                match &binding {
                    Some(binding) => {
                        let inner = match &condition_ty {
                            Ty::Maybe(inner) => (**inner).clone(),
                            Ty::Error => Ty::Error,
                            other => {
                                self.error(
                                    condition_node,
                                    Code::MaybeMisuse,
                                    format!("expected a maybe, found '{other}'"),
                                );
                                Ty::Error
                            }
                        };
                        self.declare(binding, inner, false);
                    }
                    None => self.expect_bool(condition_node, &condition_ty, true),
                }
                let then_flow = self.stmt(then);
                self.pop_scope();
                let otherwise_flow = otherwise.map(|otherwise| {
                    self.push_scope();
                    let flow = self.stmt(otherwise);
                    self.pop_scope();
                    flow
                });
                if then_flow == Flow::Stops && otherwise_flow == Some(Flow::Stops) {
                    Flow::Stops
                } else {
                    Flow::Continues
                }
            }
            Stmt::Local {
                readonly,
                ty,
                name,
                value,
            } => {
                let declared = self.resolve_type(&ty);
                self.native_table_rows(&declared, ty.node());
                if matches!(declared, Ty::Text | Ty::Holder(_)) {
                    self.error_with_help(
                        ty.node(),
                        Code::FieldTypeNotAllowed,
                        format!("The type '{declared}' is only available for document and record fields"),
                        "use a `string` (for text) or the message itself (for holder<M>) in a local",
                    );
                }
                let mut readonly_copy = false;
                match value {
                    Some(value) => {
                        let value_ty = self.expr(value).ty;
                        let origin = Some(Anchor::Node(ty.node()));
                        self.expect_storable_in(self.body.expr(value).node, &declared, &value_ty, false, origin);
                        readonly_copy = !readonly
                            && matches!(declared, Ty::Message(_))
                            && self.readonly_message_value(value);
                    }
                    None => match &declared {
                        Ty::Record(_) => self.error(name.node, Code::MissingInitializer, "Reactive pointers must be initialized"),
                        Ty::Future(_) | Ty::Channel(_) => self.error_with_help(
                            name.node,
                            Code::MissingInitializer,
                            format!("The type '{declared}' has no default value, so '{}' must be initialized", name.name),
                            "initialize it where it is declared, for example `future<M> f = channel.fetch(who);`",
                        ),
                        Ty::Json => self.error(name.node, Code::TypeMismatch, "expected 'json', found 'dynamic'"),
                        _ => {}
                    },
                }
                self.declare(&name, declared, readonly || readonly_copy);
                if readonly_copy {
                    let definition = self.local_definition(&name);
                    self.readonly_copies.push(definition);
                }
                Flow::Continues
            }
            Stmt::Infer { kind, name, value } => {
                let value = self.expr(value);
                // `let`, `var` and `auto` all take the initialiser's mutability (language section 3.9).
                let _: InferKind = kind;
                let readonly = !value.mutable_source && !matches!(value.ty, Ty::Record(_));
                self.declare(&name, value.ty, readonly);
                Flow::Continues
            }
            Stmt::While { condition, body } => {
                let ty = self.expr(condition).ty;
                self.expect_bool(self.body.expr(condition).node, &ty, false);
                self.loop_body(body);
                Flow::Continues
            }
            Stmt::DoWhile { body, condition } => {
                self.loop_body(body);
                let ty = self.expr(condition).ty;
                self.expect_bool(self.body.expr(condition).node, &ty, false);
                Flow::Continues
            }
            Stmt::For {
                init,
                condition,
                update,
                body,
            } => {
                self.push_scope();
                if let Some(init) = init {
                    self.stmt(init);
                }
                if let Some(condition) = condition {
                    let ty = self.expr(condition).ty;
                    self.expect_bool(self.body.expr(condition).node, &ty, false);
                }
                if let Some(update) = update {
                    self.stmt(update);
                }
                self.loop_body(body);
                self.pop_scope();
                Flow::Continues
            }
            Stmt::Foreach {
                variable,
                iterable,
                body,
            } => {
                let iterable_ty = self.expr(iterable).ty;
                let element = match &iterable_ty {
                    Ty::List(element) | Ty::Array(element) => (**element).clone(),
                    Ty::Map(key, value) => Ty::Pair(key.clone(), value.clone()),
                    Ty::Error => Ty::Error,
                    other => {
                        self.error(
                            self.body.expr(iterable).node,
                            Code::NotIterable,
                            format!("expected an array, list or map, found '{other}'"),
                        );
                        Ty::Error
                    }
                };
                // A map's entries are bound read-only: entries are written through `m[k]`.
                let readonly = matches!(element, Ty::Pair(_, _));
                self.push_scope();
                self.declare(&variable, element, readonly);
                self.loop_body(body);
                self.pop_scope();
                Flow::Continues
            }
            Stmt::Switch { value, body } => {
                let ty = self.expr(value).ty;
                if !matches!(ty, Ty::Int | Ty::String | Ty::Enum(_) | Ty::Error) {
                    self.error(
                        self.body.expr(value).node,
                        Code::SwitchRule,
                        "switch statements work with integer, string, or enum types",
                    );
                }
                self.switch_body(body, &ty)
            }
            Stmt::Case(_) => {
                self.error(
                    node,
                    Code::SwitchRule,
                    "case: requires being in a switch statement",
                );
                Flow::Continues
            }
            Stmt::Default => {
                self.error(
                    node,
                    Code::SwitchRule,
                    "default: requires being in a switch statement",
                );
                Flow::Continues
            }
            Stmt::Return(value) => {
                if self.return_statement(value, node) {
                    Flow::Stops
                } else {
                    Flow::Continues
                }
            }
            Stmt::Abort => {
                if !self.context.can_abort() {
                    self.error(
                        node,
                        Code::AbortContext,
                        "Can only 'abort' from a message handler or an abortable procedure/method",
                    );
                }
                Flow::Stops
            }
            Stmt::Wait => {
                if self.context.kind != CodeKind::State {
                    self.error(
                        node,
                        Code::AbortContext,
                        "Can only 'block' from a state machine transition",
                    );
                }
                Flow::Stops
            }
            Stmt::Transition { target, delay } => {
                self.state_machine_available(node, "transition");
                self.label_target(target);
                if let Some(delay) = delay {
                    let ty = self.expr(delay).ty;
                    self.expect_seconds(self.body.expr(delay).node, &ty);
                }
                Flow::Continues
            }
            Stmt::Invoke(target) | Stmt::Preempt(target) => {
                let word = if matches!(stmt, Stmt::Invoke(_)) {
                    "invoke"
                } else {
                    "preempt"
                };
                self.state_machine_available(node, word);
                self.label_target(target);
                Flow::Continues
            }
            Stmt::Assert(value) => {
                let ty = self.expr(value).ty;
                self.expect_bool(self.body.expr(value).node, &ty, false);
                Flow::Continues
            }
            Stmt::Log(value) => {
                if !self.context.is_test() {
                    self.error(
                        node,
                        Code::TestOnly,
                        "logs are only applicable within a test.",
                    );
                }
                let ty = self.expr(value).ty;
                self.expect_storable(self.body.expr(value).node, &Ty::String, &ty, false);
                Flow::Continues
            }
            Stmt::Step => {
                self.test_only(node);
                Flow::Continues
            }
            Stmt::Forward(seconds) => {
                self.test_only(node);
                let ty = self.expr(seconds).ty;
                self.expect_seconds(self.body.expr(seconds).node, &ty);
                Flow::Continues
            }
            Stmt::Pump { message, channel } => {
                self.test_only(node);
                self.deliver(&channel, message);
                Flow::Continues
            }
            Stmt::Send {
                channel,
                who,
                message,
            } => {
                self.test_only(node);
                let who_ty = self.expr(who).ty;
                self.expect_storable(self.body.expr(who).node, &Ty::Principal, &who_ty, false);
                self.deliver(&channel, message);
                Flow::Continues
            }
            Stmt::Aborts(block) => {
                self.test_only(node);
                let saved = self.context.kind;
                self.block(&block);
                self.context.kind = saved;
                Flow::Continues
            }
            Stmt::Assign { target, value } => {
                self.assignment(target, value);
                Flow::Continues
            }
            Stmt::Ingest {
                target,
                source,
                binding,
            } => {
                self.ingestion(target, source, binding.as_ref());
                Flow::Continues
            }
            Stmt::Expr(value) => {
                self.expr(value);
                Flow::Continues
            }
        }
    }

    /// A table outside the document (a local, a parameter) holds messages: records live only
    /// in the document's own tables.
    pub(super) fn native_table_rows(&mut self, ty: &Ty, node: crate::hir::NodeId) {
        let Ty::Table(rows) = ty else {
            return;
        };
        let Ty::Record(record) = &**rows else {
            return;
        };
        self.report(
            SemanticDiagnostic::new(
                node,
                Code::LocalTableOfRecords,
                format!("Type check failure: must have a type of 'message', but got a type of '{record}'."),
            )
            .shown_at(Anchor::TypeDeclaration(record.to_string()))
            .with_label(Anchor::Node(node), "a table of this record outside the document")
            .with_help("declare the rows as a message (`message Row { … }`) and use `table<Row>` here"),
        );
    }

    /// Whether a message value can not be written: a read-only local (a handler's message, a
    /// read-only copy of it) or what a future's `await()` delivers.
    fn readonly_message_value(&self, value: ExprId) -> bool {
        match &self.body.expr(value).expr {
            Expr::Paren(inner) => self.readonly_message_value(*inner),
            Expr::Name(ident) => self
                .lookup_local(&ident.name)
                .is_some_and(|local| local.readonly),
            Expr::Call { function, .. } => matches!(
                &self.body.expr(*function).expr,
                Expr::Member { member, .. } if member.name == "await"
            ),
            _ => false,
        }
    }

    /// A write through a read-only copy of a message (`M x = m; x.f = 1;`): both the variable
    /// and the field are read-only. Returns whether it reported.
    pub(super) fn readonly_copy_written(&mut self, node: crate::hir::NodeId) -> bool {
        let Some(index) = self.body.exprs.iter().position(|expr| expr.node == node) else {
            return false;
        };
        let mut id = ExprId(u32::try_from(index).unwrap_or(u32::MAX));
        let mut field = None;
        let root = loop {
            match &self.body.expr(id).expr {
                Expr::Member { object, member } => {
                    field = Some(member.name.clone());
                    id = *object;
                }
                Expr::Index { object, .. } => id = *object,
                Expr::Paren(inner) => id = *inner,
                Expr::Name(ident) => break ident.clone(),
                _ => return false,
            }
        };
        let Some(local) = self.lookup_local(&root.name) else {
            return false;
        };
        if !self.readonly_copies.contains(&local.definition) {
            return false;
        }
        let help = "declare the local first and assign it afterwards (`M copy; copy = m;`) for a writable copy";
        self.error_with_help(
            root.node,
            Code::ReadonlyCopy,
            format!("The variable '{}' is readonly", root.name),
            help,
        );
        if let Some(field) = field {
            self.error_with_help(
                node,
                Code::ReadonlyCopy,
                format!("The field '{field}' is on a readonly message"),
                help,
            );
        }
        true
    }

    fn loop_body(&mut self, body: StmtId) {
        self.push_scope();
        self.stmt(body);
        self.pop_scope();
    }

    /// A message a test queues on a channel must fit the channel's message type.
    fn deliver(&mut self, channel: &crate::hir::Ident, message: ExprId) {
        let message_ty = self.expr(message).ty;
        if let Some(channel_ty) = self.channel_exists(channel) {
            self.note(
                channel.node,
                super::Definition::Channel(channel.name.clone()),
            );
            self.expect_storable(
                self.body.expr(message).node,
                &channel_ty,
                &message_ty,
                false,
            );
        }
    }

    fn test_only(&mut self, node: crate::hir::NodeId) {
        if !self.context.is_test() {
            self.error(
                node,
                Code::TestOnly,
                "Forcing a step designed exclusively for testing",
            );
        }
    }

    /// The message type a channel accepts, reporting an unknown channel.
    fn channel_exists(&mut self, channel: &crate::hir::Ident) -> Option<Ty> {
        use crate::signatures::GlobalSig;
        match self.signatures.globals.get(&channel.name) {
            Some(GlobalSig::Handler { message, array }) => {
                let message = self.signatures.resolve_struct_name(message);
                Some(if *array { Ty::array(message) } else { message })
            }
            Some(GlobalSig::AsyncChannel { ty }) => Some(ty.clone()),
            _ => {
                self.error_suggesting(
                    channel.node,
                    Code::UnknownChannel,
                    format!("Channel '{}' does not exist", channel.name),
                    self.suggest_channel(&channel.name),
                );
                None
            }
        }
    }

    /// A number of seconds (`transition … in`, `@forward`): an int or a double.
    fn expect_seconds(&mut self, node: crate::hir::NodeId, ty: &Ty) {
        if !matches!(ty, Ty::Int | Ty::Double | Ty::Error) {
            self.error(
                node,
                Code::NotANumber,
                format!("expected 'int' or 'double', found '{ty}'"),
            );
        }
    }

    /// `@static` policies run before (or without) a document, so they have no state machine
    /// (language section 4.7).
    fn state_machine_available(&mut self, node: crate::hir::NodeId, word: &str) {
        if self.context.kind == CodeKind::Static {
            self.error_with_help(
                node,
                Code::ContextCapability,
                format!("'{word}' is not available in @static code: there is no document state machine yet"),
                "transition from @construct instead",
            );
        }
    }

    fn label_target(&mut self, target: ExprId) {
        let ty = self.expr(target).ty;
        if !matches!(ty, Ty::Label | Ty::Error) {
            self.error(
                self.body.expr(target).node,
                Code::TypeMismatch,
                format!("expected 'label', found '{ty}'"),
            );
        }
    }

    /// The cases of a switch. Within a case, what follows a statement that stops is unreachable
    /// up to the next label. The switch stops when it has a `default`, no `break`, at least one
    /// statement that stops, and a default section that stops.
    fn switch_body(&mut self, body: StmtId, value_ty: &Ty) -> Flow {
        let stmts = match &self.body.stmt(body).stmt {
            Stmt::Block(block) => block.stmts.clone(),
            _ => vec![body],
        };
        self.push_scope();
        let mut seen_default = None;
        let mut section_stopped = false;
        let mut in_default = false;
        let mut default_stops = false;
        let mut any_stops = false;
        let mut breaks = false;
        for stmt in stmts {
            let node = self.body.stmt(stmt).node;
            match self.body.stmt(stmt).stmt.clone() {
                Stmt::Case(value) => {
                    self.case_label(value, value_ty);
                    section_stopped = false;
                    in_default = false;
                }
                Stmt::Default => {
                    if let Some(first) = seen_default {
                        self.report(
                            SemanticDiagnostic::new(
                                node,
                                Code::SwitchRule,
                                "there can be only one default case",
                            )
                            .with_label(Anchor::Node(first), "the first default case"),
                        );
                    }
                    seen_default = seen_default.or(Some(node));
                    section_stopped = false;
                    in_default = true;
                }
                Stmt::Empty => {}
                _ => {
                    if section_stopped {
                        self.error(node, Code::SwitchUnreachable, "This code is unreachable.");
                    }
                    breaks |= self.breaks_switch(stmt);
                    if self.stmt(stmt) == Flow::Stops {
                        section_stopped = true;
                        any_stops = true;
                        default_stops |= in_default;
                    }
                }
            }
        }
        self.pop_scope();
        if seen_default.is_some() && !breaks && any_stops && default_stops {
            Flow::Stops
        } else {
            Flow::Continues
        }
    }

    /// Whether a statement of a switch case leaves the switch with `break` (a `break` inside a
    /// loop or a nested switch leaves that instead).
    fn breaks_switch(&self, stmt: StmtId) -> bool {
        let mut pending = vec![stmt];
        while let Some(stmt) = pending.pop() {
            match &self.body.stmt(stmt).stmt {
                Stmt::Break => return true,
                Stmt::Block(block) => pending.extend(block.stmts.iter().copied()),
                Stmt::If {
                    then, otherwise, ..
                } => {
                    pending.push(*then);
                    pending.extend(otherwise.iter().copied());
                }
                _ => {}
            }
        }
        false
    }

    fn case_label(&mut self, value: ExprId, switch_ty: &Ty) {
        let node = self.body.expr(value).node;
        let expr = self.body.expr(value).expr.clone();
        let (constant, label_ty) = match &expr {
            Expr::Literal(Literal::Int(_)) => (true, Ty::Int),
            Expr::Literal(Literal::String(_)) => (true, Ty::String),
            Expr::EnumValue { .. } => (true, self.expr(value).ty),
            _ => (false, self.expr(value).ty),
        };
        let kind = match switch_ty {
            Ty::Int => "an integer",
            Ty::String => "a string",
            Ty::Enum(_) => "an enum",
            _ => return,
        };
        let matches_switch = match (switch_ty, &label_ty) {
            (Ty::Enum(a), Ty::Enum(b)) => a == b,
            (Ty::Enum(a), Ty::Array(element)) => matches!(&**element, Ty::Enum(b) if a == b),
            (_, Ty::Error) => true,
            (a, b) => a == b,
        };
        if !constant || !matches_switch {
            self.error(
                node,
                Code::SwitchRule,
                format!("case label should be {kind} constant"),
            );
        }
    }

    /// Checks a `return`; whether it ends its path. A value that cannot be stored as the
    /// return type does not (as in the reference): the missing-return rules then point at it.
    fn return_statement(&mut self, value: Option<ExprId>, node: crate::hir::NodeId) -> bool {
        let expected = self.context.returns.clone();
        match (value, expected) {
            (Some(value), None) => {
                self.expr(value);
                self.error(
                    node,
                    Code::ReturnMismatch,
                    "The return statement expects no expression",
                );
            }
            (None, Some(expected)) if expected != Ty::Void => {
                self.error(
                    node,
                    Code::ReturnMismatch,
                    format!("The return statement expected an expression of type `{expected}`"),
                );
            }
            (Some(value), Some(expected)) => {
                let value_ty = self.expr(value).ty;
                let value_node = self.body.expr(value).node;
                let origin = self.return_origin.map(Anchor::Node);
                let fits = self.expect_storable_in(value_node, &expected, &value_ty, false, origin);
                if !fits {
                    self.unfit_returns.push(value_node);
                }
                self.special_return(&value_ty, value_node);
                if self.context.kind == CodeKind::Authorization && expected == Ty::Error {
                    self.authorization_return(&value_ty, value, node);
                }
                return fits;
            }
            _ => {}
        }
        true
    }

    /// What `@web` and `@authorization` handlers must return.
    fn special_return(&mut self, value_ty: &Ty, node: crate::hir::NodeId) {
        let fields: Vec<String> = match value_ty {
            Ty::Anonymous(fields) => fields.iter().map(|(name, _)| name.clone()).collect(),
            Ty::Message(_) => self
                .signatures
                .struct_of(value_ty)
                .map(|sig| sig.order.clone())
                .unwrap_or_default(),
            Ty::Error => return,
            _ => Vec::new(),
        };
        match self.context.kind {
            CodeKind::WebRead | CodeKind::WebWrite | CodeKind::WebOptions => {
                if !matches!(value_ty, Ty::Anonymous(_) | Ty::Message(_)) {
                    self.error(
                        node,
                        Code::ReturnMismatch,
                        "The @web handlers must return a message",
                    );
                    return;
                }
                const BODIES: [&str; 12] = [
                    "html", "xml", "js", "css", "csv", "error", "json", "sign", "identity",
                    "redirect", "forward", "asset",
                ];
                let n_bodies = fields
                    .iter()
                    .filter(|field| BODIES.contains(&field.as_str()))
                    .count();
                let expected = usize::from(self.context.kind != CodeKind::WebOptions);
                if n_bodies != expected {
                    self.error(
                        node,
                        Code::ReturnMismatch,
                        format!("The return statement within a @web expects exactly {} body type; got {n_bodies} instead", if expected == 1 { "one" } else { "no" }),
                    );
                }
            }
            _ => {}
        }
    }

    /// What `@authorization` returns: a message with a string `hash` and `agent`, and either
    /// both or neither of a string `channel` and a message `success` to send on it.
    fn authorization_return(&mut self, value_ty: &Ty, value: ExprId, node: crate::hir::NodeId) {
        let fields: Vec<(String, Ty)> = match value_ty {
            Ty::Error => return,
            Ty::Anonymous(_) | Ty::Message(_) => self.fields_of(value_ty).unwrap_or_default(),
            _ => {
                self.error(
                    node,
                    Code::ReturnMismatch,
                    "The return statement within a @authorization expects a message type",
                );
                return;
            }
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, ty)| ty.clone())
        };
        for name in ["hash", "agent", "channel", "success"] {
            let Some(ty) = field(name) else {
                continue;
            };
            let fits = if name == "success" {
                matches!(ty, Ty::Message(_) | Ty::Anonymous(_) | Ty::Error)
            } else {
                matches!(ty, Ty::String | Ty::Error)
            };
            if !fits {
                let expected = if name == "success" {
                    "message"
                } else {
                    "string"
                };
                let at = self.object_field_value(value, name).unwrap_or(value);
                self.error_with_help(
                    self.body.expr(at).node,
                    Code::ReturnMismatch,
                    format!("Type check failure: must have a type of '{expected}', but the type is actually '{ty}'"),
                    format!("the field '{name}' of an authorization must be a {expected}"),
                );
            }
        }
        if field("hash").is_none() {
            self.error(
                node,
                Code::ReturnMismatch,
                "The return statement within a @authorization expects a hash",
            );
        }
        if field("agent").is_none() {
            self.error(
                node,
                Code::ReturnMismatch,
                "The return statement within a @authorization expects an agent",
            );
        }
        if field("channel").is_some() != field("success").is_some() {
            self.error(
                node,
                Code::ReturnMismatch,
                "The return statement within a @authorization expects both a channel and a success field",
            );
        }
    }

    /// The value of the field `name` in an object literal (through parentheses).
    fn object_field_value(&self, value: ExprId, name: &str) -> Option<ExprId> {
        match &self.body.expr(value).expr {
            Expr::Paren(inner) => self.object_field_value(*inner, name),
            Expr::Object(fields) => fields
                .iter()
                .find(|field| field.name.name == name)
                .and_then(|field| field.value),
            _ => None,
        }
    }

    fn assignment(&mut self, target: ExprId, value: ExprId) {
        let target_node = self.body.expr(target).node;
        let target_value = self.target(target);
        let value_ty = self.expr(value).ty;
        match &target_value.ty {
            Ty::Table(_) => {
                self.error(
                    target_node,
                    Code::NotAssignable,
                    format!(
                        "The type '{}' is not applicable for assignment (=)",
                        target_value.ty
                    ),
                );
                return;
            }
            Ty::Record(_) if !matches!(target_value.place, Place::Local { .. }) => {
                self.error(
                    target_node,
                    Code::NotAssignable,
                    format!(
                        "The type '{}' is not applicable for assignment (=)",
                        target_value.ty
                    ),
                );
                return;
            }
            _ => {}
        }
        self.expect_writable(&target_value, target_node);
        let reactive = matches!(target_value.place, Place::Field { .. });
        let target_ty = match (&target_value.place, &target_value.ty) {
            (Place::Element, Ty::List(element)) => (**element).clone(),
            _ => target_value.ty.clone(),
        };
        if reactive && self.maybe_record_field_assigned(&target_ty, &value_ty, value) {
            return;
        }
        let origin = self.origin_of(target);
        self.expect_storable_in(
            self.body.expr(value).node,
            &target_ty,
            &value_ty,
            reactive,
            origin,
        );
    }

    /// A `maybe<R>` field holds a row of its own: it is filled by ingestion, never by pointing it
    /// at another record (language section 3.3). Returns whether it reported.
    fn maybe_record_field_assigned(&mut self, target: &Ty, value_ty: &Ty, value: ExprId) -> bool {
        let Ty::Maybe(inner) = target else {
            return false;
        };
        if !matches!(**inner, Ty::Record(_)) || !matches!(value_ty.unwrap_maybe(), Ty::Record(_)) {
            return false;
        }
        self.error_with_help(
            self.body.expr(value).node,
            Code::TypeMismatch,
            format!("expected '{target}', found '{value_ty}'"),
            "a maybe<record> field owns its record: fill it with ingestion (`field <- {...};`) and empty it with `.delete()`",
        );
        true
    }

    fn ingestion(&mut self, target: ExprId, source: ExprId, binding: Option<&crate::hir::Ident>) {
        let target_node = self.body.expr(target).node;
        let target_value = self.target(target);
        let source_ty = self.expr(source).ty;
        let source_node = self.body.expr(source).node;
        let target_struct = match &target_value.ty {
            Ty::Table(element) => Some((**element).clone()),
            Ty::Record(_) | Ty::Message(_) => Some(target_value.ty.clone()),
            Ty::Maybe(inner) if matches!(**inner, Ty::Record(_)) => Some((**inner).clone()),
            Ty::Map(_, _) | Ty::Error => None,
            other => {
                self.error(
                    target_node,
                    Code::BadIngestion,
                    format!("can not ingest into '{other}'"),
                );
                return;
            }
        };
        if let (
            Ty::Table(_),
            Place::Local {
                readonly: true,
                name,
            },
        ) = (&target_value.ty, &target_value.place)
        {
            self.error_with_help(
                target_node,
                Code::NotAssignable,
                format!("The variable '{name}' is readonly"),
                "declare the parameter `mutable table<…>` to fill it",
            );
        }
        if let Place::Field {
            readonly: true,
            name,
        } = &target_value.place
        {
            self.error(
                target_node,
                Code::NotAssignable,
                format!("The field '{name}' is readonly"),
            );
        }
        let map_involved = matches!(target_value.ty, Ty::Map(_, _))
            || (target_struct.is_some() && matches!(source_ty, Ty::Map(_, _)));
        if map_involved {
            self.nested_ingestion(&target_value.ty, &source_ty, target_node, source_node);
        }
        let (source_fields, many) = match &source_ty {
            Ty::Message(_) | Ty::Record(_) | Ty::Anonymous(_) => {
                (self.fields_of(&source_ty), false)
            }
            Ty::List(element) | Ty::Array(element) => (self.fields_of(element), true),
            Ty::Map(_, _) | Ty::Error => (None, false),
            other => {
                if let Some(target_struct) = &target_struct {
                    self.error(
                        source_node,
                        Code::BadIngestion,
                        format!(
                            "'{other}' can not be ingested into '{}'",
                            target_value.ty.clone()
                        ),
                    );
                    let _ = target_struct;
                }
                (None, false)
            }
        };
        if let (Some(target_struct), Some(source_fields)) = (&target_struct, source_fields) {
            let source_struct = match &source_ty {
                Ty::List(element) | Ty::Array(element) => (**element).clone(),
                other => other.clone(),
            };
            self.link_fields(target_struct, &source_struct);
            self.note_literal_fields(source_node, target_struct, &source_ty);
            let lossy = self
                .signatures
                .struct_of(&source_struct)
                .map(|sig| sig.lossy.clone())
                .unwrap_or_default();
            if let Some(target_sig) = self.signatures.struct_of(target_struct).cloned() {
                for (name, source_field) in &source_fields {
                    if name != "id"
                        && !target_sig.members.contains_key(name)
                        && !lossy.contains(name)
                    {
                        self.error(
                            source_node,
                            Code::BadIngestion,
                            format!("the field '{name}' would be lost by the ingestion"),
                        );
                    }
                    if name != "id"
                        && let Some(crate::signatures::MemberSig::Field { ty, .. }) =
                            target_sig.members.get(name)
                    {
                        let value_node = self
                            .object_field_value(source, name)
                            .map_or(source_node, |value| self.body.expr(value).node);
                        if ingestible(ty) {
                            self.nested_ingestion(ty, source_field, target_node, value_node);
                        } else {
                            self.ingested_field(ty, source_field, name, source_node);
                        }
                    }
                }
                for name in &target_sig.required {
                    if !source_fields.iter().any(|(field, _)| field == name) {
                        self.error(
                            source_node,
                            Code::BadIngestion,
                            format!("the field '{name}' is required by the ingestion but missing"),
                        );
                    }
                }
            }
        }
        if let Some(binding) = binding {
            let ty = if many { Ty::array(Ty::Int) } else { Ty::Int };
            self.declare(binding, ty, true);
        }
    }

    /// A plain field is ingested by assignment; a maybe source writes only when present
    /// (language section 3.11). Structures, tables and maps are ingested recursively.
    fn ingested_field(&mut self, target: &Ty, source: &Ty, name: &str, node: crate::hir::NodeId) {
        let recursive = |ty: &Ty| {
            super::expr::holds_structure(ty) || matches!(ty.unwrap_maybe(), Ty::Map(_, _))
        };
        if recursive(target) || recursive(source) {
            return;
        }
        let value = match target {
            Ty::Maybe(_) => source,
            _ => source.unwrap_maybe(),
        };
        if !crate::ty::can_store(target, value, true, self.signatures) {
            self.error_with_help(
                node,
                Code::BadIngestion,
                format!("expected '{target}', found '{source}'"),
                format!("the field '{name}' is ingested by assignment: give it a value of type '{target}'"),
            );
        }
    }

    /// Checks an ingestion into something that holds rows or entries, field by field and
    /// through nested tables, records and maps; reports what does not fit, then that the whole
    /// right hand side can not be ingested.
    fn nested_ingestion(
        &mut self,
        target: &Ty,
        source: &Ty,
        target_node: crate::hir::NodeId,
        source_node: crate::hir::NodeId,
    ) {
        let mut problems = Vec::new();
        if self.ingestion_problems(target, source, &mut problems, 0) {
            return;
        }
        for (message, at_source) in problems {
            let node = if at_source { source_node } else { target_node };
            self.error(node, Code::NestedIngestion, message);
        }
        self.error_with_help(
            target_node,
            Code::NestedIngestion,
            "Unable to ingest the right hand side",
            "give nested tables and records a list or an object of their fields, and maps a map with the same key type",
        );
    }

    /// Whether `source` can be ingested into `target`; what does not fit is added to `problems`
    /// with whether it is the source's fault (else the target's).
    fn ingestion_problems(
        &mut self,
        target: &Ty,
        source: &Ty,
        problems: &mut Vec<(String, bool)>,
        depth: usize,
    ) -> bool {
        // Types are finite, but a record may hold a table of itself: stop where data would.
        if source.is_error() || target.is_error() || depth > 32 {
            return true;
        }
        let unable = |problems: &mut Vec<(String, bool)>| {
            problems.push((
                format!("Type check failure: '{source}' unable to produce data to ingest into '{target}'."),
                true,
            ));
            false
        };
        if let Ty::Map(target_key, target_range) = target {
            let Ty::Map(source_key, source_range) = source else {
                return unable(problems);
            };
            let mut fits = true;
            if !crate::ty::can_store(target_key, source_key, false, self.signatures) {
                problems.push((
                    format!("Type check failure: domains are incompatible for ingestion {target_key} <- {source_key}."),
                    false,
                ));
                fits = false;
            }
            let ranges_fit = if ingestible(target_range) {
                self.ingestion_problems(target_range, source_range, problems, depth + 1)
            } else {
                crate::ty::can_store(target_range, source_range, true, self.signatures)
            };
            if !ranges_fit {
                problems.push((
                    "Type check failure: ranges are incompatible for ingestion.".to_owned(),
                    false,
                ));
                fits = false;
            }
            return fits;
        }
        let target_struct = match target {
            Ty::Table(inner) | Ty::Maybe(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let Some(target_sig) = self.signatures.struct_of(&target_struct).cloned() else {
            return true;
        };
        let source_struct = match source {
            Ty::List(element) | Ty::Array(element) => (**element).clone(),
            other => other.clone(),
        };
        if source_struct.is_error() {
            return true;
        }
        let Some(source_fields) = self.fields_of(&source_struct) else {
            return unable(problems);
        };
        // Nested fields are copied by name too: renaming one renames the other.
        self.link_fields(&target_struct, &source_struct);
        let lossy = self
            .signatures
            .struct_of(&source_struct)
            .map(|sig| sig.lossy.clone())
            .unwrap_or_default();
        let mut fits = true;
        for (name, source_field) in &source_fields {
            if name != "id" && !target_sig.members.contains_key(name) && !lossy.contains(name) {
                problems.push((
                    format!("The field '{name}' was lost during ingestion"),
                    true,
                ));
                fits = false;
            }
            if let Some(crate::signatures::MemberSig::Field { ty, .. }) =
                target_sig.members.get(name)
                && ingestible(ty)
            {
                fits &= self.ingestion_problems(ty, source_field, problems, depth + 1);
            }
        }
        fits
    }

    fn fields_of(&self, ty: &Ty) -> Option<Vec<(String, Ty)>> {
        match ty {
            Ty::Anonymous(fields) => Some((**fields).clone()),
            Ty::Message(_) | Ty::Record(_) => {
                let sig = self.signatures.struct_of(ty)?;
                Some(
                    sig.members
                        .iter()
                        .filter_map(|(name, member)| match member {
                            crate::signatures::MemberSig::Field { ty, .. } => {
                                Some((name.clone(), ty.clone()))
                            }
                            _ => None,
                        })
                        .collect(),
                )
            }
            _ => None,
        }
    }
}

/// Whether a value of this type is filled by ingestion rather than assignment: tables, records,
/// maps and maybes of records.
fn ingestible(ty: &Ty) -> bool {
    match ty {
        Ty::Table(_) | Ty::Record(_) | Ty::Map(_, _) => true,
        Ty::Maybe(inner) => matches!(**inner, Ty::Record(_)),
        _ => false,
    }
}
