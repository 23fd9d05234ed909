//! A scripted DAP client drives a session over pipes, as an editor would over stdio.

use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use adama_debugger::dap::framing::{read_message, write_message};
use serde_json::{Value as Json, json};

const WAIT: Duration = Duration::from_secs(20);

struct Client {
    to_server: std::io::PipeWriter,
    from_server: Receiver<Json>,
    /// Events that arrived while waiting for a response.
    events: VecDeque<Json>,
    seq: i64,
    server: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Client {
    fn start() -> Client {
        let (server_in, to_server) = std::io::pipe().unwrap_or_else(|error| panic!("{error}"));
        let (from_server_raw, server_out) =
            std::io::pipe().unwrap_or_else(|error| panic!("{error}"));
        let server = std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn(move || {
                let mut input = BufReader::new(server_in);
                let mut output = server_out;
                adama_debugger::dap::serve(&mut input, &mut output)
            })
            .unwrap_or_else(|error| panic!("{error}"));
        let (sender, from_server) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_server_raw);
            while let Ok(Some(message)) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            to_server,
            from_server,
            events: VecDeque::new(),
            seq: 0,
            server: Some(server),
        }
    }

    fn receive(&mut self) -> Json {
        match self.from_server.recv_timeout(WAIT) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("the adapter did not answer in time"),
            Err(RecvTimeoutError::Disconnected) => panic!("the adapter closed its output"),
        }
    }

    /// Sends a request and waits for its response, keeping the events that come first.
    fn request(&mut self, command: &str, arguments: Json) -> Json {
        self.seq += 1;
        let message = json!({"seq": self.seq, "type": "request", "command": command,
            "arguments": arguments});
        write_message(&mut self.to_server, &message).unwrap_or_else(|error| panic!("{error}"));
        loop {
            let message = self.receive();
            if message["type"] == "response" && message["request_seq"] == self.seq {
                assert_eq!(message["command"], command);
                return message;
            }
            self.events.push_back(message);
        }
    }

    /// Sends a request that must succeed and gives its body.
    fn ok(&mut self, command: &str, arguments: Json) -> Json {
        let response = self.request(command, arguments);
        assert_eq!(response["success"], true, "{command}: {response}");
        response["body"].clone()
    }

    /// Sends a request that must fail and gives its message.
    fn fails(&mut self, command: &str, arguments: Json) -> String {
        let response = self.request(command, arguments);
        assert_eq!(response["success"], false, "{command}: {response}");
        response["message"].as_str().unwrap_or("").to_owned()
    }

    /// Waits for the next event of this name, dropping the other events before it.
    fn event(&mut self, name: &str) -> Json {
        loop {
            let message = match self.events.pop_front() {
                Some(message) => message,
                None => self.receive(),
            };
            if message["type"] == "event" && message["event"] == name {
                return message["body"].clone();
            }
        }
    }

    /// Waits for the next stop and gives what the adapter printed before it.
    fn printed_until_stop(&mut self) -> Vec<String> {
        let mut printed = Vec::new();
        loop {
            let message = match self.events.pop_front() {
                Some(message) => message,
                None => self.receive(),
            };
            if message["event"] == "output" {
                printed.push(message["body"]["output"].as_str().unwrap_or("").to_owned());
            }
            if message["event"] == "stopped" {
                self.events.push_front(message);
                return printed;
            }
        }
    }

    /// Waits for the stop after a move and gives its reason and the frame's name.
    fn stopped(&mut self) -> (String, String, Json) {
        let body = self.event("stopped");
        let trace = self.ok("stackTrace", json!({"threadId": 1}));
        let name = trace["stackFrames"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        (body["reason"].as_str().unwrap_or("").to_owned(), name, body)
    }

    /// The variables of a scope, as name -> shown value, with the scope's reference.
    fn scope(&mut self, name: &str) -> (i64, Vec<(String, String, i64)>) {
        let scopes = self.ok("scopes", json!({"frameId": 1}));
        let reference = scopes["scopes"]
            .as_array()
            .and_then(|scopes| scopes.iter().find(|scope| scope["name"] == name))
            .and_then(|scope| scope["variablesReference"].as_i64())
            .unwrap_or_else(|| panic!("no scope {name} in {scopes}"));
        (reference, self.variables(reference))
    }

    fn variables(&mut self, reference: i64) -> Vec<(String, String, i64)> {
        let body = self.ok("variables", json!({"variablesReference": reference}));
        body["variables"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|variable| {
                        (
                            variable["name"].as_str().unwrap_or("").to_owned(),
                            variable["value"].as_str().unwrap_or("").to_owned(),
                            variable["variablesReference"].as_i64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn finish(mut self) {
        self.ok("disconnect", json!({}));
        if let Some(server) = self.server.take() {
            let served = server
                .join()
                .unwrap_or_else(|_| panic!("the adapter panicked"));
            assert!(served.is_ok(), "{served:?}");
        }
    }
}

fn value_of<'a>(variables: &'a [(String, String, i64)], name: &str) -> &'a str {
    variables
        .iter()
        .find(|(named, _, _)| named == name)
        .map(|(_, value, _)| value.as_str())
        .unwrap_or_else(|| panic!("no variable {name} in {variables:?}"))
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join(format!("{name}.a"))
}

/// Records an example's script as `adama run --record` does and writes the log.
fn record(dir: &Path, name: &str) -> PathBuf {
    let program_path = example(name);
    let source = std::fs::read_to_string(&program_path).unwrap_or_else(|error| panic!("{error}"));
    let script = std::fs::read_to_string(program_path.with_extension("jsonl"))
        .unwrap_or_else(|error| panic!("{error}"));
    let lines: Vec<String> = script.lines().map(str::to_owned).collect();
    let log = dir.join(format!("{name}.log"));
    let name = name.to_owned();
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || {
            let program = adama_runtime::compile(&name, &source)
                .unwrap_or_else(|errors| panic!("{errors:?}"));
            let (_, records) =
                adama_runtime::run_script_recorded(Arc::clone(&program), "space", "key", &lines)
                    .unwrap_or_else(|error| panic!("{error}"));
            adama_debugger::log::log_lines(&records).join("\n") + "\n"
        })
        .unwrap_or_else(|error| panic!("{error}"));
    let text = worker
        .join()
        .unwrap_or_else(|_| panic!("recording panicked"));
    std::fs::write(&log, text).unwrap_or_else(|error| panic!("{error}"));
    log
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn a_session_walks_a_recorded_log_forward_back_and_by_jumps() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let mut client = Client::start();

    let capabilities = client.ok("initialize", json!({"adapterID": "adama"}));
    assert_eq!(capabilities["supportsStepBack"], true);
    assert_eq!(capabilities["supportsGotoTargetsRequest"], true);
    assert_eq!(capabilities["supportsConfigurationDoneRequest"], true);
    for refinement in [
        "supportsConditionalBreakpoints",
        "supportsHitConditionalBreakpoints",
        "supportsLogPoints",
        "supportsEvaluateForHovers",
    ] {
        assert_eq!(capabilities[refinement], true, "{refinement}");
    }

    client.ok(
        "launch",
        json!({"program": path(&example("counter")), "log": path(&log), "stopOnEntry": true,
            "viewers": ["ann/acme"]}),
    );
    client.event("initialized");
    let set = client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [{"name": "bump"}, {"name": "bmup"}]}),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    assert_eq!(set["breakpoints"][1]["verified"], false);
    assert!(
        set["breakpoints"][1]["message"]
            .as_str()
            .is_some_and(|message| message.contains("not a channel"))
    );
    client.ok("configurationDone", json!({}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("entry", "step 1/5: construct by ?/?")
    );
    let threads = client.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["id"], 1);

    client.ok("next", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("step", "step 2/5: connect by ann/acme")
    );

    client.ok("continue", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("breakpoint", "step 3/5: send bump by ann/acme")
    );
    let (_, message) = client.scope("Message");
    assert_eq!(value_of(&message, "by"), "3");
    let (document, fields) = client.scope("Document");
    assert_eq!(value_of(&fields, "count"), "0");
    let (_, views) = client.scope("Views");
    let ann = views
        .iter()
        .find(|(name, _, _)| name == "ann/acme")
        .map(|(_, _, reference)| *reference)
        .unwrap_or_else(|| panic!("no view of ann/acme in {views:?}"));
    assert_eq!(value_of(&client.variables(ann), "doubled"), "0");
    let view_field = client.ok(
        "dataBreakpointInfo",
        json!({"variablesReference": ann, "name": "count"}),
    );
    assert_eq!(view_field["dataId"], Json::Null);

    // A data breakpoint on a field of the Document scope stops before the transaction that
    // changes it.
    let info = client.ok(
        "dataBreakpointInfo",
        json!({"variablesReference": document, "name": "ticks"}),
    );
    assert_eq!(info["dataId"], "ticks");
    client.ok(
        "setDataBreakpoints",
        json!({"breakpoints": [{"dataId": "ticks"}]}),
    );

    client.ok("stepBack", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("step", "step 2/5: connect by ann/acme")
    );
    let stale = client.fails("variables", json!({"variablesReference": document}));
    assert!(stale.contains("moved"), "{stale}");

    let targets = client.ok(
        "gotoTargets",
        json!({"source": {"path": path(&log)}, "line": 5}),
    );
    let target = targets["targets"][0]["id"].clone();
    assert_eq!(
        targets["targets"][0]["label"],
        "step 5/5: disconnect by ann/acme"
    );
    client.ok("goto", json!({"threadId": 1, "targetId": target}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "step 5/5: disconnect by ann/acme");
    let (_, fields) = client.scope("Document");
    assert_eq!(value_of(&fields, "count"), "4");
    assert_eq!(value_of(&fields, "ticks"), "1");

    client.ok("reverseContinue", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("breakpoint", "step 4/5: invalidate")
    );
    client.ok("reverseContinue", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "step 3/5: send bump by ann/acme");
    client.ok("continue", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "step 4/5: invalidate");
    client.ok("continue", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "end of the log (5 steps)");

    let unknown = client.fails("readMemory", json!({"memoryReference": "count"}));
    assert!(
        unknown.contains("does not support `readMemory`"),
        "{unknown}"
    );
    client.finish();
}

