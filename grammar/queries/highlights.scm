; Neovim gives later patterns priority, so general captures come first.

(identifier) @variable

(comment) @comment

; Types

(type_identifier) @type

((type_identifier) @type.builtin
  (#any-of? @type.builtin
    "bool" "int" "long" "double" "complex" "string" "principal" "client" "dynamic" "json" "asset"
    "date" "datetime" "time" "timespan" "label" "text"))

(generic_name) @type.builtin

(projection_type
  "projection" @type.builtin
  table: (identifier) @variable
  field: (identifier) @variable.member)

(record_declaration
  name: (identifier) @type.definition)

(message_declaration
  name: (identifier) @type.definition)

(enum_declaration
  name: (identifier) @type.definition)

(dispatch_declaration
  enum: (identifier) @type)

(assoc_declaration
  name: (identifier) @variable)

; Functions and handlers

(function_declaration
  name: (identifier) @function)

(procedure_declaration
  name: (identifier) @function)

(method_declaration
  name: (identifier) @function.method)

(dispatch_declaration
  name: (identifier) @function.method)

(channel_declaration
  name: (identifier) @function)

(rpc_declaration
  name: (identifier) @function)

(cron_declaration
  name: (identifier) @function)

(test_declaration
  name: (identifier) @function)

(policy_declaration
  name: (identifier) @function)

(filter_declaration
  name: (identifier) @function)

(template_declaration
  name: (identifier) @function)

(require_declaration
  policy: (identifier) @function)

(guard
  policy: (identifier) @function)

(guard
  filter: (identifier) @function)

(call_expression
  function: (identifier) @function.call)

(call_expression
  function: (member_expression
    member: (identifier) @function.method.call))

; Parameters

(parameter
  name: (identifier) @variable.parameter)

(channel_declaration
  parameter: (identifier) @variable.parameter)

(rpc_declaration
  who: (identifier) @variable.parameter)

(constructor_declaration
  parameter: (identifier) @variable.parameter)

(attached_event
  parameter: (identifier) @variable.parameter)

(authorize_declaration
  username: (identifier) @variable.parameter
  password: (identifier) @variable.parameter)

(authorization_declaration
  parameter: (identifier) @variable.parameter)

(password_declaration
  parameter: (identifier) @variable.parameter)

(web_handler
  parameter: (identifier) @variable.parameter)

(uri_parameter
  name: (identifier) @variable.parameter)

(static_block
  context: (identifier) @variable.parameter)

(lambda_expression
  parameter: (identifier) @variable.parameter)

(where_as_clause
  binding: (identifier) @variable.parameter)

(rank_clause
  binding: (identifier) @variable.parameter)

; Fields and members

(field_declaration
  name: (identifier) @variable.member)

(formula_declaration
  name: (identifier) @variable.member)

(cached_formula_declaration
  name: (identifier) @variable.member)

(bubble_declaration
  name: (identifier) @variable.member)

(view_declaration
  name: (identifier) @variable.member)

(message_field
  name: (identifier) @variable.member)

(privacy
  field: (identifier) @variable.member)

(index_declaration
  field: (identifier) @variable.member)

(member_expression
  member: (identifier) @variable.member)

(order_key
  field: (identifier) @variable.member)

(reduce_clause
  key: (identifier) @variable.member)

(unique_clause
  key: (identifier) @variable.member)

(object_field
  name: (identifier) @property)

(static_setting
  name: (identifier) @property)

(service_setting
  name: (identifier) @property)

(link_parameter
  name: (identifier) @property)

(annotation_entry
  key: (identifier) @attribute)

