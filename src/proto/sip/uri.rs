//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and their comparison
//! (RFC 3261 §19.1.4). Other schemes (`im:`, `http:`, ...) are kept opaque.
//!
//! STUB: the public API below is fixed; bodies are being written.

use std::borrow::Cow;
use std::fmt;

use crate::proto::ParseError;
use crate::proto::lex::Param;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
    /// Any other absoluteURI scheme; see [`Uri::scheme_raw`] and [`Uri::opaque`].
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriErrorKind {
    Todo,
}

impl fmt::Display for UriErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("todo")
    }
}

pub type UriError = ParseError<UriErrorKind>;

/// A parsed URI. Text is kept as written (escapes included) so encoding
/// reproduces the input; comparison unescapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    pub scheme: Scheme,
    /// The scheme as written (`sip`, `SIP`, `im`, ...).
    pub scheme_raw: Cow<'a, str>,
    /// sip/sips: userinfo user part (escaped form). tel: the number.
    pub user: Option<Cow<'a, str>>,
    pub password: Option<Cow<'a, str>>,
    /// Hostname, IPv4 address, or IPv6 reference with its brackets. Empty for tel/other.
    pub host: Cow<'a, str>,
    pub port: Option<u16>,
    /// `;name[=value]` uri-parameters (for tel: its parameters).
    pub params: Vec<Param<'a>>,
    /// `?name=value&...` headers.
    pub headers: Vec<Param<'a>>,
    /// Scheme::Other only: everything after `scheme:`.
    pub opaque: Option<Cow<'a, str>>,
}

impl<'a> Uri<'a> {
    pub fn parse(_s: &'a str) -> Result<Uri<'a>, UriError> {
        todo!()
    }

    pub fn into_owned(self) -> Uri<'static> {
        todo!()
    }

    /// RFC 3261 §19.1.4 equivalence.
    pub fn equivalent(&self, _other: &Uri<'_>) -> bool {
        todo!()
    }

    /// Value of a uri-parameter by case-insensitive name; `Some(None)` when
    /// present without value.
    pub fn param(&self, _name: &str) -> Option<Option<&str>> {
        todo!()
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}