#[test]
fn a_changed_program_stops_at_the_divergence_and_shows_both_deltas() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let source =
        std::fs::read_to_string(example("counter")).unwrap_or_else(|error| panic!("{error}"));
    let changed = dir.path().join("changed.a");
    std::fs::write(
        &changed,
        source.replace("count += b.by;", "count += b.by * 2;"),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let mut client = Client::start();
    client.ok("initialize", json!({}));
    client.ok(
        "launch",
        json!({"program": path(&changed), "log": path(&log)}),
    );
    client.ok("configurationDone", json!({}));
    let (reason, frame, body) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("exception", "step 4/5: invalidate")
    );
    let text = body["text"].as_str().unwrap_or("");
    assert!(text.contains("step 3 diverges"), "{text}");
    assert!(
        text.contains(r#"recorded redo: {"__seq":4,"__time":"9","count":3}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"replayed redo: {"__seq":4,"__time":"9","count":6}"#),
        "{text}"
    );
    let (_, divergence) = client.scope("Divergence");
    assert_eq!(value_of(&divergence, "step"), "3");
    let replayed = divergence
        .iter()
        .find(|(name, _, _)| name == "replayed")
        .map(|(_, _, reference)| *reference)
        .unwrap_or(0);
    assert_eq!(value_of(&client.variables(replayed), "count"), "6");
    client.finish();
}

