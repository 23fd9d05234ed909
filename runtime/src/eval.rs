//! Evaluating expressions.

use std::sync::Arc;

use adama_compiler::hir::{
    AtConstant, BinaryOp, Expr, ExprId, Literal, PostfixOp, PrefixOp, TimeUnit,
};
use adama_compiler::ir::{CodeUnit, FieldKind, LayoutId, Program, Refresh, Res};
use adama_compiler::ty::Ty;

use crate::document::{Cached, Dep, Document};
use crate::error::{Fault, codes};
use crate::json::parse_datetime;
use crate::ops;
use crate::place::Place;
use crate::value::{Date, Message, Principal, RecordRef, Shape, TimeOfDay, Value};

/// The state of one running body of code.
#[derive(Debug, Clone)]
pub struct Frame {
    pub unit: u32,
    pub slots: Vec<Value>,
    /// The record (or message) whose code runs.
    pub this: Value,
    /// `@who`.
    pub who: Principal,
    /// The view state (`@viewer`) of the viewer a bubble is computed for.
    pub viewer: Option<Arc<serde_json::Value>>,
    /// Whether the code is a test (test statements allowed).
    pub test: bool,
}

impl Frame {
    pub fn new(program: &Program, unit: u32, who: Principal) -> Frame {
        Frame {
            unit,
            slots: vec![Value::Void; program.units[unit as usize].frame_size as usize],
            this: Value::Void,
            who,
            viewer: None,
            test: false,
        }
    }
}

fn time_unit_seconds(unit: Option<TimeUnit>) -> f64 {
    match unit {
        Some(TimeUnit::Seconds) | None => 1.0,
        Some(TimeUnit::Minutes) => 60.0,
        Some(TimeUnit::Hours) => 3600.0,
        Some(TimeUnit::Days) => 86_400.0,
        Some(TimeUnit::Weeks) => 604_800.0,
    }
}

impl Document {
    /// Charges the budget one step; a runaway loop ends here.
    pub(crate) fn charge(&mut self) -> Result<(), Fault> {
        if self.run.budget_left == 0 {
            return Err(Fault::error(
                codes::BUDGET_EXHAUSTED,
                "the transaction ran out of budget (a loop that does not end?)",
            ));
        }
        self.run.budget_left -= 1;
        Ok(())
    }

    /// Evaluates a constant expression (field initialisers, message defaults, settings).
    pub(crate) fn eval_constant(&mut self, unit: u32, expr: ExprId) -> Result<Value, Fault> {
        let program = Arc::clone(&self.program);
        let mut frame = Frame::new(&program, unit, Principal::no_one());
        self.eval(&program, &mut frame, expr)
    }

    /// Reads a slot of a record: stored fields directly, formulas through their cache.
    pub(crate) fn read_slot(
        &mut self,
        program: &Program,
        record: RecordRef,
        slot: u32,
    ) -> Result<Value, Fault> {
        let data = self.store.record(record);
        let layout = data.layout;
        let field = &program.records[layout].fields[slot as usize];
        match &field.kind {
            FieldKind::Stored { .. } => {
                if let Some(tracker) = self.formulas.tracking.last_mut() {
                    tracker.push(Dep::Slot {
                        record: record.0,
                        slot,
                        generation: self.store.generation(record.0, slot).unwrap_or(0),
                    });
                }
                Ok(data.slots[slot as usize].clone())
            }
            FieldKind::Formula {
                unit,
                expr,
                refresh,
            } => {
                let (unit, expr, refresh) = (*unit, *expr, *refresh);
                self.formula(program, record, slot, (unit, expr), refresh)
            }
            FieldKind::Bubble { .. } => Ok(Value::Void),
        }
    }

    fn deps_valid(&self, deps: &[Dep]) -> bool {
        deps.iter().all(|dep| match *dep {
            Dep::Slot {
                record,
                slot,
                generation,
            } => self
                .store
                .generation(record, slot)
                .is_some_and(|current| current == generation),
            Dep::Table { table, generation } => {
                self.store.tables[table as usize].generation == generation
            }
            Dep::Clock { time } => self.meta.time == time,
            Dep::Until { time } => self.meta.time < time,
        })
    }

