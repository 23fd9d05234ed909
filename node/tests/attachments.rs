//! Uploaded files: chunked over the socket, posted as a form, attached with `@attached`,
//! allowed by `@can_attach`, and served back by a `@web` handler.

mod support;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::{Value as Json, json};
use support::{Client, config, http_request, run, space};

const FILES: &str = r#"
@static { create { return true; } invent { return true; } }
@connected { return true; }
public asset last;
public int count;
public string lastName;
public string caption;
@can_attach { return @who.agent() != "mallory"; }
@attached (a) { last = a; count += 1; lastName = a.name(); }
message Caption { string text; }
channel describe(Caption c) { caption = c.text; }
@web get /file { return {asset: last, cache_ttl_seconds: 60}; }
"#;

fn hex_md5(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn chunk(id: i64, upload: i64, bytes: &[u8]) -> Json {
    json!({"method": "attachment/append", "id": id, "upload": upload,
        "chunk-md5": hex_md5(bytes),
        "base64-bytes": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

fn start(id: i64, identity: &str, key: &str) -> Json {
    json!({"method": "attachment/start", "id": id, "identity": identity, "space": "files",
        "key": key, "filename": "hello.txt", "content-type": "text/plain"})
}

/// The terminal frame of `id`, or its failure.
async fn outcome(client: &mut Client, id: i64) -> Json {
    client.reply(id).await
}

#[test]
fn a_file_uploaded_in_chunks_is_attached_and_served_back() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("files", FILES)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        let first = ann.open(1, "anonymous:ann", "files", "box").await;
        assert_eq!(first["response"]["delta"]["data"]["count"], 0);

        ann.request(start(2, "anonymous:ann", "box")).await;
        let ask = ann.item(2).await;
        assert_eq!(ask["response"], json!({"chunk_request_size": 65536}));
        ann.request(chunk(3, 2, b"hello, ")).await;
        assert_eq!(outcome(&mut ann, 3).await["response"], json!({}));
        assert_eq!(ann.item(2).await["response"]["chunk_request_size"], 65536);
        ann.request(chunk(4, 2, b"world")).await;
        assert_eq!(outcome(&mut ann, 4).await["response"], json!({}));
        ann.request(json!({"method": "attachment/finish", "id": 5, "upload": 2}))
            .await;
        let finished = outcome(&mut ann, 5).await;
        let asset = finished["response"]["assetId"]
            .as_str()
            .expect("an asset id")
            .to_owned();
        let end = ann
            .until(|frame| frame["deliver"] == 2 && frame["done"] == true)
            .await;
        assert!(end.get("response").is_none(), "{end}");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["data"]["count"] == 1
            })
            .await;
        let data = &delta["response"]["delta"]["data"];
        assert_eq!(data["lastName"], "hello.txt");
        assert_eq!(data["last"]["id"], asset.as_str());
        assert_eq!(data["last"]["size"], "12");
        assert_eq!(data["last"]["md5"], hex_md5(b"hello, world"));

        let (status, head, body) = http_request(
            node.address,
            "GET /files/box/file HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "hello, world"));
        assert!(head.contains("content-type: text/plain"), "{head}");
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(b"hello, world"));
        assert!(
            head.contains(&format!("content-md5: {}", md5.to_lowercase())),
            "{head}"
        );
        assert!(head.contains("cache-control: max-age=60"), "{head}");
        node.task.abort();
    });
}

