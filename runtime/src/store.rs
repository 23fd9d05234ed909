//! The document's storage: records in an arena, tables of rows, and the journal that makes a
//! transaction revertible and tells the commit what changed.
//!
//! Every write goes through [`Store::write`], which keeps the first value a slot had in the
//! transaction (for the undo patch and for reverting), bumps the slot's generation (for formula
//! caches), and marks the record and its ancestors dirty (so the commit walks only what changed).

use adama_compiler::ir::{LayoutId, RecordId};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::memory::{held_bytes, record_bytes};
use crate::table_rows::Rows;
use crate::value::{RecordRef, TableRef, Value};

/// Where a record hangs in the document tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Root,
    /// A field (embedded record, maybe of record, or map entry) of a record.
    Field {
        record: RecordRef,
        slot: u32,
    },
    /// A row of a table.
    Row {
        table: TableRef,
    },
}

/// A record's data. Kept small (32 bytes beside its slots): a document holds one per row.
#[derive(Debug, Clone)]
pub struct RecordData {
    pub layout: RecordId,
    pub slots: Box<[Value]>,
    parent: PackedParent,
    pub alive: bool,
    /// Whether a transaction wrote a slot: only then does the store keep the record's
    /// generations (most rows are never written after they are made, and every generation
    /// starts at 0).
    written: bool,
}

/// A [`Parent`] in two words: `(record, slot)` for a field, `(table, ROW)` for a row and
/// `(NONE, NONE)` for the root (no record has `u32::MAX` slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedParent {
    owner: u32,
    slot: u32,
}

impl PackedParent {
    const NONE: u32 = u32::MAX;

    fn pack(parent: Parent) -> PackedParent {
        match parent {
            Parent::Root => PackedParent {
                owner: Self::NONE,
                slot: Self::NONE,
            },
            Parent::Field { record, slot } => PackedParent {
                owner: record.0,
                slot,
            },
            Parent::Row { table } => PackedParent {
                owner: table.0,
                slot: Self::NONE,
            },
        }
    }

    fn unpack(self) -> Parent {
        match (self.owner, self.slot) {
            (Self::NONE, Self::NONE) => Parent::Root,
            (table, Self::NONE) => Parent::Row {
                table: TableRef(table),
            },
            (record, slot) => Parent::Field {
                record: RecordRef(record),
                slot,
            },
        }
    }
}

impl RecordData {
    /// Where the record hangs in the document tree.
    pub fn parent(&self) -> Parent {
        self.parent.unpack()
    }
}

/// A table: its rows in insertion order.
#[derive(Debug, Clone)]
pub struct TableData {
    pub layout: RecordId,
    pub rows: Rows,
    pub owner: RecordRef,
    /// Bumped when a row is added or removed.
    pub generation: u64,
    /// The rows as a list value, shared by every formula and view that reads the table; rows
    /// added since it was made are appended to it (see [`Store::row_list`]).
    pub listed: Option<RowList>,
}

/// A table's rows as a list value. Within one epoch every list handed out is a prefix of the
/// next one, which is what lets a view send only the rows appended since it last looked.
#[derive(Debug, Clone)]
pub struct RowList {
    pub rows: Arc<Vec<Value>>,
    pub epoch: u64,
}

/// Epochs are unique across stores, so a store copied aside (a blocked run's) and the live one
/// never hand out the same epoch for different rows.
static EPOCHS: AtomicU64 = AtomicU64::new(1);

/// A change to a table's membership within a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowChange {
    Created,
    /// Deleted; the record (kept until commit) and its position, for reverting.
    Deleted {
        record: RecordRef,
        index: usize,
    },
}

/// The most entries a journal table keeps room for between transactions.
const KEPT_JOURNAL: usize = 1024;

/// What the current transaction changed.
#[derive(Debug, Default, Clone)]
pub struct Journal {
    /// The value each written slot had when the transaction began.
    pub originals: HashMap<(u32, u32), Value>,
    /// Records with a changed slot or a changed descendant.
    pub dirty: HashSet<u32>,
    /// Row changes per table, in the order they happened.
    pub rows: HashMap<u32, Vec<(i32, RowChange)>>,
    /// Records created in this transaction.
    pub created: Vec<RecordRef>,
    /// The same records as a set: writes to them do not count as changes to rows a view has
    /// already seen.
    pub fresh: HashSet<u32>,
}

