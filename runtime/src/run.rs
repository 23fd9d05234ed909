//! The state of one run of user code: created when a transaction (or a test, or a view's
//! computation) starts and dropped when it ends, so nothing of a run can leak into the next one
//! and rolling a run back needs no list of fields to reset.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::document::{Ask, Limits, Meta, Timeout};
use crate::store::Store;
use crate::value::Principal;

/// Messages routed to the async channels of a run: (channel, who) → (timestamp, message) queue.
pub(crate) type Inbox = FxHashMap<(String, Principal), VecDeque<(i64, serde_json::Value)>>;

/// What one run of code accumulates besides its writes to the store and internal fields (which
/// the store's journal and the saved internal fields undo).
#[derive(Debug, Default)]
pub(crate) struct Run {
    /// Loop iterations and calls the run may still make.
    pub budget_left: u64,
    /// Bytes of values and records the run may still allocate (see `crate::memory`).
    pub bytes_left: u64,
    /// Nested calls of user code.
    pub depth: u32,
    /// Asks of async channels the run made, in order.
    pub asks: Vec<Ask>,
    /// Messages waiting for the async channels the run reads.
    pub inbox: Inbox,
    /// A `preempt` target the run registered.
    pub preempt: Option<Arc<str>>,
    /// Messages handlers enqueued (channel, who, message): queued when the run commits.
    pub enqueued: Vec<(String, Principal, serde_json::Value)>,
    /// The at-most-once marker of the send being run: recorded when the run commits.
    pub marker: Option<String>,
    /// The web request a handler is answering.
    pub web_context: Option<Box<crate::web::WebContext>>,
    /// When the run blocked: the timeouts of the timed asks it made (they outlive its rollback)
    /// and the store and internal fields as it left them (what views show until the next
    /// committed transaction).
    pub blocked: Option<BlockedRun>,
    /// What the run's code asked of the host: the host hears it once the run commits.
    pub host: Vec<crate::host_request::HostRequest>,
}

/// What a blocked run leaves behind its rollback.
#[derive(Debug)]
pub(crate) struct BlockedRun {
    pub timeouts: Arc<BTreeMap<i32, Timeout>>,
    pub shadow: Box<(Store, Meta)>,
}

impl Run {
    /// A fresh run with the budgets of a document's limits.
    pub fn new(limits: &Limits) -> Run {
        Run {
            budget_left: limits.budget,
            bytes_left: limits.transaction_bytes,
            ..Run::default()
        }
    }
}
