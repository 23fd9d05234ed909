//! The standard library as the checker sees it (language section 6): the namespaces and their
//! functions, and the built-in methods of each type, with their result types.
//!
//! Result types that depend on the arguments are computed from them; a function whose result is
//! not modelled yet yields `Ty::Error`, which accepts anything, so an incomplete entry can never
//! reject a valid program.

use std::sync::Arc;

use crate::ty::Ty;

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

/// The functions of a namespace.
pub fn namespace_functions(namespace: &str) -> &'static [&'static str] {
    match namespace {
        "Math" => &[
            "abs",
            "sign",
            "sqrt",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "sinh",
            "cosh",
            "tanh",
            "exp",
            "log",
            "log10",
            "cbrt",
            "expm1",
            "log1p",
            "signum",
            "ulp",
            "getExponent",
            "radians",
            "degrees",
            "atan2",
            "hypot",
            "pow",
            "IEEEremainder",
            "copySign",
            "min",
            "max",
            "floorDiv",
            "floorMod",
            "gcd",
            "ceil",
            "floor",
            "round",
            "roundTo",
            "intOf",
            "longOf",
            "clampIntOf",
            "isNaN",
            "isInfinite",
            "valid",
            "near",
            "xor",
            "conj",
            "length",
            "isTrue",
            "intersects",
            "forceId",
            "PI",
            "E",
            "SQRT2",
            "toRadians",
            "toDegrees",
        ],
        "String" => &[
            "split",
            "contains",
            "startsWith",
            "endsWith",
            "indexOf",
            "trim",
            "trimLeft",
            "trimRight",
            "upper",
            "lower",
            "proper",
            "reverse",
            "camelject",
            "mid",
            "substr",
            "left",
            "right",
            "multiply",
            "replaceAll",
            "removeAll",
            "bulkReplaceAll",
            "compare",
            "compareInsensitive",
            "equality",
            "codepointAt",
            "codepoints",
            "intOf",
            "longOf",
            "doubleOf",
            "intFromHex",
            "longFromHex",
            "initialsOf",
            "principalOf",
            "to_dyn",
            "passwordHash",
            "passwordCheck",
            "charOf",
            "to_roman",
            "hexOf",
            "strOf",
            "join",
            "concat",
            "of",
            "length",
        ],
        "Statistics" => &[
            "sum",
            "average",
            "minimum",
            "maximum",
            "median",
            "percentile",
        ],
        "Time" => &[
            "now",
            "today",
            "datetime",
            "datetimeLive",
            "time",
            "zone",
            "setZone",
            "make",
            "toInt",
            "extendWithinDay",
            "cyclicAdd",
            "overlaps",
        ],
        "Date" => &[
            "make",
            "construct",
            "valid",
            "calendarViewOf",
            "weekViewOf",
            "neighborViewOf",
            "inclusiveRange",
            "patternOf",
            "satisfiesWeeklyPattern",
            "inclusiveRangeSatisfiesWeeklyPattern",
            "dayOfWeek",
            "dayOfWeekEnglish",
            "monthNameEnglish",
            "offsetDay",
            "offsetMonth",
            "periodMonths",
            "periodYearsFractional",
            "future",
            "past",
            "between",
            "min",
            "max",
            "date",
            "time",
            "adjustTimeZone",
            "withYear",
            "withMonth",
            "withDayOfMonth",
            "withHour",
            "withMinute",
            "withTime",
            "truncateDay",
            "truncateHour",
            "truncateMinute",
            "truncateSeconds",
            "truncateMilliseconds",
            "format",
            "overlaps",
            "year",
            "month",
            "day",
        ],
        "TimeSpan" => &[
            "makeFromSeconds",
            "makeFromMinutes",
            "seconds",
            "minutes",
            "hours",
            "add",
            "multiply",
        ],
        "Principal" => &[
            "isAdamaDeveloper",
            "isAnonymous",
            "isOverlord",
            "isAdamaHost",
            "fromAuthority",
            "agent",
            "authority",
            "isFromDocument",
            "isFromSpace",
            "principalOf",
        ],
        "Dynamic" => &[
            "dyn", "str", "i", "l", "d", "b", "date", "datetime", "is_null", "to_str", "parse",
            "to_dyn",
        ],
        "Json" => &["parse", "parsen"],
        "HTML" => &[
            "convertHTMLtoJSON",
            "escapeHTMLAttributeValue",
            "convertJSONtoHTML",
        ],
        "Document" => &[
            "destroy",
            "rewind",
            "key",
            "space",
            "seq",
            "disconnect",
            "patch",
        ],
        "ViewState" => &["merge", "goto", "send", "log"],
        "Random" => &[
            "genInt",
            "genBoundInt",
            "genLong",
            "genDouble",
            "getDoubleGaussian",
        ],
        "Template" => &["html", "raw"],
        "Templates" => &["accountRecoveryDefaultEmail", "multilineEmailWithButton"],
        "Token" => &[
            "sortAndUniqueAsIntTokens",
            "normalizeSortAndUniqueAsStringTokens",
            "intersect",
        ],
        "Runtime" => &["isBeta"],
        _ => &[],
    }
}

