//! The kfunc sets a built kernel object holds, read from its `.BTF_ids`
//! section and `.BTF`: the ground truth the scanner's build view is checked
//! against, derived without the scanner.
