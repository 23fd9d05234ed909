/**
 * @file The Adama language: one grammar for the compiler, the language server, editors and the runtime node.
 * @license MIT
 *
 * Shape of the tree:
 * - every declaration, statement and expression is a named node with named fields, so that the
 *   compiler reads children by name, never by position;
 * - operator precedence follows the language specification (section 5.1), loosest first:
 *   LINQ suffixes, compound assignment, inside/outside, ?:, ^^, ||, &&, equality, relations,
 *   additive, multiplicative, prefix, postfix;
 * - a few rules are deliberately looser than the specification so that the compiler can say
 *   precisely what is wrong instead of reporting a bare syntax error: chained comparisons,
 *   nested conditionals without parentheses, stacked prefix operators, malformed number
 *   literals, bad string escapes and reserved words used as names all parse here and are
 *   rejected by the compiler's syntax checks (see docs/syntax.md).
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const PREC = {
  LINQ: 1,
  COMPOUND: 2,
  CONTAIN: 3,
  TERNARY: 4,
  XOR: 5,
  OR: 6,
  AND: 7,
  EQUALITY: 8,
  RELATION: 9,
  ADDITIVE: 10,
  MULTIPLICATIVE: 11,
  PREFIX: 12,
  POSTFIX: 13,
  ENUM_PREFIX: 14,
};

const BINARY_OPERATORS = [
  [PREC.XOR, '^^'],
  [PREC.OR, '||'],
  [PREC.AND, '&&'],
  [PREC.EQUALITY, choice('==', '!=', '=?')],
  [PREC.RELATION, choice('<', '<=', '>', '>=')],
  [PREC.ADDITIVE, choice('+', '-')],
  [PREC.MULTIPLICATIVE, choice('*', '/', '%')],
];

const AT_CONSTANTS = [
  '@no_one', '@who', '@self', '@context', '@headers', '@parameters', '@viewer', '@i', '@null',
  '@nothing', '@stable', '@blocked',
];

const DOCUMENT_EVENTS = ['@connected', '@disconnected', '@delete', '@load', '@can_attach'];

/**
 * @param {RuleOrLiteral} rule
 * @returns {SeqRule}
 */
function commaSep1(rule) {
  return seq(rule, repeat(seq(',', rule)));
}

/**
 * @param {RuleOrLiteral} rule
 * @returns {ChoiceRule}
 */
function commaSep(rule) {
  return optional(commaSep1(rule));
}