; Library globals such as Math, String, Template.
(member_expression
  object: (identifier) @type
  (#match? @type "^[A-Z]"))

; Modules and services

(service_declaration
  name: (identifier) @module)

(link_declaration
  name: (identifier) @module)

(replication_declaration
  service: (identifier) @module
  method: (identifier) @function.method)

(service_method
  name: (identifier) @function.method)

(service_replication
  name: (identifier) @function.method)

(include_path
  (identifier) @module)

(uri
  segment: (identifier) @string.special.path)

(uri
  segment: (string) @string.special.path)

; Constants

(enum_label
  name: (identifier) @constant)

(enum_value
  enum: (identifier) @type)

(enum_value
  label: (identifier) @constant)

(dispatch_pattern
  label: (identifier) @constant)

(at_constant) @constant.builtin

(timespan_literal
  unit: (identifier) @constant.builtin)

(cached_formula_declaration
  unit: (identifier) @constant.builtin)

(label) @label

; Literals

(number) @number

(string) @string

(template_literal) @string

(boolean) @boolean

; Keywords

[
  "record"
  "message"
  "enum"
  "assoc"
] @keyword.type

[
  "function"
  "procedure"
  "method"
  "dispatch"
  "rpc"
] @keyword.function

"return" @keyword.return

[
  "if"
  "else"
  "switch"
  "case"
  "default"
] @keyword.conditional

[
  "for"
  "foreach"
  "while"
  "do"
  "break"
  "continue"
] @keyword.repeat

[
  "abort"
  "@aborts"
] @keyword.exception

[
  "@include"
  "@import"
] @keyword.import

[
  "public"
  "private"
  "viewer_is"
  "use_policy"
  "use"
  "readonly"
  "mutable"
  "required"
  "lossy"
  "open"
  "requires"
  "secured"
  "aborts"
  "viewer"
] @keyword.modifier

(field_option
  "unique" @keyword.modifier)

[
  "inside"
  "outside"
  "as"
  "in"
  "into"
  "iterate"
  "where"
  "where_as"
  "order"
  "order_dyn"
  "by"
  "asc"
  "desc"
  "insensitive"
  "limit"
  "offset"
  "reduce"
  "on"
  "first"
  "last"
  "rank"
  "threshold"
  "traverse"
] @keyword.operator

(shuffle_clause) @keyword.operator

(materialize_clause) @keyword.operator

(map_clause
  "map" @keyword.operator)

(unique_clause
  "unique" @keyword.operator)

(reduce_clause
  "via" @keyword.operator)

[
  "formula"
  "auto"
  "cached"
  "once"
  "every"
  "bubble"
  "view"
  "channel"
  "policy"
  "filter"
  "require"
  "index"
  "ingested"
  "service"
  "replication"
  "metric"
  "join"
  "from"
  "to"
  "template"
  "test"
  "let"
  "var"
  "block"
  "transition"
  "invoke"
  "preempt"
  "assert"
  "log"
  "create"
  "invent"
  "send"
  "daily"
  "hourly"
  "monthly"
] @keyword

(join_declaration
  "via" @keyword)

(web_method) @keyword

[
  "@construct"
  "@connected"
  "@disconnected"
  "@delete"
  "@load"
  "@can_attach"
  "@attached"
  "@static"
  "@web"
  "@cron"
  "@link"
  "@authorize"
  "@authorization"
  "@password"
  "@traffic"
  "@parsed"
  "@csv"
  "@default"
  "@updated"
  "@bump"
  "@silent"
] @attribute

[
  "@step"
  "@forward"
  "@pump"
  "@send"
] @keyword

[
  "@datetime"
  "@date"
  "@time"
  "@timespan"
  "@empty"
  "@maybe"
  "@pair"
  "@convert"
] @function.builtin

"@lambda" @keyword.function

; Operators

(binary_expression
  operator: _ @operator)

(compound_assignment
  operator: _ @operator)

(prefix_expression
  operator: _ @operator)

(postfix_update_expression
  operator: _ @operator)

[
  "="
  "<-"
  "->"
] @operator

(timespan_literal
  negative: "-" @operator)

(enum_value
  "*" @character.special)

(dispatch_pattern
  "*" @character.special)

(uri_parameter
  "*" @character.special)

(uri_parameter
  "$" @punctuation.special)

(conditional_expression
  [
    "?"
    ":"
  ] @keyword.conditional.ternary)

; Punctuation

[
  "("
  ")"
  "["
  "]"
  "{"
  "}"
  "[]"
] @punctuation.bracket

[
  ";"
  ","
  "."
  "::"
  "|"
] @punctuation.delimiter

(uri
  "/" @punctuation.delimiter)

(include_path
  "/" @punctuation.delimiter)

(date_literal
  "/" @punctuation.delimiter)

(time_literal
  ":" @punctuation.delimiter)

(cron_schedule
  ":" @punctuation.delimiter)

(enum_label
  ":" @punctuation.delimiter)

(object_field
  ":" @punctuation.delimiter)

(template_declaration
  ":" @punctuation.delimiter)

(where_as_clause
  ":" @punctuation.delimiter)

(rank_clause
  ":" @punctuation.delimiter)

(lambda_expression
  ":" @punctuation.delimiter)

(replication_declaration
  ":" @punctuation.delimiter)

(uri_parameter
  ":" @punctuation.delimiter)

(condition
  [
    "("
    ")"
  ] @punctuation.bracket)

; Angle brackets of type arguments and guards; `<` and `>` are operators only in binary_expression.
(generic_type
  [
    "<"
    ">"
  ] @punctuation.bracket)

(projection_type
  [
    "<"
    ">"
  ] @punctuation.bracket)

(guard
  [
    "<"
    ">"
  ] @punctuation.bracket)

(privacy
  [
    "<"
    ">"
  ] @punctuation.bracket)

(cached_formula_declaration
  [
    "<"
    ">"
  ] @punctuation.bracket)

(async_channel_declaration
  [
    "<"
    ">"
  ] @punctuation.bracket)

(service_method
  [
    "<"
    ">"
  ] @punctuation.bracket)

(service_replication
  [
    "<"
    ">"
  ] @punctuation.bracket)

(replication_declaration
  [
    "<"
    ">"
  ] @punctuation.bracket)

(assoc_declaration
  [
    "<"
    ">"
  ] @punctuation.bracket)

(empty_literal
  [
    "<"
    ">"
  ] @punctuation.bracket)

(maybe_literal
  [
    "<"
    ">"
  ] @punctuation.bracket)

(convert_expression
  [
    "<"
    ">"
  ] @punctuation.bracket)