#[test]
fn bad_launches_are_explained_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let full = std::fs::read_to_string(&log).unwrap_or_else(|error| panic!("{error}"));
    let truncated = dir.path().join("truncated.log");
    std::fs::write(&truncated, &full[..full.len() - 30]).unwrap_or_else(|error| panic!("{error}"));
    let mut client = Client::start();
    client.ok("initialize", json!({}));

    let before = client.fails("next", json!({"threadId": 1}));
    assert!(
        before.contains("launch with a `program` and a `log`"),
        "{before}"
    );
    let missing = client.fails("launch", json!({"program": path(&example("counter"))}));
    assert!(missing.contains("launch needs `log`"), "{missing}");
    let test = client.fails(
        "launch",
        json!({"program": path(&example("counter")), "test": "bumpin"}),
    );
    assert!(
        test.contains("no test block `bumpin`") && test.contains("bumping"),
        "{test}"
    );
    let cut = client.fails(
        "launch",
        json!({"program": path(&example("counter")), "log": path(&truncated)}),
    );
    assert!(cut.contains("line 5: the log is truncated"), "{cut}");
    let foreign = client.fails(
        "launch",
        json!({"program": path(&example("chat")), "log": path(&log)}),
    );
    assert!(
        foreign.contains("does not belong to this program"),
        "{foreign}"
    );
    assert!(foreign.contains("`count`, `ticks`"), "{foreign}");
    let absent = client.fails(
        "launch",
        json!({"program": path(&dir.path().join("absent.a")), "log": path(&log)}),
    );
    assert!(absent.contains("cannot read the program"), "{absent}");
    // Bytes that are not JSON are reported and skipped.
    client
        .to_server
        .write_all(b"Content-Length: 5\r\n\r\n{nope")
        .unwrap_or_else(|error| panic!("{error}"));
    let output = client.event("output");
    assert!(
        output["output"]
            .as_str()
            .is_some_and(|text| text.contains("not JSON"))
    );

    client.ok(
        "launch",
        json!({"program": path(&example("counter")), "log": path(&log), "stopOnEntry": true}),
    );
    client.ok("configurationDone", json!({}));
    let (reason, _, _) = client.stopped();
    assert_eq!(reason, "entry");
    client.finish();
}

#[test]
fn stepping_into_a_transaction_walks_its_statements_and_stops_at_line_breakpoints() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let program = path(&example("counter"));
    let mut client = Client::start();
    client.ok("initialize", json!({}));
    client.ok(
        "launch",
        json!({"program": program, "log": path(&log), "stopOnEntry": true}),
    );
    client.event("initialized");
    // Line 21 is `count += b.by;` in the channel; line 12 declares a field, which runs no code.
    let set = client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [{"line": 21}, {"line": 12}]}),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    assert_eq!(set["breakpoints"][1]["verified"], false);
    assert!(
        set["breakpoints"][1]["message"]
            .as_str()
            .is_some_and(|message| message.contains("no statement starts on line 12"))
    );
    client.ok("configurationDone", json!({}));
    client.stopped();

    client.ok("continue", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("breakpoint", "channel bump(Bump b)")
    );
    let trace = client.ok("stackTrace", json!({"threadId": 1}));
    assert_eq!(trace["stackFrames"][0]["line"], 21);
    assert_eq!(
        trace["stackFrames"][1]["name"],
        "step 3/5: send bump by ann/acme"
    );
    // The document is still the one before the transaction.
    let (_, fields) = client.scope("Document");
    assert_eq!(value_of(&fields, "count"), "0");

    // The channel has one statement: the next step leaves the code, running the transaction.
    client.ok("next", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("step", "step 4/5: invalidate")
    );

    client.ok("stepIn", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "#tick");
    let line = |client: &mut Client| {
        client.ok("stackTrace", json!({"threadId": 1}))["stackFrames"][0]["line"].clone()
    };
    assert_eq!(line(&mut client), 29);
    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(line(&mut client), 30);
    client.ok("stepBack", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(line(&mut client), 29);
    client.ok("stepOut", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "step 5/5: disconnect by ann/acme");
    let (_, fields) = client.scope("Document");
    assert_eq!(value_of(&fields, "ticks"), "1");

    // Continuing with the breakpoint set and no more bumps ahead runs to the end.
    client.ok("continue", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "end of the log (5 steps)");
    client.finish();
}

