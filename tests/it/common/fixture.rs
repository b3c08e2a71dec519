//! Synthetic BTF for a manifest's kfuncs, built with the crate's own writer:
//! the prototypes a pahole run over that source would give, in simplified
//! types (struct pointers to forward declarations, integers by name).

use kfunc_scan::btf::{Btf, Endian, NewType};
use kfunc_scan::manifest::Manifest;
use std::collections::HashMap;

pub struct Builder {
    pub btf: Btf,
    cache: HashMap<String, u32>,
}

impl Builder {
    pub fn new(endian: Endian) -> Builder {
        Builder {
            btf: Btf::empty(endian),
            cache: HashMap::new(),
        }
    }

    fn add(&mut self, t: NewType) -> u32 {
        self.btf.add_type(&t).expect("add type")
    }

    /// The BTF type for a C type as the manifest writes it.
    pub fn ty(&mut self, text: &str) -> u32 {
        let text = text.trim();
        if text == "void" {
            return 0;
        }
        if let Some(&id) = self.cache.get(text) {
            return id;
        }
        let id = if text.contains("(*)") {
            // a function pointer: int (*)(...) → PTR → FUNC_PROTO(int)
            let ret = self.ty(text.split("(*)").next().unwrap_or("int"));
            let proto = self.add(NewType::func_proto(ret, &[]));
            self.ptr(proto)
        } else if let Some(inner) = text.strip_suffix(" const") {
            // `T *const`: the pointer itself const
            let target = self.ty(inner);
            self.add(NewType::const_(target))
        } else if let Some(inner) = text.strip_suffix('*') {
            let target = self.ty(inner);
            self.ptr(target)
        } else if let Some(inner) = text.strip_prefix("const ") {
            let target = self.ty(inner);
            self.add(NewType::const_(target))
        } else if let Some(name) = text.strip_prefix("struct ") {
            let name_off = self.string(name);
            self.add(NewType::fwd(name_off, false))
        } else {
            let (size, signed) = match text {
                "u8" | "__u8" | "unsigned char" => (1, false),
                "u16" => (2, false),
                "int" => (4, true),
                "u32" | "unsigned int" => (4, false),
                "long" => (8, true),
                "u64" | "unsigned long" | "size_t" => (8, false),
                _ => (4, true),
            };
            let name_off = self.string(text);
            self.add(NewType::int(name_off, size, signed))
        };
        self.cache.insert(text.to_string(), id);
        id
    }

    fn ptr(&mut self, target: u32) -> u32 {
        self.add(NewType::ptr(target))
    }

    pub fn string(&mut self, s: &str) -> u32 {
        self.btf.add_string(s).expect("add string")
    }

    /// FUNC_PROTO and FUNC (global linkage) for each kfunc `keep` accepts;
    /// returns name → FUNC id.
    pub fn kfuncs(&mut self, m: &Manifest, keep: impl Fn(&str) -> bool) -> HashMap<String, u32> {
        let mut ids = HashMap::new();
        for k in m.kfuncs.iter().filter(|k| keep(&k.file)) {
            let ret = self.ty(&k.return_type);
            let params: Vec<(u32, u32)> = k
                .params
                .iter()
                .map(|p| {
                    let t = self.ty(&p.ty);
                    (self.string(&p.name), t)
                })
                .collect();
            let proto = self.add(NewType::func_proto(ret, &params));
            let name = self.string(&k.name);
            let id = self.add(NewType::func(name, 1, proto));
            ids.insert(k.name.clone(), id);
        }
        ids
    }

    pub fn tag(&mut self, name: &str, target: u32, idx: i32) -> u32 {
        let n = self.string(name);
        self.add(NewType::decl_tag(n, target, idx, false))
    }

    /// The finished blob, read back through the crate's reader.
    pub fn finish(self) -> Vec<u8> {
        let bytes = self.btf.to_bytes();
        Btf::parse(&bytes, None).expect("fixture BTF is valid");
        bytes
    }
}
