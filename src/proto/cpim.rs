//! message/cpim bodies (RFC 3862) and the small piece of MIME they need.
//!
//! Owns: the CPIM message header block (RFC 3862 §2.2, §3) with `;lang=`
//! and other header parameters, the character escapes of §2.3, namespace
//! resolution through `NS` (§3.4) so extension headers such as
//! `imdn.Message-ID` (RFC 5438) are found by (namespace URI, name) whatever
//! prefix the sender chose, typed views of From/To/cc (§4.1-§4.3), DateTime,
//! Subject, NS and Require; the encapsulated MIME header block and the
//! content bytes (§2.4); a builder for the messages msrpgw wraps; and
//! splitting a multipart body (RFC 2046 §5.1) into parts, which RFC 3862
//! §5.2 (multipart/signed) and RFC 5438 §8.3 (aggregated IMDNs) need.
//!
//! Must not: interpret the content (IMDN XML is `imdn.rs`), parse the URIs
//! (they stay raw strings), verify signatures, or read clocks (DateTime is
//! supplied by the caller).
//!
//! What a robust receiver does with the RFCs' own printing errors (see
//! tests/fixtures/corpus/NOTES.md):
//! - RFC 5438 prints the encapsulated `Content-Type`/`Content-Length`
//!   headers right after the CPIM headers, with no empty line between.
//!   No CPIM header (RFC 3862 §4, RFC 5438 §10) is named `Content-*`, so a
//!   `Content-` header (any case) in the CPIM block ends that block and
//!   starts the MIME block. The encoder always writes the empty line.
//! - The encapsulated `Content-Length` is never used for framing: the
//!   content is every byte after the MIME block, since RFC 3862 §2 leaves
//!   the end of the message to the transport's framing (RFC 5438 prints
//!   `Content-length: 12` for 13 bytes, and `Content-length: ...`).
//!   [`CpimMessage::content_length`] reports the value when it is a number.
//! - Continuation lines (leading SP/HTAB) are unfolded in both blocks: MIME
//!   allows folding and RFC 5438 §8.3 folds a Content-type.
//! - A block that runs to the end of the input without its empty line is
//!   accepted, as are bare LF line ends; a multipart body without its
//!   closing delimiter ends at the end of the input.
//! - Header names are matched exactly (RFC 3862 §2.2: "From" and "from"
//!   differ); MIME header names case-insensitively (RFC 2045).
//! - An undeclared namespace prefix resolves to nothing: `imdn.Message-ID`
//!   without `NS: imdn <urn:ietf:params:imdn>` is not the IMDN header.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use super::ParseError;
use super::lex::{
    Param, find_byte, find_bytes, find_param, is_token, parse_params, skip_wsp, split_quoted,
    trim_wsp,
};

/// The default namespace of CPIM headers (RFC 3862 §4).
pub const CPIM_HEADERS_NS: &str = "urn:ietf:params:cpim-headers:";

/// What was wrong in a message/cpim body (or in a header value, for the
/// typed views: then the offset is into that value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpimErrorKind {
    /// A header line is not UTF-8 (RFC 3862 §2.2).
    InvalidUtf8,
    /// A header line without `:`.
    MissingColon,
    /// An empty header name, or one with a space or non-ASCII character.
    BadHeaderName,
    /// A control character (other than HTAB) in a header line.
    ControlCharacter,
    /// A line starting with whitespace before any header.
    ContinuationWithoutHeader,
    /// A `;name=value` header parameter that is malformed (RFC 3862 §3.6).
    BadParameter,
    /// A `"` that never closes.
    UnterminatedQuote,
    /// A `<` without `>`.
    UnterminatedAngle,
    /// An address or NS value without a URI.
    MissingUri,
    /// A multipart boundary that is empty or longer than 70 characters.
    BadBoundary,
    /// A multipart body without any delimiter line.
    MissingDelimiter,
}

impl CpimErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            CpimErrorKind::InvalidUtf8 => "CPIM header is not valid UTF-8",
            CpimErrorKind::MissingColon => "CPIM header line without ':'",
            CpimErrorKind::BadHeaderName => "empty or invalid CPIM header name",
            CpimErrorKind::ControlCharacter => "control character in CPIM header",
            CpimErrorKind::ContinuationWithoutHeader => "continuation line before any header",
            CpimErrorKind::BadParameter => "malformed ;parameter after CPIM header name",
            CpimErrorKind::UnterminatedQuote => "unterminated quoted string",
            CpimErrorKind::UnterminatedAngle => "'<' without matching '>'",
            CpimErrorKind::MissingUri => "address without a URI",
            CpimErrorKind::BadBoundary => "multipart boundary empty or longer than 70",
            CpimErrorKind::MissingDelimiter => "multipart body without a delimiter line",
        }
    }
}

impl fmt::Display for CpimErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type CpimError = ParseError<CpimErrorKind>;

/// One header line: `Name:` then zero or more `;param=value`, SP, value. Used for both
/// the CPIM header block and the encapsulated MIME headers (which never
/// have parameters in this position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The full name as written, prefix included (`imdn.Message-ID`).
    pub name: Cow<'a, str>,
    /// RFC 3862 §3.6 parameters between the colon and the space
    /// (`Subject:;lang=fr ...`); values as written (quotes kept).
    pub params: Vec<Param<'a>>,
    /// The value as written (escapes in place); unfolded if it was folded.
    pub value: Cow<'a, str>,
}

impl<'a> Header<'a> {
    /// A header with a raw value (written as is; see [`escape`]).
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Header {
            name: name.into(),
            params: Vec::new(),
            value: value.into(),
        }
    }

    /// A CPIM header whose value is free text, escaped per RFC 3862 §2.3.1.
    pub fn text(name: impl Into<Cow<'a, str>>, text: &str) -> Self {
        Header::new(name, Cow::Owned(escape(text).into_owned()))
    }

    /// The namespace prefix (`imdn` of `imdn.Message-ID`), RFC 3862 §3.4.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once('.').map(|(p, _)| p)
    }

    /// The name without its prefix.
    pub fn local_name(&self) -> &str {
        self.name.split_once('.').map_or(&*self.name, |(_, n)| n)
    }

    /// The `;lang=` parameter (RFC 3862 §3.3).
    pub fn lang(&self) -> Option<&str> {
        find_param(&self.params, "lang").flatten()
    }

    /// The value with RFC 3862 §2.3 escapes undone.
    pub fn decoded_value(&self) -> Cow<'_, str> {
        unescape(&self.value)
    }

    pub fn into_owned(self) -> Header<'static> {
        Header {
            name: owned(self.name),
            params: self.params.into_iter().map(Param::into_owned).collect(),
            value: owned(self.value),
        }
    }
}

