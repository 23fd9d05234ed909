//! The storage contract, run against the embedded redb store.

use adama_node::store::conformance;
use adama_node::store::redb::RedbStore;

#[test]
fn the_redb_store_keeps_the_storage_contract() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().to_owned();
    conformance::run(|| RedbStore::open(&path).expect("the store opens"));
}
