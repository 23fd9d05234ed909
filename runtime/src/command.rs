//! Commands as they arrive (runtime spec §5): JSON objects named by their `command` field,
//! parsed once at the boundary into a [`Command`].
//!
//! Parsing is as forgiving as the reference's: a field of the wrong kind reads as missing (a
//! `timestamp` may be a number or a numeric string, a `who` that is not an object is `?/?`), and
//! each command reports the fields it cannot do without with its own error code when it runs.
//! Only a missing `command` and an unknown one are refused here.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::encode::{principal_from_json, principal_json};
use crate::error::codes;
use crate::transaction::CommandError;
use crate::value::Principal;

/// Who sent a command and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The sender; `?/?` when missing.
    #[serde(
        default,
        deserialize_with = "lenient::principal",
        serialize_with = "lenient::serialize_principal",
        skip_serializing_if = "Option::is_none"
    )]
    pub who: Option<Principal>,
    /// The document time of the command in ms; without one, the document's clock stays.
    #[serde(
        default,
        deserialize_with = "lenient::long",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
}

impl Origin {
    /// The sender, `?/?` when the command names none.
    pub fn who(&self) -> Principal {
        self.who.clone().unwrap_or_else(Principal::no_one)
    }
}

/// A command of the document protocol (`docs/runtime.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Runs `@construct` with `arg`; `entropy` seeds the document's randomness.
    Construct {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        arg: Option<Json>,
        #[serde(
            default,
            deserialize_with = "lenient::long",
            skip_serializing_if = "Option::is_none"
        )]
        entropy: Option<i64>,
    },
    Connect {
        #[serde(flatten)]
        origin: Origin,
    },
    Disconnect {
        #[serde(flatten)]
        origin: Origin,
    },
    /// A message to a channel; `marker` makes the send at most once.
    Send {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::string",
            skip_serializing_if = "Option::is_none"
        )]
        channel: Option<String>,
        #[serde(
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        message: Option<Json>,
        #[serde(
            default,
            deserialize_with = "lenient::string",
            skip_serializing_if = "Option::is_none"
        )]
        marker: Option<String>,
    },
    /// Runs queued messages, the due state and due cron jobs.
    Invalidate {
        #[serde(flatten)]
        origin: Origin,
    },
    /// Merges a data patch (an object) into the stored document.
    Apply {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::object",
            skip_serializing_if = "Option::is_none"
        )]
        patch: Option<Json>,
    },
    /// Runs `@load` after the document was rebuilt from storage.
    Load {},
    /// Asks `@delete` whether the document may end.
    Delete {
        #[serde(flatten)]
        origin: Origin,
    },
    /// Attaches an asset; `@attached` runs.
    Attach {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        asset: Option<Json>,
    },
    /// Forgets send markers older than `limit` ms.
    Expire {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::long",
            skip_serializing_if = "Option::is_none"
        )]
        limit: Option<i64>,
    },
    /// The answer of a service call (service calls complete at once here, so there is never one
    /// to deliver).
    Deliver {},
    /// The host's replication wake: each `replication<>` takes one step of its state machine.
    Replicate {
        #[serde(flatten)]
        origin: Origin,
    },
    /// A user sets a new password: the deprecated `@password (new_password)` runs as `who`.
    Password {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            default,
            deserialize_with = "lenient::string",
            skip_serializing_if = "Option::is_none"
        )]
        password: Option<String>,
    },
    WebPut {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            rename = "put",
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        request: Option<Json>,
    },
    WebDelete {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            rename = "delete",
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        request: Option<Json>,
    },
    WebGet {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            rename = "get",
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        request: Option<Json>,
    },
    WebOptions {
        #[serde(flatten)]
        origin: Origin,
        #[serde(
            rename = "options",
            default,
            deserialize_with = "lenient::any",
            skip_serializing_if = "Option::is_none"
        )]
        request: Option<Json>,
    },
}

