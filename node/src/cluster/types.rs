//! The raft type configuration of a partition: what an entry carries (the store writes of a
//! round of one or more documents) and what applying it answers.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::store::{AssetMeta, Entry, StoreError, Write};

openraft::declare_raft_types!(
    /// The raft types of every partition group.
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = u64,
        Node = openraft::impls::BasicNode,
);

/// One raft entry's application data: the store writes of any number of documents of one
/// partition, applied atomically by every member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Proposal {
    pub writes: Vec<ReplicatedWrite>,
}

/// A [`Write`] in the form that travels between nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplicatedWrite {
    Append {
        document: String,
        index: u64,
        /// The record as the store keeps it (JSON text), so that every member stores the same
        /// bytes.
        record: String,
    },
    Snapshot {
        document: String,
        index: u64,
        json: Json,
        keep: u64,
    },
    Delete {
        document: String,
    },
    Wake {
        document: String,
        at: Option<i64>,
    },
    /// New code for a space: the partition's documents run it from this point of the log on.
    /// It changes no document store; the state machine keeps it beside the documents.
    Deploy {
        space: String,
        source: String,
    },
    /// An uploaded file of a document, kept by every member before a record attaches it.
    Asset {
        document: String,
        id: String,
        meta: AssetMeta,
        /// The file's bytes in base64.
        bytes: String,
    },
    /// An uploaded file no record came to attach (its attach was refused): every member
    /// forgets it.
    ForgetAsset {
        document: String,
        id: String,
    },
}

/// What applying an entry did. A refused batch (an append out of order, for instance, when a
/// document was loaded from a state a newer leader had moved past) changes nothing on any
/// member, since every member holds the same store for the partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Applied {
    pub refused: Option<String>,
}

impl ReplicatedWrite {
    pub fn from_write(write: &Write) -> ReplicatedWrite {
        match write {
            Write::Append {
                document,
                index,
                entry,
            } => ReplicatedWrite::Append {
                document: document.to_string(),
                index: *index,
                record: String::from_utf8_lossy(&entry.bytes).into_owned(),
            },
            Write::Snapshot {
                document,
                index,
                json,
                keep,
            } => ReplicatedWrite::Snapshot {
                document: document.to_string(),
                index: *index,
                json: (**json).clone(),
                keep: *keep,
            },
            Write::Delete { document } => ReplicatedWrite::Delete {
                document: document.to_string(),
            },
            Write::Wake { document, at } => ReplicatedWrite::Wake {
                document: document.to_string(),
                at: *at,
            },
        }
    }

    pub fn document(&self) -> &str {
        match self {
            ReplicatedWrite::Append { document, .. }
            | ReplicatedWrite::Snapshot { document, .. }
            | ReplicatedWrite::Delete { document }
            | ReplicatedWrite::Wake { document, .. }
            | ReplicatedWrite::Asset { document, .. }
            | ReplicatedWrite::ForgetAsset { document, .. } => document,
            ReplicatedWrite::Deploy { space, .. } => space,
        }
    }

    /// Whether this is a write of the document store ([`ReplicatedWrite::to_write`]) rather
    /// than new code or an uploaded file, which the state machine keeps beside the documents.
    pub fn is_document_write(&self) -> bool {
        !matches!(
            self,
            ReplicatedWrite::Deploy { .. }
                | ReplicatedWrite::Asset { .. }
                | ReplicatedWrite::ForgetAsset { .. }
        )
    }

    pub fn to_write(&self) -> Result<Write, StoreError> {
        Ok(match self {
            ReplicatedWrite::Append {
                document,
                index,
                record,
            } => Write::Append {
                document: Arc::from(document.as_str()),
                index: *index,
                entry: Entry::received(record).map_err(|error| StoreError::Corrupt {
                    document: document.clone(),
                    index: *index,
                    reason: format!("a replicated record does not decode: {error}"),
                })?,
            },
            ReplicatedWrite::Snapshot {
                document,
                index,
                json,
                keep,
            } => Write::Snapshot {
                document: Arc::from(document.as_str()),
                index: *index,
                json: Arc::new(json.clone()),
                keep: *keep,
            },
            ReplicatedWrite::Delete { document } => Write::Delete {
                document: Arc::from(document.as_str()),
            },
            ReplicatedWrite::Wake { document, at } => Write::Wake {
                document: Arc::from(document.as_str()),
                at: *at,
            },
            ReplicatedWrite::Deploy { space, .. } => {
                return Err(StoreError::Io(format!(
                    "the code of space '{space}' is not a document write"
                )));
            }
            ReplicatedWrite::Asset { document, id, .. }
            | ReplicatedWrite::ForgetAsset { document, id } => {
                return Err(StoreError::Io(format!(
                    "the file {id} of {document} is not a document write"
                )));
            }
        })
    }
}

impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} write(s)", self.writes.len())
    }
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.refused {
            None => f.write_str("applied"),
            Some(reason) => write!(f, "refused: {reason}"),
        }
    }
}