/// A message/cpim body (RFC 3862 §2): CPIM headers, an empty line, the
/// encapsulated MIME headers, an empty line, the content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpimMessage<'a> {
    /// The CPIM message headers, in order (§2.2: order is significant).
    pub headers: Vec<Header<'a>>,
    /// The encapsulated MIME headers, in order.
    pub mime_headers: Vec<Header<'a>>,
    /// The content: every byte after the MIME headers' empty line.
    pub body: Cow<'a, [u8]>,
}

/// Parses a message/cpim body. The fuzzing entry point.
pub fn parse(input: &[u8]) -> Result<CpimMessage<'_>, CpimError> {
    CpimMessage::parse(input)
}

impl<'a> CpimMessage<'a> {
    /// RFC 3862 §2 message/cpim body, read as described in the module docs.
    pub fn parse(input: &'a [u8]) -> Result<CpimMessage<'a>, CpimError> {
        let (headers, next) = parse_block(input, 0, Block::Cpim)?;
        let (mime_headers, body_start) = parse_block(input, next, Block::Mime)?;
        Ok(CpimMessage {
            headers,
            mime_headers,
            body: Cow::Borrowed(input.get(body_start..).unwrap_or_default()),
        })
    }

    pub fn builder() -> CpimBuilder<'a> {
        CpimBuilder::default()
    }

    pub fn into_owned(self) -> CpimMessage<'static> {
        CpimMessage {
            headers: self.headers.into_iter().map(Header::into_owned).collect(),
            mime_headers: self
                .mime_headers
                .into_iter()
                .map(Header::into_owned)
                .collect(),
            body: Cow::Owned(self.body.into_owned()),
        }
    }

    /// Writes the body in canonical form: CRLF line ends, one SP after the
    /// colon and parameters, both empty lines present.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for h in &self.headers {
            write_header(out, h, Block::Cpim);
        }
        out.extend_from_slice(b"\r\n");
        for h in &self.mime_headers {
            write_header(out, h, Block::Mime);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        self.encode(&mut out);
        out
    }

    /// The first CPIM header with this exact name (no namespace resolution).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.name == name)
    }

    /// Every CPIM header with its resolved (namespace URI, local name), in
    /// order (RFC 3862 §3.4). The URI is `None` for an undeclared prefix.
    pub fn resolved(&self) -> Resolved<'_, 'a> {
        Resolved {
            headers: self.headers.iter(),
            prefixes: BTreeMap::new(),
            default_ns: CPIM_HEADERS_NS,
        }
    }

    /// The first header named `name` in namespace `ns` (URIs compared
    /// ignoring ASCII case), e.g. `("urn:ietf:params:imdn", "Message-ID")`.
    pub fn find_ns(&self, ns: &str, name: &str) -> Option<&Header<'a>> {
        self.find_all_ns(ns, name).next()
    }

    /// Every header named `name` in namespace `ns`, in order.
    pub fn find_all_ns<'s, 'q>(
        &'s self,
        ns: &'q str,
        name: &'q str,
    ) -> impl Iterator<Item = &'s Header<'a>> {
        self.resolved().filter_map(move |(uri, local, h)| {
            (local == name && uri.is_some_and(|u| u.eq_ignore_ascii_case(ns))).then_some(h)
        })
    }

    /// `From` (RFC 3862 §4.1).
    pub fn from(&self) -> Option<Result<CpimAddress<'_>, CpimError>> {
        self.find_ns(CPIM_HEADERS_NS, "From")
            .map(|h| CpimAddress::parse(&h.value))
    }

    /// Every `To` (RFC 3862 §4.2).
    pub fn to(&self) -> impl Iterator<Item = Result<CpimAddress<'_>, CpimError>> {
        self.find_all_ns(CPIM_HEADERS_NS, "To")
            .map(|h| CpimAddress::parse(&h.value))
    }

    /// Every `cc` (RFC 3862 §4.3).
    pub fn cc(&self) -> impl Iterator<Item = Result<CpimAddress<'_>, CpimError>> {
        self.find_all_ns(CPIM_HEADERS_NS, "cc")
            .map(|h| CpimAddress::parse(&h.value))
    }

    /// `DateTime` as written (RFC 3862 §4.4; RFC 3339 syntax, not checked).
    pub fn date_time(&self) -> Option<&str> {
        self.find_ns(CPIM_HEADERS_NS, "DateTime")
            .map(|h| h.value.trim_end_matches([' ', '\t']))
    }

    /// Every `Subject` (RFC 3862 §4.5): its `;lang=` and decoded text.
    pub fn subjects(&self) -> impl Iterator<Item = (Option<&str>, Cow<'_, str>)> {
        self.find_all_ns(CPIM_HEADERS_NS, "Subject")
            .map(|h| (h.lang(), h.decoded_value()))
    }

    /// The header names listed by every `Require` (RFC 3862 §4.7).
    pub fn require(&self) -> impl Iterator<Item = &str> {
        self.find_all_ns(CPIM_HEADERS_NS, "Require").flat_map(|h| {
            h.value
                .split(',')
                .map(|s| s.trim_matches([' ', '\t']))
                .filter(|s| !s.is_empty())
        })
    }

    /// Every `NS` declaration (RFC 3862 §4.6), in order.
    pub fn namespaces(&self) -> impl Iterator<Item = Result<NsDecl<'_>, CpimError>> {
        self.headers
            .iter()
            .filter(|h| h.name == "NS")
            .map(|h| NsDecl::parse(&h.value))
    }

    /// The first encapsulated MIME header with this name, ignoring case.
    pub fn mime_header(&self, name: &str) -> Option<&Header<'a>> {
        self.mime_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// The encapsulated `Content-Type` value.
    pub fn content_type(&self) -> Option<&str> {
        self.mime_header("Content-Type")
            .map(|h| h.value.trim_end_matches([' ', '\t']))
    }

    /// The encapsulated `Content-Length` when it is a number. Informational
    /// only: the content is always every byte present (module docs).
    pub fn content_length(&self) -> Option<u64> {
        let v = self.mime_header("Content-Length")?;
        super::lex::parse_decimal(v.value.trim_matches([' ', '\t']), u64::MAX)
    }
}

