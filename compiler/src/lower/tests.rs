//! Tests of lowering: the HIR shape of small programs, the depth guard, broken input, and the
//! completeness of lowering over every program of the corpus and the examples.

use super::{LoweredFile, MAX_DEPTH, lower_file};
use crate::diagnostic::Code;
use crate::hir::{
    BinaryOp, Block, Clause, Decl, Direction, Expr, ExprId, GenericName, Ident, Invalidation, Item,
    Literal, LoweredItem, MessageMember, NodeId, PrefixOp, Privacy, RecordMember, Stmt, StmtId,
    TypeRef, UriSegment, WebMethod,
};
use crate::parse::parse;

fn lower(text: &str) -> LoweredFile {
    lower_file(text, &parse(text, None))
}

/// The only item of a program that must lower without diagnostics.
fn only_item(text: &str) -> LoweredItem {
    let mut file = lower(text);
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    assert_eq!(file.items.len(), 1, "{:?}", file.items);
    file.items.remove(0)
}

fn expr(item: &Item, id: ExprId) -> &Expr {
    &item.body.expr(id).expr
}

fn stmt(item: &Item, id: StmtId) -> &Stmt {
    &item.body.stmt(id).stmt
}

/// The source text of a node.
fn text<'a>(source: &'a str, lowered: &LoweredItem, node: NodeId) -> &'a str {
    &source[lowered.span(node)]
}

fn name(ident: &Ident) -> &str {
    &ident.name
}

#[test]
fn a_field_with_a_default() {
    let source = "// counter\npublic int x = 5;";
    let lowered = only_item(source);
    let item = &lowered.item;
    assert_eq!(item.node, NodeId(0));
    assert_eq!(text(source, &lowered, item.node), "public int x = 5;");
    let Decl::Field(field) = &item.decl else {
        panic!("not a field: {:?}", item.decl)
    };
    assert_eq!(field.privacy, Privacy::Public);
    let privacy_node = field.privacy_node.expect("privacy is written");
    assert_eq!(text(source, &lowered, privacy_node), "public");
    assert!(matches!(&field.ty, TypeRef::Named(ty) if ty.name == "int"));
    assert_eq!(text(source, &lowered, field.name.node), "x");
    let value = field.value.expect("default value");
    assert_eq!(expr(item, value), &Expr::Literal(Literal::Int(5)));
    assert_eq!(text(source, &lowered, item.body.expr(value).node), "5");
    assert_eq!(field.node, item.node);
    assert!(!field.readonly && !field.required && field.invalidation.is_none());
}

#[test]
fn field_modifiers_and_generic_types() {
    let lowered = only_item("record R { private readonly maybe<list<int>> xs @bump required; }");
    let Decl::Record(record) = &lowered.item.decl else {
        panic!("not a record")
    };
    let [RecordMember::Field(field)] = record.members.as_slice() else {
        panic!("{:?}", record.members)
    };
    assert_eq!(field.privacy, Privacy::Private);
    assert!(field.readonly && field.required);
    assert!(matches!(field.invalidation, Some((Invalidation::Bump, _))));
    let TypeRef::Generic { name, args, .. } = &field.ty else {
        panic!("{:?}", field.ty)
    };
    assert_eq!(*name, GenericName::Maybe);
    assert!(matches!(
        args.as_slice(),
        [TypeRef::Generic {
            name: GenericName::List,
            ..
        }]
    ));
}

