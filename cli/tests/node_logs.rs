//! Logs written by the node: a node runs in process, a client joins a document, the log is
//! exported by `adama log export`, and `adama replay` and a debug session (`adama dap`) walk
//! it: the program that wrote it reproduces every step, a changed one diverges where the
//! change first shows.

#[path = "../../node/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use adama_debugger::dap::framing::{read_message, write_message};
use serde_json::{Value as Json, json};
use support::{Client, config, run, space};

fn adama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adama"))
}

fn league() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../debugger/tests/programs/league.a")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Runs a node with the league, lets ann and bo join document `cup`, stops the node and
/// exports the document's log as `adama log export` prints it.
fn node_log(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let source = read(&league());
    run(async {
        let node = adama_node::start(config(&data, vec![space("league", &source)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        let created = client.create_document(1, "league", "cup").await;
        assert!(created.get("failure").is_none(), "{created}");
        client.open(2, "anonymous:ann", "league", "cup").await;
        for (id, name, bonus) in [(10, "ann", 3), (11, "bo", 1)] {
            client
                .request(
                    json!({"method": "connection/send", "id": id, "connection": 2,
                    "channel": "join", "message": {"name": name, "bonus": bonus}}),
                )
                .await;
            let reply = client.reply(id).await;
            assert!(reply.get("failure").is_none(), "{reply}");
        }
        node.task.abort();
    });
    let output = adama()
        .args([
            "log", "export", "--space", "league", "--key", "cup", "--data",
        ])
        .arg(&data)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let log = dir.join("cup.log");
    std::fs::write(&log, &output.stdout).unwrap_or_else(|error| panic!("{error}"));
    log
}

/// The 1-based steps of the log whose command is a `join` send.
fn join_steps(log: &Path) -> Vec<usize> {
    read(log)
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let record: Json = serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}"));
            record["command"]["command"] == "send" && record["command"]["channel"] == "join"
        })
        .map(|(index, _)| index + 1)
        .collect()
}

/// `adama dap` over its standard input and output.
struct Dap {
    child: Child,
    input: ChildStdin,
    output: BufReader<std::process::ChildStdout>,
    seq: i64,
    events: Vec<Json>,
}

