//! `test` blocks: each runs on a fresh document, with the test-only statements (`@step`,
//! `@forward`, `@pump`, `@send`, `@aborts`) and assertions counted.

use std::sync::Arc;

use adama_compiler::hir::{Stmt, StmtId};
use adama_compiler::ir::Program;
use serde::Serialize;

use crate::document::{Document, QueuedMessage, StatementHook};
use crate::error::Fault;
use crate::eval::Frame;
use crate::exec::Flow;
use crate::random::JavaRandom;
use crate::value::Principal;

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub name: String,
    pub passed: u32,
    pub total: u32,
    /// A runtime failure that stopped the test.
    pub error: Option<String>,
    /// Whether the test ended with an uncaught `abort` (not a failure by itself).
    pub aborted: bool,
    pub logs: Vec<String>,
}

impl TestResult {
    pub fn succeeded(&self) -> bool {
        self.passed == self.total && self.error.is_none()
    }
}

/// Runs every test of a program, each on a fresh document.
pub fn run_tests(program: &Arc<Program>) -> Vec<TestResult> {
    (0..program.tests.len())
        .map(|index| run_test(program, index, None))
        .collect()
}

/// Runs the test block `name` with a hook that sees each statement of the block (and of the
/// code it runs) after the constructor; `None` when the program has no such test.
pub fn run_test_hooked(
    program: &Arc<Program>,
    name: &str,
    hook: Box<dyn StatementHook>,
) -> Option<TestResult> {
    let index = program.tests.iter().position(|test| test.name == name)?;
    Some(run_test(program, index, Some(hook)))
}

fn run_test(
    program: &Arc<Program>,
    index: usize,
    hook: Option<Box<dyn StatementHook>>,
) -> TestResult {
    let test = &program.tests[index];
    let mut result = TestResult {
        name: test.name.clone(),
        passed: 0,
        total: 0,
        error: None,
        aborted: false,
        logs: Vec::new(),
    };
    let mut document = match Document::new(Arc::clone(program), "space", "key") {
        Ok(document) => document,
        Err(fault) => {
            result.error = Some(fault.to_string());
            return result;
        }
    };
    let construct = serde_json::json!({"command": "construct", "timestamp": 0, "entropy": 42,
        "who": {"agent": "?", "authority": "?"}, "arg": {}});
    if let Err(error) = document.execute(&construct) {
        result.error = Some(format!(
            "the constructor failed: {} (code {})",
            error.message, error.code
        ));
        return result;
    }
    document.tests.checkpoint_meta = document.meta.clone();
    document.set_hook(hook);
    let mut frame = Frame::new(program, test.unit, Principal::no_one());
    frame.test = true;
    document.run.budget_left = document.limits.budget;
    document.run.bytes_left = document.limits.transaction_bytes;
    match document.block(program, &mut frame, &test.body) {
        Ok(_) => {}
        Err(Fault::Abort) => result.aborted = true,
        Err(fault) => result.error = Some(fault.to_string()),
    }
    document.stamp_changed_records(program);
    document.store.settle();
    result.passed = document.tests.asserts.0;
    result.total = document.tests.asserts.1;
    result.logs = std::mem::take(&mut document.tests.log);
    result
}

impl Document {
    /// Commits what a test did so far, silently.
    fn test_commit(&mut self) {
        let program = Arc::clone(&self.program);
        self.stamp_changed_records(&program);
        self.store.settle();
        self.forget_freed();
        self.tests.checkpoint_meta = self.meta.clone();
    }

    /// The store and internal fields as they are, to go back to when a handler aborts inside a
    /// test (tests are small, so a copy is cheap).
    fn savepoint(&self) -> Box<(crate::store::Store, crate::document::Meta)> {
        Box::new((self.store.clone(), self.meta.clone()))
    }

    fn restore(&mut self, savepoint: Box<(crate::store::Store, crate::document::Meta)>) {
        let (store, meta) = *savepoint;
        self.store = store;
        self.meta = meta;
        // Formulas read the store; after going back, none of their caches can be trusted.
        self.formulas.cache.clear();
    }

