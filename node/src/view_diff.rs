//! The delta between two whole views, for a viewer whose document moved to new code.
//!
//! A view's mirror is laid out by the old program's record slots, so it cannot follow the
//! document into new code. Instead the node takes what the viewer holds (the old program's whole
//! view, which is what the deltas it was sent add up to) and what the new program shows, and
//! sends the difference in the view encoding the client already merges (protocol spec §6.2):
//! a field that is gone becomes `null`, a changed value is sent again, an equal one is left out.

use serde_json::{Map, Value as Json};

/// The keys of the encoding that order a list (`@o` for rows, `@s` for a list's size).
fn orders_a_list(object: &Map<String, Json>) -> bool {
    object.contains_key("@o") || object.contains_key("@s")
}

/// What turns `old` into `new`; `None` when they are equal.
pub fn diff(old: &Map<String, Json>, new: &Map<String, Json>) -> Option<Map<String, Json>> {
    let mut out = Map::new();
    for key in old.keys() {
        if !new.contains_key(key) {
            out.insert(key.clone(), Json::Null);
        }
    }
    for (key, value) in new {
        match (old.get(key), value) {
            (Some(before), after) if before == after => {}
            // A list stays a list and an object stays an object: only what changed in it goes.
            (Some(Json::Object(before)), Json::Object(after))
                if orders_a_list(before) == orders_a_list(after) =>
            {
                if let Some(inner) = diff(before, after) {
                    out.insert(key.clone(), Json::Object(inner));
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::diff;
    use serde_json::{Value as Json, json};

    fn objects(old: Json, new: Json) -> Option<Json> {
        let (Json::Object(old), Json::Object(new)) = (old, new) else {
            panic!("objects expected");
        };
        diff(&old, &new).map(Json::Object)
    }

    #[test]
    fn removed_fields_become_null_and_added_ones_are_sent() {
        let delta = objects(
            json!({"kept": 1, "gone": "x", "inner": {"a": 1, "b": 2}}),
            json!({"kept": 1, "added": true, "inner": {"a": 1}}),
        );
        assert_eq!(
            delta,
            Some(json!({"gone": null, "added": true, "inner": {"b": null}}))
        );
    }

    #[test]
    fn equal_views_have_no_delta() {
        let view = json!({"rows": {"1": {"t": "a"}, "@o": [1]}, "n": 3});
        assert_eq!(objects(view.clone(), view), None);
    }

    #[test]
    fn a_list_keeps_its_order_key_only_when_it_changes() {
        let delta = objects(
            json!({"rows": {"1": {"t": "a", "x": 1}, "2": {"t": "b", "x": 2}, "@o": [1, 2]}}),
            json!({"rows": {"1": {"t": "a"}, "2": {"t": "b"}, "@o": [1, 2]}}),
        );
        assert_eq!(
            delta,
            Some(json!({"rows": {"1": {"x": null}, "2": {"x": null}}}))
        );
    }

    #[test]
    fn a_value_that_changes_shape_is_sent_whole() {
        let delta = objects(
            json!({"v": {"0": 1, "@s": 1}, "w": 3}),
            json!({"v": {"a": 1}, "w": {"b": 2}}),
        );
        assert_eq!(delta, Some(json!({"v": {"a": 1}, "w": {"b": 2}})));
    }
}
