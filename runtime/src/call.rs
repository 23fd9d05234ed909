//! Calls: user functions and methods, enum dispatchers, and the library (including the methods
//! that touch the document: deleting rows, async channels, futures).

use std::sync::Arc;

use adama_compiler::hir::{Expr, ExprId};
use adama_compiler::ir::{Program, Res};
use adama_compiler::ty::Ty;

use crate::document::{Ask, Document, Meta, Timeout};
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::exec::Flow;
use crate::host_request::{HostRequest, ViewStatePush};
use crate::library::{BuiltinFn, Host};
use crate::place::Place;
use crate::random::JavaRandom;
use crate::store::Parent;
use crate::value::{FutureRef, Principal, Value};

/// What the library sees of the document.
struct DocumentHost<'a> {
    meta: &'a mut Meta,
    rng: &'a mut JavaRandom,
    key: &'a str,
    space: &'a str,
}

impl Host for DocumentHost<'_> {
    fn now_ms(&self) -> i64 {
        self.meta.time
    }
    fn time_zone(&self) -> &str {
        &self.meta.timezone
    }
    fn set_time_zone(&mut self, zone: &str) -> bool {
        let known = zone == "UTC" || zone == "Z";
        if known {
            self.meta.timezone = Arc::from(zone);
        }
        known
    }
    fn random(&mut self) -> &mut JavaRandom {
        self.rng
    }
    fn document_key(&self) -> &str {
        self.key
    }
    fn document_space(&self) -> &str {
        self.space
    }
    fn seq(&self) -> i32 {
        self.meta.seq
    }
}

