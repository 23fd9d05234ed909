//! Opening a workspace of 200 Adama files: from `initialize` to the first diagnostics of every
//! file, through the server in process (the same `LspService` the protocol tests drive).
//!
//! Each iteration starts a fresh server on the same folder, so it measures loading the files,
//! checking each one and publishing its diagnostics, which is what a person waits for after
//! opening a project. Run with `cargo bench -p adama-lsp`.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use serde_json::json;
use tower::{Service, ServiceExt};
use tower_lsp_server::LspService;
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::ls_types::Uri;

const N_FILES: usize = 200;

/// The stack of the server's threads, as `adama lsp` sets it: checking recurses over code.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn open_workspace(criterion: &mut Criterion) {
    let folder = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    write_workspace(folder.path());
    let root = Uri::from_file_path(folder.path()).unwrap_or_else(|| panic!("a file URI"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(STACK_BYTES)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("{error}"));

    let mut group = criterion.benchmark_group("workspace");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("first_diagnostics_200_files", |bencher| {
        bencher.iter(|| runtime.block_on(first_diagnostics(&root)));
    });
    group.finish();
}

/// Starts a server on `root` and waits until every file has had its diagnostics published;
/// returns how many files were published.
async fn first_diagnostics(root: &Uri) -> usize {
    let (mut service, mut socket) = LspService::new(adama_lsp::Backend::new);
    let initialize = Request::build("initialize")
        .params(json!({"capabilities": {}, "workspaceFolders": [{"uri": root.as_str(), "name": "bench"}]}))
        .id(1)
        .finish();
    let initialized = Request::build("initialized").params(json!({})).finish();
    // The socket is read while the requests run: `initialized` publishes every file before it
    // returns, and the server's outgoing queue is bounded.
    let reader = tokio::spawn(async move {
        let mut published = std::collections::HashSet::new();
        while published.len() < N_FILES {
            let message = socket
                .next()
                .await
                .unwrap_or_else(|| panic!("the server stopped"));
            if message.method() != "textDocument/publishDiagnostics" {
                continue;
            }
            let params = message.params().cloned().unwrap_or_default();
            assert_eq!(
                params["diagnostics"],
                json!([]),
                "the corpus programs check cleanly"
            );
            published.insert(params["uri"].as_str().unwrap_or("").to_owned());
        }
        published.len()
    });
    for request in [initialize, initialized] {
        let _ = service
            .ready()
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .call(request)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    }
    reader.await.unwrap_or_else(|error| panic!("{error}"))
}

/// 200 programs of the corpus that check cleanly, copied to `folder`.
fn write_workspace(folder: &Path) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let mut programs: Vec<std::path::PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{error}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with("_success.a"))
        .collect();
    programs.sort();
    assert!(
        programs.len() >= N_FILES,
        "the corpus has {N_FILES} programs"
    );
    for (index, program) in programs.iter().take(N_FILES).enumerate() {
        std::fs::copy(program, folder.join(format!("doc{index}.a")))
            .unwrap_or_else(|error| panic!("{error}"));
    }
}

criterion_group!(benches, open_workspace);
criterion_main!(benches);
