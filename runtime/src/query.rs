//! LINQ: the clauses of `iterate` queries (where, order, limit, map, reduce, unique, rank,
//! traverse...) over lists of records and messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use adama_compiler::hir::{Clause, Direction, Expr, ExprId};
use adama_compiler::ir::{Program, RecordId, Res};
use adama_compiler::ty::Ty;

use crate::document::Document;
use crate::error::Fault;
use crate::eval::Frame;
use crate::ops;
use crate::value::{Principal, RecordRef, Value};

impl Document {
    pub(crate) fn query(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: ExprId,
        list: Value,
        clause: &Clause,
    ) -> Result<Value, Fault> {
        let unit = &program.units[frame.unit as usize];
        let (slot, key_slots) = match &unit.res[id.0 as usize] {
            Res::Query { slot, keys } => (*slot as usize, Arc::clone(keys)),
            _ => (0, Arc::from(Vec::new())),
        };
        let list = match list {
            Value::Table(_) | Value::NativeTable(_) => self.iterate(&list),
            other => other,
        };
        let items: Vec<Value> = list.as_list().to_vec();
        match clause {
            Clause::Where(predicate) | Clause::WhereAs { predicate, .. } => {
                let mut kept = Vec::new();
                for item in items {
                    self.charge()?;
                    frame.slots[slot] = item.clone();
                    if self.eval(program, frame, *predicate)?.as_bool() {
                        kept.push(item);
                    }
                }
                Ok(Value::list(kept))
            }
            Clause::Order(keys) => {
                let mut keyed = Vec::with_capacity(items.len());
                for item in items {
                    let mut values = Vec::with_capacity(keys.len());
                    for key in keys {
                        let _ = key;
                        values.push(self.field_by_slot(program, &item, key_slots[values.len()])?);
                    }
                    keyed.push((values, item));
                }
                keyed.sort_by(|(a, _), (b, _)| {
                    for (index, key) in keys.iter().enumerate() {
                        let ordering = if key.insensitive {
                            a[index]
                                .as_str()
                                .to_lowercase()
                                .cmp(&b[index].as_str().to_lowercase())
                        } else {
                            ops::compare(&a[index], &b[index]).unwrap_or(std::cmp::Ordering::Equal)
                        };
                        let ordering = match key.direction {
                            Direction::Ascending => ordering,
                            Direction::Descending => ordering.reverse(),
                        };
                        if ordering != std::cmp::Ordering::Equal {
                            return ordering;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                Ok(Value::list(
                    keyed.into_iter().map(|(_, item)| item).collect(),
                ))
            }
            Clause::OrderDyn(spec) => {
                let spec = self.eval(program, frame, *spec)?.as_str().to_owned();
                let mut keyed = Vec::with_capacity(items.len());
                let keys: Vec<(String, bool)> = spec
                    .split(',')
                    .map(str::trim)
                    .filter(|key| !key.is_empty())
                    .map(|key| match key.strip_prefix('-') {
                        Some(name) => (name.to_owned(), true),
                        None => (key.trim_start_matches('+').to_owned(), false),
                    })
                    .collect();
                for item in items {
                    let mut values = Vec::with_capacity(keys.len());
                    for (name, _) in &keys {
                        values.push(self.field_by_name(program, &item, name)?);
                    }
                    keyed.push((values, item));
                }
                keyed.sort_by(|(a, _), (b, _)| {
                    for (index, (_, descending)) in keys.iter().enumerate() {
                        let ordering =
                            ops::compare(&a[index], &b[index]).unwrap_or(std::cmp::Ordering::Equal);
                        let ordering = if *descending {
                            ordering.reverse()
                        } else {
                            ordering
                        };
                        if ordering != std::cmp::Ordering::Equal {
                            return ordering;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
                Ok(Value::list(
                    keyed.into_iter().map(|(_, item)| item).collect(),
                ))
            }
            Clause::Shuffle => {
                // The reference's loop: every position, last to first, swaps with a position
                // drawn from the whole list (not Fisher–Yates), so a seeded shuffle gives its
                // order.
                let mut items = items;
                let bound = items.len() as i32;
                for index in (0..items.len()).rev() {
                    let other = self.rng.next_int_bounded(bound) as usize;
                    items.swap(index, other);
                }
                Ok(Value::list(items))
            }
            Clause::Limit(count) => {
                let count = self.eval(program, frame, *count)?.as_long().max(0) as usize;
                Ok(Value::list(items.into_iter().take(count).collect()))
            }
            Clause::Offset(count) => {
                let count = self.eval(program, frame, *count)?.as_long().max(0) as usize;
                Ok(Value::list(items.into_iter().skip(count).collect()))
            }
            Clause::Map(function) => {
                let mut mapped = Vec::with_capacity(items.len());
                for item in items {
                    self.charge()?;
                    mapped.push(self.apply(program, frame, *function, item)?);
                }
                Ok(Value::list(mapped))
            }
            Clause::Reduce { key, function } => {
                let mut groups: BTreeMap<crate::value::MapKey, Vec<Value>> = BTreeMap::new();
                for item in items {
                    let _ = key;
                    let value = self.field_by_slot(program, &item, key_slots[0])?;
                    groups.entry(value.to_map_key()).or_default().push(item);
                }
                let mut map = BTreeMap::new();
                for (key, group) in groups {
                    let group = Value::list(group);
                    let value = match function {
                        Some(function) => self.apply(program, frame, *function, group)?,
                        None => group,
                    };
                    map.insert(key, value);
                }
                Ok(Value::Map(Arc::new(map)))
            }
            Clause::Unique {
                keep_last: true,
                key: Some(_),
            } => {
                // The reference fills a `HashMap` from key to item in input order (a later item
                // replaces an earlier one under the key's first slot) and lists its values.
                let mut slots: Vec<(Value, Value)> = Vec::new();
                for item in items {
                    let identity = self.field_by_slot(program, &item, key_slots[0])?;
                    match slots.iter_mut().find(|(key, _)| *key == identity) {
                        Some(slot) => slot.1 = item,
                        None => slots.push((identity, item)),
                    }
                }
                let capacity = crate::hash_order::capacity_for(slots.len());
                let hashed = slots
                    .into_iter()
                    .map(|(key, item)| (key.java_hash(), item))
                    .collect();
                Ok(Value::list(crate::hash_order::java_order(hashed, capacity)))
            }
            Clause::Unique { keep_last, key } => {
                let mut seen: Vec<Value> = Vec::new();
                let mut kept: Vec<Value> = Vec::new();
                let ordered: Vec<Value> = if *keep_last {
                    items.into_iter().rev().collect()
                } else {
                    items
                };
                for item in ordered {
                    let identity = match key {
                        Some(_) => self.field_by_slot(program, &item, key_slots[0])?,
                        None => item.clone(),
                    };
                    if !seen.contains(&identity) {
                        seen.push(identity);
                        kept.push(item);
                    }
                }
                if *keep_last {
                    kept.reverse();
                }
                Ok(Value::list(kept))
            }
            Clause::Rank {
                score, threshold, ..
            } => {
                let threshold = match threshold {
                    Some(threshold) => Some(self.eval(program, frame, *threshold)?.as_double()),
                    None => None,
                };
                let mut scored = Vec::new();
                for item in items {
                    frame.slots[slot] = item.clone();
                    let value = self.eval(program, frame, *score)?.as_double();
                    if threshold.is_none_or(|threshold| value >= threshold) {
                        scored.push((value, item));
                    }
                }
                scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
                Ok(Value::list(
                    scored.into_iter().map(|(_, item)| item).collect(),
                ))
            }
            Clause::Materialize => Ok(Value::list(items)),
            Clause::Traverse(assoc) => self.traverse(program, &assoc.name, &items),
        }
    }

    /// `list traverse g`: the rows of g's target type that the document's joins link from the
    /// list's records, each once, in ascending id order.
    fn traverse(
        &mut self,
        program: &Program,
        assoc: &str,
        items: &[Value],
    ) -> Result<Value, Fault> {
        let Some(&(_, to_layout)) = program.assocs.get(assoc) else {
            return Ok(Value::list(Vec::new()));
        };
        let id_of = |document: &Document, record: RecordRef| {
            let layout = document.store.record(record).layout;
            program.records[layout]
                .id_slot
                .map(|slot| document.store.get(record, slot).as_int())
        };
        let sources: std::collections::HashSet<i32> = items
            .iter()
            .filter_map(|item| match item {
                Value::Record(record) => id_of(self, *record),
                _ => None,
            })
            .collect();
        let mut targets: Vec<i32> = Vec::new();
        for join in program.joins.iter().filter(|join| join.assoc == assoc) {
            let Value::Table(table) = self.store.get(self.root, join.table).clone() else {
                continue;
            };
            self.track_table(table.0);
            let rows: Vec<RecordRef> = self.store.tables[table.0 as usize]
                .rows
                .values()
                .copied()
                .collect();
            let mut frame = Frame::new(program, join.unit, Principal::no_one());
            for row in rows {
                self.charge()?;
                frame.slots[join.item as usize] = Value::Record(row);
                let from = self.eval(program, &mut frame, join.from)?;
                let to = self.eval(program, &mut frame, join.to)?;
                let (Some(from), Some(to)) = (from.unwrap_maybe(), to.unwrap_maybe()) else {
                    continue;
                };
                if sources.contains(&from.as_int()) && !targets.contains(&to.as_int()) {
                    targets.push(to.as_int());
                }
            }
        }
        // The reference collects the targets in a sorted set.
        targets.sort_unstable();
        let mut found: HashMap<i32, Value> = HashMap::new();
        for (slot, field) in program.records[RecordId::ROOT].fields.iter().enumerate() {
            if !matches!(&field.ty, Ty::Table(element) if matches!(&**element, Ty::Record(_))) {
                continue;
            }
            let Value::Table(table) = self.store.get(self.root, slot as u32).clone() else {
                continue;
            };
            if self.store.tables[table.0 as usize].layout != to_layout {
                continue;
            }
            self.track_table(table.0);
            for id in &targets {
                if let Some(record) = self.store.tables[table.0 as usize].rows.get(id) {
                    found.entry(*id).or_insert(Value::Record(*record));
                }
            }
        }
        Ok(Value::list(
            targets.iter().filter_map(|id| found.remove(id)).collect(),
        ))
    }

    /// A field of a record or message value by its resolved slot (for `order by`, `reduce`,
    /// `unique`).
    fn field_by_slot(
        &mut self,
        program: &Program,
        item: &Value,
        slot: u32,
    ) -> Result<Value, Fault> {
        match item {
            Value::Record(record) => {
                let fields = self.store.record(*record).slots.len();
                if (slot as usize) < fields {
                    self.read_slot(program, *record, slot)
                } else {
                    Ok(Value::Void)
                }
            }
            Value::Message(message) => Ok(message
                .values
                .get(slot as usize)
                .cloned()
                .unwrap_or_default()),
            _ => Ok(Value::Void),
        }
    }

    /// A named field of a record or message value (for `order_dyn`, whose keys are data).
    pub(crate) fn field_by_name(
        &mut self,
        program: &Program,
        item: &Value,
        name: &str,
    ) -> Result<Value, Fault> {
        match item {
            Value::Record(record) => {
                let layout = self.store.record(*record).layout;
                match program.records[layout].slot_index.get(name) {
                    Some(slot) => self.read_slot(program, *record, *slot),
                    None => Ok(Value::Void),
                }
            }
            Value::Message(message) => Ok(message
                .shape
                .index_of(name)
                .and_then(|index| message.values.get(index).cloned())
                .unwrap_or_default()),
            _ => Ok(Value::Void),
        }
    }

    /// Applies a one-argument function: a lambda or the name of a function.
    fn apply(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        function: ExprId,
        argument: Value,
    ) -> Result<Value, Fault> {
        let unit = &program.units[frame.unit as usize];
        match (
            &unit.item.body.expr(function).expr,
            &unit.res[function.0 as usize],
        ) {
            (Expr::Lambda { body, .. }, Res::LambdaSlot(slot)) => {
                frame.slots[*slot as usize] = argument;
                self.eval(program, frame, *body)
            }
            (Expr::Name(_), Res::Call(function)) => self.call_function(
                program,
                *function,
                vec![argument],
                Value::Void,
                frame.who.clone(),
            ),
            (Expr::Paren(inner), _) => self.apply(program, frame, *inner, argument),
            _ => Ok(Value::Void),
        }
    }
}
