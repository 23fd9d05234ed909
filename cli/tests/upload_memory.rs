//! Uploads are streamed to a temporary file in the data directory, not held in memory: a file
//! twice the size of the old in-memory bound is uploaded to a running `adama serve`, whose
//! peak memory grows by a fraction of it, also while a `@web` handler serves it back; an upload cut off by its socket leaves no file, and
//! what a stopped node left behind is deleted when it starts again.

#[path = "../../node/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::{Value as Json, json};
use sha2::Sha384;
use support::{Client, run};

const FILES: &str = r#"
@static { create { return true; } invent { return true; } }
@connected { return true; }
public asset last;
public int count;
@can_attach { return true; }
@attached (a) { last = a; count += 1; }
@web get /file { return {asset: last}; }
"#;

/// The old bound on an upload held in memory.
const OLD_BOUND: usize = 12_582_912;
const CHUNK: usize = 65_536;

struct Node {
    child: Child,
    address: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_adama"))
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--max-upload",
            "67108864",
            "--data",
        ])
        .arg(dir.join("data"))
        .arg("--space")
        .arg(format!("files={}", dir.join("files.a").display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("adama serve starts: {error}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("a stdout"));
    let mut banner = String::new();
    BufReader::new(stdout)
        .read_line(&mut banner)
        .unwrap_or_else(|error| panic!("{error}"));
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("an address in the banner: {banner}"));
    Node { child, address }
}

/// The peak resident memory of a process, in bytes (Linux: VmHWM).
fn peak_memory(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("{error}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

/// The `n`th chunk of the file: bytes that differ from chunk to chunk.
fn chunk_bytes(n: usize) -> Vec<u8> {
    (0..CHUNK)
        .map(|at| ((n * 31 + at * 7) % 251) as u8)
        .collect()
}

fn append(id: i64, upload: i64, bytes: &[u8]) -> Json {
    let md5: String = Md5::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    json!({"method": "attachment/append", "id": id, "upload": upload, "chunk-md5": md5,
        "base64-bytes": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

fn start(id: i64, name: &str) -> Json {
    json!({"method": "attachment/start", "id": id, "identity": "anonymous:ann", "space": "files",
        "key": "box", "filename": name, "content-type": "application/octet-stream"})
}

/// Uploads `chunks` chunks as `upload` (request ids from `upload + 1`); the finish's reply.
async fn upload(client: &mut Client, upload: i64, chunks: usize) -> (Json, String) {
    client.request(start(upload, "big.bin")).await;
    let ask = client.item(upload).await;
    assert_eq!(ask["response"]["chunk_request_size"], CHUNK, "{ask}");
    let mut sha = Sha384::new();
    for n in 0..chunks {
        let bytes = chunk_bytes(n);
        sha.update(&bytes);
        let id = upload + 1 + n as i64;
        client.request(append(id, upload, &bytes)).await;
        let reply = client.reply(id).await;
        assert!(reply.get("failure").is_none(), "chunk {n}: {reply}");
        client.item(upload).await;
    }
    let finish = upload + 1 + chunks as i64;
    client
        .request(json!({"method": "attachment/finish", "id": finish, "upload": upload}))
        .await;
    let digest: String = sha
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (client.reply(finish).await, digest)
}

/// The body of a GET answered 200, read whole.
fn get(address: SocketAddr, path: &str) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut stream =
        std::net::TcpStream::connect(address).unwrap_or_else(|error| panic!("{error}"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .unwrap_or_else(|error| panic!("{error}"));
    let end = all
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("a head"));
    let head = String::from_utf8_lossy(&all[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("chunked"), "a known length: {head}");
    all.split_off(end + 4)
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("data").join("uploads"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_large_upload_is_streamed_to_disk_and_an_aborted_one_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(dir.path().join("files.a"), FILES).unwrap_or_else(|error| panic!("{error}"));
    let uploads = dir.path().join("data").join("uploads");
    std::fs::create_dir_all(&uploads).unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(uploads.join("left-by-a-crash.part"), b"stale")
        .unwrap_or_else(|error| panic!("{error}"));
    let node = serve(dir.path());
    assert!(
        part_files(dir.path()).is_empty(),
        "a start clears what uploads left"
    );
    let pid = node.child.id();
    let address = node.address;
    let chunks = 2 * OLD_BOUND / CHUNK + 1;
    run(async move {
        let mut client = Client::connect(address).await;
        let opened = client.open(1, "anonymous:ann", "files", "box").await;
        assert_eq!(opened["response"]["delta"]["data"]["count"], 0, "{opened}");
        // A small upload first, so that what any upload needs once is in place.
        let (small, _) = upload(&mut client, 100, 2).await;
        assert!(small["response"]["assetId"].is_string(), "{small}");
        let before = peak_memory(pid);
        let (big, sha384) = upload(&mut client, 1_000, chunks).await;
        assert!(big["response"]["assetId"].is_string(), "{big}");
        let grown = peak_memory(pid).saturating_sub(before);
        let size = chunks * CHUNK;
        assert!(
            grown < size / 8,
            "the node's peak memory grew by {grown} bytes for an upload of {size}"
        );
        eprintln!("upload of {size} bytes: the node's peak memory grew by {grown} bytes");
        let seen = client
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["data"]["count"] == 2
            })
            .await;
        let last = &seen["response"]["delta"]["data"]["last"];
        assert_eq!(last["size"], size.to_string(), "{last}");
        assert_eq!(last["sha384"], sha384, "{last}");

        // Served back, the file is read from disk a chunk at a time.
        let body = tokio::task::spawn_blocking(move || get(address, "/files/box/file"))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(body.len(), size);
        let served: String = Sha384::digest(&body)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(served, sha384);
        let grown = peak_memory(pid).saturating_sub(before);
        // Holding the file would grow the node by at least its size; the allocator's own
        // growth for the threads and buffers of the upload and the serve (about a megabyte)
        // stays well under an eighth.
        assert!(
            grown < size / 8,
            "the node's peak memory grew by {grown} bytes after serving a file of {size}"
        );
        eprintln!("served back: the node's peak memory grew by {grown} bytes in all");

        // An upload whose socket closes half way: its temporary file goes with it.
        let mut quitter = Client::connect(address).await;
        quitter.request(start(1, "cut.bin")).await;
        quitter.item(1).await;
        for n in 0..8 {
            quitter
                .request(append(2 + n, 1, &chunk_bytes(n as usize)))
                .await;
            quitter.reply(2 + n).await;
        }
        assert_eq!(
            part_files(dir.path()).len(),
            1,
            "the upload is on disk as it arrives"
        );
        drop(quitter);
        for _ in 0..100 {
            if part_files(dir.path()).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            part_files(dir.path()).is_empty(),
            "{:?}",
            part_files(dir.path())
        );
    });
    drop(node);
}
