//! The replay model on logs recorded from the examples, without any protocol.

use std::path::Path;
use std::sync::Arc;

use adama_compiler::ir::Program;
use adama_debugger::replay::{Breakpoint, Replay, Stop};
use adama_runtime::{TransactionRecord, principal_from_json};
use serde_json::{Value as Json, json};

/// Runs a test body on a thread with room for the compiler's and interpreter's recursion.
fn on_big_stack(body: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(body)
        .unwrap_or_else(|error| panic!("{error}"));
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn example_source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join(format!("{name}.a"));
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{error}"))
}

fn compile(name: &str, source: &str) -> Arc<Program> {
    adama_runtime::compile(name, source).unwrap_or_else(|errors| panic!("{errors:?}"))
}

/// An example's program, the log `adama run --record` writes for its script, and the stored
/// document the run ended with.
fn recorded(name: &str) -> (Arc<Program>, Vec<TransactionRecord>, Json) {
    let program = compile(name, &example_source(name));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join(format!("{name}.jsonl"));
    let lines: Vec<String> = std::fs::read_to_string(script)
        .unwrap_or_else(|error| panic!("{error}"))
        .lines()
        .map(str::to_owned)
        .collect();
    let (output, records) =
        adama_runtime::run_script_recorded(Arc::clone(&program), "space", "key", &lines)
            .unwrap_or_else(|error| panic!("{error}"));
    let last: Json = serde_json::from_str(output.last().map(String::as_str).unwrap_or(""))
        .unwrap_or_else(|error| panic!("{error}"));
    (program, records, last["document"].clone())
}

