//! A YAML document as a tree whose every node knows its line and column,
//! built from yaml-rust2's event parser: what the linter needs to point at
//! the entry it reports on. Aliases are refused (ebpf-docs' file uses
//! none, and an alias would have no position of its own).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Scalar(String, Pos),
    Seq(Vec<Node>, Pos),
    /// Keys and values in the order written (a key may appear twice).
    Map(Vec<(Node, Node)>, Pos),
}

impl Node {
    pub(crate) fn pos(&self) -> Pos {
        match self {
            Node::Scalar(_, p) | Node::Seq(_, p) | Node::Map(_, p) => *p,
        }
    }

    /// What kind of node it is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Scalar(..) => "a scalar",
            Node::Seq(..) => "a sequence",
            Node::Map(..) => "a mapping",
        }
    }

    /// A plain empty scalar (`key:` with nothing after it) is YAML's null.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s, _) if s.is_empty() || s == "~" || s == "null")
    }
}

/// Why a text is not a YAML document this reader takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

fn pos(m: &Marker) -> Pos {
    // yaml-rust2 counts lines from 1 and columns from 0
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        col: u32::try_from(m.col()).unwrap_or(u32::MAX - 1) + 1,
    }
}

/// An open collection while events arrive.
enum Open {
    Seq(Vec<Node>, Pos),
    Map(Vec<(Node, Node)>, Option<Node>, Pos),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Node>,
    error: Option<YamlError>,
    documents: usize,
}

impl Builder {
    fn fail(&mut self, p: Pos, message: &str) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                pos: p,
                message: message.to_string(),
            });
        }
    }

    /// A finished node goes into the collection that is open, or is the root.
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Open::Seq(items, _)) => items.push(node),
            Some(Open::Map(entries, key, _)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => self.root = Some(node),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let p = pos(&mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(p, "more than one YAML document");
                }
            }
            Event::Alias(_) => self.fail(p, "YAML aliases are not supported here"),
            Event::Scalar(v, ..) => self.push(Node::Scalar(v, p)),
            Event::SequenceStart(..) => self.stack.push(Open::Seq(Vec::new(), p)),
            Event::MappingStart(..) => self.stack.push(Open::Map(Vec::new(), None, p)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(items, at)) => self.push(Node::Seq(items, at)),
                Some(Open::Map(entries, _, at)) => self.push(Node::Map(entries, at)),
                None => self.fail(p, "unbalanced YAML events"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Parses one YAML document. An empty text is an empty scalar.
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, true).map_err(|e| YamlError {
        pos: pos(e.marker()),
        message: e.info().to_string(),
    })?;
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.root
        .unwrap_or(Node::Scalar(String::new(), Pos { line: 1, col: 1 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_values() {
        let n = parse("sets:\n  a:\n    funcs:\n      - name: f\n        flags: [X, Y]\n").unwrap();
        let Node::Map(top, _) = &n else { panic!() };
        let Node::Map(sets, _) = &top[0].1 else {
            panic!()
        };
        assert_eq!(sets[0].0.pos(), Pos { line: 2, col: 3 });
        let Node::Map(set, _) = &sets[0].1 else {
            panic!()
        };
        let Node::Seq(funcs, _) = &set[0].1 else {
            panic!()
        };
        let Node::Map(f, _) = &funcs[0] else { panic!() };
        assert_eq!(f[0].1, Node::Scalar("f".into(), Pos { line: 4, col: 15 }));
        let Node::Seq(flags, _) = &f[1].1 else {
            panic!()
        };
        assert_eq!(flags[1].pos(), Pos { line: 5, col: 20 });
    }

    #[test]
    fn refuses_aliases_and_bad_syntax() {
        assert!(parse("a: &x 1\nb: *x\n").is_err());
        let e = parse("a: [1, 2\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e:?}");
        assert_eq!(
            parse("").unwrap(),
            Node::Scalar(String::new(), Pos { line: 1, col: 1 })
        );
    }
}