#[test]
fn a_record_with_a_method() {
    let source = "record R { public int a; method inc(int by) -> int readonly { return a + by; } }";
    let lowered = only_item(source);
    let item = &lowered.item;
    let Decl::Record(record) = &item.decl else {
        panic!("not a record")
    };
    assert_eq!(name(&record.name), "R");
    let [RecordMember::Field(field), RecordMember::Method(method)] = record.members.as_slice()
    else {
        panic!("{:?}", record.members)
    };
    assert_eq!(name(&field.name), "a");
    assert_eq!(name(&method.name), "inc");
    assert_eq!(method.params.len(), 1);
    assert_eq!(name(&method.params[0].name), "by");
    assert!(matches!(&method.returns, Some(TypeRef::Named(ty)) if ty.name == "int"));
    assert!(method.modifiers.readonly && !method.modifiers.aborts);
    let [statement] = method.body.stmts.as_slice() else {
        panic!("{:?}", method.body)
    };
    let Stmt::Return(Some(value)) = stmt(item, *statement) else {
        panic!("not a return")
    };
    assert!(matches!(
        expr(item, *value),
        Expr::Binary {
            op: BinaryOp::Add,
            ..
        }
    ));
    let end = method.body.end.expect("closing brace");
    assert_eq!(text(source, &lowered, end), "}");
    assert_eq!(lowered.span(end).start, source.len() - 3);
}

#[test]
fn a_channel_handler_with_if_else() {
    let source = "channel go(Msg m) { if (m.x > 0) { x = 1; } else x = 2; }";
    let lowered = only_item(source);
    let item = &lowered.item;
    let Decl::Channel(channel) = &item.decl else {
        panic!("not a channel")
    };
    assert_eq!(name(&channel.name), "go");
    assert_eq!(name(&channel.message), "Msg");
    assert_eq!(name(&channel.parameter), "m");
    let [statement] = channel.body.stmts.as_slice() else {
        panic!("{:?}", channel.body)
    };
    let Stmt::If {
        condition,
        binding: None,
        then,
        otherwise: Some(otherwise),
    } = stmt(item, *statement)
    else {
        panic!("not an if/else")
    };
    let Expr::Binary {
        op: BinaryOp::Gt,
        left,
        ..
    } = expr(item, *condition)
    else {
        panic!("condition")
    };
    assert!(matches!(expr(item, *left), Expr::Member { member, .. } if member.name == "x"));
    let Stmt::Block(Block {
        stmts,
        end: Some(_),
        ..
    }) = stmt(item, *then)
    else {
        panic!("then is a block")
    };
    assert!(matches!(stmt(item, stmts[0]), Stmt::Assign { .. }));
    let Stmt::Assign { value, .. } = stmt(item, *otherwise) else {
        panic!("else is the assignment itself")
    };
    assert_eq!(expr(item, *value), &Expr::Literal(Literal::Int(2)));
}

#[test]
fn a_query_with_where_order_and_limit() {
    let source = "formula f = t where a > 1 order by a desc, b limit 3;";
    let lowered = only_item(source);
    let item = &lowered.item;
    let Decl::Formula(formula) = &item.decl else {
        panic!("not a formula")
    };
    let Expr::Query {
        source: ordered,
        clause: Clause::Limit(count),
    } = expr(item, formula.value)
    else {
        panic!("limit outermost: {:?}", expr(item, formula.value))
    };
    assert_eq!(expr(item, *count), &Expr::Literal(Literal::Int(3)));
    let Expr::Query {
        source: filtered,
        clause: Clause::Order(keys),
    } = expr(item, *ordered)
    else {
        panic!("order")
    };
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0].field.name.as_str(), keys[0].direction),
        ("a", Direction::Descending)
    );
    assert_eq!(
        (keys[1].field.name.as_str(), keys[1].direction),
        ("b", Direction::Ascending)
    );
    let Expr::Query {
        source: table,
        clause: Clause::Where(predicate),
    } = expr(item, *filtered)
    else {
        panic!("where")
    };
    assert!(matches!(expr(item, *table), Expr::Name(table) if table.name == "t"));
    assert!(matches!(
        expr(item, *predicate),
        Expr::Binary {
            op: BinaryOp::Gt,
            ..
        }
    ));
}

