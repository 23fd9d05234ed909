//! Typing in a generated 10,000-line program, through the server in process: the time from a
//! keystroke to its diagnostics, and the semantic tokens, hover and completion asked after it.
//!
//! Each keystroke inserts a space inside a name of a declaration and the next one deletes it,
//! so every other version has a syntax error, as when a person types. Targets: diagnostics and
//! semantic tokens under 20 ms, hover and completion under 5 ms. Run with
//! `cargo bench -p adama-lsp --bench editing`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::LspService;
use tower_lsp_server::jsonrpc::Request;

const TARGET_LINES: usize = 10_000;
const URI: &str = "file:///bench/edited.a";

/// The stack of the server's threads, as `adama lsp` sets it: checking recurses over code.
const STACK_BYTES: usize = 64 * 1024 * 1024;

struct Session {
    service: LspService<adama_lsp::Backend>,
    /// The versions of the diagnostics the server published, in order.
    published: tokio::sync::mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    version: i32,
    /// Where the keystrokes go: (line, character) inside a record's name.
    edit_at: (usize, usize),
    /// A name on another line, for hover, and the end of a line inside a body, for completion.
    hover_at: (usize, usize),
    completion_at: (usize, usize),
}

impl Session {
    async fn start(program: &str) -> Session {
        let (service, mut socket) = LspService::new(adama_lsp::Backend::new);
        // The server's outgoing queue is bounded: read it all the time.
        let (sender, published) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = socket.next().await {
                if message.method() == "textDocument/publishDiagnostics"
                    && let Some(params) = message.params()
                    && sender.send(params["version"].clone()).is_err()
                {
                    break;
                }
            }
        });
        let lines: Vec<&str> = program.lines().collect();
        let middle = lines.len() / 2;
        let record_line = (middle..lines.len())
            .find(|line| lines[*line].starts_with("record R"))
            .unwrap_or_else(|| panic!("a record in the second half"));
        let hover_line = (middle..lines.len())
            .find(|line| lines[*line].starts_with("public formula g"))
            .unwrap_or_else(|| panic!("a formula in the second half"));
        let completion_line = (middle..lines.len())
            .find(|line| lines[*line].trim_start().starts_with("return x"))
            .unwrap_or_else(|| panic!("a function body in the second half"));
        let mut session = Session {
            service,
            published,
            next_id: 0,
            version: 1,
            edit_at: (record_line, "record R1".len()),
            hover_at: (hover_line, "public formula g".len()),
            completion_at: (completion_line, "  return x".len()),
        };
        session
            .request("initialize", json!({"capabilities": {}}))
            .await;
        session.notify("initialized", json!({})).await;
        let open = Request::build("textDocument/didOpen")
            .params(json!({"textDocument": {"uri": URI, "languageId": "adama", "version": 1, "text": program}}))
            .finish();
        session.notify_until_diagnostics(open, 1).await;
        session
    }

    async fn request(&mut self, method: &'static str, params: Value) -> Value {
        self.next_id += 1;
        let request = Request::build(method)
            .params(params)
            .id(self.next_id)
            .finish();
        let response = self
            .service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(request)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .unwrap_or_else(|| panic!("{method} answers"));
        let (_, result) = response.into_parts();
        result.unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    async fn notify(&mut self, method: &'static str, params: Value) {
        let notification = Request::build(method).params(params).finish();
        let _ = self
            .service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(notification)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Inserts a space inside the record's name, or deletes it again.
    async fn keystroke(&mut self) {
        self.version += 1;
        let (line, character) = self.edit_at;
        let inserting = self.version % 2 == 0;
        let end = if inserting { character } else { character + 1 };
        let text = if inserting { " " } else { "" };
        let version = self.version;
        // The notification publishes before it returns, so the diagnostics are awaited alongside.
        let notification = Request::build("textDocument/didChange")
            .params(json!({
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": character},
                                              "end": {"line": line, "character": end}},
                                    "text": text}]}))
            .finish();
        self.notify_until_diagnostics(notification, version).await;
    }

    /// Sends a notification that publishes diagnostics before it returns, and waits for the
    /// diagnostics of `version`.
    async fn notify_until_diagnostics(&mut self, notification: Request, version: i32) {
        let _ = self
            .service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(notification)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        while let Some(published) = self.published.recv().await {
            if published == json!(version) {
                return;
            }
        }
        panic!("the server stopped before publishing version {version}");
    }

    fn position(at: (usize, usize)) -> Value {
        json!({"line": at.0, "character": at.1})
    }
}

/// A timed request: the bench's name, the method, its parameters, and what a good answer is.
type TimedRequest = (&'static str, &'static str, Value, fn(&Value) -> bool);

fn editing(criterion: &mut Criterion) {
    let program = tree_sitter_adama::generated_program(TARGET_LINES);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(STACK_BYTES)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("{error}"));
    let mut session = runtime.block_on(Session::start(&program));

    let mut group = criterion.benchmark_group("editing_10k_lines");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("diagnostics_after_keystroke", |bencher| {
        bencher.iter(|| runtime.block_on(session.keystroke()));
    });
    let hover_at = Session::position(session.hover_at);
    let completion_at = Session::position(session.completion_at);
    let requests: [TimedRequest; 3] = [
        (
            "semantic_tokens_full_after_keystroke",
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
            |tokens| {
                tokens["data"]
                    .as_array()
                    .is_some_and(|data| !data.is_empty())
            },
        ),
        (
            "hover_after_keystroke",
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": hover_at}),
            // A formula's name has a hover.
            Value::is_object,
        ),
        (
            "completion_after_keystroke",
            "textDocument/completion",
            json!({"textDocument": {"uri": URI}, "position": completion_at}),
            |completion| completion.as_array().is_some_and(|items| !items.is_empty()),
        ),
    ];
    // Each request is timed alone, right after a keystroke (whose diagnostics are not timed).
    for (name, method, params, answered) in requests {
        group.bench_function(name, |bencher| {
            bencher.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    runtime.block_on(session.keystroke());
                    let started = std::time::Instant::now();
                    let answer = runtime.block_on(session.request(method, params.clone()));
                    total += started.elapsed();
                    assert!(answered(&answer), "{method} answered {answer}");
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, editing);
criterion_main!(benches);
