//! Values to and from JSON: the stored form (dumps, redo and undo) and the parsing of incoming
//! messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use adama_compiler::ir::{FieldKind, LayoutId, MessageId, Program, RecordId};
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json, json};

use crate::document::Document;
use crate::json::{
    date_text, datetime_text, double_json, parse_date, parse_datetime, parse_time, time_text,
};
use crate::value::{Asset, Message, Principal, RecordRef, Value};

/// A principal as stored.
pub fn principal_json(principal: &Principal) -> Json {
    json!({"agent": &*principal.agent, "authority": &*principal.authority})
}

/// A principal as read from a command (missing parts are `?`).
pub fn principal_from_json(json: &Json) -> Principal {
    Principal::new(
        crate::command::field(json, "agent")
            .and_then(Json::as_str)
            .unwrap_or("?"),
        crate::command::field(json, "authority")
            .and_then(Json::as_str)
            .unwrap_or("?"),
    )
}

impl Document {
    /// A scalar or native value in the stored layout.
    pub(crate) fn to_stored_json(&self, value: &Value) -> Json {
        match value {
            Value::Void => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(n) | Value::Enum(n) => Json::from(*n),
            Value::Long(n) => Json::String(n.to_string()),
            Value::Double(n) | Value::TimeSpan(n) => double_json(*n),
            Value::Complex(re, im) => json!({"r": double_json(*re), "i": double_json(*im)}),
            Value::Str(text) | Value::Label(text) => Json::String(text.to_string()),
            Value::Principal(principal) => principal_json(principal),
            Value::Date(date) => Json::String(date_text(date)),
            Value::Time(time) => Json::String(time_text(time)),
            Value::DateTime(datetime) => Json::String(datetime_text(datetime)),
            Value::Dynamic(json) => (**json).clone(),
            Value::Asset(asset) => {
                json!({"id": &*asset.id, "size": asset.size.to_string(), "name": &*asset.name,
                "type": &*asset.content_type, "md5": &*asset.md5, "sha384": &*asset.sha384, "@gc": "@yes"})
            }
            Value::Maybe(None) => Json::Null,
            Value::Maybe(Some(inner)) => self.to_stored_json(inner),
            Value::List(items) | Value::NativeTable(items) => {
                Json::Array(items.iter().map(|item| self.to_stored_json(item)).collect())
            }
            Value::Map(map) => {
                let mut object = Map::new();
                for (key, value) in map.iter() {
                    object.insert(key.json_key(), self.to_stored_json(value));
                }
                Json::Object(object)
            }
            Value::Message(message) => {
                let mut object = Map::new();
                for (name, value) in message.shape.fields.iter().zip(&message.values) {
                    object.insert(name.to_string(), self.to_stored_json(value));
                }
                Json::Object(object)
            }
            Value::Record(record) => self.dump_record(*record),
            Value::Text(text) => text.stored(),
            Value::Replication(status) => status.stored(),
            Value::Table(table) => {
                let mut object = Map::new();
                for (id, record) in &self.store.tables[table.0 as usize].rows {
                    object.insert(id.to_string(), self.dump_record(*record));
                }
                Json::Object(object)
            }
            Value::Future(_) => Json::Null,
        }
    }

    /// A value as a viewer sees it (principals tagged with `@t`).
    pub(crate) fn to_view_json(&self, value: &Value) -> Json {
        match value {
            Value::Principal(principal) => {
                json!({"@t": 1, "agent": &*principal.agent, "authority": &*principal.authority})
            }
            Value::Asset(asset) => json!({"id": &*asset.id, "size": asset.size.to_string(),
                "type": &*asset.content_type, "md5": &*asset.md5, "sha384": &*asset.sha384}),
            Value::Message(message) => {
                let mut object = Map::new();
                for (name, value) in message.shape.fields.iter().zip(&message.values) {
                    object.insert(name.to_string(), self.to_view_json(value));
                }
                Json::Object(object)
            }
            Value::Maybe(Some(inner)) => self.to_view_json(inner),
            Value::Text(text) => text.view(),
            Value::Replication(status) => Json::String(status.text()),
            Value::List(items) => {
                Json::Array(items.iter().map(|item| self.to_view_json(item)).collect())
            }
            other => self.to_stored_json(other),
        }
    }

