//! Private views: what each viewer may see, and the minimal delta of it after each transaction.
//!
//! A view keeps a mirror of what it last sent. After a transaction the visible values are walked
//! and compared with the mirror; only differences are written. Rows of a list whose record has
//! not changed since the view last saw it (and whose visibility cannot depend on anything else)
//! are skipped without being walked.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

use adama_compiler::ir::{FieldKind, LayoutId, PrivacyRule, Program, RecordId};
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json};

use crate::document::Document;
use crate::error::Fault;
use crate::eval::Frame;
use crate::hash_order::{capacity_for, java_order};
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
    /// The list value and store generation last walked let a view skip a list that cannot
    /// have changed.
    Rows {
        order: Vec<i32>,
        rows: HashMap<i32, Mirror>,
        list: Option<Walked>,
        seen: u64,
        /// The most ids the view has held at once (the capacity of the reference's id cache,
        /// which orders the nulls of vanished ids).
        held: usize,
    },
    /// Any other list: element mirrors by index.
    Items(Vec<Option<Mirror>>),
    /// A collaborative text: the generation and the number of changes sent.
    Text {
        generation: i64,
        count: i32,
    },
    /// A map: entry mirrors by key, and the most entries the view has held at once (the capacity
    /// of the reference's cache, which orders the nulls of vanished keys).
    Map {
        entries: BTreeMap<String, Mirror>,
        held: usize,
        /// In the shared mirror, what was sent for the keys that left at its last walk of this
        /// map: a view that skipped that step still holds them, and one of them coming back
        /// must replace, not merge onto, what that view holds (see `Document::replacing`).
        left: BTreeMap<String, Mirror>,
    },
}

impl Mirror {
    /// Forgets which generations and row lists were walked, so that the next walk compares
    /// every value with what was sent rather than skipping what looks unchanged.
    fn forget_walks(&mut self) {
        match self {
            Mirror::Leaf(_) | Mirror::Text { .. } => {}
            Mirror::Object { fields, seen } => {
                *seen = 0;
                fields.iter_mut().flatten().for_each(Mirror::forget_walks);
            }
            Mirror::Rows {
                rows, list, seen, ..
            } => {
                *seen = 0;
                *list = None;
                rows.values_mut().for_each(Mirror::forget_walks);
            }
            Mirror::Items(items) => items.iter_mut().flatten().for_each(Mirror::forget_walks),
            Mirror::Map { entries, left, .. } => {
                entries.values_mut().for_each(Mirror::forget_walks);
                left.clear();
            }
        }
    }
}

/// The list of rows a view last walked. A table's own row list is remembered by its table,
/// epoch and length rather than held, so that the table can keep appending to it in place.
#[derive(Debug, Clone)]
enum Walked {
    List(Arc<Vec<Value>>),
    Table { table: u32, epoch: u64, len: usize },
}

impl Walked {
    fn len(&self) -> usize {
        match self {
            Walked::List(list) => list.len(),
            Walked::Table { len, .. } => *len,
        }
    }
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
    /// When the view follows the shared mirror: the change key it is in sync with.
    shared_key: Option<ChangeKey>,
    /// The shared step a view fell behind on without taking it: its next delta starts with it.
    owed: Option<Map<String, Json>>,
}

/// What the visible data of a document depends on: every write takes a new store generation,
/// and clock formulas read the document time.
type ChangeKey = (u64, i64);

/// The one mirror that every view of a viewer-independent document follows, with the data of its
/// last step, which each view in sync receives without walking the document again.
#[derive(Debug, Default)]
pub(crate) struct SharedView {
    mirror: Option<Mirror>,
    key: Option<ChangeKey>,
    previous: Option<ChangeKey>,
    data: Option<Map<String, Json>>,
    /// `data` as text, written the first time a host asks for text.
    text: Option<Arc<str>>,
    /// The views in step that have not yet received `data`. When the last one has, the step is
    /// let go at once: a large step (a first sync) would otherwise be freed by the next one.
    waiting: usize,
}

