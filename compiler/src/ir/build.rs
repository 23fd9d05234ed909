//! Building the IR from the checked HIR: layouts first, then every callable, then the names of
//! every unit's code.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::check::Definition;
use crate::db::{Db, SourceFile};
use crate::hir::{
    Clause, Decl, EventKind, Expr, Function, Guard, Ident, MessageMember, Privacy, RecordMember,
    StaticEntry, StaticPolicyKind, Stmt, TypeRef,
};
use crate::queries::{FormulaRef, check_item, file_items, formula_type, lowered, signatures};
use crate::signatures::Signatures;

mod resolve;

use resolve::Resolver;

/// Builds the program of a file. The caller checks first that the file has no diagnostics; the
/// builder trusts the checker and resolves what it finds, leaving [`Res::None`] where a name
/// means nothing (the interpreter treats that as a runtime error).
pub fn build_program(db: &dyn Db, file: SourceFile) -> Program {
    let lowered = lowered(db, file);
    let items = file_items(db, file);
    let sigs = signatures(db, file).clone();
    let mut builder = Builder {
        program: Program::default(),
        sigs: &sigs,
        db,
        file,
        names: items
            .iter()
            .map(|item| check_item(db, *item).names.clone())
            .collect(),
        dispatch_ranks: HashMap::new(),
    };
    builder.program.records.push(RecordLayout {
        name: String::new(),
        ..RecordLayout::default()
    });
    // Units: one per item.
    for (index, lowered_item) in lowered.items.iter().enumerate() {
        let types = items
            .get(index)
            .map(|item| check_item(db, *item).expr_types.clone())
            .unwrap_or_default();
        let item = &lowered_item.item;
        builder.program.units.push(CodeUnit {
            item: Arc::clone(item),
            source_map: Arc::clone(&lowered_item.source_map),
            offset: lowered_item.offset,
            types,
            res: vec![Res::None; item.body.exprs.len()],
            shorthand: HashMap::new(),
            stmt_slots: vec![u32::MAX; item.body.stmts.len()],
            local_types: vec![Ty::Error; item.body.stmts.len()],
            records: Vec::new(),
            frame_size: 0,
            record: None,
        });
    }
    builder.layouts();
    for (name, (from, to)) in &sigs.assocs {
        let index = |record: &str| builder.program.record_index.get(record).copied();
        if let (Some(from), Some(to)) = (index(from), index(to)) {
            builder.program.assocs.insert(name.clone(), (from, to));
        }
    }
    builder.callables();
    builder.resolve_all();
    builder.view_orders();
    builder.record_ids();
    builder.program
}

struct Builder<'a> {
    program: Program,
    sigs: &'a Signatures,
    db: &'a dyn Db,
    file: SourceFile,
    /// What the checker resolved each name of each unit to, by unit.
    names: Vec<crate::check::Resolutions>,
    /// Where each dispatcher stands in the order a call tries them ([`dispatch_rank`]).
    dispatch_ranks: HashMap<FnId, (u8, usize)>,
}

/// The order a call tries dispatchers of one label in: prefixes (shorter first), the exact
/// label, then the catch-all.
fn dispatch_rank(pattern: &crate::hir::DispatchPattern) -> (u8, usize) {
    match pattern {
        crate::hir::DispatchPattern::Prefix(prefix) => (0, prefix.name.len()),
        crate::hir::DispatchPattern::Label(_) => (1, 0),
        crate::hir::DispatchPattern::All(_) => (2, 0),
    }
}

