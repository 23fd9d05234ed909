//! "Did you mean" for misspelt names: the declared name of the right kind closest in spelling.
//!
//! Each kind of name (field, method, type, state, enum value, channel, policy) has its own list
//! of candidates, so that a suggestion is always something that would be accepted in that place.
//! The ranking is [`super::expr::closest`], the same as for variables.

use super::Checker;
use super::expr::closest;
use super::library;
use crate::signatures::{GlobalSig, MemberSig};
use crate::ty::Ty;

/// Built-in type names a declaration can use, besides the declared records, messages and enums.
const BUILTIN_TYPES: &[&str] = &[
    "bool",
    "int",
    "long",
    "double",
    "complex",
    "string",
    "principal",
    "dynamic",
    "json",
    "asset",
    "date",
    "datetime",
    "time",
    "timespan",
    "label",
    "text",
    "maybe",
    "list",
    "map",
    "table",
    "channel",
    "future",
];

/// Methods that records and messages have without declaring them.
const STRUCT_METHODS: &[&str] = &["delete", "to_dynamic", "ingest_dynamic", "reset"];

/// Methods of built-in types that are not functions of a library namespace.
const OWN_METHODS: &[&str] = &[
    "size",
    "has",
    "getOrDefaultTo",
    "delete",
    "clear",
    "remove",
    "insert",
    "min",
    "max",
    "toArray",
    "reverse",
    "skip",
    "drop",
    "flatten",
    "manifest",
    "to_int",
    "to_string",
    "next",
    "prev",
    "hour",
    "minute",
    "re",
    "real",
    "im",
    "imaginary",
    "name",
    "id",
    "type",
    "md5",
    "sha384",
    "valid",
    "to_json",
    "to_dynamic",
    "deref",
    "to_b",
    "to_i",
    "to_s",
    "fetch",
    "fetchTimed",
    "decide",
    "choose",
    "await",
    "as_maybe",
    "finished",
    "failed",
    "code",
    "message",
    "enqueue",
    "append",
    "get",
    "write",
    "to_csv",
];

impl Checker<'_> {
    /// The field of a record, message, anonymous object or pair closest to `name`.
    pub(super) fn suggest_field(&self, ty: &Ty, name: &str) -> Option<String> {
        match ty.unwrap_maybe() {
            Ty::Anonymous(fields) => closest(name, fields.iter().map(|(field, _)| field.as_str())),
            Ty::Pair(_, _) => closest(name, ["key", "value"]),
            Ty::Context => closest(name, ["who", "origin", "ip", "key", "domain"]),
            Ty::List(element) | Ty::Array(element) => self.suggest_field(element, name),
            Ty::Viewer => closest(name, self.signatures.views.keys().map(String::as_str)),
            other => {
                let members = &self.signatures.struct_of(other)?.members;
                closest(
                    name,
                    members
                        .iter()
                        .filter(|(_, member)| !matches!(member, MemberSig::Bubble))
                        .map(|(field, _)| field.as_str()),
                )
            }
        }
    }

    /// The method of `receiver` closest to `name`: only names that the receiver has.
    pub(super) fn suggest_method(&self, receiver: &Ty, name: &str) -> Option<String> {
        match receiver {
            Ty::Global(namespace) => closest(
                name,
                library::namespace_functions(namespace).iter().copied(),
            ),
            Ty::Service(service) => closest(
                name,
                self.signatures
                    .services
                    .get(&**service)
                    .into_iter()
                    .flat_map(|methods| methods.keys().map(String::as_str)),
            ),
            Ty::Record(_) | Ty::Message(_) => {
                let declared = self
                    .signatures
                    .struct_of(receiver)
                    .into_iter()
                    .flat_map(|sig| sig.methods.keys().map(String::as_str));
                closest(name, declared.chain(STRUCT_METHODS.iter().copied()))
            }
            _ => {
                // Every name any receiver may have, kept only when this receiver has it.
                let vocabulary = library::NAMESPACES
                    .iter()
                    .flat_map(|namespace| library::namespace_functions(namespace).iter())
                    .chain(OWN_METHODS.iter())
                    .copied()
                    .filter(|candidate| {
                        library::method(receiver, candidate, &[], self.signatures)
                            .is_some_and(|call| call != Ok(Ty::Error))
                    });
                closest(name, vocabulary)
            }
        }
    }

    /// The type closest to `name`: declared records, messages and enums, and built-in types.
    pub(super) fn suggest_type(&self, name: &str) -> Option<String> {
        let declared = self
            .signatures
            .records
            .keys()
            .chain(self.signatures.messages.keys())
            .chain(self.signatures.enums.keys())
            .map(String::as_str);
        closest(name, declared.chain(BUILTIN_TYPES.iter().copied()))
    }

    /// The message type closest to `name`.
    pub(super) fn suggest_message(&self, name: &str) -> Option<String> {
        closest(name, self.signatures.messages.keys().map(String::as_str))
    }

    /// The enumeration closest to `name`.
    pub(super) fn suggest_enum(&self, name: &str) -> Option<String> {
        closest(name, self.signatures.enums.keys().map(String::as_str))
    }

    /// The state label closest to `name`.
    pub(super) fn suggest_state(&self, name: &str) -> Option<String> {
        closest(name, self.signatures.states.iter().map(String::as_str))
    }

    /// The value of `enumeration` closest to `name`.
    pub(super) fn suggest_enum_value(&self, enumeration: &str, name: &str) -> Option<String> {
        closest(
            name,
            self.signatures
                .enums
                .get(enumeration)
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
    }

    /// The channel closest to `name`.
    pub(super) fn suggest_channel(&self, name: &str) -> Option<String> {
        closest(
            name,
            self.signatures
                .globals
                .iter()
                .filter(|(_, global)| {
                    matches!(
                        global,
                        GlobalSig::Handler { .. } | GlobalSig::AsyncChannel { .. }
                    )
                })
                .map(|(channel, _)| channel.as_str()),
        )
    }

    /// The policy closest to `name` (with the policies of `record`, when there is one).
    pub(super) fn suggest_policy(&self, record: Option<&str>, name: &str) -> Option<String> {
        let own = record
            .and_then(|record| self.signatures.records.get(record))
            .into_iter()
            .flat_map(|sig| sig.policies.iter().map(String::as_str));
        closest(
            name,
            self.signatures
                .policies
                .iter()
                .map(String::as_str)
                .chain(own),
        )
    }

    /// The filter closest to `name`.
    pub(super) fn suggest_filter(&self, name: &str) -> Option<String> {
        closest(name, self.signatures.filters.iter().map(String::as_str))
    }
}
