//! Collaborative `text`: a base text (fragments in order) and the editors' change sets applied
//! after it, in sequence.
//!
//! A change set is CodeMirror's JSON form: an array whose numbers keep that many characters,
//! `[n]` deletes `n`, and `[n, "line", "line"…]` replaces `n` characters by the lines joined by
//! line breaks; together its parts cover the whole text it applies to. Lengths count UTF-16
//! code units, as the editor does. A change made against an older sequence than the text's
//! is moved over the changes accepted since (the earlier change's insertions stay first), so
//! concurrent edits from several viewers are all kept and every viewer ends with the same text.
//!
//! Only the latest changes are kept as changes: once [`FOLD_AT`] are, the oldest are applied to
//! the base text (which then holds the text after them, and `seq` counts them), leaving the
//! newest [`KEEP`]. So the stored form stays bounded however long a text is edited, while an
//! editor that is behind by up to [`KEEP`] changes still has its change moved over the ones
//! taken since; one further behind is refused and must take the text afresh.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

/// A collaborative text's stored state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollabText {
    /// The base text's fragments by id, and the ids in order.
    pub fragments: BTreeMap<String, String>,
    pub order: Vec<String>,
    /// Accepted change sets (their JSON text) by sequence number.
    pub changes: BTreeMap<i32, String>,
    /// The sequence number of the first change not folded into the fragments.
    pub seq: i32,
    /// The generation: the id of the assignment that made the base text (0 when never assigned).
    pub generation: i64,
    /// The text with every change applied.
    pub current: String,
}

/// How many changes the text keeps once it folds the older ones into its base text.
pub const KEEP: usize = 32;
/// How many kept changes make the text fold.
pub const FOLD_AT: usize = 64;

/// One step of a change set.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Retain(usize),
    Delete(usize),
    Insert(Vec<u16>),
}

impl CollabText {
    /// A text assigned whole: one fragment, made by assignment number `generation`.
    pub fn assigned(text: &str, generation: i64) -> CollabText {
        let id = generation.to_string();
        CollabText {
            fragments: BTreeMap::from([(id.clone(), text.to_owned())]),
            order: vec![id],
            changes: BTreeMap::new(),
            seq: 0,
            generation,
            current: text.to_owned(),
        }
    }

    /// The number of changes the text has taken: the sequence the next change is made against.
    pub fn count(&self) -> i32 {
        self.seq + self.changes.len() as i32
    }

    /// Takes a change made against sequence `seq`; false (and nothing changes) when the change
    /// is not a change set, does not span the text it was made against, or names a sequence
    /// the text does not have.
    pub fn append(&mut self, seq: i32, change: &Json) -> bool {
        let count = self.count();
        if seq < self.seq || seq > count {
            return false;
        }
        let Some(mut ops) = parse(change) else {
            return false;
        };
        let mut base: Vec<u16> = self.base_text().encode_utf16().collect();
        let mut later = Vec::new();
        for (number, text) in &self.changes {
            let Some(applied) = parse_text(text) else {
                return false;
            };
            if *number < seq {
                base = match apply(&base, &applied) {
                    Some(next) => next,
                    None => return false,
                };
            } else {
                later.push(applied);
            }
        }
        if apply(&base, &ops).is_none() {
            return false;
        }
        for accepted in &later {
            ops = transform(&ops, accepted);
        }
        let current: Vec<u16> = self.current.encode_utf16().collect();
        let Some(next) = apply(&current, &ops) else {
            return false;
        };
        self.changes.insert(count, encode(&ops).to_string());
        self.current = String::from_utf16_lossy(&next);
        if self.changes.len() >= FOLD_AT {
            self.fold(self.changes.len() - KEEP);
        }
        true
    }

