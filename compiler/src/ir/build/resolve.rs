//! The code of each unit turned into what the runtime reads: frame slots for locals, and the
//! checker's resolution of every name (a [`Definition`]) turned into a slot of the document, the
//! record or the `where` element, a field index, an overload's [`FnId`] or a library name.
//!
//! Invariant: no name is looked up here by its spelling in a scope: what a name means comes
//! from the checker's record (`CheckedItem::names`); this module only allocates slots and maps
//! definitions onto the layouts.

use super::*;
use crate::check::{Definition, Owner};
use crate::hir::NodeId;

pub(super) struct Resolver<'b, 'a> {
    pub(super) builder: &'b mut Builder<'a>,
    pub(super) unit: u32,
    /// The frame slot of each local, by the node of the name that declares it.
    pub(super) slots: HashMap<NodeId, u32>,
    /// Elements of enclosing `where` clauses: (local slot, element type).
    pub(super) elements: Vec<(u32, Ty)>,
    pub(super) record: Option<RecordId>,
    pub(super) message: Option<MessageId>,
    /// The slot of a dispatcher's `self`.
    pub(super) receiver: Option<u32>,
}

impl Resolver<'_, '_> {
    fn unit(&mut self) -> &mut CodeUnit {
        &mut self.builder.program.units[self.unit as usize]
    }

    fn ty_of(&self, expr: ExprId) -> Ty {
        self.builder.program.units[self.unit as usize]
            .types
            .get(expr.0 as usize)
            .cloned()
            .unwrap_or(Ty::Error)
    }

    fn set(&mut self, expr: ExprId, res: Res) {
        if let Some(slot) = self.unit().res.get_mut(expr.0 as usize) {
            *slot = res;
        }
    }

    /// What the checker resolved the name at `node` to.
    fn resolved(&self, node: NodeId) -> Option<Definition> {
        self.builder
            .names
            .get(self.unit as usize)?
            .get(node)
            .map(|resolved| resolved.definition.clone())
    }

    /// The handler a channel or rpc declaration declares, through the checker's record of the
    /// declaring name.
    fn declared_handler(&self, name: &Ident) -> Option<&HandlerDef> {
        match self.resolved(name.node)? {
            Definition::Channel(channel) => self.builder.program.handlers.get(&channel),
            _ => None,
        }
    }

    /// Binds the local declared by `name` to a slot.
    fn bind(&mut self, name: &Ident, slot: u32) {
        self.slots.insert(name.node, slot);
    }

    fn declare(&mut self, name: &Ident) -> u32 {
        let slot = self.builder.alloc(self.unit);
        self.bind(name, slot);
        slot
    }

    fn declare_stmt(&mut self, stmt: StmtId, name: &Ident) {
        let slot = self.declare(name);
        if let Some(entry) = self.unit().stmt_slots.get_mut(stmt.0 as usize) {
            *entry = slot;
        }
    }

