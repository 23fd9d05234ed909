//! The frames of a follow stream, one JSON text frame each (docs/node.md, "Read replicas").

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Why a follower receives a whole document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetReason {
    /// The stream starts.
    Start,
    /// The follower fell too far behind; what it missed is in this dump.
    Behind,
    /// The document moved to new code; later redos are of the new code.
    Upgrade,
}

/// One frame of the stream from a primary to a follower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Frame {
    /// The whole stored document as of `seq`, and the source of the code it runs.
    Reset {
        reason: ResetReason,
        seq: i32,
        space: String,
        source: Arc<str>,
        dump: Json,
    },
    /// The redo patch of one committed transaction, which brought the document to `seq`.
    Redo { seq: i32, redo: Json },
    /// Nothing happened for a while; the stream is alive.
    Beat,
    /// The document was deleted; the stream ends.
    Deleted,
    /// The primary cannot go on with this document (a failed commit, a failed load, or a
    /// document that does not exist); the stream ends.
    Failure { reason: i32, message: String },
}

impl Frame {
    pub fn text(&self) -> Arc<str> {
        // A frame holds only JSON values and strings, which always serialize.
        Arc::from(serde_json::to_string(self).unwrap_or_default())
    }
}
