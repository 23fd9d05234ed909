//! A node on 127.0.0.1 with an ephemeral port, and a WebSocket client that speaks the protocol.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use adama_node::{Config, SpaceSource};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

pub const CHAT: &str = include_str!("../../../examples/chat/chat.a");
pub const COUNTER: &str = include_str!("../../../examples/counter/counter.a");

/// How long a test waits for one frame.
const FRAME_WAIT: Duration = Duration::from_secs(10);

pub fn space(name: &str, text: &str) -> SpaceSource {
    SpaceSource {
        name: name.to_owned(),
        file: format!("{name}.a"),
        text: text.to_owned(),
        watch: None,
        budget: Default::default(),
    }
}

pub fn config(data: &Path, spaces: Vec<SpaceSource>) -> Config {
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    Config::new(listen, data.to_owned(), spaces)
}

/// Runs a test body on a runtime like the node's own (deep stacks).
pub fn run<F: std::future::Future<Output = ()>>(body: F) {
    let runtime = adama_node::runtime().expect("a runtime");
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), body)
            .await
            .expect("the test finishes in time");
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Client {
    pub socket: Socket,
    /// Frames read while waiting for another one.
    pub seen: Vec<Json>,
}

impl Client {
    /// Connects and reads the `connected` status frame.
    pub async fn connect(address: SocketAddr) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
            .await
            .expect("the socket opens");
        let mut client = Client {
            socket,
            seen: Vec::new(),
        };
        let hello = client.next().await.expect("a first frame");
        assert_eq!(hello["status"], "connected", "{hello}");
        client
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("the frame is sent");
    }

    pub async fn request(&mut self, request: Json) {
        self.send_text(request.to_string()).await;
    }

    /// The next frame that is not a ping; `None` when the socket closed.
    pub async fn next(&mut self) -> Option<Json> {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.socket.next())
                .await
                .expect("a frame arrives in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Json = serde_json::from_str(text.as_str()).expect("frames are JSON");
                    if std::env::var_os("ADAMA_TEST_FRAMES").is_some() {
                        eprintln!("<- {frame}");
                    }
                    if frame.get("ping").is_some() {
                        continue;
                    }
                    return Some(frame);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads frames until one matches, keeping the others.
    pub async fn until(&mut self, matches: impl Fn(&Json) -> bool) -> Json {
        if let Some(position) = self.seen.iter().position(&matches) {
            return self.seen.remove(position);
        }
        loop {
            let frame = self.next().await.expect("the socket stays open");
            if matches(&frame) {
                return frame;
            }
            self.seen.push(frame);
        }
    }

    /// The frames that arrive, in order, up to and with the first that matches.
    pub async fn frames_through(&mut self, last: impl Fn(&Json) -> bool) -> Vec<Json> {
        let mut frames = Vec::new();
        while frames.last().is_none_or(|frame| !last(frame)) {
            frames.push(self.next().await.expect("the socket stays open"));
        }
        frames
    }

    /// The terminal frame (deliver done or failure) of request `id`.
    pub async fn reply(&mut self, id: i64) -> Json {
        self.until(|frame| {
            (frame["deliver"] == id && frame["done"] == true) || frame["failure"] == id
        })
        .await
    }

    /// The next stream item of `stream`.
    pub async fn item(&mut self, stream: i64) -> Json {
        self.until(|frame| frame["deliver"] == stream && frame["done"] == false)
            .await
    }

    pub async fn create_document(&mut self, id: i64, space: &str, key: &str) -> Json {
        self.request(
            json!({"method": "document/create", "id": id, "identity": "anonymous:ann",
            "space": space, "key": key, "arg": {}}),
        )
        .await;
        self.reply(id).await
    }

    pub async fn open(&mut self, id: i64, identity: &str, space: &str, key: &str) -> Json {
        self.request(
            json!({"method": "connection/create", "id": id, "identity": identity,
            "space": space, "key": key, "viewer-state": {}}),
        )
        .await;
        self.item(id).await
    }

    pub async fn say(&mut self, id: i64, connection: i64, body: &str) -> Json {
        self.request(
            json!({"method": "connection/send", "id": id, "connection": connection,
            "channel": "say", "message": {"body": body}}),
        )
        .await;
        self.reply(id).await
    }
}

/// One raw HTTP/1.1 request over a fresh connection: (status, head lower-cased, body).
pub async fn http_request(address: SocketAddr, request: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("reads");
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_owned())
}

/// A request with a body, closing the connection after the response.
pub fn http_with_body(method: &str, path: &str, headers: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
