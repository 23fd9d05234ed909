//! A real node on 127.0.0.1, driven over WebSocket as a browser would.

mod support;

use serde_json::json;
use support::{CHAT, Client, config, run, space};

#[test]
fn a_client_connects_sends_and_every_viewer_receives_its_delta() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        let created = ann.create_document(1, "chat", "room1").await;
        assert_eq!(created, json!({"deliver": 1, "done": true, "response": {}}));
        let first = ann.open(2, "anonymous:ann", "chat", "room1").await;
        assert_eq!(first["response"]["delta"]["data"]["lines"], 0, "{first}");

        let mut bo = Client::connect(node.address).await;
        let first = bo.open(1, "anonymous:bo", "chat", "room1").await;
        assert_eq!(first["response"]["delta"]["data"]["lines"], 0, "{first}");

        let reply = ann.say(3, 2, "hello").await;
        let seq = reply["response"]["seq"].as_i64().expect("a seq");
        assert!(seq > 0, "{reply}");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["lines"] == 1
            })
            .await;
        assert_eq!(
            delta["response"]["delta"]["data"]["chat"]["1"]["body"],
            "hello"
        );
        let delta = bo
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["data"]["lines"] == 1
            })
            .await;
        assert_eq!(
            delta["response"]["delta"]["data"]["chat"]["1"]["who"]["agent"],
            "ann"
        );

        // Ending the stream answers the request, then ends the stream.
        ann.request(json!({"method": "connection/end", "id": 4, "connection": 2}))
            .await;
        assert_eq!(
            ann.reply(4).await,
            json!({"deliver": 4, "done": true, "response": {}})
        );
        assert_eq!(
            ann.until(|frame| frame["deliver"] == 2 && frame["done"] == true)
                .await,
            json!({"deliver": 2, "done": true})
        );
        node.task.abort();
    });
}

#[test]
fn a_restarted_node_keeps_every_acknowledged_send() {
    let data = tempfile::tempdir().expect("a data directory");
    let sent = 25;
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "chat", "kept").await;
        ann.open(2, "anonymous:ann", "chat", "kept").await;
        // Sends go out back to back; each acknowledgement means durable.
        for index in 0..sent {
            ann.request(
                json!({"method": "connection/send", "id": 10 + index, "connection": 2,
                "channel": "say", "message": {"body": format!("line {index}")}}),
            )
            .await;
        }
        for index in 0..sent {
            let reply = ann.reply(10 + index).await;
            assert!(reply["response"]["seq"].is_i64(), "{reply}");
        }
        node.task.abort();
    });
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node restarts on the same data");
        let mut bo = Client::connect(node.address).await;
        let first = bo.open(1, "anonymous:bo", "chat", "kept").await;
        let data = &first["response"]["delta"]["data"];
        assert_eq!(data["lines"], sent, "{first}");
        assert_eq!(
            data["chat"][sent.to_string()]["body"],
            format!("line {}", sent - 1)
        );
        // The document goes on from where it was.
        let reply = bo.say(2, 1, "after the restart").await;
        assert!(reply["response"]["seq"].as_i64().expect("a seq") > sent);
        node.task.abort();
    });
}

#[test]
fn a_socket_is_pinged_once_a_second_from_a_second_after_it_opens() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node starts");
        let opened = std::time::Instant::now();
        let mut client = Client::connect(node.address).await;
        let mut pings = Vec::new();
        while pings.len() < 2 {
            let message = client.socket.next().await.expect("the socket stays open");
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
            let Some(ping) = frame["ping"].as_i64() else {
                continue;
            };
            assert!(frame["latency"].is_string(), "the latency is text: {frame}");
            pings.push((ping, opened.elapsed()));
            let pong = json!({"ping": ping, "latency": frame["latency"], "pong": 1.5});
            client
                .socket
                .send(Message::Text(pong.to_string().into()))
                .await
                .expect("the pong is sent");
        }
        let ((first, first_at), (second, second_at)) = (pings[0], pings[1]);
        assert!(
            first >= 990 && first_at.as_millis() >= 990,
            "the first ping comes a second after the socket opened: {pings:?}"
        );
        assert!(
            (900..=1500).contains(&(second - first)),
            "pings come once a second: {pings:?}"
        );
        assert!(second_at > first_at, "{pings:?}");
        node.task.abort();
    });
}