    /// The stored form of a record: its stored fields, `id` first when declared.
    pub(crate) fn dump_record(&self, record: RecordRef) -> Json {
        let data = self.store.record(record);
        let layout = &self.program.records[data.layout];
        let mut object = Map::new();
        if let Some(id) = layout.id_slot {
            object.insert("id".into(), self.to_stored_json(&data.slots[id as usize]));
        }
        for (slot, field) in layout.fields.iter().enumerate() {
            if Some(slot as u32) == layout.id_slot
                || !matches!(field.kind, FieldKind::Stored { .. })
            {
                continue;
            }
            object.insert(field.name.clone(), self.to_stored_json(&data.slots[slot]));
        }
        Json::Object(object)
    }

    /// A JSON value read as a value of a type (messages from clients, stored documents).
    // The document is the context of the conversion (message layouts), not its source.
    #[allow(clippy::wrong_self_convention)]
    pub(crate) fn from_json(&self, ty: &Ty, json: &Json) -> Value {
        match ty {
            Ty::Bool => Value::Bool(json.as_bool().unwrap_or(json.as_str() == Some("true"))),
            Ty::Int => Value::Int(number(json) as i32),
            Ty::Enum(_) => Value::Enum(number(json) as i32),
            Ty::Long => Value::Long(exact_long(json)),
            Ty::Double => Value::Double(number(json)),
            Ty::TimeSpan => Value::TimeSpan(number(json)),
            Ty::Complex => Value::Complex(
                json.get("r").map_or(0.0, number),
                json.get("i").map_or(0.0, number),
            ),
            // A stored collaborative text; anything else reads as the string it assigns.
            Ty::Text if json.is_object() => {
                Value::Text(Arc::new(crate::text::CollabText::from_stored(json)))
            }
            Ty::Replication => Value::Replication(Arc::new(
                crate::replication::ReplicationStatus::from_stored(json),
            )),
            Ty::String | Ty::Text => match json {
                // A client may send a number or a bool where a string is declared: its text.
                Json::Number(number) => Value::string(&number.to_string()),
                Json::Bool(value) => Value::string(if *value { "true" } else { "false" }),
                other => Value::string(other.as_str().unwrap_or("")),
            },
            Ty::Label => Value::Label(Arc::from(json.as_str().unwrap_or(""))),
            Ty::Principal | Ty::SecurePrincipal => Value::principal(principal_from_json(json)),
            Ty::Date => Value::Date(json.as_str().and_then(parse_date).unwrap_or_default()),
            Ty::Time => Value::Time(json.as_str().and_then(parse_time).unwrap_or_default()),
            Ty::DateTime => Value::DateTime(Arc::new(
                json.as_str().and_then(parse_datetime).unwrap_or_default(),
            )),
            Ty::Dynamic | Ty::Json => Value::Dynamic(Arc::new(json.clone())),
            Ty::Asset => Value::Asset(Arc::new(Asset {
                id: Arc::from(json.get("id").and_then(Json::as_str).unwrap_or("")),
                size: json.get("size").map_or(0.0, number) as i64,
                name: Arc::from(json.get("name").and_then(Json::as_str).unwrap_or("")),
                content_type: Arc::from(json.get("type").and_then(Json::as_str).unwrap_or("")),
                md5: Arc::from(json.get("md5").and_then(Json::as_str).unwrap_or("")),
                sha384: Arc::from(json.get("sha384").and_then(Json::as_str).unwrap_or("")),
            })),
            Ty::Maybe(inner) => match json {
                Json::Null => Value::Maybe(None),
                other => Value::some(self.from_json(inner, other)),
            },
            Ty::List(element) | Ty::Array(element) => Value::list(match json {
                Json::Array(items) => items
                    .iter()
                    .map(|item| self.from_json(element, item))
                    .collect(),
                Json::Null => Vec::new(),
                other => vec![self.from_json(element, other)],
            }),
            Ty::Map(key, value) => {
                let mut map = BTreeMap::new();
                if let Json::Object(object) = json {
                    for (name, entry) in object {
                        let key_value = match &**key {
                            Ty::Int | Ty::Enum(_) => Value::Int(name.parse().unwrap_or(0)),
                            Ty::Long => Value::Long(name.parse().unwrap_or(0)),
                            _ => Value::string(name),
                        };
                        if entry.is_null() {
                            continue;
                        }
                        map.insert(key_value.to_map_key(), self.from_json(value, entry));
                    }
                }
                Value::Map(Arc::new(map))
            }
            Ty::Message(name) | Ty::Holder(name) => match self.program.message_named(name) {
                Some(index) => self.message_from_json(index, json),
                None => Value::Dynamic(Arc::new(json.clone())),
            },
            Ty::Table(element) => Value::NativeTable(Arc::new(match json {
                Json::Array(items) => items
                    .iter()
                    .map(|item| self.from_json(element, item))
                    .collect(),
                Json::Object(rows) => rows
                    .values()
                    .map(|item| self.from_json(element, item))
                    .collect(),
                _ => Vec::new(),
            })),
            _ => Value::Dynamic(Arc::new(json.clone())),
        }
    }

