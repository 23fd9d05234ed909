//! Running statements, and ingestion (`target <- source`).

use std::sync::Arc;

use adama_compiler::hir::{Block, Expr, Stmt, StmtId};
use adama_compiler::ir::{FieldKind, Program, Res};
use adama_compiler::ty::Ty;

use crate::document::Document;
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::place::Place;
use crate::store::Parent;
use crate::value::{RecordRef, Value};

/// How a statement ended.
#[derive(Debug)]
pub enum Flow {
    Normal,
    Break,
    Continue,
    Return(Value),
}

impl Document {
    pub(crate) fn block(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        block: &Block,
    ) -> Result<Flow, Fault> {
        let mut index = 0;
        while index < block.stmts.len() {
            let flow = self.stmt(program, frame, block.stmts[index])?;
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
            index += 1;
        }
        Ok(Flow::Normal)
    }

    /// Hands the frame and the document to a hook that asked to see them.
    #[cold]
    fn show_state(&mut self, frame: &Frame) {
        let Some(mut hook) = self.hook.take() else {
            return;
        };
        let state = crate::document::StatementState {
            slots: frame
                .slots
                .iter()
                .map(|value| self.to_stored_json(value))
                .collect(),
            document: self.dump(),
        };
        hook.inspect(&state);
        self.hook = Some(hook);
    }

