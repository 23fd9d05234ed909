//! The handlers a host asks before it lets someone in, which read the document and change
//! nothing, so they run outside any transaction:
//! - `@authorization (M m) { … }`: a login message in, `{agent, hash[, channel, success]}` out
//!   (language spec, "Auth"); the host checks the password against the returned hash and mints
//!   the identity.
//! - `@authorize (username, password) { … }` (deprecated): names the agent of a user whose
//!   password the document itself checks, or aborts.
//! - `@can_attach { … }`: whether `@who` may upload an asset (runtime spec §9.2); any handler
//!   returning true allows it, and a document without one allows no one.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::document::Document;
use crate::error::Fault;
use crate::exec::Flow;
use crate::run::Run;
use crate::transaction::CommandError;
use crate::value::Principal;

/// The code of every refused authorization (the protocol's authorize failure).
pub const AUTHORIZE_FAILURE: i32 = 191_713;

impl Document {
    /// Runs the document's `@authorization` handler on a login message (without its password)
    /// and returns what the handler returned, as JSON. `context` holds the request's `origin`
    /// and `ip`. Nothing of the document changes.
    pub fn authorization(&mut self, message: &Json, context: &Json) -> Result<Json, CommandError> {
        let program = Arc::clone(&self.program);
        let Some(handler) = program.authorizations.first() else {
            return Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the document has no @authorization handler",
            ));
        };
        if let Some(layout) = handler.message
            && let Err(misfit) = self.check_channel_message(Some(layout), false, message)
        {
            return Err(CommandError::new(AUTHORIZE_FAILURE, misfit.to_string()));
        }
        let result = self.outside_transactions(context, |document| {
            let mut frame = crate::eval::Frame::new(&program, handler.unit, Principal::no_one());
            if let Some(layout) = handler.message {
                frame.slots[handler.slot as usize] = document.message_from_json(layout, message);
            }
            document.block(&program, &mut frame, &handler.body)
        });
        match result {
            Ok(Flow::Return(value)) => Ok(self.to_stored_json(&value)),
            Ok(_) => Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the @authorization handler returned nothing",
            )),
            Err(Fault::Abort) => Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the @authorization handler aborted",
            )),
            Err(fault) => Err(CommandError::new(AUTHORIZE_FAILURE, fault.to_string())),
        }
    }

    /// Runs the deprecated `@authorize (username, password)` handler and returns the agent it
    /// named. `context` holds the request's `origin` and `ip`. Nothing of the document
    /// changes; an abort, a failure or an empty agent refuses the login.
    pub fn authorize(
        &mut self,
        username: &str,
        password: &str,
        context: &Json,
    ) -> Result<String, CommandError> {
        let program = Arc::clone(&self.program);
        let Some(handler) = program.authorize.as_ref() else {
            return Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the document has no @authorize handler",
            ));
        };
        let result = self.outside_transactions(context, |document| {
            let mut frame = crate::eval::Frame::new(&program, handler.unit, Principal::no_one());
            frame.slots[handler.username as usize] = crate::value::Value::Str(Arc::from(username));
            frame.slots[handler.password as usize] = crate::value::Value::Str(Arc::from(password));
            document.block(&program, &mut frame, &handler.body)
        });
        match result {
            Ok(Flow::Return(value)) if !value.as_str().is_empty() => Ok(value.as_str().to_owned()),
            Ok(_) => Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the @authorize handler named no agent",
            )),
            Err(Fault::Abort) => Err(CommandError::new(
                AUTHORIZE_FAILURE,
                "the @authorize handler aborted",
            )),
            Err(fault) => Err(CommandError::new(AUTHORIZE_FAILURE, fault.to_string())),
        }
    }

    /// Runs `@can_attach` for `who`; `context` holds the request's `origin` and `ip`. Nothing of
    /// the document changes; a handler that fails allows nothing.
    pub fn can_attach(&mut self, who: &Principal, context: &Json) -> bool {
        let program = Arc::clone(&self.program);
        if program.can_attach.is_empty() {
            return false;
        }
        self.outside_transactions(context, |document| {
            let mut allowed = false;
            for (unit, body) in &program.can_attach {
                let mut frame = crate::eval::Frame::new(&program, *unit, who.clone());
                match document.block(&program, &mut frame, body) {
                    Ok(Flow::Return(value)) => allowed |= value.as_bool(),
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
            allowed
        })
    }

    /// Runs a gatekeeper's code with the request's `origin` and `ip` as its context and a run of
    /// its own, then puts back the document's, so nothing of a transaction is touched.
    fn outside_transactions<T>(
        &mut self,
        context: &Json,
        code: impl FnOnce(&mut Document) -> T,
    ) -> T {
        let saved_context = std::mem::replace(
            &mut self.request_context,
            Arc::new(serde_json::json!({
                "origin": context.get("origin").and_then(Json::as_str).unwrap_or(""),
                "ip": context.get("ip").and_then(Json::as_str).unwrap_or(""),
            })),
        );
        let saved_run = std::mem::replace(&mut self.run, Run::new(&self.limits));
        let result = code(self);
        self.run = saved_run;
        self.request_context = saved_context;
        result
    }
}