fn first(arguments: &[Ty]) -> Ty {
    arguments.first().cloned().unwrap_or(Ty::Error)
}

fn same_maybe(arguments: &[Ty], plain: Ty) -> Ty {
    if arguments
        .iter()
        .any(|argument| matches!(argument, Ty::Maybe(_)))
    {
        Ty::maybe(plain)
    } else {
        plain
    }
}

/// The result of `Namespace.function(arguments)`.
pub fn namespace_call(namespace: &str, function: &str, arguments: &[Ty]) -> Ty {
    let d = || same_maybe(arguments, Ty::Double);
    match (namespace, function) {
        ("Math", "abs") => match first(arguments) {
            Ty::Complex => Ty::Double,
            other => other,
        },
        ("Math", "sign" | "signum" | "getExponent") if function != "signum" => Ty::Int,
        ("Math", "sqrt") => Ty::Complex,
        ("Math", "min" | "max" | "floorDiv" | "floorMod" | "gcd") => first(arguments),
        ("Math", "intOf") => Ty::maybe(Ty::Int),
        ("Math", "longOf") => Ty::maybe(Ty::Long),
        ("Math", "clampIntOf" | "forceId") => Ty::Int,
        ("Math", "isNaN" | "isInfinite" | "near" | "xor" | "isTrue" | "intersects") => Ty::Bool,
        ("Math", "valid") => Ty::maybe(Ty::Double),
        ("Math", "conj") => Ty::Complex,
        ("Math", "length") => Ty::Double,
        ("Math", _) => d(),
        ("String", "split") => same_maybe(arguments, Ty::list(Ty::String)),
        ("String", "contains" | "startsWith" | "endsWith" | "equality" | "passwordCheck") => {
            same_maybe(arguments, Ty::Bool)
        }
        ("String", "indexOf" | "codepointAt" | "intOf" | "intFromHex") => Ty::maybe(Ty::Int),
        ("String", "longOf" | "longFromHex") => Ty::maybe(Ty::Long),
        ("String", "doubleOf") => Ty::maybe(Ty::Double),
        ("String", "mid" | "substr" | "left" | "right") => Ty::maybe(Ty::String),
        ("String", "compare" | "compareInsensitive" | "length") => Ty::Int,
        ("String", "codepoints") => Ty::list(Ty::Int),
        ("String", "principalOf") => Ty::Principal,
        ("String", "to_dyn") => Ty::maybe(Ty::Dynamic),
        ("String", _) => same_maybe(arguments, Ty::String),
        ("Statistics", "average") => Ty::maybe(Ty::Double),
        ("Statistics", _) => match first(arguments) {
            Ty::List(element) | Ty::Array(element) => Ty::maybe(*element),
            _ => Ty::Error,
        },
        ("Time", "now") => Ty::Long,
        ("Time", "today") => Ty::Date,
        ("Time", "datetime" | "datetimeLive") => Ty::DateTime,
        ("Time", "time" | "extendWithinDay" | "cyclicAdd") => Ty::Time,
        ("Time", "zone") => Ty::String,
        ("Time", "setZone" | "overlaps") => Ty::Bool,
        ("Time", "make") => Ty::maybe(Ty::Time),
        ("Time", "toInt") => Ty::Int,
        ("Date", "make") => Ty::maybe(Ty::Date),
        (
            "Date",
            "construct" | "adjustTimeZone" | "withYear" | "withMonth" | "withDayOfMonth"
            | "withHour" | "withMinute" | "withTime",
        ) => Ty::maybe(Ty::DateTime),
        ("Date", "valid" | "satisfiesWeeklyPattern" | "overlaps") => Ty::Bool,
        (
            "Date",
            "calendarViewOf"
            | "weekViewOf"
            | "neighborViewOf"
            | "inclusiveRange"
            | "inclusiveRangeSatisfiesWeeklyPattern",
        ) => Ty::list(Ty::Date),
        ("Date", "patternOf" | "dayOfWeek" | "periodMonths" | "year" | "month" | "day") => Ty::Int,
        ("Date", "dayOfWeekEnglish" | "monthNameEnglish") => Ty::String,
        ("Date", "offsetDay" | "offsetMonth") => Ty::Date,
        ("Date", "periodYearsFractional") => Ty::Double,
        (
            "Date",
            "future"
            | "past"
            | "truncateDay"
            | "truncateHour"
            | "truncateMinute"
            | "truncateSeconds"
            | "truncateMilliseconds",
        ) => Ty::DateTime,
        ("Date", "between") => Ty::TimeSpan,
        ("Date", "min" | "max") => first(arguments),
        ("Date", "date") => Ty::Date,
        ("Date", "time") => Ty::Time,
        ("Date", "format") => Ty::maybe(Ty::String),
        ("TimeSpan", "makeFromSeconds" | "makeFromMinutes" | "add" | "multiply") => Ty::TimeSpan,
        ("TimeSpan", _) => Ty::Double,
        ("Principal", "agent" | "authority") => Ty::String,
        ("Principal", "principalOf") => Ty::Principal,
        ("Principal", _) => Ty::Bool,
        ("Dynamic", "dyn") => Ty::Dynamic,
        ("Dynamic", "to_str") => Ty::String,
        ("Dynamic", "parse" | "to_dyn") => Ty::maybe(Ty::Dynamic),
        ("Json", "parse") => Ty::maybe(Ty::Json),
        ("Json", "parsen") => Ty::Json,
        ("HTML", "convertHTMLtoJSON") => Ty::maybe(Ty::Dynamic),
        ("HTML", _) => Ty::String,
        ("Document", "key" | "space") => Ty::String,
        ("Document", "seq") => Ty::Int,
        ("Document", _) => Ty::Void,
        ("ViewState", _) => Ty::Bool,
        ("Random", "genInt" | "genBoundInt") => Ty::Int,
        ("Random", "genLong") => Ty::Long,
        ("Random", _) => Ty::Double,
        ("Template", _) => Ty::maybe(Ty::String),
        ("Templates", _) => Ty::String,
        ("Token", "sortAndUniqueAsIntTokens") => Ty::array(Ty::Int),
        ("Token", "normalizeSortAndUniqueAsStringTokens") => Ty::array(Ty::String),
        ("Token", "intersect") => first(arguments),
        ("Runtime", _) => Ty::Bool,
        _ => Ty::Error,
    }
}

