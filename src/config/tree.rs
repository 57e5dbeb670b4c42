//! The configuration file as a tree of values that remember where they were
//! written.
//!
//! Owns: turning TOML text into sections, keys and values with byte spans,
//! and byte offsets into 1-based line and column numbers.
//!
//! Must not: know any key, type or rule of msrpgw's configuration (that is
//! `validate.rs`), touch the file system, or panic on any text.
//!
//! Why a tree and not `#[derive(Deserialize)]` on the config structs: serde
//! stops at the first problem, and `--check-config` must report every
//! problem at once. The `toml` crate parses the document (so a syntax error
//! comes with its span) into this loosely typed tree, wrapping every section,
//! key and value in [`toml::Spanned`]; the validator then checks each value on
//! its own and keeps going after a bad one.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// Byte range in the configuration text.
pub(crate) type Span = Range<usize>;

/// The whole document: its top-level entries in the order written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub sections: Vec<Section>,
}

/// A top-level entry; in a valid file, a `[section]` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    pub name: String,
    pub name_span: Span,
    pub body: SectionBody,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SectionBody {
    /// A table (`[name]`, or `name = { ... }`): its keys in the order written.
    Table(Vec<Entry>),
    /// Anything else (`name = 3`): the kind found, for the message.
    NotTable(&'static str),
}

/// `key = value` inside a section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Datetime,
    Array(Vec<Node>),
    /// An inline or nested table. No key of msrpgw takes one, so its contents
    /// are not kept.
    Table,
}

impl Value {
    /// "a string", "an integer", ...: the "found ..." part of a message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime => "a date-time",
            Value::Array(_) => "an array",
            Value::Table => "a table",
        }
    }
}

/// A TOML syntax error: the `toml` crate's message and the span it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    pub span: Option<Span>,
}

/// Parses `text` as TOML into a [`Document`]. Only TOML syntax (and a
/// top-level entry that is a date-time, which the tree cannot represent) is
/// an error here; every rule of msrpgw's configuration is checked later.
pub(crate) fn parse(text: &str) -> Result<Document, SyntaxError> {
    toml::from_str::<Document>(text).map_err(|e| {
        let message = if e.message().contains(DATETIME_FIELD) {
            "found a date-time; expected a table".to_owned()
        } else {
            // One diagnostic is one line: the `toml` crate puts its
            // "expected ..." hint on a line of its own.
            e.message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        };
        SyntaxError {
            message,
            span: e.span(),
        }
    })
}