impl Journal {
    pub fn is_empty(&self) -> bool {
        self.originals.is_empty() && self.rows.is_empty() && self.created.is_empty()
    }
}

/// The arena of records and tables.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub records: Vec<RecordData>,
    pub tables: Vec<TableData>,
    free: Vec<u32>,
    /// The generation counter: every write takes the next value.
    pub clock: u64,
    pub journal: Journal,
    /// Records freed since the owner last looked (their caches must go).
    pub freed: Vec<u32>,
    /// The generation of the last write to any record of each layout: a view skips an unchanged
    /// list of rows without walking it when no row of its layout was written since.
    pub layout_clock: Vec<u64>,
    /// The generation of each slot's last write, for the records a transaction wrote.
    gens: HashMap<u32, Box<[u64]>>,
    /// The estimated bytes the records hold (see `crate::memory`), and that figure as the last
    /// committed transaction left it (what a rollback returns to).
    held: u64,
    committed_held: u64,
}

impl Store {
    pub fn record(&self, record: RecordRef) -> &RecordData {
        &self.records[record.0 as usize]
    }

    pub fn get(&self, record: RecordRef, slot: u32) -> &Value {
        &self.records[record.0 as usize].slots[slot as usize]
    }

    /// The generation of a slot's last write; `None` for a record or slot the store does not
    /// have (a freed record has no slots).
    pub fn generation(&self, record: u32, slot: u32) -> Option<u64> {
        let data = self.records.get(record as usize)?;
        let index = slot as usize;
        (index < data.slots.len()).then(|| {
            if data.written {
                self.gens
                    .get(&record)
                    .and_then(|gens| gens.get(index).copied())
                    .unwrap_or(0)
            } else {
                0
            }
        })
    }

    /// The newest generation of any slot of a record.
    pub fn newest(&self, record: RecordRef) -> u64 {
        if !self.records[record.0 as usize].written {
            return 0;
        }
        self.gens
            .get(&record.0)
            .and_then(|gens| gens.iter().copied().max())
            .unwrap_or(0)
    }

    fn set_generation(&mut self, record: u32, slot: u32, generation: u64) {
        let data = &mut self.records[record as usize];
        data.written = true;
        let len = data.slots.len();
        let gens = self
            .gens
            .entry(record)
            .or_insert_with(|| vec![0; len].into_boxed_slice());
        gens[slot as usize] = generation;
    }

    /// Allocates a record (not journaled: used while building a fresh document).
    pub fn alloc(&mut self, layout: RecordId, slots: Vec<Value>, parent: Parent) -> RecordRef {
        self.held += record_bytes(slots.len()) + slots.iter().map(held_bytes).sum::<u64>();
        let data = RecordData {
            layout,
            slots: slots.into_boxed_slice(),
            parent: PackedParent::pack(parent),
            alive: true,
            written: false,
        };
        if let Some(index) = self.free.pop() {
            self.records[index as usize] = data;
            RecordRef(index)
        } else {
            if self.records.len() == self.records.capacity() {
                // Grown by an eighth, not doubled: a document of many rows would otherwise
                // carry up to as many empty places as rows (large blocks grow in place).
                let more = (self.records.len() / 8).max(16);
                self.records.reserve_exact(more);
            }
            self.records.push(data);
            RecordRef((self.records.len() - 1) as u32)
        }
    }

    /// Allocates a record inside a transaction.
    pub fn create(&mut self, layout: RecordId, slots: Vec<Value>, parent: Parent) -> RecordRef {
        let record = self.alloc(layout, slots, parent);
        self.journal.created.push(record);
        self.journal.fresh.insert(record.0);
        record
    }

