//! Bad input gets its error code and leaves the socket (where it can) and every other socket
//! usable, and the document unchanged.

mod support;

use serde_json::{Value as Json, json};
use support::{CHAT, Client, config, run, space};

/// A node serving the chat space from `data`.
async fn chat_node(data: &std::path::Path) -> adama_node::Running {
    adama_node::start(config(data, vec![space("chat", CHAT)]))
        .await
        .expect("the node starts")
}

/// A socket with the chat document `room` open as stream 2.
async fn chat_client(address: std::net::SocketAddr, who: &str, create: bool) -> Client {
    let mut client = Client::connect(address).await;
    if create {
        client.create_document(1, "chat", "room").await;
    }
    client
        .open(2, &format!("anonymous:{who}"), "chat", "room")
        .await;
    client
}

/// How many lines the chat holds, as a fresh viewer sees it.
async fn lines(address: std::net::SocketAddr) -> i64 {
    let mut viewer = Client::connect(address).await;
    let first = viewer.open(1, "anonymous:counter", "chat", "room").await;
    first["response"]["delta"]["data"]["lines"]
        .as_i64()
        .expect("a count")
}

async fn failure_of(client: &mut Client, request: Json) -> Json {
    let id = request["id"].as_i64().expect("an id");
    client.request(request).await;
    let reply = client.reply(id).await;
    assert!(reply.get("failure").is_some(), "a failure, not {reply}");
    reply["reason"].clone()
}

#[test]
fn each_bad_request_gets_its_code_and_the_socket_stays_usable() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = chat_node(data.path()).await;
        let mut ann = chat_client(node.address, "ann", true).await;
        let cases = [
            (json!({"id": 10, "method": "no/such-method"}), 945_213),
            (json!({"id": 11}), 213_708),
            (
                json!({"id": 12, "method": "connection/create", "identity": "anonymous:ann", "space": "nowhere", "key": "k"}),
                134_214,
            ),
            (
                json!({"id": 13, "method": "connection/create", "identity": "anonymous:ann", "space": "chat", "key": "absent"}),
                625_676,
            ),
            (
                json!({"id": 14, "method": "connection/create", "identity": "anonymous:ann", "space": "chat"}),
                466_947,
            ),
            (
                json!({"id": 15, "method": "connection/create", "identity": "anonymous:ann", "space": "chat", "key": "bad key!"}),
                919_676,
            ),
            (
                json!({"id": 16, "method": "connection/send", "connection": 99, "channel": "say", "message": {"body": "x"}}),
                457_745,
            ),
            (
                json!({"id": 17, "method": "connection/send-once", "connection": 99, "channel": "say", "dedupe": "d", "message": {}}),
                410_619,
            ),
            (
                json!({"id": 18, "method": "connection/update", "connection": 99, "viewer-state": {}}),
                438_302,
            ),
            (
                json!({"id": 19, "method": "connection/end", "connection": 99}),
                474_128,
            ),
            (
                json!({"id": 20, "method": "connection/send", "connection": 2, "channel": "say", "message": 5}),
                425_987,
            ),
            (
                json!({"id": 21, "method": "connection/send", "connection": 2, "channel": "say"}),
                425_987,
            ),
            (
                json!({"id": 22, "method": "connection/send", "connection": 2, "channel": "nope", "message": {"body": "x"}}),
                117_823,
            ),
            (
                json!({"id": 23, "method": "connection/send", "connection": 2, "channel": "say", "message": {"body": "   "}}),
                127_152,
            ),
            (
                json!({"id": 24, "method": "document/create", "identity": "anonymous:ann", "space": "chat", "key": "room", "arg": {}}),
                130_092,
            ),
            (
                json!({"id": 25, "method": "document/delete", "identity": "anonymous:ann", "space": "chat", "key": "absent"}),
                625_676,
            ),
            (
                json!({"id": 26, "method": "connection/create-via-domain", "identity": "anonymous:ann", "domain": "example.com"}),
                990_417,
            ),
        ];
        for (request, code) in cases {
            let reason = failure_of(&mut ann, request.clone()).await;
            assert_eq!(reason, code, "{request}");
        }
        // A message whose fields have other types than the channel's message is refused before
        // any code runs, and the document does not change.
        let reason = failure_of(
            &mut ann,
            json!({"id": 27, "method": "connection/send", "connection": 2, "channel": "say", "message": {"body": {"nested": true}}}),
        )
        .await;
        assert_eq!(reason, 145_627);
        // An oversized frame is refused, and the socket goes on.
        let padding = "x".repeat(5 * 1024 * 1024);
        ann.send_text(
            json!({"id": 28, "method": "connection/send", "connection": 2, "channel": "say", "message": {"body": padding}})
                .to_string(),
        )
        .await;
        assert_eq!(ann.reply(28).await["reason"], 413_413);
        let reply = ann.say(29, 2, "still here").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        assert_eq!(
            lines(node.address).await,
            1,
            "only the good send changed the document"
        );
        node.task.abort();
    });
}

#[test]
fn framing_errors_close_only_their_own_socket() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = chat_node(data.path()).await;
        let mut bystander = chat_client(node.address, "bo", true).await;
        let bad_frames = [
            ("{not json".to_owned(), 295_116),
            ("[1,2,3]".to_owned(), 295_116),
            (json!({"method": "connection/send"}).to_string(), 233_120),
        ];
        for (text, code) in bad_frames {
            let mut client = Client::connect(node.address).await;
            client.send_text(text.clone()).await;
            let frame = client.next().await.expect("a status frame");
            assert_eq!(
                frame,
                json!({"status": "disconnected", "reason": code}),
                "{text}"
            );
            assert!(
                client.next().await.is_none(),
                "the socket closes after {text}"
            );
        }
        let mut binary = Client::connect(node.address).await;
        use futures_util::SinkExt;
        binary
            .socket
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                vec![1, 2, 3].into(),
            ))
            .await
            .expect("sent");
        assert_eq!(
            binary.next().await.expect("a status frame"),
            json!({"status": "disconnected", "reason": 213_711})
        );
        // A pong without a ping is ignored.
        bystander.request(json!({"pong": 1.5})).await;
        let reply = bystander.say(3, 2, "unaffected").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        node.task.abort();
    });
}

