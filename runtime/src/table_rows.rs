//! The rows of a table: ids and records in insertion order, found by id.
//!
//! A document numbers its rows itself, each above the last, so the ids of a table usually rise
//! in its order: a binary search then finds a row, and a row costs eight bytes here rather than
//! the forty a hashed index costs. Only a table whose order stops rising (a row given a lower
//! id, as a stored document may hold) builds a hash index of positions, and keeps it.

use std::ops::Range;

use rustc_hash::FxHashMap;

use crate::value::RecordRef;

/// A table's rows in order, by id.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    entries: Vec<(i32, RecordRef)>,
    /// Positions by id, once the ids stop rising in order; `None` while they rise.
    index: Option<FxHashMap<i32, usize>>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of a row.
    pub fn get_index_of(&self, id: &i32) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(id).copied(),
            None => self.entries.binary_search_by_key(id, |(key, _)| *key).ok(),
        }
    }

    pub fn get(&self, id: &i32) -> Option<&RecordRef> {
        self.get_index_of(id).map(|at| &self.entries[at].1)
    }

    /// A row with its position.
    pub fn get_full(&self, id: &i32) -> Option<(usize, &i32, &RecordRef)> {
        self.get_index_of(id).map(|at| {
            let (key, record) = &self.entries[at];
            (at, key, record)
        })
    }

    /// The row at a position.
    pub fn get_index(&self, at: usize) -> Option<(&i32, &RecordRef)> {
        self.entries.get(at).map(|(id, record)| (id, record))
    }

    /// The records at a range of positions.
    pub fn records_in(&self, range: Range<usize>) -> impl Iterator<Item = RecordRef> + '_ {
        self.entries
            .get(range)
            .into_iter()
            .flatten()
            .map(|(_, record)| *record)
    }

    pub fn values(&self) -> impl Iterator<Item = &RecordRef> + '_ {
        self.entries.iter().map(|(_, record)| record)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&i32, &RecordRef)> + '_ {
        self.entries.iter().map(|(id, record)| (id, record))
    }

    /// Adds a row at the end, or replaces the record of an id already held in its place
    /// (giving back the record it held).
    pub fn insert(&mut self, id: i32, record: RecordRef) -> Option<RecordRef> {
        if let Some(at) = self.get_index_of(&id) {
            return Some(std::mem::replace(&mut self.entries[at].1, record));
        }
        let rising = self.entries.last().is_none_or(|(last, _)| *last < id);
        if !rising {
            self.build_index();
        }
        if let Some(index) = &mut self.index {
            index.insert(id, self.entries.len());
        }
        self.reserve_one();
        self.entries.push((id, record));
        None
    }

    /// Removes a row, moving the rows after it up.
    pub fn shift_remove(&mut self, id: &i32) -> Option<RecordRef> {
        self.shift_remove_full(id).map(|(_, _, record)| record)
    }

    /// Removes a row, moving the rows after it up; its position, id and record.
    pub fn shift_remove_full(&mut self, id: &i32) -> Option<(usize, i32, RecordRef)> {
        let at = self.get_index_of(id)?;
        let (id, record) = self.entries.remove(at);
        if let Some(index) = &mut self.index {
            index.remove(&id);
            for (position, (moved, _)) in self.entries.iter().enumerate().skip(at) {
                index.insert(*moved, position);
            }
        }
        Some((at, id, record))
    }

    /// Puts a row back at a position (at most the length), moving the rows after it down.
    pub fn shift_insert(&mut self, at: usize, id: i32, record: RecordRef) {
        if let Some(existing) = self.get_index_of(&id) {
            self.entries.remove(existing);
            if let Some(index) = &mut self.index {
                index.remove(&id);
            }
            self.renumber_from(existing);
        }
        let at = at.min(self.entries.len());
        let fits = (at == 0 || self.entries[at - 1].0 < id)
            && self.entries.get(at).is_none_or(|(next, _)| id < *next);
        if !fits {
            self.build_index();
        }
        self.reserve_one();
        self.entries.insert(at, (id, record));
        self.renumber_from(at);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    fn renumber_from(&mut self, at: usize) {
        if let Some(index) = &mut self.index {
            for (position, (id, _)) in self.entries.iter().enumerate().skip(at) {
                index.insert(*id, position);
            }
        }
    }

    fn build_index(&mut self) {
        if self.index.is_none() {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(position, (id, _))| (*id, position))
                    .collect(),
            );
        }
    }

    /// Grows by an eighth rather than doubling: a large table would otherwise carry up to as
    /// many empty places as rows.
    fn reserve_one(&mut self) {
        if self.entries.len() == self.entries.capacity() {
            let more = (self.entries.len() / 8).max(8);
            self.entries.reserve_exact(more);
        }
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = (&'a i32, &'a RecordRef);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (i32, RecordRef)>,
        fn(&'a (i32, RecordRef)) -> (&'a i32, &'a RecordRef),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(id, record)| (id, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rows: &Rows) -> Vec<i32> {
        rows.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn rising_ids_are_found_by_search_and_keep_their_order() {
        let mut rows = Rows::default();
        for id in [1, 4, 9] {
            assert_eq!(rows.insert(id, RecordRef(id as u32)), None);
        }
        assert!(rows.index.is_none());
        assert_eq!(rows.get(&4), Some(&RecordRef(4)));
        assert_eq!(rows.get(&5), None);
        assert_eq!(rows.insert(4, RecordRef(40)), Some(RecordRef(4)));
        assert_eq!(ids(&rows), [1, 4, 9]);
        assert_eq!(rows.shift_remove_full(&4), Some((1, 4, RecordRef(40))));
        rows.shift_insert(1, 4, RecordRef(4));
        assert_eq!(ids(&rows), [1, 4, 9]);
        assert!(rows.index.is_none());
    }

    #[test]
    fn ids_out_of_order_are_found_through_an_index() {
        let mut rows = Rows::default();
        for id in [5, 2, 7, 1] {
            rows.insert(id, RecordRef(id as u32));
        }
        assert_eq!(ids(&rows), [5, 2, 7, 1]);
        for id in [5, 2, 7, 1] {
            assert_eq!(rows.get(&id), Some(&RecordRef(id as u32)));
        }
        assert_eq!(rows.shift_remove_full(&2), Some((1, 2, RecordRef(2))));
        assert_eq!(rows.get_index_of(&7), Some(1));
        assert_eq!(rows.get_index_of(&1), Some(2));
        rows.shift_insert(1, 2, RecordRef(2));
        assert_eq!(ids(&rows), [5, 2, 7, 1]);
        assert_eq!(rows.get_full(&1), Some((3, &1, &RecordRef(1))));
        let records: Vec<RecordRef> = rows.records_in(1..3).collect();
        assert_eq!(records, [RecordRef(2), RecordRef(7)]);
    }

    #[test]
    fn a_row_put_back_out_of_order_switches_to_the_index() {
        let mut rows = Rows::default();
        for id in [1, 2, 3] {
            rows.insert(id, RecordRef(id as u32));
        }
        rows.shift_remove(&1);
        rows.shift_insert(2, 1, RecordRef(1));
        assert_eq!(ids(&rows), [2, 3, 1]);
        assert_eq!(rows.get_index_of(&1), Some(2));
        assert_eq!(rows.get_index_of(&2), Some(0));
    }
}