impl Command {
    /// Parses a command; a missing or unknown `command` is refused with its code.
    ///
    /// This reads the JSON object in place (what serde's tagged-enum support would first copy
    /// into a buffer); `Command`'s `Deserialize` gives the same value.
    pub fn parse(json: &Json) -> Result<Command, CommandError> {
        let get = |name: &str| field(json, name);
        let Some(kind) = get("command").and_then(Json::as_str) else {
            return Err(CommandError::new(
                codes::NO_COMMAND,
                "the command has no 'command' field",
            ));
        };
        let any = |name: &str| get(name).cloned();
        let string = |name: &str| get(name).and_then(Json::as_str).map(str::to_owned);
        let long = |name: &str| get(name).and_then(lenient::long_of);
        let origin = || Origin {
            who: get("who").map(principal_from_json),
            timestamp: long("timestamp"),
        };
        Ok(match kind {
            "construct" => Command::Construct {
                origin: origin(),
                arg: any("arg"),
                entropy: long("entropy"),
            },
            "connect" => Command::Connect { origin: origin() },
            "disconnect" => Command::Disconnect { origin: origin() },
            "send" => Command::Send {
                origin: origin(),
                channel: string("channel"),
                message: any("message"),
                marker: string("marker"),
            },
            "invalidate" => Command::Invalidate { origin: origin() },
            "apply" => Command::Apply {
                origin: origin(),
                patch: any("patch").filter(Json::is_object),
            },
            "load" => Command::Load {},
            "delete" => Command::Delete { origin: origin() },
            "attach" => Command::Attach {
                origin: origin(),
                asset: any("asset"),
            },
            "expire" => Command::Expire {
                origin: origin(),
                limit: long("limit"),
            },
            "deliver" => Command::Deliver {},
            "replicate" => Command::Replicate { origin: origin() },
            "password" => Command::Password {
                origin: origin(),
                password: string("password"),
            },
            "web_put" => Command::WebPut {
                origin: origin(),
                request: any("put"),
            },
            "web_delete" => Command::WebDelete {
                origin: origin(),
                request: any("delete"),
            },
            "web_get" => Command::WebGet {
                origin: origin(),
                request: any("get"),
            },
            "web_options" => Command::WebOptions {
                origin: origin(),
                request: any("options"),
            },
            other => {
                return Err(CommandError::new(
                    codes::UNKNOWN_COMMAND,
                    format!("unknown command '{other}'"),
                ));
            }
        })
    }

    /// The name of the command, as in its `command` field.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Construct { .. } => "construct",
            Command::Connect { .. } => "connect",
            Command::Disconnect { .. } => "disconnect",
            Command::Send { .. } => "send",
            Command::Invalidate { .. } => "invalidate",
            Command::Apply { .. } => "apply",
            Command::Load {} => "load",
            Command::Delete { .. } => "delete",
            Command::Attach { .. } => "attach",
            Command::Password { .. } => "password",
            Command::Expire { .. } => "expire",
            Command::Deliver {} => "deliver",
            Command::Replicate { .. } => "replicate",
            Command::WebPut { .. } => "web_put",
            Command::WebDelete { .. } => "web_delete",
            Command::WebGet { .. } => "web_get",
            Command::WebOptions { .. } => "web_options",
        }
    }
}

/// The field a logged command carries in place of the secrets taken out of it: the names of
/// the fields removed.
pub const REDACTED: &str = "redacted";

/// The command as a log keeps it. A `password` command loses its new password, so that no log,
/// export or replica of the log holds a secret; `None` when the command has none (it is logged
/// as received). A command marked this way cannot run again: a replay applies the redo it
/// recorded instead.
pub fn redact(command: &Json) -> Option<Json> {
    let Json::Object(fields) = command else {
        return None;
    };
    if field(command, "command").and_then(Json::as_str) != Some("password") {
        return None;
    }
    let mut kept = fields.clone();
    kept.remove("password")?;
    kept.insert(REDACTED.to_owned(), Json::from(["password"].as_slice()));
    Some(Json::Object(kept))
}