impl fmt::Display for CpimMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// Iterator of [`CpimMessage::resolved`]: `(namespace URI, local name, header)`.
/// Keeps the prefixes declared so far, so a declaration applies only to the
/// headers after it (RFC 3862 §3.4) and each step is O(log prefixes).
pub struct Resolved<'m, 'a> {
    headers: std::slice::Iter<'m, Header<'a>>,
    prefixes: BTreeMap<&'m str, &'m str>,
    default_ns: &'m str,
}

impl<'m, 'a> Iterator for Resolved<'m, 'a> {
    type Item = (Option<&'m str>, &'m str, &'m Header<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let h = self.headers.next()?;
        if h.name == "NS" {
            if let Ok(d) = NsDecl::parse(&h.value) {
                match d.prefix {
                    Some(p) => {
                        self.prefixes.insert(p, d.uri);
                    }
                    None => self.default_ns = d.uri,
                }
            }
        }
        let item = match h.name.split_once('.') {
            Some((p, local)) => (self.prefixes.get(p).copied(), local),
            None => (Some(self.default_ns), &*h.name),
        };
        Some((item.0, item.1, h))
    }
}

/// `[ Formal-name ] "<" URI ">"` (RFC 3862 §4.1): From, To, cc values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimAddress<'a> {
    /// The Formal-name with quotes removed and escapes undone.
    pub display_name: Option<Cow<'a, str>>,
    /// The URI between the angle brackets, as written.
    pub uri: Cow<'a, str>,
}

impl<'a> CpimAddress<'a> {
    pub fn new(display_name: Option<Cow<'a, str>>, uri: impl Into<Cow<'a, str>>) -> Self {
        CpimAddress {
            display_name,
            uri: uri.into(),
        }
    }

    /// RFC 3862 §4.1 `[ Formal-name ] "<" URI ">"`, tolerantly: a bare URI
    /// without brackets is accepted, text after `>` ignored. Offsets are
    /// into `value`.
    pub fn parse(value: &'a str) -> Result<CpimAddress<'a>, CpimError> {
        let (lead, v) = trim_wsp(value);
        let (display_name, rest, rest_off) = if v.starts_with('"') {
            let (inner, rest) = split_quoted(v)
                .map_err(|e| CpimError::new(CpimErrorKind::UnterminatedQuote, lead + e.offset))?;
            let trimmed = rest.trim_start_matches([' ', '\t']);
            let off = lead + v.len() - trimmed.len();
            if !trimmed.starts_with('<') {
                return Err(CpimError::new(CpimErrorKind::MissingUri, off));
            }
            (Some(unescape(inner)), trimmed, off)
        } else {
            match find_byte(v.as_bytes(), b'<') {
                None if v.is_empty() => {
                    return Err(CpimError::new(CpimErrorKind::MissingUri, lead));
                }
                None => {
                    return Ok(CpimAddress {
                        display_name: None,
                        uri: Cow::Borrowed(v),
                    });
                }
                Some(lt) => {
                    let name = v[..lt].trim_end_matches([' ', '\t']);
                    let name = (!name.is_empty()).then(|| unescape(name));
                    (name, &v[lt..], lead + lt)
                }
            }
        };
        // `rest` starts with '<'.
        let gt = find_byte(rest.as_bytes(), b'>')
            .ok_or(CpimError::new(CpimErrorKind::UnterminatedAngle, rest_off))?;
        let uri = &rest[1..gt];
        if uri.trim_matches([' ', '\t']).is_empty() {
            return Err(CpimError::new(CpimErrorKind::MissingUri, rest_off + 1));
        }
        Ok(CpimAddress {
            display_name,
            uri: Cow::Borrowed(uri),
        })
    }

    pub fn into_owned(self) -> CpimAddress<'static> {
        CpimAddress {
            display_name: self.display_name.map(owned),
            uri: owned(self.uri),
        }
    }
}

impl fmt::Display for CpimAddress<'_> {
    /// `Formal-name <URI>`: the name bare when it is SP-separated tokens,
    /// else a quoted String with escapes; URI bytes that would end the
    /// brackets are percent-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            if is_token_phrase(name) {
                f.write_str(name)?;
            } else {
                f.write_str("\"")?;
                f.write_str(&escape_quoted(name))?;
                f.write_str("\"")?;
            }
            f.write_str(" ")?;
        }
        f.write_str("<")?;
        write_uri(f, &self.uri)?;
        f.write_str(">")
    }
}

/// `NS: [ Name-prefix ] "<" URI ">"` (RFC 3862 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsDecl<'a> {
    /// `None` declares the default namespace.
    pub prefix: Option<&'a str>,
    pub uri: &'a str,
}

impl<'a> NsDecl<'a> {
    /// Offsets are into `value`.
    pub fn parse(value: &'a str) -> Result<NsDecl<'a>, CpimError> {
        let b = value.as_bytes();
        let lt = find_byte(b, b'<').ok_or(CpimError::new(CpimErrorKind::MissingUri, 0))?;
        let gt = find_byte(&b[lt..], b'>')
            .ok_or(CpimError::new(CpimErrorKind::UnterminatedAngle, lt))?;
        let prefix = value[..lt].trim_matches([' ', '\t']);
        let uri = value[lt + 1..lt + gt].trim_matches([' ', '\t']);
        if uri.is_empty() {
            return Err(CpimError::new(CpimErrorKind::MissingUri, lt + 1));
        }
        Ok(NsDecl {
            prefix: (!prefix.is_empty()).then_some(prefix),
            uri,
        })
    }
}

/// Builds the CPIM messages msrpgw sends. DateTime is a string the caller
/// supplies (this module has no clock). Namespaced headers get their `NS`
/// lines automatically, before the first use.
#[derive(Debug, Clone, Default)]
pub struct CpimBuilder<'a> {
    from: Option<CpimAddress<'a>>,
    to: Vec<CpimAddress<'a>>,
    cc: Vec<CpimAddress<'a>>,
    date_time: Option<Cow<'a, str>>,
    subjects: Vec<(Option<Cow<'a, str>>, Cow<'a, str>)>,
    extensions: Vec<Extension<'a>>,
    mime: Vec<Header<'a>>,
    body: Cow<'a, [u8]>,
}

/// A namespaced header waiting for its prefix.
#[derive(Debug, Clone)]
struct Extension<'a> {
    ns_uri: Cow<'a, str>,
    prefix: Cow<'a, str>,
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

impl<'a> CpimBuilder<'a> {
    pub fn from(mut self, a: CpimAddress<'a>) -> Self {
        self.from = Some(a);
        self
    }

