; Set delimiters and entries.
;
; The masker has already rewritten `BTF_KFUNCS_START(ids)` into the
; declaration `BTF_KFUNCS_START ids;` and given `BTF_ID_FLAGS(...)` its
; missing `;`, so both parse as ordinary C here.

; BTF_KFUNCS_START / BTF_KFUNCS_END / BTF_SET8_START / BTF_SET8_END
(declaration
  type: (type_identifier) @delimiter
  declarator: (identifier) @set_name
  (#match? @delimiter "^BTF_(KFUNCS|SET8)_(START|END)$"))

; BTF_ID_FLAGS(func, name, FLAG | FLAG ...)
(call_expression
  function: (identifier) @entry_macro
  arguments: (argument_list) @entry_args
  (#eq? @entry_macro "BTF_ID_FLAGS"))
