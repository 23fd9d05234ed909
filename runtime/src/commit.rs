//! The commit: the redo and undo merge patches of a transaction, walked in the document's
//! order over only what the journal marks as changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use adama_compiler::ir::FieldKind;
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json};

use crate::document::{Document, Meta};
use crate::encode::principal_json;
use crate::store::RowChange;
use crate::value::{MapKey, RecordRef, Value};

impl Document {
    /// Writes the changed user fields of a record into `redo` and `undo`.
    pub(crate) fn commit_record(
        &self,
        record: RecordRef,
        redo: &mut Map<String, Json>,
        undo: &mut Map<String, Json>,
    ) {
        let data = self.store.record(record);
        let layout = &self.program.records[data.layout];
        let journal = &self.store.journal;
        for (slot, field) in layout.fields.iter().enumerate() {
            if !matches!(field.kind, FieldKind::Stored { .. }) {
                continue;
            }
            let slot = slot as u32;
            let current = &data.slots[slot as usize];
            let original = journal.originals.get(&(record.0, slot));
            match current {
                Value::Record(child) => {
                    if journal.dirty.contains(&child.0) {
                        let (mut child_redo, mut child_undo) = (Map::new(), Map::new());
                        self.commit_record(*child, &mut child_redo, &mut child_undo);
                        if !child_redo.is_empty() {
                            redo.insert(field.name.clone(), Json::Object(child_redo));
                            undo.insert(field.name.clone(), Json::Object(child_undo));
                        }
                    }
                }
                Value::Table(table) => {
                    let (mut table_redo, mut table_undo) = (Map::new(), Map::new());
                    self.commit_table(table.0, &mut table_redo, &mut table_undo);
                    if !table_redo.is_empty() {
                        redo.insert(field.name.clone(), Json::Object(table_redo));
                        undo.insert(field.name.clone(), Json::Object(table_undo));
                    }
                }
                Value::Map(map) if map_holds_records(&field.ty) => {
                    let old = match original {
                        Some(Value::Map(old)) => Some(old),
                        _ => None,
                    };
                    let (map_redo, map_undo) = self.commit_record_map(old, original.is_some(), map);
                    if !map_redo.is_empty() {
                        redo.insert(field.name.clone(), Json::Object(map_redo));
                        undo.insert(field.name.clone(), Json::Object(map_undo));
                    }
                }
                Value::Map(map) => {
                    let Some(Value::Map(old)) = original else {
                        continue;
                    };
                    let (map_redo, map_undo) = self.diff_maps(old, map);
                    if !map_redo.is_empty() {
                        redo.insert(field.name.clone(), Json::Object(map_redo));
                        undo.insert(field.name.clone(), Json::Object(map_undo));
                    }
                }
                Value::Maybe(Some(inner)) if matches!(**inner, Value::Record(_)) => {
                    let Value::Record(child) = **inner else {
                        continue;
                    };
                    if matches!(original, Some(Value::Maybe(None))) {
                        redo.insert(field.name.clone(), self.dump_record(child));
                        undo.insert(field.name.clone(), Json::Null);
                    } else if journal.dirty.contains(&child.0) {
                        let (mut child_redo, mut child_undo) = (Map::new(), Map::new());
                        self.commit_record(child, &mut child_redo, &mut child_undo);
                        if !child_redo.is_empty() {
                            redo.insert(field.name.clone(), Json::Object(child_redo));
                            undo.insert(field.name.clone(), Json::Object(child_undo));
                        }
                    }
                }
                // The patch of a text or a replication status names only what changed (a new
                // change set, a new state).
                Value::Text(_) | Value::Replication(_) => {
                    if let Some(original) = original {
                        let old = self.committed_json(original);
                        let new = self.to_stored_json(current);
                        if let (Json::Object(old), Json::Object(new)) = (&old, &new) {
                            let (text_redo, text_undo) = merge_diff(old, new);
                            redo.insert(field.name.clone(), Json::Object(text_redo));
                            undo.insert(field.name.clone(), Json::Object(text_undo));
                        } else {
                            redo.insert(field.name.clone(), new);
                            undo.insert(field.name.clone(), old);
                        }
                    }
                }
                _ => {
                    if let Some(original) = original {
                        redo.insert(field.name.clone(), self.to_stored_json(current));
                        undo.insert(field.name.clone(), self.committed_json(original));
                    }
                }
            }
        }
    }