#[test]
fn control_frames_are_answered_and_frames_that_break_the_protocol_close_their_socket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::Message;
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = chat_node(data.path()).await;
        let mut bystander = chat_client(node.address, "bo", true).await;
        // A WebSocket ping gets its pong, and the socket goes on.
        let mut pinger = Client::connect(node.address).await;
        pinger
            .socket
            .send(Message::Ping(b"are you there".to_vec().into()))
            .await
            .expect("sent");
        let pong = loop {
            match pinger.socket.next().await.expect("a frame").expect("read") {
                Message::Pong(payload) => break payload,
                Message::Text(_) => continue,
                other => panic!("not a pong: {other:?}"),
            }
        };
        assert_eq!(&pong[..], b"are you there");
        let reply = pinger.create_document(5, "chat", "other").await;
        assert!(reply.get("failure").is_none(), "{reply}");
        // A close is answered with a close.
        pinger.socket.close(None).await.expect("the close is sent");
        let mut answered = false;
        while let Some(frame) = pinger.socket.next().await {
            match frame {
                Ok(Message::Close(_)) => answered = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert!(answered, "the node answers a close with a close");
        // An unmasked frame from a client breaks RFC 6455: that socket closes.
        let mut raw = tokio::net::TcpStream::connect(node.address)
            .await
            .expect("a connection");
        raw.write_all(
            b"GET /~s HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("the handshake is sent");
        let mut unmasked = Vec::new();
        adama_node::websocket::encode(
            adama_node::websocket::TEXT,
            br#"{"id":1,"method":"stats"}"#,
            None,
            &mut unmasked,
        );
        raw.write_all(&unmasked).await.expect("the frame is sent");
        let mut received = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            raw.read_to_end(&mut received),
        )
        .await
        .expect("the node closes the socket");
        assert!(read.is_ok() || !received.is_empty());
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.starts_with("HTTP/1.1 101") && text.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{text}"
        );
        assert!(
            !text.contains("stream-count"),
            "the unmasked request was not served"
        );
        let reply = bystander.say(3, 2, "unaffected").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        node.task.abort();
    });
}

#[test]
fn a_flood_of_requests_is_answered_and_others_stay_served() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = chat_node(data.path()).await;
        let mut flooder = chat_client(node.address, "ann", true).await;
        let mut other = chat_client(node.address, "bo", false).await;
        let flood = 2_000;
        for index in 0..flood {
            flooder
                .request(
                    json!({"method": "connection/send", "id": 100 + index, "connection": 2,
                    "channel": "say", "message": {"body": format!("flood {index}")}}),
                )
                .await;
        }
        let reply = other.say(3, 2, "meanwhile").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        let mut acknowledged = 0;
        for index in 0..flood {
            let reply = flooder.reply(100 + index).await;
            if reply.get("failure").is_some() {
                assert_eq!(reply["reason"], 123_004, "{reply}");
            } else {
                acknowledged += 1;
            }
        }
        flooder.seen.clear();
        assert!(acknowledged > 0);
        assert_eq!(
            lines(node.address).await,
            acknowledged + 1,
            "every acknowledged send, no other"
        );
        node.task.abort();
    });
}

#[test]
fn a_client_that_stops_reading_is_cut_off_and_nothing_else_suffers() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut settings = config(data.path(), vec![space("chat", CHAT)]);
        settings.max_queued_frames = 32;
        let node = adama_node::start(settings).await.expect("the node starts");
        // This one opens a view and then never reads again.
        let _silent = chat_client(node.address, "sleepy", true).await;
        let mut talker = chat_client(node.address, "ann", false).await;
        let body = "y".repeat(64 * 1024);
        let mut index = 0;
        // Each send pushes a large delta at the silent socket until its queue overflows.
        while index < 400 {
            let reply = talker.say(10 + index, 2, &body).await;
            assert!(reply["response"]["seq"].is_i64(), "{reply}");
            index += 1;
            talker.seen.clear();
            if node
                .node
                .metrics
                .streams
                .load(std::sync::atomic::Ordering::Relaxed)
                == 1
            {
                break;
            }
        }
        assert_eq!(
            node.node
                .metrics
                .streams
                .load(std::sync::atomic::Ordering::Relaxed),
            1,
            "the silent socket's stream was closed"
        );
        let reply = talker.say(9, 2, "still served").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        node.task.abort();
    });
}

#[test]
fn two_sockets_creating_one_document_at_once_get_one_success() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = chat_node(data.path()).await;
        let mut first = Client::connect(node.address).await;
        let mut second = Client::connect(node.address).await;
        let create = json!({"method": "document/create", "id": 1, "identity": "anonymous:ann",
            "space": "chat", "key": "raced", "arg": {}});
        first.request(create.clone()).await;
        second.request(create).await;
        let replies = [first.reply(1).await, second.reply(1).await];
        let successes = replies
            .iter()
            .filter(|reply| reply.get("deliver").is_some())
            .count();
        assert_eq!(successes, 1, "{replies:?}");
        assert!(
            replies.iter().any(|reply| reply["reason"] == 130_092),
            "{replies:?}"
        );
        node.task.abort();
    });
}