#[test]
fn unique_clauses() {
    let lowered = only_item("formula f = iterate t unique last k;");
    let item = &lowered.item;
    let Decl::Formula(formula) = &item.decl else {
        panic!("not a formula")
    };
    let Expr::Query {
        source,
        clause: Clause::Unique {
            keep_last: true,
            key: Some(key),
        },
    } = expr(item, formula.value)
    else {
        panic!("{:?}", expr(item, formula.value))
    };
    assert_eq!(key.name, "k");
    assert!(matches!(expr(item, *source), Expr::Iterate(_)));
}

#[test]
fn an_enum_with_values_and_a_default() {
    let lowered = only_item("enum Color { Red:1, @default Green:0x10, Blue }");
    let Decl::Enum(enumeration) = &lowered.item.decl else {
        panic!("not an enum")
    };
    let labels: Vec<(&str, Option<i64>, bool)> = enumeration
        .labels
        .iter()
        .map(|label| (label.name.name.as_str(), label.value, label.default))
        .collect();
    assert_eq!(
        labels,
        [
            ("Red", Some(1), false),
            ("Green", Some(16), true),
            ("Blue", None, false)
        ]
    );
}

#[test]
fn a_web_handler_path() {
    let source = "@web get /users/$id:int/\"a\\tb\"/$rest* { return {}; }";
    let lowered = only_item(source);
    let Decl::Web(web) = &lowered.item.decl else {
        panic!("not a web handler")
    };
    assert_eq!(web.method, WebMethod::Get);
    assert_eq!(
        text(source, &lowered, web.path_node),
        "/users/$id:int/\"a\\tb\"/$rest*"
    );
    let [
        UriSegment::Literal(users),
        UriSegment::Parameter {
            name: id,
            ty: TypeRef::Named(ty),
        },
        UriSegment::Literal(quoted),
        UriSegment::Rest(rest),
    ] = web.path.as_slice()
    else {
        panic!("{:?}", web.path)
    };
    assert_eq!(
        (users.as_str(), id.name.as_str(), ty.name.as_str()),
        ("users", "id", "int")
    );
    assert_eq!((quoted.as_str(), rest.name.as_str()), ("a\tb", "rest"));
    assert!(web.parameter.is_none() && web.guard.is_none());
}

#[test]
fn literals_and_enum_values() {
    let source = "formula f = [#, #go, \"\\u0041\", 2L, 1.5, E::X, E::Pre*, E::*, @timespan -5 min, @date 2024/1/31];";
    let lowered = only_item(source);
    let item = &lowered.item;
    let Decl::Formula(formula) = &item.decl else {
        panic!("not a formula")
    };
    let Expr::Array(elements) = expr(item, formula.value) else {
        panic!("array")
    };
    let values: Vec<&Expr> = elements.iter().map(|id| expr(item, *id)).collect();
    assert_eq!(values[0], &Expr::Literal(Literal::Label(String::new())));
    assert_eq!(values[1], &Expr::Literal(Literal::Label("go".into())));
    assert_eq!(values[2], &Expr::Literal(Literal::String("A".into())));
    assert_eq!(values[3], &Expr::Literal(Literal::Long(2)));
    assert_eq!(values[4], &Expr::Literal(Literal::Double(1.5f64.to_bits())));
    assert!(
        matches!(values[5], Expr::EnumValue { label: Some(label), prefix: false, .. } if label.name == "X")
    );
    assert!(
        matches!(values[6], Expr::EnumValue { label: Some(label), prefix: true, .. } if label.name == "Pre")
    );
    assert!(matches!(
        values[7],
        Expr::EnumValue {
            label: None,
            prefix: false,
            ..
        }
    ));
    let Expr::TimeSpan {
        amount,
        unit,
        unit_name,
    } = values[8]
    else {
        panic!("timespan")
    };
    assert_eq!(f64::from_bits(*amount), -5.0);
    assert_eq!(
        (*unit, unit_name.name.as_str()),
        (Some(crate::hir::TimeUnit::Minutes), "min")
    );
    assert_eq!(
        values[9],
        &Expr::Date {
            year: 2024,
            month: 1,
            day: 31
        }
    );
}

