//! The VS Code extension in `editors/vscode`, checked without VS Code: its manifest contributes
//! the language and the command the language server's lenses name, and, with npm, it installs
//! from its lockfile, bundles, passes its unit tests and packages into a `.vsix`.
//!
//! The npm part needs Node.js 20 or newer with npm on the PATH; `.ci/run` provides them.

use std::path::Path;

use serde_json::Value;

mod npm;
mod vscode;
use npm::{npm, require_node};
use vscode::{extension_copy, extension_dir};

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn the_manifest_contributes_the_language_and_the_lens_command() {
    let dir = extension_dir();
    let manifest = read_json(&dir.join("package.json"));
    let contributes = &manifest["contributes"];

    let language = &contributes["languages"][0];
    assert_eq!(language["id"], "adama");
    let extensions = language["extensions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(extensions.contains(&Value::from(".a")), "{extensions:?}");
    let configuration = language["configuration"].as_str().unwrap_or("");
    let configuration = read_json(&dir.join(configuration));
    assert_eq!(configuration["comments"]["lineComment"], "//");
    assert_eq!(
        configuration["comments"]["blockComment"],
        serde_json::json!(["/*", "*/"])
    );

    let grammar = &contributes["grammars"][0];
    assert_eq!(grammar["language"], "adama");
    let textmate = read_json(&dir.join(grammar["path"].as_str().unwrap_or("")));
    assert_eq!(textmate["scopeName"], grammar["scopeName"]);

    // The lens's command must be one the extension declares, or VS Code shows a lens that does
    // nothing.
    let commands: Vec<&str> = contributes["commands"]
        .as_array()
        .map(|commands| {
            commands
                .iter()
                .filter_map(|command| command["command"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        commands.contains(&adama_lsp::RUN_TEST_COMMAND),
        "{commands:?}"
    );
    let setting = &contributes["configuration"]["properties"]["adama.server.path"];
    assert_eq!(setting["default"], "adama");
    // Remote windows ignore machine-scoped values from the User settings; `window` applies
    // from User, Remote and workspace settings alike.
    assert_eq!(setting["scope"], "window");
    assert!(
        commands.contains(&adama_lsp::DEBUG_TEST_COMMAND),
        "the Debug test lens's command is declared: {commands:?}"
    );

    assert_eq!(manifest["main"], "./dist/extension.js");
    assert_eq!(manifest["engines"]["vscode"], "^1.91.0");
    assert_eq!(manifest["dependencies"]["vscode-languageclient"], "10.1.2");
    let lock = read_json(&dir.join("package-lock.json"));
    assert_eq!(
        lock["packages"]["node_modules/vscode-languageclient"]["version"], "10.1.2",
        "package-lock.json follows package.json"
    );

    let source = std::fs::read_to_string(dir.join("src/commands.js")).unwrap_or_default();
    assert!(
        source.contains(&format!("'{}'", adama_lsp::RUN_TEST_COMMAND)),
        "the extension registers the lens's command"
    );
}

#[test]
fn the_manifest_contributes_a_debugger_that_replays_logs() {
    let manifest = read_json(&extension_dir().join("package.json"));
    let contributes = &manifest["contributes"];
    assert_eq!(contributes["breakpoints"][0]["language"], "adama");
    let debugger = &contributes["debuggers"][0];
    assert_eq!(debugger["type"], "adama");
    let launch = &debugger["configurationAttributes"]["launch"]["properties"];
    for attribute in ["program", "log", "test", "stopOnEntry", "viewers"] {
        assert!(launch.get(attribute).is_some(), "launch lacks {attribute}");
    }
    let initial = &debugger["initialConfigurations"][0];
    assert_eq!(initial["request"], "launch");
    assert_eq!(initial["type"], "adama");
    let events = manifest["activationEvents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        events.contains(&Value::from("onDebugResolve:adama")),
        "{events:?}"
    );
}

#[test]
fn the_extension_installs_bundles_passes_its_tests_and_packages() {
    // @vscode/vsce 3.9 requires Node.js 20.
    require_node("editors/vscode");

    let work_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vscode-extension");
    let work = &work_dir;
    extension_copy(work);
    npm(work, &["run", "build"]);
    let bundle = std::fs::read_to_string(work.join("dist/extension.js"))
        .unwrap_or_else(|error| panic!("the bundle exists: {error}"));
    assert!(
        bundle.contains(adama_lsp::RUN_TEST_COMMAND) && bundle.contains("textDocument/codeLens"),
        "the bundle holds the extension's code"
    );
    npm(work, &["test"]);

    let vsix = work.join("adama.vsix");
    let listed = npm(work, &["exec", "--", "vsce", "ls", "--no-dependencies"]);
    let mut files: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    files.sort_unstable();
    assert_eq!(
        files,
        vec![
            "README.md",
            "dist/extension.js",
            "language-configuration.json",
            "package.json",
            "syntaxes/adama.tmLanguage.json"
        ],
        "the .vsix ships the bundle, not node_modules or the sources"
    );
    npm(
        work,
        &["run", "package", "--", "--out", &vsix.display().to_string()],
    );
    let size = std::fs::metadata(&vsix)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    assert!(size > 1000, "a .vsix was written ({size} bytes)");
}