    pub fn to(mut self, a: CpimAddress<'a>) -> Self {
        self.to.push(a);
        self
    }

    pub fn cc(mut self, a: CpimAddress<'a>) -> Self {
        self.cc.push(a);
        self
    }

    pub fn date_time(mut self, dt: impl Into<Cow<'a, str>>) -> Self {
        self.date_time = Some(dt.into());
        self
    }

    pub fn subject(mut self, lang: Option<Cow<'a, str>>, text: impl Into<Cow<'a, str>>) -> Self {
        self.subjects.push((lang, text.into()));
        self
    }

    /// A header `name` in namespace `ns_uri` with free-text `value`
    /// (escaped). `prefix` is used when it is a valid name not already
    /// bound to another URI, else `ns1`, `ns2`, ...
    pub fn ns_header(
        mut self,
        ns_uri: impl Into<Cow<'a, str>>,
        prefix: impl Into<Cow<'a, str>>,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.extensions.push(Extension {
            ns_uri: ns_uri.into(),
            prefix: prefix.into(),
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets (replacing) the encapsulated `Content-Type`.
    pub fn content_type(mut self, ct: impl Into<Cow<'a, str>>) -> Self {
        self.mime
            .retain(|h| !h.name.eq_ignore_ascii_case("Content-Type"));
        self.mime.insert(0, Header::new("Content-Type", ct));
        self
    }

    /// Appends an encapsulated MIME header (raw value).
    pub fn mime_header(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: impl Into<Cow<'a, str>>,
    ) -> Self {
        self.mime.push(Header::new(name, value));
        self
    }

    pub fn body(mut self, body: impl Into<Cow<'a, [u8]>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn build(self) -> CpimMessage<'a> {
        let mut headers = Vec::new();
        let addr = |name: &'static str, a: &CpimAddress<'_>| Header::new(name, a.to_string());
        if let Some(a) = &self.from {
            headers.push(addr("From", a));
        }
        headers.extend(self.to.iter().map(|a| addr("To", a)));
        headers.extend(self.cc.iter().map(|a| addr("cc", a)));
        if let Some(dt) = self.date_time {
            headers.push(Header::text("DateTime", &dt));
        }
        for (lang, text) in &self.subjects {
            let mut h = Header::text("Subject", text);
            if let Some(l) = lang {
                h.params.push(Param::new("lang", Some(l.clone())));
            }
            headers.push(h);
        }
        // Bind a prefix to each namespace, in order of first use.
        let mut bound: Vec<(&str, String)> = Vec::new();
        for Extension {
            ns_uri: uri,
            prefix: hint,
            ..
        } in &self.extensions
        {
            if bound.iter().any(|(u, _)| u == uri) {
                continue;
            }
            let taken = |p: &str| bound.iter().any(|(_, q)| q == p);
            let prefix = if is_name(hint) && !taken(hint) {
                hint.to_string()
            } else {
                (1..)
                    .map(|n| format!("ns{n}"))
                    .find(|p| !taken(p))
                    .unwrap_or_default()
            };
            headers.push(Header::new("NS", format!("{prefix} <{}>", UriText(uri))));
            bound.push((uri, prefix));
        }
        for Extension {
            ns_uri: uri,
            name,
            value,
            ..
        } in &self.extensions
        {
            let prefix = bound
                .iter()
                .find(|(u, _)| u == uri)
                .map_or("", |(_, p)| p.as_str());
            headers.push(Header::text(format!("{prefix}.{name}"), value));
        }
        CpimMessage {
            headers,
            mime_headers: self.mime,
            body: self.body,
        }
    }
}

// ---- multipart (RFC 2046 §5.1) -------------------------------------------

/// One body part of a multipart body: its MIME headers and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimePart<'a> {
    pub headers: Vec<Header<'a>>,
    pub body: &'a [u8],
}

impl<'a> MimePart<'a> {
    /// The first header with this name, ignoring case.
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }
}

/// The `boundary` parameter of a multipart Content-Type value, unquoted.
pub fn multipart_boundary(content_type: &str) -> Option<Cow<'_, str>> {
    let semi = find_byte(content_type.as_bytes(), b';')?;
    let params = parse_params(&content_type[semi..], 0, |c| {
        !matches!(c, b';' | b' ' | b'\t' | b'\r' | b'\n' | b'"') && c > 0x20 && c < 0x7f
    })
    .ok()?;
    let p = params
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case("boundary"))?;
    let v = p.unquoted_value()?.into_owned();
    Some(match p.value {
        Some(Cow::Borrowed(raw)) if raw == v => Cow::Borrowed(raw),
        _ => Cow::Owned(v),
    })
}

/// Splits a multipart body (RFC 2046 §5.1.1 `multipart-body`) into parts.
/// The CRLF before each delimiter belongs to the delimiter; the preamble
/// and epilogue are dropped; a missing close delimiter ends the last part
/// at the end of the input (RFC 5438 §8.3 as printed).
pub fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<MimePart<'a>>, CpimError> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(CpimError::new(CpimErrorKind::BadBoundary, 0));
    }
    let mut delim = Vec::with_capacity(boundary.len() + 3);
    delim.extend_from_slice(b"\n--");
    delim.extend_from_slice(boundary.as_bytes());
    // Position of the "--boundary" of the first delimiter line.
    let mut at = if body.starts_with(&delim[1..]) {
        0
    } else {
        find_delimiter(body, &delim, 0)
            .map(|i| i + 1)
            .ok_or(CpimError::new(CpimErrorKind::MissingDelimiter, 0))?
    };
    let mut parts = Vec::new();
    loop {
        let after = at + delim.len() - 1;
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        // Skip transport padding up to the end of the delimiter line.
        let Some(nl) = body.get(after..).and_then(|r| find_byte(r, b'\n')) else {
            break;
        };
        let start = after + nl + 1;
        if start >= body.len() {
            break;
        }
        let next = find_delimiter(body, &delim, start - 1);
        let mut end = next.unwrap_or(body.len());
        if next.is_some() && end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
        let part = &body[start..end.max(start)];
        let (headers, content) = parse_block(part, 0, Block::Mime).map_err(|e| e.shifted(start))?;
        parts.push(MimePart {
            headers,
            body: part.get(content..).unwrap_or_default(),
        });
        match next {
            Some(n) => at = n + 1,
            None => break,
        }
    }
    Ok(parts)
}

