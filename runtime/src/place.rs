//! Assignable locations: locals, record slots, message fields and map entries, and the writes
//! to them.

use std::sync::Arc;

use adama_compiler::hir::{BinaryOp, Expr, ExprId};
use adama_compiler::ir::{FieldKind, Program, RecordId, Res};
use adama_compiler::ty::Ty;

use crate::document::Document;
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::ops;
use crate::store::Parent;
use crate::value::{MapKey, RecordRef, Value};

/// Where a write goes.
#[derive(Debug, Clone)]
pub enum Place {
    Local(u32),
    Slot(RecordRef, u32),
    /// A field of the message held at the parent place.
    Field(Box<Place>, u32),
    /// An entry of the map held at the parent place.
    Entry(Box<Place>, MapKey),
    /// Every element of a list projection (bulk assignment).
    Many(Vec<Place>),
    /// A write that goes nowhere (an empty maybe's field).
    Nowhere,
}

impl Document {
    /// The place an assignable expression names.
    pub(crate) fn place(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: ExprId,
    ) -> Result<Place, Fault> {
        let unit = &program.units[frame.unit as usize];
        let res = unit.res[id.0 as usize].clone();
        match &unit.item.body.expr(id).expr {
            Expr::Name(_) => Ok(match res {
                Res::Local(slot) => Place::Local(slot),
                Res::RootField(slot) => Place::Slot(self.root, slot),
                Res::SelfField(slot) => match &frame.this {
                    Value::Record(record) => Place::Slot(*record, slot),
                    _ => Place::Nowhere,
                },
                Res::ElementField { local, slot } => match &frame.slots[local as usize] {
                    Value::Record(record) => Place::Slot(*record, slot),
                    _ => Place::Nowhere,
                },
                _ => return Err(unassignable()),
            }),
            Expr::Paren(inner) => self.place(program, frame, *inner),
            // `h.write()` designates the message the holder `h` holds.
            Expr::Call { function, .. }
                if matches!(
                    self.loaded
                        .natives
                        .get(frame.unit as usize)
                        .and_then(|unit| unit.get(id.0 as usize)),
                    Some(crate::call::Native::Special(
                        crate::call::Special::HolderWrite
                    ))
                ) =>
            {
                let function = *function;
                match &unit.item.body.expr(function).expr {
                    Expr::Member { object, .. } => {
                        let object = *object;
                        self.place(program, frame, object)
                    }
                    _ => Ok(Place::Nowhere),
                }
            }
            Expr::Member { object, .. } => {
                let object = *object;
                match res {
                    Res::RecordSlot(slot) => match self.record_for_write(program, frame, object)? {
                        Some(record) => Ok(Place::Slot(record, slot)),
                        None => Ok(Place::Nowhere),
                    },
                    Res::MaybeField { record: true, slot } => {
                        match self.record_for_write(program, frame, object)? {
                            Some(record) => Ok(Place::Slot(record, slot)),
                            None => Ok(Place::Nowhere),
                        }
                    }
                    Res::MessageField(index)
                    | Res::MaybeField {
                        record: false,
                        slot: index,
                    } => {
                        let parent = self.place(program, frame, object)?;
                        Ok(Place::Field(Box::new(parent), index))
                    }
                    Res::Projection { record: true, slot } => {
                        let list = self.eval(program, frame, object)?;
                        Ok(Place::Many(
                            list.as_list()
                                .iter()
                                .filter_map(|item| match item {
                                    Value::Record(record) => Some(Place::Slot(*record, slot)),
                                    _ => None,
                                })
                                .collect(),
                        ))
                    }
                    _ => Err(unassignable()),
                }
            }
            Expr::Index { object, index } => {
                let (object, index) = (*object, *index);
                let key = self.eval(program, frame, index)?.to_map_key();
                let parent = self.place(program, frame, object)?;
                Ok(Place::Entry(Box::new(parent), key))
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                let (condition, then, otherwise) = (*condition, *then, *otherwise);
                if self.eval(program, frame, condition)?.as_bool() {
                    self.place(program, frame, then)
                } else {
                    self.place(program, frame, otherwise)
                }
            }
            _ => Err(unassignable()),
        }
    }