#[test]
fn bad_uploads_fail_with_their_codes_and_change_nothing() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("files", FILES)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(1, "anonymous:ann", "files", "box").await;

        // `@can_attach` says no to mallory; unknown spaces, missing parameters, uploads that
        // were never started.
        let mut mallory = Client::connect(node.address).await;
        mallory.request(start(1, "anonymous:mallory", "box")).await;
        assert_eq!(outcome(&mut mallory, 1).await["reason"], 403_111);
        let mut refusals = vec![
            (
                json!({"method": "attachment/start", "id": 10, "identity": "anonymous:ann",
                "space": "nowhere", "key": "box", "filename": "f", "content-type": "t"}),
                134_214,
            ),
            (
                json!({"method": "attachment/start", "id": 11, "identity": "anonymous:ann",
                "space": "files", "key": "box", "content-type": "t"}),
                470_028,
            ),
            (
                json!({"method": "attachment/start", "id": 12, "identity": "anonymous:ann",
                "space": "files", "key": "box", "filename": "f"}),
                455_691,
            ),
            (chunk(13, 99, b"x"), 404_100),
            (
                json!({"method": "attachment/append", "id": 14, "chunk-md5": "x",
                "base64-bytes": "eA=="}),
                409_609,
            ),
            (
                json!({"method": "attachment/finish", "id": 15, "upload": 99}),
                404_100,
            ),
            (
                json!({"method": "connection/can-attach", "id": 16, "connection": 99}),
                494_559,
            ),
            (
                json!({"method": "connection/attach", "id": 17, "connection": 99,
                "asset-id": "a", "filename": "f", "content-type": "t", "size": 1,
                "digest-md5": "m", "digest-sha384": "s"}),
                442_363,
            ),
            (
                json!({"method": "connection/attach", "id": 18, "connection": 1,
                "filename": "f", "content-type": "t", "size": 1,
                "digest-md5": "m", "digest-sha384": "s"}),
                476_156,
            ),
        ];
        for (request, code) in refusals.drain(..) {
            let id = request["id"].as_i64().expect("an id");
            ann.request(request.clone()).await;
            let reply = outcome(&mut ann, id).await;
            assert_eq!(reply["reason"], code, "{request} -> {reply}");
        }

        // A chunk that is not what its MD5 says ends the upload, on both ids.
        ann.request(start(20, "anonymous:ann", "box")).await;
        ann.item(20).await;
        let mut bad = chunk(21, 20, b"abc");
        bad["chunk-md5"] = json!(hex_md5(b"abd"));
        ann.request(bad).await;
        assert_eq!(outcome(&mut ann, 21).await["reason"], 404_101);
        assert_eq!(outcome(&mut ann, 20).await["reason"], 404_101);
        ann.request(chunk(22, 20, b"abc")).await;
        assert_eq!(
            outcome(&mut ann, 22).await["reason"],
            404_100,
            "the upload is over"
        );

        // An uploader that is not connected may upload but its file is not attached.
        let mut bob = Client::connect(node.address).await;
        bob.request(start(1, "anonymous:bob", "box")).await;
        bob.item(1).await;
        bob.request(chunk(2, 1, b"bytes")).await;
        bob.reply(2).await;
        bob.request(json!({"method": "attachment/finish", "id": 3, "upload": 1}))
            .await;
        assert_eq!(outcome(&mut bob, 3).await["reason"], 125_966);
        assert_eq!(outcome(&mut bob, 1).await["reason"], 125_966);

        // Nothing changed: the next attach is the first.
        ann.request(json!({"method": "connection/can-attach", "id": 30, "connection": 1}))
            .await;
        assert_eq!(
            outcome(&mut ann, 30).await["response"],
            json!({"yes": true})
        );
        ann.request(
            json!({"method": "connection/attach", "id": 31, "connection": 1,
            "asset-id": "given", "filename": "given.png", "content-type": "image/png",
            "size": "7", "digest-md5": "m", "digest-sha384": "s"}),
        )
        .await;
        assert!(outcome(&mut ann, 31).await["response"]["seq"].is_i64());
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 1
                    && frame["response"]["delta"]["data"]["lastName"] == "given.png"
            })
            .await;
        assert_eq!(delta["response"]["delta"]["data"]["count"], 1, "{delta}");

        // A connection of a principal `@can_attach` refuses.
        mallory.open(2, "anonymous:mallory", "files", "box").await;
        mallory
            .request(json!({"method": "connection/can-attach", "id": 3, "connection": 2}))
            .await;
        assert_eq!(
            outcome(&mut mallory, 3).await["response"],
            json!({"yes": false})
        );
        node.task.abort();
    });
}

