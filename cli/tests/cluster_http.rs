//! HTTP requests for a document reach the leader of its partition whichever node they reach:
//! `@web` handlers, `PUT /~adama/once` and `POST /~upload` sent to followers run on the leader,
//! every member keeps the uploaded file (and forgets one whose attach was refused), and the
//! leader's metrics count the replicated commits.

mod cluster_support;

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use md5::Digest as _;

use cluster_support::{Client, Nodes, http};
use serde_json::{Value as Json, json};

const PARTITIONS: u32 = 4;

const FILES: &str = r#"
@static { create { return true; } invent { return true; } }
@connected { return true; }
public asset last;
public int count;
public int notes;
string pw_hash;
@can_attach { return true; }
@attached (a) { last = a; count += 1; }
message Note { string text; }
@web put /note (Note n) { notes += 1; return {json: {notes: notes}}; }
@web get /notes { return {json: {notes: notes}}; }
@web get /file { return {asset: last}; }
message SetHash { string hash; }
@web put /hash (SetHash s) { pw_hash = s.hash; return {json: {}}; }
message Login { string name; }
@authorization (Login login) { return {agent: login.name, hash: pw_hash}; }
"#;

fn json_body(answer: Option<(u16, String)>) -> (u16, Json) {
    let (code, body) = answer.expect("the node answers");
    (
        code,
        serde_json::from_str(&body).unwrap_or(Json::String(body)),
    )
}

fn put(nodes: &Nodes, id: u64, path: &str, body: &Json) -> (u16, Json) {
    json_body(http(
        nodes.address(id),
        "PUT",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    ))
}

