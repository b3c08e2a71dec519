//! A kernel build's view of a source tree, from its `.config` and Kbuild
//! makefiles: which configuration symbols are set, whether a preprocessor
//! condition holds, and which object (vmlinux, a module, or none) each
//! source file is built into. Knows nothing of kfuncs.
