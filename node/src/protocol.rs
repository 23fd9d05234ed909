//! The client protocol's vocabulary: error codes, request parameters and frames
//! (docs/protocol.md).

use serde_json::{Map, Value as Json, json};

/// The codes the node sends (protocol spec §7).
pub mod codes {
    pub const NO_METHOD: i32 = 213_708;
    pub const NO_ID: i32 = 233_120;
    pub const ONLY_TEXT_FRAMES: i32 = 213_711;
    pub const BAD_FRAME: i32 = 295_116;
    pub const METHOD_NOT_FOUND: i32 = 945_213;
    /// A frame above the size limit (not in the original's table).
    pub const FRAME_TOO_LARGE: i32 = 413_413;
    /// Too many requests in flight on one socket (the original's queue-full code).
    pub const TOO_MANY_REQUESTS: i32 = 123_004;
    pub const SPACE_NOT_FOUND: i32 = 134_214;
    pub const LOOKUP_FAILED: i32 = 625_676;
    pub const CREATION_REJECTED: i32 = 134_259;
    pub const ALREADY_CREATED: i32 = 130_092;
    pub const SPACE_RESERVED: i32 = 995_505;
    pub const DELETE_REJECTED: i32 = 147_186;
    pub const CATASTROPHIC: i32 = 144_416;
    pub const AUTH_FORBIDDEN: i32 = 403_403;
    /// A stream closed because the document's code disconnected its principal.
    pub const AUTH_DISCONNECTED: i32 = 403_500;
    pub const TOKEN_LAYOUT: i32 = 995_342;
    pub const TOKEN_JSON: i32 = 908_303;
    pub const TOKEN_INCOMPLETE: i32 = 959_500;
    pub const KEYSTORE_MISMATCH: i32 = 916_531;
    pub const AUTHORIZE_FAILURE: i32 = 191_713;
    pub const CANT_STASH_COOKIE: i32 = 909_436;
    pub const DOMAIN_NOT_FOUND: i32 = 990_417;
    pub const SEND_NOT_FOUND: i32 = 457_745;
    pub const SEND_ONCE_NOT_FOUND: i32 = 410_619;
    pub const UPDATE_NOT_FOUND: i32 = 438_302;
    pub const END_NOT_FOUND: i32 = 474_128;
    pub const PASSWORD_NOT_FOUND: i32 = 462_832;
    pub const CAN_ATTACH_NOT_FOUND: i32 = 494_559;
    pub const ATTACH_NOT_FOUND: i32 = 442_363;
    pub const INVALID_SPACE: i32 = 937_076;
    pub const INVALID_KEY: i32 = 919_676;
    pub const KEY_TOO_LONG: i32 = 946_192;
    pub const INVALID_CHANNEL: i32 = 950_399;
    pub const WEB_GET_NOT_FOUND: i32 = 133_308;
    /// An attach (or upload) by a principal that is not connected to the document.
    pub const ATTACH_NOT_CONNECTED: i32 = 125_966;
    /// Uploads (the original's devbox upload range, as docs/protocol.md assigns it).
    /// `@can_attach` said no.
    pub const UPLOAD_NOT_ALLOWED: i32 = 403_111;
    /// `attachment/append` or `/finish` for an upload this socket has not started.
    pub const UPLOAD_NOT_FOUND: i32 = 404_100;
    /// A chunk whose bytes are not base64 or do not match its `chunk-md5`.
    pub const UPLOAD_CORRUPT_CHUNK: i32 = 404_101;
    /// An upload larger than the node's upload limit (`Config::max_upload`).
    pub const UPLOAD_TOO_LARGE: i32 = 404_102;
    /// The store could not keep the file.
    pub const UPLOAD_NOT_STORED: i32 = 404_103;
    /// `POST /~upload` without a file or with a malformed form.
    pub const UPLOAD_BAD_FORM: i32 = 101_404;

    /// The retry set of the original (`"retry":true`).
    pub fn retryable(code: i32) -> bool {
        matches!(
            code,
            183_498 | 199_883 | 144_416 | 123_392 | 198_657 | 130_568 | 134_152 | 143_880 | 138_255
        )
    }