/// Whether a command is a logged one whose secret was taken out ([`redact`]).
pub fn is_redacted(command: &Json) -> bool {
    field(command, REDACTED).is_some()
}

/// A field of a JSON object. Commands and principals have a handful of fields, which a walk
/// compares faster than a lookup hashes one name; names are a few bytes, compared in place
/// rather than through a call to `memcmp` per key of the same length.
pub(crate) fn field<'a>(json: &'a Json, name: &str) -> Option<&'a Json> {
    json.as_object()?
        .iter()
        .find_map(|(key, value)| same_text(key, name).then_some(value))
}

/// Whether two short texts (field names, origins) are equal, compared in place: a call to
/// `memcmp` costs more than the few bytes it would compare, even none.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// A `send` read in place: the fields of [`Command::Send`], borrowed from the command rather
/// than copied (the message may be large, and a send is the command a document runs most).
#[derive(Debug)]
pub(crate) struct SendFields<'a> {
    /// The sender's agent and authority, `?` where missing.
    pub who: Option<(&'a str, &'a str)>,
    pub timestamp: Option<i64>,
    pub channel: Option<&'a str>,
    pub message: Option<&'a Json>,
    pub marker: Option<&'a str>,
}

impl SendFields<'_> {
    /// A command's fields when it is a `send`, read as leniently as [`Command::parse`] reads them.
    pub(crate) fn of(json: &Json) -> Option<SendFields<'_>> {
        if field(json, "command").and_then(Json::as_str) != Some("send") {
            return None;
        }
        fn text<'a>(json: &'a Json, name: &str) -> Option<&'a str> {
            field(json, name).and_then(Json::as_str)
        }
        Some(SendFields {
            who: field(json, "who").map(|who| {
                (
                    text(who, "agent").unwrap_or("?"),
                    text(who, "authority").unwrap_or("?"),
                )
            }),
            timestamp: field(json, "timestamp").and_then(lenient::long_of),
            channel: text(json, "channel"),
            message: field(json, "message"),
            marker: text(json, "marker"),
        })
    }
}

/// Field readers that never fail: a value of the wrong kind reads as missing.
mod lenient {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value as Json;

    use super::{Principal, principal_from_json, principal_json};