    pub(super) fn item(&mut self, item: &Item) {
        let unit = self.unit;
        // Parameters of every callable in this unit, declared in their own scopes.
        let functions: Vec<FunctionDef> = self
            .builder
            .program
            .functions
            .iter()
            .filter(|function| function.unit == unit)
            .cloned()
            .collect();
        match &item.decl {
            Decl::Field(field) => {
                if let Some(value) = field.value {
                    self.expr(value);
                }
            }
            Decl::Formula(formula) => self.expr(formula.value),
            Decl::Bubble(bubble) => self.expr(bubble.value),
            Decl::Record(record) => {
                for member in &record.members {
                    match member {
                        RecordMember::Field(field) => {
                            if let Some(value) = field.value {
                                self.expr(value);
                            }
                        }
                        RecordMember::Formula(formula) => self.expr(formula.value),
                        RecordMember::Bubble(bubble) => self.expr(bubble.value),
                        RecordMember::Ingested { body, .. } => self.block(body),
                        RecordMember::Join(join) => {
                            self.expr(join.from);
                            self.expr(join.to);
                        }
                        RecordMember::Replication(replication) => self.expr(replication.value),
                        _ => {}
                    }
                }
                self.functions(&functions, item);
            }
            Decl::Message(message) => {
                for member in &message.members {
                    match member {
                        MessageMember::Field(field) => {
                            if let Some(value) = field.value {
                                self.expr(value);
                            }
                        }
                        MessageMember::Parsed { body, .. } => self.block(body),
                        _ => {}
                    }
                }
                self.functions(&functions, item);
            }
            Decl::Function(_)
            | Decl::Procedure(_)
            | Decl::Dispatch(_)
            | Decl::Policy(_)
            | Decl::Filter(_) => self.functions(&functions, item),
            Decl::Channel(channel) => {
                if let Some(handler) = self.declared_handler(&channel.name) {
                    self.bind(&channel.parameter, handler.param_slot);
                }
                self.block(&channel.body);
            }
            Decl::Rpc(rpc) => {
                // The rpc parameters are read from the generated message: bind each to a local
                // filled by the runtime from the message's fields, in order.
                if let Some((who_slot, slots)) = self
                    .declared_handler(&rpc.name)
                    .and_then(|handler| handler.rpc.clone())
                {
                    self.bind(&rpc.who, who_slot);
                    for (param, slot) in rpc.params.iter().zip(slots) {
                        self.bind(&param.name, slot);
                    }
                }
                self.block(&rpc.body);
            }
            Decl::Event {
                kind: crate::hir::EventKind::Attached(name),
                body,
            } => {
                let slot = self
                    .builder
                    .program
                    .attached
                    .iter()
                    .find(|(owner, _, _)| *owner == unit)
                    .map(|(_, slot, _)| *slot);
                if let Some(slot) = slot {
                    self.bind(name, slot);
                }
                self.block(body);
            }
            Decl::State { body, .. }
            | Decl::Event { body, .. }
            | Decl::Cron { body, .. }
            | Decl::Test { body, .. } => self.block(body),
            Decl::Authorize {
                username,
                password,
                body,
            } => {
                let slots = self
                    .builder
                    .program
                    .authorize
                    .as_ref()
                    .filter(|definition| definition.unit == unit)
                    .map(|definition| (definition.username, definition.password));
                if let Some((username_slot, password_slot)) = slots {
                    self.bind(username, username_slot);
                    self.bind(password, password_slot);
                }
                self.block(body);
            }
            Decl::Password { parameter, body } => {
                let slot = self
                    .builder
                    .program
                    .password
                    .as_ref()
                    .filter(|definition| definition.unit == unit)
                    .map(|definition| definition.slot);
                if let Some(slot) = slot {
                    self.bind(parameter, slot);
                }
                self.block(body);
            }
            Decl::Constructor { parameter, body } => {
                let slot = self
                    .builder
                    .program
                    .constructors
                    .iter()
                    .find(|constructor| constructor.unit == unit)
                    .and_then(|constructor| constructor.param.map(|(slot, _)| slot));
                if let (Some((_, name)), Some(slot)) = (parameter, slot) {
                    self.bind(name, slot);
                }
                self.block(body);
            }
            Decl::Web(web) => {
                let definition = self
                    .builder
                    .program
                    .webs
                    .iter()
                    .find(|def| def.unit == unit)
                    .cloned();
                if let Some(definition) = definition {
                    for (segment, resolved) in web.path.iter().zip(&definition.segments) {
                        match (segment, resolved) {
                            (
                                crate::hir::UriSegment::Parameter { name, .. },
                                WebSegment::Param { slot, .. },
                            )
                            | (crate::hir::UriSegment::Rest(name), WebSegment::Rest { slot }) => {
                                self.bind(name, *slot);
                            }
                            _ => {}
                        }
                    }
                    if let (Some((_, name)), Some((slot, _))) = (&web.parameter, definition.param) {
                        self.bind(name, slot);
                    }
                }
                self.block(&web.body);
            }
            Decl::Authorization {
                parameter, body, ..
            } => {
                let slot = self
                    .builder
                    .program
                    .authorizations
                    .iter()
                    .find(|definition| definition.unit == unit)
                    .map(|definition| definition.slot);
                if let Some(slot) = slot {
                    self.bind(parameter, slot);
                }
                self.block(body);
            }
            Decl::Static { context, entries } => {
                let slot = self
                    .builder
                    .program
                    .static_context
                    .iter()
                    .find(|(owner, _)| *owner == unit)
                    .map(|(_, slot)| *slot);
                if let (Some(context), Some(slot)) = (context, slot) {
                    self.bind(context, slot);
                }
                for entry in entries {
                    match entry {
                        StaticEntry::Policy { body, .. } => self.block(body),
                        StaticEntry::Setting { value, .. } => self.expr(*value),
                    }
                }
            }
            Decl::Metric { value, .. } | Decl::Traffic { value } => self.expr(*value),
            Decl::Replication(replication) => self.expr(replication.value),
            Decl::Join(join) => {
                let item = self
                    .builder
                    .program
                    .joins
                    .iter()
                    .find(|definition| definition.unit == unit)
                    .map(|definition| definition.item);
                if let Some(item) = item {
                    self.bind(&join.item, item);
                }
                self.expr(join.from);
                self.expr(join.to);
            }
            _ => {}
        }
    }