/// `(` repeated, a literal, `)` repeated.
fn nested(open: &str, depth: usize, close: &str) -> String {
    format!(
        "public int x = {}1{};",
        open.repeat(depth),
        close.repeat(depth)
    )
}

#[test]
fn ten_thousand_parentheses_lower_to_one_paren_without_diagnostics() {
    let file = lower(&nested("(", 10_000, ")"));
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    let item = &file.items[0].item;
    let Decl::Field(field) = &item.decl else {
        panic!("not a field")
    };
    let value = field.value.expect("value");
    let Expr::Paren(inner) = expr(item, value) else {
        panic!("one paren")
    };
    assert_eq!(expr(item, *inner), &Expr::Literal(Literal::Int(1)));
    assert_eq!(item.body.exprs.len(), 2);
}

#[test]
fn five_thousand_nested_negations_are_cut_off_with_one_diagnostic() {
    let file = lower(&nested("-(", 5_000, ")"));
    let [diagnostic] = file.diagnostics.as_slice() else {
        panic!("{:?}", file.diagnostics)
    };
    assert_eq!(diagnostic.code, Code::NestingTooDeep);
    assert_eq!(
        diagnostic.message,
        format!("this expression nests more than {MAX_DEPTH} levels deep")
    );
    let item = &file.items[0].item;
    let negations = item
        .body
        .exprs
        .iter()
        .filter(|node| {
            matches!(
                node.expr,
                Expr::Prefix {
                    op: PrefixOp::Negate,
                    ..
                }
            )
        })
        .count();
    assert_eq!(negations, MAX_DEPTH);
    assert!(
        item.body
            .exprs
            .iter()
            .any(|node| node.expr == Expr::Missing)
    );
}

#[test]
fn deeply_nested_blocks_are_cut_off_too() {
    let source = format!("test t {{ {}{} }}", "{".repeat(3_000), "}".repeat(3_000));
    let file = lower(&source);
    assert_eq!(file.diagnostics.len(), 1);
}

#[test]
fn broken_input_lowers_without_panicking() {
    let source = "@web get /users { return {}; }\npublic int x = ;\nrecord { int a; }\nint y = (((1)));\nformula = ;\nchannel c(";
    let file = lower(source);
    assert!(
        no_nesting_diagnostic(&file),
        "broken input is reported by the syntax checks, not by lowering"
    );
    assert!(matches!(file.items[0].item.decl, Decl::Web(_)));
    let Decl::Field(field) = &file.items[1].item.decl else {
        panic!("{:?}", file.items[1].item.decl)
    };
    assert_eq!(field.name.name, "x");
    for cut in 0..source.len() {
        if source.is_char_boundary(cut) {
            let _ = lower(&source[..cut]);
        }
    }
}

#[test]
fn message_members() {
    let lowered = only_item("message M { int id = 1 lossy unique; @csv; string b; }");
    let Decl::Message(message) = &lowered.item.decl else {
        panic!("not a message")
    };
    let [
        MessageMember::Field(a),
        MessageMember::Csv(_),
        MessageMember::Field(b),
    ] = message.members.as_slice()
    else {
        panic!("{:?}", message.members)
    };
    assert!(a.lossy && a.unique.is_some() && !a.silent && a.value.is_some());
    assert!(!b.lossy && b.unique.is_none());
}

