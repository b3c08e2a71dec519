; static const struct btf_kfunc_id_set x = { .owner = ..., .set = &ids, .filter = f };
(declaration
  type: (struct_specifier
    name: (type_identifier) @struct_name)
  declarator: (init_declarator
    declarator: (identifier) @id_set_var
    value: (initializer_list) @id_set_init)
  (#eq? @struct_name "btf_kfunc_id_set"))
