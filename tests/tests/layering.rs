//! The crate layering, checked by machine: grammar <- compiler <- {runtime, lsp, debugger} <- cli,
//! and the node beside the language server and the debugger (it depends on the runtime, and
//! only the cli depends on it).
//!
//! Each crate's normal (non-dev) dependency tree must not contain the crates above it or beside it,
//! nor infrastructure it must not know: the compiler and the runtime stay free of async runtimes,
//! protocol stacks, storage and consensus, which the node alone brings in.

use std::process::Command;

/// The package names in the normal dependency tree of `package`.
fn dependency_names(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree", "--locked", "-p", package, "-e", "normal", "--prefix", "none", "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|error| panic!("cargo tree runs: {error}"));
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let names = dependency_names(package);
    let found: Vec<&&str> = forbidden
        .iter()
        .filter(|name| names.iter().any(|dependency| dependency == *name))
        .collect();
    assert!(found.is_empty(), "{package} must not depend on {found:?}");
}

const INFRASTRUCTURE: &[&str] = &[
    "tokio",
    "tower-lsp-server",
    "tower-lsp",
    "openraft",
    "axum",
    "hyper",
    "redb",
];

#[test]
fn the_grammar_depends_on_no_other_workspace_crate() {
    assert_free_of(
        "tree-sitter-adama",
        &[
            "adama-compiler",
            "adama-runtime",
            "adama-lsp",
            "adama-debugger",
            "adama-node",
            "adama-cli",
        ],
    );
}

#[test]
fn the_compiler_knows_nothing_above_it_and_no_io_infrastructure() {
    let mut forbidden = vec![
        "adama-runtime",
        "adama-lsp",
        "adama-debugger",
        "adama-node",
        "adama-cli",
    ];
    forbidden.extend_from_slice(INFRASTRUCTURE);
    assert_free_of("adama-compiler", &forbidden);
}

#[test]
fn the_runtime_is_sans_io_and_independent_of_the_editors() {
    let mut forbidden = vec!["adama-lsp", "adama-debugger", "adama-node", "adama-cli"];
    forbidden.extend_from_slice(INFRASTRUCTURE);
    assert_free_of("adama-runtime", &forbidden);
}

#[test]
fn the_language_server_does_not_know_the_runtime() {
    assert_free_of(
        "adama-lsp",
        &[
            "adama-runtime",
            "adama-debugger",
            "adama-node",
            "adama-cli",
            "openraft",
            "redb",
        ],
    );
}

#[test]
fn the_debugger_does_not_know_the_language_server() {
    assert_free_of(
        "adama-debugger",
        &["adama-lsp", "adama-node", "adama-cli", "openraft", "redb"],
    );
}

#[test]
fn the_node_hosts_the_runtime_beside_the_editors() {
    assert_free_of(
        "adama-node",
        &[
            "adama-lsp",
            "adama-debugger",
            "adama-cli",
            "tower-lsp-server",
        ],
    );
    let names = dependency_names("adama-node");
    // The cluster lives in the node: consensus beside the store it replicates.
    for needed in ["adama-runtime", "tokio", "redb", "axum", "openraft"] {
        assert!(
            names.iter().any(|name| name == needed),
            "the node is where {needed} belongs"
        );
    }
}