impl SharedView {
    /// One view in step received the step's data.
    fn delivered(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
        if self.waiting == 0 {
            self.data = None;
            self.text = None;
        }
    }
}

/// The data part of an envelope.
enum Data {
    Nothing,
    Owned(Map<String, Json>),
    /// The shared step's data.
    Shared,
}

impl Data {
    fn of(data: Option<Map<String, Json>>) -> Data {
        match data {
            Some(data) if !data.is_empty() => Data::Owned(data),
            _ => Data::Nothing,
        }
    }
}

/// What a view's next envelope holds.
struct Parts {
    data: Data,
    futures: Option<(Json, Json)>,
    seq: i32,
}

/// Whether what a view shows cannot depend on who looks: no bubbles, no viewer_is or policies,
/// no `require`.
pub(crate) fn viewer_independent(program: &Program) -> bool {
    program.records.iter().all(|layout| {
        layout.requires.is_empty()
            && layout.fields.iter().all(|field| {
                !matches!(field.kind, FieldKind::Bubble { .. })
                    && matches!(field.privacy, PrivacyRule::Private | PrivacyRule::Public)
            })
    })
}

/// Adds to an entry written whole what a delta from the old entry says of keys the whole lacks:
/// those keys are gone, and the delta's nulls remove them from a client that held them.
fn clear_what_left(whole: &mut Map<String, Json>, from_before: Map<String, Json>) {
    for (key, change) in from_before {
        match (whole.get_mut(&key), change) {
            (None, change) => {
                whole.insert(key, change);
            }
            (Some(Json::Object(inner)), Json::Object(change)) => clear_what_left(inner, change),
            _ => {}
        }
    }
}

/// A view's identity in its document.
pub type ViewId = usize;

struct Viewer {
    who: Principal,
    state: Arc<Json>,
    /// The shared mirror's walk, which keeps what left each map for the views that skip it.
    keeps_left: bool,
}

impl Document {
    /// Opens a view for a principal with its view state. Its first delta carries everything it
    /// may see.
    pub fn open_view(&mut self, who: Principal, state: Json) -> ViewId {
        self.views.open.push(View {
            who,
            state: Arc::new(state),
            mirror: None,
            sent_outstanding: "[]".into(),
            sent_blockers: "[]".into(),
            open: true,
            shared_key: None,
            owed: None,
        });
        self.views.open.len() - 1
    }

    /// Closes a view; it receives nothing more.
    pub fn close_view(&mut self, view: ViewId) {
        if let Some(view) = self.views.open.get_mut(view) {
            view.open = false;
            view.mirror = None;
            view.owed = None;
        }
    }

    /// The open views.
    pub fn view_ids(&self) -> Vec<ViewId> {
        (0..self.views.open.len())
            .filter(|id| self.views.open[*id].open)
            .collect()
    }

    pub fn view_principal(&self, view: ViewId) -> Option<&Principal> {
        self.views.open.get(view).map(|view| &view.who)
    }

    /// Replaces a view's state (`connection/update`).
    pub fn update_view_state(&mut self, view: ViewId, state: Json) {
        if let Some(view) = self.views.open.get_mut(view) {
            let mut merged = (*view.state).clone();
            crate::transaction::apply_patch(&mut merged, &state);
            view.state = Arc::new(merged);
        }
    }

    /// The broadcast envelope for a view: `{"data":…,"outstanding":…,"blockers":…,"seq":n}`.
    pub fn view_delta(&mut self, view: ViewId) -> Result<Json, Fault> {
        let Some(parts) = self.delta_parts(view)? else {
            return Ok(Json::Null);
        };
        let mut envelope = Map::new();
        match parts.data {
            Data::Owned(data) => {
                envelope.insert("data".into(), Json::Object(data));
            }
            Data::Shared => {
                if let Some(data) = &self.views.shared.data {
                    envelope.insert("data".into(), Json::Object(data.clone()));
                }
                self.views.shared.delivered();
            }
            Data::Nothing => {}
        }
        if let Some((outstanding, blockers)) = parts.futures {
            envelope.insert("outstanding".into(), outstanding);
            envelope.insert("blockers".into(), blockers);
        }
        envelope.insert("seq".into(), Json::from(parts.seq));
        Ok(Json::Object(envelope))
    }

