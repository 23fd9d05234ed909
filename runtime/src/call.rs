//! Calls: user functions and methods, enum dispatchers, and the library (including the methods
//! that touch the document: deleting rows, async channels, futures).

use std::sync::Arc;

use adama_compiler::hir::{Expr, ExprId};
use adama_compiler::ir::{Program, Res};
use adama_compiler::ty::Ty;

use crate::document::{Ask, Document, Meta};
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::exec::Flow;
use crate::library::Host;
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
                self.call_function(program, function, args, Value::Void, frame.who.clone())
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
                self.call_function(program, function, args, receiver, frame.who.clone())
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
            Res::DispatchCall(name, enumeration) => {
                let receiver = match receiver_expr {
                    Some(object) => self.eval(program, frame, object)?,
                    None => Value::Enum(0),
                };
                let label = receiver.as_int();
                let args = self.eval_args(program, frame, arguments)?;
                let targets: Vec<u32> = program.enums[enumeration as usize]
                    .dispatchers
                    .get(&*name)
                    .map(|entries| {
                        entries
                            .iter()
                            .filter(|(value, _)| *value == label)
                            .map(|(_, function)| *function)
                            .collect()
                    })
                    .unwrap_or_default();
                let mut result = Value::Void;
                for target in targets {
                    result = self.call_function(
                        program,
                        target,
                        args.clone(),
                        Value::Enum(label),
                        frame.who.clone(),
                    )?;
                }
                Ok(result)
            }
            Res::Builtin { name, method } => {
                let mut args = Vec::with_capacity(arguments.len() + 1);
                if method && let Some(object) = receiver_expr {
                    if let Some(result) =
                        self.document_method(program, frame, &name, object, arguments)?
                    {
                        return Ok(result);
                    }
                    args.push(self.eval(program, frame, object)?);
                }
                for argument in arguments {
                    args.push(self.eval(program, frame, *argument)?);
                }
                if let Some(result) = self.document_function(&name, &args)? {
                    return Ok(result);
                }
                let builtin = self
                    .builtins
                    .get(frame.unit as usize)
                    .and_then(|unit| unit.get(id.0 as usize))
                    .copied()
                    .flatten();
                let Some(builtin) = builtin else {
                    return Err(Fault::error(
                        codes::RUNTIME_FAILURE,
                        format!("the library has no '{name}'"),
                    ));
                };
                if name.starts_with("Time.") {
                    self.track_clock();
                }
                let mut host = DocumentHost {
                    meta: &mut self.meta,
                    rng: &mut self.rng,
                    key: &self.key,
                    space: &self.space,
                };
                builtin(&mut host, &args)
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
        self.charge()?;
        if self.depth >= self.limits.max_depth {
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
        self.depth += 1;
        let flow = self.block(program, &mut frame, &definition.body);
        self.depth -= 1;
        match flow? {
            Flow::Return(value) => Ok(self.coerce(&definition.returns, value)),
            _ => Ok(Value::Void),
        }
    }

    /// Library functions that need the document itself.
    fn document_function(&mut self, name: &str, args: &[Value]) -> Result<Option<Value>, Fault> {
        Ok(Some(match name {
            "Document.key" => Value::string(&self.key),
            "Document.space" => Value::string(&self.space),
            "Document.seq" => Value::Int(self.meta.seq),
            "Document.destroy" | "Document.rewind" | "Document.disconnect" | "Document.patch" => {
                Value::Void
            }
            "ViewState.merge" | "ViewState.goto" | "ViewState.send" | "ViewState.log" => {
                Value::Bool(true)
            }
            _ => {
                let _ = args;
                return Ok(None);
            }
        }))
    }

    /// Methods that touch the document or need the program's layouts. `None` when the method is
    /// the library's.
    fn document_method(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        name: &str,
        object: ExprId,
        arguments: &[ExprId],
    ) -> Result<Option<Value>, Fault> {
        let unit = &program.units[frame.unit as usize];
        let object_ty = unit
            .types
            .get(object.0 as usize)
            .cloned()
            .unwrap_or(Ty::Error);
        let (category, method) = name.split_once('.').unwrap_or(("", name));
        Ok(Some(match (category, method) {
            ("record", "delete") => {
                if let Value::Record(record) = self.eval(program, frame, object)? {
                    self.delete_record(record);
                }
                Value::Void
            }
            ("list", "delete") => {
                let list = self.eval(program, frame, object)?;
                for item in list.as_list().iter() {
                    if let Value::Record(record) = item {
                        self.delete_record(*record);
                    }
                }
                Value::Void
            }
            ("table", "size") => match self.eval(program, frame, object)? {
                Value::Table(table) => {
                    let value = self.iterate(&Value::Table(table));
                    Value::Int(value.as_list().len() as i32)
                }
                Value::NativeTable(rows) => Value::Int(rows.len() as i32),
                _ => Value::Int(0),
            },
            ("table", "delete") | ("map", "clear") => {
                let place = self.place(program, frame, object)?;
                let empty = match category {
                    "table" => Value::NativeTable(Arc::new(Vec::new())),
                    _ => Value::Map(Arc::new(std::collections::BTreeMap::new())),
                };
                self.assign(program, frame, &place, empty)?;
                Value::Void
            }
            ("map", "remove") => {
                let key = match arguments.first() {
                    Some(argument) => self.eval(program, frame, *argument)?.to_map_key(),
                    None => return Ok(Some(Value::Maybe(None))),
                };
                let place = self.place(program, frame, object)?;
                let current = self.read_place(program, frame, &place)?;
                let Value::Map(mut map) = current else {
                    return Ok(Some(Value::Maybe(None)));
                };
                let removed = Arc::make_mut(&mut map).remove(&key);
                self.assign(program, frame, &place, Value::Map(map))?;
                match removed {
                    Some(value) => Value::some(value),
                    None => Value::Maybe(None),
                }
            }
            ("map", "insert") => {
                let other = match arguments.first() {
                    Some(argument) => self.eval(program, frame, *argument)?,
                    None => Value::Void,
                };
                let place = self.place(program, frame, object)?;
                let current = self.read_place(program, frame, &place)?;
                let Value::Map(mut map) = current else {
                    return Ok(Some(Value::Void));
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
            ("maybe", "delete") => {
                let place = self.place(program, frame, object)?;
                self.assign(program, frame, &place, Value::Maybe(None))?;
                Value::Void
            }
            ("enum", _) => {
                let value = self.eval(program, frame, object)?.as_int();
                let Ty::Enum(enum_name) = object_ty.unwrap_maybe() else {
                    return Ok(None);
                };
                let Some(index) = program.enum_index.get(&**enum_name) else {
                    return Ok(None);
                };
                let labels = &program.enums[*index as usize].labels;
                let position = labels.iter().position(|(_, v)| *v == value).unwrap_or(0);
                match method {
                    "to_int" => Value::Int(value),
                    "to_string" => {
                        Value::string(labels.get(position).map_or("", |(label, _)| label.as_str()))
                    }
                    "next" => Value::Enum(labels[(position + 1) % labels.len().max(1)].1),
                    "prev" => Value::Enum(
                        labels[(position + labels.len().max(1) - 1) % labels.len().max(1)].1,
                    ),
                    _ => return Ok(None),
                }
            }
            ("channel", "fetch" | "decide" | "choose" | "fetchTimed") => {
                let channel = self.eval(program, frame, object)?.as_str().to_owned();
                let args = self.eval_args(program, frame, arguments)?;
                let who = args.first().map(Value::as_principal).unwrap_or_default();
                let array = program
                    .async_channels
                    .get(&channel)
                    .is_some_and(|definition| definition.array);
                let options = match method {
                    "decide" | "choose" => {
                        let options = args
                            .get(1)
                            .map(|v| v.as_list().to_vec())
                            .unwrap_or_default();
                        if options.is_empty() {
                            return Ok(Some(Value::Future(FutureRef(u32::MAX))));
                        }
                        let limit = if method == "choose" {
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
                    _ => None,
                };
                let id = self.meta.auto_future_id_base() + self.asks.len() as i32 + 1;
                self.asks.push(Ask {
                    id,
                    channel,
                    who,
                    array: array || method == "choose",
                    options,
                });
                let maybe = method != "fetch";
                Value::Future(FutureRef(
                    ((self.asks.len() - 1) as u32) | if maybe { 1 << 31 } else { 0 },
                ))
            }
            ("future", "await") => {
                let Value::Future(FutureRef(raw)) = self.eval(program, frame, object)? else {
                    return Ok(Some(Value::Void));
                };
                if raw == u32::MAX {
                    return Ok(Some(Value::Maybe(None)));
                }
                let maybe = raw & (1 << 31) != 0;
                let index = (raw & !(1 << 31)) as usize;
                let Some(ask) = self.asks.get(index).cloned() else {
                    return Ok(Some(Value::Void));
                };
                let key = (ask.channel.clone(), ask.who.clone());
                let answer = self.inbox.get_mut(&key).and_then(|queue| queue.pop_front());
                match answer {
                    Some(json) => {
                        if let Some(ask) = self.asks.get_mut(index) {
                            ask.channel.clear();
                        }
                        let element = match program.async_channels.get(&key.0) {
                            Some(definition)
                                if (definition.message as usize) < program.messages.len() =>
                            {
                                let message_ty = Ty::Message(Arc::from(
                                    program.messages[definition.message as usize].name.as_str(),
                                ));
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
            ("handler", "enqueue") => {
                let channel = self.eval(program, frame, object)?.as_str().to_owned();
                let args = self.eval_args(program, frame, arguments)?;
                let who = args.first().map(Value::as_principal).unwrap_or_default();
                let message = args
                    .get(1)
                    .map(|m| self.to_view_json(m))
                    .unwrap_or_default();
                self.enqueued.push((channel, who, message));
                Value::Void
            }
            _ => return Ok(None),
        }))
    }

    /// Deletes a table row (or empties the maybe holding a record).
    pub(crate) fn delete_record(&mut self, record: crate::value::RecordRef) {
        let data = self.store.record(record);
        if !data.alive {
            return;
        }
        if let Parent::Row { table } = data.parent {
            let id_slot = self.program.records[data.layout as usize].id_slot;
            let id = id_slot.map_or(0, |slot| self.store.get(record, slot).as_int());
            self.store.delete_row(table, id);
        }
    }
}

impl Meta {
    /// The future ids of a run start after the ids already handed out.
    pub(crate) fn auto_future_id_base(&self) -> i32 {
        self.auto_future_id
    }
}