    fn stmt(&mut self, program: &Program, frame: &mut Frame, id: StmtId) -> Result<Flow, Fault> {
        if let Some(hook) = self.hook.as_mut() {
            hook.before_statement(frame.unit, id.0);
            if hook.wants_state() {
                self.show_state(frame);
            }
        }
        let unit = &program.units[frame.unit as usize];
        let slot = unit
            .stmt_slots
            .get(id.0 as usize)
            .copied()
            .unwrap_or(u32::MAX) as usize;
        match &unit.item.body.stmt(id).stmt {
            Stmt::Empty | Stmt::Case(_) | Stmt::Default => Ok(Flow::Normal),
            Stmt::Block(block) => self.block(program, frame, block),
            Stmt::If {
                condition,
                binding,
                then,
                otherwise,
            } => {
                let value = self.eval(program, frame, *condition)?;
                let taken = if binding.is_some() {
                    match value {
                        Value::Maybe(Some(inner)) => {
                            frame.slots[slot] = *inner;
                            true
                        }
                        Value::Maybe(None) => false,
                        other => {
                            frame.slots[slot] = other;
                            true
                        }
                    }
                } else {
                    value.as_bool()
                };
                if taken {
                    let bound = binding.as_ref().map(|_| frame.slots[slot].clone());
                    let flow = self.stmt(program, frame, *then)?;
                    // `if (m[k] as x) { x = v; }` on a map of plain values writes m[k]: the
                    // binding is the entry itself.
                    if let Some(bound) = bound
                        && changed(&frame.slots[slot], &bound)
                    {
                        self.write_entry_binding(program, frame, *condition, slot)?;
                    }
                    Ok(flow)
                } else if let Some(otherwise) = otherwise {
                    self.stmt(program, frame, *otherwise)
                } else {
                    Ok(Flow::Normal)
                }
            }
            Stmt::Local { value, .. } => {
                let declared = &unit.local_types[id.0 as usize];
                let initial = match value {
                    Some(value) => {
                        let value = self.eval(program, frame, *value)?;
                        self.coerce(declared, value)
                    }
                    None => self.default_value(declared),
                };
                frame.slots[slot] = initial;
                Ok(Flow::Normal)
            }
            Stmt::Infer { value, .. } => {
                frame.slots[slot] = self.eval(program, frame, *value)?;
                Ok(Flow::Normal)
            }
            Stmt::While { condition, body } => {
                while self.eval(program, frame, *condition)?.as_bool() {
                    self.charge()?;
                    match self.stmt(program, frame, *body)? {
                        Flow::Break => break,
                        Flow::Return(value) => return Ok(Flow::Return(value)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal)
            }
            Stmt::DoWhile { body, condition } => {
                loop {
                    self.charge()?;
                    match self.stmt(program, frame, *body)? {
                        Flow::Break => break,
                        Flow::Return(value) => return Ok(Flow::Return(value)),
                        _ => {}
                    }
                    if !self.eval(program, frame, *condition)?.as_bool() {
                        break;
                    }
                }
                Ok(Flow::Normal)
            }
            Stmt::For {
                init,
                condition,
                update,
                body,
            } => {
                if let Some(init) = init {
                    self.stmt(program, frame, *init)?;
                }
                loop {
                    if let Some(condition) = condition
                        && !self.eval(program, frame, *condition)?.as_bool()
                    {
                        break;
                    }
                    self.charge()?;
                    match self.stmt(program, frame, *body)? {
                        Flow::Break => break,
                        Flow::Return(value) => return Ok(Flow::Return(value)),
                        _ => {}
                    }
                    if let Some(update) = update {
                        self.stmt(program, frame, *update)?;
                    }
                }
                Ok(Flow::Normal)
            }
            Stmt::Foreach { iterable, body, .. } => {
                let collection = self.eval(program, frame, *iterable)?;
                let items: Vec<Value> = match &collection {
                    Value::Map(map) => map
                        .iter()
                        .map(|(key, value)| {
                            let key = match key {
                                crate::value::MapKey::Int(n) => {
                                    if i32::try_from(*n).is_ok() {
                                        Value::Int(*n as i32)
                                    } else {
                                        Value::Long(*n)
                                    }
                                }
                                crate::value::MapKey::Str(text) => Value::Str(Arc::clone(text)),
                                crate::value::MapKey::Principal(p) => Value::principal(p.clone()),
                            };
                            Value::Message(Arc::new(crate::value::Message {
                                shape: crate::document::pair_shape(),
                                values: vec![key, value.clone()],
                            }))
                        })
                        .collect(),
                    other => self.iterate(other).as_list().to_vec(),
                };
                for item in items {
                    self.charge()?;
                    frame.slots[slot] = item;
                    match self.stmt(program, frame, *body)? {
                        Flow::Break => break,
                        Flow::Return(value) => return Ok(Flow::Return(value)),
                        _ => {}
                    }
                }
                Ok(Flow::Normal)
            }
            Stmt::Switch { value, body } => {
                let value = self.eval(program, frame, *value)?;
                self.switch(program, frame, &value, *body)
            }
            Stmt::Return(value) => Ok(Flow::Return(match value {
                Some(value) => self.eval(program, frame, *value)?,
                None => Value::Void,
            })),
            Stmt::Break => Ok(Flow::Break),
            Stmt::Continue => Ok(Flow::Continue),
            Stmt::Abort => Err(Fault::Abort),
            Stmt::Wait => Err(Fault::Wait),
            Stmt::Transition { target, delay } => {
                let label = self.eval(program, frame, *target)?.as_str().to_owned();
                let seconds = match delay {
                    Some(delay) => self.eval(program, frame, *delay)?.as_double(),
                    None => 0.0,
                };
                self.meta.state = Arc::from(label.as_str());
                self.meta.next_time = self
                    .meta
                    .time
                    .saturating_add((seconds.max(0.0) * 1000.0) as i64);
                Ok(Flow::Normal)
            }
            Stmt::Invoke(target) => {
                let label = self.eval(program, frame, *target)?.as_str().to_owned();
                self.run_state(program, &label)?;
                Ok(Flow::Normal)
            }
            Stmt::Preempt(target) => {
                let label = self.eval(program, frame, *target)?.as_str().to_owned();
                self.run.preempt = Some(Arc::from(label.as_str()));
                Ok(Flow::Normal)
            }
            Stmt::Assert(condition) => {
                let passed = self.eval(program, frame, *condition)?.as_bool();
                self.tests.asserts.1 += 1;
                if passed {
                    self.tests.asserts.0 += 1;
                } else {
                    let span =
                        adama_compiler::ir::stmt_span(&program.units[frame.unit as usize], id);
                    self.tests
                        .failures
                        .push(format!("{}..{}", span.start, span.end));
                }
                Ok(Flow::Normal)
            }
            Stmt::Log(value) => {
                let text = self.eval(program, frame, *value)?.to_text();
                self.tests.log.push(text);
                Ok(Flow::Normal)
            }
            Stmt::Step
            | Stmt::Forward(_)
            | Stmt::Pump { .. }
            | Stmt::Send { .. }
            | Stmt::Aborts(_) => self.test_statement(program, frame, id),
            Stmt::Assign { target, value } => {
                let place = self.place(program, frame, *target)?;
                if let Place::Many(places) = &place {
                    // `l.f = e` re-evaluates e for every element (language spec §5.3).
                    for place in places.clone() {
                        let value = self.eval(program, frame, *value)?;
                        self.assign(program, frame, &place, value)?;
                    }
                    return Ok(Flow::Normal);
                }
                let value = self.eval(program, frame, *value)?;
                let value = match &place {
                    Place::Local(_) => {
                        let ty = program.units[frame.unit as usize]
                            .types
                            .get(target.0 as usize)
                            .cloned()
                            .unwrap_or(Ty::Error);
                        self.coerce(&ty, value)
                    }
                    _ => value,
                };
                self.assign(program, frame, &place, value)?;
                Ok(Flow::Normal)
            }
            Stmt::Ingest {
                target,
                source,
                binding,
            } => {
                let source = self.eval(program, frame, *source)?;
                let ids = self.ingest(program, frame, *target, &source)?;
                if binding.is_some() {
                    frame.slots[slot] = match (&source, ids.as_slice()) {
                        (Value::List(_), _) => {
                            Value::list(ids.into_iter().map(Value::Int).collect())
                        }
                        (_, [id]) => Value::Int(*id),
                        _ => Value::Int(0),
                    };
                }
                Ok(Flow::Normal)
            }
            Stmt::Expr(value) => {
                self.eval(program, frame, *value)?;
                Ok(Flow::Normal)
            }
        }
    }

    fn switch(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        value: &Value,
        body: StmtId,
    ) -> Result<Flow, Fault> {
        let unit = &program.units[frame.unit as usize];
        let Stmt::Block(block) = &unit.item.body.stmt(body).stmt else {
            return self.stmt(program, frame, body);
        };
        let stmts = block.stmts.clone();
        let mut start = None;
        let mut default = None;
        for (index, stmt) in stmts.iter().enumerate() {
            match &unit.item.body.stmt(*stmt).stmt {
                Stmt::Case(label) => {
                    let label_value = self.eval(program, frame, *label)?;
                    let matches = match &label_value {
                        Value::List(options) => options.iter().any(|option| option == value),
                        other => other == value,
                    };
                    if matches && start.is_none() {
                        start = Some(index);
                    }
                }
                Stmt::Default => default = Some(index),
                _ => {}
            }
        }
        let Some(start) = start.or(default) else {
            return Ok(Flow::Normal);
        };
        for stmt in &stmts[start..] {
            match self.stmt(program, frame, *stmt)? {
                Flow::Normal => {}
                Flow::Break => return Ok(Flow::Normal),
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs a state block by label.
    pub(crate) fn run_state(&mut self, program: &Program, label: &str) -> Result<(), Fault> {
        let Some((unit, body)) = program.states.get(label) else {
            return Ok(());
        };
        let mut frame = Frame::new(program, *unit, crate::value::Principal::no_one());
        self.run.depth += 1;
        let result = self.block(program, &mut frame, body);
        self.run.depth -= 1;
        result.map(|_| ())
    }

    /// `target <- source`: the ids of the rows created, if any.
    fn ingest(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        target: adama_compiler::hir::ExprId,
        source: &Value,
    ) -> Result<Vec<i32>, Fault> {
        let unit = &program.units[frame.unit as usize];
        let target_ty = unit
            .types
            .get(target.0 as usize)
            .cloned()
            .unwrap_or(Ty::Error);
        match &target_ty {
            Ty::Table(element) => {
                let target_value = self.eval(program, frame, target)?;
                match target_value {
                    Value::Table(table) => {
                        let mut ids = Vec::new();
                        let sources: Vec<Value> = match source {
                            Value::List(items) => items.to_vec(),
                            other => vec![other.clone()],
                        };
                        for item in sources {
                            ids.push(self.ingest_row(program, table, &item)?);
                        }
                        Ok(ids)
                    }
                    Value::NativeTable(rows) => {
                        let mut rows = (*rows).clone();
                        let sources: Vec<Value> = match source {
                            Value::List(items) => items.to_vec(),
                            other => vec![other.clone()],
                        };
                        for item in sources {
                            rows.push(self.coerce(element, item));
                        }
                        let place = self.place(program, frame, target)?;
                        self.assign(program, frame, &place, Value::NativeTable(Arc::new(rows)))?;
                        Ok(Vec::new())
                    }
                    _ => Ok(Vec::new()),
                }
            }
            Ty::Record(_) => {
                if let Some(record) = self.record_for_write(program, frame, target)? {
                    self.ingest_into(program, record, source)?;
                }
                Ok(Vec::new())
            }
            Ty::Maybe(inner) if matches!(**inner, Ty::Record(_)) => {
                let place = self.place(program, frame, target)?;
                let current = self.read_place(program, frame, &place)?;
                let record = match current {
                    Value::Maybe(Some(inner)) => match *inner {
                        Value::Record(record) => record,
                        _ => return Ok(Vec::new()),
                    },
                    _ => {
                        let Ty::Record(name) = &**inner else {
                            return Ok(Vec::new());
                        };
                        let layout = program.units[frame.unit as usize]
                            .records_of(target)
                            .ok_or_else(|| crate::document::missing_layout(name))?;
                        let parent = match &place {
                            Place::Slot(owner, slot) => Parent::Field {
                                record: *owner,
                                slot: *slot,
                            },
                            _ => Parent::Root,
                        };
                        let record = self.new_record(layout, parent)?;
                        self.assign(program, frame, &place, Value::some(Value::Record(record)))?;
                        record
                    }
                };
                self.ingest_into(program, record, source)?;
                Ok(Vec::new())
            }
            Ty::Map(_, value_ty) => {
                let place = self.place(program, frame, target)?;
                if let Value::Map(entries) = source {
                    for (key, value) in entries.iter() {
                        if let Ty::Record(name) = &**value_ty {
                            let layout = program.units[frame.unit as usize]
                                .records_of(target)
                                .ok_or_else(|| crate::document::missing_layout(name))?;
                            let record =
                                self.map_record_entry(program, frame, &place, key.clone(), layout)?;
                            self.ingest_into(program, record, value)?;
                        } else {
                            let entry = Place::Entry(Box::new(place.clone()), key.clone());
                            let value = self.coerce(value_ty, value.clone());
                            self.assign(program, frame, &entry, value)?;
                        }
                    }
                }
                Ok(Vec::new())
            }
            _ => {
                let place = self.place(program, frame, target)?;
                let value = self.coerce(&target_ty, source.clone());
                self.assign(program, frame, &place, value)?;
                Ok(Vec::new())
            }
        }
    }

    /// Writes a binding back to the map entry it was taken from, when the condition of an
    /// `if (… as x)` is `m[k]` for a named map of plain values.
    fn write_entry_binding(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        condition: adama_compiler::hir::ExprId,
        slot: usize,
    ) -> Result<(), Fault> {
        let unit = &program.units[frame.unit as usize];
        let Expr::Index { object, index } = &unit.item.body.expr(condition).expr else {
            return Ok(());
        };
        let (object, index) = (*object, *index);
        let plain = matches!(
            unit.types.get(object.0 as usize),
            Some(Ty::Map(_, value)) if !matches!(**value, Ty::Record(_))
        );
        // Only a document map's entry is a cell; a local map gives a copy (language spec 4.3).
        let local = matches!(unit.res.get(object.0 as usize), Some(Res::Local(_)));
        if !plain || local || !matches!(unit.item.body.expr(object).expr, Expr::Name(_)) {
            return Ok(());
        }
        let key = self.eval(program, frame, index)?.to_map_key();
        let parent = self.place(program, frame, object)?;
        let value = frame.slots[slot].clone();
        self.assign(program, frame, &Place::Entry(Box::new(parent), key), value)
    }

    /// Adds one row to a document table from a message or record.
    pub(crate) fn ingest_row(
        &mut self,
        program: &Program,
        table: crate::value::TableRef,
        source: &Value,
    ) -> Result<i32, Fault> {
        if self.store.records.len() >= self.limits.max_records {
            return Err(Fault::error(
                codes::MEMORY_EXHAUSTED,
                "the document holds too many records",
            ));
        }
        let layout = self.store.tables[table.0 as usize].layout;
        let record = self.new_record(layout, Parent::Row { table })?;
        self.meta.auto_table_row_id += 1;
        let id = self.meta.auto_table_row_id;
        if let Some(slot) = program.records[layout].id_slot {
            self.store.set_fresh(record, slot, Value::Int(id));
        }
        self.fill_record(program, record, source, true)?;
        self.store.insert_row(table, id, record);
        self.ingested(program, record)?;
        Ok(id)
    }

    /// Copies a message's (or record's) fields into an existing record, as writes, then runs
    /// the record's `ingested` block as every ingestion does.
    fn ingest_into(
        &mut self,
        program: &Program,
        record: RecordRef,
        source: &Value,
    ) -> Result<(), Fault> {
        self.fill_record(program, record, source, false)?;
        self.ingested(program, record)
    }

    /// The `ingested { … }` blocks of a record's type, run for a record just ingested into.
    fn ingested(&mut self, program: &Program, record: RecordRef) -> Result<(), Fault> {
        let layout = self.store.record(record).layout;
        for (unit, body) in program.records[layout].ingested.clone() {
            let mut frame = Frame::new(program, unit, crate::value::Principal::no_one());
            frame.this = Value::Record(record);
            self.block(program, &mut frame, &body)?;
        }
        Ok(())
    }

    fn fill_record(
        &mut self,
        program: &Program,
        record: RecordRef,
        source: &Value,
        fresh: bool,
    ) -> Result<(), Fault> {
        let pairs: Vec<(String, Value)> = match source {
            Value::Message(message) => message
                .shape
                .fields
                .iter()
                .map(|name| name.to_string())
                .zip(message.values.iter().cloned())
                .collect(),
            Value::Record(other) => {
                let layout = self.store.record(*other).layout;
                let names: Vec<(String, u32)> = program.records[layout]
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, field)| matches!(field.kind, FieldKind::Stored { .. }))
                    .map(|(slot, field)| (field.name.clone(), slot as u32))
                    .collect();
                let mut pairs = Vec::new();
                for (name, slot) in names {
                    pairs.push((name, self.read_slot(program, *other, slot)?));
                }
                pairs
            }
            _ => Vec::new(),
        };
        let layout = self.store.record(record).layout;
        for (name, value) in pairs {
            if name == "id" {
                continue;
            }
            let Some(&slot) = program.records[layout].slot_index.get(&name) else {
                continue;
            };
            let field_ty = program.records[layout].fields[slot as usize].ty.clone();
            let value = match value {
                Value::Maybe(None) if !matches!(field_ty, Ty::Maybe(_)) => continue,
                Value::Maybe(Some(inner)) if !matches!(field_ty, Ty::Maybe(_)) => *inner,
                other => other,
            };
            match (&field_ty, self.store.get(record, slot).clone()) {
                (Ty::Record(_), Value::Record(child)) => {
                    self.fill_record(program, child, &value, fresh)?
                }
                (Ty::Table(_), Value::Table(table)) => {
                    for item in value.as_list().to_vec() {
                        self.ingest_row(program, table, &item)?;
                    }
                }
                _ => {
                    if fresh {
                        let value = self.field_value(&field_ty, value);
                        self.store.set_fresh(record, slot, value);
                    } else {
                        self.write_slot(program, record, slot, value);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a binding was given another value (doubles to the bit).
fn changed(now: &Value, before: &Value) -> bool {
    match (now, before) {
        (Value::Double(a), Value::Double(b)) => a.to_bits() != b.to_bits(),
        (a, b) => a != b,
    }
}