    /// A message of a declared type read from JSON: declared fields, defaults for missing ones,
    /// unknown fields dropped.
    pub(crate) fn message_from_json(&self, index: MessageId, json: &Json) -> Value {
        let layout = &self.program.messages[index];
        let values = layout
            .fields
            .iter()
            .map(|field| match json.get(&field.name) {
                Some(value) if !value.is_null() || matches!(field.ty, Ty::Maybe(_)) => {
                    self.from_json(&field.ty, value)
                }
                _ => self.default_value(&field.ty),
            })
            .collect();
        Value::Message(Arc::new(Message {
            shape: Arc::clone(&self.loaded.shapes[index.index()]),
            values,
        }))
    }

    /// Loads a stored document (a dump, or a patch of one) into this instance, outside any
    /// transaction: how a document is rebuilt from its stored JSON, including by a new version
    /// of its program.
    pub fn insert(&mut self, json: &Json) {
        let program = Arc::clone(&self.program);
        // A stored document is rebuilt whole, whatever a transaction may allocate.
        let bytes_left = std::mem::replace(&mut self.run.bytes_left, u64::MAX);
        self.load_record(&program, self.root, json);
        self.load_meta(json);
        for job in &program.crons {
            if let Some(last) = json.get(format!("__{}", job.name)).map(number) {
                Arc::make_mut(&mut self.meta.crons).insert(job.name.clone(), last as i64);
            }
        }
        self.store.journal = Default::default();
        self.store.mark_committed();
        self.run.bytes_left = bytes_left;
        self.formulas.cache.clear();
    }

    /// Reads the internal `__` fields of a stored document (absent ones keep their value).
    fn load_meta(&mut self, json: &Json) {
        let long = |key: &str| json.get(key).map(exact_long);
        let int = |key: &str| json.get(key).map(number).map(|n| n as i32);
        let meta = &mut self.meta;
        if let Some(state) = json.get("__state").and_then(Json::as_str) {
            meta.state = Arc::from(state);
        }
        if let Some(constructed) = json.get("__constructed").and_then(Json::as_bool) {
            meta.constructed = constructed;
        }
        if let Some(blocked) = json.get("__blocked").and_then(Json::as_bool) {
            meta.blocked = blocked;
        }
        if let Some(zone) = json.get("__timezone").and_then(Json::as_str) {
            meta.timezone = Arc::from(zone);
        }
        meta.next_time = long("__next_time").unwrap_or(meta.next_time);
        meta.last_expire_time = long("__last_expire_time").unwrap_or(meta.last_expire_time);
        meta.time = long("__time").unwrap_or(meta.time);
        meta.entropy = json
            .get("__entropy")
            .and_then(|value| match value {
                Json::String(text) => text.parse().ok(),
                other => other.as_i64(),
            })
            .unwrap_or(meta.entropy);
        meta.seq = int("__seq").unwrap_or(meta.seq);
        meta.auto_future_id = int("__auto_future_id").unwrap_or(meta.auto_future_id);
        meta.connection_id = int("__connection_id").unwrap_or(meta.connection_id);
        meta.message_id = int("__message_id").unwrap_or(meta.message_id);
        meta.auto_table_row_id = int("__auto_table_row_id").unwrap_or(meta.auto_table_row_id);
        meta.auto_gen = int("__auto_gen").unwrap_or(meta.auto_gen);
        if let Some(Json::Object(clients)) = json.get("__clients") {
            let map = Arc::make_mut(&mut meta.clients);
            for (id, who) in clients {
                let Ok(id) = id.parse::<i32>() else { continue };
                if who.is_null() {
                    map.remove(&id);
                } else {
                    map.insert(id, principal_from_json(who));
                }
            }
        }
        if let Some(Json::Object(markers)) = json.get("__dedupe") {
            let map = Arc::make_mut(&mut meta.dedupe);
            for (key, used) in markers {
                if used.is_null() {
                    map.remove(key);
                } else {
                    map.insert(key.clone(), exact_long(used));
                }
            }
        }
        if let Some(Json::Object(timeouts)) = json.get("__timeouts") {
            let map = Arc::make_mut(&mut meta.timeouts);
            for (id, timeout) in timeouts {
                let Ok(id) = id.parse::<i32>() else { continue };
                if timeout.is_null() {
                    map.remove(&id);
                    continue;
                }
                map.insert(
                    id,
                    crate::document::Timeout {
                        started: timeout.get("timestamp").map_or(0, exact_long),
                        seconds: timeout.get("timeout").map(number).unwrap_or(0.0),
                    },
                );
            }
        }
        match json.get("__messages") {
            Some(Json::Null) => meta.messages = Arc::new(BTreeMap::new()),
            Some(Json::Object(messages)) => {
                let map = Arc::make_mut(&mut meta.messages);
                for (id, task) in messages {
                    let Ok(id) = id.parse::<i32>() else { continue };
                    if task.is_null() {
                        map.remove(&id);
                        continue;
                    }
                    map.insert(
                        id,
                        crate::document::QueuedMessage {
                            who: task.get("who").map(principal_from_json).unwrap_or_default(),
                            channel: task
                                .get("channel")
                                .and_then(Json::as_str)
                                .unwrap_or("")
                                .to_owned(),
                            seq: task.get("seq").map(number).map_or(0, |n| n as i32),
                            timestamp: task.get("timestamp").map_or(0, exact_long),
                            message: task.get("message").cloned().unwrap_or(Json::Null),
                        },
                    );
                }
            }
            _ => {}
        }
    }

