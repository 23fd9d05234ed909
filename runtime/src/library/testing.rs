//! A host for the library's unit tests, and helpers to call functions by their call-site names.

use super::{Host, lookup};
use crate::error::Fault;
use crate::random::JavaRandom;
use crate::value::Value;

#[derive(Debug)]
pub struct TestHost {
    pub now_ms: i64,
    pub zone: String,
    pub random: JavaRandom,
}

impl Default for TestHost {
    fn default() -> TestHost {
        TestHost {
            now_ms: 50,
            zone: "UTC".to_string(),
            random: JavaRandom::new(0),
        }
    }
}

impl Host for TestHost {
    fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn time_zone(&self) -> &str {
        &self.zone
    }

    fn set_time_zone(&mut self, zone: &str) -> bool {
        if super::zone::offset_of(zone).is_some() {
            self.zone = zone.to_string();
            true
        } else {
            false
        }
    }

    fn random(&mut self) -> &mut JavaRandom {
        &mut self.random
    }

    fn document_key(&self) -> &str {
        "key"
    }

    fn document_space(&self) -> &str {
        "space"
    }

    fn seq(&self) -> i32 {
        42
    }
}

/// Calls the function named `name` on a fresh host.
pub fn call(name: &str, arguments: &[Value]) -> Result<Value, Fault> {
    call_with(&mut TestHost::default(), name, arguments)
}

pub fn call_with(host: &mut TestHost, name: &str, arguments: &[Value]) -> Result<Value, Fault> {
    let function = lookup(name).unwrap_or_else(|| panic!("the library has no '{name}'"));
    function(host, arguments)
}

/// Calls and expects success.
pub fn run(name: &str, arguments: &[Value]) -> Value {
    call(name, arguments).unwrap_or_else(|fault| panic!("'{name}' failed: {fault}"))
}

/// Calls a one-argument function (a method without arguments).
pub fn run1(name: &str, receiver: &Value) -> Value {
    run(name, std::slice::from_ref(receiver))
}

pub fn s(text: &str) -> Value {
    Value::string(text)
}

pub fn some(value: Value) -> Value {
    Value::some(value)
}

pub fn none() -> Value {
    Value::empty_maybe()
}

pub fn ints(values: &[i32]) -> Value {
    Value::list(values.iter().map(|value| Value::Int(*value)).collect())
}

pub fn doubles(values: &[f64]) -> Value {
    Value::list(values.iter().map(|value| Value::Double(*value)).collect())
}

pub fn strs(values: &[&str]) -> Value {
    Value::list(values.iter().map(|value| Value::string(value)).collect())
}

/// Exact, variant-checking comparison (the language's `==` treats `1` and `1.0` as equal).
#[track_caller]
pub fn same(actual: &Value, expected: &Value) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
}
