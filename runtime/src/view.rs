//! Private views: what each viewer may see, and the minimal delta of it after each transaction.
//!
//! A view keeps a mirror of what it last sent. After a transaction the visible values are walked
//! and compared with the mirror; only differences are written. Rows of a list whose record has
//! not changed since the view last saw it (and whose visibility cannot depend on anything else)
//! are skipped without being walked.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use adama_compiler::ir::{FieldKind, PrivacyRule, Program};
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json};

use crate::document::Document;
use crate::error::Fault;
use crate::eval::Frame;
use crate::value::{Principal, RecordRef, Value};

/// What a view last sent for a value.
#[derive(Debug, Clone)]
enum Mirror {
    Leaf(Json),
    /// A record or message, by slot; `seen` is the newest slot generation the view has walked.
    Object {
        fields: Vec<Option<Mirror>>,
        seen: u64,
    },
    /// A list of records: the order of ids sent, and each row's mirror.
    Rows {
        order: Vec<i32>,
        rows: HashMap<i32, Mirror>,
    },
    /// Any other list: element mirrors by index.
    Items(Vec<Option<Mirror>>),
    Map(BTreeMap<String, Mirror>),
}

/// One viewer's window onto the document.
#[derive(Debug)]
pub struct View {
    pub who: Principal,
    pub state: Arc<Json>,
    mirror: Option<Mirror>,
    sent_outstanding: String,
    sent_blockers: String,
    pub(crate) open: bool,
}

/// A view's identity in its document.
pub type ViewId = usize;

struct Viewer {
    who: Principal,
    state: Arc<Json>,
}

impl Document {
    /// Opens a view for a principal with its view state. Its first delta carries everything it
    /// may see.
    pub fn open_view(&mut self, who: Principal, state: Json) -> ViewId {
        self.views.push(View {
            who,
            state: Arc::new(state),
            mirror: None,
            sent_outstanding: "[]".into(),
            sent_blockers: "[]".into(),
            open: true,
        });
        self.views.len() - 1
    }

    /// Closes a view; it receives nothing more.
    pub fn close_view(&mut self, view: ViewId) {
        if let Some(view) = self.views.get_mut(view) {
            view.open = false;
            view.mirror = None;
        }
    }

    /// The open views.
    pub fn view_ids(&self) -> Vec<ViewId> {
        (0..self.views.len())
            .filter(|id| self.views[*id].open)
            .collect()
    }

    pub fn view_principal(&self, view: ViewId) -> Option<&Principal> {
        self.views.get(view).map(|view| &view.who)
    }

    /// Replaces a view's state (`connection/update`).
    pub fn update_view_state(&mut self, view: ViewId, state: Json) {
        if let Some(view) = self.views.get_mut(view) {
            let mut merged = (*view.state).clone();
            crate::transaction::apply_patch(&mut merged, &state);
            view.state = Arc::new(merged);
        }
    }