    /// Applies the oldest `folded` changes to the base text. The base stays one fragment under
    /// the generation's id, which is what the generation is read back from.
    fn fold(&mut self, folded: usize) {
        let mut base: Vec<u16> = self.base_text().encode_utf16().collect();
        let oldest: Vec<i32> = self.changes.keys().take(folded).copied().collect();
        for number in &oldest {
            let Some(change) = self.changes.remove(number) else {
                continue;
            };
            // Every kept change applied when it was taken, so it applies to the base again.
            if let Some(next) = parse_text(&change).and_then(|ops| apply(&base, &ops)) {
                base = next;
            }
            self.seq += 1;
        }
        let id = self.generation.to_string();
        self.fragments = BTreeMap::from([(id.clone(), String::from_utf16_lossy(&base))]);
        self.order = vec![id];
    }

    /// Whether a viewer that has the changes before `sent` can be sent the later ones: the text
    /// still keeps them all.
    pub fn keeps_since(&self, sent: i32) -> bool {
        self.seq <= sent && sent <= self.count()
    }

    fn base_text(&self) -> String {
        self.order
            .iter()
            .filter_map(|id| self.fragments.get(id))
            .map(String::as_str)
            .collect()
    }

    /// The stored form: `{"changes":{seq:change},"fragments":{id:text},"order":{i:id},"seq":n}`.
    pub fn stored(&self) -> Json {
        let changes: Map<String, Json> = self
            .changes
            .iter()
            .map(|(seq, change)| (seq.to_string(), Json::String(change.clone())))
            .collect();
        let fragments: Map<String, Json> = self
            .fragments
            .iter()
            .map(|(id, text)| (id.clone(), Json::String(text.clone())))
            .collect();
        let order: Map<String, Json> = self
            .order
            .iter()
            .enumerate()
            .map(|(index, id)| (index.to_string(), Json::String(id.clone())))
            .collect();
        json!({"changes": changes, "fragments": fragments, "order": order, "seq": self.seq})
    }

    /// Reads the stored form back; what does not read leaves an empty text.
    pub fn from_stored(json: &Json) -> CollabText {
        let strings = |name: &str| -> Vec<(String, String)> {
            json.get(name)
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        };
        let mut order: Vec<(usize, String)> = strings("order")
            .into_iter()
            .filter_map(|(index, id)| Some((index.parse().ok()?, id)))
            .collect();
        order.sort();
        let mut text = CollabText {
            fragments: strings("fragments").into_iter().collect(),
            order: order.into_iter().map(|(_, id)| id).collect(),
            changes: strings("changes")
                .into_iter()
                .filter_map(|(seq, change)| Some((seq.parse().ok()?, change)))
                .collect(),
            seq: json.get("seq").and_then(Json::as_i64).unwrap_or(0) as i32,
            generation: 0,
            current: String::new(),
        };
        text.generation = text
            .order
            .first()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let mut current: Vec<u16> = text.base_text().encode_utf16().collect();
        for change in text.changes.values() {
            if let Some(next) = parse_text(change).and_then(|ops| apply(&current, &ops)) {
                current = next;
            }
        }
        text.current = String::from_utf16_lossy(&current);
        text
    }

    /// A viewer's first form: `{"$g":generation,"$i":text,"$s":count}`.
    pub fn view(&self) -> Json {
        json!({"$g": self.generation, "$i": self.current, "$s": self.count()})
    }

    /// What a viewer that has the changes before `sent` needs: the later ones by number, and
    /// the new count.
    pub fn view_since(&self, sent: i32) -> Json {
        let mut out: Map<String, Json> = self
            .changes
            .range(sent..)
            .map(|(seq, change)| (seq.to_string(), Json::String(change.clone())))
            .collect();
        out.insert("$s".into(), Json::from(self.count()));
        Json::Object(out)
    }
}

fn parse_text(text: &str) -> Option<Vec<Op>> {
    parse(&serde_json::from_str(text).ok()?)
}