    /// A formula's value, recomputed only when something it read has changed.
    fn formula(
        &mut self,
        program: &Program,
        record: RecordRef,
        slot: u32,
        (unit, expr): (u32, ExprId),
        refresh: Refresh,
    ) -> Result<Value, Fault> {
        if let Some(cached) = self.formulas.cache.get(&(record.0, slot)) {
            if self.deps_valid(&cached.deps) {
                let value = cached.value.clone();
                if let Some(tracker) = self.formulas.tracking.last_mut() {
                    tracker.extend_from_slice(&cached.deps);
                }
                return Ok(value);
            }
            // The stale value goes first, so that a list it shares with a table can grow in
            // place.
            self.formulas.cache.remove(&(record.0, slot));
        }
        self.formulas.tracking.push(Vec::new());
        let mut frame = Frame::new(program, unit, Principal::no_one());
        frame.this = Value::Record(record);
        if let Some(hook) = self.hook.as_mut() {
            hook.enter(crate::document::Callee::Formula {
                layout: self.store.record(record).layout,
                slot,
                unit,
                expr: expr.0,
            });
        }
        let result = self.eval(program, &mut frame, expr);
        if let Some(hook) = self.hook.as_mut() {
            hook.leave();
        }
        let read = self.formulas.tracking.pop().unwrap_or_default();
        // A cached formula stands for its value until its period ends, whatever it read.
        let deps = match refresh {
            Refresh::OnChange => read,
            Refresh::Once => Vec::new(),
            Refresh::Every(period) => vec![Dep::Until {
                time: self.meta.time.saturating_add(period),
            }],
        };
        let value = result?;
        let field_ty = &program.records[self.store.record(record).layout].fields[slot as usize].ty;
        let value = self.coerce(field_ty, value);
        if let Some(tracker) = self.formulas.tracking.last_mut() {
            tracker.extend_from_slice(&deps);
        }
        self.formulas.evaluations += 1;
        if refresh != Refresh::OnChange {
            self.formulas.fresh_cached.push((record.0, slot));
        }
        self.formulas.cache.insert(
            (record.0, slot),
            Cached {
                value: value.clone(),
                deps,
            },
        );
        Ok(value)
    }

    pub(crate) fn track_table(&mut self, table: u32) {
        if let Some(tracker) = self.formulas.tracking.last_mut() {
            tracker.push(Dep::Table {
                table,
                generation: self.store.tables[table as usize].generation,
            });
        }
    }

    pub(crate) fn track_clock(&mut self) {
        let time = self.meta.time;
        if let Some(tracker) = self.formulas.tracking.last_mut() {
            tracker.push(Dep::Clock { time });
        }
    }

