//! The cluster's nodes as this node last learnt them: the cluster file's at the first start,
//! then each addition and removal (`adama cluster add` / `remove`), kept in the node's store so
//! that a restart comes back with them whatever file it is given.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// `"nodes"` → node id → address, as JSON.
const CLUSTER_ROSTER: TableDefinition<&str, &[u8]> = TableDefinition::new("cluster_roster");
const NODES: &str = "nodes";

/// The nodes kept in the store, if a cluster ever started on it.
pub fn load(db: &Database) -> Result<Option<BTreeMap<u64, SocketAddr>>, String> {
    let read = db.begin_read().map_err(|error| error.to_string())?;
    let table = match read.open_table(CLUSTER_ROSTER) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    let Some(bytes) = table.get(NODES).map_err(|error| error.to_string())? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.value())
        .map(Some)
        .map_err(|error| format!("the stored cluster nodes do not read: {error}"))
}

/// Keeps the nodes, durably.
pub fn save(db: &Database, nodes: &BTreeMap<u64, SocketAddr>) -> Result<(), String> {
    let bytes = serde_json::to_vec(nodes).map_err(|error| error.to_string())?;
    let write = db.begin_write().map_err(|error| error.to_string())?;
    write
        .open_table(CLUSTER_ROSTER)
        .map_err(|error| error.to_string())?
        .insert(NODES, bytes.as_slice())
        .map_err(|error| error.to_string())?;
    write.commit().map_err(|error| error.to_string())
}
