//! `@updated` and `@bump` fields: a record changed by a transaction takes the document's time in
//! its `@updated` fields and counts its `@bump` fields up by one, once per transaction, before
//! the commit writes the patches (so the stamps are part of the same redo and undo).

use std::sync::Arc;

use adama_compiler::hir::Invalidation;
use adama_compiler::ir::Program;

use crate::document::Document;
use crate::value::{DateTime, RecordRef, Value};

impl Document {
    /// Stamps every record the transaction created or changed (a write to one of its slots or
    /// to anything it holds).
    pub(crate) fn stamp_changed_records(&mut self, program: &Program) {
        if program
            .records
            .iter()
            .all(|layout| layout.stamps.is_empty())
        {
            return;
        }
        let journal = &self.store.journal;
        let mut changed: Vec<u32> = journal
            .dirty
            .iter()
            .copied()
            .chain(journal.created.iter().map(|record| record.0))
            .collect();
        changed.sort_unstable();
        changed.dedup();
        // The document's clock in its time zone, as `Time.datetime()` reads it.
        let zone = crate::library::zone::resolve(&self.meta.timezone).unwrap_or(
            crate::library::zone::Zone {
                offset_seconds: 0,
                region: Some(Arc::from("UTC")),
            },
        );
        let now = Value::DateTime(Arc::new(DateTime {
            epoch_ms: self.meta.time,
            nanos: 0,
            offset_seconds: zone.offset_seconds,
            zone: zone.region,
        }));
        for record in changed.into_iter().map(RecordRef) {
            let data = self.store.record(record);
            if !data.alive {
                continue;
            }
            for &(slot, invalidation) in &program.records[data.layout].stamps {
                let stamped = match (invalidation, self.store.get(record, slot)) {
                    (Invalidation::Updated, _) => now.clone(),
                    (Invalidation::Bump, Value::Long(count)) => Value::Long(count.wrapping_add(1)),
                    (Invalidation::Bump, count) => Value::Int(count.as_int().wrapping_add(1)),
                };
                self.store.write(record, slot, stamped);
            }
        }
    }
}
