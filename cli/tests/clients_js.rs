//! The browser client library in `clients/js`: it installs from its lockfile, compiles, passes its
//! unit tests (`node --test`), and works against a real `adama serve` (chat between two
//! connections, a reconnect, private hands of cards); the demo pages the node serves work in a
//! real browser (chat with a reconnect, tic-tac-toe to a win, private hands of cards, and the
//! latency of a line).
//!
//! Needs Node.js 20 or newer with npm on the PATH, and Chromium (`/usr/bin/chromium`, or the path
//! in `ADAMA_CHROMIUM`); `.ci/run` provides them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

mod npm;
use npm::{clear_except_node_modules, npm, require_node};

fn library_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/js")
}

/// A copy of the library under the target folder, installed and compiled once for this run. It
/// keeps its node_modules while package-lock.json is unchanged: `npm ci` is most of the time.
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        require_node("clients/js");
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients-js");
        let lock = std::fs::read(library_dir().join("package-lock.json")).unwrap_or_default();
        let stamp = work.join("node_modules/.installed-from-package-lock.json");
        let installed = std::fs::read(&stamp).is_ok_and(|installed| installed == lock);
        clear_except_node_modules(&work);
        copy_tree(&library_dir(), &work);
        if !installed {
            npm(
                &work,
                &["ci", "--no-audit", "--no-fund", "--prefer-offline"],
            );
            std::fs::write(&stamp, &lock).unwrap_or_else(|error| panic!("{error}"));
        }
        npm(&work, &["run", "build"]);
        work
    })
}

#[test]
fn the_library_compiles_and_passes_its_unit_tests() {
    let work = built();
    let output = npm(work, &["test"]);
    assert!(
        output.contains("# fail 0") && !output.contains("# pass 0"),
        "{output}"
    );
}

#[test]
fn the_demo_pages_load_the_library_as_built() {
    let work = built();
    let demo = library_dir().join("demo/adama-client.js");
    let committed = std::fs::read_to_string(&demo).unwrap_or_default();
    let fresh = bundle(work);
    assert!(
        committed == fresh,
        "{} is out of date: run `npm run build` in clients/js and commit it",
        demo.display()
    );
}

#[test]
fn the_library_chats_against_a_real_node() {
    let work = built();
    let data = tempfile::tempdir().expect("a directory");
    let mut node = Node::start(data.path());
    let index = http_get(&node.address, "/");
    assert!(
        index.contains("/demo/chat.html") && index.contains("/demo/tictactoe.html"),
        "the node serving the examples shows their pages at /: {index}"
    );
    let served = http_get(&node.address, "/demo/adama-client.js");
    let committed =
        std::fs::read_to_string(library_dir().join("demo/adama-client.js")).unwrap_or_default();
    assert!(
        served.ends_with(&committed),
        "the node serves the library as built"
    );
    let output = Command::new("node")
        .args([
            "--experimental-websocket",
            "--test",
            "--test-timeout=60000",
            "e2e/",
        ])
        .current_dir(work)
        .env("ADAMA_URL", format!("ws://{}/~s", node.address))
        .output()
        .expect("node runs");
    node.stop();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the live tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("# pass 2") && stdout.contains("# skipped 0"),
        "{stdout}"
    );
}

#[test]
fn the_demo_pages_work_in_a_browser() {
    let chromium = std::env::var("ADAMA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "this test drives Chromium at {chromium}; install it (Debian: `apt-get install chromium`, as .ci/run does) or name it in ADAMA_CHROMIUM"
    );
    let work = built();
    let data = tempfile::tempdir().expect("a directory");
    let mut node = Node::start(data.path());
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients-js-screenshots");
    let output = Command::new("node")
        .args(["--test", "--test-timeout=180000", "browser/"])
        .current_dir(work)
        .env("ADAMA_HTTP", format!("http://{}", node.address))
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOTS", &screenshots)
        .output()
        .expect("node runs");
    node.stop();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser tests failed (screenshots in {}):\n{stdout}\n{}",
        screenshots.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("# pass 5") && stdout.contains("# skipped 0"),
        "{stdout}"
    );
    for line in stdout.lines().filter(|line| line.contains("median")) {
        println!("{line}");
    }
}

/// The demo's copy of the library: every compiled module, in dependency order, as one script.
fn bundle(work: &Path) -> String {
    let output = Command::new("node")
        .arg("scripts/bundle.mjs")
        .arg("--stdout")
        .current_dir(work)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The body of a GET, which must answer 200.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the node accepts");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_owned()
}

/// `adama serve` with the built-in examples on a free loopback port.
struct Node {
    child: Child,
    address: String,
}

impl Node {
    fn start(data: &Path) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_adama"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("adama serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        // The node prints more; a closed pipe would stop it.
        std::thread::spawn(move || lines.for_each(drop));
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("adama serve printed its address: {first}"))
            .to_owned();
        Node { child, address }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies the library's own files: everything but what npm and the build produce.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|error| panic!("{error}"));
    let entries = std::fs::read_dir(from).unwrap_or_else(|error| panic!("{error}"));
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "node_modules" || name == "dist" {
            continue;
        }
        let path = entry.path();
        let target = to.join(&name);
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        }
    }
}