fn form(parts: &[(&str, Option<&str>, &str)]) -> String {
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
    format!(
        "POST /~upload HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_posted_form_attaches_its_files_and_sends_its_message() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("files", FILES)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(1, "anonymous:ann", "files", "box").await;
        let (status, _, body) = http_request(
            node.address,
            &form(&[
                ("identity", None, "anonymous:ann"),
                ("space", None, "files"),
                ("key", None, "box"),
                ("channel", None, "describe"),
                ("message_text", None, "the numbers"),
                ("file", Some("n.csv"), "1,2,3"),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer: Json = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            answer["assetIds"].as_array().map(Vec::len),
            Some(1),
            "{answer}"
        );
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 1
                    && frame["response"]["delta"]["data"]["caption"] == "the numbers"
            })
            .await;
        let seq = delta["response"]["delta"]["seq"].as_i64().expect("a seq");
        let (_, head, served) = http_request(
            node.address,
            "GET /files/box/file HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(served, "1,2,3");
        assert!(head.contains("content-type: text/csv"), "{head}");

        for (parts, code) in [
            (
                vec![
                    ("identity", None, "anonymous:ann"),
                    ("space", None, "files"),
                    ("key", None, "box"),
                ],
                "101404",
            ),
            (
                vec![
                    ("identity", None, "anonymous:mallory"),
                    ("space", None, "files"),
                    ("key", None, "box"),
                    ("file", Some("x"), "x"),
                ],
                "403111",
            ),
            (
                vec![
                    ("identity", None, "anonymous:ann"),
                    ("space", None, "nowhere"),
                    ("key", None, "box"),
                    ("file", Some("x"), "x"),
                ],
                "134214",
            ),
            (
                vec![
                    ("space", None, "files"),
                    ("key", None, "box"),
                    ("file", Some("x"), "x"),
                ],
                "458759",
            ),
        ] {
            let (status, _, body) = http_request(node.address, &form(&parts)).await;
            assert_eq!((status, body.as_str()), (400, code), "{parts:?}");
        }
        let (status, _, body) = http_request(
            node.address,
            "POST /~upload HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        )
        .await;
        assert_eq!((status, body.as_str()), (400, "101404"));

        // Nothing changed the document: a send now is the next transaction.
        ann.request(
            json!({"method": "connection/send", "id": 2, "connection": 1,
            "channel": "describe", "message": {"text": "after"}}),
        )
        .await;
        assert_eq!(
            ann.reply(2).await["response"]["seq"].as_i64(),
            Some(seq + 1)
        );
        node.task.abort();
    });
}

/// The temporary files of uploads under way.
fn part_files(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join(adama_node::staged_upload::UPLOADS_DIR))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[test]
fn uploads_past_the_node_s_limit_are_refused_and_leave_no_file() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut settings = config(data.path(), vec![space("files", FILES)]);
        settings.max_upload = 10;
        let node = adama_node::start(settings).await.expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(1, "anonymous:ann", "files", "box").await;

        ann.request(start(2, "anonymous:ann", "box")).await;
        ann.item(2).await;
        ann.request(chunk(3, 2, b"123456")).await;
        assert!(ann.reply(3).await.get("failure").is_none());
        assert_eq!(part_files(data.path()), 1, "the bytes went to disk");
        ann.request(chunk(4, 2, b"7890!")).await;
        assert_eq!(ann.reply(4).await["reason"], 404_102);
        assert_eq!(
            ann.reply(2).await["reason"],
            404_102,
            "the upload's stream ends"
        );
        assert_eq!(
            part_files(data.path()),
            0,
            "a refused upload leaves no file"
        );

        // A form: its files together must fit.
        let (status, _, body) = http_request(
            node.address,
            &form(&[
                ("identity", None, "anonymous:ann"),
                ("space", None, "files"),
                ("key", None, "box"),
                ("file", Some("a.csv"), "1,2,3,4"),
                ("file", Some("b.csv"), "5,6,7,8"),
            ]),
        )
        .await;
        assert_eq!((status, body.as_str()), (400, "404102"));
        assert_eq!(part_files(data.path()), 0);
        let (status, _, body) = http_request(
            node.address,
            &form(&[
                ("identity", None, "anonymous:ann"),
                ("space", None, "files"),
                ("key", None, "box"),
                ("file", Some("a.csv"), "1,2,3"),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            part_files(data.path()),
            0,
            "a kept file moved into the store"
        );
        node.task.abort();
    });
}

#[test]
fn an_attached_file_is_still_served_after_the_document_s_log_moves_on() {
    // Every round writes a snapshot and moves the document's entries to its log.
    let short_history = FILES.replace(
        "@static { create { return true; } invent { return true; } }",
        "@static { create { return true; } invent { return true; } maximum_history = 2; }",
    );
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("files", &short_history)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(1, "anonymous:ann", "files", "box").await;
        ann.request(start(2, "anonymous:ann", "box")).await;
        ann.item(2).await;
        ann.request(chunk(3, 2, b"kept")).await;
        outcome(&mut ann, 3).await;
        ann.request(json!({"method": "attachment/finish", "id": 4, "upload": 2}))
            .await;
        assert!(outcome(&mut ann, 4).await["response"]["assetId"].is_string());
        for (id, text) in [(5, "one"), (6, "two"), (7, "three")] {
            ann.request(
                json!({"method": "connection/send", "id": id, "connection": 1,
                "channel": "describe", "message": {"text": text}}),
            )
            .await;
            outcome(&mut ann, id).await;
        }
        let (status, _, body) = http_request(
            node.address,
            "GET /files/box/file HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "kept"));
        node.task.abort();
    });
}