#[test]
fn for_updates_and_events_missing_from_the_corpus() {
    let source = "record R { int a; ingested { a = 1; } }\n\
                  message M { int b; @parsed { b = 2; } }\n\
                  public projection<t.f> p;\n\
                  procedure run() { for (int i = 0; i < 3; i = i + 1) { } for (;;i++) ; }";
    assert_eq!(
        crate::syntax::check(source, &parse(source, None)),
        Vec::new()
    );
    let file = lower(source);
    assert!(file.diagnostics.is_empty());
    let [record, message, projection, procedure] = file.items.as_slice() else {
        panic!("{:?}", file.items)
    };
    let Decl::Record(record) = &record.item.decl else {
        panic!("record")
    };
    assert!(
        matches!(&record.members[1], RecordMember::Ingested { body, .. } if body.stmts.len() == 1)
    );
    let Decl::Message(message) = &message.item.decl else {
        panic!("message")
    };
    assert!(
        matches!(&message.members[1], MessageMember::Parsed { body, .. } if body.stmts.len() == 1)
    );
    let Decl::Field(field) = &projection.item.decl else {
        panic!("field")
    };
    assert!(
        matches!(&field.ty, TypeRef::Projection { table, field, .. } if table.name == "t" && field.name == "f")
    );
    let item = &procedure.item;
    let Decl::Procedure(function) = &item.decl else {
        panic!("procedure")
    };
    let [first, second] = function.body.stmts.as_slice() else {
        panic!("{:?}", function.body)
    };
    let Stmt::For {
        init: Some(init),
        condition: Some(_),
        update: Some(update),
        body,
    } = stmt(item, *first)
    else {
        panic!("for")
    };
    assert!(matches!(stmt(item, *init), Stmt::Local { .. }));
    assert!(matches!(stmt(item, *update), Stmt::Assign { .. }));
    assert!(matches!(stmt(item, *body), Stmt::Block(_)));
    let Stmt::For {
        init: None,
        condition: None,
        update: Some(update),
        body,
    } = stmt(item, *second)
    else {
        panic!("second for")
    };
    let Stmt::Expr(postfix) = stmt(item, *update) else {
        panic!("update expression")
    };
    assert_eq!(item.body.stmt(*update).node, item.body.expr(*postfix).node);
    assert_eq!(stmt(item, *body), &Stmt::Empty);
}

#[test]
fn handlers_and_schedules() {
    let source = "@cron a daily 8:30 { }\n\
                  @cron b hourly 15 { }\n\
                  @cron c monthly day { }\n\
                  @static (ctx) { create { return true; } max_age = 5; }\n\
                  public cached<every 5 min> n = 1;\n\
                  dispatch E::Pre* f() -> int { return 1; }\n\
                  #waiting { block; @aborts { abort; } }\n\
                  template t: `x`<b>[[a]]</b>`x`\n\
                  @include std/util;\n\
                  rpc ask(who, int a) { }\n\
                  channel<M[]> inbox;\n\
                  viewer_is<owner> int secret;\n\
                  use_policy<p | f> int guarded;";
    assert_eq!(
        crate::syntax::check(source, &parse(source, None)),
        Vec::new()
    );
    let file = lower(source);
    assert!(file.diagnostics.is_empty());
    let decls: Vec<&Decl> = file
        .items
        .iter()
        .map(|lowered| &lowered.item.decl)
        .collect();
    assert_eq!(decls.len(), 13, "{decls:?}");
    assert!(matches!(
        decls[0],
        Decl::Cron {
            schedule: crate::hir::CronSchedule::Daily {
                hour: 8,
                minute: 30,
                ..
            },
            ..
        }
    ));
    assert!(matches!(
        decls[1],
        Decl::Cron {
            schedule: crate::hir::CronSchedule::Hourly { minute: 15, .. },
            ..
        }
    ));
    assert!(
        matches!(decls[2], Decl::Cron { schedule: crate::hir::CronSchedule::Variable { frequency: crate::hir::CronFrequency::Monthly, field }, .. } if field.name == "day")
    );
    let Decl::Static {
        context: Some(context),
        entries,
    } = decls[3]
    else {
        panic!("static")
    };
    assert_eq!(context.name, "ctx");
    assert!(matches!(
        &entries[0],
        crate::hir::StaticEntry::Policy {
            kind: crate::hir::StaticPolicyKind::Create,
            ..
        }
    ));
    assert!(
        matches!(&entries[1], crate::hir::StaticEntry::Setting { name, .. } if name.name == "max_age")
    );
    let Decl::Formula(formula) = decls[4] else {
        panic!("cached formula")
    };
    assert_eq!(formula.privacy, Privacy::Public);
    assert!(matches!(
        &formula.cached,
        Some(crate::hir::CachePolicy::Every {
            period: 5,
            unit: Some(crate::hir::TimeUnit::Minutes),
            ..
        })
    ));
    assert!(
        matches!(decls[5], Decl::Dispatch(dispatch) if matches!(&dispatch.pattern, crate::hir::DispatchPattern::Prefix(label) if label.name == "Pre"))
    );
    let Decl::State { label, body } = decls[6] else {
        panic!("state")
    };
    assert_eq!(label.name, "waiting");
    let waiting = &file.items[6].item;
    assert_eq!(stmt(waiting, body.stmts[0]), &Stmt::Wait);
    assert!(matches!(stmt(waiting, body.stmts[1]), Stmt::Aborts(block) if block.stmts.len() == 1));
    assert!(
        matches!(decls[7], Decl::Template { name, text } if name.name == "t" && text == "<b>[[a]]</b>")
    );
    assert!(matches!(decls[8], Decl::Include { path } if path == &["std", "util"]));
    assert!(matches!(decls[9], Decl::Rpc(rpc) if rpc.who.name == "who" && rpc.params.len() == 1));
    assert!(
        matches!(decls[10], Decl::AsyncChannel(channel) if channel.array && channel.message.name == "M")
    );
    assert!(
        matches!(decls[11], Decl::Field(field) if matches!(&field.privacy, Privacy::ViewerIs(owner) if owner.name == "owner"))
    );
    let Decl::Field(guarded) = decls[12] else {
        panic!("guarded field")
    };
    let Privacy::UsePolicy(guard) = &guarded.privacy else {
        panic!("use_policy")
    };
    assert_eq!((guard.policies.len(), guard.filters.len()), (1, 1));
}

