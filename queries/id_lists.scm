; BTF_ID_LIST(name) followed by BTF_ID(func, f) lines: the verifier's tables,
; among them `magic_kfuncs` (pairs of foo, foo_impl).
(declaration
  type: (type_identifier) @list_macro
  declarator: (identifier) @list_name
  (#eq? @list_macro "BTF_ID_LIST"))

(call_expression
  function: (identifier) @id_macro
  arguments: (argument_list
    .
    (identifier) @id_kind
    .
    (identifier) @id_name
    .)
  (#eq? @id_macro "BTF_ID"))