/// 1-based line and column of byte `offset` in `text`; the column counts
/// characters, not bytes. An offset past the end is clamped to the end.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let bytes = text.as_bytes();
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    // Characters are counted by their first byte: UTF-8 continuation bytes
    // are 0b10xx_xxxx.
    let col = 1 + before
        .get(line_start..)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (saturate(line), saturate(col))
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// serde plumbing. Every level asks for `Spanned<...>` so the `toml`
// deserializer hands over the span of each key and value.

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Document;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TOML document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut sections = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let body: SectionBody = map.next_value()?;
                    let name_span = name.span();
                    sections.push(Section {
                        name: name.into_inner(),
                        name_span,
                        body,
                    });
                }
                Ok(Document { sections })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for SectionBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SectionBody;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SectionBody, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value: Spanned<Value> = map.next_value()?;
                    let key_span = key.span();
                    let span = value.span();
                    entries.push(Entry {
                        key: key.into_inner(),
                        key_span,
                        value: Node {
                            span,
                            value: value.into_inner(),
                        },
                    });
                }
                Ok(SectionBody::Table(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SectionBody, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(SectionBody::NotTable("an array"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SectionBody, E> {
                Ok(SectionBody::NotTable("a string"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SectionBody, E> {
                Ok(SectionBody::NotTable("an integer"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SectionBody, E> {
                Ok(SectionBody::NotTable("an integer"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SectionBody, E> {
                Ok(SectionBody::NotTable("a float"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SectionBody, E> {
                Ok(SectionBody::NotTable("a boolean"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The key under which the `toml` crate passes a date-time through serde
/// (`toml_datetime::__unstable::FIELD`); only used to name what was found.
const DATETIME_FIELD: &str = "$__toml_private_datetime";

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Integer(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
                // TOML integers are i64; this only runs for a deserializer
                // that is not `toml`'s. Saturating keeps "out of range".
                Ok(Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
                Ok(Value::Float(n))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Boolean(b))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Value>>()? {
                    let span = item.span();
                    items.push(Node {
                        span,
                        value: item.into_inner(),
                    });
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut datetime = false;
                while let Some(key) = map.next_key::<String>()? {
                    datetime = key == DATETIME_FIELD;
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(if datetime {
                    Value::Datetime
                } else {
                    Value::Table
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(doc: &Document, section: &str) -> Vec<Entry> {
        match doc
            .sections
            .iter()
            .find(|s| s.name == section)
            .map(|s| &s.body)
        {
            Some(SectionBody::Table(e)) => e.clone(),
            other => panic!("no table {section}: {other:?}"),
        }
    }

    #[test]
    fn spans_of_sections_keys_values_and_array_items() {
        let text = "[sip]\nlisten = [\"udp:1.2.3.4:5\", \"x\"]\nt1_ms = 5\n";
        let doc = parse(text).unwrap();
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(&text[doc.sections[0].name_span.clone()], "sip");
        let e = entries(&doc, "sip");
        assert_eq!(e[0].key, "listen");
        assert_eq!(&text[e[0].key_span.clone()], "listen");
        let Value::Array(items) = &e[0].value.value else {
            panic!("{:?}", e[0].value)
        };
        assert_eq!(&text[items[1].span.clone()], "\"x\"");
        assert_eq!(line_col(text, items[1].span.start), (2, 28));
        assert_eq!(e[1].value.value, Value::Integer(5));
        assert_eq!(line_col(text, e[1].value.span.start), (3, 9));
    }

    #[test]
    fn kinds_of_values() {
        let text = "[a]\ns='x'\ni=1\nf=1.5\nb=true\nd=1979-05-27\nt={x=1}\nr=[]\n";
        let doc = parse(text).unwrap();
        let kinds: Vec<_> = entries(&doc, "a")
            .iter()
            .map(|e| e.value.value.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                "a string",
                "an integer",
                "a float",
                "a boolean",
                "a date-time",
                "a table",
                "an array"
            ]
        );
    }

    #[test]
    fn non_table_sections_and_dotted_and_inline_tables() {
        let doc = parse("a = 3\nb = [1]\nc.k = 1\nd = { k = 2 }\n").unwrap();
        let bodies: Vec<_> = doc.sections.iter().map(|s| &s.body).collect();
        assert_eq!(bodies[0], &SectionBody::NotTable("an integer"));
        assert_eq!(bodies[1], &SectionBody::NotTable("an array"));
        assert!(matches!(bodies[2], SectionBody::Table(e) if e[0].key == "k"));
        assert!(
            matches!(bodies[3], SectionBody::Table(e) if e[0].value.value == Value::Integer(2))
        );
    }

    #[test]
    fn syntax_error_has_a_span() {
        let text = "[sip]\nlisten = [\"a\"\nx = 1\n";
        let e = parse(text).unwrap_err();
        let span = e.span.clone().unwrap();
        assert_eq!(line_col(text, span.start).0, 3, "{e:?}");
        assert_eq!(e.message, "invalid array; expected `]`");
        let e = parse("[sip]\nt1_ms = 1\nt1_ms = 2\n").unwrap_err();
        assert_eq!(
            line_col("[sip]\nt1_ms = 1\nt1_ms = 2\n", e.span.unwrap().start).0,
            3
        );
    }

    #[test]
    fn datetime_at_top_level_is_a_reported_error_not_a_panic() {
        let e = parse("sip = 1979-05-27\n").unwrap_err();
        assert_eq!(e.message, "found a date-time; expected a table");
        assert_eq!(e.span.map(|s| s.start), Some(6));
    }

    #[test]
    fn line_col_counts_characters_and_clamps() {
        let t = "ab\nçd\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 2));
        assert_eq!(line_col(t, 999), (3, 1));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
