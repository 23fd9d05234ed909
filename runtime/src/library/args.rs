//! Reading arguments and shaping results, shared by every library module.
//!
//! The checker has already matched each call to a signature, so a missing or mistyped argument
//! can only come from a bug elsewhere: readers fall back to the type's default rather than panic.
//! The maybe overloads of the language ("empty in, empty out") are applied here, once, by
//! [`lift`] and the registration macros, so each function is written for plain values.

use crate::error::{Fault, codes};
use crate::value::Value;

/// What a library function returns.
pub type Outcome = Result<Value, Fault>;

static VOID: Value = Value::Void;

/// The argument at `index`, `void` when absent.
pub fn arg(arguments: &[Value], index: usize) -> &Value {
    arguments.get(index).unwrap_or(&VOID)
}

pub fn int(arguments: &[Value], index: usize) -> i32 {
    arg(arguments, index).as_int()
}

pub fn long(arguments: &[Value], index: usize) -> i64 {
    arg(arguments, index).as_long()
}

pub fn double(arguments: &[Value], index: usize) -> f64 {
    arg(arguments, index).as_double()
}

pub fn boolean(arguments: &[Value], index: usize) -> bool {
    arg(arguments, index).as_bool()
}

pub fn text(arguments: &[Value], index: usize) -> &str {
    arg(arguments, index).as_str()
}

/// A maybe holding `value` when there is one.
pub fn maybe(value: Option<Value>) -> Value {
    match value {
        Some(value) => Value::some(value),
        None => Value::empty_maybe(),
    }
}

pub fn string(text: impl AsRef<str>) -> Value {
    Value::string(text.as_ref())
}

/// Applies the maybe overload of a function: when an argument is a maybe, an empty one makes the
/// result empty and present ones are unwrapped before the call, whose result is then a maybe.
pub fn lift(arguments: &[Value], function: impl FnOnce(&[Value]) -> Outcome) -> Outcome {
    if !arguments
        .iter()
        .any(|value| matches!(value, Value::Maybe(_)))
    {
        return function(arguments);
    }
    let mut plain = Vec::with_capacity(arguments.len());
    for value in arguments {
        match value {
            Value::Maybe(None) => return Ok(Value::empty_maybe()),
            Value::Maybe(Some(inner)) => plain.push((**inner).clone()),
            other => plain.push(other.clone()),
        }
    }
    Ok(Value::some(function(&plain)?))
}

/// The failure of a call the reference would end with a runtime exception.
pub fn failure(message: impl Into<String>) -> Fault {
    Fault::error(codes::RUNTIME_FAILURE, message)
}

/// Library calls that build text from a user-chosen count stop here rather than exhaust the
/// host's memory: a document is one transaction among many on its node.
pub const MAX_TEXT_BYTES: usize = 1 << 24;

/// The most elements a library call generates (about 359 years of dates).
pub const MAX_GENERATED_ELEMENTS: usize = 1 << 17;

pub fn too_large() -> Fault {
    Fault::error(
        codes::MEMORY_EXHAUSTED,
        "a library call would build a value too large",
    )
}

/// Registers a pure function with the maybe overloads applied.
macro_rules! lifted {
    ($function:path) => {{
        fn entry(
            _host: &mut dyn $crate::library::Host,
            arguments: &[$crate::value::Value],
        ) -> $crate::library::args::Outcome {
            $crate::library::args::lift(arguments, $function)
        }
        Some(entry as $crate::library::BuiltinFn)
    }};
}

/// Registers a pure function whose maybe arguments are part of its meaning.
macro_rules! pure {
    ($function:path) => {{
        fn entry(
            _host: &mut dyn $crate::library::Host,
            arguments: &[$crate::value::Value],
        ) -> $crate::library::args::Outcome {
            $function(arguments)
        }
        Some(entry as $crate::library::BuiltinFn)
    }};
}

pub(crate) use {lifted, pure};
