//! The standard library: the functions of the language's namespaces (`Math`, `String`, `Time`...)
//! and the methods of its built-in types, found by name once when a program is loaded.
//!
//! A call site's name is `Namespace.function` (`Math.sqrt`) for namespace calls, or
//! `category.method` (`string.upper`, `double.abs`, `maybe.has`) for methods, where the receiver
//! is passed as the first argument. Functions are plain `fn` pointers: calling one costs an
//! indirect call, no lookup.
//!
//! Each namespace lives in its own module, which answers for its names; this file only routes a
//! name to the module that owns it. Extension functions ("Ext" in the language reference) are the
//! same `fn` in both spellings, since the receiver of a method is simply the first argument.
//! Functions that touch document storage (records, tables, channels, enums, view state...) are the
//! interpreter's and are deliberately absent here.

mod args;
mod collections;
pub(crate) mod date;
mod date_format;
mod datetime;
mod dynamic;
mod html;
mod math;
mod misc;
mod numbers_text;
pub(crate) mod password;
mod principal;
mod statistics;
mod strings;
mod templates;
mod time;
/// The zones the library resolves; a host's `set_time_zone` can accept exactly these.
pub mod zone;

#[cfg(test)]
mod coverage;
#[cfg(test)]
mod testing;

use crate::error::Fault;
use crate::random::JavaRandom;
use crate::value::Value;

/// What a library function may ask of the document running it.
pub trait Host {
    /// The document clock, in milliseconds since the epoch.
    fn now_ms(&self) -> i64;
    /// The document's time zone (`UTC` unless code changed it).
    fn time_zone(&self) -> &str;
    /// Changes the time zone; false when the zone is unknown.
    fn set_time_zone(&mut self, zone: &str) -> bool;
    /// The transaction's random generator.
    fn random(&mut self) -> &mut JavaRandom;
    fn document_key(&self) -> &str;
    fn document_space(&self) -> &str;
    fn seq(&self) -> i32;
}

/// A library function.
pub type BuiltinFn = fn(&mut dyn Host, &[Value]) -> Result<Value, Fault>;

/// The function a call site names, if the library has it.
pub fn lookup(name: &str) -> Option<BuiltinFn> {
    let (scope, function) = name.split_once('.')?;
    match scope {
        "Math" => math::namespace(function),
        "String" => strings::namespace(function),
        "Statistics" => statistics::namespace(function),
        "Time" => time::namespace(function),
        "Date" => date::namespace(function),
        "TimeSpan" => time::timespan_namespace(function),
        "Principal" => principal::namespace(function),
        "Dynamic" => dynamic::namespace(function),
        "Json" => dynamic::json_namespace(function),
        "HTML" => html::namespace(function),
        "Templates" => templates::namespace(function),
        "Token" => collections::token_namespace(function),
        "Document" | "Random" | "Runtime" => misc::namespace(scope, function),
        _ => method(scope, function),
    }
}

/// The built-in method `method` of values of the given category (the interpreter's name for the
/// receiver's static type).
fn method(category: &str, method: &str) -> Option<BuiltinFn> {
    match category {
        "bool" | "int" | "long" | "double" => {
            numbers_text::number_method(method).or_else(|| math::namespace(method))
        }
        "complex" => math::complex_method(method).or_else(|| math::namespace(method)),
        "string" => strings::string_method(method).or_else(|| strings::namespace(method)),
        "principal" => principal::namespace(method),
        "dynamic" => dynamic::namespace(method),
        "json" => dynamic::json_method(method),
        "asset" => misc::asset_method(method),
        "date" => date::date_method(method).or_else(|| date::namespace(method)),
        "datetime" => date::namespace(method),
        "time" => time::time_method(method).or_else(|| time::namespace(method)),
        "timespan" => time::timespan_namespace(method),
        "maybe" => collections::maybe_method(method),
        "list" => collections::list_method(method)
            .or_else(|| strings::list_method(method))
            .or_else(|| statistics::namespace(method))
            .or_else(|| collections::token_namespace(method)),
        "map" => collections::map_method(method),
        "message" | "pair" => dynamic::message_method(method),
        _ => None,
    }
}

/// The category of a runtime value, to find the method of a maybe's content when the call site
/// only knew the receiver as `maybe<…>`.
fn categories_of(value: &Value) -> &'static [&'static str] {
    match value {
        Value::Bool(_) => &["bool"],
        Value::Int(_) => &["int"],
        Value::Long(_) => &["long"],
        Value::Double(_) => &["double"],
        Value::Complex(..) => &["complex"],
        Value::Str(_) => &["string"],
        Value::Principal(_) => &["principal"],
        // `dynamic` and `json` share a representation; their method names do not overlap.
        Value::Dynamic(_) => &["dynamic", "json"],
        Value::Asset(_) => &["asset"],
        Value::Date(_) => &["date"],
        Value::DateTime(_) => &["datetime"],
        Value::Time(_) => &["time"],
        Value::TimeSpan(_) => &["timespan"],
        Value::List(_) => &["list"],
        Value::Map(_) => &["map"],
        Value::Message(_) => &["message"],
        _ => &[],
    }
}

/// Calls `method` on the content of a maybe receiver: empty in, empty out; otherwise the content's
/// own method, its result wrapped in a maybe.
fn call_on_content(method: &str, host: &mut dyn Host, arguments: &[Value]) -> args::Outcome {
    let content = match arguments.first() {
        None | Some(Value::Maybe(None)) => return Ok(Value::empty_maybe()),
        Some(Value::Maybe(Some(content))) => (**content).clone(),
        Some(other) => other.clone(),
    };
    let function = categories_of(&content)
        .iter()
        .find_map(|category| self::method(category, method))
        .ok_or_else(|| {
            Fault::error(
                crate::error::codes::RUNTIME_FAILURE,
                format!("no method '{method}' on this maybe's value"),
            )
        })?;
    let mut forwarded = Vec::with_capacity(arguments.len());
    forwarded.push(content);
    forwarded.extend(arguments.iter().skip(1).cloned());
    Ok(Value::some(function(host, &forwarded)?))
}
