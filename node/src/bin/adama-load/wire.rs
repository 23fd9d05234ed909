//! The WebSocket client of the sends measure, as thin as a load client can be and still
//! measure right: a socket is a TCP stream read by one task into a buffer it keeps, its frames
//! cut out where they lie and classified by their first bytes (an acknowledgement, a stream's
//! item, a failure, a ping), and its requests written straight from the caller, without a task
//! or a lock held across a wake-up. With ten viewers per document, reading their deltas is most
//! of what the client does, so it costs the machine (which the node shares) as little as this.

use std::sync::{Arc, Mutex};

use adama_node::websocket::{self, CLOSE, CONTINUATION, PING, PONG, TEXT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::client;
use adama_node::lock;

/// The key of the opening handshake; the node's answer must match it.
const KEY: &str = "YWRhbWEtbG9hZC1jbGllbnQ=";
/// The read buffer a socket starts with; a larger message grows it.
const READ_BUFFER: usize = 4096;

/// What a frame from the node is, read from its first bytes when it has the node's usual
/// shape, else from its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{"deliver":ID,"done":true…}`: a request answered (or a stream ended).
    Done(i64),
    /// `{"deliver":ID,"done":false…}`: a stream's item (a view's delta).
    Item(i64),
    /// `{"failure":ID…}`.
    Failure(i64),
    /// `{"ping":N…}`: answered with a pong.
    Ping(i64),
    /// `{"status":"connected"…}`.
    Connected,
    /// Anything else (another status, text that is not a frame).
    Other,
}

