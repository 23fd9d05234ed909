//! Whether a message that arrives from outside fits its type.
//!
//! A client's message is taken only when its JSON fits the message type of the channel; a value
//! that does not fit refuses the whole command before any code runs, so a malformed message can
//! never run a handler with default values in place of what the client meant. The rule, field
//! type by field type, is written down in `docs/runtime.md` ("Messages from clients").

use std::fmt;

use adama_compiler::ir::MessageId;
use adama_compiler::ty::Ty;
use serde_json::Value as Json;

use crate::document::Document;
use crate::json::{parse_date, parse_datetime, parse_time};
use crate::library::date::date_from;

/// Where and why a message does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    /// The path of the offending value inside the message (`qty`, `items[2].name`); empty for
    /// the message itself.
    pub path: String,
    /// What the type takes there (`an int`, `an object (the message 'Order')`).
    pub expected: String,
    /// What the JSON holds there.
    pub found: String,
}

impl fmt::Display for Misfit {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(
                formatter,
                "the message must be {}, found {}",
                self.expected, self.found
            )
        } else {
            write!(
                formatter,
                "the field '{}' must be {}, found {}",
                self.path, self.expected, self.found
            )
        }
    }
}

impl Document {
    /// Whether a channel's JSON fits its message type: one message (an object), or for a channel
    /// of `M[]` an array of them. A channel whose message index is past the declared messages
    /// takes any JSON (its parameter is `dynamic`).
    pub fn check_channel_message(
        &self,
        message: Option<MessageId>,
        array: bool,
        json: &Json,
    ) -> Result<(), Misfit> {
        let Some(message) = message else {
            return Ok(());
        };
        let layout = &self.program.messages[message];
        let ty = Ty::Message(layout.name.as_str().into());
        let ty = if array { Ty::array(ty) } else { ty };
        let mut path = String::new();
        self.fits(&ty, json, &mut path, true)
    }

