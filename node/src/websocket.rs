//! The WebSocket framing of RFC 6455, as the node's sockets speak it: frames encoded straight
//! into the bytes a socket writes, and read from the bytes it received, without a library's
//! buffers or locks between the node and the TCP socket.
//!
//! The node's socket path (`socket.rs`, `outlet.rs`) writes every viewer's delta of every
//! round; a general WebSocket library put two buffers, a lock and a copy between a frame and
//! the system call, which cost a sizeable share of a send at ten viewers a document.

use axum::http;

/// Opcodes (RFC 6455 §5.2).
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// The answer to the opening handshake's `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key)
}

/// Checks a request to open a socket (RFC 6455 §4.2.1) and gives the answer's
/// `Sec-WebSocket-Accept`; a request that is not one gets its status and reason.
pub fn handshake(
    method: &http::Method,
    headers: &http::HeaderMap,
) -> Result<http::HeaderValue, (http::StatusCode, &'static str)> {
    use http::{StatusCode, header};
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if method != http::Method::GET {
        return Err((StatusCode::METHOD_NOT_ALLOWED, "a socket opens with GET"));
    }
    if !has_token(header::CONNECTION, "upgrade") {
        return Err((
            StatusCode::BAD_REQUEST,
            "Connection header did not include 'upgrade'",
        ));
    }
    if !has_token(header::UPGRADE, "websocket") {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Upgrade` header did not include 'websocket'",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version != "13")
    {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Version` header did not include '13'",
        ));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "`Sec-WebSocket-Key` header missing",
        ));
    };
    http::HeaderValue::from_str(&accept_key(key.as_bytes()))
        .map_err(|_| (StatusCode::BAD_REQUEST, "a key that cannot be answered"))
}