    /// A runtime refusal's code as the protocol names it.
    pub fn from_runtime(code: i32) -> i32 {
        match code {
            130_000 => DELETE_REJECTED,
            other => other,
        }
    }
}

/// A parameter that is missing or has the wrong type: the failure code of that parameter.
pub type ParamError = i32;

/// The code a parameter reports when it is missing or ill-typed (spec §2.0).
pub fn missing_code(name: &str) -> i32 {
    match name {
        "identity" => 458_759,
        "key" => 466_947,
        "channel" => 454_659,
        "username" => 458_737,
        "password" => 465_917,
        "new_password" => 466_931,
        "name" => 453_647,
        "space" => 461_828,
        "domain" => 488_444,
        "connection" => 405_505,
        "arg" => 461_826,
        "message" => 425_987,
        "asset-id" => 476_156,
        "filename" => 470_028,
        "content-type" => 455_691,
        "digest-md5" => 445_437,
        "digest-sha384" => 406_525,
        "size" => 477_179,
        "upload" => 409_609,
        _ => 409_608,
    }
}

/// A request frame's parameters.
#[derive(Debug)]
pub struct Params<'a>(pub &'a Map<String, Json>);

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&Json> {
        self.0.get(name).filter(|value| !value.is_null())
    }

    /// A string (a number is taken as its text).
    pub fn string(&self, name: &str) -> Result<String, ParamError> {
        self.optional_string(name)?
            .ok_or_else(|| missing_code(name))
    }

    pub fn optional_string(&self, name: &str) -> Result<Option<String>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(text)) => Ok(Some(text.clone())),
            Some(Json::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(missing_code(name)),
        }
    }

    /// A string lower-cased and trimmed (`space`, `domain`).
    pub fn normalized(&self, name: &str) -> Result<String, ParamError> {
        Ok(self.string(name)?.trim().to_lowercase())
    }

    /// An integral number or a numeric string.
    pub fn long(&self, name: &str) -> Result<i64, ParamError> {
        match self.get(name) {
            Some(Json::Number(number)) => number.as_i64().ok_or_else(|| missing_code(name)),
            Some(Json::String(text)) => text.trim().parse().map_err(|_| missing_code(name)),
            _ => Err(missing_code(name)),
        }
    }

    /// A JSON object; `None` when absent.
    pub fn object(&self, name: &str) -> Result<Option<Json>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(value @ Json::Object(_)) => Ok(Some(value.clone())),
            Some(_) => Err(missing_code(name)),
        }
    }

    /// A JSON object or array (a message).
    pub fn message(&self, name: &str) -> Result<Json, ParamError> {
        match self.get(name) {
            Some(value @ (Json::Object(_) | Json::Array(_))) => Ok(value.clone()),
            _ => Err(missing_code(name)),
        }
    }

    /// A space name: at least 3 of `[a-z0-9-]`, no `--`.
    pub fn space(&self) -> Result<String, ParamError> {
        let space = self.normalized("space")?;
        let valid = space.len() >= 3
            && space
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !space.contains("--");
        if valid {
            Ok(space)
        } else {
            Err(codes::INVALID_SPACE)
        }
    }

    /// A key: 1 to 511 of `[A-Za-z0-9._-]`.
    pub fn key(&self) -> Result<String, ParamError> {
        let key = self.string("key")?;
        if key.len() > 511 {
            return Err(codes::KEY_TOO_LONG);
        }
        if key.is_empty() || !key.chars().all(valid_key_char) {
            return Err(codes::INVALID_KEY);
        }
        Ok(key)
    }

    /// A channel: identifier characters.
    pub fn channel(&self) -> Result<String, ParamError> {
        let channel = self.string("channel")?;
        let valid = !channel.is_empty()
            && channel
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(channel)
        } else {
            Err(codes::INVALID_CHANNEL)
        }
    }
}