/// A change set from its JSON form.
fn parse(change: &Json) -> Option<Vec<Op>> {
    let mut ops = Vec::new();
    for part in change.as_array()? {
        match part {
            Json::Number(number) => ops.push(Op::Retain(usize::try_from(number.as_u64()?).ok()?)),
            Json::Array(replace) => {
                let (deleted, lines) = replace.split_first()?;
                let deleted = usize::try_from(deleted.as_u64()?).ok()?;
                if deleted > 0 {
                    ops.push(Op::Delete(deleted));
                }
                if !lines.is_empty() {
                    let lines: Option<Vec<&str>> = lines.iter().map(Json::as_str).collect();
                    ops.push(Op::Insert(lines?.join("\n").encode_utf16().collect()));
                }
            }
            _ => return None,
        }
    }
    Some(ops)
}

/// The JSON form of a change set.
fn encode(ops: &[Op]) -> Json {
    let mut out: Vec<Json> = Vec::new();
    let mut index = 0;
    while index < ops.len() {
        match &ops[index] {
            Op::Retain(count) => {
                let mut total = *count;
                while let Some(Op::Retain(more)) = ops.get(index + 1) {
                    total += more;
                    index += 1;
                }
                if total > 0 {
                    out.push(Json::from(total));
                }
            }
            Op::Delete(_) | Op::Insert(_) => {
                let (mut deleted, mut inserted) = (0, Vec::new());
                while let Some(op) = ops.get(index) {
                    match op {
                        Op::Delete(count) => deleted += count,
                        Op::Insert(text) => inserted.extend_from_slice(text),
                        Op::Retain(_) => break,
                    }
                    index += 1;
                }
                index -= 1;
                let mut replace = vec![Json::from(deleted)];
                if !inserted.is_empty() {
                    let text = String::from_utf16_lossy(&inserted);
                    replace.extend(text.split('\n').map(|line| Json::String(line.to_owned())));
                }
                out.push(Json::Array(replace));
            }
        }
        index += 1;
    }
    Json::Array(out)
}

/// A change set applied to a text; `None` when its kept and deleted parts do not span it.
fn apply(text: &[u16], ops: &[Op]) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(text.len());
    let mut at: usize = 0;
    for op in ops {
        match op {
            Op::Retain(count) => {
                out.extend_from_slice(text.get(at..at.checked_add(*count)?)?);
                at += count;
            }
            Op::Delete(count) => {
                text.get(at..at.checked_add(*count)?)?;
                at += count;
            }
            Op::Insert(inserted) => out.extend_from_slice(inserted),
        }
    }
    (at == text.len()).then_some(out)
}

/// `change` moved over `accepted`, a change made against the same text and taken first: the
/// result applies after `accepted`. At one position the accepted insertion comes first.
fn transform(change: &[Op], accepted: &[Op]) -> Vec<Op> {
    let mut out = Vec::new();
    let mut mine = change
        .iter()
        .cloned()
        .collect::<std::collections::VecDeque<_>>();
    let mut theirs = accepted
        .iter()
        .cloned()
        .collect::<std::collections::VecDeque<_>>();
    loop {
        if let Some(Op::Insert(text)) = theirs.front() {
            out.push(Op::Retain(text.len()));
            theirs.pop_front();
            continue;
        }
        if let Some(Op::Insert(_)) = mine.front() {
            out.extend(mine.pop_front());
            continue;
        }
        let (Some(a), Some(b)) = (theirs.front().cloned(), mine.front().cloned()) else {
            break;
        };
        let length = |op: &Op| match op {
            Op::Retain(count) | Op::Delete(count) => *count,
            Op::Insert(_) => 0,
        };
        let step = length(&a).min(length(&b));
        match (&a, &b) {
            (Op::Retain(_), Op::Retain(_)) => out.push(Op::Retain(step)),
            (Op::Retain(_), Op::Delete(_)) => out.push(Op::Delete(step)),
            // Text the accepted change deleted: there is nothing left to keep or delete.
            _ => {}
        }
        consume(&mut theirs, step);
        consume(&mut mine, step);
    }
    out
}

