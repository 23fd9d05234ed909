//! What names mean: the checker's record of every name occurrence of an item, resolved once.
//!
//! While it types an item, the checker notes, for every name it reads (a local, a field, a
//! method and its overload, an enum label, a channel, a state label, a type, a policy...), the
//! [`Definition`] it resolves to, keyed by the node of the name. Declarations are noted too, as
//! occurrences of themselves. Tools (the language server's definition, references, rename,
//! hover) and the IR builder read these records instead of resolving names again.
//!
//! Invariant: a [`Definition`] holds no positions, only names and item-relative node ids, so an
//! item's record compares equal after an edit that only moves text and salsa keeps re-using it.
//! Positions come from the source maps when a tool asks.

use std::sync::Arc;

use crate::hir::NodeId;
use crate::queries::ItemKey;
use crate::signatures::{FnSig, Signatures};

/// Whose member a field or method is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// The document itself (its fields, formulas and bubbles).
    Document,
    Record(String),
    Message(String),
}

/// A declaration of the program (or a meaning the language gives a name), identified without
/// positions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Definition {
    Record(String),
    Message(String),
    Enum(String),
    EnumLabel {
        enumeration: String,
        label: String,
    },
    /// A stored field, formula or bubble of the document, a record or a message.
    Field {
        owner: Owner,
        name: String,
    },
    /// A method of a record or message; `overload` counts the earlier methods of the same name.
    Method {
        owner: Owner,
        name: String,
        overload: u32,
    },
    /// A function (or procedure); `overload` counts the earlier ones of the same kind and name.
    Function {
        name: String,
        procedure: bool,
        overload: u32,
    },
    /// The dispatchers of an enum with one name (one per label or label pattern).
    Dispatcher {
        enumeration: String,
        name: String,
    },
    /// A message handler, rpc or async channel.
    Channel(String),
    State(String),
    /// A policy of a record (`record` set) or of the document.
    Policy {
        record: Option<String>,
        name: String,
    },
    Filter(String),
    View(String),
    Template(String),
    Service(String),
    ServiceMethod {
        service: String,
        name: String,
    },
    Assoc(String),
    Replication {
        owner: Owner,
        name: String,
    },
    Cron(String),
    Test(String),
    Metric(String),
    /// A local variable, parameter or binding: the item that declares it and the node of the
    /// declaring name.
    Local {
        item: Arc<ItemKey>,
        node: NodeId,
    },
    /// A member of a structural value by position from 0: an element of a tuple (`first` is 0,
    /// `pos_11` is 10), a field of an anonymous message, the key (0) or value (1) of a pair.
    Element(u32),
    /// The enum value a dispatcher runs on (`self`), which no code declares.
    Receiver,
    /// A library namespace (`Math`) or one of its functions (`Math.sqrt`).
    Library(String),
}

impl Definition {
    /// Whether the program declares this name (so it can be renamed and navigated to).
    pub fn is_declared(&self) -> bool {
        !matches!(
            self,
            Definition::Element(_) | Definition::Receiver | Definition::Library(_)
        )
    }
}

/// The overloads a callable definition belongs to and its index among them: a function or
/// procedure, a method of a record or message, or the dispatchers of an enum (no index).
pub fn overloads<'a>(
    signatures: &'a Signatures,
    definition: &Definition,
) -> Option<(&'a [FnSig], Option<usize>)> {
    match definition {
        Definition::Function {
            name,
            procedure,
            overload,
        } => {
            let table = if *procedure {
                &signatures.procedures
            } else {
                &signatures.functions
            };
            Some((table.get(name)?, Some(*overload as usize)))
        }
        Definition::Method {
            owner,
            name,
            overload,
        } => {
            let owner = match owner {
                Owner::Record(record) => signatures.records.get(record)?,
                Owner::Message(message) => signatures.messages.get(message)?,
                Owner::Document => return None,
            };
            Some((owner.methods.get(name)?, Some(*overload as usize)))
        }
        Definition::Dispatcher { enumeration, name } => Some((
            signatures
                .dispatchers
                .get(&(enumeration.clone(), name.clone()))?,
            None,
        )),
        _ => None,
    }
}

