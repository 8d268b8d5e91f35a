//! Where each field of a YAML document was written: a map from field paths such as
//! `faults[1].at` or `target.memory` to 1-based line and column, built from yaml-rust2's marked
//! events.
//!
//! Keys are located at the key itself; sequence items at the item. Paths use the same syntax as
//! serde_yaml's error paths (`a.b[2].c`), so both can be looked up in one map.

use std::collections::HashMap;
use std::sync::OnceLock;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Field path → (line, column), both 1-based.
///
/// Built on the first [`locate`](Self::locate), not by [`new`](Self::new): a file without
/// problems (the usual case) never asks, and is then parsed once (by serde) instead of twice.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    text: String,
    locations: OnceLock<HashMap<String, (usize, usize)>>,
}

impl SourceMap {
    /// Maps every key and sequence item of the first document in `text`.
    ///
    /// Best effort: on a YAML syntax error the map keeps what was read before it (serde_yaml
    /// reports the syntax error itself, with its own location).
    pub fn new(text: &str) -> Self {
        SourceMap {
            text: text.to_owned(),
            locations: OnceLock::new(),
        }
    }

    fn locations(&self) -> &HashMap<String, (usize, usize)> {
        self.locations.get_or_init(|| {
            let mut builder = Builder::default();
            // A syntax error only cuts the map short; see above.
            let _ = Parser::new_from_str(&self.text).load(&mut builder, false);
            builder.locations
        })
    }

    /// The line and column of `path`, or of its nearest located ancestor
    /// (`faults[1].at` → `faults[1]` → `faults`). `None` when nothing on the way is located.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let locations = self.locations();
        let mut path = path;
        loop {
            if let Some(location) = locations.get(path) {
                return Some(*location);
            }
            path = parent(path)?;
        }
    }
}

/// Two maps are equal when they locate the same paths at the same places.
impl PartialEq for SourceMap {
    fn eq(&self, other: &Self) -> bool {
        self.locations() == other.locations()
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → `""` → `None`.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind(['.', '[']).map_or("", |at| &path[..at]))
}

/// Joins a map key onto a path.
fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[derive(Debug)]
enum Frame {
    /// A mapping at `path`; `key` is the path of the value being read, or `None` when the next
    /// node is a key. `item` is set for a mapping that is a sequence item until it is located:
    /// yaml-rust2 marks a block mapping's start at its first `:`, so the item is located at its
    /// first key instead (or at the start mark, if the mapping is empty).
    Map {
        path: String,
        key: Option<String>,
        item: Option<(String, Marker)>,
    },
    /// A sequence at `path`; `next` is the index of its next item.
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    locations: HashMap<String, (usize, usize)>,
}

impl Builder {
    fn record(&mut self, path: String, mark: Marker) {
        // yaml-rust2 lines are 1-based, columns 0-based. A repeated key keeps its first place.
        self.locations
            .entry(path)
            .or_insert((mark.line(), mark.col() + 1));
    }

    /// Where the node starting now lives, recording keys and sequence items as they come.
    /// `None` for a node that is itself a key, or lies inside one. `is_map` says the node is a
    /// mapping, which a sequence leaves to locate itself (see [`Frame::Map`]).
    fn node_path(&mut self, scalar: Option<&str>, is_map: bool, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let item = format!("{path}[{next}]");
                *next += 1;
                if !is_map {
                    self.record(item.clone(), mark);
                }
                Some(item)
            }
            Some(Frame::Map {
                key: key @ Some(_), ..
            }) => key.take(),
            Some(Frame::Map { path, key, item }) => {
                // This node is a key. Only scalar keys make paths; complex keys are skipped,
                // but the map still expects a value after them.
                let value_path = key_path(path, scalar.unwrap_or("?"));
                *key = Some(value_path.clone());
                let item = item.take();
                if let Some((item, _)) = item {
                    self.record(item, mark);
                }
                if scalar.is_some() {
                    self.record(value_path, mark);
                }
                None
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.node_path(Some(&value), false, mark);
            }
            Event::Alias(_) => {
                self.node_path(None, false, mark);
            }
            Event::MappingStart(..) => {
                let in_seq = matches!(self.stack.last(), Some(Frame::Seq { .. }));
                let path = self.node_path(None, true, mark);
                let item = path.clone().filter(|_| in_seq).map(|p| (p, mark));
                self.stack.push(Frame::Map {
                    path: path.unwrap_or_else(|| "?".into()),
                    key: None,
                    item,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, false, mark);
                self.stack.push(Frame::Seq {
                    path: path.unwrap_or_else(|| "?".into()),
                    next: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Map {
                    item: Some((item, start)),
                    ..
                }) = self.stack.pop()
                {
                    self.record(item, start);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
name: demo
target:
  image: leaky
  health: { path: /health, interval: 50ms }
faults:
  - kind: memory-leak
    at: 3s
  -   kind: cpu-burn
      at: 2s
      extra:
        - a
        - [b, c]
healer:
  runbooks: [one, two]
  empty: [{}, {a: 1}]
";

    #[test]
    fn keys_and_items_are_located_at_their_first_character() {
        let map = SourceMap::new(DOC);
        let cases = [
            ("name", (1, 1)),
            ("target", (2, 1)),
            ("target.image", (3, 3)),
            ("target.health", (4, 3)),
            ("target.health.path", (4, 13)),
            ("target.health.interval", (4, 28)),
            ("faults", (5, 1)),
            ("faults[0]", (6, 5)),
            ("faults[0].kind", (6, 5)),
            ("faults[0].at", (7, 5)),
            ("faults[1]", (8, 7)),
            ("faults[1].kind", (8, 7)),
            ("faults[1].at", (9, 7)),
            ("faults[1].extra", (10, 7)),
            ("faults[1].extra[0]", (11, 11)),
            ("faults[1].extra[1]", (12, 11)),
            ("faults[1].extra[1][1]", (12, 15)),
            ("healer.runbooks", (14, 3)),
            ("healer.runbooks[1]", (14, 19)),
            ("healer.empty[0]", (15, 11)),
            ("healer.empty[1]", (15, 16)),
            ("healer.empty[1].a", (15, 16)),
        ];
        for (path, want) in cases {
            assert_eq!(map.locate(path), Some(want), "{path}");
        }
    }

    #[test]
    fn unknown_paths_fall_back_to_the_nearest_located_ancestor() {
        let map = SourceMap::new(DOC);
        assert_eq!(map.locate("faults[0].rate"), Some((6, 5)));
        assert_eq!(map.locate("faults[7].at"), Some((5, 1)));
        assert_eq!(map.locate("target.health.timeout"), Some((4, 3)));
        assert_eq!(map.locate("nothing.here"), None);
        assert_eq!(map.locate(""), None);
    }

    #[test]
    fn a_syntax_error_keeps_what_came_before_it() {
        let map = SourceMap::new("a: 1\nb: [1, 2\nc: 3\n");
        assert_eq!(map.locate("a"), Some((1, 1)));
        assert_eq!(map.locate("c"), None);
    }

    #[test]
    fn complex_keys_do_not_shift_later_keys() {
        let map = SourceMap::new("? [x, y]\n: 1\nafter: 2\n");
        assert_eq!(map.locate("after"), Some((3, 1)));
    }

    #[test]
    fn parent_strips_one_segment() {
        assert_eq!(parent("a.b[2].c"), Some("a.b[2]"));
        assert_eq!(parent("a.b[2]"), Some("a.b"));
        assert_eq!(parent("a"), Some(""));
        assert_eq!(parent(""), None);
    }
}