impl Document {
    /// What the library sees of this document.
    fn host(&mut self) -> DocumentHost<'_> {
        DocumentHost {
            meta: &mut self.meta,
            rng: &mut self.rng,
            key: &self.key,
            space: &self.space,
        }
    }

    pub(crate) fn call(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: ExprId,
        function: ExprId,
        arguments: &[ExprId],
    ) -> Result<Value, Fault> {
        let unit = &program.units[frame.unit as usize];
        let res = unit.res[id.0 as usize].clone();
        let receiver_expr = match &unit.item.body.expr(function).expr {
            Expr::Member { object, .. } => Some(*object),
            _ => None,
        };
        match res {
            Res::Call(function) => {
                let args = self.eval_args(program, frame, arguments)?;
                let who = frame.who.clone();
                let (result, callee) =
                    self.run_function(program, function, args, Value::Void, who)?;
                self.write_back_tables(program, frame, function, arguments, &callee)?;
                Ok(result)
            }
            Res::MethodCall(function) => {
                let receiver = match receiver_expr {
                    Some(object) => self.eval(program, frame, object)?,
                    None => frame.this.clone(),
                };
                let receiver = match receiver {
                    Value::Maybe(Some(inner)) => *inner,
                    Value::Maybe(None) => return Ok(Value::Maybe(None)),
                    other => other,
                };
                let args = self.eval_args(program, frame, arguments)?;
                let who = frame.who.clone();
                let (result, callee) = self.run_function(program, function, args, receiver, who)?;
                self.write_back_tables(program, frame, function, arguments, &callee)?;
                Ok(result)
            }
            Res::ProjectedCall(function) => {
                let list = match receiver_expr {
                    Some(object) => self.eval(program, frame, object)?,
                    None => Value::list(Vec::new()),
                };
                let args = self.eval_args(program, frame, arguments)?;
                let mut results = Vec::new();
                for item in list.as_list().iter() {
                    results.push(self.call_function(
                        program,
                        function,
                        args.clone(),
                        item.clone(),
                        frame.who.clone(),
                    )?);
                }
                Ok(Value::list(results))
            }
            Res::DispatchCall(targets) => {
                let receiver = match receiver_expr {
                    Some(object) => self.eval(program, frame, object)?,
                    None => Value::Enum(0),
                };
                let label = receiver.as_int();
                let args = self.eval_args(program, frame, arguments)?;
                // The targets are in the order a call tries them: a returning dispatch takes
                // the first (a catch-all only when nothing more precise matches), a void one
                // runs them all.
                let mut result = Value::Void;
                for target in targets
                    .iter()
                    .filter(|(value, _)| *value == label)
                    .map(|(_, function)| *function)
                {
                    result = self.call_function(
                        program,
                        target,
                        args.clone(),
                        Value::Enum(label),
                        frame.who.clone(),
                    )?;
                    if program.functions[target as usize].returns != Ty::Void {
                        break;
                    }
                }
                Ok(result)
            }
            Res::Builtin { name, method } => {
                let native = self
                    .loaded
                    .natives
                    .get(frame.unit as usize)
                    .and_then(|unit| unit.get(id.0 as usize))
                    .copied()
                    .unwrap_or(Native::Missing);
                if let (Native::Special(special), Some(object)) = (native, receiver_expr) {
                    return self.document_method(program, frame, special, object, arguments);
                }
                let mut args = Vec::with_capacity(arguments.len() + 1);
                if method && let Some(object) = receiver_expr {
                    args.push(self.eval(program, frame, object)?);
                }
                for argument in arguments {
                    args.push(self.eval(program, frame, *argument)?);
                }
                match native {
                    Native::Document(DocumentFunction::Patch) => {
                        // `Document.patch(d)`: the object merged into the document's fields as
                        // writes of this transaction.
                        if let Some(Value::Dynamic(patch)) =
                            args.first().and_then(Value::unwrap_maybe)
                        {
                            let patch = Arc::clone(patch);
                            self.patch_record(program, self.root, &patch)?;
                        }
                        Ok(Value::Void)
                    }
                    Native::Document(function) => {
                        Ok(self.document_function(function, &args, &frame.who))
                    }
                    Native::Library { function, clock } => {
                        if clock {
                            self.track_clock();
                        }
                        let mut host = self.host();
                        let result = function(&mut host, &args)?;
                        // What a library function made (a joined string, a list) counts
                        // once it exists: its size follows from its arguments, which the
                        // budget already bounds.
                        if matches!(
                            result,
                            Value::Str(_) | Value::List(_) | Value::Map(_) | Value::NativeTable(_)
                        ) {
                            self.allocate(crate::memory::value_bytes(&result))?;
                        }
                        Ok(result)
                    }
                    Native::Special(_) | Native::Missing => Err(Fault::error(
                        codes::RUNTIME_FAILURE,
                        format!("the library has no '{name}'"),
                    )),
                }
            }
            _ => Err(Fault::error(
                codes::RUNTIME_FAILURE,
                "this call has no target at runtime",
            )),
        }
    }

    fn eval_args(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        arguments: &[ExprId],
    ) -> Result<Vec<Value>, Fault> {
        let mut args = Vec::with_capacity(arguments.len());
        for argument in arguments {
            args.push(self.eval(program, frame, *argument)?);
        }
        Ok(args)
    }

    /// Runs a function, procedure, method, dispatcher or policy.
    pub(crate) fn call_function(
        &mut self,
        program: &Program,
        function: u32,
        args: Vec<Value>,
        this: Value,
        who: Principal,
    ) -> Result<Value, Fault> {
        self.run_function(program, function, args, this, who)
            .map(|(result, _)| result)
    }

    /// A native table passed to a function is the caller's table (the reference passes it by
    /// reference): what the callee ingested into its parameter is written back to the argument.
    fn write_back_tables(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        function: u32,
        arguments: &[ExprId],
        callee: &Frame,
    ) -> Result<(), Fault> {
        let definition = &program.functions[function as usize];
        for ((slot, ty), argument) in definition
            .params
            .iter()
            .zip(&definition.param_types)
            .zip(arguments)
        {
            // Only a named table can be written back without evaluating the argument again.
            let named = matches!(
                program.units[frame.unit as usize]
                    .item
                    .body
                    .expr(*argument)
                    .expr,
                Expr::Name(_)
            );
            if !matches!(ty, Ty::Table(_)) || !named {
                continue;
            }
            let Ok(place) = self.place(program, frame, *argument) else {
                continue;
            };
            let value = callee.slots[*slot as usize].clone();
            if matches!(value, Value::NativeTable(_)) {
                self.assign(program, frame, &place, value)?;
            }
        }
        Ok(())
    }

    /// Runs a function and gives its result with its frame as the body left it.
    fn run_function(
        &mut self,
        program: &Program,
        function: u32,
        args: Vec<Value>,
        this: Value,
        who: Principal,
    ) -> Result<(Value, Frame), Fault> {
        self.charge()?;
        if self.run.depth >= self.limits.max_depth {
            return Err(Fault::error(
                codes::RECURSION_TOO_DEEP,
                format!(
                    "calls nested deeper than {} (unbounded recursion?)",
                    self.limits.max_depth
                ),
            ));
        }
        let definition = &program.functions[function as usize];
        let mut frame = Frame::new(program, definition.unit, who);
        for ((slot, ty), value) in definition
            .params
            .iter()
            .zip(&definition.param_types)
            .zip(args)
        {
            frame.slots[*slot as usize] = self.coerce(ty, value);
        }
        if let Some(slot) = definition.self_slot {
            frame.slots[slot as usize] = this.clone();
        }
        frame.this = this;
        if let Some(hook) = self.hook.as_mut() {
            hook.enter(crate::document::Callee::Function(function));
        }
        self.run.depth += 1;
        let flow = self.block(program, &mut frame, &definition.body);
        self.run.depth -= 1;
        if let Some(hook) = self.hook.as_mut() {
            hook.leave();
        }
        let result = match flow? {
            Flow::Return(value) => self.coerce(&definition.returns, value),
            _ => Value::Void,
        };
        Ok((result, frame))
    }

    /// Library functions that need the document itself.
    fn document_function(
        &mut self,
        function: DocumentFunction,
        args: &[Value],
        who: &Principal,
    ) -> Value {
        match function {
            DocumentFunction::Template { escape } => {
                let text = args.first().map_or("", Value::as_str);
                let data = match args.get(1) {
                    Some(Value::Dynamic(json)) => (**json).clone(),
                    _ => serde_json::Value::Null,
                };
                Value::some(Value::Str(Arc::from(
                    fill_template(text, &data, escape).as_str(),
                )))
            }
            DocumentFunction::Key => Value::string(&self.key),
            DocumentFunction::Space => Value::string(&self.space),
            DocumentFunction::Seq => Value::Int(self.meta.seq),
            DocumentFunction::Destroy => {
                self.run.host.push(HostRequest::Destroy);
                Value::Void
            }
            DocumentFunction::Disconnect => {
                if let Some(who) = args.first().and_then(Value::unwrap_maybe) {
                    self.run
                        .host
                        .push(HostRequest::Disconnect(who.as_principal()));
                }
                Value::Void
            }
            DocumentFunction::Rewind | DocumentFunction::Patch => Value::Void,
            // The item reaches the client whose message is being handled, when there is one.
            DocumentFunction::ViewState(push) => {
                let arguments: Vec<serde_json::Value> =
                    args.iter().map(|value| self.to_view_json(value)).collect();
                self.run.host.push(HostRequest::ViewState {
                    who: who.clone(),
                    item: push.item(&arguments),
                });
                Value::Bool(true)
            }
        }
    }

    /// Methods that touch the document or need the program's layouts.
    fn document_method(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        special: Special,
        object: ExprId,
        arguments: &[ExprId],
    ) -> Result<Value, Fault> {
        let unit = &program.units[frame.unit as usize];
        let object_ty = unit
            .types
            .get(object.0 as usize)
            .cloned()
            .unwrap_or(Ty::Error);
        Ok(match special {
            Special::RecordDelete => {
                if let Value::Record(record) = self.eval(program, frame, object)? {
                    self.delete_record(record);
                }
                Value::Void
            }
            Special::ListDelete => {
                let list = self.eval(program, frame, object)?;
                for item in list.as_list().iter() {
                    if let Value::Record(record) = item {
                        self.delete_record(*record);
                    }
                }
                Value::Void
            }
            Special::TableSize => match self.eval(program, frame, object)? {
                Value::Table(table) => {
                    let value = self.iterate(&Value::Table(table));
                    Value::Int(value.as_list().len() as i32)
                }
                Value::NativeTable(rows) => Value::Int(rows.len() as i32),
                _ => Value::Int(0),
            },
            Special::TableDelete | Special::MapClear => {
                let place = self.place(program, frame, object)?;
                let empty = match special {
                    Special::TableDelete => Value::NativeTable(Arc::new(Vec::new())),
                    _ => Value::Map(Arc::new(std::collections::BTreeMap::new())),
                };
                self.assign(program, frame, &place, empty)?;
                Value::Void
            }
            Special::MapRemove => {
                let key = match arguments.first() {
                    Some(argument) => self.eval(program, frame, *argument)?.to_map_key(),
                    None => return Ok(Value::Maybe(None)),
                };
                let place = self.place(program, frame, object)?;
                let current = self.read_place(program, frame, &place)?;
                let Value::Map(mut map) = current else {
                    return Ok(Value::Maybe(None));
                };
                let removed = Arc::make_mut(&mut map).remove(&key);
                self.assign(program, frame, &place, Value::Map(map))?;
                match removed {
                    Some(value) => Value::some(value),
                    None => Value::Maybe(None),
                }
            }
            Special::MapInsert => {
                let other = match arguments.first() {
                    Some(argument) => self.eval(program, frame, *argument)?,
                    None => Value::Void,
                };
                let place = self.insert_target(program, frame, object)?;
                let current = self.read_place(program, frame, &place)?;
                let Value::Map(mut map) = current else {
                    return Ok(Value::Void);
                };
                if let Value::Map(other) = other {
                    let target = Arc::make_mut(&mut map);
                    for (key, value) in other.iter() {
                        target.insert(key.clone(), value.clone());
                    }
                }
                self.assign(program, frame, &place, Value::Map(Arc::clone(&map)))?;
                Value::Map(map)
            }
            Special::MaybeDelete => match self.place(program, frame, object)? {
                // `m[k].delete()` removes the key.
                Place::Entry(parent, key) => {
                    if let Value::Map(mut map) = self.read_place(program, frame, &parent)? {
                        Arc::make_mut(&mut map).remove(&key);
                        self.assign(program, frame, &parent, Value::Map(map))?;
                    }
                    Value::Void
                }
                place => {
                    self.assign(program, frame, &place, Value::Maybe(None))?;
                    Value::Void
                }
            },
            Special::Enum(operation) => {
                let value = self.eval(program, frame, object)?.as_int();
                let Ty::Enum(enum_name) = object_ty.unwrap_maybe() else {
                    return Ok(Value::Enum(value));
                };
                let Some(index) = program.enum_named(enum_name) else {
                    return Ok(Value::Enum(value));
                };
                let labels = &program.enums[index].labels;
                let position = labels.iter().position(|(_, v)| *v == value).unwrap_or(0);
                match operation {
                    EnumOperation::ToInt => Value::Int(value),
                    EnumOperation::ToString => {
                        Value::string(labels.get(position).map_or("", |(label, _)| label.as_str()))
                    }
                    EnumOperation::Next => {
                        Value::Enum(labels[(position + 1) % labels.len().max(1)].1)
                    }
                    EnumOperation::Prev => Value::Enum(
                        labels[(position + labels.len().max(1) - 1) % labels.len().max(1)].1,
                    ),
                }
            }
            Special::Ask(kind) => {
                let channel = self.eval(program, frame, object)?.as_str().to_owned();
                let args = self.eval_args(program, frame, arguments)?;
                let who = args.first().map(Value::as_principal).unwrap_or_default();
                let array = program
                    .async_channels
                    .get(&channel)
                    .is_some_and(|definition| definition.array);
                let options = match kind {
                    AskKind::Decide | AskKind::Choose => {
                        let options = args
                            .get(1)
                            .map(|v| v.as_list().to_vec())
                            .unwrap_or_default();
                        if options.is_empty() {
                            return Ok(Value::Future(FutureRef(u32::MAX)));
                        }
                        let limit = if kind == AskKind::Choose {
                            args.get(2).map_or(1, Value::as_int)
                        } else {
                            1
                        };
                        let options: Vec<serde_json::Value> = options
                            .iter()
                            .map(|option| self.to_view_json(option))
                            .collect();
                        Some((options, limit, limit))
                    }
                    AskKind::Fetch | AskKind::FetchTimed => None,
                };
                let id = self.meta.auto_future_id + self.run.asks.len() as i32 + 1;
                let timeout = (kind == AskKind::FetchTimed).then(|| {
                    let seconds = args.get(1).map_or(0.0, Value::as_double);
                    let timeout = self.meta.timeouts.get(&id).copied().unwrap_or(Timeout {
                        started: self.meta.time,
                        seconds,
                    });
                    Arc::make_mut(&mut self.meta.timeouts).insert(id, timeout);
                    timeout
                });
                self.run.asks.push(Ask {
                    id,
                    channel,
                    who,
                    array: array || kind == AskKind::Choose,
                    options,
                    timeout,
                });
                let maybe = kind != AskKind::Fetch;
                Value::Future(FutureRef(
                    ((self.run.asks.len() - 1) as u32) | if maybe { 1 << 31 } else { 0 },
                ))
            }
            Special::Await => {
                let Value::Future(FutureRef(raw)) = self.eval(program, frame, object)? else {
                    return Ok(Value::Void);
                };
                if raw == u32::MAX {
                    return Ok(Value::Maybe(None));
                }
                let maybe = raw & (1 << 31) != 0;
                let index = (raw & !(1 << 31)) as usize;
                let Some(ask) = self.run.asks.get(index).cloned() else {
                    return Ok(Value::Void);
                };
                let key = (ask.channel.clone(), ask.who.clone());
                let deadline = ask.timeout.map(|timeout| timeout.deadline());
                let answer = self.run.inbox.get_mut(&key).and_then(|queue| {
                    // A timed ask takes only a message sent before it gave up.
                    match (queue.front(), deadline) {
                        (Some((sent, _)), Some(deadline)) if *sent > deadline => None,
                        _ => queue.pop_front(),
                    }
                });
                let timed_out =
                    answer.is_none() && deadline.is_some_and(|deadline| self.meta.time >= deadline);
                if answer.is_some() || timed_out {
                    if let Some(ask) = self.run.asks.get_mut(index) {
                        ask.channel.clear();
                    }
                    // A resolved timed ask needs its clock no more.
                    if deadline.is_some() {
                        Arc::make_mut(&mut self.meta.timeouts).remove(&ask.id);
                    }
                }
                if timed_out {
                    return Ok(Value::Maybe(None));
                }
                match answer {
                    Some((_, json)) => {
                        let element = match program.async_channels.get(&key.0) {
                            Some(definition) if let Some(message) = definition.message => {
                                let message_ty =
                                    Ty::Message(Arc::from(program.messages[message].name.as_str()));
                                if definition.array || ask.array {
                                    Ty::array(message_ty)
                                } else {
                                    message_ty
                                }
                            }
                            _ => Ty::Dynamic,
                        };
                        let value = self.from_json(&element, &json);
                        if maybe { Value::some(value) } else { value }
                    }
                    None => return Err(Fault::Blocked { channel: key.0 }),
                }
            }
            Special::HolderWrite => self.eval(program, frame, object)?,
            Special::TextGet => match self.eval(program, frame, object)? {
                Value::Text(text) => Value::string(&text.current),
                other => other,
            },
            Special::TextAppend => {
                let args = self.eval_args(program, frame, arguments)?;
                let seq = args.first().map_or(0, Value::as_int);
                let change = match args.get(1) {
                    Some(Value::Dynamic(json)) => (**json).clone(),
                    Some(other) => self.to_stored_json(other),
                    None => serde_json::Value::Null,
                };
                let place = self.place(program, frame, object)?;
                let mut text = match self.read_place(program, frame, &place)? {
                    Value::Text(text) => text,
                    Value::Str(assigned) => {
                        Arc::new(crate::text::CollabText::assigned(&assigned, 0))
                    }
                    _ => Arc::default(),
                };
                let accepted = Arc::make_mut(&mut text).append(seq, &change);
                if accepted {
                    self.assign(program, frame, &place, Value::Text(text))?;
                }
                Value::Bool(accepted)
            }
            Special::MessageReset | Special::MessageIngest => {
                let place = self.place(program, frame, object)?;
                let current = self.read_place(program, frame, &place)?;
                let updated = match special {
                    Special::MessageReset => match object_ty.unwrap_maybe() {
                        Ty::Message(name) | Ty::Holder(name) => program
                            .message_named(name)
                            .map_or(current, |index| self.default_message(index)),
                        _ => current,
                    },
                    _ => {
                        let args = self.eval_args(program, frame, arguments)?;
                        let mut call = vec![current];
                        call.extend(args);
                        match crate::library::lookup("message.ingest_dynamic") {
                            Some(function) => {
                                let mut host = self.host();
                                function(&mut host, &call)?
                            }
                            None => call.swap_remove(0),
                        }
                    }
                };
                self.assign(program, frame, &place, updated)?;
                Value::Void
            }
            Special::ToCsv => {
                let rows = self.eval(program, frame, object)?;
                let header: Vec<String> = match object_ty.unwrap_maybe() {
                    Ty::Table(element) | Ty::List(element) | Ty::Array(element) => match &**element
                    {
                        Ty::Message(name) => program
                            .message_named(name)
                            .map(|index| {
                                program.messages[index]
                                    .fields
                                    .iter()
                                    .map(|field| field.name.clone())
                                    .collect()
                            })
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                Value::Str(Arc::from(to_csv(&header, rows.as_list()).as_str()))
            }
            Special::ServiceCall => {
                // The runtime has no service host: a call completes at once as a failure, which
                // is also what the reference's test harness gives every call.
                self.eval_args(program, frame, arguments)?;
                Value::Message(Arc::new(crate::value::Message {
                    shape: Arc::new(crate::value::Shape {
                        name: Some(Arc::from("__result")),
                        fields: vec![Arc::from("failed"), Arc::from("message"), Arc::from("code")],
                    }),
                    values: vec![
                        Value::Bool(true),
                        Value::string("Document is creating"),
                        Value::Int(SERVICE_UNAVAILABLE),
                    ],
                }))
            }
            Special::Result(operation) => {
                let result = self.eval(program, frame, object)?;
                let Value::Message(result) = result else {
                    return Ok(Value::Maybe(None));
                };
                let failed = result.values.first().is_some_and(Value::as_bool);
                match operation {
                    ResultOperation::Await | ResultOperation::AsMaybe => {
                        match result.values.get(3) {
                            Some(value) if !failed => Value::some(value.clone()),
                            _ => Value::Maybe(None),
                        }
                    }
                    ResultOperation::Has => Value::Bool(!failed && result.values.len() > 3),
                    ResultOperation::Finished => Value::Bool(true),
                    ResultOperation::Failed => Value::Bool(failed),
                    ResultOperation::Code => result.values.get(2).cloned().unwrap_or(Value::Int(0)),
                    ResultOperation::Message => result
                        .values
                        .get(1)
                        .cloned()
                        .unwrap_or_else(|| Value::string("")),
                }
            }
            Special::Enqueue => {
                let channel = self.eval(program, frame, object)?.as_str().to_owned();
                let args = self.eval_args(program, frame, arguments)?;
                let who = args.first().map(Value::as_principal).unwrap_or_default();
                let message = args
                    .get(1)
                    .map(|m| self.to_view_json(m))
                    .unwrap_or_default();
                self.run.enqueued.push((channel, who, message));
                Value::Void
            }
        })
    }

    /// Deletes a table row (or empties the maybe holding a record).
    pub(crate) fn delete_record(&mut self, record: crate::value::RecordRef) {
        let data = self.store.record(record);
        if !data.alive {
            return;
        }
        if let Parent::Row { table } = data.parent() {
            let id_slot = self.program.records[data.layout].id_slot;
            let id = id_slot.map_or(0, |slot| self.store.get(record, slot).as_int());
            self.store.delete_row(table, id);
        }
    }
}

/// Fills a template's `[[name]]` slots from a JSON object; a name it lacks fills nothing.
fn fill_template(text: &str, data: &serde_json::Value, escape: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        let value = match data.get(name) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if escape {
            for character in value.chars() {
                match character {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    other => out.push(other),
                }
            }
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A local table of messages as CSV: a header of field names, then one line per row; a value
/// with a comma, a quote or a line break is quoted.
impl Document {
    /// The map a `map.insert` writes: its receiver's place, or, when the receiver is itself an
    /// `insert` (`a.insert(b).insert(c)`, since `insert` returns the same map), the place under
    /// that chain once its inserts have run.
    fn insert_target(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        object: ExprId,
    ) -> Result<Place, Fault> {
        match self.insert_receiver(program, frame, object) {
            Some(receiver) => {
                self.eval(program, frame, object)?;
                let receiver = self.chain_root(program, frame, receiver);
                self.place(program, frame, receiver)
            }
            None => self.place(program, frame, object),
        }
    }

    /// The receiver of a call to `map.insert`, when `id` is one.
    fn insert_receiver(&self, program: &Program, frame: &Frame, id: ExprId) -> Option<ExprId> {
        let native = self
            .loaded
            .natives
            .get(frame.unit as usize)
            .and_then(|unit| unit.get(id.0 as usize))?;
        if !matches!(native, Native::Special(Special::MapInsert)) {
            return None;
        }
        let body = &program.units[frame.unit as usize].item.body;
        let Expr::Call { function, .. } = &body.expr(id).expr else {
            return None;
        };
        match &body.expr(*function).expr {
            Expr::Member { object, .. } => Some(*object),
            _ => None,
        }
    }

    /// The first receiver of a chain of `insert` calls.
    fn chain_root(&self, program: &Program, frame: &Frame, mut id: ExprId) -> ExprId {
        while let Some(receiver) = self.insert_receiver(program, frame, id) {
            id = receiver;
        }
        id
    }
}

/// The reference's CSV: the header always (even for no rows), then each row preceded by CRLF,
/// no line end after the last; principals as `agent@authority`.
fn to_csv(header: &[String], rows: &[Value]) -> String {
    let quote = |text: String| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let cell = |value: &Value| match value.unwrap_maybe() {
        Some(Value::Principal(principal)) => {
            format!("{}@{}", principal.agent, principal.authority)
        }
        Some(value) => value.to_text(),
        None => String::new(),
    };
    let mut out = header
        .iter()
        .map(|name| quote(name.clone()))
        .collect::<Vec<_>>()
        .join(",");
    for row in rows {
        if let Value::Message(message) = row {
            let cells: Vec<String> = message
                .values
                .iter()
                .map(|value| quote(cell(value)))
                .collect();
            out.push_str("\r\n");
            out.push_str(&cells.join(","));
        }
    }
    out
}

/// The code of a service call that could not be made (no service host).
const SERVICE_UNAVAILABLE: i32 = 194_752;

/// What a library call site runs, found once when the document is created.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Native {
    /// A method the interpreter runs itself (it touches storage or layouts).
    Special(Special),
    /// A function about the document itself.
    Document(DocumentFunction),
    /// A library function; `clock` when it reads the document clock (formulas that call it
    /// depend on the time).
    Library {
        function: BuiltinFn,
        clock: bool,
    },
    Missing,
}

/// Methods the interpreter runs itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    RecordDelete,
    ListDelete,
    TableSize,
    TableDelete,
    MapClear,
    MapRemove,
    MapInsert,
    MaybeDelete,
    Enum(EnumOperation),
    Ask(AskKind),
    Await,
    Enqueue,
    /// A call of a declared service's method.
    ServiceCall,
    /// `holder.write()`: the held message, as a place to write through.
    HolderWrite,
    /// `m.reset()`: the message back to its defaults, in place.
    MessageReset,
    /// `m.ingest_dynamic(d)`: the JSON merged into the message, in place.
    MessageIngest,
    /// `text.get()`: the text's content.
    TextGet,
    /// `text.append(seq, change)`: an editor's change set, in place.
    TextAppend,
    /// `t.to_csv()` on a local table of a `@csv` message.
    ToCsv,
    Result(ResultOperation),
}

/// The methods of a service call's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultOperation {
    Await,
    AsMaybe,
    Has,
    Finished,
    Failed,
    Code,
    Message,
}

