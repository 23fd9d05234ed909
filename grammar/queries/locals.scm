; Scopes

[
  (document)
  (record_declaration)
  (message_declaration)
  (function_declaration)
  (procedure_declaration)
  (method_declaration)
  (dispatch_declaration)
  (channel_declaration)
  (rpc_declaration)
  (constructor_declaration)
  (attached_event)
  (authorize_declaration)
  (authorization_declaration)
  (password_declaration)
  (web_handler)
  (static_block)
  (block)
  (if_statement)
  (for_statement)
  (foreach_statement)
  (lambda_expression)
  (where_as_clause)
  (rank_clause)
] @local.scope

; Definitions: types

(record_declaration
  name: (identifier) @local.definition.type
  (#set! definition.type.scope "parent"))

(message_declaration
  name: (identifier) @local.definition.type
  (#set! definition.type.scope "parent"))

(enum_declaration
  name: (identifier) @local.definition.type)

(enum_label
  name: (identifier) @local.definition.constant)

; Definitions: code. The name belongs to the enclosing scope, not to the body's.

(function_declaration
  name: (identifier) @local.definition.function
  (#set! definition.function.scope "parent"))

(procedure_declaration
  name: (identifier) @local.definition.function
  (#set! definition.function.scope "parent"))

(method_declaration
  name: (identifier) @local.definition.method
  (#set! definition.method.scope "parent"))

(dispatch_declaration
  name: (identifier) @local.definition.method
  (#set! definition.method.scope "parent"))

(channel_declaration
  name: (identifier) @local.definition.function
  (#set! definition.function.scope "parent"))

(rpc_declaration
  name: (identifier) @local.definition.function
  (#set! definition.function.scope "parent"))

(policy_declaration
  name: (identifier) @local.definition.function)

(filter_declaration
  name: (identifier) @local.definition.function)

(cron_declaration
  name: (identifier) @local.definition.function)

(test_declaration
  name: (identifier) @local.definition.function)

(template_declaration
  name: (identifier) @local.definition.constant)

(service_declaration
  name: (identifier) @local.definition.namespace)

(link_declaration
  name: (identifier) @local.definition.namespace)

; Definitions: fields and document-level values

(field_declaration
  name: (identifier) @local.definition.field)

(formula_declaration
  name: (identifier) @local.definition.field)

(cached_formula_declaration
  name: (identifier) @local.definition.field)

(bubble_declaration
  name: (identifier) @local.definition.field)

(view_declaration
  name: (identifier) @local.definition.field)

(message_field
  name: (identifier) @local.definition.field)

(async_channel_declaration
  name: (identifier) @local.definition.var)

(replication_declaration
  name: (identifier) @local.definition.var)

(metric_declaration
  name: (identifier) @local.definition.var)

(assoc_declaration
  name: (identifier) @local.definition.var)

; Definitions: parameters

(parameter
  name: (identifier) @local.definition.parameter)

(channel_declaration
  parameter: (identifier) @local.definition.parameter)

(rpc_declaration
  who: (identifier) @local.definition.parameter)

(constructor_declaration
  parameter: (identifier) @local.definition.parameter)

(attached_event
  parameter: (identifier) @local.definition.parameter)

(authorize_declaration
  username: (identifier) @local.definition.parameter
  password: (identifier) @local.definition.parameter)

(authorization_declaration
  parameter: (identifier) @local.definition.parameter)

(password_declaration
  parameter: (identifier) @local.definition.parameter)

(web_handler
  parameter: (identifier) @local.definition.parameter)

(uri_parameter
  name: (identifier) @local.definition.parameter)

(static_block
  context: (identifier) @local.definition.parameter)

(lambda_expression
  parameter: (identifier) @local.definition.parameter)

(where_as_clause
  binding: (identifier) @local.definition.parameter)

(rank_clause
  binding: (identifier) @local.definition.parameter)

; Definitions: locals

(local_declaration
  name: (identifier) @local.definition.var)

(inferred_declaration
  name: (identifier) @local.definition.var)

(foreach_statement
  variable: (identifier) @local.definition.var)

(condition
  binding: (identifier) @local.definition.var)

(ingestion_statement
  binding: (identifier) @local.definition.var)

; References

(identifier) @local.reference

(type_identifier) @local.reference