    /// The same envelope as JSON text, which is what a host sends. In a document whose views
    /// cannot differ, the data every view in step receives is written once per transaction.
    pub fn view_delta_text(&mut self, view: ViewId) -> Result<String, Fault> {
        let Some(parts) = self.delta_parts(view)? else {
            return Ok("null".into());
        };
        let owned;
        let data: Option<&str> = match &parts.data {
            Data::Owned(data) => {
                owned = map_text(data);
                Some(&owned)
            }
            Data::Shared => {
                if self.views.shared.text.is_none() {
                    self.views.shared.text = self
                        .views
                        .shared
                        .data
                        .as_ref()
                        .map(|data| Arc::from(map_text(data)));
                }
                self.views.shared.text.as_deref()
            }
            Data::Nothing => None,
        };
        let futures = parts
            .futures
            .map(|(outstanding, blockers)| (outstanding.to_string(), blockers.to_string()));
        // Sized once: growing a string costs a reallocation per view, which a fragmented heap
        // makes slow.
        let size = 32
            + data.map_or(0, str::len)
            + futures.as_ref().map_or(0, |(o, b)| o.len() + b.len() + 28);
        let mut text = String::with_capacity(size);
        text.push('{');
        if let Some(data) = data {
            text.push_str("\"data\":");
            text.push_str(data);
            text.push(',');
        }
        if let Some((outstanding, blockers)) = futures {
            text.push_str("\"outstanding\":");
            text.push_str(&outstanding);
            text.push_str(",\"blockers\":");
            text.push_str(&blockers);
            text.push(',');
        }
        // Writing into a string cannot fail.
        let _ = write!(text, "\"seq\":{}}}", parts.seq);
        if matches!(parts.data, Data::Shared) {
            self.views.shared.delivered();
        }
        Ok(text)
    }

    /// What a view's next envelope holds; `None` for an unknown view. After a blocked run the
    /// view is computed over the state the run left before its rollback.
    fn delta_parts(&mut self, view: ViewId) -> Result<Option<Parts>, Fault> {
        let Some(mut shadow) = self.shadow.take() else {
            return self.delta_parts_now(view);
        };
        std::mem::swap(&mut self.store, &mut shadow.0);
        std::mem::swap(&mut self.meta, &mut shadow.1);
        let parts = self.delta_parts_now(view);
        std::mem::swap(&mut self.store, &mut shadow.0);
        std::mem::swap(&mut self.meta, &mut shadow.1);
        // Formulas of records that only the rolled-back run created must not be cached for
        // the live store, which may reuse their slots.
        let records = &self.store.records;
        self.formulas
            .cache
            .retain(|(record, _), _| records.get(*record as usize).is_some_and(|data| data.alive));
        self.shadow = Some(shadow);
        parts
    }