fn metric(nodes: &Nodes, id: u64, name: &str) -> f64 {
    let (code, text) = nodes.http(id, "GET", "/metrics", "").expect("metrics");
    assert_eq!(code, 200);
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn form(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, filename, value) in parts {
        body.push_str("--XYZ\r\n");
        match filename {
            Some(filename) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str("--XYZ--\r\n");
    body.into_bytes()
}

/// A form upload of one file to `files/box` as `identity`, sent to the node at `address`.
fn upload(address: SocketAddr, identity: &str, filename: &str, contents: &str) -> (u16, Json) {
    json_body(http(
        address,
        "POST",
        "/~upload",
        &[("Content-Type", "multipart/form-data; boundary=XYZ")],
        &form(&[
            ("identity", None, identity),
            ("space", None, "files"),
            ("key", None, "box"),
            ("file", Some(filename), contents),
        ]),
    ))
}

#[test]
fn web_once_and_upload_requests_sent_to_followers_run_on_the_leader() {
    let mut nodes = Nodes::new(3, PARTITIONS);
    let source = nodes.root.path().join("files.a");
    std::fs::write(&source, FILES).expect("written");
    nodes.extra = vec!["--space".into(), format!("files={}", source.display())];
    let everyone = nodes.spawn_all_led();
    let partition = adama_node::cluster::partition_of("files/box", PARTITIONS);
    let leader = nodes.leader(partition, &everyone).expect("a leader");
    let followers: Vec<u64> = everyone
        .iter()
        .copied()
        .filter(|id| *id != leader)
        .collect();
    let (first, second) = (followers[0], followers[1]);

    // @web: a PUT through a follower is a transaction of the leader's; a GET through the other
    // follower reads it.
    for expected in 1..=2 {
        let (code, answer) = put(&nodes, first, "/files/box/note", &json!({"text": "hi"}));
        assert_eq!(
            (code, &answer),
            (200, &json!({"notes": expected})),
            "PUT {expected}"
        );
    }
    let (code, answer) = json_body(nodes.http(second, "GET", "/files/box/notes", ""));
    assert_eq!((code, answer), (200, json!({"notes": 2})));
    // What passing a request on costs: the same GET on the leader and through a follower.
    for (label, id) in [("on the leader", leader), ("through a follower", first)] {
        let mut times: Vec<Duration> = (0..50)
            .map(|_| {
                let started = std::time::Instant::now();
                let answer = nodes.http(id, "GET", "/files/box/notes", "");
                assert_eq!(answer.map(|(code, _)| code), Some(200));
                started.elapsed()
            })
            .collect();
        times.sort();
        eprintln!(
            "@web GET {label}: median {:?}, p90 {:?} over 50",
            times[25], times[45]
        );
    }

    // POST /~upload through a follower: the file is kept by every member and attached by a
    // principal connected (through the other follower).
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut viewer = runtime.block_on(async {
        let mut viewer = Client::connect(nodes.address(second), "box").await;
        viewer.space = "files".into();
        viewer.open().await.expect("the viewer connects");
        viewer
    });
    let contents = "1,2,3\n4,5,6\n";
    let (code, answer) = upload(nodes.address(first), "anonymous:tester", "n.csv", contents);
    assert_eq!(code, 200, "{answer}");
    let asset = answer["assetIds"][0]
        .as_str()
        .expect("an asset id")
        .to_owned();
    let (code, served) = nodes
        .http(second, "GET", "/files/box/file", "")
        .expect("the file is served");
    assert_eq!((code, served.as_str()), (200, contents));
    runtime.block_on(async {
        let frame = json!({"method": "connection/update", "connection": viewer.stream,
            "viewer-state": {}});
        viewer
            .call(frame, Duration::from_secs(10))
            .await
            .expect("the stream goes on");
    });
    assert_eq!(viewer.field("count"), Some(1), "the viewer saw the attach");

    // An upload whose attach is refused (the uploader is not connected): the file every member
    // kept is forgotten on every member (checked at the end).
    let (code, answer) = upload(
        nodes.address(first),
        "anonymous:stranger",
        "refused.csv",
        "7,8,9\n",
    );
    assert_ne!(code, 200, "a stranger's attach is refused: {answer}");

    // A chunked upload over the follower's socket goes to the leader too.
    let chunked = runtime.block_on(async {
        let limit = Duration::from_secs(15);
        let start = viewer
            .request(
                json!({"method": "attachment/start", "identity": "anonymous:tester",
                "space": "files", "key": "box", "filename": "c.txt", "content-type": "text/plain"}),
            )
            .await;
        viewer.until(limit, |frame| frame["deliver"] == start).await;
        let bytes = b"chunked bytes";
        let md5: String = md5::Md5::digest(bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let append = viewer
            .request(
                json!({"method": "attachment/append", "upload": start, "chunk-md5": md5,
                "base64-bytes": base64::engine::general_purpose::STANDARD.encode(bytes)}),
            )
            .await;
        let appended = viewer
            .until(limit, |frame| {
                frame["deliver"] == append || frame["failure"] == append
            })
            .await;
        assert!(appended.get("failure").is_none(), "{appended}");
        let finish = viewer
            .request(json!({"method": "attachment/finish", "upload": start}))
            .await;
        let finished = viewer
            .until(limit, |frame| {
                frame["deliver"] == finish || frame["failure"] == finish
            })
            .await;
        if viewer.field("count") != Some(2) {
            viewer
                .until(limit, |frame| {
                    frame["response"]["delta"]["data"]["count"] == 2
                })
                .await;
        }
        finished["response"]["assetId"]
            .as_str()
            .unwrap_or_else(|| panic!("an asset id: {finished}"))
            .to_owned()
    });
    let (code, served) = nodes
        .http(first, "GET", "/files/box/file", "")
        .expect("the file is served");
    assert_eq!((code, served.as_str()), (200, "chunked bytes"));

    // PUT /~adama/once: the document's @authorization runs on the leader.
    let (code, hashed) = put(
        &nodes,
        first,
        "/~adama/once",
        &json!({"method": "documents/hash-password", "password": "secret"}),
    );
    assert_eq!(code, 200, "{hashed}");
    let (code, _) = put(
        &nodes,
        first,
        "/files/box/hash",
        &json!({"hash": hashed["passwordHash"]}),
    );
    assert_eq!(code, 200);
    let (code, login) = put(
        &nodes,
        second,
        "/~adama/once",
        &json!({"method": "document/authorization", "space": "files", "key": "box",
            "message": {"name": "ann", "password": "secret"}}),
    );
    assert_eq!(code, 200, "{login}");
    assert!(login["identity"].is_string(), "{login}");
    let (_, refused) = put(
        &nodes,
        second,
        "/~adama/once",
        &json!({"method": "document/authorization", "space": "files", "key": "box",
            "message": {"name": "ann", "password": "wrong"}}),
    );
    assert!(refused.get("identity").is_none(), "{refused}");

    // Only the leader ran the document; its metrics count the replicated commits.
    for follower in &followers {
        assert_eq!(
            metric(&nodes, *follower, "adama_documents_loaded"),
            0.0,
            "node {follower} loaded the document"
        );
    }
    assert!(metric(&nodes, leader, "adama_documents_loaded") >= 1.0);
    assert!(metric(&nodes, leader, "adama_commit_latency_seconds_count") >= 4.0);
    assert!(metric(&nodes, leader, "adama_store_records_total") >= 4.0);
    for &id in &everyone {
        assert!(
            metric(&nodes, id, "adama_store_fsyncs_total") >= 1.0,
            "node {id}"
        );
    }

    // Every member keeps the file and the same document.
    nodes.wait_until_applied_alike(&everyone, partition);
    for &id in &everyone {
        nodes.stop(id);
    }
    let mut documents = Vec::new();
    for &id in &everyone {
        use adama_node::store::Store;
        let (_, whole) = nodes.stored(id, "files", "box");
        assert_eq!(whole["notes"], 2, "node {id}: {whole}");
        assert_eq!(whole["count"], 2, "node {id}: {whole}");
        let store = adama_node::store::redb::RedbStore::open(&nodes.data(id)).expect("the store");
        assert!(
            store.asset("files/box", &chunked).expect("reads").is_some(),
            "node {id} keeps the chunked file"
        );
        let (meta, bytes) = store
            .asset("files/box", &asset)
            .expect("reads")
            .unwrap_or_else(|| panic!("node {id} keeps the file"));
        assert_eq!(
            (meta.name.as_str(), bytes.as_slice()),
            ("n.csv", contents.as_bytes())
        );
        let mut kept: Vec<String> = store
            .assets_of("files/box")
            .expect("reads")
            .into_iter()
            .map(|(_, meta, _)| meta.name)
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            ["c.txt", "n.csv"],
            "node {id} keeps the attached files only"
        );
        documents.push(whole);
    }
    assert!(documents.windows(2).all(|pair| pair[0] == pair[1]));
}