    /// Whether a JSON value fits a type. `top` is true for the message itself, which must be
    /// there: a `null` field elsewhere means "absent" and takes the field's default.
    fn fits(&self, ty: &Ty, json: &Json, path: &mut String, top: bool) -> Result<(), Misfit> {
        let misfit = |path: &String, expected: &str| {
            Err(Misfit {
                path: path.clone(),
                expected: expected.to_owned(),
                found: describe(json),
            })
        };
        if json.is_null() && !top {
            return Ok(());
        }
        match ty {
            Ty::Int | Ty::Enum(_) => match json {
                Json::Number(number)
                    if number
                        .as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .is_some() =>
                {
                    Ok(())
                }
                Json::String(text) if text.parse::<i32>().is_ok() => Ok(()),
                _ => misfit(
                    path,
                    "an int (a whole number within 32 bits, or such a number as a string)",
                ),
            },
            Ty::Long => match json {
                Json::Number(number) if number.as_i64().is_some() => Ok(()),
                Json::String(text) if text.parse::<i64>().is_ok() => Ok(()),
                _ => misfit(
                    path,
                    "a long (a whole number within 64 bits, or such a number as a string)",
                ),
            },
            Ty::Double | Ty::TimeSpan => match json {
                Json::Number(_) => Ok(()),
                Json::String(text) if text.parse::<f64>().is_ok_and(f64::is_finite) => Ok(()),
                _ => misfit(path, "a number (or a number as a string)"),
            },
            Ty::Bool => match json {
                Json::Bool(_) => Ok(()),
                Json::String(text) if text == "true" || text == "false" => Ok(()),
                _ => misfit(path, "a bool (true or false)"),
            },
            Ty::String | Ty::Text | Ty::Label => match json {
                Json::String(_) | Json::Number(_) | Json::Bool(_) => Ok(()),
                _ => misfit(path, "a string (a number or a bool is taken as its text)"),
            },
            Ty::Date => match json {
                Json::String(text) if real_date(text) => Ok(()),
                _ => misfit(path, "a date as a string (\"2024-05-01\")"),
            },
            Ty::Time => match json {
                Json::String(text)
                    if parse_time(text).is_some_and(|time| time.hour < 24 && time.minute < 60) =>
                {
                    Ok(())
                }
                _ => misfit(path, "a time as a string (\"13:45\")"),
            },
            Ty::DateTime => match json {
                Json::String(text)
                    if parse_datetime(text).is_some()
                        && text
                            .split_once('T')
                            .is_some_and(|(date, _)| real_date(date)) =>
                {
                    Ok(())
                }
                _ => misfit(path, "a datetime as a string (\"2024-05-01T10:15:30Z\")"),
            },
            Ty::Principal | Ty::SecurePrincipal => match json {
                Json::Object(object)
                    if ["agent", "authority"]
                        .iter()
                        .all(|key| object.get(*key).is_none_or(Json::is_string)) =>
                {
                    Ok(())
                }
                _ => misfit(path, "a principal ({\"agent\":\"…\",\"authority\":\"…\"})"),
            },
            Ty::Complex => match json {
                Json::Object(object)
                    if ["r", "i"]
                        .iter()
                        .all(|key| object.get(*key).is_none_or(Json::is_number)) =>
                {
                    Ok(())
                }
                _ => misfit(path, "a complex number ({\"r\":1.0,\"i\":0.0})"),
            },
            Ty::Asset => match json {
                Json::Object(_) => Ok(()),
                _ => misfit(path, "an asset (an object)"),
            },
            Ty::Maybe(inner) => self.fits(inner, json, path, false),
            Ty::List(element) | Ty::Array(element) => match json {
                Json::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let length = path.len();
                        path.push_str(&format!("[{index}]"));
                        self.fits(element, item, path, false)?;
                        path.truncate(length);
                    }
                    Ok(())
                }
                _ => misfit(path, "an array"),
            },
            Ty::Table(element) => match json {
                Json::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let length = path.len();
                        path.push_str(&format!("[{index}]"));
                        self.fits(element, item, path, false)?;
                        path.truncate(length);
                    }
                    Ok(())
                }
                Json::Object(rows) => {
                    for (id, row) in rows {
                        let length = path.len();
                        path.push_str(&format!("[{id}]"));
                        self.fits(element, row, path, false)?;
                        path.truncate(length);
                    }
                    Ok(())
                }
                _ => misfit(path, "an array of rows"),
            },
            Ty::Map(key, value) => match json {
                Json::Object(entries) => {
                    for (name, entry) in entries {
                        let length = path.len();
                        path.push_str(&format!("[{name}]"));
                        let key_fits = match &**key {
                            Ty::Int | Ty::Enum(_) => name.parse::<i32>().is_ok(),
                            Ty::Long => name.parse::<i64>().is_ok(),
                            _ => true,
                        };
                        if !key_fits {
                            return Err(Misfit {
                                path: path.clone(),
                                expected: "a key that is a whole number".to_owned(),
                                found: format!("the key \"{}\"", shorten(name)),
                            });
                        }
                        self.fits(value, entry, path, false)?;
                        path.truncate(length);
                    }
                    Ok(())
                }
                _ => misfit(path, "an object (a map)"),
            },
            Ty::Message(name) | Ty::Holder(name) => {
                let Some(index) = self.program.message_named(name) else {
                    return Ok(());
                };
                let Json::Object(object) = json else {
                    return misfit(path, &format!("an object (the message '{name}')"));
                };
                for field in &self.program.messages[index].fields {
                    let Some(value) = object.get(&field.name) else {
                        continue;
                    };
                    let length = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&field.name);
                    self.fits(&field.ty, value, path, false)?;
                    path.truncate(length);
                }
                Ok(())
            }
            // dynamic and json take any value; other types cannot be written in a message.
            _ => Ok(()),
        }
    }
}

/// Whether a `Y-MM-DD` text names a real calendar day.
fn real_date(text: &str) -> bool {
    parse_date(text).is_some_and(|date| {
        date_from(
            i64::from(date.year),
            i64::from(date.month),
            i64::from(date.day),
        )
        .is_some()
    })
}

/// A short description of a JSON value for an error message.
fn describe(json: &Json) -> String {
    match json {
        Json::Null => "null".to_owned(),
        Json::Bool(value) => format!("the bool {value}"),
        Json::Number(number) => format!("the number {number}"),
        Json::String(text) => format!("the string \"{}\"", shorten(text)),
        Json::Array(items) => format!("an array of {} item(s)", items.len()),
        Json::Object(_) => "an object".to_owned(),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
