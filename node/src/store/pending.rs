//! The log entries that are in the shared write-ahead table and not yet in their document's
//! log: kept in memory, by document, with the write-ahead batches they came in.
//!
//! A group commit appends one value to the write-ahead table (one B-tree leaf, whatever the
//! number of documents) instead of one entry per document log (one leaf per document). The
//! entries move to their documents' logs later, many per document at once: when the document
//! writes a snapshot, is deleted, or when the write-ahead table has grown and its oldest
//! batches are drained. A batch is removed once none of its entries is pending.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A log entry on its way through the write-ahead table: the document, the index, the record.
pub type WalEntry = (Arc<str>, u64, Arc<[u8]>);

/// One pending entry of a document.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub index: u64,
    /// The write-ahead batch that holds it.
    pub batch: u64,
    pub bytes: Arc<[u8]>,
}

#[derive(Debug, Default)]
struct Batch {
    /// Entries of the batch still pending.
    live: usize,
    /// The documents with entries in the batch.
    documents: Vec<Arc<str>>,
}

/// Every pending entry, by document, and the live write-ahead batches.
#[derive(Debug, Default)]
pub struct Pending {
    documents: HashMap<Arc<str>, Vec<PendingEntry>>,
    batches: BTreeMap<u64, Batch>,
    entries: usize,
    /// The bytes of the pending records, which this holds in memory.
    bytes: usize,
    next_batch: u64,
}

impl Pending {
    /// The key the next write-ahead batch takes.
    pub fn next_batch(&self) -> u64 {
        self.next_batch
    }

    /// How many entries are pending.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// How many bytes of records are pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A document's pending entries, in index order.
    pub fn of(&self, document: &str) -> &[PendingEntry] {
        self.documents.get(document).map_or(&[], Vec::as_slice)
    }

    /// The documents of the oldest batches, oldest first.
    pub fn oldest_documents(&self) -> impl Iterator<Item = &Arc<str>> {
        self.batches
            .values()
            .flat_map(|batch| batch.documents.iter())
            .filter(|document| self.documents.contains_key(*document))
    }

    /// The batches that hold no pending entry once `cleared` documents have none.
    pub fn emptied_by<'a>(&self, cleared: impl Iterator<Item = &'a Arc<str>>) -> Vec<u64> {
        let mut taken: HashMap<u64, usize> = HashMap::new();
        for document in cleared {
            for entry in self.of(document) {
                *taken.entry(entry.batch).or_default() += 1;
            }
        }
        taken
            .into_iter()
            .filter(|(batch, count)| self.batches.get(batch).is_some_and(|b| b.live == *count))
            .map(|(batch, _)| batch)
            .collect()
    }

    /// Forgets a document's pending entries (they moved to its log, or it was deleted).
    pub fn clear(&mut self, document: &str) {
        let Some(entries) = self.documents.remove(document) else {
            return;
        };
        self.entries -= entries.len();
        for entry in entries {
            self.bytes -= entry.bytes.len();
            if let Some(batch) = self.batches.get_mut(&entry.batch) {
                batch.live -= 1;
                if batch.live == 0 {
                    self.batches.remove(&entry.batch);
                }
            }
        }
    }

    /// Records a committed batch: `entries` (document, index, bytes), in order, under `key`.
    pub fn add_batch(&mut self, key: u64, entries: Vec<WalEntry>) {
        self.next_batch = self.next_batch.max(key + 1);
        if entries.is_empty() {
            return;
        }
        let mut batch = Batch {
            live: entries.len(),
            documents: Vec::new(),
        };
        for (document, index, bytes) in entries {
            self.bytes += bytes.len();
            let list = self.documents.entry(Arc::clone(&document)).or_default();
            if list.is_empty() || list.last().is_some_and(|last| last.batch != key) {
                batch.documents.push(document);
            }
            list.push(PendingEntry {
                index,
                batch: key,
                bytes,
            });
        }
        self.entries += batch.live;
        self.batches.insert(key, batch);
    }
}

/// A write-ahead batch as stored: for each entry, the document's name (u32 length, bytes),
/// the index (u64), and the record (u32 length, bytes); integers little-endian.
pub fn encode(entries: &[WalEntry]) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|(document, _, bytes)| 16 + document.len() + bytes.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for (document, index, bytes) in entries {
        out.extend_from_slice(&(document.len() as u32).to_le_bytes());
        out.extend_from_slice(document.as_bytes());
        out.extend_from_slice(&index.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Reads a stored write-ahead batch; `None` when it is not one.
pub fn decode(mut value: &[u8]) -> Option<Vec<WalEntry>> {
    fn take<'a>(value: &mut &'a [u8], count: usize) -> Option<&'a [u8]> {
        if value.len() < count {
            return None;
        }
        let (head, rest) = value.split_at(count);
        *value = rest;
        Some(head)
    }
    fn length(value: &mut &[u8]) -> Option<usize> {
        Some(u32::from_le_bytes(take(value, 4)?.try_into().ok()?) as usize)
    }
    let mut entries = Vec::new();
    while !value.is_empty() {
        let size = length(&mut value)?;
        let document = std::str::from_utf8(take(&mut value, size)?).ok()?;
        let index = u64::from_le_bytes(take(&mut value, 8)?.try_into().ok()?);
        let size = length(&mut value)?;
        let bytes = take(&mut value, size)?;
        entries.push((Arc::from(document), index, Arc::from(bytes)));
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(document: &str, index: u64) -> WalEntry {
        (
            Arc::from(document),
            index,
            Arc::from(format!("{{\"i\":{index}}}").as_bytes()),
        )
    }

    #[test]
    fn a_batch_reads_back_as_written() {
        let entries = vec![
            entry("a/one", 1),
            entry("space/key-2", 7),
            entry("a/one", 2),
        ];
        let decoded = decode(&encode(&entries)).expect("decodes");
        assert_eq!(decoded, entries);
        assert_eq!(
            decode(&encode(&entries)[..10]),
            None,
            "a cut batch is refused"
        );
    }

    #[test]
    fn a_batch_leaves_once_none_of_its_entries_is_pending() {
        let mut pending = Pending::default();
        pending.add_batch(0, vec![entry("a/one", 1), entry("b/one", 1)]);
        pending.add_batch(1, vec![entry("a/one", 2)]);
        assert_eq!(pending.len(), 3);
        assert_eq!(pending.bytes(), 21);
        let a: Arc<str> = Arc::from("a/one");
        let b: Arc<str> = Arc::from("b/one");
        assert_eq!(pending.emptied_by([&a].into_iter()), vec![1]);
        let mut both = pending.emptied_by([&a, &b].into_iter());
        both.sort_unstable();
        assert_eq!(both, vec![0, 1]);
        pending.clear("a/one");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.oldest_documents().collect::<Vec<_>>(), vec![&b]);
        pending.clear("b/one");
        assert_eq!(pending.len(), 0);
        assert_eq!(pending.bytes(), 0);
        assert_eq!(pending.next_batch(), 2);
    }
}