#[test]
fn a_request_that_changes_nothing_sends_no_viewer_an_item() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "chat", "quiet").await;
        ann.open(2, "anonymous:ann", "chat", "quiet").await;
        let mut bo = Client::connect(node.address).await;
        bo.open(1, "anonymous:bo", "chat", "quiet").await;
        // Bo's arrival reaches ann's view (an invalidation); after it, all is quiet.
        ann.say(3, 2, "first").await;
        ann.until(|frame| {
            frame["deliver"] == 2 && frame["response"]["delta"]["data"]["lines"] == 1
        })
        .await;
        bo.until(|frame| frame["deliver"] == 1 && frame["response"]["delta"]["data"]["lines"] == 1)
            .await;

        ann.seen.clear();
        bo.seen.clear();
        // A refused send, an update with the same viewer state and a check of attachments
        // change nothing: their replies come, and no view gets an item for them.
        let refused = ann.say(4, 2, " ").await;
        assert!(refused["failure"] == 4, "{refused}");
        ann.request(
            json!({"method": "connection/update", "id": 5, "connection": 2, "viewer-state": {}}),
        )
        .await;
        ann.reply(5).await;
        ann.request(json!({"method": "connection/can-attach", "id": 6, "connection": 2}))
            .await;
        ann.reply(6).await;
        ann.say(7, 2, "second").await;
        let next = ann.item(2).await;
        assert_eq!(next["response"]["delta"]["data"]["lines"], 2, "{next}");
        let next = bo.item(1).await;
        assert_eq!(next["response"]["delta"]["data"]["lines"], 2, "{next}");
        node.task.abort();
    });
}

/// A room that takes sends from principals without a stream (`@static send`).
const POSTS: &str = r#"
@static {
  create { return true; }
  send { return true; }
}
@connected { return true; }
message Say { string body; }
record Line { public int id; public string body; }
table<Line> _lines;
public formula chat = iterate _lines order by id asc;
public formula lines = _lines.size();
channel say(Say s) { _lines <- {body: s.body}; }
"#;

#[test]
fn a_direct_send_reaches_the_document_without_a_stream_with_or_without_a_dedupe_marker() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", POSTS)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "chat", "post").await;
        ann.open(2, "anonymous:ann", "chat", "post").await;
        let mut bo = Client::connect(node.address).await;
        let send = |id: i64, method: &str, body: &str| {
            json!({"method": method, "id": id, "identity": "anonymous:bo", "space": "chat",
                "key": "post", "channel": "say", "message": {"body": body}})
        };
        for (id, method) in [(1, "message/direct-send"), (2, "message/direct-send-once")] {
            bo.request(send(id, method, "hi")).await;
            let reply = bo.reply(id).await;
            assert_eq!(reply["done"], true, "{method}: {reply}");
        }
        let mut marked = send(3, "message/direct-send-once", "once");
        marked["dedupe"] = json!("m-1");
        bo.request(marked.clone()).await;
        assert_eq!(bo.reply(3).await["done"], true);
        marked["id"] = json!(4);
        bo.request(marked).await;
        // The same marker again is a duplicate (spec §2.13).
        let again = bo.reply(4).await;
        assert_eq!(again["reason"], 143_407, "{again}");
        let seen = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["lines"] == 3
            })
            .await;
        assert_eq!(
            seen["response"]["delta"]["data"]["chat"]["3"]["body"], "once",
            "{seen}"
        );
        node.task.abort();
    });
}