/// Reads the leading integer of `text`; the integer and what follows it.
fn leading_integer(text: &str) -> Option<(i64, &str)> {
    let digits = text
        .char_indices()
        .find(|&(at, c)| !(c.is_ascii_digit() || (at == 0 && c == '-')))
        .map_or(text.len(), |(at, _)| at);
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

pub fn classify(text: &str) -> Kind {
    if let Some(rest) = text.strip_prefix("{\"deliver\":")
        && let Some((id, rest)) = leading_integer(rest)
    {
        if rest.starts_with(",\"done\":true") {
            return Kind::Done(id);
        }
        if rest.starts_with(",\"done\":false") {
            return Kind::Item(id);
        }
    }
    if let Some(rest) = text.strip_prefix("{\"ping\":")
        && let Some((ping, _)) = leading_integer(rest)
    {
        return Kind::Ping(ping);
    }
    if let Some(rest) = text.strip_prefix("{\"failure\":")
        && let Some((id, _)) = leading_integer(rest)
    {
        return Kind::Failure(id);
    }
    // Another order of the keys, or another frame: the JSON decides.
    match serde_json::from_str::<client::Frame>(text) {
        Ok(frame) => match (frame.deliver, frame.failure, frame.ping) {
            (Some(id), _, _) if frame.done => Kind::Done(id),
            (Some(id), _, _) => Kind::Item(id),
            (_, Some(id), _) => Kind::Failure(id),
            (_, _, Some(ping)) => Kind::Ping(ping),
            _ if frame.status.as_deref() == Some("connected") => Kind::Connected,
            _ => Kind::Other,
        },
        Err(_) => Kind::Other,
    }
}

/// A socket's sending half. A frame is written at once when the socket takes it; what it does
/// not take waits, in order, for a task that writes it when the socket is writable again.
#[derive(Debug)]
pub struct Outbox {
    half: OwnedWriteHalf,
    /// A client masks its frames (RFC 6455 §5.3); a server does not.
    masked: bool,
    /// Bytes the socket has not taken yet; not empty exactly while a task is writing them.
    backlog: Mutex<Vec<u8>>,
    /// The first write that failed.
    failed: Mutex<Option<String>>,
}

/// A mask key that differs from frame to frame.
fn next_mask() -> [u8; 4] {
    use std::sync::atomic::{AtomicU32, Ordering};
    static STATE: AtomicU32 = AtomicU32::new(0x9E37_79B9);
    let mut x = STATE.fetch_add(0x9E37_79B9, Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x.to_le_bytes()
}

impl Outbox {
    /// The sending half of a socket this program accepted (its frames are not masked).
    pub fn server(half: OwnedWriteHalf) -> Arc<Outbox> {
        Arc::new(Outbox {
            half,
            masked: false,
            backlog: Mutex::new(Vec::new()),
            failed: Mutex::new(None),
        })
    }

    /// Sends a text message.
    pub fn text(self: &Arc<Self>, text: &str) -> Result<(), String> {
        self.frame(TEXT, text.as_bytes())
    }

    /// Sends text messages in one write, when the socket takes them at once.
    pub fn texts(self: &Arc<Self>, texts: &[&str]) -> Result<(), String> {
        if let [text] = texts {
            return self.text(text);
        }
        let mut frames = Vec::new();
        for text in texts {
            frames.extend(self.encode(TEXT, text.as_bytes()));
        }
        self.bytes(&frames)
    }

    fn encode(&self, opcode: u8, payload: &[u8]) -> Vec<u8> {
        // A client masks its frames (RFC 6455 §5.3); a server does not.
        let mask = self.masked.then(next_mask);
        let mut frame = Vec::with_capacity(payload.len() + 14);
        websocket::encode(opcode, payload, mask, &mut frame);
        frame
    }

    fn frame(self: &Arc<Self>, opcode: u8, payload: &[u8]) -> Result<(), String> {
        self.bytes(&self.encode(opcode, payload))
    }

    fn bytes(self: &Arc<Self>, frame: &[u8]) -> Result<(), String> {
        if let Some(why) = lock(&self.failed).clone() {
            return Err(why);
        }
        let mut backlog = lock(&self.backlog);
        if !backlog.is_empty() {
            backlog.extend_from_slice(frame);
            return Ok(());
        }
        let written = match self.half.try_write(frame) {
            Ok(written) => written,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(error) => return Err(format!("a send failed: {error}")),
        };
        if written < frame.len() {
            backlog.extend_from_slice(&frame[written..]);
            tokio::spawn(Arc::clone(self).drain());
        }
        Ok(())
    }

    /// Writes the backlog as the socket takes it, then ends.
    async fn drain(self: Arc<Self>) {
        loop {
            if let Err(error) = self.half.writable().await {
                *lock(&self.failed) = Some(format!("a send failed: {error}"));
                return;
            }
            let mut backlog = lock(&self.backlog);
            match self.half.try_write(&backlog) {
                Ok(written) => {
                    backlog.drain(..written);
                    if backlog.is_empty() {
                        return;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => {
                    backlog.clear();
                    *lock(&self.failed) = Some(format!("a send failed: {error}"));
                    return;
                }
            }
        }
    }
}

/// Where a frame's payload is: in the read buffer, or gathered from fragments.
enum Payload {
    Buffer(usize, usize),
    Gathered,
}

/// A socket's receiving half: its frames, from a buffer it keeps.
#[derive(Debug)]
pub struct Reader {
    half: OwnedReadHalf,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// A fragmented message's payload so far.
    gathered: Vec<u8>,
}

impl Reader {
    /// The header of the frame at the front of the buffer, once the whole frame is there.
    fn complete_frame(&self) -> Result<Option<websocket::Header>, String> {
        match websocket::header(&self.buffer[self.start..self.end], usize::MAX) {
            Ok(header) => Ok(Some(header)),
            Err(websocket::Incomplete::More) => Ok(None),
            Err(websocket::Incomplete::TooLong(len)) => Err(format!("a frame of {len} bytes")),
        }
    }

    /// Reads more bytes from the socket; an error once it closed.
    async fn fill(&mut self) -> Result<(), String> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && self.end == self.buffer.len() {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buffer.len() {
            let grown = self.buffer.len() * 2;
            self.buffer.resize(grown, 0);
        }
        let read = self
            .half
            .read(&mut self.buffer[self.end..])
            .await
            .map_err(|error| format!("the socket failed: {error}"))?;
        if read == 0 {
            return Err("the socket closed".into());
        }
        self.end += read;
        Ok(())
    }

    /// Reads up to the next text message (WebSocket pings are answered on `outbox`, a close
    /// is an error) and says where it is.
    async fn advance(&mut self, outbox: &Arc<Outbox>) -> Result<Payload, String> {
        loop {
            let Some(header) = self.complete_frame()? else {
                self.fill().await?;
                continue;
            };
            let (from, to) = (self.start + header.payload.0, self.start + header.payload.1);
            self.start = to;
            if let Some(mask) = header.mask {
                for (byte, key) in self.buffer[from..to].iter_mut().zip(mask.iter().cycle()) {
                    *byte ^= key;
                }
            }
            match header.opcode {
                TEXT if header.fin => return Ok(Payload::Buffer(from, to)),
                TEXT => {
                    self.gathered.clear();
                    self.gathered.extend_from_slice(&self.buffer[from..to]);
                }
                CONTINUATION => {
                    self.gathered.extend_from_slice(&self.buffer[from..to]);
                    if header.fin {
                        return Ok(Payload::Gathered);
                    }
                }
                PING => {
                    let payload = self.buffer[from..to].to_vec();
                    outbox.frame(PONG, &payload)?;
                }
                CLOSE => return Err("the node closed the socket".into()),
                _ => {}
            }
        }
    }

    fn text(&self, payload: &Payload) -> Result<&str, String> {
        let bytes = match *payload {
            Payload::Buffer(from, to) => &self.buffer[from..to],
            Payload::Gathered => &self.gathered,
        };
        std::str::from_utf8(bytes).map_err(|_| "a text frame that is not UTF-8".to_owned())
    }

    /// A reader of a socket this program accepted, with what it read past the handshake.
    pub fn server(half: OwnedReadHalf, buffer: Vec<u8>, start: usize, end: usize) -> Reader {
        Reader {
            half,
            buffer,
            start,
            end,
            gathered: Vec::new(),
        }
    }

    /// The next text message, as it is (WebSocket pings are answered on `outbox`).
    pub async fn message(&mut self, outbox: &Arc<Outbox>) -> Result<&str, String> {
        let payload = self.advance(outbox).await?;
        self.text(&payload)
    }

    /// The next message that is not a ping, classified, with its text; pings are answered on
    /// `outbox`.
    pub async fn next(&mut self, outbox: &Arc<Outbox>) -> Result<(Kind, &str), String> {
        let (payload, kind) = loop {
            let payload = self.advance(outbox).await?;
            match classify(self.text(&payload)?) {
                Kind::Ping(ping) => outbox.text(&format!("{{\"ping\":{ping},\"pong\":0}}"))?,
                kind => break (payload, kind),
            }
        };
        Ok((kind, self.text(&payload)?))
    }
}

/// Reads an HTTP head (a handshake's request or answer) into a buffer that may also hold what
/// followed it: the buffer, where the head ends and where the bytes read end.
pub async fn read_head(stream: &mut TcpStream) -> Result<(Vec<u8>, usize, usize), String> {
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut end = 0;
    loop {
        if let Some(at) = buffer[..end].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok((buffer, at + 4, end));
        }
        if end == buffer.len() {
            return Err("too long".into());
        }
        let read = stream
            .read(&mut buffer[end..])
            .await
            .map_err(|error| error.to_string())?;
        if read == 0 {
            return Err("the socket closed".into());
        }
        end += read;
    }
}

/// Opens a socket at `/~s` and waits for its `connected` status.
pub async fn open(address: &str) -> Result<(Reader, Arc<Outbox>), String> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|error| format!("cannot reach {address}: {error}"))?;
    stream
        .set_nodelay(true)
        .map_err(|error| format!("cannot set TCP_NODELAY: {error}"))?;
    let request = format!(
        "GET /~s HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| format!("cannot open a socket: {error}"))?;
    let (buffer, head_end, end) = read_head(&mut stream)
        .await
        .map_err(|why| format!("the node's answer to the opening handshake: {why}"))?;
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    if !head.starts_with("HTTP/1.1 101") {
        return Err(format!(
            "the node refused the socket: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    let accept = websocket::accept_key(KEY.as_bytes());
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == accept
        })
    });
    if !accepted {
        return Err("the node's handshake does not answer the key".into());
    }
    let (read, write) = stream.into_split();
    let outbox = Arc::new(Outbox {
        half: write,
        masked: true,
        backlog: Mutex::new(Vec::new()),
        failed: Mutex::new(None),
    });
    let mut reader = Reader {
        half: read,
        buffer,
        start: head_end,
        end,
        gathered: Vec::new(),
    };
    match reader.next(&outbox).await? {
        (Kind::Connected, _) => {}
        (_, text) => return Err(format!("the node greeted with {text}")),
    }
    Ok((reader, outbox))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_the_usual_shape_are_classified_by_their_first_bytes() {
        assert_eq!(
            classify(r#"{"deliver":12,"done":true,"response":{"seq":4}}"#),
            Kind::Done(12)
        );
        assert_eq!(
            classify(r#"{"deliver":1,"done":false,"response":{"delta":{}}}"#),
            Kind::Item(1)
        );
        assert_eq!(
            classify(r#"{"failure":7,"reason":144416,"retry":true}"#),
            Kind::Failure(7)
        );
        assert_eq!(classify(r#"{"ping":2000,"latency":"3"}"#), Kind::Ping(2000));
    }

    #[test]
    fn frames_of_another_shape_are_classified_by_their_json() {
        assert_eq!(classify(r#"{"done":true,"deliver":12}"#), Kind::Done(12));
        assert_eq!(
            classify(r#"{"status":"connected","version":"x"}"#),
            Kind::Connected
        );
        assert_eq!(classify("not json"), Kind::Other);
        assert_eq!(classify(r#"{"deliver":"x"}"#), Kind::Other);
    }
}