fn consume(ops: &mut std::collections::VecDeque<Op>, step: usize) {
    if let Some(front) = ops.front_mut() {
        match front {
            Op::Retain(count) | Op::Delete(count) => {
                *count -= step;
                if *count == 0 {
                    ops.pop_front();
                }
            }
            Op::Insert(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_insertions_are_both_kept_in_acceptance_order() {
        let mut text = CollabText::assigned("hello", 1);
        assert!(text.append(0, &json!([[0, "A"], 5])));
        assert!(text.append(0, &json!([5, [0, "B"]])));
        assert!(text.append(0, &json!([[0, "C"], 5])));
        assert_eq!(text.current, "AChelloB");
        assert_eq!(text.changes[&1], "[6,[0,\"B\"]]");
        assert_eq!(text.changes[&2], "[1,[0,\"C\"],6]");
        assert_eq!(CollabText::from_stored(&text.stored()), text);
    }

    #[test]
    fn a_deletion_over_text_already_deleted_removes_only_the_rest() {
        let mut text = CollabText::assigned("abcdef", 1);
        assert!(text.append(0, &json!([1, [3], 2])));
        assert!(text.append(0, &json!([2, [3], 1])));
        assert_eq!(text.current, "af");
        assert!(!text.append(0, &json!([3])));
        assert!(!text.append(5, &json!([2])));
        assert!(!text.append(2, &json!("not a change")));
        assert_eq!(text.count(), 2);
    }

    #[test]
    fn old_changes_fold_into_the_base_and_a_late_change_still_moves_over_the_kept_ones() {
        let mut text = CollabText::assigned("", 7);
        for n in 0..FOLD_AT - 1 {
            let length = text.current.encode_utf16().count();
            let change = if length == 0 {
                json!([[0, "a"]])
            } else {
                json!([length, [0, "a"]])
            };
            assert!(text.append(n as i32, &change));
        }
        assert_eq!(text.seq, 0);
        let late_at = text.count() - 2;
        // The change that reaches FOLD_AT folds all but the newest KEEP.
        let length = text.current.encode_utf16().count();
        assert!(text.append(text.count(), &json!([[0, "<"], length])));
        assert_eq!(text.changes.len(), KEEP);
        assert_eq!(text.seq, (FOLD_AT - KEEP) as i32);
        assert_eq!(text.count(), FOLD_AT as i32);
        assert_eq!(text.order, vec!["7".to_owned()]);
        // The base holds the text after the folded changes, and the kept ones rebuild the rest.
        let stored = text.stored();
        assert_eq!(CollabText::from_stored(&stored), text);
        assert_eq!(
            text.fragments["7"].len(),
            FOLD_AT - KEEP,
            "{}",
            text.fragments["7"]
        );
        // A change against a sequence still kept is moved over the changes taken since.
        let behind: Vec<u16> = {
            let mut base: Vec<u16> = text.base_text().encode_utf16().collect();
            for (number, change) in &text.changes {
                if *number < late_at {
                    base = apply(&base, &parse_text(change).expect("a kept change"))
                        .expect("it applies");
                }
            }
            base
        };
        assert!(text.append(late_at, &json!([behind.len(), [0, ">"]])));
        // At the end of the text it saw, after the later insertion there.
        assert_eq!(text.current, format!("<{}>", "a".repeat(FOLD_AT - 1)));
        // One made against a folded sequence is refused.
        assert!(!text.append(text.seq - 1, &json!([[0, "x"]])));
        assert!(!text.keeps_since(text.seq - 1));
        assert!(text.keeps_since(text.seq));
    }

    #[test]
    fn lines_join_with_line_breaks() {
        let mut text = CollabText::default();
        assert!(text.append(0, &json!([[0, "one", "two"]])));
        assert_eq!(text.current, "one\ntwo");
        assert_eq!(text.view(), json!({"$g": 0, "$i": "one\ntwo", "$s": 1}));
        assert_eq!(
            text.view_since(0),
            json!({"0": "[[0,\"one\",\"two\"]]", "$s": 1})
        );
    }
}