/// Launches the counter's recorded log, stopped on entry, with these function breakpoints.
fn launch_counter(client: &mut Client, log: &Path, breakpoints: Json) -> Json {
    client.ok("initialize", json!({"adapterID": "adama"}));
    client.ok(
        "launch",
        json!({"program": path(&example("counter")), "log": path(log), "stopOnEntry": true}),
    );
    client.event("initialized");
    let set = client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": breakpoints}),
    );
    client.ok("configurationDone", json!({}));
    client.stopped();
    set
}

fn evaluate(client: &mut Client, expression: &str) -> Json {
    client.ok(
        "evaluate",
        json!({"expression": expression, "frameId": 1, "context": "watch"}),
    )
}

#[test]
fn evaluate_computes_adama_expressions_on_the_document_and_explains_type_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let mut client = Client::start();
    launch_counter(&mut client, &log, json!([]));

    // Before the invalidate (step 4) the bump has added 3.
    client.ok("goto", json!({"threadId": 1, "targetId": 4}));
    client.stopped();
    let sum = evaluate(&mut client, "count * 10 + ticks");
    assert_eq!(sum["result"], "30");
    assert_eq!(sum["type"], "int");
    assert_eq!(evaluate(&mut client, "doubled")["result"], "6");
    assert_eq!(
        evaluate(&mut client, "count > 2 && ticks == 0")["result"],
        "true"
    );

    let misspelt = client.fails(
        "evaluate",
        json!({"expression": "cuont + 1", "context": "repl"}),
    );
    assert!(
        misspelt.contains("does not type-check") && misspelt.contains("cuont"),
        "{misspelt}"
    );
    let mistyped = client.fails("evaluate", json!({"expression": "count + \"x\" - 1"}));
    assert!(mistyped.contains("does not type-check"), "{mistyped}");
    let two = client.fails("evaluate", json!({"expression": "1; int x = 2"}));
    assert!(two.contains("one expression"), "{two}");

    // The session goes on, and the value follows the position.
    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(evaluate(&mut client, "count * 10 + ticks")["result"], "41");

    // Inside the code, expressions see the document the transaction starts from.
    client.ok("goto", json!({"threadId": 1, "targetId": 3}));
    client.stopped();
    client.ok("stepIn", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(evaluate(&mut client, "count")["result"], "0");
    client.finish();
}

#[test]
fn conditions_hit_counts_and_logpoints_decide_where_transaction_breakpoints_stop() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let mut client = Client::start();
    let set = launch_counter(
        &mut client,
        &log,
        json!([
            {"name": "field:count", "condition": "count > 0"},
            {"name": "connect", "logMessage": "connect with count {count}, doubled {doubled}"},
            {"name": "bump", "condition": "count +"},
            {"name": "bump", "condition": "count"},
            {"name": "bump", "hitCondition": "twice"},
        ]),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    assert_eq!(set["breakpoints"][1]["verified"], true);
    for (index, hint) in [
        (2, "does not type-check"),
        (3, "not a bool"),
        (4, "hit count"),
    ] {
        assert_eq!(set["breakpoints"][index]["verified"], false, "{set}");
        let message = set["breakpoints"][index]["message"].as_str().unwrap_or("");
        assert!(message.contains(hint), "{message}");
    }

    // The send changes count from 0 (condition false); the invalidate from 3 (true). The
    // logpoint on the connect prints and runs on.
    client.ok("continue", json!({"threadId": 1}));
    let printed = client.printed_until_stop();
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("breakpoint", "step 4/5: invalidate")
    );
    assert!(
        printed.contains(&"connect with count 0, doubled 0\n".to_owned()),
        "{printed:?}"
    );

    // A hit count: the second transaction that changes count.
    client.ok("goto", json!({"threadId": 1, "targetId": 1}));
    client.stopped();
    client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [{"name": "field:count", "hitCondition": "== 2"}]}),
    );
    client.ok("continue", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "step 4/5: invalidate");
    client.finish();
}

