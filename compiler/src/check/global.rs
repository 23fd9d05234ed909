//! Document-wide rules: names that must be unique across items, dispatchers that must cover
//! their enum, records that must not contain themselves, routes that must not collide.

use std::collections::HashMap;

use super::report::Anchor;
use crate::diagnostic::Code;
use crate::hir::{Decl, Ident, Item, RecordMember};

/// A diagnostic of a document-wide rule: the index of the item it belongs to, and its node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GlobalDiagnostic {
    pub item: usize,
    pub diagnostic: super::SemanticDiagnostic,
}

/// Where a name was first declared: the item's index and the name's node.
type First = (usize, crate::hir::NodeId);

/// Checks the rules that span items.
pub fn check_document(items: &[&Item]) -> Vec<GlobalDiagnostic> {
    let mut diagnostics = Vec::new();
    let mut values: HashMap<&str, First> = HashMap::new();
    let mut types: HashMap<&str, First> = HashMap::new();
    let mut policies: HashMap<&str, First> = HashMap::new();
    let mut functions: HashMap<&str, First> = HashMap::new();
    let mut traffic_seen: Option<First> = None;
    let mut authorize_seen: Option<First> = None;
    let mut authorization_seen: Option<First> = None;
    let mut password_seen: Option<First> = None;
    let mut views: HashMap<&str, First> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let mut duplicate = |ident: &Ident, message: String, first: Option<First>| {
            let mut diagnostic =
                super::SemanticDiagnostic::new(ident.node, Code::Duplicate, message);
            if let Some((item, node)) = first {
                diagnostic =
                    diagnostic.with_label(Anchor::Item { item, node }, "first defined here");
            }
            diagnostics.push(GlobalDiagnostic {
                item: index,
                diagnostic,
            });
        };
        match &item.decl {
            Decl::Record(record) => {
                if let Some(first) = types.insert(&record.name.name, (index, record.name.node)) {
                    duplicate(
                        &record.name,
                        format!("The record '{}' was already defined.", record.name.name),
                        Some(first),
                    );
                }
                let mut fields: HashMap<&str, First> = HashMap::new();
                let mut indexes: HashMap<&str, First> = HashMap::new();
                let mut ingested_seen = false;
                for member in &record.members {
                    match member {
                        RecordMember::Index(field) => {
                            if let Some(first) = indexes.insert(&field.name, (index, field.node)) {
                                duplicate(
                                    field,
                                    format!("Index was already defined: '{}'", field.name),
                                    Some(first),
                                );
                            }
                        }
                        RecordMember::Ingested { .. } if ingested_seen => {
                            duplicate(
                                &record.name,
                                format!(
                                    "The record {} already has a post ingestion event",
                                    record.name.name
                                ),
                                None,
                            );
                        }
                        RecordMember::Ingested { .. } => ingested_seen = true,
                        _ => {}
                    }
                    let name = match member {
                        RecordMember::Field(field) => Some(&field.name),
                        RecordMember::Formula(formula) => Some(&formula.name),
                        RecordMember::Bubble(bubble) => Some(&bubble.name),
                        _ => None,
                    };
                    if let Some(name) = name
                        && let Some(first) = fields.insert(&name.name, (index, name.node))
                    {
                        duplicate(
                            name,
                            format!("Field '{}' was already defined", name.name),
                            Some(first),
                        );
                    }
                }
            }
            Decl::Message(message) => {
                if let Some(first) = types.insert(&message.name.name, (index, message.name.node)) {
                    duplicate(
                        &message.name,
                        format!("The message '{}' was already defined.", message.name.name),
                        Some(first),
                    );
                }
                let mut indexes: HashMap<&str, First> = HashMap::new();
                for member in &message.members {
                    if let crate::hir::MessageMember::Index(field) = member
                        && let Some(first) = indexes.insert(&field.name, (index, field.node))
                    {
                        duplicate(
                            field,
                            format!("Index was already defined: '{}'", field.name),
                            Some(first),
                        );
                    }
                }
            }
            Decl::Enum(enumeration) => {
                if let Some(first) =
                    types.insert(&enumeration.name.name, (index, enumeration.name.node))
                {
                    duplicate(
                        &enumeration.name,
                        format!(
                            "The enumeration '{}' was already defined.",
                            enumeration.name.name
                        ),
                        Some(first),
                    );
                }
            }
            Decl::Policy(policy) => {
                if let Some(first) = policies.insert(&policy.name.name, (index, policy.name.node)) {
                    duplicate(
                        &policy.name,
                        format!("Policy '{}' was already defined", policy.name.name),
                        Some(first),
                    );
                }
            }
            Decl::Function(function) | Decl::Procedure(function) => {
                let word = if matches!(item.decl, Decl::Function(_)) {
                    "function"
                } else {
                    "procedure"
                };
                match functions.get(function.name.name.as_str()) {
                    Some(_) => {}
                    None => {
                        if let Some(first) = values.get(function.name.name.as_str()) {
                            duplicate(
                                &function.name,
                                format!("The {word} '{}' was already defined.", function.name.name),
                                Some(*first),
                            );
                        }
                        let first = (index, function.name.node);
                        functions.insert(&function.name.name, first);
                        values.insert(&function.name.name, first);
                    }
                }
            }
            Decl::Traffic { .. } => {
                if let Some((first, node)) = traffic_seen {
                    diagnostics.push(GlobalDiagnostic {
                        item: index,
                        diagnostic: super::SemanticDiagnostic::new(
                            item.node,
                            Code::Duplicate,
                            "Traffic hint was already defined.",
                        )
                        .with_help("keep one traffic hint")
                        .with_label(Anchor::Item { item: first, node }, "first defined here"),
                    });
                }
                traffic_seen = traffic_seen.or(Some((index, item.node)));
            }
            Decl::Authorize { .. } | Decl::Authorization { .. } | Decl::Password { .. } => {
                // At most one of each authentication handler (language section 7.11).
                let (seen, word) = match &item.decl {
                    Decl::Authorize { .. } => (&mut authorize_seen, "@authorize"),
                    Decl::Authorization { .. } => (&mut authorization_seen, "@authorization"),
                    _ => (&mut password_seen, "@password"),
                };
                if let Some((first, node)) = *seen {
                    diagnostics.push(GlobalDiagnostic {
                        item: index,
                        diagnostic: super::SemanticDiagnostic::new(
                            item.node,
                            Code::Duplicate,
                            format!("Only one {word} action allowed"),
                        )
                        .with_help(format!("keep one {word} handler"))
                        .with_label(Anchor::Item { item: first, node }, "first defined here"),
                    });
                }
                *seen = seen.or(Some((index, item.node)));
            }
            Decl::View(view) => {
                if let Some(first) = views.insert(&view.name.name, (index, view.name.node)) {
                    duplicate(
                        &view.name,
                        format!("View field '{}' was already defined", view.name.name),
                        Some(first),
                    );
                }
            }
            decl => {
                let value_name = match decl {
                    Decl::Field(_)
                    | Decl::Formula(_)
                    | Decl::Bubble(_)
                    | Decl::Channel(_)
                    | Decl::AsyncChannel(_)
                    | Decl::Cron { .. }
                    | Decl::Service { .. }
                    | Decl::Replication(_)
                    | Decl::Template { .. } => decl.name(),
                    _ => None,
                };
                if let Some(name) = value_name
                    && let Some(first) = values.insert(&name.name, (index, name.node))
                {
                    let message = match decl {
                        Decl::Channel(_) | Decl::AsyncChannel(_) => {
                            format!("Handler '{}' was already defined.", name.name)
                        }
                        Decl::Template { .. } => {
                            format!("Template '{}' was already defined; name used", name.name)
                        }
                        Decl::Bubble(_) => {
                            format!("Bubble '{}' was already defined", name.name)
                        }
                        Decl::Cron { .. } => "Cron task has a conflicting name".to_owned(),
                        Decl::Service { .. } => {
                            format!("The service '{}' was already defined.", name.name)
                        }
                        Decl::Replication(_) => format!(
                            "Replication field has a name ('{}') that was already defined",
                            name.name
                        ),
                        _ => format!("Global field '{}' was already defined", name.name),
                    };
                    duplicate(name, message, Some(first));
                }
            }
        }
    }
    let mut metrics: HashMap<&str, First> = HashMap::new();
    let mut routes: HashMap<String, First> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        match &item.decl {
            Decl::Metric { name, .. } => {
                if let Some(first) = metrics.insert(&name.name, (index, name.node)) {
                    push(
                        &mut diagnostics,
                        index,
                        name.node,
                        format!("Metric '{}' was already defined.", name.name),
                    );
                    label_last(&mut diagnostics, first, "first defined here");
                }
            }
            Decl::Web(web) => {
                let route = route_shape(web);
                if let Some(first) = routes.insert(route.clone(), (index, web.path_node)) {
                    push(
                        &mut diagnostics,
                        index,
                        web.path_node,
                        format!("Web {route} has a conflict"),
                    );
                    label_last(
                        &mut diagnostics,
                        first,
                        "the other handler of these requests",
                    );
                }
            }
            _ => {}
        }
    }
    identical_overloads(items, &mut diagnostics);
    dispatch_coverage(items, &mut diagnostics);
    record_cycles(items, &mut diagnostics);
    message_cycles(items, &mut diagnostics);
    diagnostics
}

