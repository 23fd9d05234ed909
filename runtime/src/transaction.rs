//! Commands and transactions: one command runs as one transaction that either commits (a redo
//! and an undo patch) or changes nothing.

use std::sync::Arc;

use adama_compiler::ir::{PolicyRef, Program};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::command::{Command, SendFields};
use crate::commit::diff_meta;
use crate::document::{Document, QueuedMessage};
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::exec::Flow;
use crate::random::JavaRandom;
use crate::run::{BlockedRun, Run};
use crate::value::{Principal, Value};
use adama_compiler::hir::WebMethod;

/// What one command did to the stored document. A plain serializable type: it is what a host
/// persists, replicates and replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRecord {
    pub seq: i32,
    pub time: i64,
    /// The command as it arrived (shared, not copied, with the caller).
    pub command: Arc<Json>,
    pub redo: Json,
    pub undo: Json,
    /// The response of a web command (`web_get`, `web_put`, `web_delete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Json>,
}

/// Why a command was refused; the document is unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandError {
    pub code: i32,
    pub message: String,
}

impl CommandError {
    pub fn new(code: i32, message: impl Into<String>) -> CommandError {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<Fault> for CommandError {
    fn from(fault: Fault) -> CommandError {
        match fault {
            Fault::Abort => CommandError::new(codes::HANDLER_ABORT, "the handler aborted"),
            Fault::Blocked { channel } => CommandError::new(
                codes::RUNTIME_FAILURE,
                format!("the code waited on channel '{channel}' where it cannot wait"),
            ),
            Fault::Wait => CommandError::new(codes::RUNTIME_FAILURE, "'block' outside a state"),
            Fault::Error { code, message } => CommandError::new(code, message),
        }
    }
}

/// The sender a command names, `?/?` when it names none.
fn sender(who: Option<Principal>) -> Principal {
    who.unwrap_or_else(Principal::no_one)
}

/// The outcome of running code in a transaction.
enum Ran {
    Done,
}

/// Merges a patch into a target (RFC 7386), keeping explicit nulls so that a merged patch
/// still deletes what its parts deleted.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    match patch {
        Json::Object(entries) => {
            if !target.is_object() {
                *target = Json::Object(Map::new());
            }
            let Json::Object(object) = target else { return };
            for (key, value) in entries {
                if value.is_null() {
                    object.insert(key.clone(), Json::Null);
                } else if value.is_object() {
                    let slot = object.entry(key.clone()).or_insert(Json::Null);
                    if !slot.is_object() {
                        *slot = Json::Object(Map::new());
                    }
                    merge_patch(slot, value);
                } else {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Applies a patch (RFC 7386) to a document: nulls delete.
pub fn apply_patch(target: &mut Json, patch: &Json) {
    match patch {
        Json::Object(entries) => {
            if !target.is_object() {
                *target = Json::Object(Map::new());
            }
            let Json::Object(object) = target else { return };
            for (key, value) in entries {
                if value.is_null() {
                    object.shift_remove(key);
                } else {
                    let slot = object.entry(key.clone()).or_insert(Json::Null);
                    apply_patch(slot, value);
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl Document {
    /// Runs code as a transaction: on success the redo and undo patches, on failure (or when
    /// the code blocked) everything it did is undone.
    fn transact<T>(
        &mut self,
        run: impl FnOnce(&mut Document, &Program) -> Result<T, Fault>,
        finish: impl FnOnce(&mut Document, &T),
    ) -> Result<(T, Json, Json), Fault> {
        let result = self.run_transaction(run, finish);
        // The run ends with its transaction; the next one starts from nothing.
        self.run = Run::new(&self.limits);
        result
    }

    /// [`Document::transact`], giving back the state the run ended with (what a blocked
    /// invalidation publishes). The run's state is created here and leaves with the run: the
    /// document keeps none of it.
    fn transact_run<T>(
        &mut self,
        run: impl FnOnce(&mut Document, &Program) -> Result<T, Fault>,
        finish: impl FnOnce(&mut Document, &T),
    ) -> (Result<(T, Json, Json), Fault>, Run) {
        let result = self.run_transaction(run, finish);
        (result, self.end_run())
    }

    /// The body of a transaction, in a fresh run that the caller ends.
    fn run_transaction<T>(
        &mut self,
        run: impl FnOnce(&mut Document, &Program) -> Result<T, Fault>,
        finish: impl FnOnce(&mut Document, &T),
    ) -> Result<(T, Json, Json), Fault> {
        let program = Arc::clone(&self.program);
        let before = self.meta.clone();
        self.run = Run::new(&self.limits);
        self.formulas.fresh_cached.clear();
        let outcome = run(self, &program).and_then(|value| {
            self.stamp_changed_records(&program);
            self.check_held().map(|()| value)
        });
        match outcome {
            Ok(value) => {
                self.shadow = None;
                if let Some(marker) = self.run.marker.take() {
                    let time = self.meta.time;
                    Arc::make_mut(&mut self.meta.dedupe).insert(marker, time);
                }
                finish(self, &value);
                let asked = std::mem::take(&mut self.run.host);
                self.host_requests.extend(asked);
                let (mut redo, mut undo) = (Map::new(), Map::new());
                diff_meta(&before, &self.meta, &mut redo, &mut undo);
                self.commit_record(self.root, &mut redo, &mut undo);
                self.store.settle();
                self.forget_freed();
                Ok((value, Json::Object(redo), Json::Object(undo)))
            }
            Err(fault) => {
                self.store.revert();
                self.forget_freed();
                for key in std::mem::take(&mut self.formulas.fresh_cached) {
                    self.formulas.cache.remove(&key);
                }
                self.meta = before;
                Err(fault)
            }
        }
    }

    /// Ends the current run: its state is handed back and the document is left with a fresh
    /// one, for code that runs between transactions (views, formulas read by a host).
    fn end_run(&mut self) -> Run {
        std::mem::replace(&mut self.run, Run::new(&self.limits))
    }

    /// Runs code that may read the document and must leave it as it was: whatever it touched
    /// is undone, whether it succeeds or not.
    fn read_only<T>(
        &mut self,
        run: impl FnOnce(&mut Document, &Program) -> Result<T, Fault>,
    ) -> Result<T, Fault> {
        let program = Arc::clone(&self.program);
        let before = self.meta.clone();
        self.run = Run::new(&self.limits);
        let result = run(self, &program);
        self.store.revert();
        self.forget_freed();
        self.meta = before;
        self.end_run();
        result
    }

    /// Runs code as a transaction and gives its redo and undo patches.
    pub(crate) fn patches(
        &mut self,
        run: impl FnOnce(&mut Document, &Program) -> Result<(), Fault>,
    ) -> Result<(Json, Json), CommandError> {
        let ((), redo, undo) = self.transact(run, |_, _| {})?;
        Ok((redo, undo))
    }

    pub(crate) fn forget_freed(&mut self) {
        for record in std::mem::take(&mut self.store.freed) {
            self.formulas.cache.retain(|(owner, _), _| *owner != record);
        }
    }

    /// Runs one command as one transaction.
    pub fn execute(&mut self, command: &Json) -> Result<TransactionRecord, CommandError> {
        self.execute_shared(Arc::new(command.clone()))
    }

    /// Runs one command as one transaction, keeping the caller's command in the record.
    pub fn execute_shared(&mut self, shared: Arc<Json>) -> Result<TransactionRecord, CommandError> {
        // A send, the command run most, is read in place; any other is parsed.
        let command = match SendFields::of(&shared) {
            Some(send) => {
                self.keep_request_context(&shared);
                let who = send
                    .who
                    .map(|(agent, authority)| Principal::new(agent, authority));
                let (redo, undo) = self.send(
                    send.channel,
                    send.message,
                    send.marker,
                    sender(who),
                    send.timestamp,
                )?;
                return Ok(self.record(shared, redo, undo, None));
            }
            None => {
                if crate::command::is_redacted(&shared) {
                    return Err(CommandError::new(
                        codes::SECRET_REDACTED,
                        "this command's secret was taken out when it was logged, so it cannot \
                         run again; apply the redo of its record instead",
                    ));
                }
                Command::parse(&shared)?
            }
        };
        self.keep_request_context(&shared);
        let mut response = None;
        // The four web commands differ only in their method; the handler's answer is the
        // record's response.
        let mut web = |document: &mut Document,
                       method: WebMethod,
                       origin: crate::command::Origin,
                       request: Option<Json>| {
            document
                .web(request, method, sender(origin.who), origin.timestamp)
                .map(|(redo, undo, answer)| {
                    response = Some(answer);
                    (redo, undo)
                })
        };
        let (redo, undo) = match command {
            Command::Construct {
                origin,
                arg,
                entropy,
            } => self.construct(arg, entropy, sender(origin.who), origin.timestamp),
            Command::Connect { origin } => self.connect(sender(origin.who), origin.timestamp),
            Command::Disconnect { origin } => self.disconnect(sender(origin.who), origin.timestamp),
            Command::Send {
                origin,
                channel,
                message,
                marker,
            } => self.send(
                channel.as_deref(),
                message.as_ref(),
                marker.as_deref(),
                sender(origin.who),
                origin.timestamp,
            ),
            Command::Invalidate { origin } => self
                .invalidate(origin.timestamp)
                .map(|(redo, undo, _)| (redo, undo)),
            Command::Apply { origin, patch } => self.apply_command(patch, origin.timestamp),
            Command::Load {} => self.load(),
            Command::Delete { origin } => self.delete(sender(origin.who), origin.timestamp),
            Command::Attach { origin, asset } => {
                self.attach(asset, sender(origin.who), origin.timestamp)
            }
            Command::Expire { origin, limit } => self.expire(limit, origin.timestamp),
            Command::Replicate { origin } => self.replicate(origin.timestamp),
            Command::Password { origin, password } => {
                self.password(password, sender(origin.who), origin.timestamp)
            }
            Command::Deliver {} => Err(CommandError::new(
                codes::NOTHING_TO_DELIVER,
                "no service call is waiting for a delivery (service calls complete at once here)",
            )),
            Command::WebPut { origin, request } => web(self, WebMethod::Put, origin, request),
            Command::WebDelete { origin, request } => web(self, WebMethod::Delete, origin, request),
            Command::WebGet { origin, request } => web(self, WebMethod::Get, origin, request),
            Command::WebOptions { origin, request } => {
                web(self, WebMethod::Options, origin, request)
            }
        }?;
        // The record keeps no secret of the command (a replay applies its redo instead).
        let logged = crate::command::redact(&shared).map_or(shared, Arc::new);
        Ok(self.record(logged, redo, undo, response))
    }

    /// Sets `@context` from a command's `origin` and `ip`. Most commands come from where the
    /// last one came from: the context is kept then.
    fn keep_request_context(&mut self, command: &Json) {
        fn text<'a>(json: &'a Json, name: &str) -> &'a str {
            crate::command::field(json, name)
                .and_then(Json::as_str)
                .unwrap_or("")
        }
        let (origin, ip) = (text(command, "origin"), text(command, "ip"));
        let same = crate::command::same_text;
        if !same(text(&self.request_context, "origin"), origin)
            || !same(text(&self.request_context, "ip"), ip)
        {
            self.request_context = Arc::new(serde_json::json!({"origin": origin, "ip": ip}));
        }
    }

    /// The record of a committed command.
    fn record(
        &self,
        command: Arc<Json>,
        redo: Json,
        undo: Json,
        response: Option<Json>,
    ) -> TransactionRecord {
        TransactionRecord {
            seq: self.meta.seq,
            time: self.meta.time,
            command,
            redo,
            undo,
            response,
        }
    }

    /// `apply`: merges a raw data patch into the stored document, as a transaction (what a
    /// rewind or a debugger uses).
    fn apply_command(
        &mut self,
        patch: Option<Json>,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let Some(patch) = patch else {
            return Err(CommandError::new(
                codes::MISSING_ARG,
                "the apply has no 'patch' object",
            ));
        };
        self.patches(|document, program| {
            document.clock(timestamp);
            document.patch_record(program, document.root, &patch)?;
            document.meta.seq += 1;
            Ok(())
        })
    }

    /// `load`: runs `@load` (after the document was rebuilt from storage); the sequence moves
    /// only when the code changed something.
    fn load(&mut self) -> Result<(Json, Json), CommandError> {
        self.patches(|document, program| {
            for (unit, body) in &program.loads {
                let mut frame = Frame::new(program, *unit, Principal::no_one());
                document.block(program, &mut frame, body)?;
            }
            if !document.store.journal.is_empty() {
                document.meta.seq += 1;
            }
            Ok(())
        })
    }

    /// `delete`: asks `@delete` (any handler returning true accepts); an accepted delete marks
    /// the document deleted, and the host removes it.
    fn delete(
        &mut self,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let (_, redo, undo) = self.transact(
            |document, program| {
                document.clock(timestamp);
                let accepted = document.any_accepts(program, &program.deletes, &who)?;
                if !accepted {
                    return Err(Fault::error(
                        codes::DELETE_REJECTED,
                        "the document refused to be deleted",
                    ));
                }
                Ok(())
            },
            |document, _| document.deleted = true,
        )?;
        Ok((redo, undo))
    }

    /// `expire`: forgets the send markers older than `limit` ms.
    fn expire(
        &mut self,
        limit: Option<i64>,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let Some(limit) = limit else {
            return Err(CommandError::new(
                codes::MISSING_ARG,
                "the expire has no 'limit'",
            ));
        };
        let now = timestamp.unwrap_or(self.meta.time);
        let cutoff = now.saturating_sub(limit);
        if !self.meta.dedupe.values().any(|used| *used < cutoff) {
            return Err(CommandError::new(
                codes::NOTHING_TO_EXPIRE,
                "no marker is old enough to expire",
            ));
        }
        self.patches(|document, _| {
            document.clock(timestamp);
            Arc::make_mut(&mut document.meta.dedupe).retain(|_, used| *used >= cutoff);
            document.meta.last_expire_time = cutoff;
            document.meta.seq += 1;
            Ok(())
        })
    }

    /// `attach`: a connected principal attaches an asset; `@attached` handlers run.
    fn attach(
        &mut self,
        asset: Option<Json>,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        if !self.meta.clients.values().any(|client| *client == who) {
            return Err(CommandError::new(
                codes::SEND_NOT_CONNECTED,
                "the principal is not connected",
            ));
        }
        let Some(asset) = asset else {
            return Err(CommandError::new(
                codes::MISSING_ARG,
                "the attach has no 'asset'",
            ));
        };
        let asset = self.from_json(&adama_compiler::ty::Ty::Asset, &asset);
        self.patches(|document, program| {
            document.clock(timestamp);
            for (unit, slot, body) in &program.attached {
                let mut frame = Frame::new(program, *unit, who.clone());
                frame.slots[*slot as usize] = asset.clone();
                document.block(program, &mut frame, body)?;
            }
            document.meta.seq += 1;
            Ok(())
        })
    }

    /// `password`: the deprecated `@password (new_password)` runs as `who`, under the time and
    /// randomness rules of a connect (runtime spec §3.3).
    fn password(
        &mut self,
        password: Option<String>,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let program = Arc::clone(&self.program);
        let Some(handler) = program.password.as_ref() else {
            return Err(CommandError::new(
                crate::authorization::AUTHORIZE_FAILURE,
                "the document has no @password handler",
            ));
        };
        let Some(password) = password else {
            return Err(CommandError::new(
                codes::MISSING_ARG,
                "the password command has no 'password'",
            ));
        };
        self.patches(|document, program| {
            document.clock(timestamp);
            document.reseed_after();
            let mut frame = Frame::new(program, handler.unit, who.clone());
            frame.slots[handler.slot as usize] = Value::Str(Arc::from(password.as_str()));
            document.block(program, &mut frame, &handler.body)?;
            document.meta.seq += 1;
            Ok(())
        })
    }

    /// `web_put`, `web_delete` (transactions) and `web_get` (runs against the current state and
    /// changes nothing). The handler's response is in the record.
    fn web(
        &mut self,
        request: Option<Json>,
        method: WebMethod,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json, Json), CommandError> {
        let request = crate::web::WebRequest::from_json(request.as_ref().unwrap_or(&Json::Null));
        let program = Arc::clone(&self.program);
        let (not_found, aborted) = match method {
            WebMethod::Get => (133_308, 145_659),
            WebMethod::Put => (114_881, 134_399),
            // A preflight the handler declines has no answer, as one with no handler.
            WebMethod::Options => (127_692, 127_692),
            _ => (110_832, 120_060),
        };
        let Some((index, bindings)) = crate::web::route(&program, method, &request.uri) else {
            return Err(CommandError::new(
                not_found,
                format!("no @web handler for '{}'", request.uri),
            ));
        };
        if let Some((_, message)) = program.webs[index].param
            && let Err(misfit) = self.check_channel_message(message, false, &request.body)
        {
            return Err(CommandError::new(
                codes::MESSAGE_MISFIT,
                format!(
                    "the body sent to '{}' does not fit its type: {misfit}",
                    request.uri
                ),
            ));
        }
        let run = move |document: &mut Document, program: &Program| {
            document.clock(timestamp);
            document.reseed_after();
            document.run_web(program, index, bindings, &request, &who)
        };
        let result = if matches!(method, WebMethod::Get | WebMethod::Options) {
            // A GET (or a preflight) changes nothing: it gives its response, and what it touched is undone.
            let empty = || Json::Object(Map::new());
            self.read_only(run)
                .map(|response| (response, empty(), empty()))
        } else {
            self.transact(
                |document, program| {
                    let response = run(document, program)?;
                    document.meta.seq += 1;
                    Ok(response)
                },
                |_, _| {},
            )
        };
        match result {
            Ok((response, redo, undo)) => Ok((redo, undo, response)),
            Err(Fault::Abort) => Err(CommandError::new(aborted, "the web handler aborted")),
            Err(fault) => Err(fault.into()),
        }
    }

    pub(crate) fn clock(&mut self, timestamp: Option<i64>) {
        if let Some(timestamp) = timestamp {
            self.meta.time = timestamp;
        }
    }

    /// The time and randomness rules at the end of connect, disconnect and direct sends
    /// (runtime spec §3.3).
    fn reseed_after(&mut self) {
        if self.meta.state.is_empty() {
            let mut rng = JavaRandom::new(self.meta.entropy);
            self.meta.entropy = rng.next_long();
            self.rng = rng;
        }
    }

    fn construct(
        &mut self,
        arg: Option<Json>,
        entropy: Option<i64>,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        if self.meta.constructed {
            return Err(CommandError::new(
                codes::ALREADY_CONSTRUCTED,
                "the document is already constructed",
            ));
        }
        let arg = arg.unwrap_or(Json::Object(Map::new()));
        for constructor in &self.program.constructors {
            if let Some((_, message)) = constructor.param
                && let Err(misfit) = self.check_channel_message(message, false, &arg)
            {
                return Err(CommandError::new(
                    codes::MESSAGE_MISFIT,
                    format!("the constructor's argument does not fit its type: {misfit}"),
                ));
            }
        }
        self.patches(|document, program| {
            document.clock(timestamp);
            if let Some(entropy) = entropy {
                document.meta.entropy = entropy;
            }
            document.rng = JavaRandom::new(document.meta.entropy);
            for constructor in &program.constructors {
                let mut frame = Frame::new(program, constructor.unit, who.clone());
                if let Some((slot, Some(message))) = constructor.param {
                    frame.slots[slot as usize] = document.message_from_json(message, &arg);
                }
                document.block(program, &mut frame, &constructor.body)?;
            }
            document.meta.constructed = true;
            Ok(())
        })
    }

    fn connect(
        &mut self,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        if self.meta.clients.values().any(|client| *client == who) {
            return Err(CommandError::new(
                codes::ALREADY_CONNECTED,
                "the principal is already connected",
            ));
        }
        let (accepted, redo, undo) = self
            .transact(
                |document, program| {
                    document.clock(timestamp);
                    document.reseed_after();
                    let accepted = document.any_accepts(program, &program.connected, &who)?;
                    if !accepted {
                        return Err(Fault::error(
                            codes::CONNECTION_REJECTED,
                            "the document refused the connection",
                        ));
                    }
                    let id = document.meta.connection_id;
                    Arc::make_mut(&mut document.meta.clients).insert(id, who.clone());
                    document.meta.connection_id += 1;
                    document.meta.seq += 1;
                    Ok(accepted)
                },
                |_, _| {},
            )
            .map_err(CommandError::from)?;
        let _ = accepted;
        Ok((redo, undo))
    }

    fn disconnect(
        &mut self,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let Some(id) = self
            .meta
            .clients
            .iter()
            .find(|(_, client)| **client == who)
            .map(|(id, _)| *id)
        else {
            return Err(CommandError::new(
                codes::NOT_CONNECTED_DISCONNECT,
                "the principal is not connected",
            ));
        };
        self.patches(|document, program| {
            document.clock(timestamp);
            document.reseed_after();
            for (unit, body) in &program.disconnected {
                let mut frame = Frame::new(program, *unit, who.clone());
                document.block(program, &mut frame, body)?;
            }
            Arc::make_mut(&mut document.meta.clients).remove(&id);
            document.meta.seq += 1;
            Ok(())
        })
    }

    fn send(
        &mut self,
        channel: Option<&str>,
        message: Option<&Json>,
        marker: Option<&str>,
        who: Principal,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let Some(channel) = channel else {
            return Err(CommandError::new(
                codes::SEND_NO_CHANNEL,
                "the send has no 'channel'",
            ));
        };
        let mut marker_key = None;
        if let Some(marker) = marker {
            let key = format!("{}/{}/{marker}", who.agent, who.authority);
            if self.meta.dedupe.contains_key(&key) {
                return Err(CommandError::new(
                    codes::DUPLICATE_MARKER,
                    format!("the message marked '{marker}' was already sent"),
                ));
            }
            marker_key = Some(key);
        }
        let Some(message) = message else {
            return Err(CommandError::new(
                codes::SEND_NO_MESSAGE,
                "the send has no 'message'",
            ));
        };
        let program = Arc::clone(&self.program);
        let connected = self.meta.clients.values().any(|client| *client == who);
        let handler = program.handlers.get(channel);
        let is_async = program.async_channels.contains_key(channel);
        if handler.is_none() && !is_async {
            return Err(CommandError::new(
                codes::UNKNOWN_CHANNEL,
                format!("the document has no channel '{channel}'"),
            ));
        }
        if !connected
            && !handler.as_ref().is_some_and(|handler| handler.open)
            && !self
                .evaluate_static_policy(crate::StaticPolicy::Send, &who)
                .unwrap_or(false)
        {
            return Err(CommandError::new(
                codes::SEND_NOT_CONNECTED,
                "the sender is not connected (connect first, declare the channel 'open', or allow it with the static 'send' policy)",
            ));
        }
        let (index, array) = match (handler, program.async_channels.get(channel)) {
            (Some(handler), _) => (handler.message, handler.array),
            (None, Some(definition)) => (definition.message, definition.array),
            (None, None) => (None, false),
        };
        if let Err(misfit) = self.check_channel_message(index, array, message) {
            return Err(CommandError::new(
                codes::MESSAGE_MISFIT,
                format!("the message sent to '{channel}' does not fit its type: {misfit}"),
            ));
        }
        if let Some(handler) = handler {
            let guard = &handler.guard;
            let result = self.transact(
                |document, program| {
                    document.run.marker = marker_key;
                    document.clock(timestamp);
                    document.rng =
                        JavaRandom::new(document.meta.entropy.wrapping_add(document.meta.time));
                    if !document.policies_pass(program, guard, &who, Value::Void)? {
                        return Err(Fault::error(
                            codes::POLICY_REJECTED,
                            "the channel's policy refused the sender",
                        ));
                    }
                    document.run_handler(program, channel, &who, message)?;
                    document.meta.seq += 1;
                    document.reseed_after();
                    Ok(())
                },
                |document, _| document.flush_enqueued(),
            );
            return match result {
                Ok((_, redo, undo)) => Ok((redo, undo)),
                Err(Fault::Blocked { .. }) => {
                    // The marker went with the handler's run; the queued message is another.
                    self.queue_message(channel, who, message, None, timestamp)
                }
                Err(fault) => Err(fault.into()),
            };
        }
        self.queue_message(channel, who, message, marker_key, timestamp)
    }

    /// Messages a handler enqueued become queued messages once a send or an invalidation
    /// commits (other commands drop them with their run).
    fn flush_enqueued(&mut self) {
        for (channel, who, message) in std::mem::take(&mut self.run.enqueued) {
            self.meta.enqueue(who, channel, message);
        }
    }

    /// Queues a message for the next invalidation; a send's marker is recorded with it.
    fn queue_message(
        &mut self,
        channel: &str,
        who: Principal,
        message: &Json,
        marker: Option<String>,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        self.patches(|document, _| {
            document.run.marker = marker;
            document.clock(timestamp);
            document
                .meta
                .enqueue(who, channel.to_owned(), message.clone());
            document.meta.seq += 1;
            Ok(())
        })
    }

    /// Runs every handler of an event that answers yes or no (`@connected`, `@delete`): all of
    /// them run, and the answer is yes when any says so.
    fn any_accepts(
        &mut self,
        program: &Program,
        handlers: &[(u32, adama_compiler::hir::Block)],
        who: &Principal,
    ) -> Result<bool, Fault> {
        let mut accepted = false;
        for (unit, body) in handlers {
            let mut frame = Frame::new(program, *unit, who.clone());
            if let Flow::Return(value) = self.block(program, &mut frame, body)? {
                accepted |= value.as_bool();
            }
        }
        Ok(accepted)
    }

    /// Runs a handler channel's code for a message.
    pub(crate) fn run_handler(
        &mut self,
        program: &Program,
        channel: &str,
        who: &Principal,
        message: &Json,
    ) -> Result<(), Fault> {
        let Some(handler) = program.handlers.get(channel) else {
            return Ok(());
        };
        let mut frame = Frame::new(program, handler.unit, who.clone());
        let value = if let Some(layout) = handler.message {
            if handler.array {
                let items = match message {
                    Json::Array(items) => items
                        .iter()
                        .map(|item| self.message_from_json(layout, item))
                        .collect(),
                    other => vec![self.message_from_json(layout, other)],
                };
                Value::list(items)
            } else {
                self.message_from_json(layout, message)
            }
        } else {
            Value::Dynamic(Arc::new(message.clone()))
        };
        if let Some((who_slot, params)) = &handler.rpc {
            frame.slots[*who_slot as usize] = Value::principal(who.clone());
            if let Value::Message(fields) = &value {
                for (slot, field) in params.iter().zip(fields.values.iter()) {
                    frame.slots[*slot as usize] = field.clone();
                }
            }
        }
        frame.slots[handler.param_slot as usize] = value;
        self.block(program, &mut frame, &handler.body)?;
        Ok(())
    }

    /// Whether every policy holds for a viewer (`this` is the record the policies belong to).
    pub(crate) fn policies_pass(
        &mut self,
        program: &Program,
        policies: &[PolicyRef],
        who: &Principal,
        this: Value,
    ) -> Result<bool, Fault> {
        for policy in policies {
            let function = match policy {
                PolicyRef::Record(function)
                | PolicyRef::Document(function)
                | PolicyRef::Filter(function) => *function,
                PolicyRef::Missing => return Ok(false),
            };
            let this = if matches!(policy, PolicyRef::Record(_)) {
                this.clone()
            } else {
                Value::Void
            };
            if !self
                .call_function(program, function, Vec::new(), this, who.clone())?
                .as_bool()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `invalidate`: runs queued messages and the due state. Returns the patches and whether the
    /// run blocked.
    pub(crate) fn invalidate(
        &mut self,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json, bool), CommandError> {
        let (result, ended) = self.transact_run(
            |document, program| {
                document.clock(timestamp);
                document.rng = JavaRandom::new(document.meta.entropy);
                match document.run_invalidation(program)? {
                    Ran::Done => {
                        document.meta.messages = Arc::new(Default::default());
                        document.meta.blocked = false;
                        document.meta.seq += 1;
                        document.meta.entropy = document.rng.next_long();
                        document.outstanding.clear();
                        Ok(())
                    }
                }
            },
            |document, _| document.flush_enqueued(),
        );
        match result {
            Ok((_, redo, undo)) => Ok((redo, undo, false)),
            Err(Fault::Blocked { channel }) => {
                let Run {
                    asks,
                    inbox,
                    blocked,
                    ..
                } = ended;
                let (carried, shadow) = match blocked {
                    Some(BlockedRun { timeouts, shadow }) => (Some(timeouts), Some(shadow)),
                    None => (None, None),
                };
                let (_, redo, undo) = self.transact(
                    |document, _| {
                        if let Some(timeouts) = carried {
                            document.meta.timeouts = timeouts;
                        }
                        document.meta.blocked = true;
                        document.meta.seq += 1;
                        Ok(())
                    },
                    |_, _| {},
                )?;
                self.shadow = shadow;
                let mut redo = redo;
                if let Json::Object(object) = &mut redo
                    && !channel.is_empty()
                {
                    object.insert("__blocked_on".into(), Json::String(channel));
                }
                // An ask whose answer already waits in the queue is not outstanding: the next
                // run takes it.
                let mut waiting: std::collections::HashMap<(String, Principal), usize> = inbox
                    .iter()
                    .map(|(key, queue)| (key.clone(), queue.len()))
                    .collect();
                self.outstanding = asks
                    .into_iter()
                    .filter(|ask| !ask.channel.is_empty())
                    .filter(
                        |ask| match waiting.get_mut(&(ask.channel.clone(), ask.who.clone())) {
                            Some(count) if *count > 0 => {
                                *count -= 1;
                                false
                            }
                            _ => true,
                        },
                    )
                    .collect();
                Ok((redo, undo, true))
            }
            Err(fault) => Err(fault.into()),
        }
    }

    fn run_invalidation(&mut self, program: &Program) -> Result<Ran, Fault> {
        let queued: Vec<QueuedMessage> = self.meta.messages.values().cloned().collect();
        for task in &queued {
            if program.handlers.contains_key(&task.channel) {
                let now = self.meta.time;
                self.meta.time = task.timestamp;
                let outcome = self.run_handler(program, &task.channel, &task.who, &task.message);
                self.meta.time = now;
                match outcome {
                    Ok(()) | Err(Fault::Abort) => {}
                    Err(Fault::Blocked { channel }) => return self.blocked(program, channel),
                    Err(other) => return Err(other),
                }
            } else {
                self.run
                    .inbox
                    .entry((task.channel.clone(), task.who.clone()))
                    .or_default()
                    .push_back((task.timestamp, task.message.clone()));
            }
        }
        if !self.meta.state.is_empty() && self.meta.next_time <= self.meta.time {
            let label = self.meta.state.to_string();
            self.meta.state = Arc::from("");
            match self.run_state(program, &label) {
                Ok(()) => {}
                Err(Fault::Blocked { channel }) => return self.blocked(program, channel),
                Err(Fault::Wait) => return self.blocked(program, String::new()),
                Err(other) => return Err(other),
            }
        }
        self.run_crons(program)?;
        let used = self.run.asks.len() as i32;
        self.meta.auto_future_id += used;
        Ok(Ran::Done)
    }

    fn blocked(&mut self, program: &Program, channel: String) -> Result<Ran, Fault> {
        if let Some(target) = self.run.preempt.take() {
            let _ = program;
            self.meta.state = target;
            self.meta.next_time = self.meta.time;
            return Ok(Ran::Done);
        }
        // Views see what the run had done when it blocked, as the reference computes its
        // broadcasts before rolling back (runtime spec §4.2).
        self.run.blocked = Some(BlockedRun {
            timeouts: Arc::clone(&self.meta.timeouts),
            shadow: Box::new((self.store.clone(), self.meta.clone())),
        });
        Err(Fault::Blocked { channel })
    }

    /// When the document next needs an invalidation, in document time (ms), if ever: a pending
    /// state, or the earliest deadline of a timed ask it is waiting on.
    pub fn next_wake(&self) -> Option<i64> {
        // A blocked document waits for input, not for its state's time.
        let state =
            (!self.meta.state.is_empty() && !self.meta.blocked).then_some(self.meta.next_time);
        let timeout = self
            .meta
            .timeouts
            .values()
            .map(|timeout| timeout.deadline())
            .min();
        [state, timeout, self.next_cron()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs a command and then the invalidation it asks for at once, if any, merging their patches
    /// into one record, as a host does before persisting.
    pub fn execute_batch(&mut self, command: &Json) -> Result<TransactionRecord, CommandError> {
        let mut record = self.execute(command)?;
        let kind = command.get("command").and_then(Json::as_str).unwrap_or("");
        // The commands that ask for an invalidation at once (runtime spec §5.2): construct,
        // connect, disconnect and load, and a send whose message was queued. An invalidation
        // never asks for another at once: a pending state waits at least 25 ms, so it runs at
        // the host's next wake (`next_wake`), as in the reference.
        let queued = kind == "send" && record.redo.get("__messages").is_some();
        let follow = queued || matches!(kind, "construct" | "connect" | "disconnect" | "load");
        if follow && let Ok((redo, undo, _)) = self.invalidate(None) {
            merge_patch(&mut record.redo, &redo);
            let mut merged_undo = undo;
            merge_patch(&mut merged_undo, &record.undo);
            record.undo = merged_undo;
        }
        record.seq = self.meta.seq;
        Ok(record)
    }
}