#[test]
fn line_breakpoints_take_conditions_hit_counts_and_log_messages() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let program = path(&example("counter"));
    let mut client = Client::start();
    launch_counter(&mut client, &log, json!([]));
    // Line 21 is the bump's `count += b.by;`, line 30 the tick's `count++;`. Conditions see
    // the document as the statement does: line 29's `ticks++` has run.
    let set = client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": 21, "logMessage": "bumping by {b.by} from {count}"},
            {"line": 30, "condition": "ticks == 1 && count == 3"},
            {"line": 29, "condition": "nope"},
        ]}),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    assert_eq!(set["breakpoints"][1]["verified"], true);
    assert_eq!(set["breakpoints"][2]["verified"], false);
    client.ok("continue", json!({"threadId": 1}));
    let printed = client.printed_until_stop();
    let (reason, frame, _) = client.stopped();
    assert_eq!((reason.as_str(), frame.as_str()), ("breakpoint", "#tick"));
    let trace = client.ok("stackTrace", json!({"threadId": 1}));
    assert_eq!(trace["stackFrames"][0]["line"], 30);
    assert_eq!(trace["stackFrames"][1]["name"], "step 4/5: invalidate");
    assert!(
        printed.contains(&"bumping by 3 from 0\n".to_owned()),
        "{printed:?}"
    );

    // A condition that is false never stops; a hit count lets the first hits pass.
    client.ok("goto", json!({"threadId": 1, "targetId": 1}));
    client.stopped();
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": 21, "condition": "count > 100"},
            {"line": 31, "hitCondition": "2"},
        ]}),
    );
    client.ok("continue", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("step", "end of the log (5 steps)")
    );
    client.finish();
}

#[test]
fn inside_the_code_locals_are_shown_and_evaluated_and_the_document_follows_the_statements() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record(dir.path(), "counter");
    let mut client = Client::start();
    launch_counter(&mut client, &log, json!([]));
    client.ok("goto", json!({"threadId": 1, "targetId": 3}));
    client.stopped();
    client.ok("stepIn", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "channel bump(Bump b)");
    let (reference, locals) = client.scope("Locals");
    assert!(reference > 0);
    let b = locals
        .iter()
        .find(|(name, _, _)| name == "b")
        .map(|(_, _, reference)| *reference)
        .unwrap_or_else(|| panic!("no local b in {locals:?}"));
    assert_eq!(value_of(&client.variables(b), "by"), "3");
    let by = evaluate(&mut client, "b.by");
    assert_eq!(by["result"], "3");
    let whole = evaluate(&mut client, "b");
    assert_eq!(whole["type"], "Bump");
    assert!(
        whole["variablesReference"].as_i64().unwrap_or(0) > 0,
        "{whole}"
    );
    client.finish();
}

#[test]
fn a_test_launch_steps_through_the_test_block_and_reports_its_result() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let program = dir.path().join("scores.a");
    std::fs::write(
        &program,
        "public int score;\n\
         message Add {\n  int points;\n}\n\
         channel add(Add a) {\n  int before = score;\n  score = before + a.points;\n}\n\
         test adding {\n  @send add(@no_one, {points: 4});\n  int seen = score;\n  assert seen == 4;\n  assert score == 5;\n}\n",
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let mut client = Client::start();
    client.ok("initialize", json!({"adapterID": "adama"}));
    let missing = client.fails("launch", json!({"program": path(&program), "test": "adds"}));
    assert!(
        missing.contains("no test block `adds`") && missing.contains("adding"),
        "{missing}"
    );
    client.ok(
        "launch",
        json!({"program": path(&program), "test": "adding", "stopOnEntry": true,
            "viewers": ["ann/acme"]}),
    );
    client.event("initialized");
    // Line 7 is the handler's `score = before + a.points;`.
    let set = client.ok(
        "setBreakpoints",
        json!({"source": {"path": path(&program)}, "breakpoints": [
            {"line": 7, "condition": "before == 0"}]}),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true);
    client.ok("configurationDone", json!({}));
    let (reason, frame, _) = client.stopped();
    assert_eq!((reason.as_str(), frame.as_str()), ("entry", "test adding"));
    let trace = client.ok("stackTrace", json!({"threadId": 1}));
    assert_eq!(trace["stackFrames"][0]["line"], 10);

    // Into the handler the test sends to, with the test's statement as the caller.
    client.ok("continue", json!({"threadId": 1}));
    let (reason, frame, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), frame.as_str()),
        ("breakpoint", "channel add(Add a)")
    );
    let trace = client.ok("stackTrace", json!({"threadId": 1}));
    assert_eq!(trace["stackFrames"][0]["line"], 7);
    assert_eq!(trace["stackFrames"][1]["name"], "test adding");
    assert_eq!(trace["stackFrames"][1]["line"], 10);
    let (_, locals) = client.scope("Locals");
    assert_eq!(value_of(&locals, "before"), "0");
    assert_eq!(evaluate(&mut client, "before + score + 4")["result"], "4");
    let (_, views) = client.scope("Views");
    assert_eq!(views[0].0, "ann/acme");
    assert_eq!(value_of(&client.variables(views[0].2), "score"), "0");
    // A message local inside a larger expression, typed by the compiler.
    let message_local = evaluate(&mut client, "a.points + 1");
    assert_eq!(
        (&message_local["result"], &message_local["type"]),
        (&json!("5"), &json!("int"))
    );
    let wrong = client.fails("evaluate", json!({"expression": "score - \"s\""}));
    assert!(wrong.contains("does not type-check"), "{wrong}");

    // Statement by statement: the document follows the code.
    client.ok("next", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "test adding");
    let (_, document) = client.scope("Document");
    assert_eq!(value_of(&document, "score"), "4");
    client.ok("stepBack", json!({"threadId": 1}));
    let (_, frame, _) = client.stopped();
    assert_eq!(frame, "channel add(Add a)");
    let (_, document) = client.scope("Document");
    assert_eq!(value_of(&document, "score"), "0");

    // The end reports the failing assertion as a failing test.
    client.ok("continue", json!({"threadId": 1}));
    let mut printed = Vec::new();
    loop {
        let message = match client.events.pop_front() {
            Some(message) => message,
            None => client.receive(),
        };
        if message["event"] == "output" {
            printed.push(message["body"].clone());
        }
        if message["event"] == "terminated" {
            break;
        }
    }
    assert!(
        printed.iter().any(|body| body["category"] == "stderr"
            && body["output"].as_str().is_some_and(
                |text| text.contains("test adding: FAILED (1 of 2 assertions passed)")
            )),
        "{printed:?}"
    );
    client.finish();
}

fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name)
}

/// Records `tests/programs/NAME.a` running `NAME.jsonl` and writes the log.
fn record_program(dir: &Path, name: &str) -> PathBuf {
    let source = std::fs::read_to_string(program(&format!("{name}.a")))
        .unwrap_or_else(|error| panic!("{error}"));
    let script = std::fs::read_to_string(program(&format!("{name}.jsonl")))
        .unwrap_or_else(|error| panic!("{error}"));
    let lines: Vec<String> = script.lines().map(str::to_owned).collect();
    let log = dir.join(format!("{name}.log"));
    let name = name.to_owned();
    let text = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || {
            let program = adama_runtime::compile(&name, &source)
                .unwrap_or_else(|errors| panic!("{errors:?}"));
            let (_, records) = adama_runtime::run_script_recorded(program, "space", "key", &lines)
                .unwrap_or_else(|error| panic!("{error}"));
            adama_debugger::log::log_lines(&records).join("\n") + "\n"
        })
        .unwrap_or_else(|error| panic!("{error}"))
        .join()
        .unwrap_or_else(|_| panic!("recording panicked"));
    std::fs::write(&log, text).unwrap_or_else(|error| panic!("{error}"));
    log
}

/// The stack at the stop, top first, as (name, line).
fn frames(client: &mut Client) -> Vec<(String, i64)> {
    let trace = client.ok("stackTrace", json!({"threadId": 1}));
    trace["stackFrames"]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .map(|frame| {
                    (
                        frame["name"].as_str().unwrap_or("").to_owned(),
                        frame["line"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The variables of a scope of frame `frame_id`.
fn frame_scope(client: &mut Client, frame_id: i64, name: &str) -> Vec<(String, String, i64)> {
    let scopes = client.ok("scopes", json!({"frameId": frame_id}));
    let reference = scopes["scopes"]
        .as_array()
        .and_then(|scopes| scopes.iter().find(|scope| scope["name"] == name))
        .and_then(|scope| scope["variablesReference"].as_i64())
        .unwrap_or_else(|| panic!("no scope {name} in {scopes}"));
    client.variables(reference)
}

fn evaluate_in(client: &mut Client, frame_id: i64, expression: &str) -> Json {
    client.ok(
        "evaluate",
        json!({"expression": expression, "frameId": frame_id, "context": "watch"}),
    )
}

fn frame(name: &str, line: i64) -> (String, i64) {
    (name.to_owned(), line)
}

const JOIN: &str = "channel join(Join j)";
const DOUBLED: &str = "function doubled(int x) -> int";
const REWARD: &str = "procedure reward(int bonus)";
const AWARD: &str = "method award(int bonus)";
const STEP: &str = "step 3/4: send join by ann/acme";

/// Launches the league's log stopped before step 3 (ann joins with a bonus of 3), with these
/// line breakpoints and ann's view.
fn launch_league(client: &mut Client, log: &Path, lines: Json) {
    let source = path(&program("league.a"));
    client.ok("initialize", json!({"adapterID": "adama"}));
    client.ok(
        "launch",
        json!({"program": source, "log": path(log), "stopOnEntry": true,
            "viewers": ["ann/acme"]}),
    );
    client.event("initialized");
    let set = client.ok(
        "setBreakpoints",
        json!({"source": {"path": source}, "breakpoints": lines}),
    );
    for breakpoint in set["breakpoints"].as_array().into_iter().flatten() {
        assert_eq!(breakpoint["verified"], true, "{set}");
    }
    client.ok("configurationDone", json!({}));
    client.stopped();
    client.ok("goto", json!({"threadId": 1, "targetId": 3}));
    client.stopped();
}

#[test]
fn the_stack_shows_one_frame_per_call_and_steps_move_at_the_right_depth() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record_program(dir.path(), "league");
    let mut client = Client::start();
    launch_league(&mut client, &log, json!([]));

    client.ok("stepIn", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client), [frame(JOIN, 49), frame(STEP, 0)]);

    // Into the function: its own frame above the handler's, each with its own locals.
    client.ok("stepIn", json!({"threadId": 1}));
    let (reason, name, _) = client.stopped();
    assert_eq!((reason.as_str(), name.as_str()), ("step", DOUBLED));
    assert_eq!(
        frames(&mut client),
        [frame(DOUBLED, 38), frame(JOIN, 49), frame(STEP, 0)]
    );
    let function_locals = frame_scope(&mut client, 1, "Locals");
    assert_eq!(value_of(&function_locals, "x"), "3");
    assert!(!function_locals.iter().any(|(name, _, _)| name == "j"));
    let handler_locals = frame_scope(&mut client, 2, "Locals");
    assert!(handler_locals.iter().any(|(name, _, _)| name == "j"));
    assert!(!handler_locals.iter().any(|(name, _, _)| name == "x"));
    assert_eq!(evaluate_in(&mut client, 1, "x * 10")["result"], "30");
    assert_eq!(evaluate_in(&mut client, 2, "j.bonus * 10")["result"], "30");

    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client)[0], frame(DOUBLED, 39));
    assert_eq!(
        value_of(&frame_scope(&mut client, 1, "Locals"), "twice"),
        "6"
    );

    // Out of the function, back in the handler's frame at its next statement.
    client.ok("stepOut", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client), [frame(JOIN, 50), frame(STEP, 0)]);
    assert_eq!(
        value_of(&frame_scope(&mut client, 1, "Locals"), "base"),
        "6"
    );

    // Over a call that runs a procedure and a method: the handler's next statement.
    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client)[0], frame(JOIN, 51));
    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client), [frame(JOIN, 52), frame(STEP, 0)]);
    let (_, document) = client.scope("Document");
    let players = document
        .iter()
        .find(|(name, _, _)| name == "_players")
        .map(|(_, _, reference)| *reference)
        .unwrap_or_else(|| panic!("no _players in {document:?}"));
    let rows = client.variables(players);
    let ann = client.variables(rows[0].2);
    assert_eq!(value_of(&ann, "points"), "12", "the method ran");

    // Into a formula the statement reads, and the function the formula calls.
    client.ok("stepIn", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(
        frames(&mut client),
        [
            frame(DOUBLED, 38),
            frame("formula bonus_of_score", 15),
            frame(JOIN, 52),
            frame(STEP, 0)
        ]
    );
    assert_eq!(value_of(&frame_scope(&mut client, 1, "Locals"), "x"), "0");
    assert!(frame_scope(&mut client, 2, "Locals").is_empty());

    // Out of the function and the formula: no statement of the handler is left, so the
    // transaction runs to its end.
    client.ok("stepOut", json!({"threadId": 1}));
    let (_, name, _) = client.stopped();
    assert_eq!(name, "step 4/4: send join by ann/acme");
    client.finish();
}

