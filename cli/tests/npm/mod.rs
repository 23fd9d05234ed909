//! npm for the tests that build the project's JavaScript packages (the VS Code extension and the
//! client library) in a working copy under the target folder.

use std::path::Path;
use std::process::Command;

/// Runs npm in `dir`; fails the test with npm's output when it fails.
pub fn npm(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("NO_UPDATE_NOTIFIER", "1")
        .output()
        .unwrap_or_else(|error| {
            panic!("this test needs npm on the PATH to build the project's JavaScript packages ({error}); install Node.js 20+ with npm, as .ci/run does")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "npm {}: {}\nstdout: {stdout}\nstderr: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Empties the working copy but for its installed packages.
pub fn clear_except_node_modules(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|error| panic!("{error}"));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_name() == "node_modules" {
            continue;
        }
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    }
}

/// Fails the test unless Node.js 20 or newer is on the PATH, naming what it was to build.
pub fn require_node(what: &str) {
    let version = match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        _ => panic!(
            "this test needs Node.js 20+ and npm on the PATH to build {what}; install them, or run .ci/run, which does"
        ),
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "this test needs Node.js 20 or newer to build {what}, found {version}; .ci/run installs one"
    );
}