    fn functions(&mut self, functions: &[FunctionDef], item: &Item) {
        // Match the unit's function definitions to the HIR functions by body identity.
        let hir_functions = hir_functions(item);
        for definition in functions {
            let Some(function) = hir_functions.iter().find(|function| {
                function.body == definition.body && function.name.name == definition.name
            }) else {
                // Policies and filters have no parameters.
                self.block(&definition.body.clone());
                continue;
            };
            let record = definition.record;
            let saved = self.record;
            if record.is_some() {
                self.record = record;
            }
            for (param, slot) in function.params.iter().zip(&definition.params) {
                self.bind(&param.name, *slot);
            }
            let saved_receiver = self.receiver;
            if definition.self_slot.is_some() {
                self.receiver = definition.self_slot;
            }
            self.block(&function.body);
            self.receiver = saved_receiver;
            self.record = saved;
        }
    }

    fn block(&mut self, block: &Block) {
        for stmt in &block.stmts {
            self.stmt(*stmt);
        }
    }

    fn body(&self) -> Arc<Item> {
        Arc::clone(&self.builder.program.units[self.unit as usize].item)
    }

    fn stmt(&mut self, id: StmtId) {
        let item = self.body();
        let stmt = &item.body.stmt(id).stmt;
        match stmt {
            Stmt::Empty
            | Stmt::Break
            | Stmt::Continue
            | Stmt::Abort
            | Stmt::Wait
            | Stmt::Step
            | Stmt::Default => {}
            Stmt::Block(block) => self.block(block),
            Stmt::If {
                condition,
                binding,
                then,
                otherwise,
            } => {
                self.expr(*condition);
                if let Some(binding) = binding {
                    self.declare_stmt(id, binding);
                }
                self.stmt(*then);
                if let Some(otherwise) = otherwise {
                    self.stmt(*otherwise);
                }
            }
            Stmt::Local {
                name, value, ty, ..
            } => {
                if let Some(value) = value {
                    self.expr(*value);
                }
                self.declare_stmt(id, name);
                let declared = self.builder.ty(ty);
                if let Some(entry) = self.unit().local_types.get_mut(id.0 as usize) {
                    *entry = declared;
                }
            }
            Stmt::Infer { name, value, .. } => {
                self.expr(*value);
                self.declare_stmt(id, name);
            }
            Stmt::While { condition, body } | Stmt::DoWhile { body, condition } => {
                self.expr(*condition);
                self.stmt(*body);
            }
            Stmt::For {
                init,
                condition,
                update,
                body,
            } => {
                if let Some(init) = init {
                    self.stmt(*init);
                }
                if let Some(condition) = condition {
                    self.expr(*condition);
                }
                if let Some(update) = update {
                    self.stmt(*update);
                }
                self.stmt(*body);
            }
            Stmt::Foreach {
                variable,
                iterable,
                body,
            } => {
                self.expr(*iterable);
                self.declare_stmt(id, variable);
                self.stmt(*body);
            }
            Stmt::Switch { value, body } => {
                self.expr(*value);
                self.stmt(*body);
            }
            Stmt::Case(value)
            | Stmt::Invoke(value)
            | Stmt::Preempt(value)
            | Stmt::Assert(value)
            | Stmt::Log(value)
            | Stmt::Forward(value)
            | Stmt::Expr(value) => self.expr(*value),
            Stmt::Return(value) => {
                if let Some(value) = value {
                    self.expr(*value);
                }
            }
            Stmt::Transition { target, delay } => {
                self.expr(*target);
                if let Some(delay) = delay {
                    self.expr(*delay);
                }
            }
            Stmt::Pump { message, .. } => self.expr(*message),
            Stmt::Send { who, message, .. } => {
                self.expr(*who);
                self.expr(*message);
            }
            Stmt::Aborts(block) => self.block(block),
            Stmt::Assign { target, value } => {
                self.expr(*target);
                self.expr(*value);
            }
            Stmt::Ingest {
                target,
                source,
                binding,
            } => {
                self.expr(*target);
                self.expr(*source);
                if let Some(binding) = binding {
                    self.declare_stmt(id, binding);
                }
            }
        }
    }