module.exports = grammar({
  name: 'adama',

  word: $ => $.identifier,

  extras: $ => [/\s/, $.comment],

  externals: $ => [$.template_literal],

  // The precedence levels are separate rules so that each operand says which level it takes;
  // inlining them keeps the tree (and the parse) free of one hidden node per level.
  conflicts: $ => [
    // `int(Hidden) x = 1;` declares an annotated local; `f(x);` calls a function. The tokens
    // after the parentheses tell them apart.
    [$._type_name, $.call_expression],
  ],

  inline: $ => [
    $._assign_level,
    $._contain_level,
    $._ternary_level,
    $._binary_level,
    $._unary_level,
    $._postfix_level,
    $._chain_level,
    $._primary_expression,
    $._chaining_clause,
    $._swallowing_clause,
    $._body,
    $._statement_query_source,
  ],

  rules: {
    document: $ => repeat(choice(';', $._item)),

    _item: $ => choice(
      $.field_declaration,
      $.formula_declaration,
      $.cached_formula_declaration,
      $.bubble_declaration,
      $.view_declaration,
      $.record_declaration,
      $.message_declaration,
      $.enum_declaration,
      $.dispatch_declaration,
      $.function_declaration,
      $.procedure_declaration,
      $.policy_declaration,
      $.filter_declaration,
      $.channel_declaration,
      $.async_channel_declaration,
      $.rpc_declaration,
      $.state_block,
      $.constructor_declaration,
      $.document_event,
      $.attached_event,
      $.static_block,
      $.web_handler,
      $.cron_declaration,
      $.test_declaration,
      $.include_declaration,
      $.link_declaration,
      $.service_declaration,
      $.replication_declaration,
      $.authorize_declaration,
      $.authorization_declaration,
      $.password_declaration,
      $.metric_declaration,
      $.traffic_declaration,
      $.assoc_declaration,
      $.join_declaration,
      $.template_declaration,
    ),

    // ---------------------------------------------------------------------------------------
    // Declarations
    // ---------------------------------------------------------------------------------------

    privacy: $ => choice(
      'public',
      'private',
      seq('viewer_is', '<', field('field', $.identifier), '>'),
      seq(choice('use_policy', 'use'), field('guard', $.guard)),
    ),

    guard: $ => seq(
      '<',
      optional(commaSep1(field('policy', $.identifier))),
      optional(seq('|', commaSep1(field('filter', $.identifier)))),
      '>',
    ),

    field_declaration: $ => seq(
      optional(field('privacy', $.privacy)),
      optional(field('readonly', 'readonly')),
      field('type', $._field_type),
      optional(field('annotation', $.annotation)),
      field('name', $.identifier),
      optional(choice(
        seq('=', field('value', $._assign_level)),
        field('invalidation', choice('@updated', '@bump')),
      )),
      optional(field('required', 'required')),
      ';',
    ),

    formula_declaration: $ => seq(
      optional(field('privacy', $.privacy)),
      choice('formula', 'auto'),
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    cached_formula_declaration: $ => seq(
      optional(field('privacy', $.privacy)),
      'cached',
      '<',
      field('policy', choice(
        'once',
        seq('every', field('period', $.number), field('unit', $.identifier)),
      )),
      '>',
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    bubble_declaration: $ => seq(
      'bubble',
      optional(field('guard', $.guard)),
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    view_declaration: $ => seq(
      'view',
      field('type', $._type),
      optional(field('annotation', $.annotation)),
      field('name', $.identifier),
      ';',
    ),

    annotation: $ => seq('(', commaSep($.annotation_entry), ')'),

    // After a return type, `(` opens the annotation, never a one-statement body.
    annotation_entry: $ => prec(1, seq(
      field('key', $.identifier),
      optional(seq('=', field('value', choice($.identifier, $.number, $.string, $.boolean, $.label)))),
    )),

    record_declaration: $ => seq(
      'record',
      field('name', $.identifier),
      field('body', $.record_body),
      optional(field('annotation', $.annotation)),
    ),

    record_body: $ => seq('{', repeat($._record_item), '}'),

    _record_item: $ => choice(
      ';',
      $.field_declaration,
      $.formula_declaration,
      $.cached_formula_declaration,
      $.bubble_declaration,
      $.method_declaration,
      $.policy_declaration,
      $.require_declaration,
      $.index_declaration,
      $.join_declaration,
      $.replication_declaration,
      $.ingested_event,
    ),

    require_declaration: $ => seq('require', field('policy', $.identifier), ';'),

    index_declaration: $ => seq('index', field('field', $.identifier), ';'),

    ingested_event: $ => seq('ingested', field('body', $._body)),

    message_declaration: $ => seq(
      'message',
      field('name', $.identifier),
      field('body', $.message_body),
      optional(field('annotation', $.annotation)),
    ),

    message_body: $ => seq('{', repeat($._message_item), '}'),

    _message_item: $ => choice(
      ';',
      $.message_field,
      $.index_declaration,
      $.csv_option,
      $.parsed_event,
      $.method_declaration,
    ),

    message_field: $ => seq(
      optional(field('readonly', 'readonly')),
      field('type', $._type),
      optional(field('annotation', $.annotation)),
      field('name', $.identifier),
      optional(seq('=', field('value', $._assign_level))),
      repeat(field('option', $.field_option)),
      ';',
    ),

    field_option: _ => choice('lossy', 'unique', '@silent'),

    csv_option: _ => seq('@csv', ';'),

    parsed_event: $ => seq('@parsed', field('body', $._body)),

    method_declaration: $ => seq(
      'method',
      field('name', $.identifier),
      field('parameters', $.parameters),
      optional(seq('->', field('return_type', $._type), optional(field('return_annotation', $.annotation)))),
      repeat(field('modifier', $.modifier)),
      field('body', $._body),
    ),

    enum_declaration: $ => seq(
      'enum',
      field('name', $.identifier),
      '{',
      repeat(choice(',', field('label', $.enum_label))),
      '}',
    ),

    enum_label: $ => seq(
      optional(field('default', '@default')),
      field('name', $.identifier),
      optional(seq(':', field('value', $.number))),
    ),

    dispatch_declaration: $ => seq(
      'dispatch',
      field('enum', $.identifier),
      '::',
      field('pattern', $.dispatch_pattern),
      field('name', $.identifier),
      field('parameters', $.parameters),
      optional(seq('->', field('return_type', $._type), optional(field('return_annotation', $.annotation)))),
      field('body', $._body),
    ),

    dispatch_pattern: $ => choice(
      seq(field('label', $.identifier), optional(field('prefix', '*'))),
      field('all', '*'),
    ),

    function_declaration: $ => seq(
      'function',
      field('name', $.identifier),
      field('parameters', $.parameters),
      // Invariant: the language requires a return type; the compiler reports its absence with a
      // dedicated message instead of a generic parse error.
      optional(seq('->', field('return_type', $._type), optional(field('return_annotation', $.annotation)))),
      field('body', $._body),
    ),

    procedure_declaration: $ => seq(
      'procedure',
      field('name', $.identifier),
      field('parameters', $.parameters),
      optional(seq('->', field('return_type', $._type), optional(field('return_annotation', $.annotation)))),
      repeat(field('modifier', $.modifier)),
      field('body', $._body),
    ),

    // After the parameters, `readonly` is a modifier, never the start of a one-statement body.
    modifier: _ => prec(1, choice('readonly', 'aborts', 'viewer')),

    parameters: $ => seq('(', commaSep($.parameter), ')'),

    parameter: $ => seq(
      optional(field('mutability', choice('readonly', 'mutable'))),
      field('type', $._type),
      optional(field('annotation', $.annotation)),
      field('name', $.identifier),
    ),

    policy_declaration: $ => seq('policy', field('name', $.identifier), field('body', $._body)),

    filter_declaration: $ => seq('filter', field('name', $.identifier), field('body', $._body)),

    channel_declaration: $ => seq(
      'channel',
      field('name', $.identifier),
      '(',
      field('message_type', $._type_name),
      optional(field('array', '[]')),
      field('parameter', $.identifier),
      ')',
      optional(field('open', 'open')),
      optional(seq('requires', field('guard', $.guard))),
      field('body', $._body),
    ),

    async_channel_declaration: $ => seq(
      'channel',
      '<',
      field('message_type', $._type_name),
      optional(field('array', '[]')),
      '>',
      field('name', $.identifier),
      ';',
    ),

    rpc_declaration: $ => seq(
      'rpc',
      field('name', $.identifier),
      '(',
      field('who', $.identifier),
      repeat(seq(',', field('parameter', $.rpc_parameter))),
      ')',
      field('body', $._body),
    ),

    rpc_parameter: $ => seq(field('type', $._type), field('name', $.identifier)),

    state_block: $ => seq(field('label', $.label), field('body', $._body)),

    constructor_declaration: $ => seq(
      '@construct',
      optional(seq(
        '(',
        field('message_type', $._type_name),
        field('parameter', $.identifier),
        ')',
      )),
      field('body', $._body),
    ),

    document_event: $ => seq(field('event', choice(...DOCUMENT_EVENTS)), field('body', $._body)),

    attached_event: $ => seq(
      '@attached',
      '(',
      field('parameter', $.identifier),
      ')',
      field('body', $._body),
    ),

    static_block: $ => seq(
      '@static',
      optional(seq('(', field('context', $.identifier), ')')),
      '{',
      repeat(choice(',', ';', $.static_policy, $.static_setting)),
      '}',
    ),

    static_policy: $ => seq(
      field('kind', choice('create', 'invent', 'send')),
      field('body', $._body),
    ),

    static_setting: $ => seq(field('name', $.identifier), '=', field('value', $._expression), ';'),

    web_handler: $ => seq(
      '@web',
      field('method', $.web_method),
      field('path', $.uri),
      optional(seq(
        '(',
        field('message_type', $._type_name),
        field('parameter', $.identifier),
        ')',
      )),
      optional(seq('requires', field('guard', $.guard))),
      field('body', $._body),
    ),

    web_method: _ => choice('get', 'put', 'delete', 'options'),

    // A name after `/` is a segment of the path, never the start of a one-statement body.
    uri: $ => repeat1($._uri_step),

    _uri_step: $ => choice(
      prec(10, seq('/', field('segment', $._uri_segment))),
      '/',
    ),

    _uri_segment: $ => choice($.identifier, $.string, $.uri_parameter),

    uri_parameter: $ => seq(
      '$',
      field('name', $.identifier),
      choice(
        field('rest', '*'),
        seq(':', field('type', $._type)),
      ),
    ),

    cron_declaration: $ => seq(
      '@cron',
      field('name', $.identifier),
      field('schedule', $.cron_schedule),
      field('body', $._body),
    ),

    cron_schedule: $ => choice(
      seq(
        field('frequency', 'daily'),
        choice(
          seq(field('hour', $.number), ':', field('minute', $.number)),
          field('variable', $.identifier),
        ),
      ),
      seq(
        field('frequency', choice('hourly', 'monthly')),
        choice(field('value', $.number), field('variable', $.identifier)),
      ),
    ),

    test_declaration: $ => seq('test', field('name', $.identifier), field('body', $._body)),

    include_declaration: $ => seq(
      choice('@include', '@import'),
      field('path', $.include_path),
      ';',
    ),

    include_path: $ => seq($.identifier, repeat(seq('/', $.identifier))),

    link_declaration: $ => seq(
      '@link',
      field('name', $.identifier),
      '{',
      repeat($.link_parameter),
      '}',
    ),

    link_parameter: $ => seq(field('name', $.identifier), '=', field('value', $._expression), ';'),

    service_declaration: $ => seq(
      'service',
      field('name', $.identifier),
      '{',
      repeat(choice(';', $.service_method, $.service_replication, $.service_setting)),
      '}',
    ),

    service_method: $ => seq(
      'method',
      optional(field('secured', 'secured')),
      '<',
      field('input', $._type_name),
      ',',
      field('output', $._type_name),
      optional(field('array', '[]')),
      '>',
      field('name', $.identifier),
      ';',
    ),

    service_replication: $ => seq(
      'replication',
      '<',
      field('input', $._type_name),
      '>',
      field('name', $.identifier),
      ';',
    ),

    service_setting: $ => seq(field('name', $.identifier), '=', field('value', $._expression), ';'),

    replication_declaration: $ => seq(
      'replication',
      '<',
      field('service', $.identifier),
      ':',
      field('method', $.identifier),
      '>',
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    authorize_declaration: $ => seq(
      '@authorize',
      '(',
      field('username', $.identifier),
      ',',
      field('password', $.identifier),
      ')',
      field('body', $._body),
    ),

    authorization_declaration: $ => seq(
      '@authorization',
      '(',
      field('message_type', $._type_name),
      field('parameter', $.identifier),
      ')',
      field('body', $._body),
    ),

    password_declaration: $ => seq(
      '@password',
      '(',
      field('parameter', $.identifier),
      ')',
      field('body', $._body),
    ),

    metric_declaration: $ => seq(
      'metric',
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    traffic_declaration: $ => seq('@traffic', field('value', $._expression), ';'),

    assoc_declaration: $ => seq(
      'assoc',
      '<',
      field('from', $._type_name),
      ',',
      field('to', $._type_name),
      optional(seq(',', field('edge', $._type_name))),
      '>',
      field('name', $.identifier),
      ';',
    ),

    join_declaration: $ => seq(
      'join',
      field('assoc', $.identifier),
      'via',
      field('table', $.identifier),
      '[',
      field('item', $.identifier),
      ']',
      'from',
      field('from', $._expression),
      'to',
      field('to', $._expression),
      ';',
    ),

    template_declaration: $ => seq(
      'template',
      field('name', $.identifier),
      ':',
      field('body', $.template_literal),
    ),

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    // Types of locals, parameters, returns, message fields and view fields.
    _type: $ => choice(
      $._type_name,
      $.generic_type,
      $.array_type,
    ),

    // Types of document and record fields: no `channel<T>` (that head is the async channel
    // declaration), plus the reactive-only `holder<M>` and `projection<t.f>`.
    _field_type: $ => choice(
      $._type_name,
      alias($._field_generic_type, $.generic_type),
      alias($._field_array_type, $.array_type),
      $.projection_type,
    ),

    _type_name: $ => prec(PREC.POSTFIX, alias($.identifier, $.type_identifier)),

    generic_type: $ => seq(
      field('name', $.generic_name),
      '<',
      commaSep1($._generic_argument),
      '>',
    ),

    _field_generic_type: $ => seq(
      field('name', alias($._field_generic_name, $.generic_name)),
      '<',
      commaSep1($._generic_argument),
      '>',
    ),

    // A type argument may carry annotations like any written type: `maybe<int(unit=m)>`.
    _generic_argument: $ => seq(
      field('argument', $._type),
      optional(field('annotation', $.annotation)),
    ),

    generic_name: _ => choice(
      'maybe', 'list', 'map', 'pair', 'tuple', 'future', 'channel', 'secure', 'table', 'holder',
    ),

    _field_generic_name: _ => choice(
      'maybe', 'list', 'map', 'pair', 'tuple', 'future', 'secure', 'table', 'holder',
    ),

    // `-> int[] ;` returns an array (with an empty body), rather than `[]` starting the body.
    array_type: $ => prec(1, seq(field('element', $._type), '[]')),

    _field_array_type: $ => seq(field('element', $._field_type), '[]'),

    projection_type: $ => seq(
      'projection',
      '<',
      field('table', $.identifier),
      '.',
      field('field', $.identifier),
      '>',
    ),

    // ---------------------------------------------------------------------------------------
    // Statements
    // ---------------------------------------------------------------------------------------

    // Every body of code is a block or, when no `{` follows, exactly one statement
    // (`#idle x = 1;`, `policy p return true;`); the compiler reads a lone statement as a block
    // of one.
    _body: $ => $._statement,

    // `{ }` at the start of a statement is an empty block, not an empty anonymous message.
    block: $ => prec(1, seq('{', repeat($._statement), '}')),

    _statement: $ => choice(
      $.empty_statement,
      $.block,
      $.if_statement,
      $.local_declaration,
      $.inferred_declaration,
      $.while_statement,
      $.do_statement,
      $.for_statement,
      $.foreach_statement,
      $.switch_statement,
      $.case_label,
      $.default_label,
      $.return_statement,
      $.break_statement,
      $.continue_statement,
      $.abort_statement,
      $.block_statement,
      $.transition_statement,
      $.invoke_statement,
      $.preempt_statement,
      $.assert_statement,
      $.log_statement,
      $.step_statement,
      $.forward_statement,
      $.pump_statement,
      $.send_statement,
      $.aborts_statement,
      $.assignment_statement,
      $.ingestion_statement,
      $.expression_statement,
    ),

    empty_statement: _ => ';',

    if_statement: $ => prec.right(seq(
      'if',
      field('condition', $.condition),
      field('consequence', $._statement),
      optional(seq('else', field('alternative', $._statement))),
    )),

    condition: $ => seq(
      '(',
      field('value', $._expression),
      optional(seq('as', field('binding', $.identifier))),
      ')',
    ),

    local_declaration: $ => seq(
      optional(field('readonly', 'readonly')),
      field('type', $._type),
      optional(field('annotation', $.annotation)),
      field('name', $.identifier),
      optional(seq('=', field('value', $._expression))),
      ';',
    ),

    inferred_declaration: $ => seq(
      field('kind', choice('let', 'var', 'auto')),
      field('name', $.identifier),
      '=',
      field('value', $._expression),
      ';',
    ),

    while_statement: $ => seq(
      'while',
      '(',
      field('condition', $._expression),
      ')',
      field('body', $._statement),
    ),

    do_statement: $ => seq(
      'do',
      field('body', $._statement),
      'while',
      '(',
      field('condition', $._expression),
      ')',
      ';',
    ),

    for_statement: $ => seq(
      'for',
      '(',
      choice(
        ';',
        field('initializer', choice(
          $.local_declaration,
          $.assignment_statement,
          $.expression_statement,
        )),
      ),
      optional(field('condition', $._expression)),
      ';',
      optional(field('update', choice($.assignment, $._statement_expression))),
      ')',
      field('body', $._statement),
    ),

    // The `for` update clause: an assignment without its `;`.
    assignment: $ => seq(field('left', $._statement_expression), '=', field('right', $._expression)),

    foreach_statement: $ => seq(
      'foreach',
      '(',
      field('variable', $.identifier),
      'in',
      field('iterable', $._expression),
      ')',
      field('body', $._statement),
    ),

    switch_statement: $ => seq(
      'switch',
      '(',
      field('value', $._expression),
      ')',
      field('body', $._statement),
    ),

    case_label: $ => seq('case', field('value', $._expression), ':'),

    default_label: _ => seq('default', ':'),

    return_statement: $ => seq('return', optional(field('value', $._expression)), ';'),

    break_statement: _ => seq('break', ';'),

    continue_statement: _ => seq('continue', ';'),

    abort_statement: _ => seq('abort', ';'),

    block_statement: _ => seq('block', ';'),

    transition_statement: $ => seq(
      'transition',
      field('target', $._expression),
      optional(seq('in', field('delay', $._expression))),
      ';',
    ),

    invoke_statement: $ => seq('invoke', field('target', $._expression), ';'),

    preempt_statement: $ => seq('preempt', field('target', $._expression), ';'),

    assert_statement: $ => seq('assert', field('value', $._expression), ';'),

    log_statement: $ => seq('log', field('value', $._expression), ';'),

    step_statement: _ => seq('@step', ';'),

    forward_statement: $ => seq('@forward', field('seconds', $._expression), ';'),

    pump_statement: $ => seq(
      '@pump',
      field('message', $._expression),
      'into',
      field('channel', $.identifier),
      ';',
    ),

    send_statement: $ => seq(
      '@send',
      field('channel', $.identifier),
      '(',
      field('who', $._expression),
      ',',
      field('message', $._expression),
      ')',
    ),

    aborts_statement: $ => seq('@aborts', field('body', $._body)),

    assignment_statement: $ => seq(
      field('left', $._statement_expression),
      '=',
      field('right', $._expression),
      ';',
    ),

    ingestion_statement: $ => seq(
      field('target', $._statement_expression),
      '<-',
      field('source', $._expression),
      optional(seq('as', field('binding', $.identifier))),
      ';',
    ),

    expression_statement: $ => seq(field('expression', $._statement_expression), ';'),

    // ---------------------------------------------------------------------------------------
    // Expressions, loosest first
    // ---------------------------------------------------------------------------------------

    _expression: $ => choice(
      $.iterate_expression,
      $.query_expression,
      $._assign_level,
    ),

    // An expression that starts a statement. A query there must begin with `iterate`, and an
    // `inside` test cannot start one (it has no effect): after a leading name, a LINQ word or
    // `inside` is then the name of a declared variable (`int limit = 5;`).
    _statement_expression: $ => choice(
      $.iterate_expression,
      alias($._iterate_query, $.query_expression),
      $.compound_assignment,
      $._ternary_level,
    ),

    // A `(`-started source cannot be the type of a declaration, so `(iterate t) where …;` is a
    // statement too.
    _iterate_query: $ => choice(
      prec.left(PREC.LINQ, seq(
        field('source', $._statement_query_source),
        field('clause', $._chaining_clause),
      )),
      prec.right(PREC.LINQ, seq(
        field('source', $._statement_query_source),
        field('clause', $._swallowing_clause),
      )),
    ),

    _statement_query_source: $ => choice(
      $.iterate_expression,
      alias($._iterate_query, $.query_expression),
      $.parenthesized_expression,
    ),

    iterate_expression: $ => prec(PREC.LINQ, seq('iterate', field('source', $._assign_level))),

    query_expression: $ => choice(
      prec.left(PREC.LINQ, seq(field('source', $._expression), field('clause', $._chaining_clause))),
      // These clauses take a whole expression, which swallows any clause that follows them.
      prec.right(PREC.LINQ, seq(field('source', $._expression), field('clause', $._swallowing_clause))),
    ),

    _chaining_clause: $ => choice(
      $.where_clause,
      $.where_as_clause,
      $.order_clause,
      $.shuffle_clause,
      $.limit_clause,
      $.offset_clause,
      $.unique_clause,
      $.rank_clause,
      $.materialize_clause,
      $.traverse_clause,
    ),

    _swallowing_clause: $ => choice($.map_clause, $.order_dyn_clause, $.reduce_clause),

    where_clause: $ => seq('where', field('predicate', $._assign_level)),

    where_as_clause: $ => seq(
      'where_as',
      field('binding', $.identifier),
      ':',
      field('predicate', $._assign_level),
    ),

    order_clause: $ => prec.right(seq('order', optional('by'), commaSep1(field('key', $.order_key)))),

    order_key: $ => seq(
      field('field', $.identifier),
      optional(field('direction', choice('asc', 'desc'))),
      optional(field('insensitive', 'insensitive')),
    ),

    order_dyn_clause: $ => seq('order_dyn', field('specification', $._expression)),

    shuffle_clause: _ => 'shuffle',

    limit_clause: $ => seq('limit', field('count', $._assign_level)),

    offset_clause: $ => seq('offset', field('count', $._assign_level)),

    map_clause: $ => seq('map', field('function', $._expression)),

    reduce_clause: $ => prec.right(seq(
      'reduce',
      optional('on'),
      field('key', $.identifier),
      optional(seq('via', field('function', $._expression))),
    )),

    unique_clause: $ => prec.right(seq(
      'unique',
      optional(seq(field('keep', choice('first', 'last')), field('key', $.identifier))),
    )),

    rank_clause: $ => prec.right(seq(
      'rank',
      field('binding', $.identifier),
      ':',
      field('score', $._assign_level),
      optional(seq('threshold', field('threshold', $._assign_level))),
    )),

    materialize_clause: _ => 'materialize',

    traverse_clause: $ => seq('traverse', field('assoc', $.identifier)),

    _assign_level: $ => choice($.compound_assignment, $._contain_level),

    // The left side is an assignable location, never an `inside` test.
    compound_assignment: $ => prec.right(PREC.COMPOUND, seq(
      field('left', $._ternary_level),
      field('operator', choice('+=', '-=', '*=')),
      field('right', $._assign_level),
    )),

    _contain_level: $ => choice($.containment_expression, $._ternary_level),

    containment_expression: $ => prec.left(PREC.CONTAIN, seq(
      field('key', $._ternary_level),
      field('operator', choice('inside', 'outside')),
      field('map', $._ternary_level),
    )),

    _ternary_level: $ => choice($.conditional_expression, $._binary_level),

    conditional_expression: $ => prec.right(PREC.TERNARY, seq(
      field('condition', $._binary_level),
      '?',
      field('consequence', $._ternary_level),
      ':',
      field('alternative', $._ternary_level),
    )),

    _binary_level: $ => choice($.binary_expression, $._unary_level),

    binary_expression: $ => choice(...BINARY_OPERATORS.map(([precedence, operator]) =>
      prec.left(/** @type {number} */ (precedence), seq(
        field('left', $._binary_level),
        field('operator', /** @type {RuleOrLiteral} */ (operator)),
        field('right', $._binary_level),
      )),
    )),

    _unary_level: $ => choice($.prefix_expression, $._postfix_level),

    prefix_expression: $ => prec(PREC.PREFIX, seq(
      field('operator', choice('-', '!', '++', '--')),
      field('operand', $._unary_level),
    )),

    _postfix_level: $ => choice($.postfix_update_expression, $._chain_level),

    // A trailing `++`/`--` ends the postfix chain: `x++.y` does not parse.
    postfix_update_expression: $ => prec(PREC.POSTFIX, seq(
      field('operand', $._chain_level),
      field('operator', choice('++', '--')),
    )),

    _chain_level: $ => choice(
      $.member_expression,
      $.index_expression,
      $.call_expression,
      $._primary_expression,
    ),

    member_expression: $ => prec(PREC.POSTFIX, seq(
      field('object', $._chain_level),
      '.',
      field('member', $.identifier),
    )),

    index_expression: $ => prec(PREC.POSTFIX, seq(
      field('object', $._chain_level),
      '[',
      field('index', $._expression),
      ']',
    )),

    call_expression: $ => prec(PREC.POSTFIX, seq(
      field('function', $._chain_level),
      field('arguments', $.arguments),
    )),

    arguments: $ => seq('(', commaSep(field('argument', $._expression)), ')'),

    _primary_expression: $ => choice(
      $.number,
      $.string,
      $.boolean,
      $.label,
      $.identifier,
      $.enum_value,
      $.parenthesized_expression,
      $.tuple_expression,
      $.array_expression,
      $.object_expression,
      $.at_constant,
      $.datetime_literal,
      $.date_literal,
      $.time_literal,
      $.timespan_literal,
      $.empty_literal,
      $.maybe_literal,
      $.pair_literal,
      $.lambda_expression,
      $.convert_expression,
    ),

    enum_value: $ => prec.right(PREC.ENUM_PREFIX, seq(
      field('enum', $.identifier),
      '::',
      choice(
        seq(field('label', $.identifier), optional(field('prefix', '*'))),
        field('all', '*'),
      ),
    )),

    parenthesized_expression: $ => seq('(', field('expression', $._expression), ')'),

    tuple_expression: $ => seq(
      '(',
      field('element', $._expression),
      repeat1(seq(',', field('element', $._expression))),
      ')',
    ),

    array_expression: $ => choice(
      '[]',
      seq('[', commaSep(field('element', $._expression)), ']'),
    ),

    object_expression: $ => seq('{', commaSep(field('field', $.object_field)), '}'),

    object_field: $ => seq(
      field('name', $.identifier),
      optional(seq(':', field('value', $._expression))),
    ),

    at_constant: _ => choice(...AT_CONSTANTS),

    datetime_literal: $ => seq('@datetime', field('value', $.string)),

    date_literal: $ => seq(
      '@date',
      field('year', $.number),
      '/',
      field('month', $.number),
      '/',
      field('day', $.number),
    ),

    time_literal: $ => seq('@time', field('hour', $.number), ':', field('minute', $.number)),

    timespan_literal: $ => seq(
      '@timespan',
      optional(field('negative', '-')),
      field('amount', $.number),
      field('unit', $.identifier),
    ),

    empty_literal: $ => seq('@empty', '<', field('type', $._type), '>'),

    maybe_literal: $ => seq('@maybe', choice(
      seq('<', field('type', $._type), '>'),
      seq('(', field('value', $._expression), ')'),
    )),

    pair_literal: $ => prec.right(seq(
      '@pair',
      field('key', $._ternary_level),
      '->',
      field('value', $._ternary_level),
    )),

    lambda_expression: $ => prec.right(seq(
      '@lambda',
      field('parameter', $.identifier),
      ':',
      field('body', $._expression),
    )),

    convert_expression: $ => seq(
      '@convert',
      '<',
      field('type', $._type_name),
      '>',
      '(',
      field('value', $._expression),
      ')',
    ),

    boolean: _ => choice('true', 'false'),

    // ---------------------------------------------------------------------------------------
    // Tokens
    // ---------------------------------------------------------------------------------------

    identifier: _ => /[A-Za-z_][A-Za-z0-9_]*/,

    label: _ => /#[A-Za-z0-9_]*/,

    // The number scanner of the language, reproduced: integer mode keeps hex digits and `x`,
    // an `L` ends a long, and `.` or `-` switch to double mode, which keeps digits, `.`, `e`,
    // `E` and `-`. The compiler validates the text, so `1e3`, `12ab` and `3-1` are one
    // malformed literal each, reported with a precise message.
    number: _ => token(choice(
      /[0-9][0-9a-fA-Fx]*(L|[.\-][0-9.eE\-]*)?/,
      /\.[0-9][0-9a-fA-Fx]*([.\-][0-9.eE\-]*)?/,
    )),

    // Escapes are validated by the compiler, which reports the exact bad escape.
    string: _ => token(seq('"', repeat(choice(/[^"\\]+/, /\\(.|\n)/)), '"')),

    comment: _ => token(choice(
      seq('//', /[^\r\n]*/),
      seq('/*', /[^*]*\*+([^/*][^*]*\*+)*/, '/'),
    )),
  },
});