    /// `@step`: route the queued messages and run the pending state, even if not yet due.
    fn test_step(&mut self, program: &Program) -> Result<(), Fault> {
        self.rng = JavaRandom::new(self.meta.entropy);
        self.run.asks.clear();
        self.run.inbox.clear();
        self.run.preempt = None;
        let queued: Vec<QueuedMessage> = self.meta.messages.values().cloned().collect();
        let mut outcome = Ok(());
        for task in &queued {
            if program.handlers.contains_key(&task.channel) {
                // A handler that aborts is undone and its message dropped; the step goes on.
                let savepoint = self.savepoint();
                match self.run_handler(program, &task.channel, &task.who, &task.message) {
                    Ok(()) => {}
                    Err(Fault::Abort) => self.restore(savepoint),
                    Err(fault) => {
                        outcome = Err(fault);
                        break;
                    }
                }
            } else {
                self.run
                    .inbox
                    .entry((task.channel.clone(), task.who.clone()))
                    .or_default()
                    .push_back((task.timestamp, task.message.clone()));
            }
        }
        if outcome.is_ok() && !self.meta.state.is_empty() {
            let label = self.meta.state.to_string();
            self.meta.state = Arc::from("");
            outcome = self.run_state(program, &label);
        }
        // A state that registered `preempt #s` and then blocks keeps its work and moves to `#s`,
        // due now, exactly as in an invalidation (language spec 7.4).
        if matches!(outcome, Err(Fault::Blocked { .. } | Fault::Wait))
            && let Some(target) = self.run.preempt.take()
        {
            self.meta.state = target;
            self.meta.next_time = self.meta.time;
            outcome = Ok(());
        }
        match outcome {
            Ok(()) => {
                self.meta.messages = Arc::new(Default::default());
                self.meta.blocked = false;
                self.meta.seq += 1;
                self.meta.entropy = self.rng.next_long();
                self.test_commit();
                Ok(())
            }
            Err(Fault::Blocked { .. } | Fault::Wait) => {
                self.store.revert();
                self.forget_freed();
                // The queued messages stay queued for the next run, under the ids they were
                // given (a message pumped later takes the next id, not a reused one).
                let messages = Arc::clone(&self.meta.messages);
                let message_id = self.meta.message_id;
                let timeouts = Arc::clone(&self.meta.timeouts);
                self.meta = self.tests.checkpoint_meta.clone();
                self.meta.messages = messages;
                self.meta.message_id = message_id;
                self.meta.timeouts = timeouts;
                self.meta.blocked = true;
                self.tests.checkpoint_meta = self.meta.clone();
                Ok(())
            }
            Err(fault) => Err(fault),
        }
    }

    pub(crate) fn test_statement(
        &mut self,
        program: &Program,
        frame: &mut Frame,
        id: StmtId,
    ) -> Result<Flow, Fault> {
        let unit = &program.units[frame.unit as usize];
        match &unit.item.body.stmt(id).stmt {
            Stmt::Step => self.test_step(program)?,
            Stmt::Forward(seconds) => {
                let seconds = self.eval(program, frame, *seconds)?.as_double();
                self.meta.time = self.meta.time.saturating_add((seconds * 1000.0) as i64);
                self.test_commit();
            }
            Stmt::Pump { message, channel } => {
                let value = self.eval(program, frame, *message)?;
                let json = self.to_stored_json(&value);
                self.meta
                    .enqueue(Principal::no_one(), channel.name.clone(), json);
            }
            Stmt::Send {
                channel,
                who,
                message,
            } => {
                let who = self.eval(program, frame, *who)?.as_principal();
                let value = self.eval(program, frame, *message)?;
                let json = self.to_stored_json(&value);
                self.meta.enqueue(who, channel.name.clone(), json);
                self.test_step(program)?;
            }
            Stmt::Aborts(block) => {
                let savepoint = self.savepoint();
                let outcome = self.block(program, frame, block);
                self.tests.asserts.1 += 1;
                match outcome {
                    Err(Fault::Abort) => {
                        // What the block did before it aborted is undone, as an abort does; its
                        // own assertions still count.
                        let asserts = self.tests.asserts;
                        self.restore(savepoint);
                        self.tests.asserts = asserts;
                        self.tests.asserts.0 += 1;
                    }
                    Err(fault @ Fault::Error { .. }) => return Err(fault),
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(Flow::Normal)
    }
}