    fn delta_parts_now(&mut self, view: ViewId) -> Result<Option<Parts>, Fault> {
        if view >= self.views.open.len() {
            return Ok(None);
        }
        // The program and the viewer are taken only where a walk needs them: a view in step
        // with the shared mirror takes its delta without one, and reference counts are atomic.
        let viewer_of = |entry: &View| Viewer {
            who: entry.who.clone(),
            state: Arc::clone(&entry.state),
            keeps_left: false,
        };
        self.run.budget_left = self.limits.budget;
        self.run.bytes_left = self.limits.transaction_bytes;
        let (data, mirror) = if self.loaded.viewer_independent {
            let key = (self.store.clock, self.meta.time);
            if self.views.shared.key != Some(key) {
                let program = Arc::clone(&self.program);
                self.leave_behind_views_that_skipped_a_step();
                let mut shared_mirror = self.views.shared.mirror.take();
                let nobody = Viewer {
                    who: Principal::no_one(),
                    state: Arc::new(Json::Object(Map::new())),
                    keeps_left: true,
                };
                let data =
                    self.diff_record(&program, &nobody, self.root, &mut shared_mirror, true)?;
                let previous = self.views.shared.key;
                let waiting = self
                    .views
                    .open
                    .iter()
                    .filter(|entry| {
                        entry.open && entry.shared_key.is_some_and(|at| Some(at) == previous)
                    })
                    .count();
                self.views.shared = SharedView {
                    mirror: shared_mirror,
                    previous,
                    key: Some(key),
                    data: data.filter(|data| !data.is_empty()),
                    text: None,
                    waiting,
                };
            }
            let entry = &mut self.views.open[view];
            let mut mirror = entry.mirror.take();
            let owed = entry.owed.take();
            let data = match entry.shared_key {
                Some(synced) if synced == key => Data::Nothing,
                Some(synced) if Some(synced) == self.views.shared.previous => Data::Shared,
                // A new view, or one that fell behind with its own mirror, is walked on its own
                // once, after which it shows what the shared mirror shows.
                _ => {
                    let program = Arc::clone(&self.program);
                    let viewer = viewer_of(&self.views.open[view]);
                    let walked =
                        self.diff_record(&program, &viewer, self.root, &mut mirror, true)?;
                    match (owed, walked) {
                        (Some(mut owed), Some(walked)) => {
                            crate::view_compose::compose(&mut owed, walked);
                            Data::of(Some(owed))
                        }
                        (owed, walked) => Data::of(walked.or(owed)),
                    }
                }
            };
            self.views.open[view].shared_key = Some(key);
            (data, None)
        } else {
            let program = Arc::clone(&self.program);
            let viewer = viewer_of(&self.views.open[view]);
            let mut mirror = self.views.open[view].mirror.take();
            let data =
                Data::of(self.diff_record(&program, &viewer, self.root, &mut mirror, true)?);
            (data, mirror)
        };
        let mut futures = None;
        let idle = self.outstanding.is_empty()
            && self.views.open[view].sent_outstanding == "[]"
            && self.views.open[view].sent_blockers == "[]";
        if idle {
            // Nothing is asked of anyone and the view knows it: the common case costs nothing.
            self.views.open[view].mirror = mirror;
        } else {
            let outstanding: Vec<Json> = self
                .outstanding
                .iter()
                .filter(|ask| ask.who == self.views.open[view].who)
                .map(|ask| {
                    let mut object = Map::new();
                    object.insert("id".into(), Json::from(ask.id));
                    object.insert("channel".into(), Json::String(ask.channel.clone()));
                    if let Some(timeout) = &ask.timeout {
                        object.insert(
                            "timeout".into(),
                            serde_json::json!({"started": timeout.started.to_string(), "seconds": crate::json::double_json(timeout.seconds)}),
                        );
                    }
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
            let entry = &mut self.views.open[view];
            entry.mirror = mirror;
            if outstanding_text != entry.sent_outstanding || blockers_text != entry.sent_blockers {
                futures = Some((outstanding, blockers));
                entry.sent_outstanding = outstanding_text;
                entry.sent_blockers = blockers_text;
            }
        }
        Ok(Some(Parts {
            data,
            futures,
            seq: self.meta.seq,
        }))
    }

    /// Before the shared mirror takes a new step, a view that has not taken the last one could
    /// no longer be told what changed: it keeps its own copy of the mirror and the step it owes.
    fn leave_behind_views_that_skipped_a_step(&mut self) {
        let Some(previous) = self.views.shared.previous else {
            return;
        };
        let shared = &self.views.shared;
        for entry in self.views.open.iter_mut() {
            if entry.open && entry.shared_key == Some(previous) {
                entry.mirror = shared.mirror.clone();
                entry.owed = shared.data.clone();
                entry.shared_key = None;
            }
        }
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
    fn flat(program: &Program, layout: RecordId) -> bool {
        let layout = &program.records[layout];
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
        let newest = self.store.newest(record);
        if let Some(Mirror::Object { seen, .. }) = mirror
            && !root
            && *seen >= newest
            && Self::flat(program, layout_index)
        {
            return Ok(None);
        }
        if !matches!(mirror, Some(Mirror::Object { .. })) {
            *mirror = Some(Mirror::Object {
                fields: vec![None; program.records[layout_index].fields.len()],
                seen: 0,
            });
        }
        let Some(Mirror::Object { fields, seen }) = mirror else {
            return Ok(None);
        };
        *seen = newest;
        let layout = &program.records[layout_index];
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
                // A formula that fails has no value for this view; the rest of the view is
                // still written.
                FieldKind::Formula { .. } => match self.read_slot(program, record, slot) {
                    Err(Fault::Error { .. }) => Value::Void,
                    other => other?,
                },
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

    /// The delta for a map entry that a view's client may still hold from before its key left
    /// (`held_before`, what it was sent then) or may not hold at all: the entry whole, plus a
    /// null (or a delta of nulls) for everything the old entry had that the new one lacks. So
    /// the client ends with exactly the new entry either way, where the entry whole alone would
    /// merge onto the old one.
    fn replacing(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        entry: &Value,
        held_before: Mirror,
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Json>, Fault> {
        let mut before = Some(held_before);
        if let Some(before) = &mut before {
            // The old entry's records are not the new one's: compare every field, whatever
            // generations the old walks saw.
            before.forget_walks();
        }
        let from_before = self.diff_value(program, viewer, entry, &mut before)?;
        let whole = self.diff_value(program, viewer, entry, mirror)?;
        Ok(match (whole, from_before) {
            (Some(Json::Object(mut whole)), Some(Json::Object(from_before))) => {
                clear_what_left(&mut whole, from_before);
                Some(Json::Object(whole))
            }
            (None, from_before) => from_before,
            (whole, _) => whole,
        })
    }

    fn record_hidden(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        record: RecordRef,
    ) -> Result<bool, Fault> {
        let layout = self.store.record(record).layout;
        let requires = program.records[layout].requires.clone();
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
            // A text is sent whole once per generation, then change by change.
            Value::Text(text) => {
                let delta = match mirror {
                    // A viewer further behind than the changes the text keeps takes it whole.
                    Some(Mirror::Text { generation, count })
                        if *generation == text.generation && text.keeps_since(*count) =>
                    {
                        (*count < text.count()).then(|| text.view_since(*count))
                    }
                    _ => Some(text.view()),
                };
                *mirror = Some(Mirror::Text {
                    generation: text.generation,
                    count: text.count(),
                });
                Ok(delta)
            }
            Value::Maybe(Some(inner)) => self.diff_value(program, viewer, inner, mirror),
            Value::Table(_) | Value::Future(_) => Ok(None),
            Value::List(items)
                if items
                    .first()
                    .is_some_and(|item| matches!(item, Value::Record(_))) =>
            {
                if self.rows_unchanged(program, items, mirror) {
                    return Ok(None);
                }
                if let Some(delta) = self.rows_appended(program, viewer, items, mirror)? {
                    return Ok(delta);
                }
                self.diff_rows(program, viewer, items, mirror)
            }
            Value::List(items)
                if matches!(mirror, Some(Mirror::Rows { .. })) && items.is_empty() =>
            {
                self.diff_rows(program, viewer, items, mirror)
            }
            Value::List(items) if message_row_key(program, items).is_some() => {
                self.diff_message_rows(program, viewer, items, mirror)
            }
            Value::List(items) | Value::NativeTable(items) => {
                self.diff_items(program, viewer, items, mirror)
            }
            Value::Map(map) => {
                if !matches!(mirror, Some(Mirror::Map { .. })) {
                    *mirror = Some(Mirror::Map {
                        entries: BTreeMap::new(),
                        held: 0,
                        left: BTreeMap::new(),
                    });
                }
                let Some(Mirror::Map {
                    entries,
                    held,
                    left,
                }) = mirror
                else {
                    return Ok(None);
                };
                let mut out = Map::new();
                let mut present = Vec::with_capacity(map.len());
                for (key, entry) in map.iter() {
                    let name = key.json_key();
                    let mut child = entries.remove(&name);
                    let delta = match left.remove(&name) {
                        Some(held_before) if child.is_none() && !viewer.keeps_left => {
                            self.replacing(program, viewer, entry, held_before, &mut child)?
                        }
                        _ => self.diff_value(program, viewer, entry, &mut child)?,
                    };
                    if let Some(delta) = delta {
                        out.insert(name.clone(), delta);
                    }
                    if let Some(child) = child {
                        present.push((name, child));
                    }
                }
                let gone_mirrors = std::mem::take(entries);
                let mut gone: Vec<String> = gone_mirrors.keys().cloned().collect();
                *left = if viewer.keeps_left {
                    gone_mirrors
                } else {
                    BTreeMap::new()
                };
                gone.sort_by(|a, b| match (a.parse::<i64>(), b.parse::<i64>()) {
                    (Ok(a), Ok(b)) => a.cmp(&b),
                    _ => a.encode_utf16().cmp(b.encode_utf16()),
                });
                let hashed = gone
                    .into_iter()
                    .map(|name| {
                        let hash = name
                            .parse::<i32>()
                            .unwrap_or_else(|_| crate::value::java_string_hash(&name));
                        (hash, name)
                    })
                    .collect();
                for name in java_order(hashed, capacity_for(*held)) {
                    out.insert(name, Json::Null);
                }
                entries.extend(present);
                *held = (*held).max(entries.len());
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
        items: &Arc<Vec<Value>>,
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Json>, Fault> {
        let first = mirror.is_none();
        let walked = self.walked(items);
        if !matches!(mirror, Some(Mirror::Rows { .. })) {
            *mirror = Some(Mirror::Rows {
                order: Vec::new(),
                rows: HashMap::new(),
                list: None,
                seen: 0,
                held: 0,
            });
        }
        let clock = self.store.clock;
        let Some(Mirror::Rows {
            order,
            rows,
            list,
            seen,
            held,
        }) = mirror
        else {
            return Ok(None);
        };
        *list = Some(walked);
        *seen = clock;
        let mut out = Map::new();
        let mut new_order = Vec::with_capacity(items.len());
        let mut new_rows = HashMap::with_capacity(items.len());
        let mut hidden = Vec::new();
        for item in items.iter() {
            let Value::Record(record) = item else {
                continue;
            };
            let layout = self.store.record(*record).layout;
            let id = program.records[layout]
                .id_slot
                .map_or(record.0 as i32, |slot| {
                    self.store.get(*record, slot).as_int()
                });
            if self.record_hidden(program, viewer, *record)? {
                // The reference writes a hidden row as null on every walk of its list, even in
                // a view's first delta (runtime spec, quirk 2).
                hidden.push(id);
                continue;
            }
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
        let mut gone: Vec<i32> = rows.keys().copied().chain(hidden.iter().copied()).collect();
        gone.sort_unstable();
        gone.dedup();
        *held = (*held).max(order.len().max(new_order.len() + hidden.len()));
        let hashed = gone.into_iter().map(|id| (id, id)).collect();
        for id in java_order(hashed, capacity_for(*held)) {
            out.insert(id.to_string(), Json::Null);
        }
        *order = new_order;
        *rows = new_rows;
        Ok((!out.is_empty()).then_some(Json::Object(out)))
    }

    /// The delta of a list of rows when the list last walked is a prefix of it and no row of its
    /// (flat) layout was written since: only the appended rows are walked. `None` when that is
    /// not the case.
    fn rows_appended(
        &mut self,
        program: &Program,
        viewer: &Viewer,
        items: &Arc<Vec<Value>>,
        mirror: &mut Option<Mirror>,
    ) -> Result<Option<Option<Json>>, Fault> {
        let Some(Mirror::Rows {
            list: Some(last),
            seen,
            order,
            ..
        }) = mirror
        else {
            return Ok(None);
        };
        let Some(Value::Record(first)) = items.first() else {
            return Ok(None);
        };
        let layout = self.store.record(*first).layout;
        let unchanged_rows = Self::flat(program, layout)
            && self
                .store
                .layout_clock
                .get(layout.index())
                .is_none_or(|clock| *clock <= *seen);
        let id_slot = program.records[layout].id_slot;
        if !unchanged_rows || order.len() != last.len() || !self.walked_prefix_of(last, items) {
            return Ok(None);
        }
        // A row deleted since may have left its place in the store to a new row: the same
        // record, another id. A table's own list cannot hide that (a deletion starts a new
        // epoch); any other list is checked row by row.
        if matches!(last, Walked::List(_))
            && !items.iter().zip(order.iter()).all(|(item, id)| {
                let Value::Record(record) = item else {
                    return false;
                };
                id_slot.map_or(record.0 as i32, |slot| {
                    self.store.get(*record, slot).as_int()
                }) == *id
            })
        {
            return Ok(None);
        }
        let previous = last.len();
        let clock = self.store.clock;
        let mut out = Map::new();
        let mut appended = Vec::new();
        for item in &items[previous..] {
            let Value::Record(record) = item else {
                return Ok(None);
            };
            let id = id_slot.map_or(record.0 as i32, |slot| {
                self.store.get(*record, slot).as_int()
            });
            let mut child = None;
            if let Some(delta) = self.diff_record(program, viewer, *record, &mut child, false)?
                && !delta.is_empty()
            {
                out.insert(id.to_string(), Json::Object(delta));
            }
            appended.push((id, child));
        }
        let Some(Mirror::Rows {
            order,
            rows,
            list,
            seen,
            held,
        }) = mirror
        else {
            return Ok(None);
        };
        if !appended.is_empty() {
            let mut instruction = Vec::new();
            if previous >= 3 {
                instruction.push(Json::Array(vec![Json::from(0), Json::from(previous - 1)]));
            } else {
                instruction.extend(order.iter().map(|id| Json::from(*id)));
            }
            for (id, child) in appended {
                instruction.push(Json::from(id));
                order.push(id);
                if let Some(child) = child {
                    rows.insert(id, child);
                }
            }
            out.insert("@o".into(), Json::Array(instruction));
        }
        *list = Some(self.walked(items));
        *seen = clock;
        *held = (*held).max(order.len());
        Ok(Some((!out.is_empty()).then_some(Json::Object(out))))
    }

    /// Whether a list of rows is the very list last walked and no row of its (flat) layout was
    /// written since: then nothing in it can have changed for any viewer.
    fn rows_unchanged(
        &self,
        program: &Program,
        items: &Arc<Vec<Value>>,
        mirror: &Option<Mirror>,
    ) -> bool {
        let Some(Mirror::Rows {
            list: Some(last),
            seen,
            ..
        }) = mirror
        else {
            return false;
        };
        let same = match last {
            Walked::List(last) => Arc::ptr_eq(last, items),
            Walked::Table { len, .. } => *len == items.len() && self.walked_prefix_of(last, items),
        };
        if !same {
            return false;
        }
        let Some(Value::Record(first)) = items.first() else {
            return true;
        };
        let layout = self.store.record(*first).layout;
        Self::flat(program, layout)
            && self
                .store
                .layout_clock
                .get(layout.index())
                .is_none_or(|clock| *clock <= *seen)
    }

    /// A list of messages keyed by an `int id unique` field, written like a list of records:
    /// each message under its id, then `@o` (runtime spec §4.3). A later message with an id
    /// already listed is left out.
    fn diff_message_rows(
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
                list: None,
                seen: 0,
                held: 0,
            });
        }
        let Some(Mirror::Rows {
            order, rows, held, ..
        }) = mirror
        else {
            return Ok(None);
        };
        let mut out = Map::new();
        let mut new_order = Vec::with_capacity(items.len());
        let mut new_rows = HashMap::with_capacity(items.len());
        for item in items {
            let Value::Message(message) = item else {
                continue;
            };
            let id = message
                .shape
                .index_of("id")
                .and_then(|index| message.values.get(index))
                .map_or(0, Value::as_int);
            if new_rows.contains_key(&id) {
                continue;
            }
            let mut child = rows.remove(&id);
            if let Some(delta) = self.diff_value(program, viewer, item, &mut child)? {
                out.insert(id.to_string(), delta);
            }
            new_order.push(id);
            new_rows.insert(id, child.unwrap_or(Mirror::Items(Vec::new())));
        }
        if new_order != *order && !(first && new_order.is_empty()) {
            out.insert("@o".into(), encode_order(order, &new_order));
        }
        let mut gone: Vec<i32> = rows.keys().copied().collect();
        gone.sort_unstable();
        *held = (*held).max(order.len().max(new_order.len()));
        let hashed = gone.into_iter().map(|id| (id, id)).collect();
        for id in java_order(hashed, capacity_for(*held)) {
            out.insert(id.to_string(), Json::Null);
        }
        *order = new_order;
        *rows = new_rows;
        Ok((!out.is_empty()).then_some(Json::Object(out)))
    }

    /// How a view remembers the list of rows it walks: by table and epoch when the list is the
    /// table's own (see `Store::row_list`), else the list itself.
    fn walked(&self, items: &Arc<Vec<Value>>) -> Walked {
        if let Some(Value::Record(first)) = items.first()
            && let crate::store::Parent::Row { table } = self.store.record(*first).parent()
            && let Some(listed) = &self.store.tables[table.0 as usize].listed
            && Arc::ptr_eq(&listed.rows, items)
        {
            return Walked::Table {
                table: table.0,
                epoch: listed.epoch,
                len: items.len(),
            };
        }
        Walked::List(Arc::clone(items))
    }

    /// Whether the rows a view walked are the first rows of `items`.
    fn walked_prefix_of(&self, walked: &Walked, items: &Arc<Vec<Value>>) -> bool {
        match walked {
            Walked::List(last) => {
                last.len() <= items.len() && same_rows(&items[..last.len()], last)
            }
            Walked::Table { table, epoch, len } => {
                *len <= items.len()
                    && self.store.tables.get(*table as usize).is_some_and(|data| {
                        data.listed.as_ref().is_some_and(|listed| {
                            listed.epoch == *epoch && Arc::ptr_eq(&listed.rows, items)
                        })
                    })
            }
        }
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

/// The field that keys a list of messages in a view, when its messages declare `int id unique`.
fn message_row_key(program: &Program, items: &[Value]) -> Option<usize> {
    let Some(Value::Message(message)) = items.first() else {
        return None;
    };
    let name = message.shape.name.as_deref()?;
    program.messages[program.message_named(name)?].row_key()
}

/// A JSON object as text.
fn map_text(data: &Map<String, Json>) -> String {
    serde_json::to_string(data).unwrap_or_default()
}

/// Whether two lists hold the same records in the same order (compared by handle).
fn same_rows(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Value::Record(x), Value::Record(y)) => x == y,
            _ => false,
        })
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