    /// The record an expression designates for a write through it, creating a map entry's or
    /// a maybe field's record when it does not exist yet.
    pub(crate) fn record_for_write(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: ExprId,
    ) -> Result<Option<RecordRef>, Fault> {
        let unit = &program.units[frame.unit as usize];
        if let Expr::Index { object, index } = &unit.item.body.expr(id).expr {
            let (object, index) = (*object, *index);
            let map_ty = unit
                .types
                .get(object.0 as usize)
                .cloned()
                .unwrap_or(Ty::Error);
            if let Ty::Map(_, value_ty) = &map_ty
                && let Ty::Record(name) = &**value_ty
            {
                let layout = unit
                    .records_of(object)
                    .ok_or_else(|| crate::document::missing_layout(name))?;
                let key = self.eval(program, frame, index)?.to_map_key();
                let place = self.place(program, frame, object)?;
                return self
                    .map_record_entry(program, frame, &place, key, layout)
                    .map(Some);
            }
        }
        match self.eval(program, frame, id)? {
            Value::Record(record) => Ok(Some(record)),
            Value::Maybe(Some(inner)) => match *inner {
                Value::Record(record) => Ok(Some(record)),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// The record stored under a key of a document map of records, created when absent.
    pub(crate) fn map_record_entry(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        place: &Place,
        key: MapKey,
        layout: RecordId,
    ) -> Result<RecordRef, Fault> {
        let map = match self.read_place(program, frame, place)? {
            Value::Map(map) => map,
            // `m[a][b].f = v` creates the inner map `m[a]` when it is missing.
            Value::Void if matches!(place, Place::Entry(..)) => Arc::new(Default::default()),
            _ => return Err(Fault::error(codes::RUNTIME_FAILURE, "not a map")),
        };
        if let Some(Value::Record(record)) = map.get(&key) {
            return Ok(*record);
        }
        // The record hangs from the field that holds the outermost map.
        let mut base = place;
        while let Place::Entry(parent, _) = base {
            base = parent;
        }
        let parent = match base {
            Place::Slot(owner, slot) => Parent::Field {
                record: *owner,
                slot: *slot,
            },
            _ => Parent::Root,
        };
        let record = self.new_record(layout, parent)?;
        let mut map = map;
        Arc::make_mut(&mut map).insert(key, Value::Record(record));
        self.assign(program, frame, place, Value::Map(map))?;
        Ok(record)
    }

    /// Writes a value to a place.
    pub(crate) fn assign(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        place: &Place,
        value: Value,
    ) -> Result<(), Fault> {
        match place {
            Place::Local(slot) => {
                frame.slots[*slot as usize] = value;
                Ok(())
            }
            Place::Slot(record, slot) => {
                self.write_slot(program, *record, *slot, value);
                Ok(())
            }
            Place::Field(parent, index) => {
                let current = self.read_place(program, frame, parent)?;
                if let Value::Message(mut message) = current {
                    let fields = &mut Arc::make_mut(&mut message).values;
                    if let Some(field) = fields.get_mut(*index as usize) {
                        let value = match field {
                            Value::Long(_) => Value::Long(value.as_long()),
                            Value::Double(_) => Value::Double(value.as_double()),
                            Value::Maybe(_) => Value::some(value),
                            _ => value,
                        };
                        *field = value;
                    }
                    self.assign(program, frame, parent, Value::Message(message))?;
                }
                Ok(())
            }
            Place::Entry(parent, key) => {
                let current = match self.read_place(program, frame, parent)? {
                    // `m[a][b] = v` creates the inner map `m[a]` when it is missing.
                    Value::Void if matches!(**parent, Place::Entry(..)) => {
                        Value::Map(Arc::new(Default::default()))
                    }
                    current => current,
                };
                if let Value::Map(mut map) = current {
                    Arc::make_mut(&mut map).insert(key.clone(), value);
                    self.assign(program, frame, parent, Value::Map(map))?;
                }
                Ok(())
            }
            Place::Many(places) => {
                for place in places {
                    self.assign(program, frame, place, value.clone())?;
                }
                Ok(())
            }
            Place::Nowhere => Ok(()),
        }
    }

    /// Writes a record slot, converting to the field's type. Setters of exact types ignore an
    /// equal value; doubles and times always count as written (runtime spec §3.1).
    pub(crate) fn write_slot(
        &mut self,
        program: &Program,
        record: RecordRef,
        slot: u32,
        value: Value,
    ) {
        let layout = self.store.record(record).layout;
        let field = &program.records[layout].fields[slot as usize];
        if !matches!(field.kind, FieldKind::Stored { .. }) {
            return;
        }
        let value = self.field_value(&field.ty, value);
        let current = self.store.get(record, slot);
        let always = matches!(
            field.ty,
            Ty::Double | Ty::Date | Ty::DateTime | Ty::Time | Ty::TimeSpan | Ty::Complex
        );
        if !always && same(current, &value) {
            return;
        }
        self.store.write(record, slot, value);
    }

    /// A value as a field of this type holds it: converted to the type, and a string written
    /// to a collaborative text starts a new generation of it.
    pub(crate) fn field_value(&mut self, ty: &Ty, value: Value) -> Value {
        match (ty, value) {
            (Ty::Text, Value::Str(text)) => {
                self.meta.auto_gen = self.meta.auto_gen.wrapping_add(1);
                Value::Text(Arc::new(crate::text::CollabText::assigned(
                    &text,
                    i64::from(self.meta.auto_gen),
                )))
            }
            (ty, value) => self.coerce(ty, value),
        }
    }

    /// `++`/`--`: the new value (prefix) or the old one (postfix).
    pub(crate) fn bump(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        place: &Place,
        up: bool,
        prefix: bool,
    ) -> Result<Value, Fault> {
        if let Place::Many(places) = place {
            let mut results = Vec::with_capacity(places.len());
            for place in places {
                results.push(self.bump(program, frame, place, up, prefix)?);
            }
            return Ok(Value::list(results));
        }
        // A missing map entry counts from zero (the write converts it to the map's value type).
        let old = match self.read_place(program, frame, place)? {
            Value::Void => Value::Int(0),
            old => old,
        };
        let new = ops::step(&old, up);
        self.assign(program, frame, place, new.clone())?;
        Ok(if prefix { new } else { old })
    }

    /// `+=`, `-=`, `*=`.
    pub(crate) fn compound(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        place: &Place,
        op: BinaryOp,
        operand: &Value,
    ) -> Result<Value, Fault> {
        if let Place::Many(places) = place {
            for place in places {
                self.compound(program, frame, place, op, operand)?;
            }
            return Ok(Value::Int(places.len() as i32));
        }
        // A missing map entry starts from the operand's zero (the write converts the result to
        // the map's value type).
        let old = match self.read_place(program, frame, place)? {
            Value::Void => match operand {
                Value::Str(_) => Value::string(""),
                _ => Value::Int(0),
            },
            old => old,
        };
        let bytes = crate::memory::binary_bytes(op, &old, operand);
        if bytes > 0 {
            self.allocate(bytes)?;
        }
        let new = match (&old, op) {
            (Value::Int(_), _) if matches!(operand, Value::Int(_)) => {
                ops::binary(op, &old, operand)
            }
            (Value::Int(a), _) => {
                // int += long keeps the int field's type.
                Value::Int(ops::binary(op, &Value::Long(i64::from(*a)), operand).as_long() as i32)
            }
            _ => ops::binary(op, &old, operand),
        };
        self.assign(program, frame, place, new.clone())?;
        Ok(new)
    }
}

/// A write the runtime cannot carry out: an error, never a write that silently goes nowhere.
fn unassignable() -> Fault {
    Fault::error(
        codes::RUNTIME_FAILURE,
        "this expression cannot be written to at runtime",
    )
}

/// Whether a setter would see no change.
fn same(current: &Value, new: &Value) -> bool {
    match (current, new) {
        (Value::Int(a), Value::Int(b)) | (Value::Enum(a), Value::Enum(b)) => a == b,
        (Value::Long(a), Value::Long(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Str(a), Value::Str(b)) | (Value::Label(a), Value::Label(b)) => a == b,
        (Value::Principal(a), Value::Principal(b)) => a == b,
        (Value::Dynamic(a), Value::Dynamic(b)) => a == b,
        (Value::Maybe(None), Value::Maybe(None)) => true,
        (Value::Maybe(Some(a)), Value::Maybe(Some(b))) => same(a, b),
        (Value::Map(a), Value::Map(b)) => Arc::ptr_eq(a, b),
        (Value::Record(a), Value::Record(b)) => a == b,
        (Value::Message(a), Value::Message(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}
