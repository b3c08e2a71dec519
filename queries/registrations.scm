; register_btf_kfunc_id_set(BPF_PROG_TYPE_X, &kfunc_set) and
; register_btf_fmodret_id_set(&kfunc_set). Calls chained with `ret ?: ...`
; are separate call_expressions inside conditional_expressions, so each one
; matches on its own.
(call_expression
  function: (identifier) @register_fn
  arguments: (argument_list) @register_args
  (#match? @register_fn "^register_btf_(kfunc|fmodret)_id_set$"))
