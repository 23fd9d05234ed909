[
  (block)
  (record_body)
  (message_body)
  (enum_declaration)
  (static_block)
  (service_declaration)
  (link_declaration)
  (parameters)
  (arguments)
  (annotation)
  (object_expression)
  (array_expression)
  (tuple_expression)
  (parenthesized_expression)
] @indent.begin

; A body without braces is indented under its head. Blocks are left out: they indent themselves.
(if_statement
  consequence: [
    (empty_statement)
    (if_statement)
    (local_declaration)
    (inferred_declaration)
    (while_statement)
    (do_statement)
    (for_statement)
    (foreach_statement)
    (switch_statement)
    (return_statement)
    (break_statement)
    (continue_statement)
    (abort_statement)
    (block_statement)
    (transition_statement)
    (invoke_statement)
    (preempt_statement)
    (assert_statement)
    (log_statement)
    (step_statement)
    (forward_statement)
    (pump_statement)
    (send_statement)
    (assignment_statement)
    (ingestion_statement)
    (expression_statement)
  ]) @indent.begin

; `else if` is not indented.
(if_statement
  alternative: [
    (empty_statement)
    (local_declaration)
    (inferred_declaration)
    (while_statement)
    (do_statement)
    (for_statement)
    (foreach_statement)
    (switch_statement)
    (return_statement)
    (break_statement)
    (continue_statement)
    (abort_statement)
    (block_statement)
    (transition_statement)
    (invoke_statement)
    (preempt_statement)
    (assert_statement)
    (log_statement)
    (step_statement)
    (forward_statement)
    (pump_statement)
    (send_statement)
    (assignment_statement)
    (ingestion_statement)
    (expression_statement)
  ]) @indent.begin

; Loops and every declaration with a body (`#idle x = 1;`, `policy p return true;`).
(_
  body: [
    (empty_statement)
    (if_statement)
    (local_declaration)
    (inferred_declaration)
    (while_statement)
    (do_statement)
    (for_statement)
    (foreach_statement)
    (switch_statement)
    (return_statement)
    (break_statement)
    (continue_statement)
    (abort_statement)
    (block_statement)
    (transition_statement)
    (invoke_statement)
    (preempt_statement)
    (assert_statement)
    (log_statement)
    (step_statement)
    (forward_statement)
    (pump_statement)
    (send_statement)
    (assignment_statement)
    (ingestion_statement)
    (expression_statement)
  ]) @indent.begin

(block
  "}" @indent.end)

(record_body
  "}" @indent.end)

(message_body
  "}" @indent.end)

(enum_declaration
  "}" @indent.end)

(static_block
  "}" @indent.end)

(service_declaration
  "}" @indent.end)

(link_declaration
  "}" @indent.end)

(object_expression
  "}" @indent.end)

[
  "}"
  ")"
  "]"
  "else"
  (case_label)
  (default_label)
] @indent.branch

[
  (string)
  (template_literal)
] @indent.ignore

(comment) @indent.auto
