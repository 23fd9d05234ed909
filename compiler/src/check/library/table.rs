//! The signatures of the library namespaces (language section 6), written as text and parsed
//! once into overloads.
//!
//! Each function lists its overloads as `(params) -> result`, separated by `|`; a single parameter
//! needs no parentheses. A function marked `ns` is called only through its namespace; the others
//! are also methods of their first parameter ("Ext" in the language reference). Overloads that
//! take `maybe<…>` arguments are implied (see `resolve`), so only the plain forms are written.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ty::Ty;

/// One overload: parameter types and result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overload {
    pub params: Vec<Ty>,
    pub result: Ty,
}

/// A function of a namespace.
#[derive(Debug)]
pub struct Function {
    pub overloads: Vec<Overload>,
    /// Callable only as `Namespace.function(…)`, not as a method of its first argument.
    pub namespace_only: bool,
}

/// A namespace: its function names in declaration order, and their signatures.
#[derive(Debug, Default)]
pub struct Namespace {
    pub names: Vec<&'static str>,
    pub functions: HashMap<&'static str, Function>,
}

/// The parsed table, by namespace name.
pub fn namespaces() -> &'static HashMap<&'static str, Namespace> {
    static TABLE: OnceLock<HashMap<&'static str, Namespace>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SIGNATURES
            .iter()
            .map(|(namespace, functions)| {
                let mut parsed = Namespace::default();
                for (name, text) in *functions {
                    let (namespace_only, text) = match text.strip_prefix("ns ") {
                        Some(rest) => (true, rest),
                        None => (false, *text),
                    };
                    let overloads = text.split('|').map(parse_overload).collect();
                    parsed.names.push(name);
                    parsed.functions.insert(
                        name,
                        Function {
                            overloads,
                            namespace_only,
                        },
                    );
                }
                (*namespace, parsed)
            })
            .collect()
    })
}

/// `(int, double) -> bool` or `int -> bool`.
fn parse_overload(text: &str) -> Overload {
    let (params, result) = text.split_once("->").unwrap_or((text, "void"));
    let params = params.trim();
    let params = params
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(params);
    Overload {
        params: split_top_level(params)
            .into_iter()
            .map(parse_type)
            .collect(),
        result: parse_type(result),
    }
}

/// Splits on commas outside angle brackets; an empty text has no parts.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        parts.push(&text[start..]);
    }
    parts
}

/// A type of the table; the table is fixed text, so an unknown name is a bug caught by tests.
fn parse_type(text: &str) -> Ty {
    let text = text.trim();
    if let Some(element) = text.strip_suffix("[]") {
        return Ty::array(parse_type(element));
    }
    if let Some((outer, inner)) = text.split_once('<') {
        let inner = inner.strip_suffix('>').unwrap_or(inner);
        let args: Vec<Ty> = split_top_level(inner).into_iter().map(parse_type).collect();
        let arg = |index: usize| args.get(index).cloned().unwrap_or(Ty::Error);
        return match outer {
            "maybe" => Ty::maybe(arg(0)),
            "list" => Ty::list(arg(0)),
            "map" => Ty::Map(Box::new(arg(0)), Box::new(arg(1))),
            _ => Ty::Error,
        };
    }
    match text {
        "void" => Ty::Void,
        "bool" => Ty::Bool,
        "int" => Ty::Int,
        "long" => Ty::Long,
        "double" => Ty::Double,
        "complex" => Ty::Complex,
        "string" => Ty::String,
        "principal" => Ty::Principal,
        "dynamic" => Ty::Dynamic,
        "json" => Ty::Json,
        "date" => Ty::Date,
        "datetime" => Ty::DateTime,
        "time" => Ty::Time,
        "timespan" => Ty::TimeSpan,
        "template" => Ty::Template,
        _ => Ty::Error,
    }
}

type Table = &'static [(&'static str, &'static [(&'static str, &'static str)])];