    /// Merges a data patch into a record as writes of the current transaction (nulls delete rows
    /// and map entries, and empty maybes).
    pub(crate) fn patch_record(
        &mut self,
        program: &Program,
        record: RecordRef,
        patch: &Json,
    ) -> Result<(), crate::error::Fault> {
        let layout = self.store.record(record).layout;
        let Json::Object(entries) = patch else {
            return Ok(());
        };
        for (name, value) in entries {
            let Some(&slot) = program.records[layout].slot_index.get(name) else {
                continue;
            };
            let field = &program.records[layout].fields[slot as usize];
            if !matches!(field.kind, FieldKind::Stored { .. })
                || Some(slot) == program.records[layout].id_slot
            {
                continue;
            }
            let ty = field.ty.clone();
            let current = self.store.get(record, slot).clone();
            match (&ty, current) {
                (Ty::Record(_), Value::Record(child)) => {
                    self.patch_record(program, child, value)?
                }
                (Ty::Table(_), Value::Table(table)) => {
                    let Json::Object(rows) = value else { continue };
                    for (id, row) in rows {
                        let Ok(id) = id.parse::<i32>() else { continue };
                        let existing = self.store.tables[table.0 as usize].rows.get(&id).copied();
                        match (existing, row.is_null()) {
                            (Some(_), true) => {
                                self.store.delete_row(table, id);
                            }
                            (Some(existing), false) => self.patch_record(program, existing, row)?,
                            (None, true) => {}
                            (None, false) => {
                                let row_layout = self.store.tables[table.0 as usize].layout;
                                let created = self
                                    .new_record(row_layout, crate::store::Parent::Row { table })?;
                                if let Some(id_slot) = program.records[row_layout].id_slot {
                                    self.store.records[created.0 as usize].slots
                                        [id_slot as usize] = Value::Int(id);
                                }
                                self.load_record(program, created, row);
                                self.store.insert_row(table, id, created);
                                if id > self.meta.auto_table_row_id {
                                    self.meta.auto_table_row_id = id;
                                }
                            }
                        }
                    }
                }
                (Ty::Map(_, value_ty), current) if holds_records(value_ty) => {
                    let Some(child_layout) = field.records else {
                        continue;
                    };
                    let parent = crate::store::Parent::Field { record, slot };
                    let map =
                        self.patch_record_map(program, &ty, current, value, child_layout, parent)?;
                    self.write_slot(program, record, slot, map);
                }
                (Ty::Map(..), Value::Map(existing)) => {
                    let map = self.patch_map(&ty, &existing, value);
                    self.write_slot(program, record, slot, map);
                }
                (Ty::Maybe(inner), current) if matches!(**inner, Ty::Record(_)) => {
                    if value.is_null() {
                        self.write_slot(program, record, slot, Value::Maybe(None));
                        continue;
                    }
                    let Some(child_layout) = field.records else {
                        continue;
                    };
                    if let Value::Maybe(Some(existing)) = &current
                        && let Value::Record(existing) = **existing
                    {
                        self.patch_record(program, existing, value)?;
                        continue;
                    }
                    let parent = crate::store::Parent::Field { record, slot };
                    let child = self.new_record(child_layout, parent)?;
                    self.load_record(program, child, value);
                    self.write_slot(program, record, slot, Value::some(Value::Record(child)));
                }
                _ => {
                    let value = self.from_json(&ty, value);
                    self.write_slot(program, record, slot, value);
                }
            }
        }
        Ok(())
    }

