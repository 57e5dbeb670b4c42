//! Header names and the ordered header list (RFC 3261 §7.3, §20).
//!
//! Owns: [`HeaderName`] (known names, their compact forms, case-insensitive
//! lookup without allocation), [`Header`] (a name and its unfolded value,
//! borrowed from the message when possible) and [`Headers`] (the list in
//! wire order, with lookups and comma-list splitting per RFC 3261 §7.3.1).
//! Typed views of the values live in `typed`.
//!
//! Must not: parse header values (values stay opaque text until a typed
//! view is asked for), or reorder headers.

use std::borrow::Cow;
use std::fmt;

use crate::proto::lex::{is_token_str, split_unquoted, trim_lws};

macro_rules! header_names {
    ($( $(#[$doc:meta])* $var:ident => $name:literal, $lower:literal, $compact:expr; )*) => {
        /// A header name: one of the headers msrpgw knows (compact forms
        /// map to the same variant) or any other token, kept as written.
        /// Equality is case-insensitive for `Other`.
        #[derive(Debug, Clone)]
        pub enum HeaderName<'a> {
            $( $(#[$doc])* $var, )*
            /// Any other header, name as written.
            Other(Cow<'a, str>),
        }

        impl<'a> HeaderName<'a> {
            /// The full name as RFC 3261 (or its extension) spells it, or
            /// an `Other` name as written.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$var => $name, )*
                    HeaderName::Other(s) => s,
                }
            }

            /// The compact form (RFC 3261 §7.3.3 and the extensions that
            /// register one), if the header has one.
            pub const fn compact(&self) -> Option<char> {
                match self {
                    $( HeaderName::$var => $compact, )*
                    HeaderName::Other(_) => None,
                }
            }

            /// Known header by lowercase full name or compact letter.
            fn lookup(lower: &[u8]) -> Option<HeaderName<'static>> {
                Some(match lower {
                    $( $lower => HeaderName::$var, )*
                    b"a" => HeaderName::AcceptContact,
                    b"b" => HeaderName::ReferredBy,
                    b"c" => HeaderName::ContentType,
                    b"e" => HeaderName::ContentEncoding,
                    b"f" => HeaderName::From,
                    b"i" => HeaderName::CallId,
                    b"k" => HeaderName::Supported,
                    b"l" => HeaderName::ContentLength,
                    b"m" => HeaderName::Contact,
                    b"o" => HeaderName::Event,
                    b"r" => HeaderName::ReferTo,
                    b"s" => HeaderName::Subject,
                    b"t" => HeaderName::To,
                    b"u" => HeaderName::AllowEvents,
                    b"v" => HeaderName::Via,
                    b"x" => HeaderName::SessionExpires,
                    b"y" => HeaderName::Identity,
                    _ => return None,
                })
            }

            pub fn into_owned(self) -> HeaderName<'static> {
                match self {
                    $( HeaderName::$var => HeaderName::$var, )*
                    HeaderName::Other(s) => HeaderName::Other(Cow::Owned(s.into_owned())),
                }
            }
        }
    };
}

