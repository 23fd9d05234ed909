//! Types of values, and the rules that relate them: storing (assignment compatibility), and
//! unification (the "max type" of a conditional or an array literal).
//!
//! [`Ty::Error`] stands for a type that could not be known because of a mistake already
//! reported. It is compatible with everything, which is what keeps one mistake from cascading into
//! many diagnostics.

use std::fmt;
use std::sync::Arc;

/// A type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Unknown because of an earlier error; compatible with everything.
    Error,
    /// The result of code that returns nothing.
    Void,
    Bool,
    Int,
    Long,
    Double,
    Complex,
    String,
    Principal,
    SecurePrincipal,
    Dynamic,
    Json,
    Asset,
    Date,
    DateTime,
    Time,
    TimeSpan,
    Label,
    /// A collaboratively edited text field.
    Text,
    Enum(Arc<str>),
    Record(Arc<str>),
    Message(Arc<str>),
    /// An anonymous message literal's structural type.
    Anonymous(Arc<Vec<(String, Ty)>>),
    Maybe(Box<Ty>),
    List(Box<Ty>),
    Array(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Pair(Box<Ty>, Box<Ty>),
    Tuple(Vec<Ty>),
    Table(Box<Ty>),
    /// An async channel (`channel<M> c;`, or `channel<T>` as a parameter).
    Channel(Box<Ty>),
    Future(Box<Ty>),
    Holder(Arc<str>),
    /// The result of a service call.
    ServiceResult(Box<Ty>),
    /// A handler channel used as a value (it has `enqueue`).
    Handler(Arc<str>),
    Service(Arc<str>),
    Template,
    /// A library namespace such as `Math`.
    Global(Arc<str>),
    /// A function value (a name of functions or procedures), with the name for messages.
    Function(Arc<str>),
    /// The result of an `@lambda`: checked where it is applied.
    Lambda,
    /// A replication status.
    Replication,
    /// The `@context` value.
    Context,
    /// The `@viewer` value: the view fields.
    Viewer,
}

impl Ty {
    pub fn maybe(inner: Ty) -> Ty {
        match inner {
            Ty::Maybe(_) | Ty::Error => inner,
            other => Ty::Maybe(Box::new(other)),
        }
    }

    pub fn list(inner: Ty) -> Ty {
        Ty::List(Box::new(inner))
    }

    pub fn array(inner: Ty) -> Ty {
        Ty::Array(Box::new(inner))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    /// Numbers that widen into each other: int, long, double.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Long | Ty::Double)
    }

    /// The element of a maybe, or the type itself.
    pub fn unwrap_maybe(&self) -> &Ty {
        match self {
            Ty::Maybe(inner) => inner,
            other => other,
        }
    }

    /// The element type of a list or array.
    pub fn element(&self) -> Option<&Ty> {
        match self {
            Ty::List(inner) | Ty::Array(inner) => Some(inner),
            _ => None,
        }
    }

    /// Whether values of this type can be stored in a map's key.
    pub fn is_map_domain(&self) -> bool {
        matches!(
            self,
            Ty::Int | Ty::Long | Ty::String | Ty::Enum(_) | Ty::Principal | Ty::Error
        )
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Error => formatter.write_str("?"),
            Ty::Void => formatter.write_str("void"),
            Ty::Bool => formatter.write_str("bool"),
            Ty::Int => formatter.write_str("int"),
            Ty::Long => formatter.write_str("long"),
            Ty::Double => formatter.write_str("double"),
            Ty::Complex => formatter.write_str("complex"),
            Ty::String => formatter.write_str("string"),
            Ty::Principal => formatter.write_str("principal"),
            Ty::SecurePrincipal => formatter.write_str("secure<principal>"),
            Ty::Dynamic => formatter.write_str("dynamic"),
            Ty::Json => formatter.write_str("json"),
            Ty::Asset => formatter.write_str("asset"),
            Ty::Date => formatter.write_str("date"),
            Ty::DateTime => formatter.write_str("datetime"),
            Ty::Time => formatter.write_str("time"),
            Ty::TimeSpan => formatter.write_str("timespan"),
            Ty::Label => formatter.write_str("label"),
            Ty::Text => formatter.write_str("text"),
            Ty::Enum(name) | Ty::Record(name) | Ty::Message(name) | Ty::Service(name) => {
                formatter.write_str(name)
            }
            Ty::Anonymous(fields) => {
                formatter.write_str("{")?;
                for (index, (name, ty)) in fields.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(", ")?;
                    }
                    write!(formatter, "{name}: {ty}")?;
                }
                formatter.write_str("}")
            }
            Ty::Maybe(inner) => write!(formatter, "maybe<{inner}>"),
            Ty::List(inner) => write!(formatter, "list<{inner}>"),
            Ty::Array(inner) => write!(formatter, "{inner}[]"),
            Ty::Map(key, value) => write!(formatter, "map<{key},{value}>"),
            Ty::Pair(key, value) => write!(formatter, "pair<{key},{value}>"),
            Ty::Tuple(items) => {
                formatter.write_str("tuple<")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(",")?;
                    }
                    write!(formatter, "{item}")?;
                }
                formatter.write_str(">")
            }
            Ty::Table(inner) => write!(formatter, "table<{inner}>"),
            Ty::Channel(inner) => write!(formatter, "channel<{inner}>"),
            Ty::Future(inner) => write!(formatter, "future<{inner}>"),
            Ty::Holder(name) => write!(formatter, "holder<{name}>"),
            Ty::ServiceResult(inner) => write!(formatter, "result<{inner}>"),
            Ty::Handler(name) => write!(formatter, "channel {name}"),
            Ty::Template => formatter.write_str("template"),
            Ty::Global(name) => formatter.write_str(name),
            Ty::Function(name) => write!(formatter, "function {name}"),
            Ty::Lambda => formatter.write_str("lambda"),
            Ty::Replication => formatter.write_str("replication"),
            Ty::Context => formatter.write_str("context"),
            Ty::Viewer => formatter.write_str("@viewer"),
        }
    }
}

