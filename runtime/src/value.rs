//! Runtime values.
//!
//! A value is what an expression evaluates to. Scalars are held inline; strings, messages, lists
//! and maps are shared behind `Arc` so that copying a value is a reference-count bump, never a
//! deep copy. Records are not values: a record value is a [`RecordRef`], a handle into the
//! document's store, which is what makes `r.x = 1` write the document.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A handle to a record that lives in a document's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef(pub u32);

/// A handle to a table that lives in a document's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef(pub u32);

/// An identity: who sent a command or is looking at a view.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Principal {
    pub agent: Arc<str>,
    pub authority: Arc<str>,
}

impl Principal {
    pub fn new(agent: &str, authority: &str) -> Principal {
        Principal {
            agent: Arc::from(agent),
            authority: Arc::from(authority),
        }
    }

    /// `@no_one`: `?` / `?`.
    pub fn no_one() -> Principal {
        Principal::new("?", "?")
    }

    /// The `agent/authority` key that names a viewer in `adama run` output.
    pub fn key(&self) -> String {
        format!("{}/{}", self.agent, self.authority)
    }

    /// The Java `hashCode` of the principal, which fixes the order of `blockers`.
    pub fn java_hash(&self) -> i32 {
        java_string_hash(&self.agent)
            .wrapping_mul(31)
            .wrapping_add(java_string_hash(&self.authority))
    }
}

/// Java's `String.hashCode` over UTF-16 code units.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// A calendar date. The default date (`1-01-01`) is the "invalid" date of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Default for Date {
    fn default() -> Date {
        Date {
            year: 1,
            month: 1,
            day: 1,
        }
    }
}

/// A time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimeOfDay {
    pub hour: u32,
    pub minute: u32,
}

/// A zoned instant: milliseconds since the epoch and the nanoseconds past that millisecond
/// (a datetime keeps nanosecond precision, as the reference's `ZonedDateTime` does), the offset
/// in seconds at that instant, and the zone's region id when the value has one (`UTC` for the
/// document clock).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub epoch_ms: i64,
    /// Nanoseconds past `epoch_ms`, below 1 000 000.
    pub nanos: u32,
    pub offset_seconds: i32,
    pub zone: Option<Arc<str>>,
}

impl Default for DateTime {
    fn default() -> DateTime {
        // 1900-01-01T00:00Z
        DateTime {
            epoch_ms: -2_208_988_800_000,
            nanos: 0,
            offset_seconds: 0,
            zone: None,
        }
    }
}

/// An uploaded blob's reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Asset {
    pub id: Arc<str>,
    pub size: i64,
    pub name: Arc<str>,
    pub content_type: Arc<str>,
    pub md5: Arc<str>,
    pub sha384: Arc<str>,
}

/// The shape of a message value: its type name (if it is a named message) and field names.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub name: Option<Arc<str>>,
    pub fields: Vec<Arc<str>>,
}

impl Shape {
    /// The index of a field by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| &**field == name)
    }
}

/// A message (named or anonymous): plain data, compared and copied by value.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub shape: Arc<Shape>,
    pub values: Vec<Value>,
}

/// A key of a map: the domains the language allows (int, long, string, enum, principal), in the
/// order the reference keeps maps (numbers numerically, strings by code unit, principals by
/// authority then agent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKey {
    Int(i64),
    Str(Arc<str>),
    Principal(Principal),
}

