//! The `Dynamic` and `Json` namespaces (language §6.7), the methods of `dynamic` and `json`
//! values, and the JSON view of messages (`to_dynamic`, `ingest_dynamic`).
//!
//! A value turns into JSON with the encodings of the stored document (runtime §1.2: longs as
//! strings, doubles in Java layout, dates as text), and JSON text is written the way the
//! reference writer does, so `d.to_str()` matches what the reference prints.

use super::BuiltinFn;
use super::args::{Outcome, arg, lifted, maybe, string, text};
use super::numbers_text::java_parse_double;
use crate::json::{
    date_text, datetime_text, double_json, java_double, parse_date, parse_datetime, parse_time,
    time_text,
};
use crate::value::{Message, Principal, TimeOfDay, Value};
use serde_json::{Map as JsonMap, Value as Json};
use std::sync::Arc;

/// `Dynamic.function`, and the `dynamic` methods that are its extension form (also `dyn()` on
/// scalars).
pub fn namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "dyn" => lifted!(dyn_of),
        "str" => lifted!(read_str),
        "i" => lifted!(read_int),
        "l" => lifted!(read_long),
        "d" => lifted!(read_double),
        "b" => lifted!(read_bool),
        "date" => lifted!(read_date),
        "datetime" => lifted!(read_datetime),
        "is_null" => lifted!(is_null),
        "to_str" => lifted!(to_str),
        "parse" | "to_dyn" => lifted!(parse),
        "to_json" => lifted!(identity),
        _ => None,
    }
}

/// `Json.function`.
pub fn json_namespace(function: &str) -> Option<BuiltinFn> {
    match function {
        "parse" => lifted!(parse),
        "parsen" => lifted!(parse_or_null),
        _ => None,
    }
}

/// Methods of `json` values.
pub fn json_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "to_dynamic" => lifted!(identity),
        "deref" => lifted!(deref),
        "to_b" => lifted!(json_bool),
        "to_i" => lifted!(json_int),
        "to_s" => lifted!(json_string),
        "to_str" => lifted!(to_str),
        _ => None,
    }
}

/// Methods of messages (and pairs, which are messages with `key` and `value`).
pub fn message_method(method: &str) -> Option<BuiltinFn> {
    match method {
        "to_dynamic" => lifted!(message_to_dynamic),
        "ingest_dynamic" => lifted!(ingest_dynamic),
        _ => None,
    }
}

fn json_arg(arguments: &[Value], index: usize) -> &Json {
    static NULL: Json = Json::Null;
    match arg(arguments, index) {
        Value::Dynamic(json) => json,
        _ => &NULL,
    }
}

fn dynamic(json: Json) -> Value {
    Value::Dynamic(Arc::new(json))
}

/// The JSON encoding of a value, as the stored document has it.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Void | Value::Maybe(None) => Json::Null,
        Value::Bool(value) => Json::Bool(*value),
        Value::Int(value) | Value::Enum(value) => Json::from(*value),
        Value::Long(value) => Json::String(value.to_string()),
        Value::Double(value) | Value::TimeSpan(value) => double_json(*value),
        Value::Complex(re, im) => {
            let mut object = JsonMap::new();
            object.insert("r".to_string(), double_json(*re));
            object.insert("i".to_string(), double_json(*im));
            Json::Object(object)
        }
        Value::Str(text) | Value::Label(text) => Json::String(text.to_string()),
        Value::Principal(principal) => principal_json(principal),
        Value::Date(date) => Json::String(date_text(date)),
        Value::Time(time) => Json::String(time_text(time)),
        Value::DateTime(datetime) => Json::String(datetime_text(datetime)),
        Value::Dynamic(json) => (**json).clone(),
        // What code reads of these is their text.
        Value::Text(text) => Json::String(text.current.clone()),
        Value::Replication(status) => Json::String(status.text()),
        Value::Asset(asset) => {
            let mut object = JsonMap::new();
            for (key, field) in [
                ("id", &asset.id),
                ("name", &asset.name),
                ("type", &asset.content_type),
                ("md5", &asset.md5),
                ("sha384", &asset.sha384),
            ] {
                object.insert(key.to_string(), Json::String(field.to_string()));
            }
            object.insert("size".to_string(), Json::String(asset.size.to_string()));
            Json::Object(object)
        }
        Value::Maybe(Some(inner)) => to_json(inner),
        Value::List(items) | Value::NativeTable(items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (key.json_key(), to_json(value)))
                .collect(),
        ),
        Value::Message(message) => message_json(message),
        Value::Record(_) | Value::Table(_) | Value::Future(_) => Json::Null,
    }
}

