//! name-addr and addr-spec (RFC 3261 §25.1), as used by From, To, Contact,
//! Route, Record-Route, P-Asserted-Identity, Reply-To.
//!
//! STUB: the public API below is fixed; bodies are being written.

use std::borrow::Cow;
use std::fmt;

use super::uri::Uri;
use crate::proto::ParseError;
use crate::proto::lex::Param;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrErrorKind {
    Todo,
}

impl fmt::Display for AddrErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("todo")
    }
}

pub type AddrError = ParseError<AddrErrorKind>;

/// `[display-name] <URI> *(;param)` or `addr-spec *(;param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name as written (quoted form keeps its quotes).
    pub display_name: Option<Cow<'a, str>>,
    pub uri: Uri<'a>,
    /// Header parameters after the address (`;tag=`, `;expires=`, ...).
    pub params: Vec<Param<'a>>,
}

impl<'a> NameAddr<'a> {
    pub fn parse(_s: &'a str) -> Result<NameAddr<'a>, AddrError> {
        todo!()
    }

    /// Comma-separated list (Contact, Route, Record-Route).
    pub fn parse_list(_s: &'a str) -> Result<Vec<NameAddr<'a>>, AddrError> {
        todo!()
    }

    pub fn tag(&self) -> Option<&str> {
        todo!()
    }

    /// Display name with quotes removed and quoted-pairs undone.
    pub fn display_text(&self) -> Option<Cow<'_, str>> {
        todo!()
    }

    pub fn into_owned(self) -> NameAddr<'static> {
        todo!()
    }
}

impl fmt::Display for NameAddr<'_> {
    /// Always the name-addr form `["display" ]<uri>;params`.
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}
