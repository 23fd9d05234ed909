//! Names of code resolved to what they mean: frame slots for locals (with their scopes), slots
//! of the document, the record or the `where` element for fields, overloads for calls, library
//! names for library calls.

use super::*;

pub(super) struct Resolver<'b, 'a> {
    pub(super) builder: &'b mut Builder<'a>,
    pub(super) unit: u32,
    pub(super) scopes: Vec<HashMap<String, u32>>,
    /// Elements of enclosing `where` clauses: (local slot, element type).
    pub(super) elements: Vec<(u32, Ty)>,
    pub(super) record: Option<u32>,
    pub(super) message: Option<u32>,
    pub(super) filter: bool,
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

    fn declare(&mut self, name: &str) -> u32 {
        let slot = self.builder.alloc(self.unit);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_owned(), slot);
        }
        slot
    }

    fn declare_stmt(&mut self, stmt: StmtId, name: &str) {
        let slot = self.declare(name);
        if let Some(entry) = self.unit().stmt_slots.get_mut(stmt.0 as usize) {
            *entry = slot;
        }
    }

    fn scoped(&mut self, run: impl FnOnce(&mut Self)) {
        self.scopes.push(HashMap::new());
        run(self);
        self.scopes.pop();
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
                        RecordMember::Ingested { body, .. } => self.block_scoped(body),
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
                        MessageMember::Parsed { body, .. } => self.block_scoped(body),
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
                let slot = self.builder.program.handlers[&channel.name.name].param_slot;
                self.scoped(|this| {
                    this.scopes
                        .last_mut()
                        .map(|scope| scope.insert(channel.parameter.name.clone(), slot));
                    this.block(&channel.body);
                });
            }
            Decl::Rpc(rpc) => {
                let handler = self.builder.program.handlers[&rpc.name.name].clone();
                // The rpc parameters are read from the generated message: bind each to a local
                // filled by the runtime from the message's fields, in order.
                let (who_slot, slots) = handler.rpc.clone().unwrap_or_default();
                self.scoped(|this| {
                    if let Some(scope) = this.scopes.last_mut() {
                        scope.insert(rpc.who.name.clone(), who_slot);
                        for (param, slot) in rpc.params.iter().zip(slots) {
                            scope.insert(param.name.name.clone(), slot);
                        }
                    }
                    this.block(&rpc.body);
                });
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
                self.scoped(|this| {
                    if let (Some(slot), Some(scope)) = (slot, this.scopes.last_mut()) {
                        scope.insert(name.name.clone(), slot);
                    }
                    this.block(body);
                });
            }
            Decl::State { body, .. }
            | Decl::Event { body, .. }
            | Decl::Cron { body, .. }
            | Decl::Test { body, .. }
            | Decl::Authorize { body, .. }
            | Decl::Password { body, .. } => self.block_scoped(body),
            Decl::Constructor { parameter, body } => {
                let slot = self
                    .builder
                    .program
                    .constructors
                    .iter()
                    .find(|constructor| constructor.unit == unit)
                    .and_then(|constructor| constructor.param.map(|(slot, _)| slot));
                self.scoped(|this| {
                    if let (Some((_, name)), Some(slot)) = (parameter, slot) {
                        this.scopes
                            .last_mut()
                            .map(|scope| scope.insert(name.name.clone(), slot));
                    }
                    this.block(body);
                });
            }
            Decl::Web(web) => {
                let definition = self
                    .builder
                    .program
                    .webs
                    .iter()
                    .find(|def| def.unit == unit)
                    .cloned();
                self.scoped(|this| {
                    if let (Some(definition), Some(scope)) = (definition, this.scopes.last_mut()) {
                        for (segment, resolved) in web.path.iter().zip(&definition.segments) {
                            match (segment, resolved) {
                                (
                                    crate::hir::UriSegment::Parameter { name, .. },
                                    WebSegment::Param { slot, .. },
                                )
                                | (crate::hir::UriSegment::Rest(name), WebSegment::Rest { slot }) =>
                                {
                                    scope.insert(name.name.clone(), *slot);
                                }
                                _ => {}
                            }
                        }
                        if let (Some((_, name)), Some((slot, _))) =
                            (&web.parameter, definition.param)
                        {
                            scope.insert(name.name.clone(), slot);
                        }
                    }
                    this.block(&web.body);
                });
            }
            Decl::Authorization { body, .. } => self.block_scoped(body),
            Decl::Static { entries, .. } => {
                for entry in entries {
                    match entry {
                        StaticEntry::Policy { body, .. } => self.block_scoped(body),
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
                self.scoped(|this| {
                    if let (Some(item), Some(scope)) = (item, this.scopes.last_mut()) {
                        scope.insert(join.item.name.clone(), item);
                    }
                    this.expr(join.from);
                    this.expr(join.to);
                });
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
                self.block_scoped(&definition.body.clone());
                continue;
            };
            let record = definition.record;
            let saved = self.record;
            if record.is_some() {
                self.record = record;
            }
            self.scoped(|this| {
                for (param, slot) in function.params.iter().zip(&definition.params) {
                    this.scopes
                        .last_mut()
                        .map(|scope| scope.insert(param.name.name.clone(), *slot));
                }
                if let Some(slot) = definition.self_slot {
                    this.scopes
                        .last_mut()
                        .map(|scope| scope.insert("self".to_owned(), slot));
                }
                this.block(&function.body);
            });
            self.record = saved;
        }
    }

    fn block_scoped(&mut self, block: &Block) {
        self.scoped(|this| this.block(block));
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
            Stmt::Block(block) => self.block_scoped(block),
            Stmt::If {
                condition,
                binding,
                then,
                otherwise,
            } => {
                self.expr(*condition);
                self.scoped(|this| {
                    if let Some(binding) = binding {
                        this.declare_stmt(id, &binding.name);
                    }
                    this.stmt(*then);
                });
                if let Some(otherwise) = otherwise {
                    self.scoped(|this| this.stmt(*otherwise));
                }
            }
            Stmt::Local {
                name, value, ty, ..
            } => {
                if let Some(value) = value {
                    self.expr(*value);
                }
                self.declare_stmt(id, &name.name);
                let declared = self.builder.ty(ty);
                if let Some(entry) = self.unit().local_types.get_mut(id.0 as usize) {
                    *entry = declared;
                }
            }
            Stmt::Infer { name, value, .. } => {
                self.expr(*value);
                self.declare_stmt(id, &name.name);
            }
            Stmt::While { condition, body } | Stmt::DoWhile { body, condition } => {
                self.expr(*condition);
                self.scoped(|this| this.stmt(*body));
            }
            Stmt::For {
                init,
                condition,
                update,
                body,
            } => self.scoped(|this| {
                if let Some(init) = init {
                    this.stmt(*init);
                }
                if let Some(condition) = condition {
                    this.expr(*condition);
                }
                if let Some(update) = update {
                    this.stmt(*update);
                }
                this.scoped(|this| this.stmt(*body));
            }),
            Stmt::Foreach {
                variable,
                iterable,
                body,
            } => {
                self.expr(*iterable);
                self.scoped(|this| {
                    this.declare_stmt(id, &variable.name);
                    this.stmt(*body);
                });
            }
            Stmt::Switch { value, body } => {
                self.expr(*value);
                self.scoped(|this| this.stmt(*body));
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
            Stmt::Aborts(block) => self.block_scoped(block),
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
                    self.declare_stmt(id, &binding.name);
                }
            }
        }
    }

    fn lookup_local(&self, name: &str) -> Option<u32> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.get(name).copied())
    }

    fn element_field(&self, name: &str) -> Option<Res> {
        for (local, ty) in self.elements.iter().rev() {
            if let Some((record, slot)) = self.struct_slot(ty, name) {
                let _ = record;
                return Some(Res::ElementField {
                    local: *local,
                    slot,
                });
            }
        }
        None
    }

    /// The slot of a member in a record or message type: (is record, slot).
    fn struct_slot(&self, ty: &Ty, name: &str) -> Option<(bool, u32)> {
        let program = &self.builder.program;
        match ty.unwrap_maybe() {
            Ty::Record(record) => program
                .record_index
                .get(&**record)
                .and_then(|index| program.records[*index as usize].slot_index.get(name))
                .map(|slot| (true, *slot)),
            Ty::Message(message) | Ty::Holder(message) => program
                .message_index
                .get(&**message)
                .and_then(|index| {
                    program.messages[*index as usize]
                        .fields
                        .iter()
                        .position(|field| field.name == name)
                })
                .map(|slot| (false, slot as u32)),
            Ty::Anonymous(fields) => fields
                .iter()
                .position(|(field, _)| field == name)
                .map(|slot| (false, slot as u32)),
            Ty::Pair(..) => match name {
                "key" => Some((false, 0)),
                "value" => Some((false, 1)),
                _ => None,
            },
            _ => None,
        }
    }

    fn name(&mut self, expr: ExprId, ident: &Ident) {
        let name = ident.name.as_str();
        if let Some(res) = self.element_field(name) {
            self.set(expr, res);
            return;
        }
        if let Some(slot) = self.lookup_local(name) {
            self.set(expr, Res::Local(slot));
            return;
        }
        if let Some(record) = self.record
            && let Some(slot) = self.builder.program.records[record as usize]
                .slot_index
                .get(name)
        {
            let slot = *slot;
            self.set(expr, Res::SelfField(slot));
            return;
        }
        if let Some(message) = self.message
            && let Some(slot) = self.builder.program.messages[message as usize]
                .fields
                .iter()
                .position(|field| field.name == name)
        {
            self.set(expr, Res::SelfField(slot as u32));
            return;
        }
        if self.filter
            && let Some(index) = self
                .builder
                .program
                .views
                .iter()
                .position(|(view, _)| view == name)
        {
            self.set(expr, Res::ViewField(index as u32));
            return;
        }
        if let Some(slot) = self.builder.program.records[0].slot_index.get(name) {
            let slot = *slot;
            self.set(expr, Res::RootField(slot));
            return;
        }
        if self.builder.program.handlers.contains_key(name) {
            self.set(expr, Res::Handler(Arc::from(name)));
            return;
        }
        if let Some(text) = self.builder.program.templates.get(name) {
            let text = Arc::clone(text);
            self.set(expr, Res::Template(text));
            return;
        }
        if self.builder.program.async_channels.contains_key(name) {
            self.set(expr, Res::AsyncChannel(Arc::from(name)));
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
                if let Some(index) = self.builder.program.enum_index.get(&enumeration.name) {
                    let layout = &self.builder.program.enums[*index as usize];
                    let res = match label {
                        Some(label) if !*prefix => Res::EnumConst(
                            layout
                                .labels
                                .iter()
                                .find(|(name, _)| *name == label.name)
                                .map_or(layout.default, |(_, value)| *value),
                        ),
                        Some(label) => Res::EnumSet(
                            layout
                                .labels
                                .iter()
                                .filter(|(name, _)| name.starts_with(&label.name))
                                .map(|(_, value)| *value)
                                .collect(),
                        ),
                        None => {
                            Res::EnumSet(layout.labels.iter().map(|(_, value)| *value).collect())
                        }
                    };
                    self.set(id, res);
                }
            }
            Expr::Member { object, member } => {
                self.expr(*object);
                let object_ty = self.ty_of(*object);
                if let Expr::At(crate::hir::AtConstant::Viewer) = item.body.expr(*object).expr {
                    if let Some(index) = self
                        .builder
                        .program
                        .views
                        .iter()
                        .position(|(view, _)| *view == member.name)
                    {
                        self.set(id, Res::ViewField(index as u32));
                    }
                    return;
                }
                let res = match &object_ty {
                    // The checker decided which element a tuple member names.
                    Ty::Tuple(_) => self
                        .builder
                        .names
                        .get(self.unit as usize)
                        .and_then(|names| names.get(member.node))
                        .and_then(|resolved| match resolved.definition {
                            crate::check::Definition::TupleElement(index) => {
                                Some(Res::MessageField(index))
                            }
                            _ => None,
                        }),
                    Ty::Maybe(inner) => self
                        .struct_slot(inner, &member.name)
                        .map(|(record, slot)| Res::MaybeField { record, slot }),
                    Ty::List(element) | Ty::Array(element) => self
                        .struct_slot(element, &member.name)
                        .map(|(record, slot)| Res::Projection { record, slot }),
                    other => self.struct_slot(other, &member.name).map(|(record, slot)| {
                        if record {
                            Res::RecordSlot(slot)
                        } else {
                            Res::MessageField(slot)
                        }
                    }),
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
                let slot = self.builder.alloc(self.unit);
                self.set(id, Res::LambdaSlot(slot));
                self.scoped(|this| {
                    this.scopes
                        .last_mut()
                        .map(|scope| scope.insert(parameter.name.clone(), slot));
                    this.expr(*body);
                });
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
                let key_names: Vec<&str> = match clause {
                    Clause::Order(keys) => keys.iter().map(|key| key.field.name.as_str()).collect(),
                    Clause::Reduce { key, .. } => vec![key.name.as_str()],
                    Clause::Unique { key: Some(key), .. } => vec![key.name.as_str()],
                    _ => Vec::new(),
                };
                let keys: Arc<[u32]> = key_names
                    .iter()
                    .map(|name| {
                        self.struct_slot(&element, name)
                            .map_or(u32::MAX, |(_, slot)| slot)
                    })
                    .collect();
                self.set(id, Res::Query { slot, keys });
                let function_argument = match clause {
                    Clause::Map(_) => Some(element.clone()),
                    Clause::Reduce { .. } => Some(Ty::list(element.clone())),
                    _ => None,
                };
                match clause {
                    Clause::Where(predicate) => {
                        self.elements.push((slot, element));
                        self.expr(*predicate);
                        self.elements.pop();
                    }
                    Clause::WhereAs { binding, predicate } => self.scoped(|this| {
                        this.scopes
                            .last_mut()
                            .map(|scope| scope.insert(binding.name.clone(), slot));
                        this.expr(*predicate);
                    }),
                    Clause::Rank {
                        binding,
                        score,
                        threshold,
                    } => self.scoped(|this| {
                        this.scopes
                            .last_mut()
                            .map(|scope| scope.insert(binding.name.clone(), slot));
                        this.expr(*score);
                        if let Some(threshold) = threshold {
                            this.expr(*threshold);
                        }
                    }),
                    Clause::OrderDyn(value) | Clause::Limit(value) | Clause::Offset(value) => {
                        self.expr(*value)
                    }
                    Clause::Map(function)
                    | Clause::Reduce {
                        function: Some(function),
                        ..
                    } => {
                        self.expr(*function);
                        self.function_value(*function, function_argument.unwrap_or(Ty::Error));
                    }
                    _ => {}
                }
            }
        }
    }

    /// A function named as a value (`map f`, `reduce … via f`): the overload that takes the
    /// argument, recorded on the name.
    fn function_value(&mut self, expr: ExprId, argument: Ty) {
        let item = self.body();
        match &item.body.expr(expr).expr {
            Expr::Paren(inner) => self.function_value(*inner, argument),
            Expr::Name(ident) => {
                let ids = self.top_level_functions(&ident.name);
                if let Some(fid) = self.pick(&ids, &[argument]) {
                    self.set(expr, Res::Call(fid));
                }
            }
            _ => {}
        }
    }

    fn call(&mut self, id: ExprId, function: ExprId, arguments: &[ExprId]) {
        let item = self.body();
        let argument_types: Vec<Ty> = arguments.iter().map(|arg| self.ty_of(*arg)).collect();
        match &item.body.expr(function).expr {
            Expr::Name(ident) => {
                // A record method called by its bare name from the record's own code.
                if let Some(record) = self.record
                    && let Some(ids) = self.builder.program.records[record as usize]
                        .methods
                        .get(&ident.name)
                        .cloned()
                    && let Some(fid) = self.pick(&ids, &argument_types)
                {
                    self.set(id, Res::MethodCall(fid));
                    return;
                }
                let ids = self.top_level_functions(&ident.name);
                if let Some(fid) = self.pick(&ids, &argument_types) {
                    self.set(id, Res::Call(fid));
                } else {
                    self.expr(function);
                }
            }
            Expr::Member { object, member } => {
                let object_ty = self.ty_of(*object);
                if let Ty::Global(namespace) = &object_ty {
                    self.set(
                        id,
                        Res::Builtin {
                            name: Arc::from(format!("{namespace}.{}", member.name)),
                            method: false,
                        },
                    );
                    return;
                }
                self.expr(*object);
                let object_ty = self.ty_of(*object);
                match &object_ty {
                    Ty::Record(_) | Ty::Message(_) => {
                        if let Some(fid) = self.method(&object_ty, &member.name, &argument_types) {
                            self.set(id, Res::MethodCall(fid));
                            return;
                        }
                    }
                    Ty::Enum(enumeration) => {
                        if let Some(index) = self.builder.program.enum_index.get(&**enumeration)
                            && let Some(entries) = self.builder.program.enums[*index as usize]
                                .dispatchers
                                .get(&member.name)
                                .cloned()
                        {
                            // Overloads differ by parameters: keep, per label, those that take
                            // these arguments.
                            let ids: Vec<FnId> =
                                entries.iter().map(|(_, function)| *function).collect();
                            let exact: Vec<FnId> = ids
                                .iter()
                                .copied()
                                .filter(|function| self.takes(*function, &argument_types))
                                .collect();
                            let targets: Arc<[(i32, FnId)]> = entries
                                .into_iter()
                                .filter(|(_, function)| exact.contains(function))
                                .collect();
                            self.set(id, Res::DispatchCall(targets));
                            return;
                        }
                    }
                    Ty::List(element) | Ty::Array(element) => {
                        if matches!(**element, Ty::Record(_))
                            && let Some(fid) = self.method(element, &member.name, &argument_types)
                        {
                            self.set(id, Res::ProjectedCall(fid));
                            return;
                        }
                    }
                    _ => {}
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

    /// The overload of a record's or message's method that takes these arguments.
    fn method(&self, ty: &Ty, name: &str, arguments: &[Ty]) -> Option<FnId> {
        let program = &self.builder.program;
        let methods = match ty {
            Ty::Record(record) => {
                &program.records[*program.record_index.get(&**record)? as usize].methods
            }
            Ty::Message(message) => {
                &program.messages[*program.message_index.get(&**message)? as usize].methods
            }
            _ => return None,
        };
        self.pick(methods.get(name)?, arguments)
    }

    /// The top-level functions and procedures of a name (its overloads).
    fn top_level_functions(&self, name: &str) -> Vec<FnId> {
        let program = &self.builder.program;
        program
            .functions
            .iter()
            .enumerate()
            .filter(|(_, function)| {
                function.name == name
                    && function.record.is_none()
                    && function.self_slot.is_none()
                    && is_top_level(program, function)
            })
            .map(|(index, _)| index as FnId)
            .collect()
    }

    /// Whether a callable takes these argument types.
    fn takes(&self, function: FnId, arguments: &[Ty]) -> bool {
        let function = &self.builder.program.functions[function as usize];
        function.param_types.len() == arguments.len()
            && function
                .param_types
                .iter()
                .zip(arguments)
                .all(|(param, arg)| can_store(param, arg, false, self.builder.sigs))
    }

    /// The overload whose parameters accept the argument types.
    fn pick(&self, ids: &[FnId], arguments: &[Ty]) -> Option<FnId> {
        let functions = &self.builder.program.functions;
        ids.iter()
            .copied()
            .find(|id| {
                let function = &functions[*id as usize];
                function.param_types.len() == arguments.len()
                    && function
                        .param_types
                        .iter()
                        .zip(arguments)
                        .all(|(param, arg)| can_store(param, arg, false, self.builder.sigs))
            })
            .or_else(|| {
                ids.iter()
                    .copied()
                    .find(|id| functions[*id as usize].param_types.len() == arguments.len())
            })
    }
}

fn is_top_level(program: &Program, function: &FunctionDef) -> bool {
    matches!(
        program.units[function.unit as usize].item.decl,
        Decl::Function(_) | Decl::Procedure(_)
    )
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