    /// The message shape of an anonymous object literal.
    pub(crate) fn eval(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: ExprId,
    ) -> Result<Value, Fault> {
        let unit = &program.units[frame.unit as usize];
        let node = &unit.item.body.expr(id).expr;
        match node {
            Expr::Missing => Err(Fault::error(
                codes::RUNTIME_FAILURE,
                "the program has a syntax error",
            )),
            Expr::Literal(literal) => Ok(match literal {
                Literal::Int(n) => Value::Int(*n),
                Literal::Long(n) => Value::Long(*n),
                Literal::Double(bits) => Value::Double(f64::from_bits(*bits)),
                Literal::String(text) => Value::string(text),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Label(label) => Value::Label(Arc::from(label.as_str())),
            }),
            Expr::Name(ident) => self.eval_name(program, frame, unit, id, &ident.name),
            Expr::EnumValue { .. } => Ok(match &unit.res[id.0 as usize] {
                Res::EnumConst(value) => Value::Enum(*value),
                Res::EnumSet(values) => {
                    Value::list(values.iter().map(|value| Value::Enum(*value)).collect())
                }
                _ => Value::Enum(0),
            }),
            Expr::Member { object, member } => {
                let res = unit.res[id.0 as usize].clone();
                if let Res::ViewField(index) = res {
                    return Ok(self.view_field(program, frame, index));
                }
                let value = self.eval(program, frame, *object)?;
                self.member(program, &value, &res, &member.name)
            }
            Expr::Index { object, index } => {
                let container = self.eval(program, frame, *object)?;
                let key = self.eval(program, frame, *index)?;
                self.index(program, &container, &key)
            }
            Expr::Call {
                function,
                arguments,
            } => self.call(program, frame, id, *function, arguments),
            Expr::Binary { op, left, right } => {
                if matches!(op, BinaryOp::Lt | BinaryOp::Le)
                    && let Expr::Binary {
                        op: inner @ (BinaryOp::Lt | BinaryOp::Le),
                        left: low,
                        right: middle,
                    } = &unit.item.body.expr(*left).expr
                {
                    // `lo < x <= hi` (unparenthesised) is a range test on doubles.
                    let (inner, low, middle) = (*inner, *low, *middle);
                    let low = self.eval(program, frame, low)?.as_double();
                    let middle = self.eval(program, frame, middle)?.as_double();
                    let high = self.eval(program, frame, *right)?.as_double();
                    let holds = |op: BinaryOp, a: f64, b: f64| {
                        if op == BinaryOp::Lt { a < b } else { a <= b }
                    };
                    return Ok(Value::Bool(
                        holds(inner, low, middle) && holds(*op, middle, high),
                    ));
                }
                let left_value = self.eval(program, frame, *left)?;
                match op {
                    BinaryOp::And if !left_value.as_bool() => return Ok(Value::Bool(false)),
                    BinaryOp::Or if left_value.as_bool() => return Ok(Value::Bool(true)),
                    _ => {}
                }
                let right_value = self.eval(program, frame, *right)?;
                let bytes = crate::memory::binary_bytes(*op, &left_value, &right_value);
                if bytes > 0 {
                    self.allocate(bytes)?;
                }
                let text = |side: ExprId| matches!(unit.types.get(side.0 as usize), Some(Ty::Maybe(inner)) if **inner == Ty::String);
                if *op == BinaryOp::Add && (text(*left) || text(*right)) {
                    // With a maybe<string> operand `+` concatenates; an empty maybe is "".
                    let mut joined = left_value.to_text();
                    joined.push_str(&right_value.to_text());
                    return Ok(Value::Str(Arc::from(joined)));
                }
                Ok(ops::binary(*op, &left_value, &right_value))
            }
            Expr::Prefix { op, operand } => match op {
                PrefixOp::Negate => Ok(ops::negate(&self.eval(program, frame, *operand)?)),
                PrefixOp::Not => Ok(ops::not(&self.eval(program, frame, *operand)?)),
                PrefixOp::Increment | PrefixOp::Decrement => {
                    let up = *op == PrefixOp::Increment;
                    if stepped_value(program, frame, *operand) {
                        let value = self.eval(program, frame, *operand)?;
                        return Ok(ops::step(&value, up));
                    }
                    let place = self.place(program, frame, *operand)?;
                    self.bump(program, frame, &place, up, true)
                }
            },
            Expr::Postfix { op, operand } => {
                if stepped_value(program, frame, *operand) {
                    // The old value of a temporary: stepping it writes nothing.
                    return self.eval(program, frame, *operand);
                }
                let place = self.place(program, frame, *operand)?;
                self.bump(program, frame, &place, *op == PostfixOp::Increment, false)
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                let result_ty = unit.types.get(id.0 as usize).cloned().unwrap_or(Ty::Error);
                let value = if self.eval(program, frame, *condition)?.as_bool() {
                    self.eval(program, frame, *then)?
                } else {
                    self.eval(program, frame, *otherwise)?
                };
                Ok(self.coerce(&result_ty, value))
            }
            Expr::Contains { key, map, inside } => {
                let key = self.eval(program, frame, *key)?;
                let map = self.eval(program, frame, *map)?;
                let present = match &map {
                    Value::Map(entries) => entries.contains_key(&key.to_map_key()),
                    _ => false,
                };
                Ok(Value::Bool(present == *inside))
            }
            Expr::Compound { op, target, value } => {
                let place = self.place(program, frame, *target)?;
                let operand = self.eval(program, frame, *value)?;
                let op = match op {
                    adama_compiler::hir::CompoundOp::Add => BinaryOp::Add,
                    adama_compiler::hir::CompoundOp::Sub => BinaryOp::Sub,
                    adama_compiler::hir::CompoundOp::Mul => BinaryOp::Mul,
                };
                self.compound(program, frame, &place, op, &operand)
            }
            Expr::Tuple(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(program, frame, *item)?);
                }
                self.allocate(crate::memory::VALUE_BYTES * (values.len() as u64 + 1))?;
                let fields = (0..values.len())
                    .map(|index| Arc::from(tuple_name(index).as_str()))
                    .collect();
                Ok(Value::Message(Arc::new(Message {
                    shape: Arc::new(Shape { name: None, fields }),
                    values,
                })))
            }
            Expr::Array(items) => {
                let element = match unit.types.get(id.0 as usize) {
                    Some(Ty::Array(element) | Ty::List(element)) => (**element).clone(),
                    _ => Ty::Error,
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    let value = self.eval(program, frame, *item)?;
                    values.push(self.coerce(&element, value));
                }
                self.allocate(crate::memory::VALUE_BYTES * (values.len() as u64 + 1))?;
                Ok(Value::list(values))
            }
            Expr::Object(fields) => {
                let shape = self.loaded.object_shapes[frame.unit as usize][id.0 as usize]
                    .clone()
                    .unwrap_or_else(|| {
                        Arc::new(Shape {
                            name: None,
                            fields: Vec::new(),
                        })
                    });
                let mut values = Vec::with_capacity(fields.len());
                for (index, field) in fields.iter().enumerate() {
                    let value = match field.value {
                        Some(value) => self.eval(program, frame, value)?,
                        None => {
                            let res = unit
                                .shorthand
                                .get(&(id.0, index as u32))
                                .cloned()
                                .unwrap_or_default();
                            self.eval_res(program, frame, &res, &field.name.name)?
                        }
                    };
                    values.push(value);
                }
                self.allocate(crate::memory::VALUE_BYTES * (values.len() as u64 + 1))?;
                Ok(Value::Message(Arc::new(Message { shape, values })))
            }
            Expr::At(constant) => self.at(program, frame, *constant),
            Expr::DateTime(text) => Ok(Value::DateTime(Arc::new(
                parse_datetime(text).unwrap_or_default(),
            ))),
            Expr::Date { year, month, day } => Ok(Value::Date(Date {
                year: *year as i32,
                month: *month as u32,
                day: *day as u32,
            })),
            Expr::Time { hour, minute } => Ok(Value::Time(TimeOfDay {
                hour: *hour as u32,
                minute: *minute as u32,
            })),
            Expr::TimeSpan {
                amount,
                unit: time_unit,
                ..
            } => Ok(Value::TimeSpan(
                f64::from_bits(*amount) * time_unit_seconds(*time_unit),
            )),
            Expr::EmptyList(_) => Ok(Value::list(Vec::new())),
            Expr::EmptyMaybe(_) => Ok(Value::Maybe(None)),
            Expr::MaybeOf(value) => Ok(Value::some(self.eval(program, frame, *value)?)),
            Expr::Pair { key, value } => {
                let key = self.eval(program, frame, *key)?;
                let value = self.eval(program, frame, *value)?;
                Ok(Value::Message(Arc::new(Message {
                    shape: crate::document::pair_shape(),
                    values: vec![key, value],
                })))
            }
            Expr::Lambda { .. } => Ok(Value::Void),
            Expr::Convert { value, .. } => {
                let value = self.eval(program, frame, *value)?;
                let target = unit.types.get(id.0 as usize).cloned().unwrap_or(Ty::Error);
                Ok(self.convert(program, &target, value))
            }
            Expr::Iterate(source) => {
                let value = self.eval(program, frame, *source)?;
                Ok(self.iterate(&value))
            }
            Expr::Query { source, clause } => {
                let list = self.eval(program, frame, *source)?;
                self.query(program, frame, id, list, clause)
            }
            Expr::Paren(inner) => self.eval(program, frame, *inner),
        }
    }

    /// The rows of a table (or the messages of a local table) as a list.
    pub(crate) fn iterate(&mut self, value: &Value) -> Value {
        match value {
            Value::Table(table) => {
                self.track_table(table.0);
                Value::List(self.store.row_list(*table))
            }
            Value::NativeTable(rows) => Value::List(Arc::clone(rows)),
            Value::List(_) => value.clone(),
            _ => Value::list(Vec::new()),
        }
    }

    fn eval_name(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        unit: &CodeUnit,
        id: ExprId,
        name: &str,
    ) -> Result<Value, Fault> {
        let res = &unit.res[id.0 as usize];
        self.eval_res(program, frame, res, name)
    }

    pub(crate) fn eval_res(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        res: &Res,
        name: &str,
    ) -> Result<Value, Fault> {
        match res {
            Res::Local(slot) => Ok(frame.slots[*slot as usize].clone()),
            Res::RootField(slot) => self.read_slot(program, self.root, *slot),
            Res::SelfField(slot) => match &frame.this {
                Value::Record(record) => self.read_slot(program, *record, *slot),
                Value::Message(message) => Ok(message
                    .values
                    .get(*slot as usize)
                    .cloned()
                    .unwrap_or_default()),
                _ => Ok(Value::Void),
            },
            Res::ElementField { local, slot } => {
                let element = frame.slots[*local as usize].clone();
                match element {
                    Value::Record(record) => self.read_slot(program, record, *slot),
                    Value::Message(message) => Ok(message
                        .values
                        .get(*slot as usize)
                        .cloned()
                        .unwrap_or_default()),
                    _ => Ok(Value::Void),
                }
            }
            Res::ViewField(index) => Ok(self.view_field(program, frame, *index)),
            Res::Handler(name) | Res::AsyncChannel(name) => Ok(Value::Label(Arc::clone(name))),
            Res::Template(text) => Ok(Value::Str(Arc::clone(text))),
            _ => {
                // Enum labels used as bare names and similar constants resolve by name.
                Err(Fault::error(
                    codes::RUNTIME_FAILURE,
                    format!("the name '{name}' has no value at runtime"),
                ))
            }
        }
    }

    fn view_field(&self, program: &Program, frame: &Frame, index: u32) -> Value {
        let Some((name, ty)) = program.views.get(index as usize) else {
            return Value::Void;
        };
        let json = frame
            .viewer
            .as_ref()
            .and_then(|state| state.get(name.as_str()).cloned());
        match json {
            Some(json) => self.from_json(ty, &json),
            None => self.default_value(ty),
        }
    }

    fn at(
        &mut self,
        program: &Program,
        frame: &Frame,
        constant: AtConstant,
    ) -> Result<Value, Fault> {
        let _ = program;
        Ok(match constant {
            AtConstant::NoOne => Value::principal(Principal::no_one()),
            AtConstant::Who => Value::principal(frame.who.clone()),
            AtConstant::SelfRef => frame.this.clone(),
            AtConstant::ImaginaryUnit => Value::Complex(0.0, 1.0),
            AtConstant::Null => Value::Dynamic(Arc::new(serde_json::Value::Null)),
            AtConstant::Nothing => Value::Asset(Arc::default()),
            AtConstant::Blocked => Value::Bool(self.meta.blocked),
            AtConstant::Stable => {
                Value::Bool(self.meta.state.is_empty() && self.meta.messages.is_empty())
            }
            AtConstant::Viewer => Value::Dynamic(
                frame
                    .viewer
                    .clone()
                    .unwrap_or_else(|| Arc::new(serde_json::Value::Null)),
            ),
            AtConstant::Headers => self.run.web_context.as_ref().map_or_else(
                || Value::Map(Arc::default()),
                |context| context.headers.clone(),
            ),
            AtConstant::Parameters => self.run.web_context.as_ref().map_or_else(
                || Value::Dynamic(Arc::new(serde_json::Value::Null)),
                |context| context.parameters.clone(),
            ),
            AtConstant::Context => self.context_value(&frame.who),
        })
    }

    /// `@context`: who asks, from where, and of which document, with the members the checker
    /// types (`who` a principal, the others strings).
    pub(crate) fn context_value(&self, who: &Principal) -> Value {
        static SHAPE: std::sync::LazyLock<Arc<Shape>> = std::sync::LazyLock::new(|| {
            Arc::new(Shape {
                name: None,
                fields: ["who", "origin", "ip", "key", "domain"]
                    .into_iter()
                    .map(Arc::from)
                    .collect(),
            })
        });
        let field = |name: &str| {
            self.request_context
                .get(name)
                .and_then(serde_json::Value::as_str)
        };
        let text = |name: &str| Value::Str(Arc::from(field(name).unwrap_or("")));
        Value::Message(Arc::new(Message {
            shape: Arc::clone(&SHAPE),
            values: vec![
                Value::principal(who.clone()),
                text("origin"),
                text("ip"),
                // A static policy runs on a scratch document; the key asked about is in the
                // context.
                Value::Str(Arc::from(field("key").unwrap_or(&self.key))),
                text("domain"),
            ],
        }))
    }

    /// `value.member` for a resolved member.
    pub(crate) fn member(
        &mut self,
        program: &Program,
        value: &Value,
        res: &Res,
        name: &str,
    ) -> Result<Value, Fault> {
        match (res, value) {
            (Res::RecordSlot(slot), Value::Record(record)) => {
                self.read_slot(program, *record, *slot)
            }
            (Res::MessageField(index), Value::Message(message)) => Ok(message
                .values
                .get(*index as usize)
                .cloned()
                .unwrap_or_default()),
            (Res::MaybeField { .. }, Value::Maybe(None)) => Ok(Value::Maybe(None)),
            (Res::MaybeField { record, slot }, Value::Maybe(Some(inner))) => {
                let inner_res = if *record {
                    Res::RecordSlot(*slot)
                } else {
                    Res::MessageField(*slot)
                };
                Ok(Value::some(self.member(program, inner, &inner_res, name)?))
            }
            (Res::Projection { record, slot }, Value::List(items)) => {
                let inner_res = if *record {
                    Res::RecordSlot(*slot)
                } else {
                    Res::MessageField(*slot)
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items.iter() {
                    values.push(self.member(program, item, &inner_res, name)?);
                }
                Ok(Value::list(values))
            }
            (_, Value::Dynamic(json)) => Ok(Value::Dynamic(Arc::new(
                json.get(name).cloned().unwrap_or(serde_json::Value::Null),
            ))),
            // A member of a `maybe<json>` (what `Json.parse` gives) reads through the maybe; an
            // empty one reads as null JSON.
            (_, Value::Maybe(Some(inner))) if matches!(**inner, Value::Dynamic(_)) => {
                self.member(program, inner, res, name)
            }
            (_, Value::Maybe(None)) => Ok(Value::Dynamic(Arc::new(serde_json::Value::Null))),
            (_, Value::Message(message)) => Ok(message
                .shape
                .index_of(name)
                .and_then(|index| message.values.get(index).cloned())
                .unwrap_or_default()),
            (_, Value::Record(record)) => {
                let layout = self.store.record(*record).layout;
                match program.records[layout].slot_index.get(name) {
                    Some(slot) => self.read_slot(program, *record, *slot),
                    None => Ok(Value::Void),
                }
            }
            _ => Err(Fault::error(
                codes::RUNTIME_FAILURE,
                format!("the member '{name}' has no value at runtime"),
            )),
        }
    }

    /// `container[key]`: a maybe of the element.
    fn index(&mut self, program: &Program, container: &Value, key: &Value) -> Result<Value, Fault> {
        let _ = program;
        Ok(match container {
            Value::List(items) => {
                let Some(key) = key.unwrap_maybe() else {
                    return Ok(Value::Maybe(None));
                };
                let index = key.as_long();
                if index >= 0 && (index as usize) < items.len() {
                    Value::some(items[index as usize].clone())
                } else {
                    Value::Maybe(None)
                }
            }
            Value::Map(map) => match map.get(&key.to_map_key()) {
                Some(value) => Value::some(value.clone()),
                None => Value::Maybe(None),
            },
            Value::Table(table) => {
                if let Value::List(ids) = key {
                    let mut rows = Vec::with_capacity(ids.len());
                    for id in ids.iter() {
                        rows.push(self.table_row(table.0, id));
                    }
                    return Ok(Value::list(rows));
                }
                self.table_row(table.0, key)
            }
            Value::Dynamic(json) => Value::Dynamic(Arc::new(
                json.get(key.as_long() as usize)
                    .cloned()
                    .unwrap_or(serde_json::Value::Null),
            )),
            Value::Maybe(Some(inner)) => self.index(program, inner, key)?,
            _ => Value::Maybe(None),
        })
    }

    fn table_row(&mut self, table: u32, key: &Value) -> Value {
        self.track_table(table);
        let Some(key) = key.unwrap_maybe() else {
            return Value::Maybe(None);
        };
        match self.store.tables[table as usize].rows.get(&key.as_int()) {
            Some(record) => Value::some(Value::Record(*record)),
            None => Value::Maybe(None),
        }
    }

    /// `@convert<T>(value)`.
    fn convert(&mut self, program: &Program, target: &Ty, value: Value) -> Value {
        match (target, value) {
            (Ty::Maybe(inner), Value::Maybe(Some(value))) => {
                Value::some(self.convert(program, inner, *value))
            }
            (Ty::Maybe(_), Value::Maybe(None)) => Value::Maybe(None),
            (Ty::List(inner) | Ty::Array(inner), Value::List(items)) => Value::list(
                items
                    .iter()
                    .map(|item| self.convert(program, inner, item.clone()))
                    .collect(),
            ),
            (Ty::Enum(name), value) => {
                let raw = value.as_int();
                let Some(index) = program.enum_named(name) else {
                    return Value::Enum(raw);
                };
                let layout = &program.enums[index];
                if layout.labels.iter().any(|(_, v)| *v == raw) {
                    Value::Enum(raw)
                } else {
                    Value::Enum(layout.default)
                }
            }
            (Ty::Message(name), Value::Record(record)) => {
                let Some(index) = program.message_named(name) else {
                    return Value::Void;
                };
                let layout = self.store.record(record).layout;
                let mut values = Vec::new();
                for field in &program.messages[index].fields {
                    let value = match program.records[layout].slot_index.get(&field.name) {
                        Some(slot) => self.read_slot(program, record, *slot).unwrap_or_default(),
                        None => self.default_value(&field.ty),
                    };
                    values.push(self.coerce(&field.ty, value));
                }
                Value::Message(Arc::new(Message {
                    shape: Arc::clone(&self.loaded.shapes[index.index()]),
                    values,
                }))
            }
            (ty, value) => self.coerce(ty, value),
        }
    }

    /// Reads a place's current value.
    pub(crate) fn read_place(
        &mut self,
        program: &Program,
        frame: &Frame,
        place: &Place,
    ) -> Result<Value, Fault> {
        Ok(match place {
            Place::Local(slot) => frame.slots[*slot as usize].clone(),
            Place::Slot(record, slot) => self.read_slot(program, *record, *slot)?,
            Place::Field(parent, index) => match self.read_place(program, frame, parent)? {
                Value::Message(message) => message
                    .values
                    .get(*index as usize)
                    .cloned()
                    .unwrap_or_default(),
                _ => Value::Void,
            },
            Place::Entry(parent, key) => match self.read_place(program, frame, parent)? {
                Value::Map(map) => map.get(key).cloned().unwrap_or_default(),
                _ => Value::Void,
            },
            Place::Many(places) => {
                let mut values = Vec::with_capacity(places.len());
                for place in places {
                    values.push(self.read_place(program, frame, place)?);
                }
                Value::list(values)
            }
            Place::Nowhere => Value::Void,
        })
    }
}

/// The field name of a tuple position.
pub fn tuple_name(index: usize) -> String {
    const NAMES: [&str; 10] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    NAMES
        .get(index)
        .map_or_else(|| format!("pos_{}", index + 1), |name| (*name).to_owned())
}

/// Whether an operand of `++`/`--` is itself the result of a `++`/`--` (`((list).f++)++`): a
/// temporary, which is stepped as a value and written nowhere.
fn stepped_value(program: &Program, frame: &Frame, mut id: ExprId) -> bool {
    let body = &program.units[frame.unit as usize].item.body;
    loop {
        match &body.expr(id).expr {
            Expr::Paren(inner) => id = *inner,
            Expr::Postfix { .. } => return true,
            Expr::Prefix { op, .. } => {
                return matches!(op, PrefixOp::Increment | PrefixOp::Decrement);
            }
            _ => return false,
        }
    }
}
