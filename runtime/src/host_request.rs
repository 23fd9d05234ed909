//! What code asks of the host that runs the document: to delete it, to drop a principal's
//! connections, to push view-state events to the client that sent the message. A run collects
//! them; they reach the host only when the run's transaction commits, so a rolled-back run asks
//! nothing.

use serde_json::{Value as Json, json};

use crate::value::Principal;

/// One request of committed code to its host.
#[derive(Debug, Clone, PartialEq)]
pub enum HostRequest {
    /// `Document.destroy()`: delete the document once the transaction is durable.
    Destroy,
    /// `Document.disconnect(who)`: every connection of `who` gets `{"force-disconnect":true}`
    /// and closes.
    Disconnect(Principal),
    /// `ViewState.merge/goto/send/log`: an item for the connection whose message is being
    /// handled (the view message, as it goes in a stream item's `delta`). `who` is the principal
    /// the code ran for: code that ran in the same batch for someone else (a queued handler, a
    /// state-machine step) reaches no one else's client.
    ViewState { who: Principal, item: Json },
}

/// The `ViewState` functions (runtime spec §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ViewStatePush {
    Merge,
    Goto,
    Send,
    Log,
}

impl ViewStatePush {
    /// The view message of a call with these arguments: `merge(d)`, `goto(uri)`,
    /// `send(viewport, d)`, `log(text)`.
    pub(crate) fn item(self, arguments: &[Json]) -> Json {
        let argument = |index: usize| arguments.get(index).cloned().unwrap_or(Json::Null);
        match self {
            ViewStatePush::Merge => json!({"viewstate": argument(0)}),
            ViewStatePush::Goto => json!({"goto": argument(0)}),
            ViewStatePush::Send => json!({"viewport": argument(0), "message": argument(1)}),
            ViewStatePush::Log => json!({"log": argument(0)}),
        }
    }
}
