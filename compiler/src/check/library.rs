//! The standard library as the checker sees it (language section 6): the namespaces and their
//! functions with their overloads, and the built-in methods of each type.
//!
//! A call is typed by choosing an overload with the storing rules (language sections 3.7 and
//! 5.3): the first overload whose parameters are exactly the arguments' types wins, then the
//! first that accepts them. A `maybe<T>` argument where a plain `T` is expected selects the
//! implied maybe overload, whose result is a maybe (language section 6, "empty in, empty out").
//! An argument of unknown type (`Ty::Error`) fits anything, and when it leaves the choice open
//! the result is unknown too, so one mistake gives one diagnostic.

mod table;

use std::sync::Arc;

use crate::ty::{MessageShapes, Ty, can_store};
use table::{Overload, namespaces};

/// The library namespaces.
pub const NAMESPACES: &[&str] = &[
    "Math",
    "String",
    "Statistics",
    "Time",
    "Date",
    "TimeSpan",
    "Principal",
    "Dynamic",
    "Json",
    "HTML",
    "Document",
    "ViewState",
    "Random",
    "Template",
    "Templates",
    "Token",
    "Runtime",
];

/// Namespaces whose functions need a live document (unavailable in `@static` and message code).
pub fn is_document_bound(namespace: &str, function: &str) -> bool {
    match namespace {
        "Document" | "ViewState" | "Random" => true,
        "Time" => matches!(
            function,
            "now" | "today" | "datetime" | "datetimeLive" | "time" | "zone" | "setZone"
        ),
        "Principal" => matches!(function, "principalOf" | "isFromDocument" | "isFromSpace"),
        _ => false,
    }
}

/// The functions of a namespace, in the order of the language reference.
pub fn namespace_functions(namespace: &str) -> &'static [&'static str] {
    namespaces()
        .get(namespace)
        .map_or(&[], |parsed| parsed.names.as_slice())
}

/// Why a library call does not type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No overload takes this many arguments.
    Arity {
        expected: usize,
        got: usize,
        signatures: String,
    },
    /// The one overload of this arity does not accept an argument.
    Argument {
        expected: Ty,
        actual: Ty,
        signatures: String,
    },
    /// Several overloads have this arity and none accepts the arguments.
    NoOverload {
        arguments: String,
        signatures: String,
    },
}

impl CallError {
    /// The diagnostic's message.
    pub fn message(&self, function: &str) -> String {
        match self {
            CallError::Arity { expected, got, .. } => format!(
                "Function invoked with wrong number of arguments. Expected {expected}, got {got}"
            ),
            CallError::Argument {
                expected, actual, ..
            } => format!("expected '{expected}', found '{actual}'"),
            CallError::NoOverload { arguments, .. } => {
                format!("Function '{function}' has no overload that accepts ({arguments})")
            }
        }
    }

    /// The diagnostic's hint: the signatures the function accepts.
    pub fn help(&self, function: &str) -> String {
        let (CallError::Arity { signatures, .. }
        | CallError::Argument { signatures, .. }
        | CallError::NoOverload { signatures, .. }) = self;
        format!("{function} accepts {signatures}")
    }

    /// Whether the error is about the arguments' number (otherwise their types).
    pub fn is_arity(&self) -> bool {
        matches!(self, CallError::Arity { .. })
    }
}

/// The type of a library call, or why the arguments do not fit.
pub type Call = Result<Ty, CallError>;

/// The result of `Namespace.function(arguments)`; `None` when the namespace has no such function.
pub fn namespace_call(
    namespace: &str,
    function: &str,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let function = namespaces().get(namespace)?.functions.get(function)?;
    let overloads: Vec<&Overload> = function.overloads.iter().collect();
    Some(resolve(&overloads, arguments, 0, messages))
}

fn stores(param: &Ty, argument: &Ty, exact: bool, messages: &dyn MessageShapes) -> bool {
    if exact {
        param == argument
    } else {
        can_store(param, argument, false, messages)
    }
}

/// The result of an overload for these arguments, if it accepts them.
fn fit(
    overload: &Overload,
    arguments: &[Ty],
    exact: bool,
    messages: &dyn MessageShapes,
) -> Option<Ty> {
    let mut lifted = false;
    for (param, argument) in overload.params.iter().zip(arguments) {
        if argument.is_error() || stores(param, argument, exact, messages) {
            continue;
        }
        match argument {
            Ty::Maybe(inner)
                if !matches!(param, Ty::Maybe(_)) && stores(param, inner, exact, messages) =>
            {
                lifted = true;
            }
            _ => return None,
        }
    }
    Some(if lifted && overload.result != Ty::Void {
        Ty::maybe(overload.result.clone())
    } else {
        overload.result.clone()
    })
}