    /// A map whose values are records (or maps of them) with a patch merged in, as writes of the
    /// current transaction: an entry's record takes its object as a patch, a key the map lacks
    /// gets a new record built from its object, a null removes its key.
    fn patch_record_map(
        &mut self,
        program: &Program,
        ty: &Ty,
        current: Value,
        patch: &Json,
        layout: RecordId,
        parent: crate::store::Parent,
    ) -> Result<Value, crate::error::Fault> {
        let Ty::Map(key_ty, value_ty) = ty else {
            return Ok(current);
        };
        let mut map = match current {
            Value::Map(map) => (*map).clone(),
            _ => BTreeMap::new(),
        };
        let Json::Object(entries) = patch else {
            return Ok(Value::Map(Arc::new(map)));
        };
        for (key, entry) in entries {
            let key_value = map_key(key_ty, key);
            if entry.is_null() {
                map.remove(&key_value);
                continue;
            }
            let existing = map.get(&key_value).cloned().unwrap_or(Value::Void);
            let patched = if matches!(**value_ty, Ty::Map(..)) {
                self.patch_record_map(program, value_ty, existing, entry, layout, parent)?
            } else {
                match existing {
                    Value::Record(existing) => {
                        self.patch_record(program, existing, entry)?;
                        Value::Record(existing)
                    }
                    _ => {
                        let child = self.new_record(layout, parent)?;
                        self.load_record(program, child, entry);
                        Value::Record(child)
                    }
                }
            };
            map.insert(key_value, patched);
        }
        Ok(Value::Map(Arc::new(map)))
    }

    /// A map with a patch merged in: a null removes its key, other entries replace theirs.
    fn patch_map(&self, ty: &Ty, existing: &crate::value::MapValue, patch: &Json) -> Value {
        let mut map = (**existing).clone();
        if let Json::Object(entries) = patch {
            for (name, entry) in entries {
                if entry.is_null() {
                    map.retain(|key, _| key.json_key() != *name);
                }
            }
        }
        if let Value::Map(entries) = self.from_json(ty, patch) {
            for (key, entry) in entries.iter() {
                map.insert(key.clone(), entry.clone());
            }
        }
        Value::Map(Arc::new(map))
    }

