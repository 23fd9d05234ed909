; Types

((comment)* @doc
  .
  (record_declaration
    name: (identifier) @name) @definition.class
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.class))

((comment)* @doc
  .
  (message_declaration
    name: (identifier) @name) @definition.class
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.class))

(enum_declaration
  name: (identifier) @name) @definition.enum

(service_declaration
  name: (identifier) @name) @definition.interface

(link_declaration
  name: (identifier) @name) @definition.module

; Code

((comment)* @doc
  .
  (function_declaration
    name: (identifier) @name) @definition.function
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.function))

((comment)* @doc
  .
  (procedure_declaration
    name: (identifier) @name) @definition.function
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.function))

((comment)* @doc
  .
  (method_declaration
    name: (identifier) @name) @definition.method
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.method))

(dispatch_declaration
  name: (identifier) @name) @definition.method

(service_method
  name: (identifier) @name) @definition.method

((comment)* @doc
  .
  (channel_declaration
    name: (identifier) @name) @definition.function
  (#strip! @doc "^//\\s*")
  (#select-adjacent! @doc @definition.function))

(async_channel_declaration
  name: (identifier) @name) @definition.function

(rpc_declaration
  name: (identifier) @name) @definition.function

(policy_declaration
  name: (identifier) @name) @definition.function

(filter_declaration
  name: (identifier) @name) @definition.function

(cron_declaration
  name: (identifier) @name) @definition.function

(test_declaration
  name: (identifier) @name) @definition.function

(state_block
  label: (label) @name) @definition.function

(web_handler
  path: (uri) @name) @definition.function

(template_declaration
  name: (identifier) @name) @definition.constant

; References

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (member_expression
    member: (identifier) @name)) @reference.call

(include_declaration
  path: (include_path) @name) @reference.module