    /// The patches of a map whose values are records, or maps of them: entries gone, entries
    /// new (when the map itself was written: `written`), and the changes of records kept.
    fn commit_record_map(
        &self,
        old: Option<&crate::value::MapValue>,
        written: bool,
        map: &crate::value::MapValue,
    ) -> (Map<String, Json>, Map<String, Json>) {
        let journal = &self.store.journal;
        let (mut map_redo, mut map_undo) = (Map::new(), Map::new());
        if let Some(old) = old {
            for (key, value) in old.iter() {
                if !map.contains_key(key) {
                    map_redo.insert(key.json_key(), Json::Null);
                    map_undo.insert(key.json_key(), self.committed_json(value));
                }
            }
        }
        let was = |key| old.and_then(|old| old.get(key));
        for (key, value) in map.iter() {
            let (entry_redo, entry_undo) = match value {
                Value::Record(child) => {
                    if written && was(key).is_none() {
                        (self.dump_record(*child), Json::Null)
                    } else if journal.dirty.contains(&child.0) {
                        let (mut child_redo, mut child_undo) = (Map::new(), Map::new());
                        self.commit_record(*child, &mut child_redo, &mut child_undo);
                        (Json::Object(child_redo), Json::Object(child_undo))
                    } else {
                        continue;
                    }
                }
                Value::Map(inner) => {
                    let inner_old = match was(key) {
                        Some(Value::Map(inner_old)) => Some(inner_old),
                        _ => None,
                    };
                    if written && inner_old.is_none() {
                        (self.to_stored_json(value), Json::Null)
                    } else {
                        let (inner_redo, inner_undo) =
                            self.commit_record_map(inner_old, written, inner);
                        (Json::Object(inner_redo), Json::Object(inner_undo))
                    }
                }
                _ => continue,
            };
            if entry_redo
                .as_object()
                .is_none_or(|object| !object.is_empty())
            {
                map_redo.insert(key.json_key(), entry_redo);
                map_undo.insert(key.json_key(), entry_undo);
            }
        }
        (map_redo, map_undo)
    }

    /// The stored form of a value as it was committed (records with their original slots).
    fn committed_json(&self, value: &Value) -> Json {
        match value {
            Value::Record(record) => self.committed_record(*record),
            Value::Maybe(Some(inner)) => self.committed_json(inner),
            other => self.to_stored_json(other),
        }
    }

    fn committed_record(&self, record: RecordRef) -> Json {
        let data = self.store.record(record);
        let layout = &self.program.records[data.layout];
        let mut object = Map::new();
        if let Some(id) = layout.id_slot {
            object.insert(
                "id".into(),
                self.to_stored_json(self.store.committed(record, id)),
            );
        }
        for (slot, field) in layout.fields.iter().enumerate() {
            if Some(slot as u32) == layout.id_slot
                || !matches!(field.kind, FieldKind::Stored { .. })
            {
                continue;
            }
            let value = self.store.committed(record, slot as u32);
            object.insert(field.name.clone(), self.committed_json(value));
        }
        Json::Object(object)
    }

    fn commit_table(&self, table: u32, redo: &mut Map<String, Json>, undo: &mut Map<String, Json>) {
        let journal = &self.store.journal;
        let changes = journal.rows.get(&table);
        let mut created: Vec<i32> = Vec::new();
        let mut deleted: Vec<(i32, RecordRef)> = Vec::new();
        if let Some(changes) = changes {
            for (id, change) in changes {
                match change {
                    RowChange::Created => created.push(*id),
                    RowChange::Deleted { record, .. } => {
                        if let Some(position) = created.iter().position(|c| c == id) {
                            created.remove(position);
                        } else {
                            deleted.push((*id, *record));
                        }
                    }
                }
            }
        }
        // Only the rows the journal names are visited (in table order), so a commit costs what
        // changed, not the size of the table.
        let data = &self.store.tables[table as usize];
        let mut touched: Vec<(usize, i32, RecordRef, bool)> = Vec::new();
        for id in &created {
            if let Some((index, _, record)) = data.rows.get_full(id) {
                touched.push((index, *id, *record, true));
            }
        }
        for record in &journal.dirty {
            let row = &self.store.records[*record as usize];
            if row.parent()
                != (crate::store::Parent::Row {
                    table: crate::value::TableRef(table),
                })
                || !row.alive
            {
                continue;
            }
            let Some(id_slot) = self.program.records[row.layout].id_slot else {
                continue;
            };
            let id = row.slots[id_slot as usize].as_int();
            if created.contains(&id) {
                continue;
            }
            if let Some(index) = data.rows.get_index_of(&id) {
                touched.push((index, id, RecordRef(*record), false));
            }
        }
        touched.sort_unstable_by_key(|(index, ..)| *index);
        for (_, id, record, fresh) in touched {
            if fresh {
                redo.insert(id.to_string(), self.dump_record(record));
                undo.insert(id.to_string(), Json::Null);
            } else {
                let (mut row_redo, mut row_undo) = (Map::new(), Map::new());
                self.commit_record(record, &mut row_redo, &mut row_undo);
                if !row_redo.is_empty() {
                    redo.insert(id.to_string(), Json::Object(row_redo));
                    undo.insert(id.to_string(), Json::Object(row_undo));
                }
            }
        }
        for (id, record) in deleted {
            redo.insert(id.to_string(), Json::Null);
            undo.insert(id.to_string(), self.committed_record(record));
        }
    }