impl Builder<'_> {
    fn ty(&self, type_ref: &TypeRef) -> Ty {
        self.sigs.resolve(type_ref).unwrap_or(Ty::Error)
    }

    fn formula_ty(&self, record: Option<&str>, name: &str) -> Ty {
        formula_type(
            self.db,
            FormulaRef::new(
                self.db,
                self.file,
                record.map(str::to_owned),
                name.to_owned(),
            ),
        )
    }

    fn layouts(&mut self) {
        // Names first so that references between declarations resolve in any order. Messages
        // (declared ones and those rpcs declare) are numbered in declaration order.
        let mut names = Vec::new();
        for unit in &self.program.units {
            match &unit.item.decl {
                Decl::Record(record) => {
                    let index = self.program.records.push(RecordLayout {
                        name: record.name.name.clone(),
                        ..RecordLayout::default()
                    });
                    self.program
                        .record_index
                        .insert(record.name.name.clone(), index);
                }
                Decl::Message(message) => names.push(message.name.name.clone()),
                Decl::Rpc(rpc) => names.push(crate::signatures::rpc_message_name(&rpc.name.name)),
                Decl::Enum(enumeration) => {
                    let mut labels = Vec::new();
                    let mut next = 0i64;
                    let mut default = None;
                    for label in &enumeration.labels {
                        let value = label.value.unwrap_or(next);
                        next = value + 1;
                        labels.push((label.name.name.clone(), value as i32));
                        if label.default {
                            default = Some(value as i32);
                        }
                    }
                    let default = default.or(labels.first().map(|(_, v)| *v)).unwrap_or(0);
                    let index = self.program.enums.push(EnumLayout {
                        name: enumeration.name.name.clone(),
                        labels,
                        default,
                        dispatchers: HashMap::new(),
                    });
                    self.program
                        .enum_index
                        .insert(enumeration.name.name.clone(), index);
                }
                _ => {}
            }
        }
        for name in names {
            let index = self.program.messages.push(MessageLayout {
                name: name.clone(),
                ..MessageLayout::default()
            });
            self.program.message_index.insert(name, index);
        }
        for unit_id in 0..self.program.units.len() as u32 {
            let item = Arc::clone(&self.program.units[unit_id as usize].item);
            match &item.decl {
                Decl::Field(field) => {
                    let layout = FieldLayout {
                        name: field.name.name.clone(),
                        ty: self.ty(&field.ty),
                        kind: FieldKind::Stored {
                            default: field.value.map(|expr| (unit_id, expr)),
                        },
                        privacy: PrivacyRule::Private,
                        implicit: false,
                        records: None,
                    };
                    self.push_field(RecordId::ROOT, layout);
                    self.note_stamp(RecordId::ROOT, field);
                }
                Decl::Formula(formula) => {
                    let layout = FieldLayout {
                        name: formula.name.name.clone(),
                        ty: self.formula_ty(None, &formula.name.name),
                        kind: FieldKind::Formula {
                            unit: unit_id,
                            expr: formula.value,
                            refresh: Refresh::of(formula.cached.as_ref()),
                        },
                        privacy: PrivacyRule::Private,
                        implicit: false,
                        records: None,
                    };
                    self.push_field(RecordId::ROOT, layout);
                }
                Decl::Bubble(bubble) => {
                    let layout = FieldLayout {
                        name: bubble.name.name.clone(),
                        ty: Ty::Error,
                        kind: FieldKind::Bubble {
                            unit: unit_id,
                            expr: bubble.value,
                        },
                        privacy: PrivacyRule::Public,
                        implicit: false,
                        records: None,
                    };
                    self.push_field(RecordId::ROOT, layout);
                }
                Decl::Include { path } => {
                    // The units the deployment binds (the same ones the checker knows): each
                    // declares `public int <name> = 123;`.
                    let field = match path.join("/").as_str() {
                        "std" => Some("std_here"),
                        "std/foo" => Some("foo_here"),
                        _ => None,
                    };
                    if let Some(field) = field {
                        let expr =
                            self.synthetic_literal(unit_id, crate::hir::Literal::Int(123), Ty::Int);
                        self.push_field(
                            RecordId::ROOT,
                            FieldLayout {
                                name: field.to_owned(),
                                ty: Ty::Int,
                                kind: FieldKind::Stored {
                                    default: Some((unit_id, expr)),
                                },
                                privacy: PrivacyRule::Public,
                                implicit: false,
                                records: None,
                            },
                        );
                    }
                }
                Decl::Replication(replication) => {
                    self.push_replication(RecordId::ROOT, unit_id, replication);
                }
                Decl::Template { name, text } => {
                    self.program
                        .templates
                        .insert(name.name.clone(), Arc::from(text.as_str()));
                }
                Decl::View(view) => {
                    let ty = self.ty(&view.ty);
                    self.program.views.push((view.name.name.clone(), ty));
                }
                Decl::Record(record) => {
                    let index = self.program.record_index[&record.name.name];
                    self.program.units[unit_id as usize].record = Some(index);
                    let has_id = record.members.iter().any(|member| {
                        matches!(member, RecordMember::Field(field) if field.name.name == "id")
                    });
                    if !has_id {
                        self.push_field(
                            index,
                            FieldLayout {
                                name: "id".into(),
                                ty: Ty::Int,
                                kind: FieldKind::Stored { default: None },
                                privacy: PrivacyRule::Private,
                                implicit: true,
                                records: None,
                            },
                        );
                    }
                    for member in &record.members {
                        match member {
                            RecordMember::Field(field) => {
                                let layout = FieldLayout {
                                    name: field.name.name.clone(),
                                    ty: self.ty(&field.ty),
                                    kind: FieldKind::Stored {
                                        default: field.value.map(|expr| (unit_id, expr)),
                                    },
                                    privacy: PrivacyRule::Private,
                                    implicit: false,
                                    records: None,
                                };
                                self.push_field(index, layout);
                                self.note_stamp(index, field);
                            }
                            RecordMember::Formula(formula) => {
                                let layout = FieldLayout {
                                    name: formula.name.name.clone(),
                                    ty: self
                                        .formula_ty(Some(&record.name.name), &formula.name.name),
                                    kind: FieldKind::Formula {
                                        unit: unit_id,
                                        expr: formula.value,
                                        refresh: Refresh::of(formula.cached.as_ref()),
                                    },
                                    privacy: PrivacyRule::Private,
                                    implicit: false,
                                    records: None,
                                };
                                self.push_field(index, layout);
                            }
                            RecordMember::Bubble(bubble) => {
                                let layout = FieldLayout {
                                    name: bubble.name.name.clone(),
                                    ty: Ty::Error,
                                    kind: FieldKind::Bubble {
                                        unit: unit_id,
                                        expr: bubble.value,
                                    },
                                    privacy: PrivacyRule::Public,
                                    implicit: false,
                                    records: None,
                                };
                                self.push_field(index, layout);
                            }
                            RecordMember::Replication(replication) => {
                                self.push_replication(index, unit_id, replication);
                            }
                            _ => {}
                        }
                    }
                    let id_slot = self.program.records[index].slot_index.get("id").copied();
                    self.program.records[index].id_slot = id_slot;
                }
                Decl::Message(message) => {
                    let index = self.program.message_index[&message.name.name];
                    for member in &message.members {
                        if let MessageMember::Field(field) = member {
                            let ty = self.ty(&field.ty);
                            self.program.messages[index]
                                .fields
                                .push(MessageFieldLayout {
                                    name: field.name.name.clone(),
                                    ty,
                                    default: field.value.map(|expr| (unit_id, expr)),
                                    unique: field.unique.is_some(),
                                });
                        }
                    }
                }
                Decl::Rpc(rpc) => {
                    let name = crate::signatures::rpc_message_name(&rpc.name.name);
                    let index = self.program.message_index[&name];
                    for param in &rpc.params {
                        let ty = self.ty(&param.ty);
                        self.program.messages[index]
                            .fields
                            .push(MessageFieldLayout {
                                name: param.name.name.clone(),
                                ty,
                                default: None,
                                unique: false,
                            });
                    }
                }
                _ => {}
            }
        }
    }

    /// The record layout inside a type: the record of a record, maybe, table, list or map
    /// (its values) of records.
    fn records_in(&self, ty: &Ty) -> Option<RecordId> {
        match ty {
            Ty::Record(name) => self.program.record_index.get(&**name).copied(),
            Ty::Maybe(inner) | Ty::Table(inner) | Ty::List(inner) | Ty::Array(inner) => {
                self.records_in(inner)
            }
            Ty::Map(_, value) => self.records_in(value),
            _ => None,
        }
    }

    /// The record layout of every expression's type, once the types are final.
    fn record_ids(&mut self) {
        let records: Vec<Vec<Option<RecordId>>> = self
            .program
            .units
            .iter()
            .map(|unit| unit.types.iter().map(|ty| self.records_in(ty)).collect())
            .collect();
        for (unit, records) in self.program.units.iter_mut().zip(records) {
            unit.records = records;
        }
    }

    /// Adds a literal to a unit's code (for declarations the source does not spell out).
    fn synthetic_literal(&mut self, unit_id: u32, literal: crate::hir::Literal, ty: Ty) -> ExprId {
        let unit = &mut self.program.units[unit_id as usize];
        let mut item = (*unit.item).clone();
        let expr = item.body.alloc_expr(Expr::Literal(literal), item.node);
        unit.item = Arc::new(item);
        unit.types.resize(expr.0 as usize, Ty::Error);
        unit.types.push(ty);
        unit.res.resize(expr.0 as usize + 1, Res::None);
        expr
    }

    fn push_field(&mut self, record: RecordId, mut layout: FieldLayout) {
        layout.records = self.records_in(&layout.ty);
        let record = &mut self.program.records[record];
        if record.slot_index.contains_key(&layout.name) {
            return;
        }
        record
            .slot_index
            .insert(layout.name.clone(), record.fields.len() as u32);
        record.fields.push(layout);
    }

    /// Keeps the slot of a field declared `@updated` or `@bump`.
    fn note_stamp(&mut self, record: RecordId, field: &crate::hir::Field) {
        let Some((invalidation, _)) = field.invalidation else {
            return;
        };
        let record = &mut self.program.records[record];
        if let Some(slot) = record.slot_index.get(&field.name.name).copied()
            && !record.stamps.iter().any(|(stamped, _)| *stamped == slot)
        {
            record.stamps.push((slot, invalidation));
        }
    }

    /// Every function, procedure, method, dispatcher, policy and handler, with parameter slots.
    fn callables(&mut self) {
        for unit_id in 0..self.program.units.len() as u32 {
            let item = Arc::clone(&self.program.units[unit_id as usize].item);
            match &item.decl {
                Decl::Function(function) | Decl::Procedure(function) => {
                    self.add_function(unit_id, function, None, None);
                }
                Decl::Policy(policy) => {
                    let id =
                        self.add_body(unit_id, &policy.name.name, &policy.body, None, Ty::Bool);
                    self.program.policies.insert(policy.name.name.clone(), id);
                }
                Decl::Filter(filter) => {
                    let id =
                        self.add_body(unit_id, &filter.name.name, &filter.body, None, Ty::Bool);
                    self.program.filters.insert(filter.name.name.clone(), id);
                }
                Decl::Record(record) => {
                    let index = self.program.record_index[&record.name.name];
                    for member in &record.members {
                        match member {
                            RecordMember::Method(function) => {
                                let id = self.add_function(unit_id, function, Some(index), None);
                                self.program.records[index]
                                    .methods
                                    .entry(function.name.name.clone())
                                    .or_default()
                                    .push(id);
                            }
                            RecordMember::Policy(policy) => {
                                let id = self.add_body(
                                    unit_id,
                                    &policy.name.name,
                                    &policy.body,
                                    Some(index),
                                    Ty::Bool,
                                );
                                self.program.records[index]
                                    .policies
                                    .insert(policy.name.name.clone(), id);
                            }
                            RecordMember::Ingested { body, .. } => {
                                self.program.records[index]
                                    .ingested
                                    .push((unit_id, body.clone()));
                            }
                            _ => {}
                        }
                    }
                }
                Decl::Message(message) => {
                    let index = self.program.message_index[&message.name.name];
                    for member in &message.members {
                        if let MessageMember::Method(function) = member {
                            let id = self.add_function(unit_id, function, None, None);
                            self.program.messages[index]
                                .methods
                                .entry(function.name.name.clone())
                                .or_default()
                                .push(id);
                        }
                    }
                }
                Decl::Dispatch(dispatch) => {
                    let Some(Definition::Enum(enumeration)) =
                        self.resolved(unit_id, dispatch.enumeration.node)
                    else {
                        continue;
                    };
                    let Some(enum_index) = self.program.enum_named(enumeration) else {
                        continue;
                    };
                    // The label of `on E::X` is the one the checker recorded; a prefix or `*`
                    // is a pattern over the enum's labels.
                    let exact = match &dispatch.pattern {
                        crate::hir::DispatchPattern::Label(label) => {
                            match self.resolved(unit_id, label.node) {
                                Some(Definition::EnumLabel { label, .. }) => Some(label.clone()),
                                _ => Some(String::new()),
                            }
                        }
                        _ => None,
                    };
                    let self_slot = self.alloc(unit_id);
                    let id = self.add_function(unit_id, &dispatch.function, None, Some(self_slot));
                    let labels = self.program.enums[enum_index].labels.clone();
                    let matching: Vec<i32> = labels
                        .iter()
                        .filter(|(name, _)| match &dispatch.pattern {
                            crate::hir::DispatchPattern::Label(_) => exact.as_ref() == Some(name),
                            crate::hir::DispatchPattern::Prefix(prefix) => {
                                name.starts_with(&prefix.name)
                            }
                            crate::hir::DispatchPattern::All(_) => true,
                        })
                        .map(|(_, value)| *value)
                        .collect();
                    let rank = dispatch_rank(&dispatch.pattern);
                    self.dispatch_ranks.insert(id, rank);
                    let ranks = &self.dispatch_ranks;
                    let entry = self.program.enums[enum_index]
                        .dispatchers
                        .entry(dispatch.function.name.name.clone())
                        .or_default();
                    for value in matching {
                        // After every entry that a call tries first or that was declared
                        // earlier with the same rank.
                        let at = entry
                            .iter()
                            .position(|(_, other)| ranks.get(other).is_some_and(|r| *r > rank))
                            .unwrap_or(entry.len());
                        entry.insert(at, (value, id));
                    }
                }
                Decl::Channel(channel) => {
                    let message = self
                        .program
                        .message_index
                        .get(&channel.message.name)
                        .copied();
                    let param_slot = self.alloc(unit_id);
                    let guard = self.guard_refs(unit_id, channel.guard.as_ref());
                    self.program.handlers.insert(
                        channel.name.name.clone(),
                        HandlerDef {
                            unit: unit_id,
                            message,
                            array: channel.array,
                            param_slot,
                            body: channel.body.clone(),
                            open: channel.open,
                            guard,
                            rpc: None,
                        },
                    );
                }
                Decl::Rpc(rpc) => {
                    let name = crate::signatures::rpc_message_name(&rpc.name.name);
                    let message = self.program.message_index[&name];
                    let param_slot = self.alloc(unit_id);
                    let who_slot = self.alloc(unit_id);
                    let params = rpc.params.iter().map(|_| self.alloc(unit_id)).collect();
                    self.program.handlers.insert(
                        rpc.name.name.clone(),
                        HandlerDef {
                            unit: unit_id,
                            message: Some(message),
                            array: false,
                            param_slot,
                            body: rpc.body.clone(),
                            open: false,
                            guard: Vec::new(),
                            rpc: Some((who_slot, params)),
                        },
                    );
                }
                Decl::AsyncChannel(channel) => {
                    let message = self
                        .program
                        .message_index
                        .get(&channel.message.name)
                        .copied();
                    self.program.async_channels.insert(
                        channel.name.name.clone(),
                        AsyncChannelDef {
                            message,
                            array: channel.array,
                        },
                    );
                }
                Decl::State { label, body } => {
                    self.program
                        .states
                        .insert(label.name.clone(), (unit_id, body.clone()));
                }
                Decl::Constructor { parameter, body } => {
                    let param = parameter.as_ref().map(|(message, _)| {
                        let message = self.program.message_index.get(&message.name).copied();
                        (self.alloc(unit_id), message)
                    });
                    self.program.constructors.push(ConstructorDef {
                        unit: unit_id,
                        param,
                        body: body.clone(),
                    });
                }
                Decl::Event { kind, body } => {
                    let entry = (unit_id, body.clone());
                    match kind {
                        EventKind::Connected => self.program.connected.push(entry),
                        EventKind::Disconnected => self.program.disconnected.push(entry),
                        EventKind::Delete => self.program.deletes.push(entry),
                        EventKind::Load => self.program.loads.push(entry),
                        EventKind::Attached(_) => {
                            let slot = self.alloc(unit_id);
                            self.program.attached.push((unit_id, slot, body.clone()));
                        }
                        EventKind::CanAttach => self.program.can_attach.push(entry),
                    }
                }
                Decl::Static { context, entries } => {
                    if context.is_some() {
                        let slot = self.alloc(unit_id);
                        self.program.static_context.push((unit_id, slot));
                    }
                    for entry in entries {
                        match entry {
                            StaticEntry::Policy { kind, body, .. } => {
                                let entry = (unit_id, body.clone());
                                match kind {
                                    StaticPolicyKind::Create => {
                                        self.program.static_create.push(entry)
                                    }
                                    StaticPolicyKind::Invent => {
                                        self.program.static_invent.push(entry)
                                    }
                                    StaticPolicyKind::Send => self.program.static_send.push(entry),
                                }
                            }
                            StaticEntry::Setting { name, value } => {
                                self.program.static_settings.push((
                                    name.name.clone(),
                                    unit_id,
                                    *value,
                                ));
                            }
                        }
                    }
                }
                Decl::Authorize { body, .. } => {
                    let username = self.alloc(unit_id);
                    let password = self.alloc(unit_id);
                    self.program.authorize = Some(AuthorizeDef {
                        unit: unit_id,
                        username,
                        password,
                        body: body.clone(),
                    });
                }
                Decl::Password { body, .. } => {
                    let slot = self.alloc(unit_id);
                    self.program.password = Some(PasswordDef {
                        unit: unit_id,
                        slot,
                        body: body.clone(),
                    });
                }
                Decl::Authorization { message, body, .. } => {
                    let message = self.program.message_index.get(&message.name).copied();
                    let slot = self.alloc(unit_id);
                    self.program.authorizations.push(AuthorizationDef {
                        unit: unit_id,
                        slot,
                        message,
                        body: body.clone(),
                    });
                }
                Decl::Join(join) => {
                    if let Some(&table) = self.program.records[RecordId::ROOT]
                        .slot_index
                        .get(&join.table.name)
                    {
                        let item = self.alloc(unit_id);
                        self.program.joins.push(JoinDef {
                            assoc: join.assoc.name.clone(),
                            unit: unit_id,
                            table,
                            item,
                            from: join.from,
                            to: join.to,
                        });
                    }
                }
                Decl::Web(web) => {
                    let mut segments = Vec::new();
                    for segment in &web.path {
                        segments.push(match segment {
                            crate::hir::UriSegment::Literal(text) => {
                                WebSegment::Literal(text.clone())
                            }
                            crate::hir::UriSegment::Parameter { ty, .. } => WebSegment::Param {
                                slot: self.alloc(unit_id),
                                ty: self.ty(ty),
                            },
                            crate::hir::UriSegment::Rest(_) => WebSegment::Rest {
                                slot: self.alloc(unit_id),
                            },
                        });
                    }
                    let param = web.parameter.as_ref().map(|(message, _)| {
                        let message = self.program.message_index.get(&message.name).copied();
                        (self.alloc(unit_id), message)
                    });
                    self.program.webs.push(WebDef {
                        method: web.method,
                        segments,
                        param,
                        unit: unit_id,
                        body: web.body.clone(),
                    });
                }
                Decl::Cron {
                    name,
                    schedule,
                    body,
                } => {
                    use crate::hir::{CronFrequency, CronSchedule};
                    let field = |field: &Ident| {
                        self.program.records[RecordId::ROOT]
                            .slot_index
                            .get(&field.name)
                            .copied()
                    };
                    let rule = match schedule {
                        CronSchedule::Daily { hour, minute, .. } => Some(CronRule::Daily {
                            hour: *hour as u32,
                            minute: *minute as u32,
                        }),
                        CronSchedule::Hourly { minute, .. } => Some(CronRule::Hourly {
                            minute: *minute as u32,
                        }),
                        CronSchedule::Monthly { day, .. } => {
                            Some(CronRule::Monthly { day: *day as u32 })
                        }
                        CronSchedule::Variable {
                            frequency,
                            field: name,
                        } => field(name).map(|slot| match frequency {
                            CronFrequency::Daily => CronRule::DailyFrom(slot),
                            CronFrequency::Hourly => CronRule::HourlyFrom(slot),
                            CronFrequency::Monthly => CronRule::MonthlyFrom(slot),
                        }),
                    };
                    if let Some(schedule) = rule {
                        self.program.crons.push(CronDef {
                            name: name.name.clone(),
                            unit: unit_id,
                            body: body.clone(),
                            schedule,
                        });
                    }
                }
                Decl::Test { name, body } => {
                    self.program.tests.push(TestDef {
                        name: name.name.clone(),
                        unit: unit_id,
                        body: body.clone(),
                    });
                }
                _ => {}
            }
        }
        // Privacy rules need the policies, so they come after the callables; what each policy
        // name means is the checker's record.
        for unit_id in 0..self.program.units.len() as u32 {
            let item = Arc::clone(&self.program.units[unit_id as usize].item);
            match &item.decl {
                Decl::Field(field) => {
                    let rule = self.privacy(unit_id, &field.privacy, RecordId::ROOT);
                    self.set_privacy(RecordId::ROOT, &field.name.name, rule);
                }
                Decl::Formula(formula) => {
                    let rule = self.privacy(unit_id, &formula.privacy, RecordId::ROOT);
                    self.set_privacy(RecordId::ROOT, &formula.name.name, rule);
                }
                Decl::Bubble(bubble) => {
                    let rule =
                        PrivacyRule::Policies(self.guard_refs(unit_id, bubble.guard.as_ref()));
                    self.set_privacy(RecordId::ROOT, &bubble.name.name, rule);
                }
                Decl::Record(record) => {
                    let index = self.program.record_index[&record.name.name];
                    for member in &record.members {
                        match member {
                            RecordMember::Field(field) => {
                                let rule = self.privacy(unit_id, &field.privacy, index);
                                self.set_privacy(index, &field.name.name, rule);
                            }
                            RecordMember::Formula(formula) => {
                                let rule = self.privacy(unit_id, &formula.privacy, index);
                                self.set_privacy(index, &formula.name.name, rule);
                            }
                            RecordMember::Bubble(bubble) => {
                                let rule = PrivacyRule::Policies(
                                    self.guard_refs(unit_id, bubble.guard.as_ref()),
                                );
                                self.set_privacy(index, &bubble.name.name, rule);
                            }
                            RecordMember::Require(policy) => {
                                let policy = self.policy_ref(unit_id, policy);
                                self.program.records[index].requires.push(policy);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// A `replication<service:method> name = expr;` of the document (`RecordId::ROOT`) or of a
    /// record: a private stored field for its status, and the replication the `replicate`
    /// command steps in every record of the layout.
    fn push_replication(
        &mut self,
        record: RecordId,
        unit: UnitId,
        replication: &crate::hir::Replication,
    ) {
        let name = replication.name.name.clone();
        self.push_field(
            record,
            FieldLayout {
                name: name.clone(),
                ty: Ty::Replication,
                kind: FieldKind::Stored { default: None },
                privacy: PrivacyRule::Private,
                implicit: false,
                records: None,
            },
        );
        if let Some(&slot) = self.program.records[record].slot_index.get(&name) {
            self.program.replications.push(ReplicationDef {
                name,
                service: replication.service.name.clone(),
                method: replication.method.name.clone(),
                record,
                slot,
                unit,
                value: replication.value,
            });
        }
    }

    fn set_privacy(&mut self, record: RecordId, name: &str, rule: PrivacyRule) {
        let layout = &mut self.program.records[record];
        if let Some(&slot) = layout.slot_index.get(name) {
            layout.fields[slot as usize].privacy = rule;
        }
    }

    fn privacy(&self, unit: u32, privacy: &Privacy, record: RecordId) -> PrivacyRule {
        match privacy {
            Privacy::Default | Privacy::Private => PrivacyRule::Private,
            Privacy::Public => PrivacyRule::Public,
            Privacy::ViewerIs(field) => {
                match self.program.records[record].slot_index.get(&field.name) {
                    Some(&slot) => PrivacyRule::ViewerIs(slot),
                    None => PrivacyRule::Private,
                }
            }
            Privacy::UsePolicy(guard) => PrivacyRule::Policies(self.guard_refs(unit, Some(guard))),
        }
    }

    /// The policies and filters of a guard in the code of `unit`, as the checker resolved each
    /// name (a record's own policy before the document's).
    fn guard_refs(&self, unit: u32, guard: Option<&Guard>) -> Vec<PolicyRef> {
        let Some(guard) = guard else {
            return Vec::new();
        };
        guard
            .policies
            .iter()
            .chain(&guard.filters)
            .map(|name| self.policy_ref(unit, name))
            .collect()
    }

    /// A policy or filter name in a guard or a `require`, through the checker's record.
    fn policy_ref(&self, unit: u32, name: &Ident) -> PolicyRef {
        let id = match self.resolved(unit, name.node) {
            Some(Definition::Policy {
                record: Some(record),
                name,
            }) => self
                .program
                .record_index
                .get(record)
                .and_then(|index| self.program.records[*index].policies.get(name))
                .map(|id| PolicyRef::Record(*id)),
            Some(Definition::Policy { record: None, name }) => self
                .program
                .policies
                .get(name)
                .map(|id| PolicyRef::Document(*id)),
            Some(Definition::Filter(name)) => self
                .program
                .filters
                .get(name)
                .map(|id| PolicyRef::Filter(*id)),
            _ => None,
        };
        id.unwrap_or(PolicyRef::Missing)
    }

    /// What the checker resolved the name at `node` of `unit`'s code to.
    fn resolved(&self, unit: u32, node: crate::hir::NodeId) -> Option<&Definition> {
        self.names
            .get(unit as usize)?
            .get(node)
            .map(|resolved| &resolved.definition)
    }

    fn alloc(&mut self, unit: u32) -> u32 {
        let unit = &mut self.program.units[unit as usize];
        unit.frame_size += 1;
        unit.frame_size - 1
    }

    fn add_function(
        &mut self,
        unit_id: u32,
        function: &Function,
        record: Option<RecordId>,
        self_slot: Option<u32>,
    ) -> FnId {
        let params: Vec<u32> = function
            .params
            .iter()
            .map(|_| self.alloc(unit_id))
            .collect();
        let param_types = function
            .params
            .iter()
            .map(|param| self.ty(&param.ty))
            .collect();
        let returns = function
            .returns
            .as_ref()
            .map_or(Ty::Void, |returns| self.ty(returns));
        self.program.functions.push(FunctionDef {
            name: function.name.name.clone(),
            unit: unit_id,
            params,
            param_types,
            returns,
            body: function.body.clone(),
            record,
            self_slot,
        });
        (self.program.functions.len() - 1) as FnId
    }

    fn add_body(
        &mut self,
        unit_id: u32,
        name: &str,
        body: &Block,
        record: Option<RecordId>,
        returns: Ty,
    ) -> FnId {
        self.program.functions.push(FunctionDef {
            name: name.to_owned(),
            unit: unit_id,
            params: Vec::new(),
            param_types: Vec::new(),
            returns,
            body: body.clone(),
            record,
            self_slot: None,
        });
        (self.program.functions.len() - 1) as FnId
    }

    fn resolve_all(&mut self) {
        for unit_id in 0..self.program.units.len() as u32 {
            let item = Arc::clone(&self.program.units[unit_id as usize].item);
            let record = self.program.units[unit_id as usize].record;
            let message = match &item.decl {
                Decl::Message(message) => {
                    self.program.message_index.get(&message.name.name).copied()
                }
                _ => None,
            };
            let mut resolver = Resolver {
                builder: self,
                unit: unit_id,
                slots: HashMap::new(),
                elements: Vec::new(),
                record,
                message,
                receiver: None,
            };
            resolver.item(&item);
        }
    }

    /// The order a viewer sees the slots of each record (runtime spec §4.4).
    fn view_orders(&mut self) {
        for index in self.program.records.ids() {
            let layout = &self.program.records[index];
            let mut order = Vec::new();
            if let Some(id) = layout.id_slot
                && !layout.fields[id as usize].implicit
            {
                order.push(id);
            }
            let mut placed: Vec<&str> = Vec::new();
            let mut deferred = Vec::new();
            let mut bubbles = Vec::new();
            for (slot, field) in layout.fields.iter().enumerate() {
                let slot = slot as u32;
                if Some(slot) == layout.id_slot {
                    placed.push(&field.name);
                    continue;
                }
                match &field.kind {
                    FieldKind::Stored { .. } => {
                        order.push(slot);
                        placed.push(&field.name);
                    }
                    FieldKind::Formula { unit, expr, .. } => {
                        let body = &self.program.units[*unit as usize].item.body;
                        if mentions_only(body, *expr, &placed) {
                            order.push(slot);
                            placed.push(&field.name);
                        } else {
                            deferred.push(slot);
                        }
                    }
                    FieldKind::Bubble { .. } => bubbles.push(slot),
                }
            }
            order.extend(deferred);
            bubbles.sort_by(|a, b| {
                layout.fields[*a as usize]
                    .name
                    .encode_utf16()
                    .cmp(layout.fields[*b as usize].name.encode_utf16())
            });
            order.extend(bubbles);
            self.program.records[index].view_order = order;
        }
    }
}

/// Whether a formula mentions only fields already placed (so it is shown in declaration order).
fn mentions_only(body: &crate::hir::Body, expr: ExprId, placed: &[&str]) -> bool {
    let node = &body.expr(expr).expr;
    let check = |id: &ExprId| mentions_only(body, *id, placed);
    match node {
        Expr::Literal(_) | Expr::EnumValue { .. } | Expr::At(_) | Expr::Missing => true,
        Expr::Name(ident) => placed.contains(&ident.name.as_str()),
        Expr::Binary { left, right, .. } => check(left) && check(right),
        Expr::Prefix { operand, .. } | Expr::Paren(operand) => check(operand),
        Expr::Conditional {
            condition,
            then,
            otherwise,
        } => check(condition) && check(then) && check(otherwise),
        Expr::Array(items) | Expr::Tuple(items) => items.iter().all(check),
        Expr::Object(fields) => fields.iter().all(|field| match field.value {
            Some(value) => check(&value),
            None => placed.contains(&field.name.name.as_str()),
        }),
        Expr::Iterate(source) => check(source),
        Expr::Query { source, clause } => {
            check(source)
                && match clause {
                    Clause::Order(_) | Clause::Shuffle => true,
                    Clause::Limit(value) | Clause::Offset(value) => check(value),
                    _ => false,
                }
        }
        _ => false,
    }
}

/// The word that names a type's category in builtin method names (`string.upper`).
pub fn type_category(ty: &Ty) -> &'static str {
    match ty {
        Ty::Bool => "bool",
        Ty::Int => "int",
        Ty::Long => "long",
        Ty::Double => "double",
        Ty::Complex => "complex",
        Ty::String => "string",
        Ty::Principal | Ty::SecurePrincipal => "principal",
        Ty::Dynamic => "dynamic",
        Ty::Json => "json",
        Ty::Asset => "asset",
        Ty::Date => "date",
        Ty::DateTime => "datetime",
        Ty::Time => "time",
        Ty::TimeSpan => "timespan",
        Ty::Label => "label",
        Ty::Text => "text",
        Ty::Enum(_) => "enum",
        Ty::Record(_) => "record",
        Ty::Message(_) | Ty::Anonymous(_) => "message",
        Ty::Maybe(_) => "maybe",
        Ty::List(_) | Ty::Array(_) => "list",
        Ty::Map(..) => "map",
        Ty::Pair(..) | Ty::Tuple(_) => "message",
        Ty::Table(_) => "table",
        Ty::Channel(_) => "channel",
        Ty::Future(_) => "future",
        Ty::Holder(_) => "holder",
        Ty::ServiceResult(_) => "result",
        Ty::Handler(_) => "handler",
        Ty::Service(_) => "service",
        Ty::Template => "template",
        _ => "value",
    }
}
