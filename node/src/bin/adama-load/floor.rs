//! `--measure floor`: the sends measure against a server that does nothing but the transport.
//!
//! The server (this binary, started with `--serve-floor`) speaks just the part of the protocol
//! the sends measure uses, over the same WebSocket framing and loopback TCP as the node: each
//! document is a counter in memory, a send bumps it in the reading task and writes every
//! viewer's delta (the sender's with its acknowledgement, in one write), with no document
//! task, no program, no store and no fsync. Like any server of the protocol it pings each
//! socket once a second (the client answers with a pong). What the measure reaches against it is what this
//! machine's transport allows with the load client beside it: a bound on any node's figures.
//! `--floor-work US` adds that much CPU work to each send (outside any lock), to see how much
//! a node may spend on a send beside the transport before a latency figure is lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::wire::{Outbox, Reader};
use adama_node::lock;

/// The first argument that makes this binary the floor server for a parent load client.
pub const SERVE_FLOOR: &str = "--serve-floor";

/// A counter and its viewers' sockets.
#[derive(Default)]
struct Counter {
    value: i64,
    seq: i64,
    viewers: Vec<Arc<Outbox>>,
}

/// The documents by key; each has a lock of its own, held while its frames are written (as a
/// document's task writes its round's), so that sends to different documents run in parallel.
type Counters = Arc<Mutex<HashMap<String, Arc<Mutex<Counter>>>>>;

fn counter(counters: &Counters, key: &str) -> Arc<Mutex<Counter>> {
    Arc::clone(lock(counters).entry(key.to_owned()).or_default())
}

/// The child's side: serves on a free loopback port until the parent closes stdin.
pub async fn serve(extra: Option<String>) {
    let extra = Duration::from_micros(extra.and_then(|us| us.parse().ok()).unwrap_or(0));
    let bound = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener.local_addr().map(|address| (listener, address)),
        Err(error) => Err(error),
    };
    let listener = match bound {
        Ok((listener, address)) => {
            println!("listening {address}");
            listener
        }
        Err(error) => {
            println!("error {error}");
            std::process::exit(2);
        }
    };
    let accepting = tokio::spawn(accept(listener, extra));
    crate::target::wait_for_parent().await;
    accepting.abort();
}

/// Sockets to ping, in 100 slots of which one is pinged every 10 ms: each socket once a
/// second, as the protocol asks of a server (and as the node does, from one clock).
type Pinged = Arc<Mutex<Vec<Vec<std::sync::Weak<Outbox>>>>>;

const PING_SLOTS: usize = 100;

async fn accept(listener: TcpListener, extra: Duration) {
    let counters = Counters::default();
    let pinged: Pinged = Arc::new(Mutex::new(vec![Vec::new(); PING_SLOTS]));
    tokio::spawn(ping(Arc::clone(&pinged)));
    let mut opened = 0;
    while let Ok((stream, _)) = listener.accept().await {
        let slot = opened % PING_SLOTS;
        opened += 1;
        tokio::spawn(socket(
            stream,
            Arc::clone(&counters),
            extra,
            (Arc::clone(&pinged), slot),
        ));
    }
}

async fn ping(pinged: Pinged) {
    let began = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    for slot in (0..PING_SLOTS).cycle() {
        ticks.tick().await;
        let frame = format!(
            r#"{{"ping":{},"latency":"0"}}"#,
            began.elapsed().as_millis()
        );
        lock(&pinged)[slot].retain(|socket| match socket.upgrade() {
            Some(outbox) => outbox.text(&frame).is_ok(),
            None => false,
        });
    }
}

/// Answers the opening handshake; the reader of what follows it.
async fn handshake(mut stream: TcpStream) -> Result<(Reader, Arc<Outbox>), String> {
    stream
        .set_nodelay(true)
        .map_err(|error| error.to_string())?;
    let (buffer, head_end, end) = crate::wire::read_head(&mut stream).await?;
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .ok_or("a handshake without a key")?;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        adama_node::websocket::accept_key(key.as_bytes())
    );
    stream
        .write_all(answer.as_bytes())
        .await
        .map_err(|error| error.to_string())?;
    let (read, write) = stream.into_split();
    Ok((
        Reader::server(read, buffer, head_end, end),
        Outbox::server(write),
    ))
}

/// Spends `time` of CPU: a model of what a node does beside moving the frames.
fn work(time: Duration) {
    let began = Instant::now();
    while began.elapsed() < time {
        std::hint::spin_loop();
    }
}