    /// Any value, `null` included (a present `null` is not a missing field).
    pub fn any<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
        Json::deserialize(deserializer).map(Some)
    }

    pub fn object<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
        Json::deserialize(deserializer).map(|json| json.is_object().then_some(json))
    }

    pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Json::deserialize(deserializer).map(|json| match json {
            Json::String(text) => Some(text),
            _ => None,
        })
    }

    pub fn long<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Json::deserialize(deserializer).map(|json| long_of(&json))
    }

    /// A number (a fraction is cut) or the text of an integer.
    pub fn long_of(json: &Json) -> Option<i64> {
        match json {
            Json::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().map(|f| f as i64)),
            Json::String(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn principal<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Principal>, D::Error> {
        Json::deserialize(deserializer).map(|json| Some(principal_from_json(&json)))
    }

    pub fn serialize_principal<S: Serializer>(
        who: &Option<Principal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match who {
            Some(who) => serializer.serialize_some(&principal_json(who)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_of_the_wrong_kind_read_as_missing() {
        let command = Command::parse(&json!({"command": "send", "channel": 4, "message": null,
            "timestamp": "25", "who": "nobody"}))
        .expect("a send");
        assert_eq!(
            command,
            Command::Send {
                origin: Origin {
                    who: Some(Principal::no_one()),
                    timestamp: Some(25)
                },
                channel: None,
                message: Some(Json::Null),
                marker: None,
            }
        );
    }

    #[test]
    fn a_send_read_in_place_reads_what_parsing_reads() {
        let sends = [
            json!({"command": "send", "channel": 4, "message": null, "timestamp": "25", "who": "nobody"}),
            json!({"command": "send", "channel": "say", "message": {"what": "hi"}, "marker": "m1",
                "timestamp": 7, "who": {"agent": "a", "authority": "b"}}),
            json!({"command": "send", "who": {"agent": "a"}}),
        ];
        for json in sends {
            let Ok(Command::Send {
                origin,
                channel,
                message,
                marker,
            }) = Command::parse(&json)
            else {
                panic!("a send: {json}");
            };
            let send = SendFields::of(&json).expect("read in place");
            let who = send
                .who
                .map(|(agent, authority)| Principal::new(agent, authority));
            assert_eq!(who, origin.who, "{json}");
            assert_eq!(send.timestamp, origin.timestamp, "{json}");
            assert_eq!(send.channel, channel.as_deref(), "{json}");
            assert_eq!(send.message, message.as_ref(), "{json}");
            assert_eq!(send.marker, marker.as_deref(), "{json}");
        }
        assert!(SendFields::of(&json!({"command": "connect"})).is_none());
        assert!(SendFields::of(&json!({"channel": "say"})).is_none());
    }

    #[test]
    fn short_texts_compare_in_place() {
        assert!(same_text("", ""));
        assert!(same_text("origin", "origin"));
        assert!(!same_text("origin", "origio"));
        assert!(!same_text("ip", "ipx"));
    }

    #[test]
    fn a_missing_or_unknown_command_is_refused_with_its_code() {
        let missing = Command::parse(&json!({"channel": "x"})).expect_err("no command");
        assert_eq!(missing.code, codes::NO_COMMAND);
        let not_text = Command::parse(&json!({"command": 3})).expect_err("not a name");
        assert_eq!(not_text.code, codes::NO_COMMAND);
        let unknown = Command::parse(&json!({"command": "explode"})).expect_err("unknown");
        assert_eq!(unknown.code, codes::UNKNOWN_COMMAND);
        assert_eq!(unknown.message, "unknown command 'explode'");
    }

    #[test]
    fn parsing_agrees_with_deserializing() {
        let who = json!({"agent": "a", "authority": "b"});
        for command in [
            json!({"command": "construct", "who": who, "arg": {"x": 1}, "entropy": "7", "timestamp": 1.5}),
            json!({"command": "construct"}),
            json!({"command": "connect", "who": 3, "timestamp": "x"}),
            json!({"command": "disconnect", "who": who}),
            json!({"command": "send", "who": who, "channel": "c", "message": {"a": [1]}, "marker": "m"}),
            json!({"command": "send", "channel": null, "message": null, "marker": 5}),
            json!({"command": "invalidate", "timestamp": 9}),
            json!({"command": "apply", "patch": {"x": 1}}),
            json!({"command": "apply", "patch": [1]}),
            json!({"command": "load", "timestamp": 3}),
            json!({"command": "delete", "who": who}),
            json!({"command": "attach", "who": who, "asset": null}),
            json!({"command": "expire", "limit": "100"}),
            json!({"command": "deliver"}),
            json!({"command": "web_put", "put": {"uri": "/"}}),
            json!({"command": "web_delete", "delete": 1}),
            json!({"command": "web_get"}),
        ] {
            let parsed = Command::parse(&command).expect("parses");
            let deserialized = Command::deserialize(&command).expect("deserializes");
            assert_eq!(parsed, deserialized, "{command}");
            assert_eq!(parsed.name(), command["command"]);
        }
    }

    #[test]
    fn a_command_serializes_back_to_the_protocol() {
        let text = json!({"command": "web_put", "who": {"agent": "a", "authority": "b"},
            "timestamp": 5, "put": {"uri": "/x", "body": {}}});
        let command = Command::parse(&text).expect("a web put");
        assert_eq!(serde_json::to_value(&command).expect("serializes"), text);
    }
}
