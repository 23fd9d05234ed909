//! The language server in process: a service answering real JSON-RPC requests.

#![allow(dead_code)] // Each test binary uses a part of the harness.

use futures::StreamExt;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use tower_lsp_server::LspService;
use tower_lsp_server::jsonrpc::{Request, Response};

pub const URI: &str = "file:///doc.a";
pub const PROGRAM: &str = "// The running total.\npublic int total;\n\nmessage Add {\n  int n;\n}\n\nchannel add(Add a) {\n  total += a.n;\n}\n";

/// The labels of a completion response.
pub fn labels(response: &Value) -> Vec<String> {
    response
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub struct Harness {
    pub service: LspService<adama_lsp::Backend>,
    pub messages: tokio::sync::mpsc::UnboundedReceiver<Request>,
    pub next_id: i64,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(json!({"capabilities": {}})).await
    }

    pub async fn start_with(initialize: Value) -> Harness {
        let (service, mut socket) = LspService::new(adama_lsp::Backend::new);
        let (sender, messages) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = socket.next().await {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut harness = Harness {
            service,
            messages,
            next_id: 1,
        };
        let initialized = harness.request("initialize", initialize).await;
        assert_eq!(
            initialized["capabilities"]["textDocumentSync"],
            json!(2),
            "incremental sync"
        );
        harness.notify("initialized", json!({})).await;
        harness
    }

    pub async fn request(&mut self, method: &'static str, params: Value) -> Value {
        self.try_request(method, params)
            .await
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    /// A request whose error is an answer (a refused rename gives its reason).
    pub async fn try_request(
        &mut self,
        method: &'static str,
        params: Value,
    ) -> Result<Value, String> {
        let request = Request::build(method)
            .params(params)
            .id(self.next_id)
            .finish();
        self.next_id += 1;
        let response: Option<Response> = self
            .service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(request)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let response = response.unwrap_or_else(|| panic!("a response to {method}"));
        let (_, result) = response.into_parts();
        result.map_err(|error| error.message.to_string())
    }

    pub async fn notify(&mut self, method: &'static str, params: Value) {
        let notification = Request::build(method).params(params).finish();
        let response = self
            .service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(notification)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(response.is_none());
    }

    /// The next published diagnostics, skipping other server messages.
    pub async fn diagnostics(&mut self) -> Value {
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.messages.recv())
                    .await
                    .unwrap_or_else(|_| panic!("diagnostics within 10 s"))
                    .unwrap_or_else(|| panic!("the server is still running"));
            if message.method() == "textDocument/publishDiagnostics" {
                return message.params().cloned().unwrap_or(Value::Null);
            }
        }
    }

    pub async fn open(&mut self, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "adama", "version": 1, "text": text}}),
        )
        .await;
    }
}

/// The byte offset of an LSP position (fixtures are ASCII: a character is a byte).
fn offset_of(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap_or(0) as usize;
    let character = position["character"].as_u64().unwrap_or(0) as usize;
    text.split_inclusive('\n')
        .take(line)
        .map(str::len)
        .sum::<usize>()
        + character
}

/// The text after a list of `TextEdit`s.
pub fn apply_edits(text: &str, edits: &Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = edits
        .as_array()
        .map(|edits| {
            edits
                .iter()
                .map(|edit| {
                    (
                        offset_of(text, &edit["range"]["start"]),
                        offset_of(text, &edit["range"]["end"]),
                        edit["newText"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut edited = text.to_owned();
    for (start, end, new_text) in edits {
        edited.replace_range(start..end, &new_text);
    }
    edited
}

/// The errors the compiler finds in a program.
pub fn errors(text: &str) -> Vec<String> {
    let db = adama_compiler::Database::default();
    let file = adama_compiler::SourceFile::new(&db, "edited.a".to_owned(), text.to_owned());
    adama_compiler::queries::diagnostics(&db, file)
        .iter()
        .filter(|diagnostic| diagnostic.severity == adama_compiler::Severity::Error)
        .map(|diagnostic| diagnostic.message.clone())
        .collect()
}