/// A stored document without its empty objects: a patch that deletes the last entry of a map
/// leaves `{}` where a dump leaves nothing, and the two load the same document.
fn settled(document: &Json) -> Json {
    match document {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(_, value)| value.as_object().is_none_or(|inner| !inner.is_empty()))
                .map(|(key, value)| (key.clone(), settled(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn replay(name: &str, interval: usize) -> (Replay, Json) {
    let (program, records, last) = recorded(name);
    let replay = Replay::new(program, records, interval).unwrap_or_else(|error| panic!("{error}"));
    (replay, last)
}

#[test]
fn stepping_forward_reproduces_and_ends_at_the_stored_document() {
    on_big_stack(|| {
        for name in ["counter", "chat", "cards", "tictactoe"] {
            let (mut replay, last) = replay(name, 4);
            let mut steps = 0;
            loop {
                match replay.step_forward() {
                    Stop::Step => steps += 1,
                    Stop::Edge => break,
                    other => panic!("{name}: {other:?}"),
                }
            }
            assert_eq!(steps, replay.len(), "{name}");
            assert_eq!(settled(replay.document()), settled(&last), "{name}");
        }
    });
}

#[test]
fn step_back_and_goto_agree_with_stepping_forward() {
    on_big_stack(|| {
        let (mut replay, _) = replay("tictactoe", 3);
        let mut forward = vec![replay.document().clone()];
        while replay.step_forward() == Stop::Step {
            forward.push(replay.document().clone());
        }
        assert_eq!(forward.len(), replay.len() + 1);
        for step in (0..replay.len()).rev() {
            assert_eq!(replay.step_back(), Stop::Step);
            assert_eq!(replay.position(), step);
            assert_eq!(
                settled(replay.document()),
                settled(&forward[step]),
                "back to {step}"
            );
        }
        assert_eq!(replay.step_back(), Stop::Edge);
        for (step, state) in forward.iter().enumerate().rev() {
            assert_eq!(replay.goto(step), Ok(Stop::Step));
            assert_eq!(replay.document(), state, "goto {step}");
        }
        let past = replay.goto(replay.len() + 1);
        assert!(past.is_err_and(|message| message.contains("past the end")));
    });
}

#[test]
fn after_any_jump_the_next_transaction_still_reproduces() {
    // A jump rebuilds the live document from the recorded state; re-executing from there must
    // give the recorded redo, or every jump would report false divergences.
    on_big_stack(|| {
        for name in ["counter", "chat", "cards", "tictactoe"] {
            let (mut replay, _) = replay(name, 2);
            for step in 0..replay.len() {
                assert_eq!(replay.goto(step), Ok(Stop::Step));
                assert_eq!(
                    replay.step_forward(),
                    Stop::Step,
                    "{name}: step {}",
                    step + 1
                );
            }
        }
    });
}

#[test]
fn continue_and_reverse_stop_at_breakpoints() {
    on_big_stack(|| {
        let (mut replay, _) = replay("counter", 64);
        let program = Arc::clone(replay.program());
        let bump = Breakpoint::parse("bump", &program).unwrap_or_else(|error| panic!("{error}"));
        replay.set_breakpoints(vec![bump]);
        assert_eq!(replay.resume(), Stop::Breakpoint(0));
        assert_eq!(replay.position(), 2);
        assert_eq!(replay.label(), "step 3/5: send bump by ann/acme");
        assert_eq!(replay.resume(), Stop::Edge);
        assert_eq!(replay.position(), 5);

        let ticks =
            Breakpoint::parse("field:ticks", &program).unwrap_or_else(|error| panic!("{error}"));
        let connect =
            Breakpoint::parse("connect", &program).unwrap_or_else(|error| panic!("{error}"));
        replay.set_breakpoints(vec![ticks, connect]);
        assert_eq!(replay.reverse(), Stop::Breakpoint(0));
        assert_eq!(replay.label(), "step 4/5: invalidate");
        assert_eq!(replay.reverse(), Stop::Breakpoint(1));
        assert_eq!(replay.position(), 1);
        assert_eq!(replay.reverse(), Stop::Edge);
        assert_eq!(replay.position(), 0);

        let step = Breakpoint::parse("#4", &program).unwrap_or_else(|error| panic!("{error}"));
        replay.set_breakpoints(vec![step]);
        assert_eq!(replay.resume(), Stop::Breakpoint(0));
        assert_eq!(replay.position(), 3);

        let unknown = Breakpoint::parse("bmup", &program);
        assert!(unknown.is_err_and(|message| message.contains("(bump)")));
    });
}

#[test]
fn scopes_show_the_message_the_document_and_each_view() {
    on_big_stack(|| {
        let (mut replay, _) = replay("counter", 64);
        let ann = principal_from_json(&json!({"agent": "ann", "authority": "acme"}));
        replay.set_viewers(vec![ann]);
        assert_eq!(replay.goto(3), Ok(Stop::Step));
        let scopes = replay.scopes();
        let names: Vec<&str> = scopes.iter().map(|scope| scope.name).collect();
        assert_eq!(names, ["Message", "Transaction", "Document", "Views"]);
        assert_eq!(scopes[1].value["command"]["command"], "invalidate");
        assert_eq!(scopes[2].value["count"], 3);
        assert_eq!(scopes[3].value["ann/acme"]["count"], 3);
        assert_eq!(scopes[3].value["ann/acme"]["doubled"], 6);

        assert_eq!(replay.goto(2), Ok(Stop::Step));
        let scopes = replay.scopes();
        assert_eq!(scopes[0].value, json!({"by": 3}));
    });
}

#[test]
fn a_changed_program_stops_at_the_divergence_with_both_deltas() {
    on_big_stack(|| {
        let (_, records, _) = recorded("counter");
        let source = example_source("counter").replace("count += b.by;", "count += b.by * 2;");
        let mut replay = Replay::new(compile("changed.a", &source), records, 64)
            .unwrap_or_else(|error| panic!("{error}"));
        let Stop::Divergence(divergence) = replay.resume() else {
            panic!("no divergence");
        };
        assert_eq!(divergence.step, 2);
        assert_eq!(divergence.recorded["count"], 3);
        assert_eq!(
            divergence
                .replayed
                .as_ref()
                .map(|redo| redo["count"].clone()),
            Ok(json!(6))
        );
        // The recorded history wins: the document shows what the log says, and the steps after
        // the divergence are checked from there.
        assert_eq!(replay.document()["count"], 3);
        let scopes = replay.scopes();
        let shown = scopes
            .iter()
            .find(|scope| scope.name == "Divergence")
            .unwrap_or_else(|| panic!("no Divergence scope"));
        assert_eq!(shown.value["step"], 3);
        assert_eq!(shown.value["replayed"]["count"], 6);
        // The invalidation adds one to the recorded count, as it did when recorded.
        assert_eq!(replay.resume(), Stop::Edge);
        assert!(replay.divergence().is_none());
    });
}

#[test]
fn a_log_of_another_program_is_refused_with_the_fields_it_writes() {
    on_big_stack(|| {
        let (_, records, _) = recorded("counter");
        let chat = compile("chat.a", &example_source("chat"));
        let refused = Replay::new(chat, records, 64);
        assert!(refused.is_err_and(|message| message.contains("line 3")
            && message.contains("`count`, `ticks`")
            && message.contains("does not belong to this program")));
    });
}

#[test]
fn stepping_back_and_forth_reproduces_at_every_step() {
    // Stepping back moves the live document by the undo; stepping forward again must give the
    // recorded redo.
    on_big_stack(|| {
        for name in ["counter", "chat", "cards", "tictactoe"] {
            let (mut replay, _) = replay(name, 64);
            while replay.step_forward() == Stop::Step {
                assert_eq!(replay.step_back(), Stop::Step);
                assert_eq!(
                    replay.step_forward(),
                    Stop::Step,
                    "{name}: {}",
                    replay.label()
                );
            }
            for _ in 0..replay.len() {
                assert_eq!(replay.step_back(), Stop::Step);
            }
            while replay.position() < replay.len() {
                assert_eq!(
                    replay.step_forward(),
                    Stop::Step,
                    "{name}: {}",
                    replay.label()
                );
            }
        }
    });
}

#[test]
fn the_statement_lines_of_a_program_are_where_its_code_is() {
    on_big_stack(|| {
        let (mut replay, _) = replay("counter", 64);
        replay.set_source(Arc::from(example_source("counter")));
        assert_eq!(
            replay.statement_lines(),
            [4, 9, 21, 25, 29, 30, 31, 35, 36, 37, 38, 39, 40, 41]
        );
    });
}

#[test]
fn a_log_with_a_password_change_replays_and_stops_at_a_password_breakpoint() {
    on_big_stack(|| {
        let program = compile(
            "locker.a",
            r#"
@connected { return true; }
record User { public int id; public string name; private string secret; }
table<User> _users;
public int changes;
message Add { string name; string secret; }
channel add(Add a) { _users <- {name: a.name, secret: a.secret}; }
@password (pw) {
  if ((iterate _users where name == @who.agent())[0] as user) { user.secret = pw; }
  changes = changes + 1;
}
"#,
        );
        let admin = json!({"agent": "admin", "authority": "acme"});
        let ann = json!({"agent": "ann", "authority": "doc/space/key"});
        let lines: Vec<String> = [
            json!({"command": "construct", "who": admin, "arg": {}, "timestamp": 0, "entropy": 0}),
            json!({"command": "connect", "who": admin, "timestamp": 1}),
            json!({"command": "send", "who": admin, "channel": "add",
                "message": {"name": "ann", "secret": "one"}, "timestamp": 2}),
            json!({"command": "password", "who": ann, "password": "two", "timestamp": 3}),
        ]
        .iter()
        .map(Json::to_string)
        .collect();
        let (_, records) =
            adama_runtime::run_script_recorded(Arc::clone(&program), "space", "key", &lines)
                .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(records.len(), 4);
        let mut replay = Replay::new(Arc::clone(&program), records.clone(), 64)
            .unwrap_or_else(|error| panic!("{error}"));
        let breakpoint =
            Breakpoint::parse("password", &program).unwrap_or_else(|error| panic!("{error}"));
        replay.set_breakpoints(vec![breakpoint]);
        assert_eq!(replay.resume(), Stop::Breakpoint(0));
        assert_eq!(replay.position(), 3);
        assert!(replay.label().contains("password"), "{}", replay.label());
        // The record holds no new password: the step is applied as recorded, its statements
        // cannot run again, and it never diverges.
        assert!(
            replay.label().contains("secret not logged"),
            "{}",
            replay.label()
        );
        assert!(!records[3].command.to_string().contains("two"));
        let refused = replay
            .trace()
            .expect_err("no statements without the secret");
        assert!(refused.contains("step over it"), "{refused}");
        assert_eq!(replay.step_forward(), Stop::Step);
        assert_eq!(replay.step_forward(), Stop::Edge);
        assert_eq!(replay.step_back(), Stop::Step);
        assert_eq!(replay.step_forward(), Stop::Step);
        assert!(replay.divergence().is_none());
    });
}