header_names! {
    Accept => "Accept", b"accept", None;
    AcceptContact => "Accept-Contact", b"accept-contact", Some('a');
    AcceptEncoding => "Accept-Encoding", b"accept-encoding", None;
    AcceptLanguage => "Accept-Language", b"accept-language", None;
    AlertInfo => "Alert-Info", b"alert-info", None;
    Allow => "Allow", b"allow", None;
    AllowEvents => "Allow-Events", b"allow-events", Some('u');
    AuthenticationInfo => "Authentication-Info", b"authentication-info", None;
    Authorization => "Authorization", b"authorization", None;
    CallId => "Call-ID", b"call-id", Some('i');
    CallInfo => "Call-Info", b"call-info", None;
    Contact => "Contact", b"contact", Some('m');
    ContentDisposition => "Content-Disposition", b"content-disposition", None;
    ContentEncoding => "Content-Encoding", b"content-encoding", Some('e');
    ContentLanguage => "Content-Language", b"content-language", None;
    ContentLength => "Content-Length", b"content-length", Some('l');
    ContentType => "Content-Type", b"content-type", Some('c');
    CSeq => "CSeq", b"cseq", None;
    Date => "Date", b"date", None;
    ErrorInfo => "Error-Info", b"error-info", None;
    Event => "Event", b"event", Some('o');
    Expires => "Expires", b"expires", None;
    From => "From", b"from", Some('f');
    Identity => "Identity", b"identity", Some('y');
    InReplyTo => "In-Reply-To", b"in-reply-to", None;
    MaxForwards => "Max-Forwards", b"max-forwards", None;
    MimeVersion => "MIME-Version", b"mime-version", None;
    MinExpires => "Min-Expires", b"min-expires", None;
    MinSe => "Min-SE", b"min-se", None;
    Organization => "Organization", b"organization", None;
    PAssertedIdentity => "P-Asserted-Identity", b"p-asserted-identity", None;
    PPreferredIdentity => "P-Preferred-Identity", b"p-preferred-identity", None;
    Path => "Path", b"path", None;
    Priority => "Priority", b"priority", None;
    Privacy => "Privacy", b"privacy", None;
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate", None;
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization", None;
    ProxyRequire => "Proxy-Require", b"proxy-require", None;
    RAck => "RAck", b"rack", None;
    Reason => "Reason", b"reason", None;
    RecordRoute => "Record-Route", b"record-route", None;
    ReferTo => "Refer-To", b"refer-to", Some('r');
    ReferredBy => "Referred-By", b"referred-by", Some('b');
    ReplyTo => "Reply-To", b"reply-to", None;
    Require => "Require", b"require", None;
    RetryAfter => "Retry-After", b"retry-after", None;
    Route => "Route", b"route", None;
    RSeq => "RSeq", b"rseq", None;
    Server => "Server", b"server", None;
    ServiceRoute => "Service-Route", b"service-route", None;
    SessionExpires => "Session-Expires", b"session-expires", Some('x');
    Subject => "Subject", b"subject", Some('s');
    Supported => "Supported", b"supported", Some('k');
    Timestamp => "Timestamp", b"timestamp", None;
    To => "To", b"to", Some('t');
    Unsupported => "Unsupported", b"unsupported", None;
    UserAgent => "User-Agent", b"user-agent", None;
    Via => "Via", b"via", Some('v');
    Warning => "Warning", b"warning", None;
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate", None;
}

/// Longest known name ("Authentication-Info", "P-Preferred-Identity").
const MAX_KNOWN: usize = 24;

impl<'a> HeaderName<'a> {
    /// Classifies a header name as written on the wire (any case, full or
    /// compact). Unknown names are kept as `Other`. No allocation.
    #[inline]
    pub fn parse(name: &'a str) -> HeaderName<'a> {
        let b = name.as_bytes();
        if b.len() <= MAX_KNOWN {
            let mut buf = [0u8; MAX_KNOWN];
            let lower = &mut buf[..b.len()];
            for (d, s) in lower.iter_mut().zip(b) {
                *d = s.to_ascii_lowercase();
            }
            if let Some(h) = HeaderName::lookup(lower) {
                return h;
            }
        }
        HeaderName::Other(Cow::Borrowed(name))
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, HeaderName::Other(_))
    }

    /// A valid wire name: every known one, or an `Other` that is a token.
    pub fn is_valid(&self) -> bool {
        match self {
            HeaderName::Other(s) => is_token_str(s),
            _ => true,
        }
    }

    /// Headers whose grammar allows one value only (RFC 3261 §20, and the
    /// single-instance headers of extensions msrpgw reads).
    pub fn is_single_value(&self) -> bool {
        matches!(
            self,
            HeaderName::CallId
                | HeaderName::ContentLength
                | HeaderName::ContentType
                | HeaderName::CSeq
                | HeaderName::Date
                | HeaderName::Expires
                | HeaderName::From
                | HeaderName::MaxForwards
                | HeaderName::MinExpires
                | HeaderName::RetryAfter
                | HeaderName::To
                | HeaderName::Timestamp
                | HeaderName::ContentDisposition
                | HeaderName::MimeVersion
                | HeaderName::Priority
                | HeaderName::SessionExpires
        )
    }
}

impl From<&'static str> for HeaderName<'static> {
    /// Classifies a name literal: `HeaderName::from("X-Foo")`.
    fn from(s: &'static str) -> Self {
        HeaderName::parse(s)
    }
}