    pub fn add_table(&mut self, layout: RecordId, owner: RecordRef) -> TableRef {
        self.tables.push(TableData {
            layout,
            rows: Rows::default(),
            owner,
            generation: 0,
            listed: None,
        });
        TableRef((self.tables.len() - 1) as u32)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Writes a slot inside a transaction.
    pub fn write(&mut self, record: RecordRef, slot: u32, value: Value) {
        let generation = self.tick();
        let data = &mut self.records[record.0 as usize];
        let layout = data.layout.index();
        self.held += held_bytes(&value);
        let old = std::mem::replace(&mut data.slots[slot as usize], value);
        self.held = self.held.saturating_sub(held_bytes(&old));
        self.set_generation(record.0, slot, generation);
        // A record created in this transaction is new to every view, so filling it does not
        // make views re-walk the rows of its layout they already hold.
        if self.journal.fresh.is_empty() || !self.journal.fresh.contains(&record.0) {
            if self.layout_clock.len() <= layout {
                self.layout_clock.resize(layout + 1, 0);
            }
            self.layout_clock[layout] = generation;
        }
        self.journal
            .originals
            .entry((record.0, slot))
            .or_insert(old);
        self.mark_dirty(record);
    }

    /// Sets a slot of a record that no transaction has seen yet (one being built, filled or
    /// loaded): not journaled, but counted in what the document holds.
    pub fn set_fresh(&mut self, record: RecordRef, slot: u32, value: Value) {
        self.held += held_bytes(&value);
        let old = std::mem::replace(
            &mut self.records[record.0 as usize].slots[slot as usize],
            value,
        );
        self.held = self.held.saturating_sub(held_bytes(&old));
    }

    /// Marks a record and its ancestors as holding changes.
    pub fn mark_dirty(&mut self, mut record: RecordRef) {
        loop {
            if !self.journal.dirty.insert(record.0) {
                return;
            }
            match self.records[record.0 as usize].parent() {
                Parent::Root => return,
                Parent::Field { record: owner, .. } => record = owner,
                Parent::Row { table } => record = self.tables[table.0 as usize].owner,
            }
        }
    }

    /// Adds a row to a table inside a transaction.
    pub fn insert_row(&mut self, table: TableRef, id: i32, record: RecordRef) {
        let generation = self.tick();
        let data = &mut self.tables[table.0 as usize];
        if data.rows.insert(id, record).is_some() {
            // A replaced row keeps its place: not an append.
            data.listed = None;
        }
        data.generation = generation;
        let owner = data.owner;
        self.journal
            .rows
            .entry(table.0)
            .or_default()
            .push((id, RowChange::Created));
        self.mark_dirty(owner);
    }

    /// Removes a row inside a transaction (the record stays allocated until the commit).
    pub fn delete_row(&mut self, table: TableRef, id: i32) -> bool {
        let generation = self.tick();
        let data = &mut self.tables[table.0 as usize];
        let Some((index, _, record)) = data.rows.shift_remove_full(&id) else {
            return false;
        };
        data.generation = generation;
        data.listed = None;
        let owner = data.owner;
        self.records[record.0 as usize].alive = false;
        self.journal
            .rows
            .entry(table.0)
            .or_default()
            .push((id, RowChange::Deleted { record, index }));
        self.mark_dirty(owner);
        true
    }

    /// The rows of a table as a list value, shared with every earlier reader: rows added since
    /// the last call are appended (in place when no one else holds the list), so reading a
    /// growing table costs what it grew by, not its size.
    pub fn row_list(&mut self, table: TableRef) -> Arc<Vec<Value>> {
        let data = &mut self.tables[table.0 as usize];
        let rows = &data.rows;
        let current = data.listed.take().filter(|listed| {
            let len = listed.rows.len();
            // Every change but an append drops the list; the last row is checked all the same.
            len <= rows.len()
                && (len == 0
                    || matches!(
                        (listed.rows.last(), rows.get_index(len - 1)),
                        (Some(Value::Record(last)), Some((_, row))) if last == row
                    ))
        });
        let listed = match current {
            Some(mut listed) => {
                let len = listed.rows.len();
                if len < rows.len() {
                    let added = rows.records_in(len..rows.len()).map(Value::Record);
                    match Arc::get_mut(&mut listed.rows) {
                        Some(list) => list.extend(added),
                        None => {
                            let mut list = Vec::with_capacity(rows.len());
                            list.extend_from_slice(&listed.rows);
                            list.extend(added);
                            listed.rows = Arc::new(list);
                        }
                    }
                }
                listed
            }
            None => RowList {
                rows: Arc::new(rows.values().map(|record| Value::Record(*record)).collect()),
                epoch: EPOCHS.fetch_add(1, Ordering::Relaxed),
            },
        };
        let list = Arc::clone(&listed.rows);
        data.listed = Some(listed);
        list
    }

    /// The value a slot had when the transaction began.
    pub fn committed(&self, record: RecordRef, slot: u32) -> &Value {
        self.journal
            .originals
            .get(&(record.0, slot))
            .unwrap_or_else(|| self.get(record, slot))
    }

    /// Undoes every change of the transaction.
    pub fn revert(&mut self) {
        self.held = self.committed_held;
        let journal = std::mem::take(&mut self.journal);
        let generation = self.tick();
        for ((record, slot), old) in journal.originals {
            let layout = self.records[record as usize].layout.index();
            if let Some(clock) = self.layout_clock.get_mut(layout) {
                *clock = generation;
            }
            self.records[record as usize].slots[slot as usize] = old;
            self.set_generation(record, slot, generation);
        }
        for (table, changes) in journal.rows {
            let data = &mut self.tables[table as usize];
            data.generation = generation;
            data.listed = None;
            for (id, change) in changes.into_iter().rev() {
                match change {
                    RowChange::Created => {
                        data.rows.shift_remove(&id);
                    }
                    RowChange::Deleted { record, index } => {
                        let index = index.min(data.rows.len());
                        data.rows.shift_insert(index, id, record);
                        self.records[record.0 as usize].alive = true;
                    }
                }
            }
        }
        for record in journal.created {
            self.release(record);
        }
    }

    /// Forgets the journal after a commit; rows deleted in the transaction are freed.
    pub fn settle(&mut self) {
        let mut rows = std::mem::take(&mut self.journal.rows);
        for (_, changes) in rows.drain() {
            for (_, change) in changes {
                if let RowChange::Deleted { record, .. } = change {
                    self.release_tree(record);
                }
            }
        }
        // The journal's tables are kept for the next transaction (a transaction then allocates
        // none for its bookkeeping), unless one large transaction made them large.
        let journal = &mut self.journal;
        journal.rows = rows;
        journal.originals.clear();
        journal.dirty.clear();
        journal.created.clear();
        journal.fresh.clear();
        if journal.originals.capacity() > KEPT_JOURNAL
            || journal.dirty.capacity() > KEPT_JOURNAL
            || journal.rows.capacity() > KEPT_JOURNAL
            || journal.created.capacity() > KEPT_JOURNAL
            || journal.fresh.capacity() > KEPT_JOURNAL
        {
            *journal = Journal::default();
        }
        self.committed_held = self.held;
    }

    /// Takes the records as they are as committed (after building a document outside any
    /// transaction).
    pub fn mark_committed(&mut self) {
        self.committed_held = self.held;
    }

    /// The estimated bytes the records hold.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// [`Store::held`] as the last commit left it.
    pub fn committed_held(&self) -> u64 {
        self.committed_held
    }

    fn release(&mut self, record: RecordRef) {
        let data = &mut self.records[record.0 as usize];
        data.alive = false;
        data.slots = Box::default();
        if std::mem::take(&mut data.written) {
            self.gens.remove(&record.0);
        }
        self.free.push(record.0);
        self.freed.push(record.0);
    }

    /// Frees a record and the records and tables it holds.
    fn release_tree(&mut self, record: RecordRef) {
        let slots = std::mem::take(&mut self.records[record.0 as usize].slots);
        let bytes = record_bytes(slots.len()) + slots.iter().map(held_bytes).sum::<u64>();
        self.held = self.held.saturating_sub(bytes);
        for value in &slots {
            self.release_value(value);
        }
        self.release(record);
    }

    fn release_value(&mut self, value: &Value) {
        match value {
            Value::Record(child) => self.release_tree(*child),
            Value::Maybe(Some(inner)) => self.release_value(inner),
            Value::Table(table) => {
                let rows: Vec<RecordRef> = self.tables[table.0 as usize]
                    .rows
                    .values()
                    .copied()
                    .collect();
                self.tables[table.0 as usize].rows.clear();
                self.tables[table.0 as usize].listed = None;
                for row in rows {
                    self.release_tree(row);
                }
            }
            Value::Map(map) => {
                // Records may sit in maps inside maps.
                for entry in map.values() {
                    self.release_value(entry);
                }
            }
            _ => {}
        }
    }
}