/// The programs of the corpus and the examples, with their names.
#[allow(clippy::disallowed_methods)] // tests read the corpus; the compiler itself does no IO
fn programs() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for directory in [root.join("tests/corpus"), root.join("examples")] {
        let mut pending = vec![directory];
        while let Some(directory) = pending.pop() {
            for entry in std::fs::read_dir(&directory).expect("readable directory") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|extension| extension == "a") {
                    paths.push(path);
                }
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable program");
            (path.display().to_string(), text)
        })
        .collect()
}

#[test]
fn every_truncated_program_lowers_without_panicking() {
    for (path, text) in programs() {
        let step = (text.len() / 16).max(1);
        for cut in (0..text.len()).step_by(step) {
            if text.is_char_boundary(cut) {
                let file = lower(&text[..cut]);
                assert!(no_nesting_diagnostic(&file), "{path} cut at {cut}");
            }
        }
    }
}

/// The syntax diagnostics of `text` without the nesting limit's, which only lowering reports.
fn syntax_only(diagnostics: &[crate::diagnostic::Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code != Code::NestingTooDeep)
        .map(|diagnostic| {
            format!(
                "{:?} {:?} {}",
                diagnostic.range, diagnostic.code, diagnostic.message
            )
        })
        .collect()
}

#[test]
fn lowering_runs_every_syntax_check() {
    // Lowering checks the nodes of an error-free item as it reads them, instead of walking the
    // item again: it must read every node a check looks at, in every program, whole or cut,
    // and so find exactly what the walk finds.
    let (mut looked_at, mut compared) = (0, 0);
    for (path, text) in programs() {
        let step = (text.len() / 8).max(1);
        for cut in (0..=text.len()).step_by(step).chain([text.len()]) {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let text = &text[..cut];
            let tree = parse(text, None);
            crate::syntax::CHECKED_NODES.with(|nodes| nodes.borrow_mut().clear());
            let lowered = syntax_only(&lower_file(text, &tree).diagnostics);
            let checked = crate::syntax::CHECKED_NODES.with(|nodes| nodes.take());
            let root = tree.root_node();
            let mut cursor = root.walk();
            // A file whose outline the parser could not place has no items to lower.
            let items = root
                .children(&mut cursor)
                .filter(|item| !root.is_error() && !item.has_error());
            for item in items {
                crate::parse::walk_tree(item, |node| {
                    if crate::syntax::is_checked(node) {
                        looked_at += 1;
                        assert!(
                            checked.contains(&node.id()),
                            "{path} cut at {cut}: lowering did not check the {} at {:?}",
                            node.kind(),
                            node.byte_range()
                        );
                    }
                    true
                });
            }
            let walked = syntax_only(&crate::syntax::check(text, &tree));
            compared += walked.len();
            assert_eq!(lowered, walked, "{path} cut at {cut}");
        }
    }
    assert!(looked_at > 20_000, "only {looked_at} checked nodes seen");
    assert!(compared > 1000, "only {compared} diagnostics compared");
}