/// The methods of enum values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnumOperation {
    ToInt,
    ToString,
    Next,
    Prev,
}

/// The ways of asking a principal through an async channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AskKind {
    Fetch,
    Decide,
    Choose,
    FetchTimed,
}

/// The `Document` and `ViewState` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentFunction {
    /// `Template.html` (escaped) and `Template.raw`.
    Template {
        escape: bool,
    },
    Key,
    Space,
    Seq,
    Destroy,
    Disconnect,
    /// Rolling back to an earlier seq is the host's (it has the log); from code it is a no-op.
    Rewind,
    Patch,
    ViewState(ViewStatePush),
}

/// Resolves a call site's name.
pub(crate) fn native(name: &str) -> Native {
    let special = match name {
        "record.delete" => Some(Special::RecordDelete),
        "list.delete" => Some(Special::ListDelete),
        "table.size" => Some(Special::TableSize),
        "table.delete" => Some(Special::TableDelete),
        "map.clear" => Some(Special::MapClear),
        "map.remove" => Some(Special::MapRemove),
        "map.insert" => Some(Special::MapInsert),
        "maybe.delete" => Some(Special::MaybeDelete),
        "enum.to_int" => Some(Special::Enum(EnumOperation::ToInt)),
        "enum.to_string" => Some(Special::Enum(EnumOperation::ToString)),
        "enum.next" => Some(Special::Enum(EnumOperation::Next)),
        "enum.prev" => Some(Special::Enum(EnumOperation::Prev)),
        "channel.fetch" => Some(Special::Ask(AskKind::Fetch)),
        "channel.decide" => Some(Special::Ask(AskKind::Decide)),
        "channel.choose" => Some(Special::Ask(AskKind::Choose)),
        "channel.fetchTimed" => Some(Special::Ask(AskKind::FetchTimed)),
        "future.await" => Some(Special::Await),
        "handler.enqueue" => Some(Special::Enqueue),
        "result.await" => Some(Special::Result(ResultOperation::Await)),
        "result.as_maybe" => Some(Special::Result(ResultOperation::AsMaybe)),
        "result.has" => Some(Special::Result(ResultOperation::Has)),
        "result.finished" => Some(Special::Result(ResultOperation::Finished)),
        "result.failed" => Some(Special::Result(ResultOperation::Failed)),
        "result.code" => Some(Special::Result(ResultOperation::Code)),
        "result.message" => Some(Special::Result(ResultOperation::Message)),
        "holder.write" => Some(Special::HolderWrite),
        "message.reset" => Some(Special::MessageReset),
        "message.ingest_dynamic" => Some(Special::MessageIngest),
        "text.get" => Some(Special::TextGet),
        "text.append" => Some(Special::TextAppend),
        "table.to_csv" => Some(Special::ToCsv),
        service if service.starts_with("service.") => Some(Special::ServiceCall),
        _ => None,
    };
    if let Some(special) = special {
        return Native::Special(special);
    }
    let document = match name {
        "Template.html" | "template.html" => Some(DocumentFunction::Template { escape: true }),
        "Template.raw" | "template.raw" => Some(DocumentFunction::Template { escape: false }),
        "Document.key" => Some(DocumentFunction::Key),
        "Document.space" => Some(DocumentFunction::Space),
        "Document.seq" => Some(DocumentFunction::Seq),
        "Document.destroy" => Some(DocumentFunction::Destroy),
        "Document.disconnect" => Some(DocumentFunction::Disconnect),
        "Document.rewind" => Some(DocumentFunction::Rewind),
        "Document.patch" => Some(DocumentFunction::Patch),
        "ViewState.merge" => Some(DocumentFunction::ViewState(ViewStatePush::Merge)),
        "ViewState.goto" => Some(DocumentFunction::ViewState(ViewStatePush::Goto)),
        "ViewState.send" => Some(DocumentFunction::ViewState(ViewStatePush::Send)),
        "ViewState.log" => Some(DocumentFunction::ViewState(ViewStatePush::Log)),
        _ => None,
    };
    if let Some(function) = document {
        return Native::Document(function);
    }
    match crate::library::lookup(name) {
        Some(function) => Native::Library {
            function,
            clock: name.starts_with("Time."),
        },
        None => Native::Missing,
    }
}