impl PartialEq for HeaderName<'_> {
    fn eq(&self, other: &HeaderName<'_>) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => false,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName<'_> {}

impl fmt::Display for HeaderName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field: name and value. The value is unfolded (RFC 3261
/// §7.3.1: each CRLF + whitespace became one SP) and trimmed; it borrows
/// from the message unless unfolding had to copy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: HeaderName<'a>,
    pub value: Cow<'a, str>,
    /// Byte offset of the value in the parsed message (0 when built), so a
    /// typed view's error can point into the original bytes.
    pub offset: usize,
}

impl Header<'_> {
    pub fn into_owned(self) -> Header<'static> {
        Header {
            name: self.name.into_owned(),
            value: Cow::Owned(self.value.into_owned()),
            offset: self.offset,
        }
    }
}

/// Makes a value safe to put on one header line: CR and LF become SP and
/// surrounding whitespace is trimmed. Other control characters stay (a
/// quoted-pair may escape NUL, RFC 4475 `intmeth`). Borrows when nothing
/// changes.
pub(crate) fn clean_value<'a>(v: Cow<'a, str>) -> Cow<'a, str> {
    let bad = |c: char| matches!(c, '\r' | '\n');
    if !v.contains(bad) {
        let t = trim_lws(&v);
        if t.len() == v.len() {
            return v;
        }
        return match v {
            Cow::Borrowed(b) => Cow::Borrowed(trim_lws(b)),
            Cow::Owned(o) => Cow::Owned(trim_lws(&o).to_owned()),
        };
    }
    let replaced: String = v.chars().map(|c| if bad(c) { ' ' } else { c }).collect();
    Cow::Owned(trim_lws(&replaced).to_owned())
}

/// The header fields of a message, in wire order.
#[derive(Debug, Clone, Default)]
pub struct Headers<'a> {
    list: Vec<Header<'a>>,
}

impl<'a> Headers<'a> {
    pub fn new() -> Self {
        Headers { list: Vec::new() }
    }

    pub fn with_capacity(n: usize) -> Self {
        Headers {
            list: Vec::with_capacity(n),
        }
    }

    /// Appends a parsed header as is (the parser already unfolded and
    /// trimmed it).
    #[inline]
    pub(crate) fn push_raw(&mut self, h: Header<'a>) {
        self.list.push(h);
    }

    /// Appends a header. The value is made single-line (CR/LF → SP,
    /// trimmed) so the message always encodes validly.
    pub fn push(&mut self, name: HeaderName<'a>, value: impl Into<Cow<'a, str>>) {
        self.list.push(Header {
            name,
            value: clean_value(value.into()),
            offset: 0,
        });
    }

    /// Replaces every `name` header by one with `value`, at the position of
    /// the first (or at the end).
    pub fn set(&mut self, name: HeaderName<'a>, value: impl Into<Cow<'a, str>>) {
        let value = clean_value(value.into());
        match self.list.iter().position(|h| h.name == name) {
            Some(i) => {
                self.list[i].value = value;
                self.list[i].offset = 0;
                let mut n = 0;
                self.list.retain(|h| {
                    n += 1;
                    n - 1 <= i || h.name != name
                });
            }
            None => self.list.push(Header {
                name,
                value,
                offset: 0,
            }),
        }
    }

    /// Removes every `name` header; returns how many there were.
    pub fn remove(&mut self, name: &HeaderName<'_>) -> usize {
        let before = self.list.len();
        self.list.retain(|h| h.name != *name);
        before - self.list.len()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header<'a>> {
        self.list.iter()
    }

    pub fn as_slice(&self) -> &[Header<'a>] {
        &self.list
    }

    /// The first `name` header.
    pub fn first(&self, name: &HeaderName<'_>) -> Option<&Header<'a>> {
        self.list.iter().find(|h| h.name == *name)
    }

    /// Value of the first `name` header.
    pub fn get(&self, name: &HeaderName<'_>) -> Option<&str> {
        self.first(name).map(|h| &*h.value)
    }

    /// Every `name` header, in order.
    pub fn get_all<'s, 'n>(
        &'s self,
        name: &'n HeaderName<'n>,
    ) -> impl Iterator<Item = &'s Header<'a>> + use<'s, 'n, 'a> {
        self.list.iter().filter(move |h| h.name == *name)
    }

    pub fn count(&self, name: &HeaderName<'_>) -> usize {
        self.list.iter().filter(|h| h.name == *name).count()
    }

