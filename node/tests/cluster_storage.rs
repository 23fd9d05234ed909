//! The cluster's raft storage on the node's redb database passes openraft's conformance suite.

use std::sync::Arc;

use adama_node::cluster::flusher::Flusher;
use adama_node::cluster::log_store::LogStore;
use adama_node::cluster::state_machine::StateMachine;
use adama_node::cluster::types::TypeConfig;
use adama_node::store::redb::RedbStore;
use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};

struct RedbBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for RedbBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
        let log = LogStore::new(store.database(), 7, Flusher::start(store.database()))
            .expect("the log opens");
        let machine = StateMachine::open(store, 7, 16).expect("the state machine opens");
        Ok((dir, log, machine))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redb_raft_storage_passes_openraft_conformance_suite() {
    Suite::test_all(RedbBuilder)
        .await
        .expect("every conformance check passes");
}