/// Every namespace function. Order matters inside a function: the first overload that fits
/// exactly wins, then the first that accepts the arguments through the storing rules.
const SIGNATURES: Table = &[
    ("Math", MATH),
    ("String", STRING),
    (
        "Statistics",
        &[
            (
                "sum",
                "list<int> -> maybe<int> | list<long> -> maybe<long> | list<double> -> maybe<double> | int[] -> maybe<int> | long[] -> maybe<long> | double[] -> maybe<double>",
            ),
            (
                "average",
                "list<double> -> maybe<double> | list<long> -> maybe<double> | double[] -> maybe<double> | long[] -> maybe<double>",
            ),
            ("minimum", STATISTIC),
            ("maximum", STATISTIC),
            ("median", STATISTIC),
            (
                "percentile",
                "(list<int>, double) -> maybe<int> | (list<long>, double) -> maybe<long> | (list<double>, double) -> maybe<double> | (int[], double) -> maybe<int> | (long[], double) -> maybe<long> | (double[], double) -> maybe<double>",
            ),
        ],
    ),
    (
        "Time",
        &[
            ("now", "() -> long"),
            ("today", "() -> date"),
            ("datetime", "() -> datetime"),
            ("datetimeLive", "() -> datetime"),
            ("time", "() -> time"),
            ("zone", "() -> string"),
            ("setZone", "ns string -> bool"),
            ("make", "ns (int, int) -> maybe<time>"),
            ("toInt", "time -> int"),
            ("extendWithinDay", "(time, timespan) -> time"),
            ("cyclicAdd", "(time, timespan) -> time"),
            ("overlaps", "ns (time, time, time, time) -> bool"),
        ],
    ),
    ("Date", DATE),
    (
        "TimeSpan",
        &[
            ("makeFromSeconds", "ns double -> timespan"),
            ("makeFromMinutes", "ns double -> timespan"),
            ("seconds", "timespan -> double"),
            ("minutes", "timespan -> double"),
            ("hours", "timespan -> double"),
            ("add", "(timespan, timespan) -> timespan"),
            ("multiply", "(timespan, double) -> timespan"),
        ],
    ),
    (
        "Principal",
        &[
            ("isAdamaDeveloper", "principal -> bool"),
            ("isAnonymous", "principal -> bool"),
            ("isOverlord", "principal -> bool"),
            ("isAdamaHost", "principal -> bool"),
            ("fromAuthority", "(principal, string) -> bool"),
            ("agent", "principal -> string"),
            ("authority", "principal -> string"),
            ("isFromDocument", "principal -> bool"),
            ("isFromSpace", "principal -> bool"),
            ("principalOf", "ns string -> principal"),
        ],
    ),
    ("Dynamic", DYNAMIC),
    (
        "Json",
        &[
            ("parse", "ns string -> maybe<json>"),
            ("parsen", "ns string -> json"),
        ],
    ),
    (
        "HTML",
        &[
            ("convertHTMLtoJSON", "ns (string, string) -> maybe<dynamic>"),
            ("escapeHTMLAttributeValue", "ns string -> string"),
            ("convertJSONtoHTML", "ns dynamic -> string"),
        ],
    ),
    (
        "Document",
        &[
            ("destroy", "() -> void"),
            ("rewind", "ns int -> void"),
            ("key", "() -> string"),
            ("space", "() -> string"),
            ("seq", "() -> int"),
            ("disconnect", "ns principal -> void"),
            ("patch", "ns dynamic -> void"),
        ],
    ),
    (
        "ViewState",
        &[
            ("merge", "ns dynamic -> bool"),
            ("goto", "ns string -> bool"),
            ("send", "ns (string, dynamic) -> bool"),
            ("log", "ns string -> bool"),
        ],
    ),
    (
        "Random",
        &[
            ("genInt", "() -> int"),
            ("genBoundInt", "ns int -> int"),
            ("genLong", "() -> long"),
            ("genDouble", "() -> double"),
            ("getDoubleGaussian", "() -> double"),
        ],
    ),
    (
        "Template",
        &[
            ("html", "(template, dynamic) -> maybe<string>"),
            ("raw", "(template, dynamic) -> maybe<string>"),
        ],
    ),
    (
        "Templates",
        &[
            (
                "accountRecoveryDefaultEmail",
                "ns (string, string, string) -> string",
            ),
            (
                "multilineEmailWithButton",
                "ns (string, string, string, string, string, string, string) -> string",
            ),
        ],
    ),
    (
        "Token",
        &[
            (
                "sortAndUniqueAsIntTokens",
                "list<int> -> int[] | int[] -> int[]",
            ),
            (
                "normalizeSortAndUniqueAsStringTokens",
                "list<string> -> string[] | string[] -> string[]",
            ),
            (
                "intersect",
                "(int[], int[]) -> int[] | (string[], string[]) -> string[] | (list<int>, list<int>) -> int[] | (list<string>, list<string>) -> string[]",
            ),
        ],
    ),
    ("Runtime", &[("isBeta", "() -> bool")]),
];

