//! ebpf-docs' `data/kfuncs.yaml`, read in the shape its generator
//! (`tools/kfunc-gen/main.go`, gopkg.in/yaml.v3) decodes it into, every
//! value with its position:
//!
//! ```text
//! sets: {NAME: {funcs: [{name, flags: [..], except: {program_types: [PT]}}],
//!               program_types: [PT], attach_type: [..]}}
//! PT = {name, since: {version, commit}, until: {version, commit}}
//! ```
//!
//! What yaml.v3 would refuse (a sequence where a mapping belongs, a set
//! named twice) is an error here too; a key the Go structs do not have,
//! which yaml.v3 drops silently, is kept as an [`UnknownKey`] to report.

use super::yaml_tree::{self, Node, Pos, YamlError};
use std::collections::HashMap;

/// A value and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub pos: Pos,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KfuncsFile {
    /// In the order written.
    pub sets: Vec<SetSpec>,
    /// Where `sets:` is written (1:1 when it is not).
    pub sets_pos: Pos,
    /// Keys the generator does not read (typos, mostly).
    pub unknown_keys: Vec<UnknownKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKey {
    pub key: String,
    pub pos: Pos,
    /// Where it is (`set foo`, `bpf_x in set foo`).
    pub context: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetSpec {
    pub name: At<String>,
    pub funcs: Vec<FuncSpec>,
    pub program_types: Vec<ProgTypeSpec>,
    pub attach_types: Vec<At<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FuncSpec {
    pub name: At<String>,
    pub flags: Vec<At<String>>,
    /// `except: {program_types: [..]}`: types the verifier refuses it for.
    pub except: Vec<ProgTypeSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgTypeSpec {
    pub name: At<String>,
    pub since: Option<VersionRef>,
    pub until: Option<VersionRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    pub version: String,
    pub commit: String,
}

/// Reads the file's text. Errors are those the generator would stop at.
pub fn read(text: &str) -> Result<KfuncsFile, YamlError> {
    let root = yaml_tree::parse(text)?;
    let mut r = Reader::default();
    let mut sets = Vec::new();
    let mut sets_pos = Pos { line: 1, col: 1 };
    for (key, value) in r.fields(&root, &["sets"], "the top level")? {
        if key.value == "sets" {
            sets_pos = key.pos;
            let Node::Map(entries, _) = value else {
                return Err(shape(value, "`sets` to be a mapping of set names"));
            };
            check_unique_keys(entries, "set")?;
            for (k, v) in entries {
                sets.push(r.set(k, v)?);
            }
        }
    }
    Ok(KfuncsFile {
        sets,
        sets_pos,
        unknown_keys: r.unknown,
    })
}

fn shape(n: &Node, expected: &str) -> YamlError {
    YamlError {
        pos: n.pos(),
        message: format!("expected {expected}, found {}", n.kind()),
    }
}

/// yaml.v3 refuses a mapping that names a key twice. Only scalar keys can
/// be the same (a collection as a key is compared with its position, which
/// no other has); one pass, each key looked up among those before it.
fn check_unique_keys(entries: &[(Node, Node)], what: &str) -> Result<(), YamlError> {
    let mut seen: HashMap<&str, Pos> = HashMap::with_capacity(entries.len());
    for (k, _) in entries {
        let Node::Scalar(text, pos) = k else {
            continue;
        };
        if let Some(first) = seen.insert(text, *pos) {
            return Err(YamlError {
                pos: *pos,
                message: format!(
                    "{what} {} is already defined at line {}",
                    key_text(k),
                    first.line
                ),
            });
        }
    }
    Ok(())
}

fn key_text(n: &Node) -> String {
    match n {
        Node::Scalar(s, _) => format!("`{s}`"),
        other => other.kind().to_string(),
    }
}

#[derive(Default)]
struct Reader {
    unknown: Vec<UnknownKey>,
}

impl Reader {
    /// A mapping's entries whose keys are among `known`; the others are
    /// noted as unknown. A null is an empty mapping, as yaml.v3 takes it.
    fn fields<'n>(
        &mut self,
        n: &'n Node,
        known: &[&str],
        context: &str,
    ) -> Result<Vec<(At<String>, &'n Node)>, YamlError> {
        if n.is_null() {
            return Ok(Vec::new());
        }
        let Node::Map(entries, _) = n else {
            return Err(shape(n, &format!("a mapping for {context}")));
        };
        check_unique_keys(entries, "key")?;
        let mut out = Vec::new();
        for (k, v) in entries {
            let key = scalar(k, "a key")?;
            if known.contains(&key.value.as_str()) {
                out.push((key, v));
            } else {
                self.unknown.push(UnknownKey {
                    key: key.value,
                    pos: key.pos,
                    context: context.to_string(),
                });
            }
        }
        Ok(out)
    }

    fn set(&mut self, k: &Node, v: &Node) -> Result<SetSpec, YamlError> {
        let name = scalar(k, "a set name")?;
        let ctx = format!("set `{}`", name.value);
        let mut set = SetSpec {
            name,
            funcs: Vec::new(),
            program_types: Vec::new(),
            attach_types: Vec::new(),
        };
        for (key, value) in self.fields(v, &["funcs", "program_types", "attach_type"], &ctx)? {
            match key.value.as_str() {
                "funcs" => {
                    for f in seq(value, "a sequence of functions")? {
                        set.funcs.push(self.func(f, &ctx)?);
                    }
                }
                "program_types" => set.program_types = self.prog_types(value, &ctx)?,
                _ => {
                    for a in seq(value, "a sequence of attach types")? {
                        set.attach_types.push(scalar(a, "an attach type name")?);
                    }
                }
            }
        }
        Ok(set)
    }

    fn func(&mut self, n: &Node, set_ctx: &str) -> Result<FuncSpec, YamlError> {
        let fields = self.fields(
            n,
            &["name", "flags", "except"],
            &format!("a function of {set_ctx}"),
        )?;
        let mut name = None;
        let mut flags = Vec::new();
        let mut except = Vec::new();
        for (key, value) in fields {
            match key.value.as_str() {
                "name" => name = Some(scalar(value, "a function name")?),
                "flags" => {
                    for f in seq(value, "a sequence of flags")? {
                        flags.push(scalar(f, "a flag name")?);
                    }
                }
                _ => {
                    let ctx = format!("the `except` of a function of {set_ctx}");
                    for (k2, v2) in self.fields(value, &["program_types"], &ctx)? {
                        let _ = k2;
                        except = self.prog_types(v2, &ctx)?;
                    }
                }
            }
        }
        let name = name.ok_or_else(|| YamlError {
            pos: n.pos(),
            message: format!("a function of {set_ctx} has no `name`"),
        })?;
        Ok(FuncSpec {
            name,
            flags,
            except,
        })
    }

    fn prog_types(&mut self, n: &Node, ctx: &str) -> Result<Vec<ProgTypeSpec>, YamlError> {
        let mut out = Vec::new();
        for item in seq(n, "a sequence of program types")? {
            // `- BPF_PROG_TYPE_X`: the older shape, which the generator's
            // struct cannot take
            if let Node::Scalar(..) = item {
                return Err(shape(
                    item,
                    "a program type as a mapping (`- name: BPF_PROG_TYPE_…`)",
                ));
            }
            let mut spec = ProgTypeSpec {
                name: At {
                    value: String::new(),
                    pos: item.pos(),
                },
                since: None,
                until: None,
            };
            let mut named = false;
            for (key, value) in self.fields(item, &["name", "since", "until"], ctx)? {
                match key.value.as_str() {
                    "name" => {
                        spec.name = scalar(value, "a program type name")?;
                        named = true;
                    }
                    "since" => spec.since = Some(self.version(value, ctx)?),
                    _ => spec.until = Some(self.version(value, ctx)?),
                }
            }
            if !named {
                return Err(YamlError {
                    pos: item.pos(),
                    message: format!("a program type of {ctx} has no `name`"),
                });
            }
            out.push(spec);
        }
        Ok(out)
    }

    fn version(&mut self, n: &Node, ctx: &str) -> Result<VersionRef, YamlError> {
        let mut v = VersionRef {
            version: String::new(),
            commit: String::new(),
        };
        for (key, value) in self.fields(n, &["version", "commit"], ctx)? {
            let s = scalar(value, "a scalar")?.value;
            if key.value == "version" {
                v.version = s;
            } else {
                v.commit = s;
            }
        }
        Ok(v)
    }
}

fn scalar(n: &Node, what: &str) -> Result<At<String>, YamlError> {
    match n {
        Node::Scalar(s, p) => Ok(At {
            value: s.clone(),
            pos: *p,
        }),
        other => Err(shape(other, what)),
    }
}

/// A sequence's items; a null is an empty sequence, as yaml.v3 takes it.
fn seq<'n>(n: &'n Node, what: &str) -> Result<&'n [Node], YamlError> {
    match n {
        Node::Seq(items, _) => Ok(items),
        other if other.is_null() => Ok(&[]),
        other => Err(shape(other, what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key_with_positions() {
        let f = read(concat!(
            "sets:\n",
            "  s1:\n",
            "    funcs:\n",
            "      - name: f\n",
            "        flags: [KF_ACQUIRE]\n",
            "        except:\n",
            "          program_types:\n",
            "            - name: BPF_PROG_TYPE_KPROBE\n",
            "    program_types:\n",
            "      - name: BPF_PROG_TYPE_TRACING\n",
            "        since:\n",
            "          version: 6.12\n",
            "          commit: abc\n",
            "    attach_type:\n",
            "      - BPF_TRACE_ITER\n",
            "    typo: 1\n",
        ))
        .unwrap();
        let s = &f.sets[0];
        assert_eq!(s.name.value, "s1");
        assert_eq!(s.funcs[0].flags[0].pos, Pos { line: 5, col: 17 });
        assert_eq!(s.funcs[0].except[0].name.value, "BPF_PROG_TYPE_KPROBE");
        assert_eq!(s.program_types[0].since.as_ref().unwrap().version, "6.12");
        assert_eq!(s.attach_types[0].value, "BPF_TRACE_ITER");
        assert_eq!(f.unknown_keys[0].key, "typo");
    }

    #[test]
    fn refuses_what_the_generator_refuses() {
        // program types as bare strings: the older shape
        let e = read("sets:\n  s:\n    program_types:\n      - BPF_PROG_TYPE_XDP\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 4, col: 9 });
        // a set named twice
        let e = read("sets:\n  s:\n    funcs: []\n  s:\n    funcs: []\n").unwrap_err();
        assert!(e.message.contains("already defined at line 2"), "{e:?}");
        assert!(read("sets: [1]\n").is_err());
        assert!(read("sets:\n  s:\n    funcs:\n      - flags: [A]\n").is_err());
    }
}
