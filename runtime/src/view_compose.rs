//! Two consecutive view deltas written as one, for a viewer that skipped a shared step: what the
//! client would hold after applying `first` then `second` is what it holds after the result.

use serde_json::{Map, Value as Json};

/// Folds `second` into `first`. Objects merge key by key; anything else in `second` (a value,
/// a `null` removal) replaces what `first` said. Both deltas' `@o` instructions are rewritten
/// as one against the order the client held before `first`.
pub(crate) fn compose(first: &mut Map<String, Json>, second: Map<String, Json>) {
    let earlier_order = first.remove("@o");
    let mut later_order = None;
    for (key, value) in second {
        if key == "@o" {
            later_order = Some(value);
            continue;
        }
        match (first.get_mut(&key), value) {
            // A text sent whole (`$i`) replaces the changes the earlier delta sent for it.
            (Some(Json::Object(earlier)), Json::Object(later)) if !later.contains_key("$i") => {
                compose(earlier, later)
            }
            (_, later) => {
                first.insert(key, later);
            }
        }
    }
    let order = match (earlier_order, later_order) {
        (Some(Json::Array(earlier)), Some(Json::Array(later))) => {
            Some(Json::Array(order_through(&earlier, &later)))
        }
        (earlier, None) => earlier,
        (_, later) => later,
    };
    if let Some(order) = order {
        first.insert("@o".into(), order);
    }
}

/// A place in the order after the first instruction: an id it named, or an index into the
/// order before it.
enum Slot<'a> {
    Id(&'a Json),
    Before(u64),
}

/// The second instruction's runs refer to the order the first one built; each is resolved to
/// the ids the first named or to runs of the order before it.
fn order_through(earlier: &[Json], later: &[Json]) -> Vec<Json> {
    let mut middle = Vec::new();
    for item in earlier {
        match run(item) {
            Some((start, end)) => middle.extend((start..=end).map(Slot::Before)),
            None => middle.push(Slot::Id(item)),
        }
    }
    let mut out: Vec<Json> = Vec::new();
    let mut open_run: Option<(u64, u64)> = None;
    let close = |out: &mut Vec<Json>, open_run: &mut Option<(u64, u64)>| {
        if let Some((start, end)) = open_run.take() {
            out.push(Json::Array(vec![Json::from(start), Json::from(end)]));
        }
    };
    let place = |slot: &Slot, out: &mut Vec<Json>, open_run: &mut Option<(u64, u64)>| match slot {
        Slot::Id(id) => {
            close(out, open_run);
            out.push((*id).clone());
        }
        Slot::Before(index) => match open_run {
            Some((_, end)) if *end + 1 == *index => *end = *index,
            _ => {
                close(out, open_run);
                *open_run = Some((*index, *index));
            }
        },
    };
    for item in later {
        match run(item) {
            Some((start, end)) => {
                let end = (end as usize).min(middle.len().saturating_sub(1));
                for slot in middle.iter().take(end + 1).skip(start as usize) {
                    place(slot, &mut out, &mut open_run);
                }
            }
            None => place(&Slot::Id(item), &mut out, &mut open_run),
        }
    }
    close(&mut out, &mut open_run);
    out
}

fn run(item: &Json) -> Option<(u64, u64)> {
    let run = item.as_array()?;
    Some((run.first()?.as_u64()?, run.get(1)?.as_u64()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn composed(first: Json, second: Json) -> Json {
        let (Json::Object(mut first), Json::Object(second)) = (first, second) else {
            panic!("deltas are objects");
        };
        compose(&mut first, second);
        Json::Object(first)
    }

    #[test]
    fn a_removal_then_an_edit_keeps_both() {
        assert_eq!(
            composed(
                json!({"rows": {"1": null, "2": {"n": 1}}}),
                json!({"rows": {"2": {"what": "x"}}, "count": 1})
            ),
            json!({"rows": {"1": null, "2": {"n": 1, "what": "x"}}, "count": 1})
        );
    }

    #[test]
    fn a_text_sent_whole_replaces_the_earlier_changes() {
        assert_eq!(
            composed(
                json!({"body": {"40": "[3,[0,\"x\"]]", "$s": 41}}),
                json!({"body": {"$g": 1, "$i": "abcx!", "$s": 90}})
            ),
            json!({"body": {"$g": 1, "$i": "abcx!", "$s": 90}})
        );
    }

    #[test]
    fn a_later_order_is_read_through_the_earlier_one() {
        // Before: [a b c d]. First: [0,2] then 5 -> [a b c 5]. Second: 5, then [0,1] -> [5 a b].
        assert_eq!(
            composed(json!({"@o": [[0, 2], 5]}), json!({"@o": [[3, 3], [0, 1]]})),
            json!({"@o": [5, [0, 1]]})
        );
        assert_eq!(
            composed(json!({"@o": [7]}), json!({"x": 1})),
            json!({"@o": [7], "x": 1})
        );
    }
}