    /// The slot of a field of a record or message: (is a record, slot or field index).
    fn member_slot(&self, owner: &Owner, name: &str) -> Option<(bool, u32)> {
        let program = &self.builder.program;
        match owner {
            Owner::Document => program.records[RecordId::ROOT]
                .slot_index
                .get(name)
                .map(|slot| (true, *slot)),
            Owner::Record(record) => program
                .record_index
                .get(record)
                .and_then(|index| program.records[*index].slot_index.get(name))
                .map(|slot| (true, *slot)),
            Owner::Message(message) => program
                .message_index
                .get(message)
                .and_then(|index| {
                    program.messages[*index]
                        .fields
                        .iter()
                        .position(|field| field.name == name)
                })
                .map(|slot| (false, slot as u32)),
        }
    }

    /// A field read by its bare name: of the innermost `where` element of its type, else of the
    /// record or message whose code this is, else of the document.
    fn bare_field(&self, owner: &Owner, name: &str) -> Option<Res> {
        let (_, slot) = self.member_slot(owner, name)?;
        let owns = |ty: &Ty| match (owner, ty) {
            (Owner::Record(record), Ty::Record(element)) => **element == **record,
            (Owner::Message(message), Ty::Message(element) | Ty::Holder(element)) => {
                **element == **message
            }
            _ => false,
        };
        if let Some((local, _)) = self.elements.iter().rev().find(|(_, ty)| owns(ty)) {
            return Some(Res::ElementField {
                local: *local,
                slot,
            });
        }
        let program = &self.builder.program;
        match owner {
            Owner::Document => Some(Res::RootField(slot)),
            Owner::Record(record) => (self.record == program.record_index.get(record).copied())
                .then_some(Res::SelfField(slot)),
            Owner::Message(message) => (self.message
                == program.message_index.get(message).copied())
            .then_some(Res::SelfField(slot)),
        }
    }

    fn view_index(&self, name: &str) -> Option<u32> {
        self.builder
            .program
            .views
            .iter()
            .position(|(view, _)| view == name)
            .map(|index| index as u32)
    }

    fn name(&mut self, expr: ExprId, ident: &Ident) {
        let res = match self.resolved(ident.node) {
            Some(Definition::Local { node, .. }) => self.slots.get(&node).copied().map(Res::Local),
            Some(Definition::Receiver) => self.receiver.map(Res::Local),
            Some(Definition::Field { owner, name }) => self.bare_field(&owner, &name),
            Some(Definition::Replication { owner, name }) => self.bare_field(&owner, &name),
            Some(Definition::View(name)) => self.view_index(&name).map(Res::ViewField),
            Some(Definition::Channel(name)) => {
                let program = &self.builder.program;
                if program.handlers.contains_key(&name) {
                    Some(Res::Handler(Arc::from(name.as_str())))
                } else if program.async_channels.contains_key(&name) {
                    Some(Res::AsyncChannel(Arc::from(name.as_str())))
                } else {
                    None
                }
            }
            Some(Definition::Template(name)) => self
                .builder
                .program
                .templates
                .get(&name)
                .map(|text| Res::Template(Arc::clone(text))),
            _ => None,
        };
        if let Some(res) = res {
            self.set(expr, res);
        }
    }