/// Index of the `\n` of the next `\n--boundary` at or after `from` that is
/// a whole delimiter (followed by `--`, whitespace, a line end or the end).
fn find_delimiter(body: &[u8], delim: &[u8], mut from: usize) -> Option<usize> {
    while from < body.len() {
        let i = from + find_bytes(&body[from..], delim)?;
        match body.get(i + delim.len()) {
            None | Some(b'-' | b' ' | b'\t' | b'\r' | b'\n') => return Some(i),
            Some(_) => from = i + 1,
        }
    }
    None
}

// ---- header block grammar ------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// RFC 3862 §3.6 `Header` lines; a `Content-*` header ends the block.
    Cpim,
    /// RFC 2045 MIME header fields, no parameters after the colon.
    Mime,
}

/// A header whose value may still grow by continuation lines.
struct Pending {
    name: (usize, usize),
    params: (usize, usize),
    value: (usize, usize),
    folded: bool,
}

/// Parses a header block starting at `start`: RFC 3862 §3.6 `*Header` in
/// CPIM mode, RFC 2045 §3 / RFC 5322 §2.2 header fields in MIME mode (both
/// unfolded, both ended by an empty line). Returns the headers and the
/// offset after the block's empty line (or where a `Content-` header starts
/// the MIME block, or the end of the input).
fn parse_block(
    input: &[u8],
    start: usize,
    block: Block,
) -> Result<(Vec<Header<'_>>, usize), CpimError> {
    let mut headers = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut pos = start;
    while pos < input.len() {
        let rest = &input[pos..];
        let (line_len, next) = match find_byte(rest, b'\n') {
            Some(i) => (i, pos + i + 1),
            None => (rest.len(), input.len()),
        };
        let mut line = &rest[..line_len];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.is_empty() {
            finish(input, pending.take(), &mut headers)?;
            return Ok((headers, next));
        }
        check_line(line, pos)?;
        if line[0] == b' ' || line[0] == b'\t' {
            let p = pending.as_mut().ok_or(CpimError::new(
                CpimErrorKind::ContinuationWithoutHeader,
                pos,
            ))?;
            p.value.1 = pos + line.len();
            p.folded = true;
        } else {
            let colon =
                find_byte(line, b':').ok_or(CpimError::new(CpimErrorKind::MissingColon, pos))?;
            let name = &line[..colon];
            if name.is_empty() || !name.iter().all(|&c| c > 0x20 && c < 0x7f) {
                return Err(CpimError::new(CpimErrorKind::BadHeaderName, pos));
            }
            if block == Block::Cpim
                && name.len() >= 8
                && name[..8].eq_ignore_ascii_case(b"content-")
            {
                finish(input, pending.take(), &mut headers)?;
                return Ok((headers, pos));
            }
            finish(input, pending.take(), &mut headers)?;
            let mut i = colon + 1;
            if block == Block::Cpim {
                i = skip_params(line, i).map_err(|e| e.shifted(pos))?;
            }
            let params = (pos + colon + 1, pos + i);
            i = skip_wsp(line, i);
            pending = Some(Pending {
                name: (pos, pos + colon),
                params,
                value: (pos + i, pos + line.len()),
                folded: false,
            });
        }
        pos = next;
    }
    finish(input, pending.take(), &mut headers)?;
    Ok((headers, input.len()))
}

/// Rejects non-UTF-8 and control characters (RFC 3862 §2.2) in one line.
fn check_line(line: &[u8], pos: usize) -> Result<(), CpimError> {
    if let Some(i) = line
        .iter()
        .position(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
    {
        return Err(CpimError::new(CpimErrorKind::ControlCharacter, pos + i));
    }
    std::str::from_utf8(line)
        .map(|_| ())
        .map_err(|e| CpimError::new(CpimErrorKind::InvalidUtf8, pos + e.valid_up_to()))
}

/// Skips RFC 3862 §3.6 `*( ";" Parameter )` starting at `i` (just after
/// the colon); returns the index after the last parameter.
/// `Parameter = Param-name "=" ( Token / Number / String )`.
fn skip_params(line: &[u8], mut i: usize) -> Result<usize, CpimError> {
    while line.get(i) == Some(&b';') {
        let name_start = i + 1;
        i = name_start;
        while i < line.len() && is_token(line[i]) {
            i += 1;
        }
        if i == name_start || line.get(i) != Some(&b'=') {
            return Err(CpimError::new(CpimErrorKind::BadParameter, i));
        }
        i += 1;
        if line.get(i) == Some(&b'"') {
            // Lines were checked as UTF-8, and '"' is ASCII.
            let s = std::str::from_utf8(&line[i..]).unwrap_or_default();
            let (inner, _) = split_quoted(s)
                .map_err(|e| CpimError::new(CpimErrorKind::UnterminatedQuote, i + e.offset))?;
            i += inner.len() + 2;
        } else {
            let v = i;
            while i < line.len() && !matches!(line[i], b' ' | b'\t' | b';') {
                i += 1;
            }
            if i == v {
                return Err(CpimError::new(CpimErrorKind::BadParameter, i));
            }
        }
    }
    Ok(i)
}

fn finish<'a>(
    input: &'a [u8],
    p: Option<Pending>,
    out: &mut Vec<Header<'a>>,
) -> Result<(), CpimError> {
    let Some(p) = p else { return Ok(()) };
    let text = |(a, b): (usize, usize)| {
        input
            .get(a..b)
            .and_then(|s| std::str::from_utf8(s).ok())
            .ok_or(CpimError::new(CpimErrorKind::InvalidUtf8, a))
    };
    let name = text(p.name)?;
    let params_text = text(p.params)?;
    let params = if params_text.is_empty() {
        Vec::new()
    } else {
        parse_params(params_text, p.params.0, |c| {
            !matches!(c, b' ' | b'\t' | b';' | b'"')
        })
        .map_err(|e| CpimError::new(CpimErrorKind::BadParameter, e.offset))?
    };
    let raw = text(p.value)?;
    let value = if p.folded {
        match super::lex::unfold(raw) {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim_start_matches([' ', '\t'])),
            Cow::Owned(s) => Cow::Owned(s.trim_start_matches([' ', '\t']).to_owned()),
        }
    } else {
        Cow::Borrowed(raw)
    };
    out.push(Header {
        name: Cow::Borrowed(name),
        params,
        value,
    });
    Ok(())
}

// ---- RFC 3862 §2.3 escapes -------------------------------------------------