    /// The broadcast envelope for a view: `{"data":…,"outstanding":…,"blockers":…,"seq":n}`.
    pub fn view_delta(&mut self, view: ViewId) -> Result<Json, Fault> {
        let program = Arc::clone(&self.program);
        let Some(entry) = self.views.get_mut(view) else {
            return Ok(Json::Null);
        };
        let viewer = Viewer {
            who: entry.who.clone(),
            state: Arc::clone(&entry.state),
        };
        let mut mirror = entry.mirror.take();
        self.budget_left = self.limits.budget;
        let data = self.diff_record(&program, &viewer, self.root, &mut mirror, true);
        let mut envelope = Map::new();
        let data = data?;
        if let Some(data) = data
            && !data.is_empty()
        {
            envelope.insert("data".into(), Json::Object(data));
        }
        let outstanding: Vec<Json> = self
            .outstanding
            .iter()
            .filter(|ask| ask.who == viewer.who)
            .map(|ask| {
                let mut object = Map::new();
                object.insert("id".into(), Json::from(ask.id));
                object.insert("channel".into(), Json::String(ask.channel.clone()));
                object.insert("array".into(), Json::Bool(ask.array));
                if let Some((options, min, max)) = &ask.options {
                    object.insert("min".into(), Json::from(*min));
                    object.insert("max".into(), Json::from(*max));
                    object.insert("distinct".into(), Json::Bool(true));
                    object.insert("options".into(), Json::Array(options.clone()));
                }
                Json::Object(object)
            })
            .collect();
        let mut blockers: Vec<Principal> = Vec::new();
        for ask in &self.outstanding {
            if !blockers.contains(&ask.who) {
                blockers.push(ask.who.clone());
            }
        }
        let blockers: Vec<Json> = blockers.iter().map(crate::encode::principal_json).collect();
        let outstanding = Json::Array(outstanding);
        let blockers = Json::Array(blockers);
        let (outstanding_text, blockers_text) = (outstanding.to_string(), blockers.to_string());
        let entry = &mut self.views[view];
        entry.mirror = mirror;
        if outstanding_text != entry.sent_outstanding || blockers_text != entry.sent_blockers {
            envelope.insert("outstanding".into(), outstanding);
            envelope.insert("blockers".into(), blockers);
            entry.sent_outstanding = outstanding_text;
            entry.sent_blockers = blockers_text;
        }
        envelope.insert("seq".into(), Json::from(self.meta.seq));
        Ok(Json::Object(envelope))
    }

    fn visible(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        record: RecordRef,
        rule: &PrivacyRule,
    ) -> Result<bool, Fault> {
        Ok(match rule {
            PrivacyRule::Private => false,
            PrivacyRule::Public => true,
            PrivacyRule::ViewerIs(slot) => {
                self.store.get(record, *slot).as_principal() == viewer.who
            }
            PrivacyRule::Policies(policies) => {
                self.policies_pass(program, policies, &viewer.who, Value::Record(record))?
            }
        })
    }

    /// Whether a record's layout shows the same thing whoever looks and whatever else changes:
    /// only stored scalar fields with fixed privacy.
    fn flat(program: &Program, layout: u32) -> bool {
        let layout = &program.records[layout as usize];
        layout.requires.is_empty()
            && layout.fields.iter().all(|field| {
                matches!(field.kind, FieldKind::Stored { .. })
                    && matches!(field.privacy, PrivacyRule::Private | PrivacyRule::Public)
                    && !matches!(
                        field.ty,
                        Ty::Record(_) | Ty::Table(_) | Ty::Map(..) | Ty::Maybe(_)
                    )
            })
    }

    fn diff_record(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        record: RecordRef,
        mirror: &mut Option<Mirror>,
        root: bool,
    ) -> Result<Option<Map<String, Json>>, Fault> {
        let layout_index = self.store.record(record).layout;
        let newest = self
            .store
            .record(record)
            .gens
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        if let Some(Mirror::Object { seen, .. }) = mirror
            && !root
            && *seen >= newest
            && Self::flat(program, layout_index)
        {
            return Ok(None);
        }
        if !matches!(mirror, Some(Mirror::Object { .. })) {
            *mirror = Some(Mirror::Object {
                fields: vec![None; program.records[layout_index as usize].fields.len()],
                seen: 0,
            });
        }
        let Some(Mirror::Object { fields, seen }) = mirror else {
            return Ok(None);
        };
        *seen = newest;
        let layout = &program.records[layout_index as usize];
        let mut out = Map::new();
        for &slot in &layout.view_order {
            let field = &layout.fields[slot as usize];
            let child = &mut fields[slot as usize];
            if !self.visible(program, viewer, record, &field.privacy)? {
                if child.take().is_some() {
                    out.insert(field.name.clone(), Json::Null);
                }
                continue;
            }
            let value = match &field.kind {
                FieldKind::Stored { .. } => self.store.get(record, slot).clone(),
                FieldKind::Formula { .. } => self.read_slot(program, record, slot)?,
                FieldKind::Bubble { unit, expr } => {
                    let mut frame = Frame::new(program, *unit, viewer.who.clone());
                    frame.viewer = Some(Arc::clone(&viewer.state));
                    frame.this = Value::Record(record);
                    self.eval(program, &mut frame, *expr)?
                }
            };
            if let Some(delta) = self.diff_value(program, viewer, &value, child)? {
                out.insert(field.name.clone(), delta);
            }
        }
        Ok(Some(out))
    }