const CONTROL: &str = r#"
@static { create { return true; } }
@connected { return true; }
public int n;
message Empty {}
message Kick { principal who; }
channel nudge(Empty e) {
  n = n + 1;
  ViewState.goto("/next");
  ViewState.log("nudged");
}
channel kick(Kick k) { Document.disconnect(k.who); }
channel end(Empty e) { Document.destroy(); }
channel tick(Empty e) { n = n + 1; }
channel leave(Empty e) { ViewState.goto("/login"); Document.disconnect(@who); }
message Pick { int v; }
channel<Pick> picks;
principal asked;
channel wait(Empty e) { asked = @who; transition #waiting; }
#waiting { future<Pick> p = picks.fetch(asked); n = n + p.await().v; ViewState.log("picked"); }
"#;

#[test]
fn code_pushes_view_state_items_kicks_principals_and_destroys_its_document() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("control", CONTROL)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "control", "room").await;
        ann.open(2, "anonymous:ann", "control", "room").await;
        let mut bo = Client::connect(node.address).await;
        bo.open(1, "anonymous:bo", "control", "room").await;
        let send = |id: i64, channel: &str, message: serde_json::Value| {
            json!({"method": "connection/send", "id": id, "connection": 2, "channel": channel,
                "message": message})
        };

        // The sender's stream gets the items, after the round's delta and before the reply; the
        // other viewer none.
        ann.seen.clear();
        ann.request(send(3, "nudge", json!({}))).await;
        let frames = ann.frames_through(|frame| frame["deliver"] == 3).await;
        let at = |wanted: &dyn Fn(&serde_json::Value) -> bool| {
            frames
                .iter()
                .position(wanted)
                .unwrap_or_else(|| panic!("in {frames:?}"))
        };
        let delta = at(&|frame| frame["response"]["delta"]["data"]["n"] == 1);
        let goto = at(&|frame| frame["response"]["delta"] == json!({"goto": "/next"}));
        let log = at(&|frame| frame["response"]["delta"] == json!({"log": "nudged"}));
        assert!(delta < goto && goto < log, "{frames:?}");
        assert!(
            frames
                .iter()
                .all(|frame| frame["deliver"] == 2 || frame["deliver"] == 3)
        );
        ann.request(send(4, "tick", json!({}))).await;
        ann.reply(4).await;
        let seen = bo
            .frames_through(|frame| frame["response"]["delta"]["data"]["n"] == 2)
            .await;
        assert!(
            seen.iter()
                .all(|frame| frame["response"]["delta"].get("goto").is_none()
                    && frame["response"]["delta"].get("log").is_none()),
            "{seen:?}"
        );

        // Code that runs for no one reaches no client, even in the batch of ann's send: the
        // state machine waits for ann's pick and goes on when her send delivers it.
        ann.request(send(5, "wait", json!({}))).await;
        ann.reply(5).await;
        ann.until(|frame| frame["response"]["delta"]["outstanding"][0]["channel"] == "picks")
            .await;
        ann.seen.clear();
        ann.request(send(6, "picks", json!({"v": 100}))).await;
        let frames = ann.frames_through(|frame| frame["deliver"] == 6).await;
        assert!(
            frames
                .iter()
                .any(|frame| frame["response"]["delta"]["data"]["n"] == 102),
            "the pick went through in the send's round: {frames:?}"
        );
        assert!(
            frames
                .iter()
                .all(|frame| frame["response"]["delta"].get("log").is_none()),
            "{frames:?}"
        );

        // A kick: bo's stream is told, then fails with 403500, and takes no more sends.
        ann.request(send(
            7,
            "kick",
            json!({"who": {"agent": "bo", "authority": "anonymous"}}),
        ))
        .await;
        assert_eq!(ann.reply(7).await["done"], true);
        let told = bo
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["force-disconnect"] == true
            })
            .await;
        assert_eq!(told["done"], false);
        assert_eq!(
            bo.reply(1).await,
            json!({"failure": 1, "reason": 403_500, "retry": false})
        );
        bo.request(
            json!({"method": "connection/send", "id": 2, "connection": 1,
            "channel": "nudge", "message": {}}),
        )
        .await;
        assert_eq!(bo.reply(2).await["reason"], 457_745);

        // Logging out: a view-state item asked before the kick of its own sender arrives
        // before the kick.
        let mut dee = Client::connect(node.address).await;
        dee.open(1, "anonymous:dee", "control", "room").await;
        dee.seen.clear();
        dee.request(
            json!({"method": "connection/send", "id": 2, "connection": 1,
            "channel": "leave", "message": {}}),
        )
        .await;
        let frames = dee.frames_through(|frame| frame["failure"] == 1).await;
        let goto = frames
            .iter()
            .position(|frame| frame["response"]["delta"] == json!({"goto": "/login"}));
        let kicked = frames
            .iter()
            .position(|frame| frame["response"]["delta"] == json!({"force-disconnect": true}));
        assert!(goto.is_some() && goto < kicked, "{frames:?}");
        assert_eq!(frames.last().expect("the failure")["reason"], 403_500);

        // Destroy: the document is deleted with the round, and the streams end.
        ann.request(send(8, "end", json!({}))).await;
        assert_eq!(ann.reply(8).await["done"], true);
        assert_eq!(
            ann.until(|frame| frame["deliver"] == 2 && frame["done"] == true)
                .await,
            json!({"deliver": 2, "done": true})
        );
        let mut carl = Client::connect(node.address).await;
        carl.request(
            json!({"method": "connection/create", "id": 1, "identity": "anonymous:carl",
            "space": "control", "key": "room", "viewer-state": {}}),
        )
        .await;
        assert_eq!(carl.reply(1).await["reason"], 625_676);
        node.task.abort();
    });
}

#[test]
fn a_stream_opened_and_ended_in_one_write_still_gets_its_first_item() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("chat", CHAT)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "chat", "brief").await;
        // Both requests leave in one write, so the document takes them in one round.
        let open = json!({"method": "connection/create", "id": 2, "identity": "anonymous:ann",
            "space": "chat", "key": "brief", "viewer-state": {}});
        let end = json!({"method": "connection/end", "id": 3, "connection": 2});
        for request in [open, end] {
            ann.socket
                .feed(Message::Text(request.to_string().into()))
                .await
                .expect("queued");
        }
        ann.socket.flush().await.expect("written");
        let first = ann.next().await.expect("a frame");
        assert_eq!(first["deliver"], 2, "{first}");
        assert_eq!(first["response"]["delta"]["data"]["lines"], 0, "{first}");
        assert_eq!(
            ann.reply(3).await,
            json!({"deliver": 3, "done": true, "response": {}})
        );
        assert_eq!(
            ann.until(|frame| frame["deliver"] == 2 && frame["done"] == true)
                .await,
            json!({"deliver": 2, "done": true})
        );
        node.task.abort();
    });
}