#[test]
fn a_breakpoint_in_a_method_shows_each_callers_frame_locals_and_views() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record_program(dir.path(), "league");
    let mut client = Client::start();
    // Line 25 is the method's `points += gained;`.
    launch_league(&mut client, &log, json!([{"line": 25}]));

    // Outside the code, ann's view is the document before the transaction: no players.
    let (_, views) = client.scope("Views");
    let ann = client.variables(views[0].2);
    assert_eq!(value_of(&ann, "score"), "0");
    assert!(
        ann.iter()
            .all(|(name, value, _)| name != "players" || value == "[]"),
        "{ann:?}"
    );

    client.ok("continue", json!({"threadId": 1}));
    let (reason, name, _) = client.stopped();
    assert_eq!((reason.as_str(), name.as_str()), ("breakpoint", AWARD));
    assert_eq!(
        frames(&mut client),
        [
            frame(AWARD, 25),
            frame(REWARD, 44),
            frame(JOIN, 51),
            frame(STEP, 0)
        ]
    );
    let method = frame_scope(&mut client, 1, "Locals");
    assert_eq!(value_of(&method, "bonus"), "6");
    assert_eq!(value_of(&method, "gained"), "12");
    let procedure = frame_scope(&mut client, 2, "Locals");
    assert_eq!(value_of(&procedure, "bonus"), "6");
    assert!(procedure.iter().any(|(name, _, _)| name == "p"));

    // A record local and a message local inside larger expressions, typed by the compiler.
    let doubled = evaluate_in(&mut client, 2, "p.points * 2 + bonus");
    assert_eq!(
        (&doubled["result"], &doubled["type"]),
        (&json!("6"), &json!("int"))
    );
    let named = evaluate_in(&mut client, 2, "p.name + \"!\"");
    assert_eq!(
        (&named["result"], &named["type"]),
        (&json!("\"ann!\""), &json!("string"))
    );
    let message = evaluate_in(&mut client, 3, "j.bonus * base");
    assert_eq!(message["result"], "18");
    assert_eq!(
        evaluate_in(&mut client, 3, "j.name + \"!\"")["result"],
        "\"ann!\""
    );

    // Expressions that do not type-check in a frame are explained; the session goes on.
    for (frame_id, expression, hint) in [
        (2, "p.nope + 1", "nope"),
        (2, "p.name - 1", "does not type-check"),
        (1, "gained + j.bonus", "'j' was not defined"),
        (3, "j.bonus + \"x\" - gained", "does not type-check"),
    ] {
        let message = client.fails(
            "evaluate",
            json!({"expression": expression, "frameId": frame_id, "context": "repl"}),
        );
        assert!(
            message.contains("does not type-check") && message.contains(hint),
            "{expression}: {message}"
        );
    }

    // Inside the code, ann's view is of the document as the statement sees it: the row the
    // handler inserted, before the method adds its points; the private field stays hidden.
    let views = frame_scope(&mut client, 1, "Views");
    let ann = client.variables(views[0].2);
    let players = ann
        .iter()
        .find(|(name, _, _)| name == "players")
        .map(|(_, _, reference)| *reference)
        .unwrap_or_else(|| panic!("no players in {ann:?}"));
    // A list in a view delta: rows by id, and their order.
    let rows = client.variables(players);
    assert_eq!(value_of(&rows, "@o"), "[1 items]", "{rows:?}");
    let row = client.variables(rows[0].2);
    assert_eq!(value_of(&row, "name"), "\"ann\"");
    assert_eq!(value_of(&row, "points"), "0");
    assert!(!row.iter().any(|(name, _, _)| name == "secret"), "{row:?}");

    // Over the rest of the method: back in the handler, where the procedure returned to.
    client.ok("next", json!({"threadId": 1}));
    client.stopped();
    assert_eq!(frames(&mut client), [frame(JOIN, 52), frame(STEP, 0)]);
    client.finish();
}