/// Chooses an overload. `receiver` is 1 for a method call, whose receiver is the first argument
/// but not counted in messages.
fn resolve(
    overloads: &[&Overload],
    arguments: &[Ty],
    receiver: usize,
    messages: &dyn MessageShapes,
) -> Call {
    let same_arity: Vec<&Overload> = overloads
        .iter()
        .copied()
        .filter(|overload| overload.params.len() == arguments.len())
        .collect();
    for exact in [true, false] {
        let results: Vec<Ty> = same_arity
            .iter()
            .filter_map(|overload| fit(overload, arguments, exact, messages))
            .collect();
        if let Some(first) = results.first() {
            let open =
                arguments.iter().any(Ty::is_error) && results.iter().any(|result| result != first);
            return Ok(if open { Ty::Error } else { first.clone() });
        }
    }
    let signatures = describe(overloads, receiver);
    match same_arity.as_slice() {
        [] => Err(CallError::Arity {
            expected: overloads
                .first()
                .map_or(0, |overload| overload.params.len())
                .saturating_sub(receiver),
            got: arguments.len().saturating_sub(receiver),
            signatures,
        }),
        [overload] => {
            let (expected, actual) = overload
                .params
                .iter()
                .zip(arguments)
                .find(|(param, argument)| {
                    !can_store(param, argument, false, messages)
                        && !can_store(param, argument.unwrap_maybe(), false, messages)
                })
                .map_or((Ty::Error, Ty::Error), |(param, argument)| {
                    (param.clone(), argument.clone())
                });
            Err(CallError::Argument {
                expected,
                actual,
                signatures,
            })
        }
        _ => Err(CallError::NoOverload {
            arguments: list(arguments.iter().skip(receiver)),
            signatures,
        }),
    }
}