/// Undoes RFC 3862 §2.3 escapes: `\uXXXX` (UCS-2; a surrogate pair is
/// combined, a lone surrogate becomes U+FFFD), `\\ \" \' \b \t \n \r`; any
/// other escaped character stands for itself and a final lone backslash is
/// dropped (§2.3.1). Borrows when there is no backslash.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if find_byte(s.as_bytes(), b'\\').is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        match e {
            'b' => out.push('\u{8}'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            'u' => match hex4(chars.as_str()) {
                Some(hi) => {
                    chars.nth(3);
                    if (0xD800..0xDC00).contains(&hi) {
                        let rest = chars.as_str();
                        let lo = rest
                            .strip_prefix("\\u")
                            .and_then(hex4)
                            .filter(|lo| (0xDC00..0xE000).contains(lo));
                        if let Some(lo) = lo {
                            chars.nth(5);
                            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                    }
                    out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                }
                None => out.push('u'),
            },
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

fn hex4(s: &str) -> Option<u32> {
    let b = s.as_bytes().get(..4)?;
    b.iter().try_fold(0u32, |acc, &c| {
        super::lex::hex_val(c).map(|v| acc << 4 | u32::from(v))
    })
}

/// Escapes text for a CPIM header value (RFC 3862 §2.3.1): backslash and
/// `\b \t \n \r` by their special sequences, other control characters as
/// `\uXXXX`. Borrows when nothing needs escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// [`escape`], and `"` as `\"`, for the inside of a quoted String.
pub fn escape_quoted(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

fn escape_with(s: &str, quote: bool) -> Cow<'_, str> {
    let needs = |c: char| c == '\\' || c.is_ascii_control() || (quote && c == '"');
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quote => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

// ---- encoding helpers ----------------------------------------------------

/// RFC 3862 §3.6 NAMECHAR.
fn is_namechar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x5e..=0x60 | 0x7c | 0x7e
        )
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_namechar)
}

/// `1*( Token SP )` as a display name: tokens (NAMECHAR, `.`, non-ASCII)
/// separated by single spaces.
fn is_token_phrase(s: &str) -> bool {
    !s.is_empty()
        && s.split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(|c| is_namechar(c) || c == b'.' || c >= 0x80))
}

struct UriText<'s>(&'s str);

impl fmt::Display for UriText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_uri(f, self.0)
    }
}