#[test]
fn locals_of_list_map_and_anonymous_message_types_are_usable_in_any_expression() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = record_program(dir.path(), "tally");
    let source = path(&program("tally.a"));
    let mut client = Client::start();
    client.ok("initialize", json!({"adapterID": "adama"}));
    client.ok(
        "launch",
        json!({"program": source, "log": path(&log), "stopOnEntry": true}),
    );
    client.event("initialized");
    // Line 35 is the handler's last statement, where every local is bound; the condition on a
    // list local passes over ann's entry and stops at bo's, the second.
    let set = client.ok(
        "setBreakpoints",
        json!({"source": {"path": source},
            "breakpoints": [{"line": 35, "condition": "xs.size() > 1 && m.size() == 1"}]}),
    );
    assert_eq!(set["breakpoints"][0]["verified"], true, "{set}");
    client.ok("configurationDone", json!({}));
    client.stopped();
    client.ok("goto", json!({"threadId": 1, "targetId": 3}));
    client.stopped();
    client.ok("continue", json!({"threadId": 1}));
    let (reason, name, _) = client.stopped();
    assert_eq!(
        (reason.as_str(), name.as_str()),
        ("breakpoint", "channel add(Add a)")
    );

    // Each kind of local inside a larger expression, with the value it has at the statement
    // and the type the compiler gives the whole.
    for (expression, result, ty) in [
        ("xs.size() + 1", "3", "int"),
        ("xs[1]", "5", "maybe<int>"),
        ("m[\"bo\"]", "15", "maybe<int>"),
        ("m.size() * 2 + xs.size()", "4", "int"),
        ("summary.count * 10 + a.points", "25", "int"),
        ("summary.name + \"!\"", "\"bo!\"", "string"),
        (
            "m.has(summary.name) && xs.size() == summary.count",
            "true",
            "bool",
        ),
    ] {
        let evaluated = evaluate_in(&mut client, 1, expression);
        assert_eq!(
            (&evaluated["result"], &evaluated["type"]),
            (&json!(result), &json!(ty)),
            "{expression}: {evaluated}"
        );
    }

    // A local that does not fit the expression gets the compiler's message; the session goes
    // on, and the next expression is computed.
    let message = client.fails(
        "evaluate",
        json!({"expression": "xs.size() + summary.name - 1", "frameId": 1, "context": "repl"}),
    );
    assert!(message.contains("does not type-check"), "{message}");
    let message = client.fails(
        "evaluate",
        json!({"expression": "summary.nope + 1", "frameId": 1, "context": "repl"}),
    );
    assert!(
        message.contains("does not type-check") && message.contains("nope"),
        "{message}"
    );
    assert_eq!(evaluate_in(&mut client, 1, "xs.size()")["result"], "2");
    client.finish();
}