/// How badly an overload's parameters fit a call's arguments (language: overload resolution):
/// two per missing or extra argument, plus, per paired argument, one when the parameter cannot
/// store the argument and one when the argument's type could not store the parameter's (so an
/// `int` argument fits an `int` parameter better than a `double` one). The lowest score wins and
/// ties go to the overload declared first.
pub fn overload_score(params: &[Ty], arguments: &[Ty], messages: &dyn MessageShapes) -> usize {
    let paired: usize = params
        .iter()
        .zip(arguments)
        .map(|(param, argument)| {
            usize::from(!can_store(param, argument, false, messages))
                + usize::from(!can_store(argument, param, false, messages))
        })
        .sum();
    2 * params.len().abs_diff(arguments.len()) + paired
}

/// The overload a call takes: among those whose parameters store the arguments, the one with
/// the lowest [`overload_score`], the first declared on a tie.
pub fn best_overload<'a>(
    overloads: impl IntoIterator<Item = &'a [Ty]>,
    arguments: &[Ty],
    messages: &dyn MessageShapes,
) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (index, params) in overloads.into_iter().enumerate() {
        let fits = params.len() == arguments.len()
            && params
                .iter()
                .zip(arguments)
                .all(|(param, argument)| can_store(param, argument, false, messages));
        if !fits {
            continue;
        }
        let score = overload_score(params, arguments, messages);
        if best.is_none_or(|(_, lowest)| score < lowest) {
            best = Some((index, score));
        }
    }
    best.map(|(index, _)| index)
}

/// Whether a location of type `target` can store a value of type `source` (language section 3.7).
/// `reactive` is true for document and record fields, which additionally accept numbers into
/// complex fields and strings into text fields.
pub fn can_store(target: &Ty, source: &Ty, reactive: bool, messages: &dyn MessageShapes) -> bool {
    use Ty::*;
    match (target, source) {
        (Error, _) | (_, Error) => true,
        (Int, Int) => true,
        (Long, Int | Long) => true,
        (Double, Int | Double) => true,
        (Complex, Complex) => true,
        (Complex, Int | Long | Double) => reactive,
        (Text, String | Text) => true,
        (Principal, Principal | SecurePrincipal) => true,
        (Maybe(inner), Maybe(source_inner)) => {
            can_store(inner, source_inner, false, messages)
                || can_store(source_inner, inner, false, messages)
        }
        (Maybe(inner), other) => can_store(inner, other, reactive, messages),
        (List(a), List(b))
        | (Array(a), Array(b))
        | (Future(a), Future(b))
        | (Table(a), Table(b)) => mutually_storable(a, b, messages),
        (Map(ka, va), Map(kb, vb)) | (Pair(ka, va), Pair(kb, vb)) => {
            mutually_storable(ka, kb, messages) && mutually_storable(va, vb, messages)
        }
        (Tuple(a), Tuple(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| mutually_storable(x, y, messages))
        }
        (Message(name), Anonymous(fields)) => messages.anonymous_fits(name, fields),
        (Holder(name), Message(source_name)) => name == source_name,
        (Holder(name), Anonymous(fields)) => messages.anonymous_fits(name, fields),
        (Anonymous(a), Anonymous(b)) => a == b,
        (a, b) => a == b,
    }
}