    fn diff_maps(
        &self,
        old: &BTreeMap<MapKey, Value>,
        new: &BTreeMap<MapKey, Value>,
    ) -> (Map<String, Json>, Map<String, Json>) {
        let (mut redo, mut undo) = (Map::new(), Map::new());
        for (key, value) in old {
            if !new.contains_key(key) {
                redo.insert(key.json_key(), Json::Null);
                undo.insert(key.json_key(), self.to_stored_json(value));
            }
        }
        for (key, value) in new {
            match old.get(key) {
                Some(previous) if previous == value && same_type(previous, value) => {}
                Some(previous) => {
                    redo.insert(key.json_key(), self.to_stored_json(value));
                    undo.insert(key.json_key(), self.to_stored_json(previous));
                }
                None => {
                    redo.insert(key.json_key(), self.to_stored_json(value));
                    undo.insert(key.json_key(), Json::Null);
                }
            }
        }
        (redo, undo)
    }

    /// The whole stored document (runtime spec §1.4).
    pub fn dump(&self) -> Json {
        let mut object = Map::new();
        object.insert(
            "__snapshot".into(),
            Json::String(format!("{}/{}", self.space, self.key)),
        );
        if let Json::Object(fields) = self.dump_record(self.root) {
            object.extend(fields);
        }
        for (name, last) in self.meta.crons.iter() {
            object.insert(format!("__{name}"), long_json(*last));
        }
        meta_fields(&self.meta, &mut object);
        if !self.meta.dedupe.is_empty() {
            let markers: Map<String, Json> = self
                .meta
                .dedupe
                .iter()
                .map(|(key, used)| (key.clone(), long_json(*used)))
                .collect();
            object.insert("__dedupe".into(), Json::Object(markers));
        }
        if !self.meta.clients.is_empty() {
            let clients: Map<String, Json> = self
                .meta
                .clients
                .iter()
                .map(|(id, who)| (id.to_string(), principal_json(who)))
                .collect();
            object.insert("__clients".into(), Json::Object(clients));
        }
        if !self.meta.messages.is_empty() {
            object.insert("__messages".into(), messages_json(&self.meta));
        }
        if !self.meta.timeouts.is_empty() {
            let timeouts: Map<String, Json> = self
                .meta
                .timeouts
                .iter()
                .map(|(id, timeout)| (id.to_string(), timeout_json(timeout)))
                .collect();
            object.insert("__timeouts".into(), Json::Object(timeouts));
        }
        object.insert("__webqueue".into(), Json::Object(Map::new()));
        object.insert("__replication".into(), Json::Object(Map::new()));
        Json::Object(object)
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The queued messages as stored.
pub(crate) fn messages_json(meta: &Meta) -> Json {
    Json::Object(
        meta.messages
            .iter()
            .map(|(id, message)| {
                (
                    id.to_string(),
                    serde_json::json!({
                        "who": principal_json(&message.who),
                        "channel": message.channel,
                        "seq": message.seq,
                        "timestamp": message.timestamp.to_string(),
                        "message": message.message,
                    }),
                )
            })
            .collect(),
    )
}

/// A timed ask's clock as stored.
pub(crate) fn timeout_json(timeout: &crate::document::Timeout) -> Json {
    serde_json::json!({"timestamp": timeout.started.to_string(), "timeout": double_or_int(timeout.seconds)})
}

fn double_or_int(value: f64) -> Json {
    crate::json::double_json(value)
}

/// A long as stored: a string.
fn long_json(value: i64) -> Json {
    Json::String(value.to_string())
}

/// The always-present internal fields, in the dump's order.
pub(crate) fn meta_fields(meta: &Meta, object: &mut Map<String, Json>) {
    object.insert("__state".into(), Json::String(meta.state.to_string()));
    object.insert("__constructed".into(), Json::Bool(meta.constructed));
    object.insert(
        "__next_time".into(),
        Json::String(meta.next_time.to_string()),
    );
    object.insert(
        "__last_expire_time".into(),
        Json::String(meta.last_expire_time.to_string()),
    );
    object.insert("__blocked".into(), Json::Bool(meta.blocked));
    object.insert("__seq".into(), Json::from(meta.seq));
    object.insert("__entropy".into(), Json::String(meta.entropy.to_string()));
    object.insert("__auto_future_id".into(), Json::from(meta.auto_future_id));
    object.insert("__connection_id".into(), Json::from(meta.connection_id));
    object.insert("__message_id".into(), Json::from(meta.message_id));
    object.insert("__time".into(), Json::String(meta.time.to_string()));
    object.insert("__timezone".into(), Json::String(meta.timezone.to_string()));
    object.insert(
        "__auto_table_row_id".into(),
        Json::from(meta.auto_table_row_id),
    );
    object.insert("__auto_gen".into(), Json::from(meta.auto_gen));
    object.insert("__auto_cache_id".into(), Json::from(0));
    object.insert("__cache".into(), Json::Object(Map::new()));
    object.insert("__webTaskId".into(), Json::from(0));
}

/// The internal fields that changed between two metas, into redo (new) and undo (old).
pub(crate) fn diff_meta(
    old: &Meta,
    new: &Meta,
    redo: &mut Map<String, Json>,
    undo: &mut Map<String, Json>,
) {
    // Compared field by field: this runs once per transaction, so it builds JSON only for what
    // changed.
    let mut changed = |key: &str, new_value: Json, old_value: Json| {
        redo.insert(key.to_owned(), new_value);
        undo.insert(key.to_owned(), old_value);
    };
    if old.state != new.state {
        changed("__state", Json::from(&*new.state), Json::from(&*old.state));
    }
    if old.constructed != new.constructed {
        changed(
            "__constructed",
            Json::Bool(new.constructed),
            Json::Bool(old.constructed),
        );
    }
    if old.next_time != new.next_time {
        changed(
            "__next_time",
            long_json(new.next_time),
            long_json(old.next_time),
        );
    }
    if old.last_expire_time != new.last_expire_time {
        changed(
            "__last_expire_time",
            long_json(new.last_expire_time),
            long_json(old.last_expire_time),
        );
    }
    if old.blocked != new.blocked {
        changed(
            "__blocked",
            Json::Bool(new.blocked),
            Json::Bool(old.blocked),
        );
    }
    if old.seq != new.seq {
        changed("__seq", Json::from(new.seq), Json::from(old.seq));
    }
    if old.entropy != new.entropy {
        changed("__entropy", long_json(new.entropy), long_json(old.entropy));
    }
    if old.auto_future_id != new.auto_future_id {
        changed(
            "__auto_future_id",
            Json::from(new.auto_future_id),
            Json::from(old.auto_future_id),
        );
    }
    if old.connection_id != new.connection_id {
        changed(
            "__connection_id",
            Json::from(new.connection_id),
            Json::from(old.connection_id),
        );
    }
    if old.message_id != new.message_id {
        changed(
            "__message_id",
            Json::from(new.message_id),
            Json::from(old.message_id),
        );
    }
    if old.time != new.time {
        changed("__time", long_json(new.time), long_json(old.time));
    }
    if old.timezone != new.timezone {
        changed(
            "__timezone",
            Json::from(&*new.timezone),
            Json::from(&*old.timezone),
        );
    }
    if old.auto_gen != new.auto_gen {
        changed(
            "__auto_gen",
            Json::from(new.auto_gen),
            Json::from(old.auto_gen),
        );
    }
    if old.auto_table_row_id != new.auto_table_row_id {
        changed(
            "__auto_table_row_id",
            Json::from(new.auto_table_row_id),
            Json::from(old.auto_table_row_id),
        );
    }
    if !Arc::ptr_eq(&old.messages, &new.messages) && *old.messages != *new.messages {
        if new.messages.is_empty() {
            redo.insert("__messages".into(), Json::Null);
            undo.insert("__messages".into(), messages_json(old));
        } else {
            let (mut message_redo, mut message_undo) = (Map::new(), Map::new());
            let (old_json, new_json) = (messages_json(old), messages_json(new));
            for (id, task) in new_json.as_object().into_iter().flatten() {
                if old_json.get(id) != Some(task) {
                    message_redo.insert(id.clone(), task.clone());
                    message_undo
                        .insert(id.clone(), old_json.get(id).cloned().unwrap_or(Json::Null));
                }
            }
            redo.insert("__messages".into(), Json::Object(message_redo));
            undo.insert("__messages".into(), Json::Object(message_undo));
        }
    }
    if !Arc::ptr_eq(&old.dedupe, &new.dedupe) && *old.dedupe != *new.dedupe {
        let (mut marker_redo, mut marker_undo) = (Map::new(), Map::new());
        for (key, used) in old.dedupe.iter() {
            if !new.dedupe.contains_key(key) {
                marker_redo.insert(key.clone(), Json::Null);
                marker_undo.insert(key.clone(), long_json(*used));
            }
        }
        for (key, used) in new.dedupe.iter() {
            if old.dedupe.get(key) != Some(used) {
                marker_redo.insert(key.clone(), long_json(*used));
                marker_undo.insert(
                    key.clone(),
                    old.dedupe
                        .get(key)
                        .map_or(Json::Null, |used| long_json(*used)),
                );
            }
        }
        redo.insert("__dedupe".into(), Json::Object(marker_redo));
        undo.insert("__dedupe".into(), Json::Object(marker_undo));
    }
    if !Arc::ptr_eq(&old.crons, &new.crons) {
        for (name, last) in new.crons.iter() {
            let previous = old.crons.get(name);
            if previous != Some(last) {
                redo.insert(format!("__{name}"), long_json(*last));
                undo.insert(
                    format!("__{name}"),
                    previous.map_or(Json::Null, |previous| long_json(*previous)),
                );
            }
        }
    }
    if !Arc::ptr_eq(&old.timeouts, &new.timeouts) && *old.timeouts != *new.timeouts {
        let (mut timeout_redo, mut timeout_undo) = (Map::new(), Map::new());
        for (id, timeout) in old.timeouts.iter() {
            if !new.timeouts.contains_key(id) {
                timeout_redo.insert(id.to_string(), Json::Null);
                timeout_undo.insert(id.to_string(), timeout_json(timeout));
            }
        }
        for (id, timeout) in new.timeouts.iter() {
            if old.timeouts.get(id) != Some(timeout) {
                timeout_redo.insert(id.to_string(), timeout_json(timeout));
                timeout_undo.insert(
                    id.to_string(),
                    old.timeouts.get(id).map_or(Json::Null, timeout_json),
                );
            }
        }
        redo.insert("__timeouts".into(), Json::Object(timeout_redo));
        undo.insert("__timeouts".into(), Json::Object(timeout_undo));
    }
    if !Arc::ptr_eq(&old.clients, &new.clients) && *old.clients != *new.clients {
        let (mut client_redo, mut client_undo) = (Map::new(), Map::new());
        for (id, who) in old.clients.iter() {
            if !new.clients.contains_key(id) {
                client_redo.insert(id.to_string(), Json::Null);
                client_undo.insert(id.to_string(), principal_json(who));
            }
        }
        for (id, who) in new.clients.iter() {
            if !old.clients.contains_key(id) {
                client_redo.insert(id.to_string(), principal_json(who));
                client_undo.insert(id.to_string(), Json::Null);
            }
        }
        redo.insert("__clients".into(), Json::Object(client_redo));
        undo.insert("__clients".into(), Json::Object(client_undo));
    }
}

/// Whether a map's values are records, or maps whose values are (at any depth).
fn map_holds_records(ty: &Ty) -> bool {
    match ty {
        Ty::Map(_, value) => matches!(**value, Ty::Record(_)) || map_holds_records(value),
        _ => false,
    }
}

/// The merge patches (RFC 7386) from one object to another and back: changed keys with their
/// new values (objects on both sides recursively), removed keys as null.
fn merge_diff(
    old: &Map<String, Json>,
    new: &Map<String, Json>,
) -> (Map<String, Json>, Map<String, Json>) {
    let (mut redo, mut undo) = (Map::new(), Map::new());
    for (key, value) in new {
        match (old.get(key), value) {
            (Some(before), after) if before == after => {}
            (Some(Json::Object(before)), Json::Object(after)) => {
                let (inner_redo, inner_undo) = merge_diff(before, after);
                redo.insert(key.clone(), Json::Object(inner_redo));
                undo.insert(key.clone(), Json::Object(inner_undo));
            }
            (before, after) => {
                redo.insert(key.clone(), after.clone());
                undo.insert(key.clone(), before.cloned().unwrap_or(Json::Null));
            }
        }
    }
    for (key, value) in old {
        if !new.contains_key(key) {
            redo.insert(key.clone(), Json::Null);
            undo.insert(key.clone(), value.clone());
        }
    }
    (redo, undo)
}
