//! The iteration order of a Java `HashMap`, which the reference exposes in a few outputs (the
//! nulls of vanished list ids and map keys in a view's delta; runtime spec §4.6).

/// The capacity a Java `HashMap` has after holding at most `held` entries at once: 16, doubled
/// each time the entries exceed three quarters of it.
pub fn capacity_for(held: usize) -> usize {
    let mut capacity = 16;
    while held * 4 > capacity * 3 {
        capacity *= 2;
    }
    capacity
}

/// Sorts keys (each with its Java hash, in insertion order) into the order a `HashMap` of that
/// capacity iterates them: by bucket, then by insertion within a bucket.
pub fn java_order<K>(keys: Vec<(i32, K)>, capacity: usize) -> Vec<K> {
    let mut keyed: Vec<(usize, usize, K)> = keys
        .into_iter()
        .enumerate()
        .map(|(position, (hash, key))| {
            let spread = hash ^ ((hash as u32) >> 16) as i32;
            (spread as u32 as usize & (capacity - 1), position, key)
        })
        .collect();
    keyed.sort_by_key(|(bucket, position, _)| (*bucket, *position));
    keyed.into_iter().map(|(_, _, key)| key).collect()
}

#[cfg(test)]
mod tests {
    use super::{capacity_for, java_order};
    use crate::value::java_string_hash;

    #[test]
    fn small_ids_come_out_ascending_and_large_ones_by_bucket() {
        // Runtime spec §4.3: eight cached ids, "17":null before "2":null.
        assert_eq!(
            java_order(vec![(2, 2), (17, 17)], capacity_for(8)),
            vec![17, 2]
        );
        assert_eq!(
            java_order(vec![(5, 5), (3, 3)], capacity_for(2)),
            vec![3, 5]
        );
    }

    #[test]
    fn string_keys_follow_the_reference_example() {
        // Removing zeta, alpha, b, aa, Z from a map that also held mm: the view's cache took the
        // keys in the map's (sorted) order.
        let removed = ["Z", "aa", "alpha", "b", "zeta"];
        let keys = removed
            .iter()
            .map(|key| (java_string_hash(key), *key))
            .collect();
        assert_eq!(
            java_order(keys, capacity_for(6)),
            vec!["aa", "zeta", "b", "alpha", "Z"]
        );
    }

    #[test]
    fn capacity_doubles_past_three_quarters() {
        assert_eq!(capacity_for(12), 16);
        assert_eq!(capacity_for(13), 32);
        assert_eq!(capacity_for(25), 64);
    }
}