impl Ord for MapKey {
    fn cmp(&self, other: &MapKey) -> Ordering {
        match (self, other) {
            (MapKey::Int(a), MapKey::Int(b)) => a.cmp(b),
            (MapKey::Str(a), MapKey::Str(b)) => a.encode_utf16().cmp(b.encode_utf16()),
            (MapKey::Principal(a), MapKey::Principal(b)) => a
                .authority
                .cmp(&b.authority)
                .then_with(|| a.agent.cmp(&b.agent)),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl PartialOrd for MapKey {
    fn partial_cmp(&self, other: &MapKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl MapKey {
    fn rank(&self) -> u8 {
        match self {
            MapKey::Int(_) => 0,
            MapKey::Str(_) => 1,
            MapKey::Principal(_) => 2,
        }
    }

    /// The key as it appears in JSON (`String(key)`).
    pub fn json_key(&self) -> String {
        match self {
            MapKey::Int(value) => value.to_string(),
            MapKey::Str(text) => text.to_string(),
            MapKey::Principal(principal) => principal.key(),
        }
    }
}

/// A map value. Document maps are stored as values too: a write replaces the map (a cheap
/// copy-on-write of the shared tree), and the commit diffs old against new by key.
pub type MapValue = Arc<BTreeMap<MapKey, Value>>;

/// A future: a pending read from an async channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FutureRef(pub u32);

/// A runtime value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// The result of code that returns nothing.
    #[default]
    Void,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Complex(f64, f64),
    Str(Arc<str>),
    /// Behind an `Arc`: the two names would double the size of every value.
    Principal(Arc<Principal>),
    /// An enum value by its integer.
    Enum(i32),
    /// A state-machine label (`""` is the empty label).
    Label(Arc<str>),
    Date(Date),
    Time(TimeOfDay),
    DateTime(Arc<DateTime>),
    /// A duration in seconds.
    TimeSpan(f64),
    /// A JSON value (`dynamic` and `json`).
    Dynamic(Arc<serde_json::Value>),
    Asset(Arc<Asset>),
    Maybe(Option<Box<Value>>),
    /// Lists and arrays.
    List(Arc<Vec<Value>>),
    Map(MapValue),
    Message(Arc<Message>),
    /// A local table of messages (rows with ids).
    NativeTable(Arc<Vec<Value>>),
    Record(RecordRef),
    Table(TableRef),
    Future(FutureRef),
    /// A collaborative `text` field's state.
    Text(Arc<crate::text::CollabText>),
    /// A `replication<service:method>` field's status.
    Replication(Arc<crate::replication::ReplicationStatus>),
}

impl Value {
    pub fn string(text: &str) -> Value {
        Value::Str(Arc::from(text))
    }

    pub fn principal(who: Principal) -> Value {
        Value::Principal(Arc::new(who))
    }

    pub fn empty_maybe() -> Value {
        Value::Maybe(None)
    }

    pub fn some(value: Value) -> Value {
        match value {
            Value::Maybe(_) => value,
            other => Value::Maybe(Some(Box::new(other))),
        }
    }

    pub fn list(values: Vec<Value>) -> Value {
        Value::List(Arc::new(values))
    }

    pub fn as_bool(&self) -> bool {
        match self {
            Value::Bool(value) => *value,
            Value::Maybe(Some(inner)) => inner.as_bool(),
            _ => false,
        }
    }

    pub fn as_int(&self) -> i32 {
        match self {
            Value::Int(value) | Value::Enum(value) => *value,
            Value::Long(value) => *value as i32,
            Value::Double(value) => *value as i32,
            Value::Maybe(Some(inner)) => inner.as_int(),
            _ => 0,
        }
    }

    pub fn as_long(&self) -> i64 {
        match self {
            Value::Int(value) | Value::Enum(value) => i64::from(*value),
            Value::Long(value) => *value,
            Value::Double(value) => *value as i64,
            Value::Maybe(Some(inner)) => inner.as_long(),
            _ => 0,
        }
    }

    pub fn as_double(&self) -> f64 {
        match self {
            Value::Int(value) | Value::Enum(value) => f64::from(*value),
            Value::Long(value) => *value as f64,
            Value::Double(value) | Value::TimeSpan(value) => *value,
            Value::Complex(re, _) => *re,
            Value::Maybe(Some(inner)) => inner.as_double(),
            _ => 0.0,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Value::Str(text) | Value::Label(text) => text,
            Value::Maybe(Some(inner)) => inner.as_str(),
            _ => "",
        }
    }

    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(values) | Value::NativeTable(values) => values,
            _ => &[],
        }
    }

    pub fn as_principal(&self) -> Principal {
        match self {
            Value::Principal(principal) => Principal::clone(principal),
            Value::Maybe(Some(inner)) => inner.as_principal(),
            _ => Principal::no_one(),
        }
    }

    /// The content of a maybe, or the value itself.
    pub fn unwrap_maybe(&self) -> Option<&Value> {
        match self {
            Value::Maybe(inner) => inner.as_deref(),
            other => Some(other),
        }
    }

    /// The value as a map key.
    pub fn to_map_key(&self) -> MapKey {
        match self {
            Value::Int(value) | Value::Enum(value) => MapKey::Int(i64::from(*value)),
            Value::Long(value) => MapKey::Int(*value),
            Value::Str(text) => MapKey::Str(text.clone()),
            Value::Principal(principal) => MapKey::Principal(Principal::clone(principal)),
            Value::Maybe(Some(inner)) => inner.to_map_key(),
            other => MapKey::Str(Arc::from(other.to_text().as_str())),
        }
    }

    /// The Java `hashCode` of the value the reference would hold for it, where its output
    /// shows a `HashMap` order (`unique last`); 0 for values no such map keys.
    pub fn java_hash(&self) -> i32 {
        match self {
            Value::Int(value) | Value::Enum(value) => *value,
            Value::Long(value) => (*value ^ ((*value as u64) >> 32) as i64) as i32,
            Value::Double(value) | Value::TimeSpan(value) => {
                let bits = if value.is_nan() {
                    0x7ff8_0000_0000_0000
                } else {
                    value.to_bits()
                };
                (bits ^ (bits >> 32)) as i32
            }
            Value::Bool(value) => {
                if *value {
                    1231
                } else {
                    1237
                }
            }
            Value::Str(text) | Value::Label(text) => java_string_hash(text),
            Value::Principal(principal) => principal.java_hash(),
            Value::Maybe(Some(inner)) => inner.java_hash(),
            _ => 0,
        }
    }

    /// The text of a value where the language turns it into a string (`+` concatenation).
    pub fn to_text(&self) -> String {
        match self {
            Value::Void => String::new(),
            Value::Bool(value) => value.to_string(),
            Value::Int(value) | Value::Enum(value) => value.to_string(),
            Value::Long(value) => value.to_string(),
            Value::Double(value) | Value::TimeSpan(value) => crate::json::java_double(*value),
            Value::Complex(re, im) => format!(
                "{} {}i",
                crate::json::java_double(*re),
                crate::json::java_double(*im)
            ),
            Value::Str(text) | Value::Label(text) => text.to_string(),
            Value::Principal(principal) => principal.key(),
            Value::Date(date) => crate::json::date_text(date),
            Value::Time(time) => crate::json::time_text(time),
            Value::DateTime(datetime) => crate::json::datetime_text(datetime),
            Value::Dynamic(json) => json.to_string(),
            Value::Maybe(Some(inner)) => inner.to_text(),
            Value::Maybe(None) => String::new(),
            Value::Text(text) => text.current.clone(),
            Value::Replication(status) => status.text(),
            other => format!("{other:?}"),
        }
    }
}

/// Equality as the language defines `==`: exact for integers, within 1e-7 for doubles and
/// complex numbers, structural for messages and lists.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Void, Void) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) | (Enum(a), Enum(b)) => a == b,
            (Long(a), Long(b)) => a == b,
            (Int(a), Long(b)) | (Long(b), Int(a)) => i64::from(*a) == *b,
            (Double(a), Double(b)) | (TimeSpan(a), TimeSpan(b)) => a == b || (a - b).abs() < 1e-7,
            (Double(d), Int(_) | Long(_)) | (Int(_) | Long(_), Double(d)) => {
                (d - if let Double(_) = self {
                    other.as_double()
                } else {
                    self.as_double()
                })
                .abs()
                    < 1e-7
            }
            (Complex(ar, ai), Complex(br, bi)) => (ar - br).abs() < 1e-7 && (ai - bi).abs() < 1e-7,
            (Complex(r, i), n @ (Int(_) | Long(_) | Double(_)))
            | (n @ (Int(_) | Long(_) | Double(_)), Complex(r, i)) => {
                (r - n.as_double()).abs() < 1e-7 && i.abs() < 1e-7
            }
            (Str(a), Str(b)) | (Label(a), Label(b)) => a == b,
            (Principal(a), Principal(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (DateTime(a), DateTime(b)) => (a.epoch_ms, a.nanos) == (b.epoch_ms, b.nanos),
            (Dynamic(a), Dynamic(b)) => a == b,
            (Asset(a), Asset(b)) => a.id == b.id,
            (Maybe(a), Maybe(b)) => a == b,
            (Maybe(None), _) | (_, Maybe(None)) => false,
            (Maybe(Some(a)), b) => **a == *b,
            (a, Maybe(Some(b))) => *a == **b,
            (List(a), List(b)) | (NativeTable(a), NativeTable(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Message(a), Message(b)) => a.values == b.values,
            (Record(a), Record(b)) => a == b,
            (Table(a), Table(b)) => a == b,
            (Future(a), Future(b)) => a == b,
            (Text(a), Text(b)) => a == b,
            (Replication(a), Replication(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::Value;

    /// Every stored slot is a value: a row of five fields is five of them.
    #[test]
    fn a_value_takes_three_words() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }
}