async fn socket(stream: TcpStream, counters: Counters, extra: Duration, pinged: (Pinged, usize)) {
    let Ok((mut reader, outbox)) = handshake(stream).await else {
        return;
    };
    lock(&pinged.0)[pinged.1].push(Arc::downgrade(&outbox));
    if outbox
        .text(r#"{"status":"connected","version":"floor","assets":false}"#)
        .is_err()
    {
        return;
    }
    // The document this socket's stream views.
    let mut viewing: Option<Arc<Mutex<Counter>>> = None;
    while let Ok(text) = reader.message(&outbox).await {
        // Pongs are read and parsed, as a server that measures latency does, and not answered.
        let Ok(request) = serde_json::from_str::<Json>(text) else {
            continue;
        };
        if request.get("pong").is_some() {
            continue;
        }
        let id = request["id"].as_i64().unwrap_or_default();
        let key = request["key"].as_str().unwrap_or_default();
        let outcome = match request["method"].as_str().unwrap_or_default() {
            "document/create" => {
                counter(&counters, key);
                outbox.text(&format!(
                    r#"{{"deliver":{id},"done":true,"response":{{}}}}"#
                ))
            }
            "connection/create" => {
                let document = counter(&counters, key);
                let mut state = lock(&document);
                state.viewers.push(Arc::clone(&outbox));
                let first = outbox.text(&format!(
                    r#"{{"deliver":{id},"done":false,"response":{{"data":{{"count":{}}},"seq":{}}}}}"#,
                    state.value, state.seq
                ));
                drop(state);
                viewing = Some(document);
                first
            }
            "connection/send" => match &viewing {
                Some(document) => {
                    let by = request["message"]["by"].as_i64().unwrap_or(1);
                    work(extra);
                    let mut state = lock(document);
                    state.value += by;
                    state.seq += 1;
                    let delta = format!(
                        r#"{{"deliver":1,"done":false,"response":{{"data":{{"count":{}}},"seq":{}}}}}"#,
                        state.value, state.seq
                    );
                    let ack = format!(
                        r#"{{"deliver":{id},"done":true,"response":{{"seq":{}}}}}"#,
                        state.seq
                    );
                    for viewer in &state.viewers {
                        if Arc::ptr_eq(viewer, &outbox) {
                            let _ = viewer.texts(&[&delta, &ack]);
                        } else {
                            let _ = viewer.text(&delta);
                        }
                    }
                    Ok(())
                }
                None => outbox.text(&format!(
                    r#"{{"failure":{id},"reason":625676,"retry":false}}"#
                )),
            },
            _ => outbox.text(&format!(
                r#"{{"failure":{id},"reason":999999,"retry":false}}"#
            )),
        };
        if outcome.is_err() {
            break;
        }
    }
    if let Some(document) = viewing {
        lock(&document)
            .viewers
            .retain(|viewer| !Arc::ptr_eq(viewer, &outbox));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, Kind};

    async fn viewer(address: &str, who: &str) -> (Reader, Arc<Outbox>) {
        let (mut reader, outbox) = wire::open(address).await.expect("a socket");
        let open = format!(
            r#"{{"method":"connection/create","id":1,"identity":"anonymous:{who}","space":"counter","key":"d0","viewer-state":{{}}}}"#
        );
        outbox.text(&open).expect("the open request written");
        let (kind, _) = reader.next(&outbox).await.expect("the first delta");
        assert_eq!(kind, Kind::Item(1));
        (reader, outbox)
    }

    #[tokio::test]
    async fn a_send_reaches_every_viewer_and_is_acknowledged_after_its_delta() {
        tokio::time::timeout(Duration::from_secs(10), fan_out())
            .await
            .expect("every frame within ten seconds");
    }

    async fn fan_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address").to_string();
        tokio::spawn(accept(listener, Duration::ZERO));
        let (mut sender, sender_out) = viewer(&address, "a").await;
        let (mut other, other_out) = viewer(&address, "b").await;
        let send = r#"{"method":"connection/send","id":7,"connection":1,"channel":"bump","message":{"by":2}}"#;
        sender_out.text(send).expect("the send written");

        let (kind, text) = sender.next(&sender_out).await.expect("the sender's delta");
        assert_eq!(kind, Kind::Item(1));
        assert!(text.contains(r#""count":2"#), "{text}");
        let (kind, _) = sender.next(&sender_out).await.expect("the acknowledgement");
        assert_eq!(kind, Kind::Done(7));
        let (kind, text) = other
            .next(&other_out)
            .await
            .expect("the other viewer's delta");
        assert_eq!(kind, Kind::Item(1));
        assert!(text.contains(r#""count":2"#), "{text}");
    }
}