    fn record_hidden(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        record: RecordRef,
    ) -> Result<bool, Fault> {
        let layout = self.store.record(record).layout;
        let requires = program.records[layout as usize].requires.clone();
        if requires.is_empty() {
            return Ok(false);
        }
        Ok(!self.policies_pass(program, &requires, &viewer.who, Value::Record(record))?)
    }

    fn diff_value(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        value: &Value,
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Json>, Fault> {
        match value {
            Value::Record(record) => {
                if self.record_hidden(program, viewer, *record)? {
                    return Ok(mirror.take().map(|_| Json::Null));
                }
                let first = mirror.is_none();
                let out = self.diff_record(program, viewer, *record, mirror, false)?;
                Ok(match out {
                    Some(out) if !out.is_empty() => Some(Json::Object(out)),
                    _ if first => None,
                    _ => None,
                })
            }
            Value::Maybe(None) | Value::Void => Ok(mirror.take().map(|_| Json::Null)),
            Value::Maybe(Some(inner)) => self.diff_value(program, viewer, inner, mirror),
            Value::Table(_) | Value::Future(_) => Ok(None),
            Value::List(items)
                if items
                    .first()
                    .is_some_and(|item| matches!(item, Value::Record(_))) =>
            {
                self.diff_rows(program, viewer, items, mirror)
            }
            Value::List(items)
                if matches!(mirror, Some(Mirror::Rows { .. })) && items.is_empty() =>
            {
                self.diff_rows(program, viewer, items, mirror)
            }
            Value::List(items) | Value::NativeTable(items) => {
                self.diff_items(program, viewer, items, mirror)
            }
            Value::Map(map) => {
                if !matches!(mirror, Some(Mirror::Map(_))) {
                    *mirror = Some(Mirror::Map(BTreeMap::new()));
                }
                let Some(Mirror::Map(entries)) = mirror else {
                    return Ok(None);
                };
                let mut out = Map::new();
                let mut present = Vec::with_capacity(map.len());
                for (key, entry) in map.iter() {
                    let name = key.json_key();
                    let mut child = entries.remove(&name);
                    if let Some(delta) = self.diff_value(program, viewer, entry, &mut child)? {
                        out.insert(name.clone(), delta);
                    }
                    if let Some(child) = child {
                        present.push((name, child));
                    }
                }
                for name in std::mem::take(entries).into_keys() {
                    out.insert(name, Json::Null);
                }
                entries.extend(present);
                Ok((!out.is_empty()).then_some(Json::Object(out)))
            }
            Value::Message(message) => {
                if !matches!(mirror, Some(Mirror::Object { .. })) {
                    *mirror = Some(Mirror::Object {
                        fields: vec![None; message.values.len()],
                        seen: 0,
                    });
                }
                let Some(Mirror::Object { fields, .. }) = mirror else {
                    return Ok(None);
                };
                fields.resize(message.values.len(), None);
                let mut out = Map::new();
                for (index, (name, value)) in
                    message.shape.fields.iter().zip(&message.values).enumerate()
                {
                    if let Some(delta) =
                        self.diff_value(program, viewer, value, &mut fields[index])?
                    {
                        out.insert(name.to_string(), delta);
                    }
                }
                Ok((!out.is_empty()).then_some(Json::Object(out)))
            }
            scalar => {
                let json = self.to_view_json(scalar);
                if matches!(mirror, Some(Mirror::Leaf(previous)) if *previous == json) {
                    return Ok(None);
                }
                *mirror = Some(Mirror::Leaf(json.clone()));
                Ok(Some(json))
            }
        }
    }

    fn diff_rows(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        items: &[Value],
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Json>, Fault> {
        let first = mirror.is_none();
        if !matches!(mirror, Some(Mirror::Rows { .. })) {
            *mirror = Some(Mirror::Rows {
                order: Vec::new(),
                rows: HashMap::new(),
            });
        }
        let Some(Mirror::Rows { order, rows }) = mirror else {
            return Ok(None);
        };
        let mut out = Map::new();
        let mut new_order = Vec::with_capacity(items.len());
        let mut new_rows = HashMap::with_capacity(items.len());
        for item in items {
            let Value::Record(record) = item else {
                continue;
            };
            if self.record_hidden(program, viewer, *record)? {
                continue;
            }
            let layout = self.store.record(*record).layout;
            let id = program.records[layout as usize]
                .id_slot
                .map_or(record.0 as i32, |slot| {
                    self.store.get(*record, slot).as_int()
                });
            let mut child = rows.remove(&id);
            if let Some(delta) = self.diff_record(program, viewer, *record, &mut child, false)?
                && !delta.is_empty()
            {
                out.insert(id.to_string(), Json::Object(delta));
            }
            new_order.push(id);
            if let Some(child) = child {
                new_rows.insert(id, child);
            }
        }
        if new_order != *order && !(first && new_order.is_empty()) {
            out.insert("@o".into(), encode_order(order, &new_order));
        }
        let mut gone: Vec<i32> = rows.keys().copied().collect();
        gone.sort_unstable();
        for id in gone {
            out.insert(id.to_string(), Json::Null);
        }
        *order = new_order;
        *rows = new_rows;
        Ok((!out.is_empty()).then_some(Json::Object(out)))
    }

    fn diff_items(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        items: &[Value],
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Json>, Fault> {
        let first = mirror.is_none();
        if !matches!(mirror, Some(Mirror::Items(_))) {
            *mirror = Some(Mirror::Items(Vec::new()));
        }
        let Some(Mirror::Items(children)) = mirror else {
            return Ok(None);
        };
        let old_len = children.len();
        let mut out = Map::new();
        children.resize(items.len().max(old_len), None);
        for (index, item) in items.iter().enumerate() {
            if let Some(delta) = self.diff_value(program, viewer, item, &mut children[index])? {
                out.insert(index.to_string(), delta);
            }
        }
        for index in items.len()..old_len {
            out.insert(index.to_string(), Json::Null);
        }
        children.truncate(items.len());
        if items.len() != old_len && !(first && items.is_empty()) {
            out.insert("@s".into(), Json::from(items.len()));
        }
        Ok((!out.is_empty()).then_some(Json::Object(out)))
    }
}

/// The `@o` instruction: the new order, with runs of three or more ids that were consecutive
/// in the previous order written as `[start, end]` indices (runtime spec §4.3).
fn encode_order(previous: &[i32], next: &[i32]) -> Json {
    let index_of: HashMap<i32, usize> = previous
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < next.len() {
        match index_of.get(&next[k]) {
            Some(&start) => {
                let mut top = k;
                while top + 1 < next.len()
                    && index_of.get(&next[top + 1]) == Some(&(start + (top + 1 - k)))
                {
                    top += 1;
                }
                if top - k >= 2 {
                    out.push(Json::Array(vec![
                        Json::from(start),
                        Json::from(start + (top - k)),
                    ]));
                    k = top + 1;
                } else {
                    out.push(Json::from(next[k]));
                    k += 1;
                }
            }
            None => {
                out.push(Json::from(next[k]));
                k += 1;
            }
        }
    }
    Json::Array(out)
}

#[cfg(test)]
mod tests {
    use super::encode_order;

    #[test]
    fn order_runs_follow_the_reference_examples() {
        assert_eq!(
            encode_order(&[1, 2, 3, 4, 5], &[1, 3, 6, 4, 5]).to_string(),
            "[1,3,6,4,5]"
        );
        assert_eq!(
            encode_order(&[1, 2, 3, 4, 5], &[1, 2, 3, 6, 4, 5]).to_string(),
            "[[0,2],6,4,5]"
        );
        assert_eq!(
            encode_order(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5, 6]).to_string(),
            "[[0,4],6]"
        );
        assert_eq!(
            encode_order(&[1, 2, 3, 4, 5, 6], &[1, 3, 4, 5, 6]).to_string(),
            "[1,[2,5]]"
        );
    }
}