    /// The comma-separated elements of every `name` header, in order
    /// (RFC 3261 §7.3.1: several header lines are equivalent to one
    /// comma-joined line). Commas inside quotes and `<...>` do not split.
    /// Each item is trimmed and comes with its byte offset in the message
    /// (approximate for folded values); empty items are yielded too, so a
    /// grammar that forbids them can reject them.
    pub fn values<'s, 'n>(
        &'s self,
        name: &'n HeaderName<'n>,
    ) -> impl Iterator<Item = (usize, &'s str)> + use<'s, 'n, 'a> {
        self.get_all(name).flat_map(|h| {
            split_unquoted(&h.value, b',').map(move |(off, item)| {
                let lead = item.len() - item.trim_start_matches([' ', '\t']).len();
                (h.offset + off + lead, trim_lws(item))
            })
        })
    }

    pub fn into_owned(self) -> Headers<'static> {
        Headers {
            list: self.list.into_iter().map(Header::into_owned).collect(),
        }
    }
}

impl PartialEq for Headers<'_> {
    /// Structural equality for round trips: same headers in the same order,
    /// names compared case-insensitively (compact = full), values exactly,
    /// offsets ignored. Content-Length is ignored: the encoder always
    /// writes the body's true length, whatever the list said.
    fn eq(&self, other: &Headers<'_>) -> bool {
        let a = self
            .list
            .iter()
            .filter(|h| h.name != HeaderName::ContentLength);
        let mut b = other
            .list
            .iter()
            .filter(|h| h.name != HeaderName::ContentLength);
        for x in a {
            match b.next() {
                Some(y) if x.name == y.name && x.value == y.value => {}
                _ => return false,
            }
        }
        b.next().is_none()
    }
}

impl Eq for Headers<'_> {}

impl<'s, 'a> IntoIterator for &'s Headers<'a> {
    type Item = &'s Header<'a>;
    type IntoIter = std::slice::Iter<'s, Header<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lookup() {
        assert_eq!(HeaderName::parse("MaX-fOrWaRdS"), HeaderName::MaxForwards);
        assert_eq!(HeaderName::parse("v"), HeaderName::Via);
        assert_eq!(HeaderName::parse("V"), HeaderName::Via);
        assert_eq!(HeaderName::parse("i"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("l"), HeaderName::ContentLength);
        for (c, full) in [
            ("a", "Accept-Contact"),
            ("b", "Referred-By"),
            ("c", "Content-Type"),
            ("e", "Content-Encoding"),
            ("f", "From"),
            ("k", "Supported"),
            ("m", "Contact"),
            ("o", "Event"),
            ("r", "Refer-To"),
            ("s", "Subject"),
            ("t", "To"),
            ("u", "Allow-Events"),
            ("x", "Session-Expires"),
            ("y", "Identity"),
        ] {
            let h = HeaderName::parse(c);
            assert_eq!(h.as_str(), full);
            assert_eq!(h.compact().map(String::from).as_deref(), Some(c));
            assert_eq!(HeaderName::parse(full), h);
        }
        let other = HeaderName::parse("C%6Fntact");
        assert!(!other.is_known());
        assert_ne!(other, HeaderName::Contact);
        assert_eq!(other, HeaderName::parse("c%6fNTACT"));
        assert_eq!(HeaderName::parse("z"), HeaderName::Other("Z".into()));
        assert_eq!(
            HeaderName::parse("p-asserted-identity").as_str(),
            "P-Asserted-Identity"
        );
        assert_eq!(
            HeaderName::parse("Unknown-LongLongLongLongLongLong").as_str(),
            "Unknown-LongLongLongLongLongLong"
        );
        assert_eq!(
            HeaderName::WwwAuthenticate.into_owned(),
            HeaderName::WwwAuthenticate
        );
        assert!(!HeaderName::Other("a b".into()).is_valid());
    }

    #[test]
    fn list_ops() {
        let mut h = Headers::new();
        h.push(HeaderName::Via, "a");
        h.push(HeaderName::To, " x\r\ny ");
        h.push(HeaderName::Via, "b, \"c,d\" <e,f>");
        assert_eq!(h.get(&HeaderName::To), Some("x  y"));
        let v: Vec<_> = h.values(&HeaderName::Via).map(|(_, s)| s).collect();
        assert_eq!(v, ["a", "b", "\"c,d\" <e,f>"]);
        h.set(HeaderName::Via, "z");
        assert_eq!(h.count(&HeaderName::Via), 1);
        assert_eq!(h.iter().next().unwrap().value, "z");
        assert_eq!(h.remove(&HeaderName::To), 1);
        assert_eq!(h.len(), 1);
        h.set(HeaderName::CallId, "c");
        assert_eq!(h.as_slice()[1].name, HeaderName::CallId);
    }
}