impl Dap {
    fn start() -> Dap {
        let mut child = adama()
            .arg("dap")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("{error}"));
        let input = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let output = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        Dap {
            child,
            input,
            output,
            seq: 0,
            events: Vec::new(),
        }
    }

    fn receive(&mut self) -> Json {
        read_message(&mut self.output)
            .unwrap_or_else(|error| panic!("{error}"))
            .unwrap_or_else(|| panic!("the adapter closed its output"))
    }

    fn request(&mut self, command: &str, arguments: Json) -> Json {
        self.seq += 1;
        let message = json!({"seq": self.seq, "type": "request", "command": command,
            "arguments": arguments});
        write_message(&mut self.input, &message).unwrap_or_else(|error| panic!("{error}"));
        self.input.flush().unwrap_or_else(|error| panic!("{error}"));
        loop {
            let message = self.receive();
            if message["type"] == "response" && message["request_seq"] == self.seq {
                return message;
            }
            self.events.push(message);
        }
    }

    fn ok(&mut self, command: &str, arguments: Json) -> Json {
        let response = self.request(command, arguments);
        assert_eq!(response["success"], true, "{command}: {response}");
        response["body"].clone()
    }

    /// The next `stopped` event's body, with the name of the top frame.
    fn stopped(&mut self) -> (Json, String) {
        let body = loop {
            let message = match self.events.is_empty() {
                true => self.receive(),
                false => self.events.remove(0),
            };
            if message["event"] == "stopped" {
                break message["body"].clone();
            }
        };
        let trace = self.ok("stackTrace", json!({"threadId": 1}));
        let name = trace["stackFrames"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        (body, name)
    }

    fn frames(&mut self) -> Vec<(String, i64)> {
        let trace = self.ok("stackTrace", json!({"threadId": 1}));
        trace["stackFrames"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|frame| {
                (
                    frame["name"].as_str().unwrap_or("").to_owned(),
                    frame["line"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    }

    fn launch(&mut self, program: &Path, log: &Path, breakpoints: Json) {
        self.ok("initialize", json!({"adapterID": "adama"}));
        self.ok(
            "launch",
            json!({"program": program.display().to_string(),
                "log": log.display().to_string(), "stopOnEntry": true}),
        );
        let set = self.ok(
            "setBreakpoints",
            json!({"source": {"path": program.display().to_string()},
                "breakpoints": breakpoints}),
        );
        for breakpoint in set["breakpoints"].as_array().into_iter().flatten() {
            assert_eq!(breakpoint["verified"], true, "{set}");
        }
        self.ok("configurationDone", json!({}));
        self.stopped();
    }

    fn finish(mut self) {
        self.ok("disconnect", json!({}));
        drop(self.input);
        let status = self.child.wait().unwrap_or_else(|error| panic!("{error}"));
        assert!(status.success(), "{status}");
        let mut rest = String::new();
        while self.output.read_line(&mut rest).unwrap_or(0) > 0 {}
    }
}

#[test]
fn a_node_log_replays_without_divergence_in_adama_replay_and_a_debug_session() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = node_log(dir.path());
    let joins = join_steps(&log);
    assert_eq!(joins.len(), 2, "{}", read(&log));
    let steps = read(&log).lines().count();

    let output = adama()
        .arg("replay")
        .arg(league())
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("transactions reproduce"),
        "{output:?}"
    );

    // A breakpoint in the method the first join reaches through a procedure.
    let mut dap = Dap::start();
    dap.launch(&league(), &log, json!([{"line": 25}]));
    dap.ok("continue", json!({"threadId": 1}));
    let (body, name) = dap.stopped();
    assert_eq!(
        (body["reason"].as_str(), name.as_str()),
        (Some("breakpoint"), "method award(int bonus)")
    );
    let frames = dap.frames();
    let names: Vec<&str> = frames.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "method award(int bonus)",
            "procedure reward(int bonus)",
            "channel join(Join j)"
        ]
    );
    assert!(
        names[3].starts_with(&format!("step {}/{steps}: send join", joins[0])),
        "{names:?}"
    );
    let gained = dap.ok(
        "evaluate",
        json!({"expression": "gained + 1", "frameId": 1}),
    );
    assert_eq!(gained["result"], "13");

    // Back a step and forward again, then on to the end: every step reproduces.
    dap.ok("stepBack", json!({"threadId": 1}));
    dap.stopped();
    dap.ok(
        "setBreakpoints",
        json!({"source": {"path": league().display().to_string()},
        "breakpoints": []}),
    );
    dap.ok("continue", json!({"threadId": 1}));
    let (body, name) = dap.stopped();
    assert_ne!(body["reason"], "exception", "{body}");
    assert_eq!(name, format!("end of the log ({steps} steps)"));
    dap.finish();
}

#[test]
fn a_changed_program_diverges_from_a_node_log_at_the_first_step_it_changes() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let log = node_log(dir.path());
    let joins = join_steps(&log);
    let steps = read(&log).lines().count();
    let source = read(&league());
    assert!(source.contains("int gained = bonus * 2;"));
    let changed = dir.path().join("changed.a");
    std::fs::write(
        &changed,
        source.replace("int gained = bonus * 2;", "int gained = bonus * 3;"),
    )
    .unwrap_or_else(|error| panic!("{error}"));

    let output = adama()
        .arg("replay")
        .arg(&changed)
        .arg(&log)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let step = format!("step {}/{steps}: send join", joins[0]);
    assert!(stderr.contains(&step), "{stderr}");
    assert!(stderr.contains(r#""points":12"#), "recorded: {stderr}");
    assert!(stderr.contains(r#""points":18"#), "replayed: {stderr}");

    let mut dap = Dap::start();
    dap.launch(&changed, &log, json!([]));
    dap.ok("continue", json!({"threadId": 1}));
    // The session stops just past the step that diverged, and names it.
    let (body, _) = dap.stopped();
    assert_eq!(body["reason"], "exception", "{body}");
    let text = body["text"].as_str().unwrap_or("");
    assert!(
        text.contains(&format!("step {} diverges", joins[0])),
        "{text}"
    );
    let scopes = dap.ok("scopes", json!({"frameId": 1}));
    let divergence = scopes["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|scope| scope["name"] == "Divergence")
        .and_then(|scope| scope["variablesReference"].as_i64())
        .unwrap_or_else(|| panic!("no Divergence scope in {scopes}"));
    let fields = dap.ok("variables", json!({"variablesReference": divergence}));
    let step = fields["variables"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|variable| variable["name"] == "step")
        .map(|variable| variable["value"].clone());
    assert_eq!(step, Some(json!(joins[0].to_string())), "{fields}");
    dap.finish();
}