fn mutually_storable(a: &Ty, b: &Ty, messages: &dyn MessageShapes) -> bool {
    can_store(a, b, false, messages) || can_store(b, a, false, messages)
}

/// What the type rules need to know about named messages.
pub trait MessageShapes {
    /// Whether an anonymous message with these fields converts to the named message: every field
    /// exists there with a storable type.
    fn anonymous_fits(&self, message: &str, fields: &[(String, Ty)]) -> bool;
}

/// The unified type of two branches (language section 3.8), or `None` when they do not unify.
pub fn unify(a: &Ty, b: &Ty, messages: &dyn MessageShapes) -> Option<Ty> {
    use Ty::*;
    Some(match (a, b) {
        (Error, other) | (other, Error) => other.clone(),
        (Int, Int) => Int,
        (Int | Long, Int | Long) => Long,
        (Int | Double, Double) | (Double, Int) => Double,
        (Maybe(x), Maybe(y)) => Ty::maybe(unify(x, y, messages)?),
        (Maybe(x), y) | (y, Maybe(x)) => Ty::maybe(unify(x, y, messages)?),
        (List(x), List(y)) => Ty::list(unify(x, y, messages)?),
        (Array(x), Array(y)) => Ty::array(unify(x, y, messages)?),
        (Map(ka, va), Map(kb, vb)) => Map(
            Box::new(unify(ka, kb, messages)?),
            Box::new(unify(va, vb, messages)?),
        ),
        (Principal, SecurePrincipal) | (SecurePrincipal, Principal) => Principal,
        (Anonymous(x), Anonymous(y)) => Anonymous(Arc::new(merge_anonymous(x, y, messages)?)),
        (Message(name), Anonymous(fields)) | (Anonymous(fields), Message(name))
            if messages.anonymous_fits(name, fields) =>
        {
            Message(name.clone())
        }
        (x, y) if x == y => x.clone(),
        _ => return None,
    })
}

/// The union of two anonymous messages' fields; a field on both sides takes the unified type.
fn merge_anonymous(
    a: &[(String, Ty)],
    b: &[(String, Ty)],
    messages: &dyn MessageShapes,
) -> Option<Vec<(String, Ty)>> {
    let mut merged: Vec<(String, Ty)> = a.to_vec();
    for (name, ty) in b {
        match merged.iter_mut().find(|(existing, _)| existing == name) {
            Some((_, existing_ty)) => *existing_ty = unify(existing_ty, ty, messages)?,
            None => merged.push((name.clone(), ty.clone())),
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoMessages;
    impl MessageShapes for NoMessages {
        fn anonymous_fits(&self, _: &str, _: &[(String, Ty)]) -> bool {
            false
        }
    }

    #[test]
    fn numbers_widen_but_never_narrow() {
        assert!(can_store(&Ty::Long, &Ty::Int, false, &NoMessages));
        assert!(can_store(&Ty::Double, &Ty::Int, false, &NoMessages));
        assert!(!can_store(&Ty::Double, &Ty::Long, false, &NoMessages));
        assert!(!can_store(&Ty::Int, &Ty::Double, false, &NoMessages));
        assert!(!can_store(&Ty::Int, &Ty::Long, false, &NoMessages));
    }

    #[test]
    fn values_promote_into_maybes_and_never_back() {
        assert!(can_store(&Ty::maybe(Ty::Int), &Ty::Int, false, &NoMessages));
        assert!(!can_store(
            &Ty::Int,
            &Ty::maybe(Ty::Int),
            false,
            &NoMessages
        ));
    }

    #[test]
    fn complex_fields_accept_numbers_but_complex_locals_do_not() {
        assert!(can_store(&Ty::Complex, &Ty::Int, true, &NoMessages));
        assert!(!can_store(&Ty::Complex, &Ty::Int, false, &NoMessages));
    }

    #[test]
    fn unification_follows_the_max_type_table() {
        assert_eq!(unify(&Ty::Int, &Ty::Long, &NoMessages), Some(Ty::Long));
        assert_eq!(unify(&Ty::Int, &Ty::Double, &NoMessages), Some(Ty::Double));
        assert_eq!(
            unify(&Ty::Int, &Ty::maybe(Ty::Int), &NoMessages),
            Some(Ty::maybe(Ty::Int))
        );
        assert_eq!(unify(&Ty::Int, &Ty::String, &NoMessages), None);
    }
}