pub fn valid_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The request id: an integer or a numeric string.
pub fn request_id(frame: &Map<String, Json>) -> Option<i64> {
    match frame.get("id")? {
        Json::Number(number) => number.as_i64(),
        Json::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// The `ping` of a pong frame in the shape clients send it (the node's ping with `pong` added:
/// `{"ping":P,"latency":"L","pong":T}`), read without building a JSON value: one comes from
/// every socket every second. Any other text is for the JSON parser to judge.
pub fn pong(text: &str) -> Option<i64> {
    let rest = text.strip_prefix("{\"ping\":")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    // Numbers as JSON reads them (no leading zero, sign or bare point), so that this takes
    // nothing the parser would refuse.
    let ping = serde_json::from_str(&rest[..digits]).ok()?;
    let rest = rest[digits..].strip_prefix(",\"latency\":\"")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest[digits..].strip_prefix("\",\"pong\":")?;
    let time = rest.strip_suffix('}')?;
    serde_json::from_str::<f64>(time).is_ok().then_some(ping)
}

// Written out rather than built as JSON values: one of these answers every request. The keys
// are in the order `serde_json` gives them.
pub fn deliver(id: i64, response: &Json) -> String {
    format!("{{\"deliver\":{id},\"done\":true,\"response\":{response}}}")
}

pub fn item(id: i64, response: &Json) -> String {
    format!("{{\"deliver\":{id},\"done\":false,\"response\":{response}}}")
}

pub fn done(id: i64) -> String {
    format!("{{\"deliver\":{id},\"done\":true}}")
}

pub fn failure(id: i64, code: i32) -> String {
    let retry = codes::retryable(code);
    format!("{{\"failure\":{id},\"reason\":{code},\"retry\":{retry}}}")
}

pub fn disconnected(code: i32) -> String {
    json!({"status": "disconnected", "reason": code}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_the_json_the_protocol_names() {
        let response = json!({"seq": 4, "text": "a \"quoted\" line"});
        let cases = [
            (
                deliver(7, &response),
                json!({"deliver": 7, "done": true, "response": response}),
            ),
            (
                item(-2, &response),
                json!({"deliver": -2, "done": false, "response": response}),
            ),
            (done(9), json!({"deliver": 9, "done": true})),
            (
                failure(3, codes::CATASTROPHIC),
                json!({"failure": 3, "reason": codes::CATASTROPHIC,
                    "retry": codes::retryable(codes::CATASTROPHIC)}),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text, expected.to_string(), "the same bytes as serde_json's");
        }
    }

    #[test]
    fn a_pong_of_the_usual_shape_is_read_without_the_json_parser() {
        assert_eq!(
            pong(r#"{"ping":1000,"latency":"3","pong":1717171717.123}"#),
            Some(1000)
        );
        assert_eq!(pong(r#"{"ping":7,"latency":"0","pong":17}"#), Some(7));
        // Anything else goes to the parser, which decides what it is.
        for text in [
            r#"{"ping":1000,"latency":"3","pong":1.5,"id":4,"method":"x"}"#,
            r#"{"ping":1000,"latency":"3","pong":"x"}"#,
            r#"{"ping":1000,"latency":"3","pong":}"#,
            r#"{"ping":1000,"latency":"3"}"#,
            r#"{"ping":-1,"latency":"3","pong":1}"#,
            r#"{"latency":"3","ping":1000,"pong":1}"#,
        ] {
            assert_eq!(pong(text), None, "{text}");
        }
    }

    #[test]
    fn a_pong_with_numbers_json_does_not_allow_is_left_to_the_parser() {
        for text in [
            r#"{"ping":01,"latency":"3","pong":1}"#,
            r#"{"ping":1,"latency":"3","pong":+1}"#,
            r#"{"ping":1,"latency":"3","pong":1.}"#,
            r#"{"ping":1,"latency":"3","pong":.5}"#,
            r#"{"ping":1,"latency":"3","pong":01}"#,
        ] {
            assert_eq!(pong(text), None, "{text}");
            assert!(serde_json::from_str::<Json>(text).is_err(), "{text}");
        }
    }
}