/// Appends one final frame around `payload` to `out`, masked with `mask` (a client's frame,
/// RFC 6455 §5.3) or not (a server's).
pub fn encode(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    let masked = if mask.is_some() { 0x80 } else { 0 };
    out.reserve(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(masked | len as u8),
        len @ 126..=0xFFFF => {
            out.push(masked | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(masked | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(mask) => {
            out.extend_from_slice(&mask);
            out.extend(
                payload
                    .iter()
                    .zip(mask.iter().cycle())
                    .map(|(byte, key)| byte ^ key),
            );
        }
        None => out.extend_from_slice(payload),
    }
}

/// One frame's header, read from the front of a buffer that holds the whole frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: u8,
    /// The reserved bits; a peer that negotiated no extension sets none.
    pub reserved: u8,
    /// Where the payload begins and ends, counted from the frame's first byte.
    pub payload: (usize, usize),
    pub mask: Option<[u8; 4]>,
}

/// Why the bytes in front of a buffer are not a frame yet, or never will be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// More bytes are needed.
    More,
    /// The frame's payload is longer than `limit`.
    TooLong(u64),
}

/// The header of the frame at the front of `bytes`, once the whole frame is there. A frame
/// whose payload is longer than `limit` is refused from its header, before its bytes arrive.
pub fn header(bytes: &[u8], limit: usize) -> Result<Header, Incomplete> {
    if bytes.len() < 2 {
        return Err(Incomplete::More);
    }
    let fin = bytes[0] & 0x80 != 0;
    let reserved = bytes[0] & 0x70;
    let opcode = bytes[0] & 0x0F;
    let masked = bytes[1] & 0x80 != 0;
    let (len, mut at) = match bytes[1] & 0x7F {
        126 if bytes.len() >= 4 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
        127 if bytes.len() >= 10 => {
            let mut wide = [0u8; 8];
            wide.copy_from_slice(&bytes[2..10]);
            (u64::from_be_bytes(wide), 10)
        }
        126 | 127 => return Err(Incomplete::More),
        len => (u64::from(len), 2),
    };
    if len > limit as u64 {
        return Err(Incomplete::TooLong(len));
    }
    let len = len as usize;
    let mut mask = None;
    if masked {
        if bytes.len() < at + 4 {
            return Err(Incomplete::More);
        }
        mask = Some([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        at += 4;
    }
    if bytes.len() - at < len {
        return Err(Incomplete::More);
    }
    Ok(Header {
        fin,
        opcode,
        reserved,
        payload: (at, at + len),
        mask,
    })
}

/// A message read from a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Text(&'a str),
    Binary,
    Ping(&'a [u8]),
    Pong,
    /// The client closes, with its status code and reason.
    Close(&'a [u8]),
}

/// Why a client's socket cannot be read any further.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Broken {
    #[error("a frame or message of {0} bytes, over the limit")]
    TooLarge(u64),
    #[error("a text message that is not UTF-8")]
    NotUtf8,
    #[error("a frame that breaks the protocol: {0}")]
    Protocol(&'static str),
}

/// A socket's incoming bytes and the messages cut from them: what the server side of a
/// connection reads (masked frames, RFC 6455 §5.1), fragmented messages joined, control frames
/// between fragments answered in place.
#[derive(Debug)]
pub struct Incoming {
    /// What was received; the messages before `start` are read.
    buffer: Vec<u8>,
    start: usize,
    /// The fragments of a message so far, while one is open.
    gathered: Option<(u8, Vec<u8>)>,
    /// The last fragmented message, joined: its text borrows from here.
    joined: Vec<u8>,
    limit: usize,
}

/// Bytes a socket reads from the kernel at a time.
pub const READ_CHUNK: usize = 4096;

impl Incoming {
    /// A reader whose frames and messages may be up to `limit` bytes; `read` holds the bytes
    /// that came with the opening handshake.
    pub fn new(read: &[u8], limit: usize) -> Incoming {
        Incoming {
            buffer: read.to_vec(),
            start: 0,
            gathered: None,
            joined: Vec::new(),
            limit,
        }
    }

    /// Adds bytes received from the socket.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(bytes);
    }

    /// Called once every message received is read: an idle socket keeps no buffer.
    pub fn rest(&mut self) {
        if self.start == self.buffer.len() && self.gathered.is_none() {
            self.buffer = Vec::new();
            self.joined = Vec::new();
            self.start = 0;
        }
    }

    /// The next whole message in what was received, if there is one.
    pub fn message(&mut self) -> Result<Option<Message<'_>>, Broken> {
        loop {
            let header = match header(&self.buffer[self.start..], self.limit) {
                Ok(header) => header,
                Err(Incomplete::More) => return Ok(None),
                Err(Incomplete::TooLong(len)) => return Err(Broken::TooLarge(len)),
            };
            if header.reserved != 0 {
                return Err(Broken::Protocol("reserved bits set"));
            }
            let Some(mask) = header.mask else {
                return Err(Broken::Protocol("an unmasked client frame"));
            };
            let (from, to) = (self.start + header.payload.0, self.start + header.payload.1);
            self.start = to;
            for (byte, key) in self.buffer[from..to].iter_mut().zip(mask.iter().cycle()) {
                *byte ^= key;
            }
            if header.opcode >= CLOSE && (!header.fin || to - from > 125) {
                return Err(Broken::Protocol("a fragmented or long control frame"));
            }
            match header.opcode {
                TEXT | BINARY if self.gathered.is_some() => {
                    return Err(Broken::Protocol("a new message inside a fragmented one"));
                }
                TEXT if header.fin => return text(&self.buffer[from..to]).map(Some),
                BINARY if header.fin => return Ok(Some(Message::Binary)),
                TEXT | BINARY => {
                    self.gathered = Some((header.opcode, self.buffer[from..to].to_vec()));
                }
                CONTINUATION => {
                    let Some((opcode, mut gathered)) = self.gathered.take() else {
                        return Err(Broken::Protocol("a continuation without a message"));
                    };
                    gathered.extend_from_slice(&self.buffer[from..to]);
                    if gathered.len() > self.limit {
                        return Err(Broken::TooLarge(gathered.len() as u64));
                    }
                    if header.fin {
                        return self.finish_joined(opcode, gathered).map(Some);
                    }
                    self.gathered = Some((opcode, gathered));
                }
                PING => return Ok(Some(Message::Ping(&self.buffer[from..to]))),
                PONG => return Ok(Some(Message::Pong)),
                CLOSE => return Ok(Some(Message::Close(&self.buffer[from..to]))),
                _ => return Err(Broken::Protocol("an unknown opcode")),
            }
        }
    }

    /// The fragmented message just completed.
    fn finish_joined(&mut self, opcode: u8, bytes: Vec<u8>) -> Result<Message<'_>, Broken> {
        self.joined = bytes;
        if opcode == BINARY {
            return Ok(Message::Binary);
        }
        text(&self.joined)
    }
}

fn text(bytes: &[u8]) -> Result<Message<'_>, Broken> {
    std::str::from_utf8(bytes)
        .map(Message::Text)
        .map_err(|_| Broken::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        encode(opcode, payload, Some([7, 1, 250, 3]), &mut frame);
        if !fin {
            frame[0] &= 0x7F;
        }
        frame
    }

    fn read_all(bytes: &[u8], limit: usize) -> Result<Vec<String>, Broken> {
        let mut incoming = Incoming::new(&[], limit);
        let mut seen = Vec::new();
        // A byte at a time: every frame boundary falls inside a read somewhere.
        for byte in bytes {
            incoming.receive(&[*byte]);
            while let Some(message) = incoming.message()? {
                seen.push(match message {
                    Message::Text(text) => text.to_owned(),
                    Message::Binary => "<binary>".into(),
                    Message::Ping(payload) => format!("<ping {payload:?}>"),
                    Message::Pong => "<pong>".into(),
                    Message::Close(payload) => format!("<close {payload:?}>"),
                });
            }
            incoming.rest();
        }
        assert_eq!(
            incoming.buffer.capacity(),
            0,
            "a reader at rest keeps no buffer"
        );
        Ok(seen)
    }

    #[test]
    fn a_server_frame_is_not_masked_and_sized_as_the_rfc_says() {
        let mut out = Vec::new();
        encode(TEXT, b"hi", None, &mut out);
        assert_eq!(out, vec![0x81, 2, b'h', b'i']);
        out.clear();
        encode(TEXT, &[b'a'; 300], None, &mut out);
        assert_eq!(&out[..4], &[0x81, 126, 1, 44]);
        assert_eq!(out.len(), 304);
        out.clear();
        encode(TEXT, &vec![b'a'; 70_000], None, &mut out);
        assert_eq!(&out[..10], &[0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn a_client_frame_is_masked_as_the_rfc_says() {
        let mut frame = Vec::new();
        encode(TEXT, b"hello", Some([1, 2, 3, 4]), &mut frame);
        assert_eq!(&frame[..6], &[0x81, 0x85, 1, 2, 3, 4]);
        assert_eq!(
            &frame[6..],
            &[b'h' ^ 1, b'e' ^ 2, b'l' ^ 3, b'l' ^ 4, b'o' ^ 1]
        );
    }

    #[test]
    fn the_accept_key_is_the_rfcs_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn messages_are_read_across_reads_and_fragments_with_control_frames_between() {
        let mut bytes = client(TEXT, true, "héllo".as_bytes());
        bytes.extend(client(TEXT, false, b"one "));
        bytes.extend(client(PING, true, b"p"));
        bytes.extend(client(CONTINUATION, false, b"two "));
        bytes.extend(client(CONTINUATION, true, b"three"));
        bytes.extend(client(TEXT, true, &[b'x'; 200]));
        bytes.extend(client(BINARY, true, &[1, 2]));
        bytes.extend(client(PONG, true, b""));
        bytes.extend(client(CLOSE, true, &[3, 232]));
        let seen = read_all(&bytes, 1024).expect("the frames are good");
        assert_eq!(
            seen,
            [
                "héllo".to_owned(),
                "<ping [112]>".into(),
                "one two three".into(),
                "x".repeat(200),
                "<binary>".into(),
                "<pong>".into(),
                "<close [3, 232]>".into(),
            ]
        );
    }

    #[test]
    fn a_frame_or_message_over_the_limit_is_refused() {
        let mut incoming = Incoming::new(&client(TEXT, true, &[b'a'; 300]), 100);
        assert_eq!(incoming.message(), Err(Broken::TooLarge(300)));
        let mut bytes = client(TEXT, false, &[b'a'; 60]);
        bytes.extend(client(CONTINUATION, true, &[b'a'; 60]));
        assert_eq!(read_all(&bytes, 100), Err(Broken::TooLarge(120)));
    }

    #[test]
    fn frames_that_break_the_protocol_are_refused() {
        let mut unmasked = Vec::new();
        encode(TEXT, b"hi", None, &mut unmasked);
        let mut reserved = client(TEXT, true, b"hi");
        reserved[0] |= 0x40;
        let cases = [
            unmasked,
            reserved,
            client(CONTINUATION, true, b"x"),
            client(PING, false, b"x"),
            client(PING, true, &[0; 126]),
            client(0x3, true, b"x"),
            [client(TEXT, false, b"a"), client(TEXT, true, b"b")].concat(),
        ];
        for bytes in cases {
            assert!(
                matches!(read_all(&bytes, 1024), Err(Broken::Protocol(_))),
                "{bytes:?}"
            );
        }
        assert_eq!(
            read_all(&client(TEXT, true, &[0xC3, 0x28]), 1024),
            Err(Broken::NotUtf8)
        );
    }
}
