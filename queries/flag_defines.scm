; #define KF_ACQUIRE (1 << 0) in include/linux/btf.h
(preproc_def
  name: (identifier) @flag_name
  value: (preproc_arg) @flag_value
  (#match? @flag_name "^KF_"))
