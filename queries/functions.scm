; Every function definition. The Rust side walks @declarator down to the
; function_declarator for the name and parameters, since pointer return
; types nest it (`struct task_struct *f(...)` is a pointer_declarator).
(function_definition
  declarator: (_) @declarator
  body: (compound_statement)) @function