fn principal_json(principal: &Principal) -> Json {
    let mut object = JsonMap::new();
    object.insert(
        "agent".to_string(),
        Json::String(principal.agent.to_string()),
    );
    object.insert(
        "authority".to_string(),
        Json::String(principal.authority.to_string()),
    );
    Json::Object(object)
}

/// A message as an object of its fields; empty maybes are left out, as the reference writes them.
fn message_json(message: &Message) -> Json {
    Json::Object(
        message
            .shape
            .fields
            .iter()
            .zip(&message.values)
            .filter(|(_, value)| !matches!(value, Value::Maybe(None)))
            .map(|(name, value)| (name.to_string(), to_json(value)))
            .collect(),
    )
}

/// JSON text as the reference writer prints it: compact, doubles in Java layout, every UTF-16
/// unit from 128 up escaped as `\uxxxx`, control characters other than the named five raw.
pub fn java_json_text(json: &Json) -> String {
    let mut output = String::new();
    write_json(json, &mut output);
    output
}

fn write_json(json: &Json, output: &mut String) {
    match json {
        Json::Null => output.push_str("null"),
        Json::Bool(value) => output.push_str(if *value { "true" } else { "false" }),
        Json::Number(number) => {
            if number.is_i64() || number.is_u64() {
                output.push_str(&number.to_string());
            } else {
                output.push_str(&java_double(number.as_f64().unwrap_or(0.0)));
            }
        }
        Json::String(text) => write_string(text, output),
        Json::Array(items) => {
            output.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    output.push(',');
                }
                write_json(item, output);
            }
            output.push(']');
        }
        Json::Object(object) => {
            output.push('{');
            for (index, (key, value)) in object.iter().enumerate() {
                if index > 0 {
                    output.push(',');
                }
                write_string(key, output);
                output.push(':');
                write_json(value, output);
            }
            output.push('}');
        }
    }
}

