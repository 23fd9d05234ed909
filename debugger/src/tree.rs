//! JSON values as trees of variables: a name, a one-line preview, and children to expand.

use serde_json::Value as Json;

/// The most characters a preview shows before it is cut.
const PREVIEW_CHARS: usize = 80;

/// One variable: a named value and the path that reaches it from its scope's root.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub path: Vec<String>,
    pub value: Json,
}

impl Variable {
    /// Whether the variable has children to expand.
    pub fn expandable(&self) -> bool {
        match &self.value {
            Json::Object(map) => !map.is_empty(),
            Json::Array(items) => !items.is_empty(),
            _ => false,
        }
    }

    /// The path as a dotted name (`players.3.score`): what a data breakpoint watches.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }

    /// The children of an object or an array, in order.
    pub fn children(&self) -> Vec<Variable> {
        let child = |name: String, value: &Json| {
            let mut path = self.path.clone();
            path.push(name.clone());
            Variable {
                name,
                path,
                value: value.clone(),
            }
        };
        match &self.value {
            Json::Object(map) => map
                .iter()
                .map(|(key, value)| child(key.clone(), value))
                .collect(),
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, value)| child(index.to_string(), value))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A one-line rendering of a value: scalars as JSON, containers by their size and first keys.
pub fn preview(value: &Json) -> String {
    let text = match value {
        Json::Object(map) if map.is_empty() => "{}".to_owned(),
        Json::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            format!("{{{}}}", keys.join(", "))
        }
        Json::Array(items) => format!("[{} items]", items.len()),
        other => other.to_string(),
    };
    if text.chars().count() > PREVIEW_CHARS {
        let cut: String = text.chars().take(PREVIEW_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Whether a patch (redo or undo) touches the value at a dotted path, or anything under it.
pub fn patch_touches(patch: &Json, path: &[&str]) -> bool {
    match path.split_first() {
        None => true,
        Some((first, rest)) => match patch.get(*first) {
            None => false,
            Some(inner) if inner.is_object() => patch_touches(inner, rest),
            // A scalar or a deletion replaces everything under it.
            Some(_) => true,
        },
    }
}
