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

use crate::proto::lex::{find_byte, is_token_str, load_word, split_unquoted, trim_lws};

macro_rules! header_names {
    ($( $(#[$doc:meta])* $var:ident => $name:literal, $compact:expr; )*) => {
        /// A header name: one of the headers msrpgw knows (compact forms
        /// map to the same variant) or any other token, kept as written.
        /// Equality is case-insensitive for `Other`.
        #[derive(Debug, Clone)]
        pub enum HeaderName<'a> {
            $( $(#[$doc])* $var, )*
            /// Any other header, name as written.
            Other(Cow<'a, str>),
        }

        /// Every known full name with its variant, for lookup.
        const KNOWN: &[(&str, HeaderName<'static>)] = &[
            $( ($name, HeaderName::$var), )*
        ];

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

            /// The known header at index `i` of [`KNOWN`] (from
            /// [`classify`]). Written as a chain of constant comparisons,
            /// which the compiler turns into arithmetic on the enum tag,
            /// so the result is built in a register.
            #[inline(always)]
            pub(crate) fn from_index(i: u8) -> HeaderName<'static> {
                #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
                #[repr(u8)]
                enum Idx { $( $var, )* }
                $( if i == Idx::$var as u8 { return HeaderName::$var; } )*
                HeaderName::Other(Cow::Borrowed(""))
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
    Accept => "Accept", None;
    AcceptContact => "Accept-Contact", Some('a');
    AcceptEncoding => "Accept-Encoding", None;
    AcceptLanguage => "Accept-Language", None;
    AlertInfo => "Alert-Info", None;
    Allow => "Allow", None;
    AllowEvents => "Allow-Events", Some('u');
    AuthenticationInfo => "Authentication-Info", None;
    Authorization => "Authorization", None;
    CallId => "Call-ID", Some('i');
    CallInfo => "Call-Info", None;
    Contact => "Contact", Some('m');
    ContentDisposition => "Content-Disposition", None;
    ContentEncoding => "Content-Encoding", Some('e');
    ContentLanguage => "Content-Language", None;
    ContentLength => "Content-Length", Some('l');
    ContentType => "Content-Type", Some('c');
    CSeq => "CSeq", None;
    Date => "Date", None;
    ErrorInfo => "Error-Info", None;
    Event => "Event", Some('o');
    Expires => "Expires", None;
    From => "From", Some('f');
    Identity => "Identity", Some('y');
    InReplyTo => "In-Reply-To", None;
    MaxForwards => "Max-Forwards", None;
    MimeVersion => "MIME-Version", None;
    MinExpires => "Min-Expires", None;
    MinSe => "Min-SE", None;
    Organization => "Organization", None;
    PAssertedIdentity => "P-Asserted-Identity", None;
    PPreferredIdentity => "P-Preferred-Identity", None;
    Path => "Path", None;
    Priority => "Priority", None;
    Privacy => "Privacy", None;
    ProxyAuthenticate => "Proxy-Authenticate", None;
    ProxyAuthorization => "Proxy-Authorization", None;
    ProxyRequire => "Proxy-Require", None;
    RAck => "RAck", None;
    Reason => "Reason", None;
    RecordRoute => "Record-Route", None;
    ReferTo => "Refer-To", Some('r');
    ReferredBy => "Referred-By", Some('b');
    ReplyTo => "Reply-To", None;
    Require => "Require", None;
    RetryAfter => "Retry-After", None;
    Route => "Route", None;
    RSeq => "RSeq", None;
    Server => "Server", None;
    ServiceRoute => "Service-Route", None;
    SessionExpires => "Session-Expires", Some('x');
    Subject => "Subject", Some('s');
    Supported => "Supported", Some('k');
    Timestamp => "Timestamp", None;
    To => "To", Some('t');
    Unsupported => "Unsupported", None;
    UserAgent => "User-Agent", None;
    Via => "Via", Some('v');
    Warning => "Warning", None;
    WwwAuthenticate => "WWW-Authenticate", None;
}

/// Perfect hash of a (full) header name, case-insensitive: letters are
/// folded with `| 0x20`, and every known name is letters and `-`. The
/// multipliers were chosen so that the known names do not collide; the
/// table below fails to build if an added name ever does.
#[inline(always)]
const fn name_hash(b: &[u8]) -> usize {
    let n = b.len();
    (n + 12 * (b[0] | 0x20) as usize + (b[n - 1] | 0x20) as usize + 17 * (b[n / 2] | 0x20) as usize)
        & 255
}

/// [`KNOWN`] names in lowercase, for the comparison after the hash.
const KNOWN_LOWER: [[u8; 24]; KNOWN.len()] = {
    let mut out = [[0u8; 24]; KNOWN.len()];
    let mut i = 0;
    while i < KNOWN.len() {
        let n = KNOWN[i].0.as_bytes();
        let mut j = 0;
        while j < n.len() {
            out[i][j] = n[j].to_ascii_lowercase();
            j += 1;
        }
        i += 1;
    }
    out
};

/// `name_hash` → index into [`KNOWN`], `u8::MAX` for none.
const NAME_TABLE: [u8; 256] = {
    let mut t = [u8::MAX; 256];
    let mut i = 0;
    while i < KNOWN.len() {
        let h = name_hash(KNOWN[i].0.as_bytes());
        assert!(t[h] == u8::MAX, "header name hash collision");
        t[h] = i as u8;
        i += 1;
    }
    t
};

/// ASCII case folding as a table: one load per byte.
const FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_lowercase();
        i += 1;
    }
    t
};

/// Index into [`KNOWN`] of the header with this full name (const, for
/// building tables).
const fn known_index(name: &str) -> u8 {
    let mut i = 0;
    while i < KNOWN.len() {
        let n = KNOWN[i].0.as_bytes();
        let w = name.as_bytes();
        if n.len() == w.len() {
            let mut j = 0;
            while j < n.len() && n[j] == w[j] {
                j += 1;
            }
            if j == n.len() {
                return i as u8;
            }
        }
        i += 1;
    }
    panic!("unknown header name in table");
}

/// RFC 3261 §7.3.3 compact forms, plus those registered by RFC 3841 (`a`),
/// RFC 3892 (`b`), RFC 3515 (`r`), RFC 4028 (`x`), RFC 8224 (`y`), RFC 6665
/// (`o`, `u`): letter → index into [`KNOWN`], `u8::MAX` for none.
const COMPACT: [u8; 26] = {
    let mut t = [u8::MAX; 26];
    let forms: [(u8, &str); 17] = [
        (b'a', "Accept-Contact"),
        (b'b', "Referred-By"),
        (b'c', "Content-Type"),
        (b'e', "Content-Encoding"),
        (b'f', "From"),
        (b'i', "Call-ID"),
        (b'k', "Supported"),
        (b'l', "Content-Length"),
        (b'm', "Contact"),
        (b'o', "Event"),
        (b'r', "Refer-To"),
        (b's', "Subject"),
        (b't', "To"),
        (b'u', "Allow-Events"),
        (b'v', "Via"),
        (b'x', "Session-Expires"),
        (b'y', "Identity"),
    ];
    let mut i = 0;
    while i < forms.len() {
        t[(forms[i].0 - b'a') as usize] = known_index(forms[i].1);
        i += 1;
    }
    t
};

/// Index of Content-Length in [`KNOWN`], which the parser needs to spot.
pub(crate) const CONTENT_LENGTH: u8 = known_index("Content-Length");

/// [`KNOWN_LOWER`] as little-endian words, for comparing a name eight
/// bytes at a time.
const KNOWN_WORDS: [[u64; 3]; KNOWN.len()] = {
    let mut out = [[0u64; 3]; KNOWN.len()];
    let mut i = 0;
    while i < KNOWN.len() {
        let mut k = 0;
        while k < 3 {
            let mut w = [0u8; 8];
            let mut j = 0;
            while j < 8 {
                w[j] = KNOWN_LOWER[i][8 * k + j];
                j += 1;
            }
            out[i][k] = u64::from_le_bytes(w);
            k += 1;
        }
        i += 1;
    }
    out
};

/// Which bytes of [`KNOWN_WORDS`] belong to the name (all ones), so the
/// bytes after a name in the input do not take part in the comparison.
const KNOWN_MASKS: [[u64; 3]; KNOWN.len()] = {
    let mut out = [[0u64; 3]; KNOWN.len()];
    let mut i = 0;
    while i < KNOWN.len() {
        let n = KNOWN[i].0.len();
        let mut j = 0;
        while j < n {
            out[i][j / 8] |= 0xff << (8 * (j % 8));
            j += 1;
        }
        i += 1;
    }
    out
};

/// Bit 0x20 at each `-` of [`KNOWN_WORDS`]: the one bit that tells a `-`
/// from a CR once both are folded with `| 0x20`.
const KNOWN_DASHES: [[u64; 3]; KNOWN.len()] = {
    let mut out = [[0u64; 3]; KNOWN.len()];
    let mut i = 0;
    while i < KNOWN.len() {
        let mut k = 0;
        while k < 3 {
            let mut j = 0;
            while j < 8 {
                if KNOWN_LOWER[i][8 * k + j] == b'-' {
                    out[i][k] |= 0x20 << (8 * j);
                }
                j += 1;
            }
            k += 1;
        }
        i += 1;
    }
    out
};

/// The index into [`KNOWN`] of a header name as written on the wire (any
/// case, full or compact form), or `None` for an unknown name. One hash
/// and at most one comparison, no allocation.
#[inline(always)]
pub(crate) fn classify(name: &str) -> Option<u8> {
    classify_in(name.as_bytes(), 0, name.len())
}

/// [`classify`] for the name at `b[start..end]`. When 24 bytes from
/// `start` are readable (a header line always has its colon and line end
/// after the name), the name is compared three words at a time: `| 0x20`
/// folds the letters, and a known name is letters and `-`, onto which no
/// other byte folds except CR onto `-` (ruled out by a second mask).
/// Otherwise, byte by byte through a folding table.
#[inline(always)]
pub(crate) fn classify_in(b: &[u8], start: usize, end: usize) -> Option<u8> {
    let name = b.get(start..end)?;
    let n = name.len();
    let i = match n {
        0 => return None,
        1 => {
            let c = FOLD[usize::from(name[0])].wrapping_sub(b'a');
            return COMPACT
                .get(usize::from(c))
                .copied()
                .filter(|&i| i != u8::MAX);
        }
        _ => NAME_TABLE[name_hash(name)],
    };
    let (known, _) = KNOWN.get(usize::from(i))?;
    if known.len() != n {
        return None;
    }
    let same = match b.get(start..start + 24) {
        Some(window) => {
            let (words, dashes, masks) = (
                &KNOWN_WORDS[usize::from(i)],
                &KNOWN_DASHES[usize::from(i)],
                &KNOWN_MASKS[usize::from(i)],
            );
            // Branch-free over the three words: any difference sets a bit.
            let mut diff = 0;
            for k in 0..3 {
                let x = load_word(&window[8 * k..8 * k + 8]);
                // CR folds onto `-` too: a `-` must have had bit 0x20 set.
                diff |= ((x | 0x2020_2020_2020_2020) & masks[k]) ^ words[k];
                diff |= (x & dashes[k]) ^ dashes[k];
            }
            diff == 0
        }
        None => {
            let lower = &KNOWN_LOWER[usize::from(i)];
            name.iter()
                .zip(lower)
                .all(|(c, l)| FOLD[usize::from(*c)] == *l)
        }
    };
    same.then_some(i)
}

impl<'a> HeaderName<'a> {
    /// Classifies a header name as written on the wire (any case, full or
    /// compact, RFC 3261 §7.3.3). Unknown names are kept as `Other`. No
    /// allocation: one hash and at most one comparison.
    #[inline]
    pub fn parse(name: &'a str) -> HeaderName<'a> {
        match classify(name) {
            Some(i) => HeaderName::from_index(i),
            None => HeaderName::Other(Cow::Borrowed(name)),
        }
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
    const PLACEHOLDER: Header<'static> = Header {
        name: HeaderName::Accept,
        value: Cow::Borrowed(""),
        offset: 0,
    };

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
/// The comma-separated items of one header value, with their offsets, as
/// [`split_unquoted`] yields them. Most values hold no comma at all: those
/// are one item, found by a word-at-a-time search instead of the byte-wise
/// quote and bracket tracking (typed accessors split the same values
/// several times per request).
pub(crate) fn comma_items(value: &str) -> impl Iterator<Item = (usize, &str)> {
    let split = find_byte(value.as_bytes(), b',').map(|_| split_unquoted(value, b','));
    let whole = if split.is_none() {
        Some((0, value))
    } else {
        None
    };
    whole.into_iter().chain(split.into_iter().flatten())
}

/// The first item of [`comma_items`].
pub(crate) fn first_comma_item(value: &str) -> &str {
    comma_items(value).next().map_or(value, |(_, item)| item)
}

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
    pub(super) list: Vec<Header<'a>>,
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

    /// Appends a parsed header with a borrowed value: `known` from
    /// [`classify`], `name` the name as written (read only when `known` is
    /// `None`).
    ///
    /// Why not `push(Header { .. })`: the compiler assembles the struct on
    /// the stack with 8-byte stores and copies it with 16-byte loads, which
    /// defeats store forwarding and stalled every header (a quarter of the
    /// parse time). Pushing a constant and filling the fields in place
    /// avoids the copy.
    #[inline]
    pub(crate) fn push_borrowed(
        &mut self,
        known: Option<u8>,
        name: &'a str,
        value: &'a str,
        offset: usize,
    ) {
        self.list.push(Header::PLACEHOLDER);
        if let Some(h) = self.list.last_mut() {
            h.name = match known {
                Some(i) => HeaderName::from_index(i),
                None => HeaderName::Other(Cow::Borrowed(name)),
            };
            h.value = Cow::Borrowed(value);
            h.offset = offset;
        }
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
            comma_items(&h.value).map(move |(off, item)| {
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
    fn comma_items_split_as_split_unquoted_does() {
        let values = [
            "",
            "SIP/2.0/UDP host;branch=z9hG4bK1",
            "a, b,c",
            ",",
            "a,",
            "\"x, y\" <sip:a@b>, <sip:c@d;p=1,2>",
            "<sip:a@b>;q=\"0,5\"",
            "\"unterminated, quote",
            "<unterminated, angle",
        ];
        for v in values {
            let fast: Vec<_> = comma_items(v).collect();
            let slow: Vec<_> = split_unquoted(v, b',').collect();
            assert_eq!(fast, slow, "{v:?}");
            assert_eq!(first_comma_item(v), slow[0].1, "{v:?}");
        }
    }

    #[test]
    fn every_known_name_any_case() {
        for (n, h) in KNOWN {
            assert_eq!(&HeaderName::parse(n), h);
            assert_eq!(&HeaderName::parse(&n.to_uppercase()), h);
            assert_eq!(&HeaderName::parse(&n.to_lowercase()), h);
            assert_eq!(h.as_str(), *n);
            // One character more or less is another header.
            assert!(!HeaderName::parse(&format!("{n}x")).is_known());
            assert!(!HeaderName::parse(&n[1..]).is_known() || n.len() == 2);
        }
    }

    #[test]
    fn classify_in_a_line_window() {
        // The word-at-a-time path: the name sits in a longer buffer.
        for (n, h) in KNOWN {
            for name in [n.to_string(), n.to_uppercase(), n.to_lowercase()] {
                let line = format!("{name}: value and more bytes after it\r\n");
                let i = classify_in(line.as_bytes(), 0, name.len()).expect("known");
                assert_eq!(&HeaderName::from_index(i), h, "{name}");
                // A prefix or an extension of a known name is not it.
                let longer = format!("{name}X: v                        \r\n");
                assert_eq!(classify_in(longer.as_bytes(), 0, name.len() + 1), None);
                assert_eq!(
                    classify_in(line.as_bytes(), 0, name.len() - 1).map(|_| ()),
                    {
                        // Only a one-letter prefix can be a compact form.
                        (name.len() == 2).then_some(()).filter(|_| {
                            COMPACT[usize::from(name.as_bytes()[0].to_ascii_lowercase() - b'a')]
                                != u8::MAX
                        })
                    }
                );
            }
        }
        // Near misses that fold onto a known name's letters are not it.
        let s = b"Call\rID: x                          ";
        assert_eq!(classify_in(s, 0, 7), None);
        let s = b"V: x\r\n";
        assert_eq!(
            classify_in(s, 0, 1).map(HeaderName::from_index),
            Some(HeaderName::Via)
        );
        assert_eq!(classify_in(b"1: x", 0, 1), None);
        assert_eq!(classify_in(b"", 0, 0), None);
        assert_eq!(classify_in(b"ab", 1, 5), None);
    }

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