fn write_string(text: &str, output: &mut String) {
    output.push('"');
    for character in text.chars() {
        match character {
            '"' => output.push_str("\\\""),
            '\\' => output.push_str("\\\\"),
            '\n' => output.push_str("\\n"),
            '\r' => output.push_str("\\r"),
            '\t' => output.push_str("\\t"),
            '\u{8}' => output.push_str("\\b"),
            '\u{c}' => output.push_str("\\f"),
            character if (character as u32) < 128 => output.push(character),
            character => {
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    output.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    output.push('"');
}

/// `x.dyn()` on a scalar.
fn dyn_of(arguments: &[Value]) -> Outcome {
    Ok(dynamic(match arg(arguments, 0) {
        // A long read back from a dynamic is a number, not the stored string form.
        Value::Long(value) => Json::from(*value),
        other => to_json(other),
    }))
}

fn identity(arguments: &[Value]) -> Outcome {
    Ok(dynamic(json_arg(arguments, 0).clone()))
}

/// The JSON a reader looks at: the value itself, or one of its fields when a field is named.
/// With a third argument the reader answers a plain value, the default when the read fails.
fn read(arguments: &[Value], convert: fn(&Json) -> Option<Value>) -> Outcome {
    let root = json_arg(arguments, 0);
    let target = if arguments.len() >= 2 {
        root.get(text(arguments, 1))
    } else {
        Some(root)
    };
    let found = target.and_then(convert);
    if arguments.len() >= 3 {
        return Ok(found.unwrap_or_else(|| arg(arguments, 2).clone()));
    }
    Ok(maybe(found))
}

fn read_str(arguments: &[Value]) -> Outcome {
    read(arguments, |json| json.as_str().map(Value::string))
}

fn read_int(arguments: &[Value]) -> Outcome {
    read(arguments, |json| match json {
        Json::Number(number) => number
            .as_i64()
            .and_then(|value| i32::try_from(value).ok())
            .map(Value::Int),
        Json::String(text) => text.parse::<i32>().ok().map(Value::Int),
        _ => None,
    })
}

fn read_long(arguments: &[Value]) -> Outcome {
    read(arguments, |json| match json {
        Json::Number(number) => number.as_i64().map(Value::Long),
        Json::String(text) => text.parse::<i64>().ok().map(Value::Long),
        _ => None,
    })
}

fn read_double(arguments: &[Value]) -> Outcome {
    read(arguments, |json| match json {
        Json::Number(number) => number.as_f64().map(Value::Double),
        Json::String(text) => java_parse_double(text).map(Value::Double),
        _ => None,
    })
}

fn read_bool(arguments: &[Value]) -> Outcome {
    read(arguments, |json| match json {
        Json::Bool(value) => Some(Value::Bool(*value)),
        Json::String(text) if text == "true" => Some(Value::Bool(true)),
        Json::String(text) if text == "false" => Some(Value::Bool(false)),
        _ => None,
    })
}

fn read_date(arguments: &[Value]) -> Outcome {
    read(arguments, |json| {
        let date = parse_date(json.as_str()?)?;
        super::date::date_from(
            i64::from(date.year),
            i64::from(date.month),
            i64::from(date.day),
        )
        .map(Value::Date)
    })
}

fn read_datetime(arguments: &[Value]) -> Outcome {
    read(arguments, |json| {
        parse_datetime(json.as_str()?).map(|value| Value::DateTime(Arc::new(value)))
    })
}

/// `d.is_null(field)`: whether an object's field is null or absent; empty for non-objects.
fn is_null(arguments: &[Value]) -> Outcome {
    let root = json_arg(arguments, 0);
    Ok(maybe(root.as_object().map(|object| {
        Value::Bool(object.get(text(arguments, 1)).is_none_or(Json::is_null))
    })))
}

fn to_str(arguments: &[Value]) -> Outcome {
    Ok(string(java_json_text(json_arg(arguments, 0))))
}

fn parse(arguments: &[Value]) -> Outcome {
    Ok(maybe(
        serde_json::from_str::<Json>(text(arguments, 0))
            .ok()
            .map(dynamic),
    ))
}

fn parse_or_null(arguments: &[Value]) -> Outcome {
    Ok(dynamic(
        serde_json::from_str::<Json>(text(arguments, 0)).unwrap_or(Json::Null),
    ))
}

/// `j.deref(field)` on objects, `j.deref(index)` on arrays; null when there is nothing there.
fn deref(arguments: &[Value]) -> Outcome {
    let root = json_arg(arguments, 0);
    let found = match arg(arguments, 1) {
        Value::Int(index) => usize::try_from(*index)
            .ok()
            .and_then(|index| root.get(index)),
        Value::Long(index) => usize::try_from(*index)
            .ok()
            .and_then(|index| root.get(index)),
        other => root.get(other.as_str()),
    };
    Ok(dynamic(found.cloned().unwrap_or(Json::Null)))
}

fn json_bool(arguments: &[Value]) -> Outcome {
    Ok(maybe(json_arg(arguments, 0).as_bool().map(Value::Bool)))
}

fn json_int(arguments: &[Value]) -> Outcome {
    let number = json_arg(arguments, 0).as_i64();
    Ok(maybe(
        number
            .and_then(|value| i32::try_from(value).ok())
            .map(Value::Int),
    ))
}

fn json_string(arguments: &[Value]) -> Outcome {
    Ok(maybe(json_arg(arguments, 0).as_str().map(Value::string)))
}

fn message_to_dynamic(arguments: &[Value]) -> Outcome {
    Ok(dynamic(to_json(arg(arguments, 0))))
}

/// `m.ingest_dynamic(d)`: the message with the object's fields merged in, each read as the type
/// the field holds now. The method is void in the language; the interpreter stores this result
/// back into the receiver. Fields whose JSON does not fit keep their value.
fn ingest_dynamic(arguments: &[Value]) -> Outcome {
    let receiver = arg(arguments, 0);
    Ok(merge(receiver, json_arg(arguments, 1)).unwrap_or_else(|| receiver.clone()))
}

/// Reads JSON as a value shaped like `template`.
fn merge(template: &Value, json: &Json) -> Option<Value> {
    Some(match template {
        Value::Bool(_) => Value::Bool(json.as_bool()?),
        Value::Int(_) => Value::Int(i32::try_from(json_integer(json)?).ok()?),
        Value::Enum(_) => Value::Enum(i32::try_from(json_integer(json)?).ok()?),
        Value::Long(_) => Value::Long(json_integer(json)?),
        Value::Double(_) => Value::Double(json_number(json)?),
        Value::TimeSpan(_) => Value::TimeSpan(json_number(json)?),
        Value::Complex(..) => {
            Value::Complex(json_number(json.get("r")?)?, json_number(json.get("i")?)?)
        }
        Value::Str(_) => Value::string(json.as_str()?),
        Value::Label(_) => Value::Label(Arc::from(json.as_str()?)),
        Value::Principal(_) => Value::principal(Principal::new(
            json.get("agent")?.as_str()?,
            json.get("authority")?.as_str()?,
        )),
        Value::Date(_) => Value::Date(parse_date(json.as_str()?)?),
        Value::Time(_) => Value::Time(parse_time(json.as_str()?).filter(valid_time)?),
        Value::DateTime(_) => Value::DateTime(Arc::new(parse_datetime(json.as_str()?)?)),
        Value::Dynamic(_) => dynamic(json.clone()),
        Value::Maybe(inner) => match (json, inner) {
            (Json::Null, _) => Value::empty_maybe(),
            (_, Some(inner)) => Value::some(merge(inner, json)?),
            // An empty maybe does not say what it would hold.
            (_, None) => return None,
        },
        Value::Message(message) => {
            let object = json.as_object()?;
            let values = message
                .shape
                .fields
                .iter()
                .zip(&message.values)
                .map(|(name, value)| {
                    object
                        .get(&**name)
                        .and_then(|json| merge(value, json))
                        .unwrap_or_else(|| value.clone())
                })
                .collect();
            Value::Message(Arc::new(Message {
                shape: Arc::clone(&message.shape),
                values,
            }))
        }
        Value::List(items) => {
            let element = items.first()?;
            let array = json.as_array()?;
            Value::list(
                array
                    .iter()
                    .map(|json| merge(element, json))
                    .collect::<Option<Vec<_>>>()?,
            )
        }
        _ => return None,
    })
}

fn valid_time(time: &TimeOfDay) -> bool {
    time.hour < 24 && time.minute < 60
}

fn json_integer(json: &Json) -> Option<i64> {
    match json {
        Json::Number(number) => number.as_i64(),
        Json::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn json_number(json: &Json) -> Option<f64> {
    match json {
        Json::Number(number) => number.as_f64(),
        Json::String(text) => java_parse_double(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{none, run, s, same, some};
    use crate::value::{Date, Message, Principal, Shape, Value};
    use std::sync::Arc;

    fn parsed(text: &str) -> Value {
        match run("Dynamic.parse", &[s(text)]) {
            Value::Maybe(Some(inner)) => *inner,
            other => panic!("'{text}' did not parse: {other:?}"),
        }
    }

    #[test]
    fn readers_of_the_value_itself() {
        same(&run("dynamic.str", &[parsed("\"hi\"")]), &some(s("hi")));
        same(&run("dynamic.str", &[parsed("1")]), &none());
        same(&run("dynamic.i", &[parsed("42")]), &some(Value::Int(42)));
        same(
            &run("dynamic.i", &[parsed("\"42\"")]),
            &some(Value::Int(42)),
        );
        same(&run("dynamic.i", &[parsed("4.5")]), &none());
        same(
            &run("dynamic.l", &[parsed("9000000000")]),
            &some(Value::Long(9_000_000_000)),
        );
        same(&run("dynamic.d", &[parsed("1")]), &some(Value::Double(1.0)));
        same(
            &run("dynamic.b", &[parsed("true")]),
            &some(Value::Bool(true)),
        );
        same(
            &run("dynamic.date", &[parsed("\"2024-02-29\"")]),
            &some(Value::Date(Date {
                year: 2024,
                month: 2,
                day: 29,
            })),
        );
        same(&run("dynamic.date", &[parsed("\"2023-02-29\"")]), &none());
        let datetime = run("dynamic.datetime", &[parsed("\"2024-05-01T10:15:30.5Z\"")]);
        assert_eq!(datetime.to_text(), "2024-05-01T10:15:30.500Z");
    }

    #[test]
    fn readers_of_fields_and_defaults() {
        let object = parsed(r#"{"name":"Ada","age":36,"gone":null}"#);
        same(
            &run("dynamic.str", &[object.clone(), s("name")]),
            &some(s("Ada")),
        );
        same(
            &run("dynamic.i", &[object.clone(), s("age")]),
            &some(Value::Int(36)),
        );
        same(&run("dynamic.i", &[object.clone(), s("missing")]), &none());
        same(
            &run("dynamic.i", &[object.clone(), s("missing"), Value::Int(7)]),
            &Value::Int(7),
        );
        same(
            &run("dynamic.str", &[object.clone(), s("name"), s("x")]),
            &s("Ada"),
        );
        same(
            &run("dynamic.is_null", &[object.clone(), s("gone")]),
            &some(Value::Bool(true)),
        );
        same(
            &run("dynamic.is_null", &[object.clone(), s("absent")]),
            &some(Value::Bool(true)),
        );
        same(
            &run("dynamic.is_null", &[object, s("age")]),
            &some(Value::Bool(false)),
        );
        same(&run("dynamic.is_null", &[parsed("[]"), s("age")]), &none());
    }

    #[test]
    fn text_is_written_like_the_reference() {
        let value = parsed(r#"{"a":1.50,"b":1e3,"c":"café 😀\n","d":[true,null],"e":1e7}"#);
        same(
            &run("dynamic.to_str", &[value]),
            &s(r#"{"a":1.5,"b":1000.0,"c":"caf\u00e9 \ud83d\ude00\n","d":[true,null],"e":1.0E7}"#),
        );
        same(&run("Dynamic.parse", &[s("{")]), &none());
        same(&run("string.to_dyn", &[s("[1]")]), &some(parsed("[1]")));
        same(&run("Json.parsen", &[s("nope")]), &parsed("null"));
    }

    #[test]
    fn scalars_become_dynamic() {
        same(&run("int.dyn", &[Value::Int(3)]), &parsed("3"));
        same(&run("long.dyn", &[Value::Long(3)]), &parsed("3"));
        same(&run("double.dyn", &[Value::Double(2.5)]), &parsed("2.5"));
        same(&run("string.dyn", &[s("x")]), &parsed("\"x\""));
        same(&run("bool.dyn", &[Value::Bool(false)]), &parsed("false"));
    }

    #[test]
    fn json_navigation() {
        let json = run("Json.parse", &[s(r#"{"list":[10,"x",true]}"#)]);
        let Value::Maybe(Some(json)) = json else {
            panic!("parsed")
        };
        let list = run("json.deref", &[*json.clone(), s("list")]);
        same(
            &run(
                "json.to_i",
                &[run("json.deref", &[list.clone(), Value::Int(0)])],
            ),
            &some(Value::Int(10)),
        );
        same(
            &run(
                "json.to_s",
                &[run("json.deref", &[list.clone(), Value::Int(1)])],
            ),
            &some(s("x")),
        );
        same(
            &run(
                "json.to_b",
                &[run("json.deref", &[list.clone(), Value::Int(2)])],
            ),
            &some(Value::Bool(true)),
        );
        same(&run("json.deref", &[list, Value::Int(9)]), &parsed("null"));
        same(&run("json.to_s", &[*json]), &none());
    }

    fn message(fields: &[&str], values: Vec<Value>) -> Value {
        Value::Message(Arc::new(Message {
            shape: Arc::new(Shape {
                name: None,
                fields: fields.iter().map(|field| Arc::from(*field)).collect(),
            }),
            values,
        }))
    }

    #[test]
    fn messages_use_the_storage_encoding() {
        let value = message(
            &["n", "big", "x", "who", "when", "gone"],
            vec![
                Value::Int(1),
                Value::Long(5),
                Value::Double(3.0),
                Value::principal(Principal::new("a", "b")),
                Value::Date(Date {
                    year: 2024,
                    month: 1,
                    day: 2,
                }),
                Value::empty_maybe(),
            ],
        );
        let dynamic = run("message.to_dynamic", &[value]);
        same(
            &run("dynamic.to_str", &[dynamic]),
            &s(
                r#"{"n":1,"big":"5","x":3.0,"who":{"agent":"a","authority":"b"},"when":"2024-01-02"}"#,
            ),
        );
    }

    #[test]
    fn ingestion_reads_fields_as_their_current_types() {
        let value = message(
            &["n", "big", "name", "opt", "tags"],
            vec![
                Value::Int(1),
                Value::Long(5),
                s("old"),
                Value::some(Value::Int(1)),
                Value::list(vec![s("a")]),
            ],
        );
        let update = parsed(r#"{"n":2,"big":"7","name":3,"opt":null,"tags":["x","y"],"extra":1}"#);
        let merged = run("message.ingest_dynamic", &[value, update]);
        let expected = message(
            &["n", "big", "name", "opt", "tags"],
            vec![
                Value::Int(2),
                Value::Long(7),
                s("old"),
                Value::empty_maybe(),
                Value::list(vec![s("x"), s("y")]),
            ],
        );
        same(&merged, &expected);
    }
}