fn push(
    diagnostics: &mut Vec<GlobalDiagnostic>,
    item: usize,
    node: crate::hir::NodeId,
    message: String,
) {
    push_with(diagnostics, item, node, Code::Duplicate, message, None);
}

fn push_with(
    diagnostics: &mut Vec<GlobalDiagnostic>,
    item: usize,
    node: crate::hir::NodeId,
    code: Code,
    message: String,
    help: Option<&str>,
) {
    diagnostics.push(GlobalDiagnostic {
        item,
        diagnostic: super::SemanticDiagnostic {
            help: help.map(str::to_owned),
            ..super::SemanticDiagnostic::new(node, code, message)
        },
    });
}

/// `get path /a/$x:int` with captures reduced to their kind, so that two routes that match the
/// same requests compare equal.
fn route_shape(web: &crate::hir::Web) -> String {
    use crate::hir::{UriSegment, WebMethod};
    let method = match web.method {
        WebMethod::Get => "get",
        WebMethod::Put => "put",
        WebMethod::Delete => "delete",
        WebMethod::Options => "options",
    };
    let mut path = String::new();
    for segment in &web.path {
        path.push('/');
        match segment {
            UriSegment::Literal(text) => path.push_str(text),
            UriSegment::Parameter { ty, .. } => {
                path.push('$');
                path.push_str(&type_text(ty));
            }
            UriSegment::Rest(_) => path.push('*'),
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    format!("{method} path {path}")
}

/// A written type as text, without positions, for comparing signatures.
fn type_text(type_ref: &crate::hir::TypeRef) -> String {
    use crate::hir::TypeRef;
    match type_ref {
        TypeRef::Named(ident) => ident.name.clone(),
        TypeRef::Generic { name, args, .. } => {
            let args: Vec<String> = args.iter().map(type_text).collect();
            format!("{}<{}>", name.keyword(), args.join(","))
        }
        TypeRef::Array { element, .. } => format!("{}[]", type_text(element)),
        TypeRef::Projection { table, field, .. } => {
            format!("projection<{}.{}>", table.name, field.name)
        }
        TypeRef::Missing(_) => "?".to_owned(),
    }
}

/// Two functions (or procedures) with the same name and the same parameter types.
fn identical_overloads(items: &[&Item], diagnostics: &mut Vec<GlobalDiagnostic>) {
    let mut seen: HashMap<(String, Vec<String>), usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let (Decl::Function(function) | Decl::Procedure(function)) = &item.decl else {
            continue;
        };
        let key = (
            function.name.name.clone(),
            function
                .params
                .iter()
                .map(|param| type_text(&param.ty))
                .collect(),
        );
        if seen.insert(key, index).is_some() {
            push(
                diagnostics,
                index,
                function.name.node,
                "Overloaded function has many identical calls".to_owned(),
            );
        }
    }
}

/// A dispatcher group: enum, name and parameter types.
type DispatchKey<'a> = (&'a str, &'a str, Vec<String>);

/// Every label of an enum must be matched by at least one dispatcher of each name; a dispatcher
/// that returns a value must match each label exactly once, and all agree on the return type.
fn dispatch_coverage(items: &[&Item], diagnostics: &mut Vec<GlobalDiagnostic>) {
    use crate::hir::DispatchPattern;
    let enums: HashMap<&str, Vec<&str>> = items
        .iter()
        .filter_map(|item| match &item.decl {
            Decl::Enum(enumeration) => Some((
                enumeration.name.name.as_str(),
                enumeration
                    .labels
                    .iter()
                    .map(|label| label.name.name.as_str())
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    // Dispatchers are grouped by name and parameter types: overloads are separate dispatchers.
    let mut groups: Vec<(DispatchKey, Vec<usize>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Decl::Dispatch(dispatch) = &item.decl {
            let key = (
                dispatch.enumeration.name.as_str(),
                dispatch.function.name.name.as_str(),
                dispatch
                    .function
                    .params
                    .iter()
                    .map(|param| type_text(&param.ty))
                    .collect::<Vec<_>>(),
            );
            match groups.iter_mut().find(|(existing, _)| *existing == key) {
                Some((_, members)) => members.push(index),
                None => groups.push((key, vec![index])),
            }
        }
    }
    for ((enumeration, name, _), members) in groups {
        let Some(labels) = enums.get(enumeration) else {
            continue;
        };
        let Some(&first) = members.first() else {
            continue;
        };
        let Decl::Dispatch(first_dispatch) = &items[first].decl else {
            continue;
        };
        let returns = first_dispatch.function.returns.as_ref().map(type_text);
        let mut counts = vec![0usize; labels.len()];
        let mut competing = vec![std::collections::BTreeSet::<&str>::new(); labels.len()];
        for &member in &members {
            let Decl::Dispatch(dispatch) = &items[member].decl else {
                continue;
            };
            if dispatch.function.returns.as_ref().map(type_text) != returns {
                push_with(
                    diagnostics,
                    member,
                    dispatch.function.name.node,
                    Code::DispatchRule,
                    format!("Dispatcher '{name}' do not agree on return type."),
                    None,
                );
            }
            for ((label, count), rivals) in labels
                .iter()
                .zip(counts.iter_mut())
                .zip(competing.iter_mut())
            {
                let matches = match &dispatch.pattern {
                    DispatchPattern::Label(exact) => exact.name == *label,
                    DispatchPattern::Prefix(prefix) => label.starts_with(&prefix.name),
                    DispatchPattern::All(_) => true,
                };
                *count += usize::from(matches);
                // The catch-all is a fallback, and exact dispatchers of one label are one
                // match; each distinct prefix is a match of its own.
                let rival = match &dispatch.pattern {
                    DispatchPattern::Label(_) => Some(""),
                    DispatchPattern::Prefix(prefix) => Some(prefix.name.as_str()),
                    DispatchPattern::All(_) => None,
                };
                if matches && let Some(rival) = rival {
                    rivals.insert(rival);
                }
            }
        }
        let missing: Vec<&str> = labels
            .iter()
            .zip(&counts)
            .filter(|(_, count)| **count == 0)
            .map(|(label, _)| *label)
            .collect();
        if !missing.is_empty() {
            push_with(
                diagnostics,
                first,
                first_dispatch.function.name.node,
                Code::DispatchRule,
                format!(
                    "Enum '{enumeration}' has a dispatcher '{name}' which is incomplete and lacks: {}.",
                    missing.join(", ")
                ),
                None,
            );
        } else if returns.is_some() && competing.iter().any(|rivals| rivals.len() > 1) {
            push_with(
                diagnostics,
                first,
                first_dispatch.function.name.node,
                Code::DispatchRule,
                format!("Dispatcher '{name}' returns and matches too many for '{enumeration}'"),
                None,
            );
        }
    }
}

/// Records that contain themselves through plain record fields or `maybe<R>` fields.
fn record_cycles(items: &[&Item], diagnostics: &mut Vec<GlobalDiagnostic>) {
    use crate::hir::{GenericName, TypeRef};
    fn contained(type_ref: &TypeRef) -> Option<&str> {
        match type_ref {
            TypeRef::Named(ident) => Some(ident.name.as_str()),
            TypeRef::Generic {
                name: GenericName::Maybe,
                args,
                ..
            } => args.first().and_then(contained),
            _ => None,
        }
    }
    let records: HashMap<&str, (usize, Vec<&str>)> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| match &item.decl {
            Decl::Record(record) => {
                let fields = record
                    .members
                    .iter()
                    .filter_map(|member| match member {
                        RecordMember::Field(field) => contained(&field.ty),
                        _ => None,
                    })
                    .collect();
                Some((record.name.name.as_str(), (index, fields)))
            }
            _ => None,
        })
        .collect();
    for (start, (index, _)) in &records {
        // Depth-first search from each record; a path back to it is a cycle.
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
        let mut visited: Vec<&str> = Vec::new();
        while let Some((current, path)) = stack.pop() {
            let Some((_, fields)) = records.get(current) else {
                continue;
            };
            for next in fields {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(next);
                    if let Decl::Record(record) = &items[*index].decl {
                        push_with(
                            diagnostics,
                            *index,
                            record.name.node,
                            Code::TypeCycle,
                            format!("A cycle was detected within records: {}", cycle.join(", ")),
                            Some(
                                "a record can not contain itself, through its fields or its formulas",
                            ),
                        );
                    }
                    stack.clear();
                    break;
                }
                if records.contains_key(next) && !visited.contains(next) {
                    visited.push(next);
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
}

/// A message that holds itself through plain message fields (not through `maybe`, arrays, lists
/// or maps, which may be empty) would have an infinitely deep default value.
fn message_cycles(items: &[&Item], diagnostics: &mut Vec<GlobalDiagnostic>) {
    use crate::hir::{MessageMember, TypeRef};
    let messages: HashMap<&str, (usize, Vec<&str>)> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| match &item.decl {
            Decl::Message(message) => {
                let fields = message
                    .members
                    .iter()
                    .filter_map(|member| match member {
                        MessageMember::Field(field) => match &field.ty {
                            TypeRef::Named(ident) => Some(ident.name.as_str()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                Some((message.name.name.as_str(), (index, fields)))
            }
            _ => None,
        })
        .collect();
    for (start, (index, _)) in &messages {
        let mut stack: Vec<&str> = vec![start];
        let mut visited: Vec<&str> = Vec::new();
        let mut cyclic = false;
        while let Some(current) = stack.pop() {
            let Some((_, fields)) = messages.get(current) else {
                continue;
            };
            for next in fields {
                if next == start {
                    cyclic = true;
                } else if messages.contains_key(next) && !visited.contains(next) {
                    visited.push(next);
                    stack.push(next);
                }
            }
            if cyclic {
                break;
            }
        }
        if cyclic && let Decl::Message(message) = &items[*index].decl {
            push_with(
                diagnostics,
                *index,
                message.name.node,
                Code::TypeCycle,
                format!(
                    "The record/message '{start}' has the potential to create an infinite serialization"
                ),
                Some("hold the nested message in a maybe<…> or an array so that it can be absent"),
            );
        }
    }
}

/// Points the diagnostic just pushed at the declaration it conflicts with.
fn label_last(diagnostics: &mut [GlobalDiagnostic], (item, node): First, message: &str) {
    if let Some(last) = diagnostics.last_mut() {
        last.diagnostic.related.push(super::report::SemanticLabel {
            anchor: Anchor::Item { item, node },
            message: message.to_owned(),
        });
    }
}