/// One name occurrence of an item and what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolved {
    /// The node of the name as written.
    pub node: NodeId,
    pub definition: Definition,
    /// Whether this occurrence declares the definition.
    pub declaration: bool,
}

/// The name occurrences of one item, by node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Resolutions {
    /// Sorted by node; one entry per node.
    entries: Vec<Resolved>,
}

impl Resolutions {
    /// Builds the table; when a node was resolved more than once, the last resolution wins (the
    /// checker may look at a name again once it knows more, as a call does for its callee).
    pub fn new(mut entries: Vec<Resolved>) -> Resolutions {
        // A stable sort keeps recording order among equal nodes; keep the last of each run.
        entries.sort_by_key(|entry| entry.node);
        let mut kept: Vec<Resolved> = Vec::with_capacity(entries.len());
        for entry in entries {
            match kept.last_mut() {
                Some(last) if last.node == entry.node => {
                    // A declaration stays one even when a later visit resolves its name again.
                    let declaration = last.declaration || entry.declaration;
                    *last = Resolved {
                        declaration,
                        ..entry
                    };
                }
                _ => kept.push(entry),
            }
        }
        Resolutions { entries: kept }
    }

    /// What the name at `node` resolves to.
    pub fn get(&self, node: NodeId) -> Option<&Resolved> {
        self.entries
            .binary_search_by_key(&node, |entry| entry.node)
            .ok()
            .map(|index| &self.entries[index])
    }

    /// Every resolved name, by node.
    pub fn iter(&self) -> impl Iterator<Item = &Resolved> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The position a tuple member names: `first` … `tenth`, then `pos_11`, `pos_12`, … (language
/// section 3.1). `pos_1` … `pos_10` are not names: those positions have words.
pub fn tuple_index(name: &str) -> Option<usize> {
    const WORDS: [&str; 10] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    if let Some(index) = WORDS.iter().position(|word| *word == name) {
        return Some(index);
    }
    let digits = name.strip_prefix("pos_")?;
    if digits.starts_with('0') || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let position: usize = digits.parse().ok()?;
    (position > WORDS.len()).then(|| position - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_members_are_words_then_numbered_positions() {
        assert_eq!(tuple_index("first"), Some(0));
        assert_eq!(tuple_index("tenth"), Some(9));
        assert_eq!(tuple_index("pos_11"), Some(10));
        assert_eq!(tuple_index("pos_0"), None);
        assert_eq!(tuple_index("pos_1"), None);
        assert_eq!(tuple_index("pos_10"), None);
        assert_eq!(tuple_index("pos_011"), None);
        assert_eq!(tuple_index("pos_"), None);
        assert_eq!(tuple_index("pos_99999999999999999999999"), None);
    }

    #[test]
    fn the_last_resolution_of_a_node_wins_and_declarations_stay() {
        let local = Definition::State("a".to_owned());
        let field = Definition::Field {
            owner: Owner::Document,
            name: "a".to_owned(),
        };
        let table = Resolutions::new(vec![
            Resolved {
                node: NodeId(3),
                definition: local,
                declaration: true,
            },
            Resolved {
                node: NodeId(1),
                definition: field.clone(),
                declaration: false,
            },
            Resolved {
                node: NodeId(3),
                definition: field.clone(),
                declaration: false,
            },
        ]);
        assert_eq!(table.len(), 2);
        let third = table.get(NodeId(3));
        assert_eq!(third.map(|entry| &entry.definition), Some(&field));
        assert_eq!(third.map(|entry| entry.declaration), Some(true));
        assert!(table.get(NodeId(2)).is_none());
    }
}