const STATISTIC: &str = "list<int> -> maybe<int> | list<long> -> maybe<long> | list<double> -> maybe<double> | int[] -> maybe<int> | long[] -> maybe<long> | double[] -> maybe<double>";

const D_D: &str = "double -> double";
const DD_D: &str = "(double, double) -> double";
const ROUNDING: &str = "double -> double | (double, double) -> double";

const MATH: &[(&str, &str)] = &[
    (
        "abs",
        "int -> int | long -> long | double -> double | complex -> double",
    ),
    ("sign", "int -> int | long -> int | double -> int"),
    ("sqrt", "double -> complex"),
    ("sin", D_D),
    ("cos", D_D),
    ("tan", D_D),
    ("asin", D_D),
    ("acos", D_D),
    ("atan", D_D),
    ("sinh", D_D),
    ("cosh", D_D),
    ("tanh", D_D),
    ("exp", D_D),
    ("log", D_D),
    ("log10", D_D),
    ("cbrt", D_D),
    ("expm1", D_D),
    ("log1p", D_D),
    ("signum", D_D),
    ("ulp", D_D),
    // Java's `Math.getExponent` answers an int; an int result also stores where a double goes.
    ("getExponent", "double -> int"),
    ("radians", D_D),
    ("degrees", D_D),
    ("toRadians", D_D),
    ("toDegrees", D_D),
    ("atan2", DD_D),
    ("hypot", DD_D),
    ("pow", DD_D),
    ("IEEEremainder", DD_D),
    ("copySign", DD_D),
    (
        "min",
        "(int, int) -> int | (long, long) -> long | (double, double) -> double",
    ),
    (
        "max",
        "(int, int) -> int | (long, long) -> long | (double, double) -> double",
    ),
    ("floorDiv", "(int, int) -> int | (long, long) -> long"),
    ("floorMod", "(int, int) -> int | (long, long) -> long"),
    ("gcd", "ns (int, int) -> int"),
    ("ceil", ROUNDING),
    ("floor", ROUNDING),
    ("round", ROUNDING),
    ("roundTo", "(double, int) -> double"),
    ("intOf", "double -> maybe<int> | long -> maybe<int>"),
    ("longOf", "double -> maybe<long> | long -> maybe<long>"),
    ("clampIntOf", "double -> int | long -> int"),
    ("isNaN", "double -> bool"),
    ("isInfinite", "double -> bool"),
    ("valid", "double -> maybe<double>"),
    (
        "near",
        "(double, double) -> bool | (complex, complex) -> bool | (complex, double) -> bool | (complex, long) -> bool",
    ),
    ("xor", "(bool, bool) -> bool"),
    ("conj", "complex -> complex"),
    ("length", "complex -> double"),
    ("isTrue", "maybe<bool> -> bool"),
    (
        "intersects",
        "ns (double, double, double, double) -> bool | (long, long, long, long) -> bool",
    ),
    ("forceId", "maybe<int> -> int"),
    ("PI", "() -> double"),
    ("E", "() -> double"),
    ("SQRT2", "() -> double"),
];