/// The result of a built-in method on a value of type `receiver`, or `None` when the type has
/// no such method. Types whose methods are not all modelled answer `Some(Ty::Error)`.
pub fn method(receiver: &Ty, name: &str, arguments: &[Ty]) -> Option<Ty> {
    let extension = |namespace: &str| {
        namespace_functions(namespace).contains(&name).then(|| {
            let mut all = vec![receiver.clone()];
            all.extend_from_slice(arguments);
            namespace_call(namespace, name, &all)
        })
    };
    match receiver {
        Ty::Error => Some(Ty::Error),
        Ty::String => match name {
            "dyn" => Some(Ty::Dynamic),
            _ => extension("String"),
        },
        Ty::Int | Ty::Long | Ty::Double => match name {
            "strOf" | "hexOf" | "charOf" | "to_roman" => Some(Ty::String),
            "dyn" => Some(Ty::Dynamic),
            _ => extension("Math"),
        },
        Ty::Bool => match name {
            "strOf" => Some(Ty::String),
            "dyn" => Some(Ty::Dynamic),
            _ => extension("Math"),
        },
        Ty::Complex => match name {
            "re" | "real" | "im" | "imaginary" | "length" | "abs" => Some(Ty::Double),
            "conj" => Some(Ty::Complex),
            _ => extension("Math"),
        },
        Ty::Maybe(inner) => match name {
            "has" => Some(Ty::Bool),
            "getOrDefaultTo" => Some((**inner).clone()),
            "delete" => Some(Ty::Void),
            // The library functions that take a maybe and answer a plain value.
            "isTrue" if **inner == Ty::Bool => Some(Ty::Bool),
            "forceId" if **inner == Ty::Int => Some(Ty::Int),
            _ => method(inner, name, arguments).map(Ty::maybe),
        },
        Ty::List(element) | Ty::Array(element) => match name {
            "size" => Some(Ty::Int),
            "toArray" => Some(Ty::array((**element).clone())),
            "reverse" | "skip" | "drop" => Some(Ty::list((**element).clone())),
            "flatten" => Some(match &**element {
                Ty::List(inner) | Ty::Array(inner) => Ty::list((**inner).clone()),
                _ => Ty::Error,
            }),
            "manifest" => Some(Ty::list(element.unwrap_maybe().clone())),
            "join" | "concat" => Some(if matches!(**element, Ty::Maybe(_)) {
                Ty::maybe(Ty::String)
            } else {
                Ty::String
            }),
            _ => extension("Statistics").or_else(|| extension("Token")),
        },
        Ty::Map(key, value) => match name {
            "size" => Some(Ty::Int),
            "has" => Some(Ty::Bool),
            "clear" => Some(Ty::Void),
            "remove" => Some(Ty::maybe((**value).clone())),
            "insert" => Some(receiver.clone()),
            "min" | "max" => Some(Ty::maybe(Ty::Pair(key.clone(), value.clone()))),
            _ => None,
        },
        Ty::Table(_) => match name {
            "size" => Some(Ty::Int),
            "delete" => Some(Ty::Void),
            "to_csv" => Some(Ty::String),
            _ => None,
        },
        Ty::Enum(_) => match name {
            "to_int" => Some(Ty::Int),
            "to_string" => Some(Ty::String),
            "next" | "prev" => Some(receiver.clone()),
            _ => None,
        },
        Ty::Date => match name {
            "year" | "month" | "day" => Some(Ty::Int),
            _ => extension("Date").or(Some(Ty::Error)),
        },
        Ty::Time => match name {
            "hour" | "minute" => Some(Ty::Int),
            _ => extension("Time").or(Some(Ty::Error)),
        },
        Ty::DateTime => extension("Date").or(Some(Ty::Error)),
        Ty::TimeSpan => extension("TimeSpan").or(Some(Ty::Error)),
        Ty::Principal | Ty::SecurePrincipal => extension("Principal").or(Some(Ty::Error)),
        Ty::Asset => match name {
            "name" | "id" | "type" | "md5" | "sha384" => Some(Ty::String),
            "size" => Some(Ty::Long),
            "valid" => Some(Ty::Bool),
            _ => None,
        },
        Ty::Dynamic => match name {
            "to_json" => Some(Ty::Json),
            "to_str" => Some(Ty::String),
            "is_null" => Some(Ty::maybe(Ty::Bool)),
            "str" | "i" | "l" | "d" | "b" | "date" | "datetime" => {
                let plain = match name {
                    "str" => Ty::String,
                    "i" => Ty::Int,
                    "l" => Ty::Long,
                    "d" => Ty::Double,
                    "b" => Ty::Bool,
                    "date" => Ty::Date,
                    _ => Ty::DateTime,
                };
                Some(if arguments.len() >= 2 {
                    plain
                } else {
                    Ty::maybe(plain)
                })
            }
            _ => extension("Dynamic"),
        },
        Ty::Json => match name {
            "to_dynamic" => Some(Ty::Dynamic),
            "deref" => Some(Ty::Json),
            "to_b" => Some(Ty::maybe(Ty::Bool)),
            "to_i" => Some(Ty::maybe(Ty::Int)),
            "to_s" => Some(Ty::maybe(Ty::String)),
            _ => None,
        },
        Ty::Channel(message) => match name {
            "fetch" => Some(Ty::Future(message.clone())),
            "fetchTimed" | "decide" => Some(Ty::Future(Box::new(Ty::maybe((**message).clone())))),
            "choose" => Some(Ty::Future(Box::new(Ty::maybe((**message).clone())))),
            _ => None,
        },
        Ty::Future(inner) => match name {
            "await" => Some((**inner).clone()),
            _ => None,
        },
        Ty::ServiceResult(inner) => match name {
            "await" | "as_maybe" => Some(Ty::maybe((**inner).clone())),
            "has" | "finished" | "failed" => Some(Ty::Bool),
            "code" => Some(Ty::Int),
            "message" => Some(Ty::String),
            _ => None,
        },
        Ty::Handler(_) => (name == "enqueue").then_some(Ty::Void),
        Ty::Text => match name {
            "append" => Some(Ty::Bool),
            "get" => Some(Ty::String),
            _ => None,
        },
        Ty::Holder(message) => (name == "write").then(|| Ty::Message(Arc::clone(message))),
        Ty::Template => extension("Template"),
        _ => Some(Ty::Error),
    }
}
