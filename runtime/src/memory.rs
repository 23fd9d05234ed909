//! The memory budget: an estimate, in bytes, of what values and records cost.
//!
//! A transaction may allocate at most [`crate::Limits::transaction_bytes`], and a document may
//! hold at most [`crate::Limits::document_bytes`]. The figures are estimates, not the
//! allocator's count, chosen so that what they bound grows as the process does:
//! - a string costs its length in bytes plus [`VALUE_BYTES`];
//! - a list, map, message or tuple costs [`VALUE_BYTES`] per element plus [`VALUE_BYTES`]
//!   (its elements are counted when they are made);
//! - a record costs [`RECORD_BYTES`] plus [`VALUE_BYTES`] per slot.
//!
//! What a transaction allocates is charged where the value is made (before a concatenation or
//! repetition runs, so a doubling string stops before it is built), whether or not it is kept.
//! What a document holds is counted where the store changes, in full ([`held_bytes`]): a
//! written slot adds its new value's whole size (the strings inside its lists, maps, messages,
//! maybes and JSON included) and removes its old one's, a created record adds its size and its
//! slots', a freed one removes them. Only the written value is walked, never the rest of the
//! document; writing one entry of a map already copies the map, so walking it costs no more.

use crate::document::Document;
use crate::error::{Fault, codes};
use crate::value::Value;
use adama_compiler::hir::BinaryOp;

/// What one value costs besides what it points to.
pub(crate) const VALUE_BYTES: u64 = 32;
/// What a record costs besides its slots (its journal, generations and table entry).
pub(crate) const RECORD_BYTES: u64 = 256;

/// The estimated size of a value, counting one level of what it holds.
pub(crate) fn value_bytes(value: &Value) -> u64 {
    VALUE_BYTES
        + match value {
            Value::Str(text) | Value::Label(text) => text.len() as u64,
            Value::List(items) | Value::NativeTable(items) => VALUE_BYTES * items.len() as u64,
            Value::Map(map) => 2 * VALUE_BYTES * map.len() as u64,
            Value::Message(message) => VALUE_BYTES * message.values.len() as u64,
            Value::Maybe(Some(inner)) => value_bytes(inner),
            _ => 0,
        }
}

/// The estimated size of a value with everything it holds: a string its length plus
/// [`VALUE_BYTES`]; a list, map, message or tuple [`VALUE_BYTES`] plus each element's (a map's
/// keys too); a JSON value likewise, node by node. A record or table in a slot costs one value:
/// records are counted when they are made.
pub(crate) fn held_bytes(value: &Value) -> u64 {
    // Most written values hold nothing: they are counted without the walk's stacks.
    match value {
        Value::Str(text) | Value::Label(text) => return VALUE_BYTES + text.len() as u64,
        Value::List(_)
        | Value::NativeTable(_)
        | Value::Map(_)
        | Value::Message(_)
        | Value::Maybe(Some(_))
        | Value::Dynamic(_)
        | Value::Asset(_) => {}
        _ => return VALUE_BYTES,
    }
    // Iterative: a client's JSON may nest deeply.
    let mut total = 0u64;
    let mut values = vec![value];
    let mut documents: Vec<&serde_json::Value> = Vec::new();
    while let Some(value) = values.pop() {
        total += VALUE_BYTES;
        match value {
            Value::Str(text) | Value::Label(text) => total += text.len() as u64,
            Value::List(items) | Value::NativeTable(items) => values.extend(items.iter()),
            Value::Map(map) => {
                for (key, item) in map.iter() {
                    total += VALUE_BYTES;
                    if let crate::value::MapKey::Str(text) = key {
                        total += text.len() as u64;
                    }
                    values.push(item);
                }
            }
            Value::Message(message) => values.extend(message.values.iter()),
            Value::Maybe(Some(inner)) => values.push(inner),
            Value::Dynamic(json) => documents.push(json),
            Value::Asset(asset) => {
                total += (asset.id.len()
                    + asset.name.len()
                    + asset.content_type.len()
                    + asset.md5.len()
                    + asset.sha384.len()) as u64;
            }
            _ => {}
        }
    }
    while let Some(json) = documents.pop() {
        total += VALUE_BYTES;
        match json {
            serde_json::Value::String(text) => total += text.len() as u64,
            serde_json::Value::Array(items) => documents.extend(items.iter()),
            serde_json::Value::Object(fields) => {
                for (name, item) in fields {
                    total += name.len() as u64;
                    documents.push(item);
                }
            }
            _ => {}
        }
    }
    total
}

/// The estimated size of a record with `slots` slots.
pub(crate) fn record_bytes(slots: usize) -> u64 {
    RECORD_BYTES + VALUE_BYTES * slots as u64
}

/// The length of a value as text, where `+` would concatenate it.
fn text_bytes(value: &Value) -> u64 {
    match value {
        Value::Str(text) | Value::Label(text) => text.len() as u64,
        Value::Maybe(Some(inner)) => text_bytes(inner),
        _ => VALUE_BYTES,
    }
}

/// What a binary operation allocates, known before it runs: a concatenation its joined
/// length, a string repetition its repeated length.
pub(crate) fn binary_bytes(op: BinaryOp, left: &Value, right: &Value) -> u64 {
    let is_text = |value: &Value| match value {
        Value::Str(_) => true,
        Value::Maybe(Some(inner)) => matches!(**inner, Value::Str(_)),
        _ => false,
    };
    match op {
        BinaryOp::Add if is_text(left) || is_text(right) => {
            VALUE_BYTES + text_bytes(left) + text_bytes(right)
        }
        BinaryOp::Mul => match (left, right) {
            (Value::Str(text), Value::Int(count)) | (Value::Int(count), Value::Str(text)) => {
                VALUE_BYTES + (text.len() as u64).saturating_mul((*count).max(0) as u64)
            }
            _ => 0,
        },
        _ => 0,
    }
}

impl Document {
    /// Charges the transaction's byte budget; an allocation that does not fit ends it.
    pub(crate) fn allocate(&mut self, bytes: u64) -> Result<(), Fault> {
        match self.run.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.run.bytes_left = left;
                Ok(())
            }
            None => Err(Fault::error(
                codes::MEMORY_EXHAUSTED,
                format!(
                    "the transaction would allocate more than its memory budget of {} bytes (a value that grows without end?)",
                    self.limits.transaction_bytes
                ),
            )),
        }
    }

    /// Whether the document, as a transaction leaves it, holds no more than its budget; a
    /// transaction that does not grow it always passes, so a document over a lowered budget
    /// can still shrink.
    pub(crate) fn check_held(&self) -> Result<(), Fault> {
        let held = self.store.held();
        if held > self.limits.document_bytes && held > self.store.committed_held() {
            return Err(Fault::error(
                codes::MEMORY_EXHAUSTED,
                format!(
                    "the document would hold about {held} bytes, more than its memory budget of {} bytes",
                    self.limits.document_bytes
                ),
            ));
        }
        Ok(())
    }

    /// The estimated bytes the document holds (see [`crate::Limits::document_bytes`]).
    pub fn held_bytes(&self) -> u64 {
        self.store.held()
    }
}
