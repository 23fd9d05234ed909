//! `space/reflect`: the compiled schema of a space (protocol spec §2.11), for tooling.
//!
//! `types` holds the document (`__Root`), the view state (`__ViewerType`) and each record and
//! message with its fields; `channels` names each channel's message, `channels-privacy` says
//! who may send, `constructors` names the constructors' messages and `labels` the state
//! machine's labels. A type is a node `{"nature": …}`: `reactive_*` in records (stored and
//! watched), `native_*` in messages and formulas' values.

use adama_compiler::ir::{FieldKind, PolicyRef, PrivacyRule, Program, RecordLayout};
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json, json};

/// Whether a type lives in a record (reactive) or in a message (native).
#[derive(Clone, Copy)]
enum Nature {
    Reactive,
    Native,
}

impl Nature {
    fn prefix(self) -> &'static str {
        match self {
            Nature::Reactive => "reactive",
            Nature::Native => "native",
        }
    }
}

fn type_node(ty: &Ty, nature: Nature) -> Json {
    let tagged = |kind: &str| format!("{}_{kind}", nature.prefix());
    match ty {
        Ty::Record(name) => json!({"nature": tagged("ref"), "ref": &**name}),
        Ty::Message(name) => json!({"nature": "native_ref", "ref": &**name}),
        Ty::Enum(name) => json!({"nature": tagged("enum"), "enum": &**name}),
        Ty::Maybe(inner) => json!({"nature": tagged("maybe"), "type": type_node(inner, nature)}),
        Ty::Table(inner) => match &**inner {
            Ty::Record(name) => json!({"nature": "reactive_table", "record_name": &**name}),
            other => json!({"nature": "reactive_table", "type": type_node(other, nature)}),
        },
        Ty::List(inner) => json!({"nature": "native_list", "type": type_node(inner, nature)}),
        Ty::Array(inner) => {
            json!({"nature": "native_array", "type": type_node(inner, Nature::Native)})
        }
        Ty::Map(domain, range) => json!({"nature": tagged("map"),
            "domain": type_node(domain, nature), "range": type_node(range, nature)}),
        Ty::Pair(first, second) => json!({"nature": "native_pair",
            "domain": type_node(first, nature), "range": type_node(second, nature)}),
        other => json!({"nature": tagged("value"), "type": other.to_string()}),
    }
}

fn policy_names(program: &Program, layout: &RecordLayout, policies: &[PolicyRef]) -> Vec<String> {
    let name_of = |id: &u32| {
        program
            .functions
            .get(*id as usize)
            .map_or_else(|| "?".to_owned(), |function| function.name.clone())
    };
    policies
        .iter()
        .map(|policy| match policy {
            PolicyRef::Record(id) | PolicyRef::Document(id) | PolicyRef::Filter(id) => {
                let name = name_of(id);
                // A record's own policies are stored under their bare names.
                layout
                    .policies
                    .iter()
                    .chain(program.policies.iter())
                    .chain(program.filters.iter())
                    .find(|(_, function)| *function == id)
                    .map_or(name, |(bare, _)| bare.clone())
            }
            PolicyRef::Missing => "?".to_owned(),
        })
        .collect()
}

fn record(program: &Program, layout: &RecordLayout, name: &str) -> Json {
    let mut fields = Map::new();
    for field in layout.fields.iter().filter(|field| !field.implicit) {
        let privacy = match (&field.kind, &field.privacy) {
            (FieldKind::Bubble { .. }, _) => "bubble".to_owned(),
            (_, PrivacyRule::Public) => "public".to_owned(),
            (_, PrivacyRule::Private) => "private".to_owned(),
            (_, PrivacyRule::ViewerIs(slot)) => format!(
                "viewer_is<{}>",
                layout
                    .fields
                    .get(*slot as usize)
                    .map_or("?", |field| field.name.as_str())
            ),
            (_, PrivacyRule::Policies(policies)) => {
                format!(
                    "use_policy<{}>",
                    policy_names(program, layout, policies).join(",")
                )
            }
        };
        let (computed, nature) = match field.kind {
            FieldKind::Stored { .. } => (false, Nature::Reactive),
            FieldKind::Formula { .. } | FieldKind::Bubble { .. } => (true, Nature::Native),
        };
        fields.insert(
            field.name.clone(),
            json!({"type": type_node(&field.ty, nature), "computed": computed,
                "privacy": privacy}),
        );
    }
    json!({"nature": "reactive_record", "name": name, "fields": fields})
}

fn message(name: &str, fields: impl Iterator<Item = (String, Ty)>, anonymous: bool) -> Json {
    let fields: Map<String, Json> = fields
        .map(|(field, ty)| {
            (
                field,
                json!({"type": type_node(&ty, Nature::Native),
            "computed": false, "privacy": "public"}),
            )
        })
        .collect();
    json!({"nature": "native_message", "name": name, "anonymous": anonymous, "fields": fields})
}

/// The reflection of a compiled program.
pub fn reflect(program: &Program) -> Json {
    let mut types = Map::new();
    for (index, layout) in program.records.iter().enumerate() {
        let name = if index == 0 {
            "Root"
        } else {
            layout.name.as_str()
        };
        let key = if index == 0 {
            "__Root".to_owned()
        } else {
            layout.name.clone()
        };
        types.insert(key, record(program, layout, name));
    }
    types.insert(
        "__ViewerType".into(),
        message(
            "__ViewerType",
            program
                .views
                .iter()
                .map(|(name, ty)| (name.clone(), ty.clone())),
            true,
        ),
    );
    for layout in &program.messages {
        let fields = layout
            .fields
            .iter()
            .map(|field| (field.name.clone(), field.ty.clone()));
        types.insert(layout.name.clone(), message(&layout.name, fields, false));
    }
    let message_name = |id: Option<adama_compiler::ir::MessageId>, array: bool| {
        let name = id.map_or("dynamic", |id| program.messages[id].name.as_str());
        if array {
            format!("{name}[]")
        } else {
            name.to_owned()
        }
    };
    let mut channels = Map::new();
    let mut privacy = Map::new();
    for (name, handler) in &program.handlers {
        channels.insert(
            name.clone(),
            json!(message_name(handler.message, handler.array)),
        );
        let guard = policy_names(
            program,
            &program.records[adama_compiler::ir::RecordId::ROOT],
            &handler.guard,
        );
        privacy.insert(
            name.clone(),
            json!({"open": handler.open, "privacy": guard}),
        );
    }
    for (name, channel) in &program.async_channels {
        channels.insert(
            name.clone(),
            json!(message_name(channel.message, channel.array)),
        );
        privacy.insert(name.clone(), json!({"open": false, "privacy": []}));
    }
    let constructors: Vec<String> = program
        .constructors
        .iter()
        .filter_map(|constructor| constructor.param)
        .map(|(_, message)| message_name(message, false))
        .collect();
    let mut labels: Vec<&String> = program.states.keys().collect();
    labels.sort();
    json!({
        "types": types,
        "channels": channels,
        "channels-privacy": privacy,
        "constructors": constructors,
        "labels": labels,
    })
}