    /// Loads stored JSON into a fresh record (not journaled): the inverse of `dump_record`.
    pub(crate) fn load_record(&mut self, program: &Program, record: RecordRef, json: &Json) {
        let layout = self.store.record(record).layout;
        let Json::Object(object) = json else { return };
        for (name, value) in object {
            let Some(&slot) = program.records[layout].slot_index.get(name) else {
                continue;
            };
            let field = &program.records[layout].fields[slot as usize];
            if !matches!(field.kind, FieldKind::Stored { .. }) {
                continue;
            }
            let current = self.store.get(record, slot).clone();
            match (&field.ty, current) {
                (Ty::Record(_), Value::Record(child)) => self.load_record(program, child, value),
                (Ty::Table(_), Value::Table(table)) => {
                    let Json::Object(rows) = value else { continue };
                    let row_layout = self.store.tables[table.0 as usize].layout;
                    for (id, row) in rows {
                        let Ok(id) = id.parse::<i32>() else { continue };
                        if row.is_null() {
                            self.store.tables[table.0 as usize].listed = None;
                            if let Some(existing) =
                                self.store.tables[table.0 as usize].rows.shift_remove(&id)
                            {
                                self.store.records[existing.0 as usize].alive = false;
                            }
                            continue;
                        }
                        let existing = self.store.tables[table.0 as usize].rows.get(&id).copied();
                        let row_record = match existing {
                            Some(existing) => existing,
                            None => {
                                let Ok(created) = self
                                    .new_record(row_layout, crate::store::Parent::Row { table })
                                else {
                                    continue;
                                };
                                self.store.tables[table.0 as usize].rows.insert(id, created);
                                self.store.tables[table.0 as usize].listed = None;
                                created
                            }
                        };
                        self.load_record(program, row_record, row);
                    }
                }
                (Ty::Maybe(inner), _) if matches!(**inner, Ty::Record(_)) => {
                    if value.is_null() {
                        self.store.records[record.0 as usize].slots[slot as usize] =
                            Value::Maybe(None);
                        continue;
                    }
                    let Some(child_layout) = field.records else {
                        continue;
                    };
                    let child = match self.store.get(record, slot) {
                        Value::Maybe(Some(existing)) => match **existing {
                            Value::Record(existing) => existing,
                            _ => continue,
                        },
                        _ => match self
                            .new_record(child_layout, crate::store::Parent::Field { record, slot })
                        {
                            Ok(child) => child,
                            Err(_) => continue,
                        },
                    };
                    self.store.records[record.0 as usize].slots[slot as usize] =
                        Value::some(Value::Record(child));
                    self.load_record(program, child, value);
                }
                (Ty::Map(_, value_ty), current) if holds_records(value_ty) => {
                    let Some(child_layout) = field.records else {
                        continue;
                    };
                    let ty = field.ty.clone();
                    let parent = crate::store::Parent::Field { record, slot };
                    let map =
                        self.load_record_map(program, &ty, current, value, child_layout, parent);
                    self.store.set_fresh(record, slot, map);
                }
                (Ty::Map(..), Value::Map(existing)) => {
                    let map = self.patch_map(&field.ty, &existing, value);
                    self.store.set_fresh(record, slot, map);
                }
                (ty, _) => {
                    let ty = ty.clone();
                    let value = self.from_json(&ty, value);
                    self.store.set_fresh(record, slot, value);
                }
            }
        }
    }
}

impl Document {
    /// Loads stored JSON into a map whose values are records, or maps of them at any depth
    /// (`map<K1, map<K2, R>>`): existing records take the entries, new ones are created under
    /// `parent` (the field that holds the outermost map), a null removes its key.
    fn load_record_map(
        &mut self,
        program: &Program,
        ty: &Ty,
        current: Value,
        json: &Json,
        layout: RecordId,
        parent: crate::store::Parent,
    ) -> Value {
        let Ty::Map(key_ty, value_ty) = ty else {
            return current;
        };
        let mut map = match current {
            Value::Map(map) => (*map).clone(),
            _ => BTreeMap::new(),
        };
        if let Json::Object(entries) = json {
            for (key, entry) in entries {
                let key_value = map_key(key_ty, key);
                if entry.is_null() {
                    map.remove(&key_value);
                    continue;
                }
                let existing = map.get(&key_value).cloned().unwrap_or(Value::Void);
                let loaded = if matches!(**value_ty, Ty::Map(..)) {
                    self.load_record_map(program, value_ty, existing, entry, layout, parent)
                } else {
                    let child = match existing {
                        Value::Record(existing) => existing,
                        _ => match self.new_record(layout, parent) {
                            Ok(child) => child,
                            Err(_) => continue,
                        },
                    };
                    self.load_record(program, child, entry);
                    Value::Record(child)
                };
                map.insert(key_value, loaded);
            }
        }
        Value::Map(Arc::new(map))
    }
}

/// A map's key from its stored text.
fn map_key(key_ty: &Ty, key: &str) -> crate::value::MapKey {
    match key_ty {
        Ty::Int | Ty::Enum(_) => Value::Int(key.parse().unwrap_or(0)),
        Ty::Long => Value::Long(key.parse().unwrap_or(0)),
        _ => Value::string(key),
    }
    .to_map_key()
}

/// Whether a map's value type holds records: a record, or a map whose values hold records.
fn holds_records(ty: &Ty) -> bool {
    match ty {
        Ty::Record(_) => true,
        Ty::Map(_, value) => holds_records(value),
        _ => false,
    }
}

/// A long from its stored string (or a number): parsed exactly, not through a double.
fn exact_long(json: &Json) -> i64 {
    match json {
        Json::String(text) => text.parse().unwrap_or_else(|_| number(json) as i64),
        Json::Number(n) => n.as_i64().unwrap_or_else(|| number(json) as i64),
        _ => number(json) as i64,
    }
}

fn number(json: &Json) -> f64 {
    match json {
        Json::Number(n) => n.as_f64().unwrap_or(0.0),
        Json::String(text) => text.parse().unwrap_or(0.0),
        Json::Bool(true) => 1.0,
        _ => 0.0,
    }
}