const S_S: &str = "string -> string";
const SS_B: &str = "(string, string) -> bool";

const STRING: &[(&str, &str)] = &[
    ("split", "(string, string) -> list<string>"),
    ("contains", SS_B),
    ("startsWith", SS_B),
    ("endsWith", SS_B),
    (
        "indexOf",
        "(string, string) -> maybe<int> | (string, string, int) -> maybe<int>",
    ),
    ("trim", S_S),
    ("trimLeft", S_S),
    ("trimRight", S_S),
    ("upper", S_S),
    ("lower", S_S),
    ("proper", S_S),
    ("reverse", S_S),
    ("camelject", "(string, string) -> string"),
    ("mid", "(string, int, int) -> maybe<string>"),
    ("substr", "(string, int, int) -> maybe<string>"),
    ("left", "(string, int) -> maybe<string>"),
    ("right", "(string, int) -> maybe<string>"),
    ("multiply", "(string, int) -> string"),
    ("replaceAll", "(string, string, string) -> string"),
    ("removeAll", "(string, string) -> string"),
    (
        "bulkReplaceAll",
        "(string, string, map<string, string>) -> string",
    ),
    ("compare", "(string, string) -> int"),
    ("compareInsensitive", "(string, string) -> int"),
    ("equality", SS_B),
    ("codepointAt", "(string, int) -> maybe<int>"),
    ("codepoints", "string -> list<int>"),
    ("intOf", "string -> maybe<int>"),
    ("longOf", "string -> maybe<long>"),
    ("doubleOf", "string -> maybe<double>"),
    ("intFromHex", "string -> maybe<int>"),
    ("longFromHex", "string -> maybe<long>"),
    ("initialsOf", "(string, bool) -> string | string -> string"),
    ("principalOf", "string -> principal"),
    ("to_dyn", "string -> maybe<dynamic>"),
    ("passwordHash", S_S),
    ("passwordCheck", SS_B),
    ("charOf", "int -> string"),
    ("to_roman", "int -> string"),
    ("hexOf", "int -> string | long -> string"),
    (
        "strOf",
        "int -> string | long -> string | double -> string | bool -> string",
    ),
    (
        "join",
        "(list<string>, string) -> string | (string[], string) -> string | (list<maybe<string>>, string) -> maybe<string> | (maybe<string>[], string) -> maybe<string>",
    ),
    (
        "concat",
        "list<string> -> string | string[] -> string | list<maybe<string>> -> maybe<string> | maybe<string>[] -> maybe<string>",
    ),
    (
        "of",
        "ns bool -> string | int -> string | long -> string | double -> string",
    ),
    ("length", "string -> int"),
];

const DT_MDT: &str = "(datetime, int) -> maybe<datetime>";
const DT_DT: &str = "datetime -> datetime";