/// The top-level children that are items: everything but `;` and comments.
fn top_level_items(tree: &tree_sitter::Tree) -> usize {
    let root = tree.root_node();
    let mut cursor = root.walk();
    root.children(&mut cursor)
        .filter(|child| child.kind() != ";" && child.kind() != "comment")
        .count()
}

/// What in an item shows incomplete lowering. The `Debug` text reaches every field of the HIR,
/// so no construct can escape the check by living in a field a hand-written walk forgot.
fn incomplete_parts(item: &Item) -> Vec<&'static str> {
    let debug = format!("{item:?}");
    [
        ("expr: Missing", "Expr::Missing"),
        ("Missing(NodeId(", "TypeRef::Missing"),
        ("Ident { name: \"\",", "an empty name"),
        ("end: None", "a block without its closing brace"),
    ]
    .into_iter()
    .filter(|(pattern, _)| debug.contains(pattern))
    .map(|(_, what)| what)
    .collect()
}

#[test]
fn every_valid_program_lowers_completely() {
    let programs = programs();
    assert!(programs.len() > 400, "found {} programs", programs.len());
    let mut problems = Vec::new();
    for (path, text) in &programs {
        let tree = parse(text, None);
        let file = lower_file(text, &tree);
        if !path.ends_with("_success.a") && path.contains("/tests/corpus/") {
            assert!(file.items.len() <= top_level_items(&tree), "{path}");
            continue;
        }
        if !file.diagnostics.is_empty() {
            problems.push(format!("{path}: {:?}", file.diagnostics));
        }
        if file.items.len() != top_level_items(&tree) {
            problems.push(format!(
                "{path}: {} items for {} top-level nodes",
                file.items.len(),
                top_level_items(&tree)
            ));
        }
        for (index, lowered) in file.items.iter().enumerate() {
            for what in incomplete_parts(&lowered.item) {
                problems.push(format!("{path}: item {index} lowers to {what}"));
            }
            if let Some(problem) = out_of_order(lowered) {
                problems.push(format!("{path}: item {index}: {problem}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Node ids of a valid program follow the source: id 0 is the whole item, every span lies inside
/// it, and starts never decrease.
fn out_of_order(lowered: &LoweredItem) -> Option<String> {
    let spans = &lowered.source_map.spans;
    let whole = spans.first()?;
    if lowered.item.node != NodeId(0) {
        return Some("the item is not node 0".to_owned());
    }
    for pair in spans.windows(2) {
        if pair[1].start < pair[0].start {
            return Some(format!("span {:?} allocated after {:?}", pair[1], pair[0]));
        }
    }
    spans
        .iter()
        .find(|span| span.start < whole.start || span.end > whole.end)
        .map(|span| format!("span {span:?} outside the item {whole:?}"))
}

/// Whether lowering itself reported nothing (the file's syntax diagnostics aside).
fn no_nesting_diagnostic(file: &crate::lower::LoweredFile) -> bool {
    file.diagnostics
        .iter()
        .all(|diagnostic| diagnostic.code != crate::diagnostic::Code::NestingTooDeep)
}
