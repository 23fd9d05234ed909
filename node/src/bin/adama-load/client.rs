//! The client side of the protocol, as light as a load client needs: frames are read for their
//! ids only, and pings are answered.

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the load client reads of a frame; the rest is skipped without being built.
#[derive(Debug, Deserialize)]
pub struct Frame {
    pub deliver: Option<i64>,
    pub failure: Option<i64>,
    pub ping: Option<i64>,
    pub status: Option<String>,
    pub reason: Option<i64>,
    #[serde(default)]
    pub done: bool,
}

/// Opens a socket at `/~s` and waits for its `connected` status.
pub async fn open(address: &str) -> Result<Socket, String> {
    // A small read buffer: the default (128 KiB) is zeroed on every read.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{address}/~s"),
        Some(config),
        true,
    )
    .await
    .map_err(|error| format!("cannot open a socket: {error}"))?;
    match read(&mut socket).await {
        Some((frame, _)) if frame.status.as_deref() == Some("connected") => Ok(socket),
        Some((_, text)) => Err(format!("the node greeted with {text}")),
        None => Err("the socket closed before its greeting".into()),
    }
}

pub async fn send(socket: &mut Socket, request: &Json) -> Result<(), String> {
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .map_err(|error| format!("a send failed: {error}"))
}

/// The next frame that is not a ping (pings are answered), with its text.
pub async fn read(socket: &mut Socket) -> Option<(Frame, String)> {
    let (frame, text) = next(socket).await?;
    Some((frame, text.as_str().to_owned()))
}

/// The next frame that is not a ping (pings are answered), with its text as received (not
/// copied: most frames are read for their ids only).
pub async fn next(socket: &mut Socket) -> Option<(Frame, Utf8Bytes)> {
    loop {
        let message = socket.next().await?.ok()?;
        let Some((frame, text)) = parse(message) else {
            continue;
        };
        if let Some(ping) = frame.ping {
            socket.send(pong(ping)).await.ok()?;
            continue;
        }
        return Some((frame, text));
    }
}

/// A text message's frame; `None` for other messages and for text that is not a frame.
pub fn parse(message: Message) -> Option<(Frame, Utf8Bytes)> {
    let Message::Text(text) = message else {
        return None;
    };
    let frame = serde_json::from_str(text.as_str()).ok()?;
    Some((frame, text))
}

/// The answer to a ping.
pub fn pong(ping: i64) -> Message {
    Message::Text(format!("{{\"ping\":{ping},\"pong\":0}}").into())
}

/// Opens a stream on a counter document (`connection/create` with `id`).
pub async fn connect(socket: &mut Socket, id: i64, key: &str, who: &str) -> Result<(), String> {
    let open = json!({"method": "connection/create", "id": id,
        "identity": format!("anonymous:{who}"), "space": "counter", "key": key,
        "viewer-state": {}});
    send(socket, &open).await
}

/// Creates counter documents `d0…` over one socket (a socket may have 512 requests in flight).
pub async fn create_documents(address: &str, documents: usize) -> Result<(), String> {
    let mut socket = open(address).await?;
    let all: Vec<usize> = (0..documents).collect();
    for chunk in all.chunks(256) {
        for document in chunk {
            let create = json!({"method": "document/create", "id": document + 1,
                "identity": "anonymous:bench", "space": "counter",
                "key": format!("d{document}"), "arg": {}});
            send(&mut socket, &create).await?;
        }
        let mut answered = 0;
        while answered < chunk.len() {
            let (frame, text) = read(&mut socket)
                .await
                .ok_or("the socket closed while creating documents")?;
            if frame.failure.is_some() {
                // 130092: it exists already (a node given by --connect may have it).
                if frame.reason != Some(130_092) {
                    return Err(format!("a creation failed: {text}"));
                }
            }
            if frame.deliver.is_some() || frame.failure.is_some() {
                answered += 1;
            }
        }
    }
    Ok(())
}

/// One HTTP/1.1 request to the node; the status and the body.
pub async fn http(
    address: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|error| format!("cannot reach {address}: {error}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| format!("cannot send to {address}: {error}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|error| format!("cannot read from {address}: {error}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("a response without a head")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("a response without a status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
