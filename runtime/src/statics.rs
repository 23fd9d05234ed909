//! What a host asks of a program before any document of it exists: its `@static` policies
//! (may this principal create a document? invent one by connecting?) and its static settings
//! (`maximum_history = 500;`).

use std::collections::BTreeMap;
use std::sync::Arc;

use adama_compiler::hir::Block;
use serde_json::Value as Json;

use crate::document::{Document, Limits, Loaded};
use crate::error::Fault;
use crate::eval::Frame;
use crate::exec::Flow;
use crate::run::Run;
use crate::value::Principal;

/// A `@static` policy a host evaluates outside any document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticPolicy {
    /// `create { … }`: whether a principal may create a document of the space.
    Create,
    /// `invent { … }`: whether connecting to a document that does not exist creates it.
    Invent,
    /// `send { … }`: whether a principal that is not connected may send.
    Send,
}

/// The steps a static policy may take: it runs before any document exists, so it gets a small
/// budget of its own.
const POLICY_BUDGET: u64 = 25_000;

impl Loaded {
    /// Whether the program's static `policy` allows `who`, with `context` as `@context`
    /// (`{"origin": …, "ip": …, "key": …}`, the key of the document asked about): every block of
    /// the policy returns true, and there is at least one (a program without the policy denies).
    /// Code that fails (runs out of budget, aborts) is the error; it denies.
    pub fn static_policy(
        self: &Arc<Self>,
        policy: StaticPolicy,
        who: &Principal,
        context: &Json,
    ) -> Result<bool, Fault> {
        if self.policy_blocks(policy).is_empty() {
            return Ok(false);
        }
        let mut scratch = Document::of_loaded(Arc::clone(self), "", "")?;
        let text = |field: &str| context.get(field).and_then(Json::as_str).unwrap_or("");
        scratch.request_context = Arc::new(serde_json::json!({
            "origin": text("origin"),
            "ip": text("ip"),
            "key": text("key"),
        }));
        scratch.evaluate_static_policy(policy, who)
    }

    /// The program's static settings (`@static { maximum_history = 500; }`) by name, as JSON
    /// values, in name order.
    pub fn static_settings(self: &Arc<Self>) -> Result<BTreeMap<String, Json>, Fault> {
        if self.program.static_settings.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut scratch = Document::of_loaded(Arc::clone(self), "", "")?;
        let program = Arc::clone(&self.program);
        program
            .static_settings
            .iter()
            .map(|(name, unit, expr)| {
                let value = scratch.eval_constant(*unit, *expr)?;
                Ok((name.clone(), scratch.to_stored_json(&value)))
            })
            .collect()
    }

    pub(crate) fn policy_blocks(&self, policy: StaticPolicy) -> &[(u32, Block)] {
        match policy {
            StaticPolicy::Create => &self.program.static_create,
            StaticPolicy::Invent => &self.program.static_invent,
            StaticPolicy::Send => &self.program.static_send,
        }
    }
}

impl Document {
    /// Runs a static policy's blocks on a scratch budget; it changes nothing.
    pub(crate) fn evaluate_static_policy(
        &mut self,
        policy: StaticPolicy,
        who: &Principal,
    ) -> Result<bool, Fault> {
        let loaded = Arc::clone(&self.loaded);
        let blocks = loaded.policy_blocks(policy);
        if blocks.is_empty() {
            return Ok(false);
        }
        let program = Arc::clone(&self.program);
        let saved = std::mem::replace(
            &mut self.run,
            Run::new(&Limits {
                budget: POLICY_BUDGET,
                ..self.limits
            }),
        );
        let mut allowed = Ok(true);
        for (unit, body) in blocks {
            let mut frame = Frame::new(&program, *unit, who.clone());
            // `@static (c) { … }`: `c` is `@context`.
            if let Some((_, slot)) = program
                .static_context
                .iter()
                .find(|(owner, _)| owner == unit)
                && let Some(place) = frame.slots.get_mut(*slot as usize)
            {
                *place = self.context_value(who);
            }
            match self.block(&program, &mut frame, body) {
                Ok(Flow::Return(value)) if value.as_bool() => {}
                Ok(_) => {
                    allowed = Ok(false);
                    break;
                }
                Err(fault) => {
                    allowed = Err(fault);
                    break;
                }
            }
        }
        self.run = saved;
        allowed
    }
}