fn list<'a>(types: impl Iterator<Item = &'a Ty>) -> String {
    types
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(overloads: &[&Overload], receiver: usize) -> String {
    overloads
        .iter()
        .map(|overload| format!("({})", list(overload.params.iter().skip(receiver))))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A method that is a namespace function called on its first argument (`x.abs()` is
/// `Math.abs(x)`): the first of the namespaces with a function of that name whose first
/// parameter accepts the receiver.
fn extension(
    namespaces_tried: &[&str],
    receiver: &Ty,
    name: &str,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let mut all = Vec::with_capacity(arguments.len() + 1);
    all.push(receiver.clone());
    all.extend_from_slice(arguments);
    for namespace in namespaces_tried {
        let Some(function) = namespaces()
            .get(namespace)
            .and_then(|parsed| parsed.functions.get(name))
        else {
            continue;
        };
        if function.namespace_only {
            continue;
        }
        let candidates: Vec<&Overload> = function
            .overloads
            .iter()
            .filter(|overload| {
                overload.params.first().is_some_and(|param| {
                    can_store(param, receiver, false, messages)
                        || can_store(param, receiver.unwrap_maybe(), false, messages)
                })
            })
            .collect();
        if !candidates.is_empty() {
            return Some(resolve(&candidates, &all, 1, messages));
        }
    }
    None
}

/// A built-in method with one signature.
fn own(
    arguments: &[Ty],
    params: Vec<Ty>,
    result: Ty,
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let overload = Overload { params, result };
    Some(resolve(&[&overload], arguments, 0, messages))
}

/// The result of a built-in method on a value of type `receiver`, or `None` when the type has
/// no such method. Types whose methods are not all modelled answer `Some(Ok(Ty::Error))`.
pub fn method(
    receiver: &Ty,
    name: &str,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let extension = |namespaces_tried: &[&str]| {
        extension(namespaces_tried, receiver, name, arguments, messages)
    };
    let own = |params: Vec<Ty>, result: Ty| own(arguments, params, result, messages);
    let none = |result: Ty| own(Vec::new(), result);
    match receiver {
        Ty::Error => Some(Ok(Ty::Error)),
        Ty::String => extension(&["String", "Dynamic"]),
        Ty::Int | Ty::Long | Ty::Double | Ty::Bool => extension(&["Math", "String", "Dynamic"]),
        Ty::Complex => match name {
            "re" | "real" | "im" | "imaginary" => none(Ty::Double),
            _ => extension(&["Math"]),
        },
        Ty::Maybe(inner) => match name {
            "has" => none(Ty::Bool),
            "getOrDefaultTo" => own(vec![(**inner).clone()], (**inner).clone()),
            "delete" => none(Ty::Void),
            // The library functions that take a maybe and answer a plain value.
            "isTrue" | "forceId" => extension(&["Math"]),
            _ => method(inner, name, arguments, messages).map(|call| call.map(Ty::maybe)),
        },
        Ty::List(element) | Ty::Array(element) => {
            list_method(receiver, element, name, arguments, messages)
        }
        Ty::Map(key, value) => match name {
            "size" => none(Ty::Int),
            "has" => own(vec![(**key).clone()], Ty::Bool),
            "clear" => none(Ty::Void),
            "remove" => own(vec![(**key).clone()], Ty::maybe((**value).clone())),
            "insert" => own(vec![receiver.clone()], receiver.clone()),
            "min" | "max" => none(Ty::maybe(Ty::Pair(key.clone(), value.clone()))),
            _ => None,
        },
        Ty::Table(_) => match name {
            "size" => none(Ty::Int),
            "delete" => none(Ty::Void),
            "to_csv" => none(Ty::String),
            _ => None,
        },
        Ty::Enum(_) => match name {
            "to_int" => none(Ty::Int),
            "to_string" => none(Ty::String),
            "next" | "prev" => none(receiver.clone()),
            _ => None,
        },
        // Methods of these types that the table does not name are not rejected: the reference's
        // set of them is not fully known.
        Ty::Date | Ty::DateTime => extension(&["Date"]).or(Some(Ok(Ty::Error))),
        Ty::Time => match name {
            "hour" | "minute" => none(Ty::Int),
            _ => extension(&["Time"]).or(Some(Ok(Ty::Error))),
        },
        Ty::TimeSpan => extension(&["TimeSpan"]).or(Some(Ok(Ty::Error))),
        Ty::Principal | Ty::SecurePrincipal => extension(&["Principal"]).or(Some(Ok(Ty::Error))),
        Ty::Asset => match name {
            "name" | "id" | "type" | "md5" | "sha384" => none(Ty::String),
            "size" => none(Ty::Long),
            "valid" => none(Ty::Bool),
            _ => None,
        },
        Ty::Dynamic => match name {
            "to_json" => none(Ty::Json),
            _ => extension(&["Dynamic"]),
        },
        Ty::Json => match name {
            "to_dynamic" => none(Ty::Dynamic),
            "deref" => match arguments {
                [Ty::Int] => own(vec![Ty::Int], Ty::Json),
                _ => own(vec![Ty::String], Ty::Json),
            },
            "to_b" => none(Ty::maybe(Ty::Bool)),
            "to_i" => none(Ty::maybe(Ty::Int)),
            "to_s" => none(Ty::maybe(Ty::String)),
            _ => None,
        },
        Ty::Channel(message) => channel_method(message, name, arguments, messages),
        Ty::Future(inner) => match name {
            "await" => none((**inner).clone()),
            _ => None,
        },
        Ty::ServiceResult(inner) => match name {
            "await" | "as_maybe" => none(Ty::maybe((**inner).clone())),
            "has" | "finished" | "failed" => none(Ty::Bool),
            "code" => none(Ty::Int),
            "message" => none(Ty::String),
            _ => None,
        },
        // The arguments of `enqueue` are checked against the handler's message by the caller.
        Ty::Handler(_) => (name == "enqueue").then_some(Ok(Ty::Void)),
        Ty::Text => match name {
            "append" => own(vec![Ty::Int, Ty::Dynamic], Ty::Bool),
            "get" => none(Ty::String),
            _ => None,
        },
        Ty::Holder(message) => (name == "write").then(|| Ok(Ty::Message(Arc::clone(message)))),
        Ty::Template => extension(&["Template"]),
        _ => Some(Ok(Ty::Error)),
    }
}

/// Methods of lists and arrays (language sections 6.1, 6.3, 6.4 and 6.8).
fn list_method(
    receiver: &Ty,
    element: &Ty,
    name: &str,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let own = |params: Vec<Ty>, result: Ty| own(arguments, params, result, messages);
    let none = |result: Ty| own(Vec::new(), result);
    match name {
        "size" => none(Ty::Int),
        "toArray" => none(Ty::array(element.clone())),
        "reverse" => none(Ty::list(element.clone())),
        "skip" | "drop" => own(vec![Ty::Int], Ty::list(element.clone())),
        "flatten" => none(match element {
            Ty::List(inner) | Ty::Array(inner) => Ty::list((**inner).clone()),
            Ty::Error => Ty::Error,
            _ => return None,
        }),
        "manifest" => none(Ty::list(element.unwrap_maybe().clone())),
        _ => extension(
            &["Statistics", "Token", "String"],
            receiver,
            name,
            arguments,
            messages,
        ),
    }
}

/// Methods of an async channel (language section 6.1).
fn channel_method(
    message: &Ty,
    name: &str,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<Call> {
    let own = |params: Vec<Ty>, result: Ty| own(arguments, params, result, messages);
    let future = |inner: Ty| Ty::Future(Box::new(inner));
    let options = match message {
        Ty::Array(_) => message.clone(),
        other => Ty::array(other.clone()),
    };
    match name {
        "fetch" => own(vec![Ty::Principal], future(message.clone())),
        "fetchTimed" => own(
            vec![Ty::Principal, Ty::Double],
            future(Ty::maybe(message.clone())),
        ),
        "decide" => own(
            vec![Ty::Principal, options],
            future(Ty::maybe(message.clone())),
        ),
        "choose" => own(
            vec![Ty::Principal, options, Ty::Int],
            future(Ty::maybe(message.clone())),
        ),
        _ => None,
    }
}