    fn exprs(&mut self, ids: &[ExprId]) {
        for id in ids {
            self.expr(*id);
        }
    }

    fn expr(&mut self, id: ExprId) {
        let item = self.body();
        let expr = &item.body.expr(id).expr;
        match expr {
            Expr::Missing | Expr::Literal(_) | Expr::At(_) | Expr::DateTime(_) => {}
            Expr::Date { .. } | Expr::Time { .. } | Expr::TimeSpan { .. } => {}
            Expr::EmptyList(_) | Expr::EmptyMaybe(_) => {}
            Expr::Name(ident) => self.name(id, ident),
            Expr::EnumValue {
                enumeration,
                label,
                prefix,
            } => {
                // The checker recorded the enum and, for `E::X`, the label; only a prefix
                // (`E::X*`) is a pattern over the layout's labels rather than a name.
                let layout = match self.resolved(enumeration.node) {
                    Some(Definition::Enum(name)) => self
                        .builder
                        .program
                        .enum_named(&name)
                        .map(|index| &self.builder.program.enums[index]),
                    _ => None,
                };
                if let Some(layout) = layout {
                    let labels = || layout.labels.iter();
                    let res = match label {
                        Some(label) if !*prefix => match self.resolved(label.node) {
                            Some(Definition::EnumLabel { label, .. }) => Res::EnumConst(
                                labels()
                                    .find(|(name, _)| *name == label)
                                    .map_or(layout.default, |(_, value)| *value),
                            ),
                            _ => Res::EnumConst(layout.default),
                        },
                        Some(label) => Res::EnumSet(
                            labels()
                                .filter(|(name, _)| name.starts_with(&label.name))
                                .map(|(_, value)| *value)
                                .collect(),
                        ),
                        None => Res::EnumSet(labels().map(|(_, value)| *value).collect()),
                    };
                    self.set(id, res);
                }
            }
            Expr::Member { object, member } => {
                self.expr(*object);
                let object_ty = self.ty_of(*object);
                let res = match self.resolved(member.node) {
                    Some(Definition::View(name)) => self.view_index(&name).map(Res::ViewField),
                    Some(Definition::Element(index)) => Some(Res::MessageField(index)),
                    Some(Definition::Field { owner, name }) => {
                        self.member_slot(&owner, &name)
                            .map(|(record, slot)| match &object_ty {
                                Ty::Maybe(_) => Res::MaybeField { record, slot },
                                Ty::List(_) | Ty::Array(_) => Res::Projection { record, slot },
                                _ if record => Res::RecordSlot(slot),
                                _ => Res::MessageField(slot),
                            })
                    }
                    _ => None,
                };
                if let Some(res) = res {
                    self.set(id, res);
                }
            }
            Expr::Index { object, index } => {
                self.expr(*object);
                self.expr(*index);
            }
            Expr::Call {
                function,
                arguments,
            } => {
                self.exprs(arguments);
                self.call(id, *function, arguments);
            }
            Expr::Binary { left, right, .. } => {
                self.expr(*left);
                self.expr(*right);
            }
            Expr::Prefix { operand, .. }
            | Expr::Postfix { operand, .. }
            | Expr::Paren(operand)
            | Expr::MaybeOf(operand)
            | Expr::Iterate(operand) => self.expr(*operand),
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                self.expr(*condition);
                self.expr(*then);
                self.expr(*otherwise);
            }
            Expr::Contains { key, map, .. } => {
                self.expr(*key);
                self.expr(*map);
            }
            Expr::Compound { target, value, .. } => {
                self.expr(*target);
                self.expr(*value);
            }
            Expr::Tuple(items) | Expr::Array(items) => self.exprs(items),
            Expr::Object(fields) => {
                for (index, field) in fields.iter().enumerate() {
                    match field.value {
                        Some(value) => self.expr(value),
                        None => {
                            // `{x}` reads the name x: resolve it as a name, then move the result
                            // to the shorthand table.
                            let saved = self.unit().res[id.0 as usize].clone();
                            self.name(id, &field.name);
                            let res = std::mem::replace(&mut self.unit().res[id.0 as usize], saved);
                            self.unit().shorthand.insert((id.0, index as u32), res);
                        }
                    }
                }
            }
            Expr::Pair { key, value } => {
                self.expr(*key);
                self.expr(*value);
            }
            Expr::Lambda { parameter, body } => {
                let slot = self.declare(parameter);
                self.set(id, Res::LambdaSlot(slot));
                self.expr(*body);
            }
            Expr::Convert { value, .. } => self.expr(*value),
            Expr::Query { source, clause } => {
                self.expr(*source);
                let element = match self.ty_of(*source) {
                    Ty::List(element) | Ty::Array(element) => *element,
                    Ty::Table(element) => *element,
                    _ => Ty::Error,
                };
                let slot = self.builder.alloc(self.unit);
                let key_names: Vec<&Ident> = match clause {
                    Clause::Order(keys) => keys.iter().map(|key| &key.field).collect(),
                    Clause::Reduce { key, .. } => vec![key],
                    Clause::Unique { key: Some(key), .. } => vec![key],
                    _ => Vec::new(),
                };
                let keys: Arc<[u32]> = key_names
                    .iter()
                    .map(|key| match self.resolved(key.node) {
                        Some(Definition::Field { owner, name }) => self
                            .member_slot(&owner, &name)
                            .map_or(u32::MAX, |(_, slot)| slot),
                        _ => u32::MAX,
                    })
                    .collect();
                self.set(id, Res::Query { slot, keys });
                match clause {
                    Clause::Where(predicate) => {
                        self.elements.push((slot, element));
                        self.expr(*predicate);
                        self.elements.pop();
                    }
                    Clause::WhereAs { binding, predicate } => {
                        self.bind(binding, slot);
                        self.expr(*predicate);
                    }
                    Clause::Rank {
                        binding,
                        score,
                        threshold,
                    } => {
                        self.bind(binding, slot);
                        self.expr(*score);
                        if let Some(threshold) = threshold {
                            self.expr(*threshold);
                        }
                    }
                    Clause::OrderDyn(value) | Clause::Limit(value) | Clause::Offset(value) => {
                        self.expr(*value)
                    }
                    Clause::Map(function)
                    | Clause::Reduce {
                        function: Some(function),
                        ..
                    } => {
                        self.expr(*function);
                        self.function_value(*function);
                    }
                    _ => {}
                }
            }
        }
    }

    /// A function named as a value (`map f`, `reduce … via f`): the overload the checker chose,
    /// recorded on the name.
    fn function_value(&mut self, expr: ExprId) {
        let item = self.body();
        match &item.body.expr(expr).expr {
            Expr::Paren(inner) => self.function_value(*inner),
            Expr::Name(ident) => {
                if let Some(fid) = self.callee(ident.node) {
                    self.set(expr, Res::Call(fid));
                }
            }
            _ => {}
        }
    }

    /// The top-level function or procedure the name at `node` calls.
    fn callee(&self, node: NodeId) -> Option<FnId> {
        let Some(Definition::Function {
            name,
            procedure,
            overload,
        }) = self.resolved(node)
        else {
            return None;
        };
        let program = &self.builder.program;
        program
            .functions
            .iter()
            .enumerate()
            .filter(|(_, function)| {
                function.name == name
                    && function.record.is_none()
                    && function.self_slot.is_none()
                    && match program.units[function.unit as usize].item.decl {
                        Decl::Function(_) => !procedure,
                        Decl::Procedure(_) => procedure,
                        _ => false,
                    }
            })
            .nth(overload as usize)
            .map(|(index, _)| index as FnId)
    }

    /// The method overload the name at `node` calls: (whose method, its id).
    fn method_callee(&self, node: NodeId) -> Option<(Owner, FnId)> {
        let Some(Definition::Method {
            owner,
            name,
            overload,
        }) = self.resolved(node)
        else {
            return None;
        };
        let program = &self.builder.program;
        let methods = match &owner {
            Owner::Record(record) => &program.records[*program.record_index.get(record)?].methods,
            Owner::Message(message) => {
                &program.messages[*program.message_index.get(message)?].methods
            }
            Owner::Document => return None,
        };
        let fid = *methods.get(&name)?.get(overload as usize)?;
        Some((owner, fid))
    }

    fn call(&mut self, id: ExprId, function: ExprId, arguments: &[ExprId]) {
        let item = self.body();
        match &item.body.expr(function).expr {
            Expr::Name(ident) => {
                // A record method called by its bare name from the record's own code.
                if let Some((Owner::Record(_), fid)) = self.method_callee(ident.node) {
                    self.set(id, Res::MethodCall(fid));
                } else if let Some(fid) = self.callee(ident.node) {
                    self.set(id, Res::Call(fid));
                } else {
                    self.expr(function);
                }
            }
            Expr::Member { object, member } => {
                if let Some(Definition::Library(name)) = self.resolved(member.node) {
                    self.set(
                        id,
                        Res::Builtin {
                            name: Arc::from(name.as_str()),
                            method: false,
                        },
                    );
                    return;
                }
                self.expr(*object);
                let object_ty = self.ty_of(*object);
                if let Some((_, fid)) = self.method_callee(member.node) {
                    let res = match object_ty {
                        Ty::List(_) | Ty::Array(_) => Res::ProjectedCall(fid),
                        _ => Res::MethodCall(fid),
                    };
                    self.set(id, res);
                    return;
                }
                if let Some(Definition::Dispatcher { enumeration, name }) =
                    self.resolved(member.node)
                    && let Some(index) = self.builder.program.enum_index.get(&enumeration)
                    && let Some(entries) = self.builder.program.enums[*index]
                        .dispatchers
                        .get(&name)
                        .cloned()
                {
                    // Overloads differ by parameters: keep, per label, the dispatchers of the
                    // overload that fits the arguments best (a void dispatcher may have several
                    // per label; all run).
                    let argument_types: Vec<Ty> =
                        arguments.iter().map(|arg| self.ty_of(*arg)).collect();
                    let functions = &self.builder.program.functions;
                    let mut declared: Vec<FnId> = entries.iter().map(|(_, f)| *f).collect();
                    declared.sort_unstable();
                    declared.dedup();
                    let chosen = crate::ty::best_overload(
                        declared
                            .iter()
                            .map(|f| functions[*f as usize].param_types.as_slice()),
                        &argument_types,
                        self.builder.sigs,
                    )
                    .map(|index| functions[declared[index] as usize].param_types.clone());
                    let targets: Arc<[(i32, FnId)]> = entries
                        .into_iter()
                        .filter(|(_, function)| {
                            chosen.as_ref() == Some(&functions[*function as usize].param_types)
                        })
                        .collect();
                    self.set(id, Res::DispatchCall(targets));
                    return;
                }
                self.set(
                    id,
                    Res::Builtin {
                        name: Arc::from(format!("{}.{}", type_category(&object_ty), member.name)),
                        method: true,
                    },
                );
            }
            _ => self.expr(function),
        }
    }
}

fn hir_functions(item: &Item) -> Vec<&Function> {
    match &item.decl {
        Decl::Function(function) | Decl::Procedure(function) => vec![function],
        Decl::Dispatch(dispatch) => vec![&dispatch.function],
        Decl::Record(record) => record
            .members
            .iter()
            .filter_map(|member| match member {
                RecordMember::Method(function) => Some(function),
                _ => None,
            })
            .collect(),
        Decl::Message(message) => message
            .members
            .iter()
            .filter_map(|member| match member {
                MessageMember::Method(function) => Some(function),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