const DATE: &[(&str, &str)] = &[
    ("make", "ns (int, int, int) -> maybe<date>"),
    (
        "construct",
        "(date, time, double, string) -> maybe<datetime>",
    ),
    ("valid", "date -> bool"),
    ("calendarViewOf", "date -> list<date>"),
    ("weekViewOf", "date -> list<date>"),
    ("neighborViewOf", "(date, int) -> list<date>"),
    ("inclusiveRange", "(date, date) -> list<date>"),
    (
        "patternOf",
        "ns (bool, bool, bool, bool, bool, bool, bool) -> int",
    ),
    ("satisfiesWeeklyPattern", "(date, int) -> bool"),
    (
        "inclusiveRangeSatisfiesWeeklyPattern",
        "(date, date, int) -> list<date>",
    ),
    ("dayOfWeek", "date -> int"),
    ("dayOfWeekEnglish", "date -> string"),
    ("monthNameEnglish", "date -> string"),
    ("offsetDay", "(date, int) -> date"),
    ("offsetMonth", "(date, int) -> date"),
    ("periodMonths", "(date, date) -> int"),
    ("periodYearsFractional", "(date, date) -> double"),
    ("future", "(datetime, timespan) -> datetime"),
    ("past", "(datetime, timespan) -> datetime"),
    ("between", "(datetime, datetime) -> timespan"),
    (
        "min",
        "(date, date) -> date | (datetime, datetime) -> datetime",
    ),
    (
        "max",
        "(date, date) -> date | (datetime, datetime) -> datetime",
    ),
    ("date", "datetime -> date"),
    ("time", "datetime -> time"),
    ("adjustTimeZone", "(datetime, string) -> maybe<datetime>"),
    ("withYear", DT_MDT),
    ("withMonth", DT_MDT),
    ("withDayOfMonth", DT_MDT),
    ("withHour", DT_MDT),
    ("withMinute", DT_MDT),
    ("withTime", "(datetime, time) -> maybe<datetime>"),
    ("truncateDay", DT_DT),
    ("truncateHour", DT_DT),
    ("truncateMinute", DT_DT),
    ("truncateSeconds", DT_DT),
    ("truncateMilliseconds", DT_DT),
    (
        "format",
        "(date, string) -> maybe<string> | (datetime, string) -> maybe<string> | (date, string, string) -> maybe<string> | (datetime, string, string) -> maybe<string>",
    ),
    (
        "overlaps",
        "ns (date, date, date, date) -> bool | (datetime, datetime, datetime, datetime) -> bool",
    ),
    ("year", "date -> int"),
    ("month", "date -> int"),
    ("day", "date -> int"),
];

const DYNAMIC: &[(&str, &str)] = &[
    (
        "dyn",
        "bool -> dynamic | int -> dynamic | long -> dynamic | double -> dynamic | string -> dynamic",
    ),
    (
        "str",
        "dynamic -> maybe<string> | (dynamic, string) -> maybe<string> | (dynamic, string, string) -> string",
    ),
    (
        "i",
        "dynamic -> maybe<int> | (dynamic, string) -> maybe<int> | (dynamic, string, int) -> int",
    ),
    (
        "l",
        "dynamic -> maybe<long> | (dynamic, string) -> maybe<long> | (dynamic, string, long) -> long",
    ),
    (
        "d",
        "dynamic -> maybe<double> | (dynamic, string) -> maybe<double> | (dynamic, string, double) -> double",
    ),
    (
        "b",
        "dynamic -> maybe<bool> | (dynamic, string) -> maybe<bool> | (dynamic, string, bool) -> bool",
    ),
    (
        "date",
        "dynamic -> maybe<date> | (dynamic, string) -> maybe<date> | (dynamic, string, date) -> date",
    ),
    (
        "datetime",
        "dynamic -> maybe<datetime> | (dynamic, string) -> maybe<datetime> | (dynamic, string, datetime) -> datetime",
    ),
    ("is_null", "(dynamic, string) -> maybe<bool>"),
    ("to_str", "dynamic -> string"),
    ("parse", "ns string -> maybe<dynamic>"),
    ("to_dyn", "string -> maybe<dynamic>"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_of_the_table_is_known() {
        for (namespace, parsed) in namespaces() {
            for (name, function) in &parsed.functions {
                for overload in &function.overloads {
                    let all = overload.params.iter().chain([&overload.result]);
                    for ty in all {
                        assert!(
                            !format!("{ty}").contains('?'),
                            "{namespace}.{name} has an unknown type"
                        );
                    }
                }
            }
        }
    }
}