/// A URI inside `<...>`: bytes that would end the brackets or the line are
/// percent-encoded.
fn write_uri(f: &mut fmt::Formatter<'_>, uri: &str) -> fmt::Result {
    for c in uri.chars() {
        if c.is_ascii_control() || matches!(c, ' ' | '<' | '>' | '"') {
            write!(f, "%{:02X}", u32::from(c))?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

fn write_header(out: &mut Vec<u8>, h: &Header<'_>, block: Block) {
    let name_start = out.len();
    out.extend(h.name.bytes().map(|c| {
        if c > 0x20 && c < 0x7f && c != b':' {
            c
        } else {
            b'-'
        }
    }));
    if out.len() == name_start {
        out.push(b'-');
    }
    out.push(b':');
    for p in &h.params {
        out.push(b';');
        out.extend(h_param_bytes(&p.name));
        if let Some(v) = &p.value {
            out.push(b'=');
            // HTAB stays: the parser tolerates it inside quoted values,
            // so dropping it would break parse(encode(m)) == m.
            out.extend(
                v.bytes()
                    .filter(|&c| (c >= 0x20 || c == b'\t') && c != 0x7f),
            );
        }
    }
    out.push(b' ');
    for c in h.value.chars() {
        if c == '\t' || !c.is_ascii_control() {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else if block == Block::Cpim {
            // RFC 3862 §2.3.1: control characters only as escapes.
            out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
        } else {
            out.push(b' ');
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn h_param_bytes(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().map(|c| if is_token(c) { c } else { b'-' })
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject: the weather will be fine today\r\n\
Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
Require: MyFeatures.VitalMessageOption\r\n\
MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
MyFeatures.WackyMessageOption: Use-silly-font\r\n\
\r\n\
Content-type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>\r\n\
Here is the text of my message.\r\n\
</body>\r\n";

    fn err(input: &[u8]) -> CpimError {
        parse(input).unwrap_err()
    }

    #[test]
    fn parses_and_reencodes_rfc3862_example() {
        let m = parse(MSG).unwrap();
        assert_eq!(m.headers.len(), 9);
        assert_eq!(m.mime_headers.len(), 2);
        let from = m.from().unwrap().unwrap();
        assert_eq!(from.display_name.as_deref(), Some("MR SANDERS"));
        assert_eq!(from.uri, "im:piglet@100akerwood.com");
        assert_eq!(m.headers[4].lang(), Some("fr"));
        assert_eq!(
            m.find_ns("mid:MessageFeatures@id.foo.com", "WackyMessageOption")
                .unwrap()
                .value,
            "Use-silly-font"
        );
        assert_eq!(m.content_type(), Some("text/xml; charset=utf-8"));
        assert!(m.body.starts_with(b"<body>"));
        assert_eq!(m.to_bytes(), MSG);
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("plain"), "plain");
        assert!(matches!(unescape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            unescape(r#"a\\b\"c\'d\be\tf\ng\rh"#),
            "a\\b\"c'd\u{8}e\tf\ng\rh"
        );
        assert_eq!(unescape(r"\u0041\u00e9\u20AC"), "Aé€");
        assert_eq!(unescape(r"\uD83D\uDE00"), "😀");
        assert_eq!(unescape(r"\uD83Dx"), "\u{FFFD}x");
        assert_eq!(unescape(r"\u12"), "u12");
        assert_eq!(unescape(r"\q\é"), "qé");
        assert_eq!(unescape("end\\"), "end");
        for s in ["a\\b", "tab\there", "nl\nx", "\u{1}\u{7f}", "\"q\"", "é"] {
            assert_eq!(unescape(&escape(s)), s);
            assert_eq!(unescape(&escape_quoted(s)), s);
        }
        assert_eq!(escape("a\u{1}"), "a\\u0001");
        assert_eq!(escape("\"x\""), "\"x\"");
        assert_eq!(escape_quoted("\"x\""), "\\\"x\\\"");
    }

    #[test]
    fn addresses() {
        let a = CpimAddress::parse("Winnie the Pooh <im:pooh@100akerwood.com>").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("Winnie the Pooh"));
        assert_eq!(a.uri, "im:pooh@100akerwood.com");
        let a = CpimAddress::parse("<im:tigger@100akerwood.com>").unwrap();
        assert_eq!(a.display_name, None);
        let a = CpimAddress::parse(r#" "Dr. \"Bob\" <x>" <sip:bob@h> trailing"#).unwrap();
        assert_eq!(a.display_name.as_deref(), Some("Dr. \"Bob\" <x>"));
        assert_eq!(a.uri, "sip:bob@h");
        assert_eq!(a.to_string(), r#""Dr. \"Bob\" <x>" <sip:bob@h>"#);
        let a = CpimAddress::parse("im:bare@h").unwrap();
        assert_eq!((a.display_name, &*a.uri), (None, "im:bare@h"));
        assert_eq!(
            CpimAddress::parse("  "),
            Err(CpimError::new(CpimErrorKind::MissingUri, 2))
        );
        assert_eq!(
            CpimAddress::parse("Bob <im:b"),
            Err(CpimError::new(CpimErrorKind::UnterminatedAngle, 4))
        );
        assert_eq!(
            CpimAddress::parse("Bob <>").unwrap_err().kind,
            CpimErrorKind::MissingUri
        );
        assert_eq!(
            CpimAddress::parse("\"Bob <im:b>").unwrap_err().kind,
            CpimErrorKind::UnterminatedQuote
        );
        assert_eq!(
            CpimAddress::parse("\"Bob\" im:b").unwrap_err(),
            CpimError::new(CpimErrorKind::MissingUri, 6)
        );
        let built = CpimAddress::new(Some("Bob Smith".into()), "im:a b>c");
        assert_eq!(built.to_string(), "Bob Smith <im:a%20b%3Ec>");
        let built = CpimAddress::new(Some("O'Neil, Pat".into()), "im:p@h");
        assert_eq!(built.to_string(), "\"O'Neil, Pat\" <im:p@h>");
        let back = CpimAddress::parse("\"O'Neil, Pat\" <im:p@h>").unwrap();
        assert_eq!(back.display_name.as_deref(), Some("O'Neil, Pat"));
    }

    #[test]
    fn namespaces_resolve_by_uri() {
        let m = parse(
            b"NS: a <urn:x>\r\n\
b.Name: before-declaration\r\n\
NS: b <urn:x>\r\n\
a.Name: one\r\n\
b.Name: two\r\n\
NS: a <urn:y>\r\n\
a.Name: three\r\n\
NS: <urn:x>\r\n\
Name: four\r\n\
From: <im:not-cpim-ns>\r\n\r\n",
        )
        .unwrap();
        let xs: Vec<_> = m.find_all_ns("URN:X", "Name").map(|h| &*h.value).collect();
        assert_eq!(xs, ["one", "two", "four"]);
        assert_eq!(m.find_ns("urn:y", "Name").unwrap().value, "three");
        // The default namespace moved, so this From is not the CPIM From.
        assert!(m.from().is_none());
        let decls: Vec<_> = m.namespaces().map(Result::unwrap).collect();
        assert_eq!(
            decls[3],
            NsDecl {
                prefix: None,
                uri: "urn:x"
            }
        );
        assert_eq!(
            NsDecl::parse("p").unwrap_err().kind,
            CpimErrorKind::MissingUri
        );
        assert_eq!(
            NsDecl::parse("p <urn").unwrap_err(),
            CpimError::new(CpimErrorKind::UnterminatedAngle, 2)
        );
    }

    #[test]
    fn content_header_starts_mime_block() {
        let m = parse(b"From: <im:a@h>\r\nContent-type: text/plain\r\nContent-length: 12\r\n\r\nHello World\r\n").unwrap();
        assert_eq!(m.headers.len(), 1);
        assert_eq!(m.mime_headers.len(), 2);
        assert_eq!(m.content_type(), Some("text/plain"));
        assert_eq!(m.content_length(), Some(12));
        assert_eq!(&*m.body, b"Hello World\r\n");
        let again = m.to_bytes();
        assert!(again.starts_with(b"From: <im:a@h>\r\n\r\nContent-type: text/plain\r\n"));
        assert_eq!(parse(&again).unwrap(), m);
    }

    #[test]
    fn tolerated_shapes() {
        // Bare LF, folding in both blocks, no final empty line.
        let m = parse(b"Subject: a\n  b\nContent-Type: multipart/mixed;\n\tboundary=x\n").unwrap();
        assert_eq!(m.headers[0].value, "a b");
        assert_eq!(m.content_type(), Some("multipart/mixed; boundary=x"));
        assert!(m.body.is_empty());
        // Empty everything.
        let m = parse(b"").unwrap();
        assert_eq!(m, CpimMessage::default());
        let bytes = m.to_bytes();
        assert_eq!(bytes, b"\r\n\r\n");
        assert_eq!(parse(&bytes).unwrap(), m);
        // Binary content is kept byte for byte.
        let m =
            parse(b"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\r\n\x80").unwrap();
        assert_eq!(&*m.body, b"\x00\xff\r\n\x80");
        // A Content-Length that is not a number is reported as absent.
        let m = parse(b"\r\nContent-length: ...\r\n\r\n").unwrap();
        assert_eq!(m.content_length(), None);
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(
            err(b"From: <im:a>\r\nbroken\r\n"),
            CpimError::new(CpimErrorKind::MissingColon, 14)
        );
        assert_eq!(
            err(b"Fr om: x\r\n"),
            CpimError::new(CpimErrorKind::BadHeaderName, 0)
        );
        assert_eq!(err(b": x\r\n").kind, CpimErrorKind::BadHeaderName);
        assert_eq!(
            err(b"A: x\r\nB: y\x01z\r\n"),
            CpimError::new(CpimErrorKind::ControlCharacter, 10)
        );
        assert_eq!(
            err(b"A: x\r\nB: \xc3\x28\r\n"),
            CpimError::new(CpimErrorKind::InvalidUtf8, 9)
        );
        assert_eq!(
            err(b" x: y\r\n"),
            CpimError::new(CpimErrorKind::ContinuationWithoutHeader, 0)
        );
        assert_eq!(
            err(b"A: x\r\n\r\n folded-first\r\n").kind,
            CpimErrorKind::ContinuationWithoutHeader
        );
        assert_eq!(
            err(b"A: x\r\nSubject:;lang text\r\n"),
            CpimError::new(CpimErrorKind::BadParameter, 19)
        );
        assert_eq!(
            err(b"Subject:;x=\"abc text\r\n").kind,
            CpimErrorKind::UnterminatedQuote
        );
        assert_eq!(
            err(b"Subject:;=1 text\r\n").kind,
            CpimErrorKind::BadParameter
        );
        assert_eq!(err(b"A: x\rB: y\r\n").kind, CpimErrorKind::ControlCharacter);
    }

    #[test]
    fn parameters() {
        let m = parse(b"Subject:;lang=fr;x=\"a; b\" hello\r\n\r\n").unwrap();
        let h = &m.headers[0];
        assert_eq!(h.lang(), Some("fr"));
        assert_eq!(h.params[1].unquoted_value().unwrap(), "a; b");
        assert_eq!(h.value, "hello");
        let bytes = m.to_bytes();
        assert!(bytes.starts_with(b"Subject:;lang=fr;x=\"a; b\" hello\r\n"));
        assert_eq!(parse(&bytes).unwrap(), m);
        // A ';' after the space is part of the value, not a parameter.
        let m = parse(b"Subject: ;-)\r\n").unwrap();
        assert!(m.headers[0].params.is_empty());
        assert_eq!(m.headers[0].value, ";-)");
        assert_eq!(parse(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn builder_round_trip() {
        let m = CpimMessage::builder()
            .from(CpimAddress::new(
                Some("Alice".into()),
                "im:alice@example.com",
            ))
            .to(CpimAddress::new(None, "im:bob@example.com"))
            .to(CpimAddress::new(
                Some("Carol \"C\"".into()),
                "im:carol@example.com",
            ))
            .cc(CpimAddress::new(None, "im:dave@example.com"))
            .date_time("2006-04-04T12:16:49-05:00")
            .subject(Some("en".into()), "line1\nline2")
            .ns_header("urn:ietf:params:imdn", "imdn", "Message-ID", "34jk324j")
            .ns_header(
                "urn:ietf:params:imdn",
                "ignored",
                "Disposition-Notification",
                "positive-delivery, display",
            )
            .ns_header("urn:other", "imdn", "X", "taken prefix")
            .ns_header("urn:third", "bad.prefix", "Y", "invalid prefix")
            .content_type("text/plain")
            .mime_header("Content-Length", "5")
            .content_type("text/plain; charset=utf-8")
            .body(&b"Hello"[..])
            .build();
        let text = m.to_string();
        assert_eq!(
            text,
            "From: Alice <im:alice@example.com>\r\n\
To: <im:bob@example.com>\r\n\
To: \"Carol \\\"C\\\"\" <im:carol@example.com>\r\n\
cc: <im:dave@example.com>\r\n\
DateTime: 2006-04-04T12:16:49-05:00\r\n\
Subject:;lang=en line1\\nline2\r\n\
NS: imdn <urn:ietf:params:imdn>\r\n\
NS: ns1 <urn:other>\r\n\
NS: ns2 <urn:third>\r\n\
imdn.Message-ID: 34jk324j\r\n\
imdn.Disposition-Notification: positive-delivery, display\r\n\
ns1.X: taken prefix\r\n\
ns2.Y: invalid prefix\r\n\
\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 5\r\n\
\r\n\
Hello"
        );
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back, m);
        let to: Vec<_> = back.to().map(Result::unwrap).collect();
        assert_eq!(to[1].display_name.as_deref(), Some("Carol \"C\""));
        assert_eq!(back.cc().count(), 1);
        assert_eq!(
            back.subjects().next().unwrap(),
            (Some("en"), "line1\nline2".into())
        );
        assert_eq!(
            back.find_ns("urn:ietf:params:imdn", "Message-ID")
                .unwrap()
                .value,
            "34jk324j"
        );
        assert_eq!(
            back.find_ns("urn:third", "Y").unwrap().value,
            "invalid prefix"
        );
    }

    #[test]
    fn encoder_keeps_structure() {
        // Values that would break lines are escaped (CPIM) or blanked (MIME).
        let m = CpimMessage {
            headers: vec![Header::new("Bad Name:", "a\r\nInjected: x")],
            mime_headers: vec![Header::new("Content-Type", "text/plain\r\n\r\nbody")],
            body: Cow::Borrowed(b"x"),
        };
        let bytes = m.to_bytes();
        let back = parse(&bytes).unwrap();
        assert_eq!(back.headers.len(), 1);
        assert_eq!(back.headers[0].name, "Bad-Name-");
        assert_eq!(back.headers[0].decoded_value(), "a\r\nInjected: x");
        assert_eq!(back.mime_headers.len(), 1);
        assert_eq!(&*back.body, b"x");
    }

    #[test]
    fn multipart() {
        let body = b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b \r\n\r\ntwo\r\n--bx not a delimiter\r\n--b--\r\nepilogue";
        let parts = split_multipart(body, "b").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].header("content-type").unwrap().value, "text/plain");
        assert_eq!(parts[0].body, b"one");
        assert!(parts[1].headers.is_empty());
        assert_eq!(parts[1].body, b"two\r\n--bx not a delimiter");
        // No close delimiter: the last part runs to the end.
        let parts = split_multipart(b"--b\nA: 1\n\nlast", "b").unwrap();
        assert_eq!(parts[0].body, b"last");
        assert_eq!(
            split_multipart(b"no delimiter", "b").unwrap_err().kind,
            CpimErrorKind::MissingDelimiter
        );
        assert_eq!(
            split_multipart(b"", "").unwrap_err().kind,
            CpimErrorKind::BadBoundary
        );
        assert_eq!(
            split_multipart(b"", &"x".repeat(71)).unwrap_err().kind,
            CpimErrorKind::BadBoundary
        );
        // Errors inside a part are shifted to the body's offsets.
        assert_eq!(
            split_multipart(b"--b\r\nbad line\r\n", "b").unwrap_err(),
            CpimError::new(CpimErrorKind::MissingColon, 5)
        );
        // Empty part right after a delimiter.
        let parts = split_multipart(b"--b\r\n--b\r\n\r\nx\r\n--b--", "b").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"");
        assert_eq!(parts[1].body, b"x");
    }

    #[test]
    fn boundaries() {
        assert_eq!(
            multipart_boundary("multipart/mixed; boundary=\"imdn-boundary\"").as_deref(),
            Some("imdn-boundary")
        );
        assert_eq!(
            multipart_boundary(
                "multipart/signed; boundary=next; micalg=sha1; protocol=application/pkcs7-signature"
            )
            .as_deref(),
            Some("next")
        );
        assert_eq!(multipart_boundary("text/plain"), None);
        assert_eq!(multipart_boundary("multipart/mixed; x=1"), None);
    }

    #[test]
    fn into_owned_keeps_value() {
        let owned = {
            let buf = MSG.to_vec();
            parse(&buf).unwrap().into_owned()
        };
        assert_eq!(owned, parse(MSG).unwrap());
    }
}
