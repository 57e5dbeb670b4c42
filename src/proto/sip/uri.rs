//! SIP, SIPS and tel URIs (RFC 3261 §19.1 and §25.1, RFC 3966) and their
//! comparison (RFC 3261 §19.1.4). Other schemes (`im:`, `http:`, ...) are kept
//! opaque (RFC 3261 §25.1 `absoluteURI`).
//!
//! Owns: the URI grammar (`SIP-URI`, `SIPS-URI`, basic `telephone-subscriber`,
//! `absoluteURI`), its character classes and `%HH` rules, URI equivalence, the
//! address-of-record key used to pair conversation partners, and the writer
//! that turns a [`Uri`] back into wire text.
//!
//! Must not: resolve host names, know about header fields or name-addr
//! syntax (see `addr.rs`), or allocate while parsing: every text field
//! borrows from the input and keeps its escapes, so encoding reproduces the
//! input byte for byte.
//!
//! A URI never contains whitespace, controls, `<`, `>`, `"` or non-ASCII
//! bytes (RFC 4475 §3.1.2.7 `ltgtruri`, §3.1.2.8 `lwsruri`); the parser
//! rejects them before anything else, so every later slice is at an ASCII
//! position.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::proto::ParseError;
use crate::proto::lex::{self, Param};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
    /// Any other absoluteURI scheme; see [`Uri::scheme_raw`] and [`Uri::opaque`].
    Other,
}

/// What was wrong with a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriErrorKind {
    /// Nothing to parse.
    Empty,
    /// Whitespace, a control, `<`, `>`, `"` or a non-ASCII byte.
    IllegalCharacter,
    /// No `scheme:` in front.
    MissingScheme,
    /// A scheme character outside `ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")`.
    BadScheme,
    /// `scheme:` with nothing after it (other than sip/sips).
    EmptyOpaque,
    /// Empty user, or a character not allowed in user or password.
    BadUserinfo,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// A sip/sips URI without a host.
    MissingHost,
    /// A host that is neither a hostname, an IPv4 address nor an IPv6 reference.
    BadHost,
    /// A port that is empty, not decimal, or above 65535.
    BadPort,
    /// An empty or invalid `;name=value` uri-parameter.
    BadParam,
    /// A `?name=value` header that is empty, lacks `=`, or has a bad character.
    BadHeader,
    /// A tel URI whose number is empty or has a character outside the
    /// telephone-subscriber set.
    BadNumber,
}

impl UriErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            UriErrorKind::Empty => "empty URI",
            UriErrorKind::IllegalCharacter => {
                "whitespace, control, '<', '>', '\"' or non-ASCII character in URI"
            }
            UriErrorKind::MissingScheme => "URI without scheme",
            UriErrorKind::BadScheme => "invalid URI scheme",
            UriErrorKind::EmptyOpaque => "nothing after the URI scheme",
            UriErrorKind::BadUserinfo => "invalid user or password in URI",
            UriErrorKind::BadEscape => "'%' not followed by two hex digits in URI",
            UriErrorKind::MissingHost => "URI without host",
            UriErrorKind::BadHost => "invalid host in URI",
            UriErrorKind::BadPort => "invalid port in URI",
            UriErrorKind::BadParam => "invalid URI parameter",
            UriErrorKind::BadHeader => "invalid URI header",
            UriErrorKind::BadNumber => "invalid telephone number in tel URI",
        }
    }
}

impl fmt::Display for UriErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
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

// ---------------------------------------------------------------------------
// Character classes (RFC 3261 §25.1, RFC 2396 §2, RFC 3966 §3)

/// `unreserved = alphanum / mark`, `mark = - _ . ! ~ * ' ( )`, plus `extra`.
const fn class(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            );
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

static UNRESERVED: [bool; 256] = class(b"");
/// `user = 1*( unreserved / escaped / user-unreserved )`.
static USER: [bool; 256] = class(b"&=+$,;?/");
/// `password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )`.
static PASSWORD: [bool; 256] = class(b"&=+$,");
/// `paramchar = param-unreserved / unreserved / escaped`.
static PARAMCHAR: [bool; 256] = class(b"[]/:&+$");
/// `hname` / `hvalue` characters: `hnv-unreserved / unreserved / escaped`.
static HNV: [bool; 256] = class(b"[]/?:+$");
/// `uric` (RFC 2396 reserved + unreserved), with `[` `]` from RFC 2732.
static URIC: [bool; 256] = class(b";/?:@&=+$,[]");
/// tel parameter values: `uric` except the `;` that separates parameters
/// (`isub` is `uric`, `ext` and `phone-context` are subsets).
static TEL_VALUE: [bool; 256] = class(b"/?:@&=+$,[]");
/// RFC 3966 number characters: HEXDIG, `*`, `#`, `+` and visual separators.
static TEL_NUMBER: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_hexdigit() || matches!(c, b'*' | b'#' | b'+' | b'-' | b'.' | b'(' | b')');
        i += 1;
    }
    t
};
/// Characters after the first of a hostname label: `alphanum / "-"`.
static LABEL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'-';
        i += 1;
    }
    t
};
/// Characters a host can be written with (hostname, IPv4, IPv6 reference).
static HOST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':' | b'[' | b']');
        i += 1;
    }
    t
};

/// Bytes that may appear anywhere in a URI of any scheme.
#[inline]
const fn is_uri_byte(c: u8) -> bool {
    c > 0x20 && c < 0x7F && !matches!(c, b'<' | b'>' | b'"')
}

#[inline]
fn is_escape_at(b: &[u8], i: usize, end: usize) -> bool {
    i + 2 < end
        && b.get(i) == Some(&b'%')
        && b.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit())
        && b.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
}

/// Index of the first byte in `b[i..end]` outside `class`, treating a valid
/// `%HH` escape as one allowed unit. A `%` that is not an escape is an error.
fn scan(b: &[u8], mut i: usize, end: usize, class: &[bool; 256]) -> Result<usize, UriError> {
    while i < end {
        let c = b[i];
        if c == b'%' {
            if !is_escape_at(b, i, end) {
                return Err(UriError::new(UriErrorKind::BadEscape, i));
            }
            i += 3;
        } else if class[c as usize] {
            i += 1;
        } else {
            break;
        }
    }
    Ok(i)
}

/// First index in `b[i..]` holding one of `stops`, or `b.len()`.
#[inline]
fn find_any(b: &[u8], i: usize, stops: &[u8]) -> usize {
    b.get(i..)
        .and_then(|r| r.iter().position(|c| stops.contains(c)))
        .map_or(b.len(), |p| i + p)
}

// ---------------------------------------------------------------------------
// Hosts (RFC 3261 §25.1 `host`)

/// `IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT`, each at
/// most 255. On error, the offset of the offending byte within `h`.
fn check_ipv4(h: &[u8]) -> Result<(), usize> {
    let mut parts = 0;
    let mut start = 0;
    for (i, &c) in h
        .iter()
        .enumerate()
        .chain(std::iter::once((h.len(), &b'.')))
    {
        if c == b'.' {
            let part = &h[start..i];
            if part.is_empty() {
                return Err(i.min(h.len().saturating_sub(1)));
            }
            if part.len() > 3 {
                return Err(start);
            }
            let v = part
                .iter()
                .fold(0u16, |v, d| v * 10 + u16::from(d.wrapping_sub(b'0')));
            if v > 255 {
                return Err(start);
            }
            parts += 1;
            if parts == 4 && i < h.len() {
                return Err(i);
            }
            start = i + 1;
        } else if !c.is_ascii_digit() {
            return Err(i);
        }
    }
    if parts == 4 {
        Ok(())
    } else {
        Err(h.len().saturating_sub(1))
    }
}

/// `hostname = *( domainlabel "." ) toplabel [ "." ]` or `IPv4address`.
/// A last label that starts with a digit makes the host an IPv4 address.
fn check_host(h: &[u8]) -> Result<(), usize> {
    let body = match h.split_last() {
        Some((b'.', rest)) if !rest.is_empty() => rest,
        _ => h,
    };
    let last_start = body.iter().rposition(|&c| c == b'.').map_or(0, |p| p + 1);
    if body.get(last_start).is_some_and(u8::is_ascii_digit) {
        if body.len() != h.len() {
            return Err(body.len());
        }
        return check_ipv4(h);
    }
    let mut start = 0;
    for label in body.split(|&c| c == b'.') {
        let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
            return Err(start);
        };
        if let Some(k) = label
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'-'))
        {
            return Err(start + k);
        }
        if first == b'-' {
            return Err(start);
        }
        if last == b'-' {
            return Err(start + label.len() - 1);
        }
        start += label.len() + 1;
    }
    Ok(())
}

/// RFC 3261 §25.1 `IPv6address` (RFC 4291 §2.2 text forms, IPv4 tail
/// included), without the brackets.
fn is_ipv6(s: &[u8]) -> bool {
    let n = s.len();
    if n < 2 {
        return false;
    }
    let mut groups = 0;
    let mut double = false;
    let mut i = 0;
    if s.starts_with(b"::") {
        double = true;
        i = 2;
        if i == n {
            return true;
        }
    }
    loop {
        let start = i;
        while i < n && s[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i < n && s[i] == b'.' {
            if check_ipv4(&s[start..]).is_err() {
                return false;
            }
            groups += 2;
            break;
        }
        let len = i - start;
        if len == 0 || len > 4 {
            return false;
        }
        groups += 1;
        if i == n {
            break;
        }
        if s[i] != b':' {
            return false;
        }
        i += 1;
        if i < n && s[i] == b':' {
            if double {
                return false;
            }
            double = true;
            i += 1;
            if i == n {
                break;
            }
        } else if i == n {
            return false;
        }
        if groups > 8 {
            return false;
        }
    }
    if double { groups <= 7 } else { groups == 8 }
}

/// True for `"[" IPv6address "]"` (RFC 3261 §25.1 `IPv6reference`).
pub(crate) fn is_ipv6_reference(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'[' && b[b.len() - 1] == b']' && is_ipv6(&b[1..b.len() - 1])
}

// ---------------------------------------------------------------------------
// Parser

/// What [`Uri::parse_common`] found; the fields it does not list are
/// absent. Small, so it moves cheaply; [`Common::into_uri`] builds the
/// large [`Uri`] where the caller writes it.
struct Common<'a> {
    scheme: Scheme,
    scheme_raw: &'a str,
    user: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    params: Vec<Param<'a>>,
}

impl<'a> Common<'a> {
    #[inline(always)]
    fn into_uri(self) -> Uri<'a> {
        Uri {
            scheme: self.scheme,
            scheme_raw: Cow::Borrowed(self.scheme_raw),
            user: self.user.map(Cow::Borrowed),
            password: None,
            host: Cow::Borrowed(self.host),
            port: self.port,
            params: self.params,
            headers: Vec::new(),
            opaque: None,
        }
    }
}

impl<'a> Uri<'a> {
    /// Parses `SIP-URI` / `SIPS-URI` (RFC 3261 §19.1.1, §25.1), a basic tel
    /// URI (RFC 3966 §3: `telephone-subscriber` and its `;params`), or any
    /// other `absoluteURI` kept opaque (RFC 3261 §25.1, RFC 2396 §3).
    ///
    /// The userinfo is everything up to the first `@` (an `@` inside the user
    /// part must be escaped, RFC 4475 §3.1.1.9 `semiuri`).
    #[inline]
    pub fn parse(s: &'a str) -> Result<Uri<'a>, UriError> {
        // Built here from small parts, not returned whole from the helper:
        // a Uri is large, and each move of one is a memcpy.
        match Self::parse_common(s) {
            Some(c) => Ok(c.into_uri()),
            None => Self::parse_full(s),
        }
    }

    /// The common shape, `sip:` or `sips:` then `[user@]host[:port]` and
    /// `;params` (no password, no `%` in user or host, no IPv6 reference,
    /// no `?headers`), in one pass. `None` for anything else, and for every
    /// input [`Self::parse_full`] rejects: this path accepts a subset of
    /// what the full parser accepts and returns the same `Uri` for it, so
    /// results and errors do not depend on which path ran. Every byte it
    /// accepts is in a class the full parser's illegal-character check
    /// allows, and the host rules are those of `check_host`.
    #[inline]
    fn parse_common(s: &'a str) -> Option<Common<'a>> {
        let b = s.as_bytes();
        let n = b.len();
        if !b.get(..3)?.eq_ignore_ascii_case(b"sip") {
            return None;
        }
        let (scheme, start) = match b.get(3)? {
            b':' => (Scheme::Sip, 4),
            b's' | b'S' if b.get(4) == Some(&b':') => (Scheme::Sips, 5),
            _ => return None,
        };

        // userinfo: up to the first `@`, all `user` characters.
        let mut i = start;
        while i < n && USER[usize::from(b[i])] {
            i += 1;
        }
        let (user, host_start) = if b.get(i) == Some(&b'@') {
            if i == start {
                return None;
            }
            (Some(&s[start..i]), i + 1)
        } else {
            // A password, an escape or a stray byte before an `@`: the
            // full parser decides. No `@` at all: no userinfo.
            if lex::find_byte(&b[i..], b'@').is_some() {
                return None;
            }
            (None, start)
        };

        // host: a hostname (labels of alphanumerics and inner `-`, an
        // optional final `.`) or an IPv4 address, up to `:`, `;`, `?`.
        let mut i = host_start;
        let mut last_label_digit = false;
        let mut final_dot = false;
        loop {
            match b.get(i) {
                Some(c) if c.is_ascii_alphanumeric() => last_label_digit = c.is_ascii_digit(),
                None | Some(b':' | b';' | b'?') if i > host_start => {
                    final_dot = true;
                    break;
                }
                _ => return None,
            }
            i += 1;
            while i < n && LABEL[usize::from(b[i])] {
                i += 1;
            }
            if b[i - 1] == b'-' {
                return None;
            }
            if b.get(i) != Some(&b'.') {
                break;
            }
            i += 1;
        }
        let host_end = i;
        if !matches!(b.get(i), None | Some(b':' | b';' | b'?')) {
            return None;
        }
        if last_label_digit {
            // check_host: a last label starting with a digit makes the
            // host an IPv4 address, which has no final `.`.
            if final_dot {
                return None;
            }
            check_ipv4(&b[host_start..host_end]).ok()?;
        }

        // port = 1*DIGIT, at most 65535 (leading zeros allowed).
        let mut port = None;
        if b.get(i) == Some(&b':') {
            let ps = i + 1;
            let mut v: u32 = 0;
            i = ps;
            while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                v = v * 10 + u32::from(c - b'0');
                if v > u32::from(u16::MAX) {
                    return None;
                }
                i += 1;
            }
            if i == ps {
                return None;
            }
            port = u16::try_from(v).ok();
        }

        let mut params = Vec::new();
        if b.get(i) == Some(&b';') {
            i = parse_uri_params(s, i, &PARAMCHAR, &mut params).ok()?;
        }
        if i != n {
            return None;
        }
        Some(Common {
            scheme,
            scheme_raw: &s[..start - 1],
            user,
            host: &s[host_start..host_end],
            port,
            params,
        })
    }

    /// Every form [`Self::parse`] accepts, with its errors.
    fn parse_full(s: &'a str) -> Result<Uri<'a>, UriError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(UriError::new(UriErrorKind::Empty, 0));
        }
        if let Some(i) = b.iter().position(|&c| !is_uri_byte(c)) {
            return Err(UriError::new(UriErrorKind::IllegalCharacter, i));
        }
        let colon = match lex::find_byte(b, b':') {
            None | Some(0) => return Err(UriError::new(UriErrorKind::MissingScheme, 0)),
            Some(c) => c,
        };
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        for (i, &c) in b[..colon].iter().enumerate() {
            let ok = if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
            };
            if !ok {
                return Err(UriError::new(UriErrorKind::BadScheme, i));
            }
        }
        let scheme_raw = &s[..colon];
        let scheme = if scheme_raw.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme_raw.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme_raw.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            Scheme::Other
        };
        let mut uri = Uri {
            scheme,
            scheme_raw: Cow::Borrowed(scheme_raw),
            user: None,
            password: None,
            host: Cow::Borrowed(""),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
            opaque: None,
        };
        let start = colon + 1;
        match scheme {
            Scheme::Sip | Scheme::Sips => uri.parse_sip(s, start)?,
            Scheme::Tel => uri.parse_tel(s, start)?,
            Scheme::Other => {
                if start == b.len() {
                    return Err(UriError::new(UriErrorKind::EmptyOpaque, start));
                }
                let end = scan(b, start, b.len(), &URIC)?;
                if end != b.len() {
                    return Err(UriError::new(UriErrorKind::IllegalCharacter, end));
                }
                uri.opaque = Some(Cow::Borrowed(&s[start..]));
            }
        }
        Ok(uri)
    }

    /// `[ userinfo ] hostport uri-parameters [ headers ]` after `sip:`.
    fn parse_sip(&mut self, s: &'a str, start: usize) -> Result<(), UriError> {
        let b = s.as_bytes();
        let n = b.len();
        let mut i = start;
        if let Some(rel) = lex::find_byte(&b[start..], b'@') {
            let at = start + rel;
            let ue = scan(b, start, at, &USER)?;
            if ue == start {
                return Err(UriError::new(UriErrorKind::BadUserinfo, start));
            }
            self.user = Some(Cow::Borrowed(&s[start..ue]));
            if ue < at {
                if b[ue] != b':' {
                    return Err(UriError::new(UriErrorKind::BadUserinfo, ue));
                }
                let pe = scan(b, ue + 1, at, &PASSWORD)?;
                if pe != at {
                    return Err(UriError::new(UriErrorKind::BadUserinfo, pe));
                }
                self.password = Some(Cow::Borrowed(&s[ue + 1..at]));
            }
            i = at + 1;
        }

        // hostport = host [ ":" port ]
        let host_end;
        if b.get(i) == Some(&b'[') {
            let close = lex::find_byte(&b[i..], b']')
                .map(|p| i + p)
                .ok_or(UriError::new(UriErrorKind::BadHost, i))?;
            if !is_ipv6(&b[i + 1..close]) {
                return Err(UriError::new(UriErrorKind::BadHost, i));
            }
            host_end = close + 1;
            if host_end < n && !matches!(b[host_end], b':' | b';' | b'?') {
                return Err(UriError::new(UriErrorKind::BadHost, host_end));
            }
        } else {
            host_end = find_any(b, i, b":;?");
            if host_end == i {
                return Err(UriError::new(UriErrorKind::MissingHost, i));
            }
            check_host(&b[i..host_end]).map_err(|k| UriError::new(UriErrorKind::BadHost, i + k))?;
        }
        self.host = Cow::Borrowed(&s[i..host_end]);
        i = host_end;
        if b.get(i) == Some(&b':') {
            let ps = i + 1;
            let pe = find_any(b, ps, b";?");
            let digits = &b[ps..pe];
            let port = lex::parse_decimal(&s[ps..pe], u64::from(u16::MAX))
                .and_then(|p| u16::try_from(p).ok());
            match port {
                Some(p) => self.port = Some(p),
                None => {
                    let at = digits
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(ps, |k| ps + k);
                    return Err(UriError::new(UriErrorKind::BadPort, at));
                }
            }
            i = pe;
        }

        i = parse_uri_params(s, i, &PARAMCHAR, &mut self.params)?;

        // headers = "?" header *( "&" header ), header = hname "=" hvalue
        if b.get(i) == Some(&b'?') {
            loop {
                let hs = i + 1;
                let he = scan(b, hs, n, &HNV)?;
                if he == hs || b.get(he) != Some(&b'=') {
                    return Err(UriError::new(UriErrorKind::BadHeader, he));
                }
                let ve = scan(b, he + 1, n, &HNV)?;
                self.headers.push(Param::new(
                    Cow::Borrowed(&s[hs..he]),
                    Some(Cow::Borrowed(&s[he + 1..ve])),
                ));
                i = ve;
                match b.get(i) {
                    None => break,
                    Some(b'&') => {}
                    Some(_) => return Err(UriError::new(UriErrorKind::BadHeader, i)),
                }
            }
        }
        if i != n {
            return Err(UriError::new(UriErrorKind::BadParam, i));
        }
        Ok(())
    }

    /// RFC 3966 §3 `telephone-subscriber` after `tel:`: the number (global
    /// `+...` or local) with visual separators, then `;par`.
    fn parse_tel(&mut self, s: &'a str, start: usize) -> Result<(), UriError> {
        let b = s.as_bytes();
        let end = scan(b, start, b.len(), &TEL_NUMBER)?;
        let number = &b[start..end];
        let has_digit = number
            .iter()
            .any(|&c| c.is_ascii_hexdigit() || c == b'*' || c == b'#');
        if !has_digit {
            return Err(UriError::new(UriErrorKind::BadNumber, end));
        }
        if let Some(k) = number.iter().skip(1).position(|&c| c == b'+') {
            return Err(UriError::new(UriErrorKind::BadNumber, start + 1 + k));
        }
        if end < b.len() && b[end] != b';' {
            return Err(UriError::new(UriErrorKind::BadNumber, end));
        }
        self.user = Some(Cow::Borrowed(&s[start..end]));
        let i = parse_uri_params(s, end, &TEL_VALUE, &mut self.params)?;
        if i != b.len() {
            return Err(UriError::new(UriErrorKind::BadParam, i));
        }
        Ok(())
    }
}

/// `*( ";" pname [ "=" pvalue ] )` with `pname = 1*paramchar` and
/// `pvalue = 1*<value class>`, no whitespace (RFC 3261 §19.1.1, §25.1).
/// Stops at the first byte that is not `;` and returns its index.
///
/// Not `lex::parse_params`: inside a URI a parameter name is `paramchar`,
/// not `token` (it may hold `:`, `/`, `[`...), and there is no LWS or
/// quoting.
fn parse_uri_params<'a>(
    s: &'a str,
    mut i: usize,
    value_class: &[bool; 256],
    out: &mut Vec<Param<'a>>,
) -> Result<usize, UriError> {
    let b = s.as_bytes();
    let n = b.len();
    while b.get(i) == Some(&b';') {
        let ns = i + 1;
        let ne = scan(b, ns, n, &PARAMCHAR)?;
        if ne == ns {
            return Err(UriError::new(UriErrorKind::BadParam, ns));
        }
        let mut value = None;
        i = ne;
        if b.get(ne) == Some(&b'=') {
            let vs = ne + 1;
            let ve = scan(b, vs, n, value_class)?;
            if ve == vs {
                return Err(UriError::new(UriErrorKind::BadParam, vs));
            }
            value = Some(Cow::Borrowed(&s[vs..ve]));
            i = ve;
        }
        match b.get(i) {
            None | Some(b';' | b'?') => {}
            Some(_) => return Err(UriError::new(UriErrorKind::BadParam, i)),
        }
        out.push(Param::new(Cow::Borrowed(&s[ns..ne]), value));
    }
    Ok(i)
}

// ---------------------------------------------------------------------------
// Accessors, builders, comparison

/// Hex digits for writing `%HH`.
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Escapes every byte of `s` outside `class` (including `%`): the text is
/// taken literally, as a builder's caller means it.
fn escape_all(s: &str, class: &[bool; 256]) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if class[c as usize] {
            out.push(char::from(c));
        } else {
            push_hex(&mut out, c);
        }
    }
    out
}

fn push_hex(out: &mut String, c: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(c >> 4)]));
    out.push(char::from(HEX[usize::from(c & 15)]));
}

/// Canonical text of an escaped URI component for comparison (RFC 3261
/// §19.1.4: "characters other than those in the reserved set are
/// equivalent to their %HEX HEX encoding"): escapes of unreserved
/// characters are decoded, every other escape is kept with upper-case hex.
/// A NUL or `@` therefore stays `%00` / `%40`, so nothing truncates or
/// becomes ambiguous (RFC 4475 §3.1.1.4). `%25` stays escaped, so `%253A`
/// (literal text "%3A") never equals `%3A` (an escaped colon).
fn canon(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if lex::find_byte(b, b'%').is_none() {
        return Cow::Borrowed(s);
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if is_escape_at(b, i, b.len()) {
            let hi = lex::hex_val(b[i + 1]).unwrap_or(0);
            let lo = lex::hex_val(b[i + 2]).unwrap_or(0);
            let v = hi << 4 | lo;
            if UNRESERVED[usize::from(v)] {
                out.push(v);
            } else {
                out.extend_from_slice(&[b'%', HEX[usize::from(hi)], HEX[usize::from(lo)]]);
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // Only ASCII bytes were produced or replaced, so this never fails.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

fn canon_lower(s: &str) -> String {
    canon(s).to_ascii_lowercase()
}

/// Parameter names and values, canonical and lower-cased, sorted by name,
/// first occurrence of each name kept.
fn canon_params(ps: &[Param<'_>]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = ps
        .iter()
        .map(|p| (canon_lower(&p.name), p.value.as_deref().map(canon_lower)))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.dedup_by(|later, earlier| later.0 == earlier.0);
    v
}

fn canon_headers(hs: &[Param<'_>]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = hs
        .iter()
        .map(|h| {
            (
                canon_lower(&h.name),
                canon_lower(h.value.as_deref().unwrap_or("")),
            )
        })
        .collect();
    v.sort();
    v
}

/// The parameters whose absence differs from any value (RFC 3261 §19.1.4).
const SIGNIFICANT_PARAMS: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

/// A tel number without visual separators, canonical and lower-cased.
fn tel_number_key(n: &str) -> String {
    canon_lower(n)
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect()
}

fn opt_canon_eq(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => canon(x) == canon(y),
        _ => false,
    }
}

impl<'a> Uri<'a> {
    pub fn into_owned(self) -> Uri<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        Uri {
            scheme: self.scheme,
            scheme_raw: own(self.scheme_raw),
            user: self.user.map(own),
            password: self.password.map(own),
            host: own(self.host),
            port: self.port,
            params: self.params.into_iter().map(Param::into_owned).collect(),
            headers: self.headers.into_iter().map(Param::into_owned).collect(),
            opaque: self.opaque.map(own),
        }
    }

    /// A `sip:` URI for msrpgw's own use (Contact, Request-URI toward a next
    /// hop). `user` is literal text and is escaped where RFC 3261 §25.1
    /// requires; an empty user means none. A `host` containing `:` and no
    /// brackets is taken as an IPv6 address and bracketed. The host must be a
    /// valid hostname or address: it cannot be escaped, and the writer drops
    /// characters no host can contain.
    pub fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> Uri<'static> {
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        Uri {
            scheme: Scheme::Sip,
            scheme_raw: Cow::Borrowed("sip"),
            user: user
                .filter(|u| !u.is_empty())
                .map(|u| Cow::Owned(escape_all(u, &USER))),
            password: None,
            host: Cow::Owned(host),
            port,
            params: Vec::new(),
            headers: Vec::new(),
            opaque: None,
        }
    }

    /// The same URI with scheme `sips` (or `sip` when `secure` is false).
    pub fn with_secure(mut self, secure: bool) -> Self {
        if matches!(self.scheme, Scheme::Sip | Scheme::Sips) {
            self.scheme = if secure { Scheme::Sips } else { Scheme::Sip };
            self.scheme_raw = Cow::Borrowed(if secure { "sips" } else { "sip" });
        }
        self
    }

    /// Appends a uri-parameter; `name` and `value` are literal text and are
    /// escaped as `paramchar` requires (`with_param("transport", Some("tcp"))`,
    /// `with_param("lr", None)`).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push(Param::new(
            Cow::Owned(escape_all(name, &PARAMCHAR)),
            value.map(|v| Cow::Owned(escape_all(v, &PARAMCHAR))),
        ));
        self
    }

    /// Appends a `?name=value` header; both are literal text, escaped as
    /// needed.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(Param::new(
            Cow::Owned(escape_all(name, &HNV)),
            Some(Cow::Owned(escape_all(value, &HNV))),
        ));
        self
    }

    /// True for sip: and sips:.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// Value of a uri-parameter by case-insensitive name; `Some(None)` when
    /// present without value.
    ///
    /// Names are matched after unescaping (`%6C%72` is `lr`, RFC 4475
    /// §3.1.1.3); the value is returned as written, escapes included.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| {
                p.name.eq_ignore_ascii_case(name)
                    || (p.name.contains('%') && canon(&p.name).eq_ignore_ascii_case(name))
            })
            .map(|p| p.value.as_deref())
    }

    /// `transport=` (RFC 3261 §19.1.1), as written.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    /// `maddr=` (RFC 3261 §19.1.1).
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr").flatten()
    }

    /// `lr` present (RFC 3261 §19.1.1, loose routing).
    pub fn lr(&self) -> bool {
        self.param("lr").is_some()
    }

    /// `user=` (`phone`, `ip`; RFC 3261 §19.1.1).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user").flatten()
    }

    /// Host as written (IPv6 with brackets) and the explicit port, if any.
    pub fn host_port(&self) -> (&str, Option<u16>) {
        (&self.host, self.port)
    }

    /// The user part with every `%HH` decoded to its byte (may hold NUL or
    /// bytes that are not UTF-8, RFC 4475 §3.1.1.4). `None` without a user
    /// or when an escape is malformed (only possible for hand-built URIs).
    pub fn user_decoded(&self) -> Option<Cow<'_, [u8]>> {
        lex::percent_decode(self.user.as_deref()?).ok()
    }

    /// RFC 3261 §19.1.4 equivalence.
    ///
    /// sip/sips: the schemes must be equal (a SIP and a SIPS URI are never
    /// equivalent); user and password compare case-sensitively after
    /// unescaping non-reserved `%HH`; host compares case-insensitively; an
    /// explicit port never equals an absent one; `user`, `ttl`, `method`,
    /// `maddr` and `transport` parameters must match when present in either
    /// URI, any other parameter only when present in both (names and values
    /// case-insensitive); headers must match as sets, order ignored.
    ///
    /// tel (RFC 3966 §4): numbers equal once visual separators are removed,
    /// and the same parameters with equal values. Other schemes: scheme
    /// case-insensitive and opaque parts equal after unescaping.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        match self.scheme {
            Scheme::Other => {
                self.scheme_raw.eq_ignore_ascii_case(&other.scheme_raw)
                    && opt_canon_eq(self.opaque.as_deref(), other.opaque.as_deref())
            }
            Scheme::Tel => {
                self.user.as_deref().map(tel_number_key)
                    == other.user.as_deref().map(tel_number_key)
                    && canon_params(&self.params) == canon_params(&other.params)
            }
            Scheme::Sip | Scheme::Sips => {
                opt_canon_eq(self.user.as_deref(), other.user.as_deref())
                    && opt_canon_eq(self.password.as_deref(), other.password.as_deref())
                    && self.host.eq_ignore_ascii_case(&other.host)
                    && self.port == other.port
                    && params_equivalent(&self.params, &other.params)
                    && canon_headers(&self.headers) == canon_headers(&other.headers)
            }
        }
    }

    /// The key that pairs conversation partners: two URIs naming the same
    /// address of record get the same key, whatever their parameters.
    ///
    /// - sip/sips: `sip:` or `sips:`, then the user (case kept, as §19.1.4
    ///   compares it case-sensitively) with escapes of unreserved characters
    ///   decoded and every other escape in upper-case `%HH` (so `%00` stays
    ///   `%00` and nothing truncates), `@`, the host lower-cased, and
    ///   `:port` only when the URI gives one. Password, parameters and
    ///   headers are left out.
    /// - tel: `tel:` and the number without visual separators (`-` `.` `(`
    ///   `)`), lower-cased; a local number keeps its `;phone-context=`
    ///   (RFC 3966 §5.1.5: it is part of the number's identity).
    /// - other schemes: the scheme lower-cased, `:`, the opaque part with
    ///   escapes canonicalised as for the user.
    pub fn aor_key(&self) -> String {
        let mut k = String::new();
        match self.scheme {
            Scheme::Sip | Scheme::Sips => {
                k.push_str(if self.scheme == Scheme::Sips {
                    "sips:"
                } else {
                    "sip:"
                });
                if let Some(u) = &self.user {
                    k.push_str(&canon(u));
                    k.push('@');
                }
                k.push_str(&self.host.to_ascii_lowercase());
                if let Some(p) = self.port {
                    let _ = write!(k, ":{p}");
                }
            }
            Scheme::Tel => {
                k.push_str("tel:");
                let number = self.user.as_deref().unwrap_or("");
                k.push_str(&tel_number_key(number));
                if !number.starts_with('+') {
                    if let Some(Some(ctx)) = self.param("phone-context") {
                        k.push_str(";phone-context=");
                        // A domain name or a global number prefix.
                        if ctx.starts_with('+') {
                            k.push_str(&tel_number_key(ctx));
                        } else {
                            k.push_str(&canon_lower(ctx));
                        }
                    }
                }
            }
            Scheme::Other => {
                k.push_str(&self.scheme_raw.to_ascii_lowercase());
                k.push(':');
                k.push_str(&canon(self.opaque.as_deref().unwrap_or("")));
            }
        }
        k
    }
}

/// RFC 3261 §19.1.4 uri-parameter rule, on canonical sorted lists.
fn params_equivalent(a: &[Param<'_>], b: &[Param<'_>]) -> bool {
    use std::cmp::Ordering;
    let (a, b) = (canon_params(a), canon_params(b));
    let significant = |name: &str| SIGNIFICANT_PARAMS.contains(&name);
    let (mut i, mut j) = (0, 0);
    loop {
        let (x, y) = (a.get(i), b.get(j));
        let order = match (x, y) {
            (None, None) => return true,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.0.cmp(&y.0),
        };
        match order {
            Ordering::Equal => {
                if x.map(|x| &x.1) != y.map(|y| &y.1) {
                    return false;
                }
                i += 1;
                j += 1;
            }
            Ordering::Less => {
                if x.is_some_and(|x| significant(&x.0)) {
                    return false;
                }
                i += 1;
            }
            Ordering::Greater => {
                if y.is_some_and(|y| significant(&y.0)) {
                    return false;
                }
                j += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writer

/// Writes `s`, keeping bytes of `class` and valid `%HH` escapes and escaping
/// everything else, so the output is valid wire text even for hand-built
/// values; text that came from the parser is written unchanged.
fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str, class: &[bool; 256]) -> fmt::Result {
    let b = s.as_bytes();
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if class[usize::from(c)] {
            i += 1;
        } else if is_escape_at(b, i, b.len()) {
            i += 3;
        } else {
            // `run..i` is empty or holds only ASCII class bytes, so it is
            // sliced at char boundaries; the bytes of a multi-byte character
            // are escaped one by one through this branch.
            if run < i {
                f.write_str(s.get(run..i).unwrap_or(""))?;
            }
            let mut e = String::with_capacity(3);
            push_hex(&mut e, c);
            f.write_str(&e)?;
            i += 1;
            run = i;
        }
    }
    f.write_str(s.get(run..).unwrap_or(""))
}

impl fmt::Display for Uri<'_> {
    /// The URI as written: `Uri::parse(&u.to_string()) == Ok(u)` for every
    /// parsed `u`. Characters a hand-built field may hold but the grammar
    /// does not allow are escaped (or, in a host, dropped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let canonical = match self.scheme {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other => "",
        };
        if canonical.is_empty() || self.scheme_raw.eq_ignore_ascii_case(canonical) {
            f.write_str(&self.scheme_raw)?;
        } else {
            f.write_str(canonical)?;
        }
        f.write_char(':')?;
        match self.scheme {
            Scheme::Other => write_escaped(f, self.opaque.as_deref().unwrap_or(""), &URIC),
            Scheme::Tel => {
                write_escaped(f, self.user.as_deref().unwrap_or(""), &TEL_NUMBER)?;
                write_params(f, &self.params, &TEL_VALUE)
            }
            Scheme::Sip | Scheme::Sips => {
                if let Some(u) = self.user.as_deref().filter(|u| !u.is_empty()) {
                    write_escaped(f, u, &USER)?;
                    if let Some(p) = &self.password {
                        f.write_char(':')?;
                        write_escaped(f, p, &PASSWORD)?;
                    }
                    f.write_char('@')?;
                }
                for c in self.host.chars() {
                    if c.is_ascii() && HOST[c as usize] {
                        f.write_char(c)?;
                    }
                }
                if let Some(p) = self.port {
                    write!(f, ":{p}")?;
                }
                write_params(f, &self.params, &PARAMCHAR)?;
                let mut sep = '?';
                for h in &self.headers {
                    f.write_char(sep)?;
                    write_escaped(f, &h.name, &HNV)?;
                    f.write_char('=')?;
                    write_escaped(f, h.value.as_deref().unwrap_or(""), &HNV)?;
                    sep = '&';
                }
                Ok(())
            }
        }
    }
}

fn write_params(
    f: &mut fmt::Formatter<'_>,
    params: &[Param<'_>],
    value_class: &[bool; 256],
) -> fmt::Result {
    for p in params.iter().filter(|p| !p.name.is_empty()) {
        f.write_char(';')?;
        write_escaped(f, &p.name, &PARAMCHAR)?;
        if let Some(v) = p.value.as_deref().filter(|v| !v.is_empty()) {
            f.write_char('=')?;
            write_escaped(f, v, value_class)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Uri<'_> {
        match Uri::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    /// The one-pass path accepts only what the full parser accepts, with
    /// the same result: checked on seeds of every shape and on every
    /// one-byte substitution, deletion and truncation of them.
    #[test]
    fn common_path_agrees_with_full_parser() {
        let seeds = [
            "sip:user2@domain.com",
            "sip:alice@atlanta.example.com:5060;transport=tcp;lr",
            "SIPS:Bob@biloxi.example.com.",
            "sip:192.0.2.4:0005060",
            "sip:proxy.example.com;lr",
            "sip:host:65535;maddr=239.255.255.1;ttl=15",
            "sip:a-b.c-d.e1;x;y=z",
            "sip:+1-212-555-1212;user=phone@gw.example.net",
            "sip:u@1.2.3.4.",
            "sip:u@h;p=%41",
            "sip:u%41@h",
            "sip:u:pw@h",
            "sip:u@[::1]:5060",
            "sip:u@h?subject=x",
            "sips:u@h:99999",
            "sip:u@-h",
            "sip:u@a.b-c.d.:5060",
            "sip:u@a.1b;x",
            "sip:u@1.2.3.256",
            "sip:u@10.0.0.1:5",
            "sip:@h",
            "sip:",
            "tel:+1-201-555-0123",
            "im:alice@example.com",
        ];
        let alphabet = b"@:;?%[]-.=&/_ <x0A5";
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for seed in seeds {
            let b = seed.as_bytes();
            variants.push(b.to_vec());
            for i in 0..b.len() {
                variants.push(b[..i].to_vec());
                let mut d = b.to_vec();
                d.remove(i);
                variants.push(d);
                for &c in alphabet {
                    let mut v = b.to_vec();
                    v[i] = c;
                    variants.push(v);
                }
            }
        }
        let mut common = 0;
        for v in &variants {
            let Ok(text) = std::str::from_utf8(v) else {
                continue;
            };
            let full = Uri::parse_full(text);
            if Uri::parse_common(text).is_some() {
                common += 1;
                assert!(full.is_ok(), "{text:?}: {full:?}");
            }
            assert_eq!(Uri::parse(text), full, "{text:?}");
        }
        assert!(common > 1000, "common path taken {common} times");
    }

    fn err(s: &str) -> (UriErrorKind, usize) {
        match Uri::parse(s) {
            Ok(u) => panic!("{s:?} parsed: {u:?}"),
            Err(e) => (e.kind, e.offset),
        }
    }

    fn round_trip(s: &str) {
        let u = p(s);
        let text = u.to_string();
        assert_eq!(text, s, "display of {s:?}");
        assert_eq!(Uri::parse(&text), Ok(u));
    }

    #[test]
    fn basic_sip() {
        let u = p("sip:alice@atlanta.com");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.scheme_raw, "sip");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password, None);
        assert_eq!(u.host, "atlanta.com");
        assert_eq!(u.port, None);
        assert!(u.params.is_empty() && u.headers.is_empty() && u.opaque.is_none());
        assert_eq!(u.host_port(), ("atlanta.com", None));
    }

    #[test]
    fn rfc3261_19_1_3_examples() {
        let u = p("sip:alice:secretword@atlanta.com;transport=tcp");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secretword"));
        assert_eq!(u.transport(), Some("tcp"));

        let u = p("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.headers.len(), 2);
        assert_eq!(u.headers[0].name, "subject");
        assert_eq!(u.headers[0].value.as_deref(), Some("project%20x"));
        assert_eq!(u.headers[1].name, "priority");

        let u = p("sip:+1-212-555-1212:1234@gateway.com;user=phone");
        assert_eq!(u.user.as_deref(), Some("+1-212-555-1212"));
        assert_eq!(u.password.as_deref(), Some("1234"));
        assert_eq!(u.user_param(), Some("phone"));

        let u = p("sips:1212@gateway.com");
        assert_eq!(u.host, "gateway.com");

        let u = p("sip:alice@192.0.2.4");
        assert_eq!(u.host, "192.0.2.4");

        let u = p("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
        assert_eq!(u.user, None);
        assert_eq!(u.param("method"), Some(Some("REGISTER")));
        assert_eq!(u.headers[0].value.as_deref(), Some("alice%40atlanta.com"));

        let u = p("sip:alice;day=tuesday@atlanta.com");
        assert_eq!(u.user.as_deref(), Some("alice;day=tuesday"));
        assert!(u.params.is_empty());
    }

    #[test]
    fn ipv6_and_ports() {
        let u = p("sip:[2001:db8::10]:5070");
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.user, None);
        assert_eq!(u.host_port(), ("[2001:db8::10]", Some(5070)));
        let u = p("sip:user@[::ffff:192.0.2.10]:19823;transport=tcp");
        assert_eq!(u.host, "[::ffff:192.0.2.10]");
        assert_eq!(u.port, Some(19823));
        assert_eq!(p("sip:[::1]").host, "[::1]");
        assert_eq!(p("sip:[::]").host, "[::]");
        assert_eq!(p("sip:[1:2:3:4:5:6:7:8]").host, "[1:2:3:4:5:6:7:8]");
        assert_eq!(p("sip:[1::]").host, "[1::]");
        assert_eq!(p("sip:h:0").port, Some(0));
        assert_eq!(p("sip:h:65535").port, Some(65535));
        assert_eq!(p("sip:h:05060").port, Some(5060));
        assert_eq!(p("sip:host.example.com.").host, "host.example.com.");
        assert_eq!(p("sip:127.0.0.1:5080").host, "127.0.0.1");
    }

    #[test]
    fn torture_uris() {
        // RFC 4475 §3.1.1.2 intmeth Request-URI
        let u = p(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(u.host, "example.com");
        // §3.1.1.3 esc01
        let u = p("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert_eq!(u.host, "example.net");
        assert_eq!(&*u.user_decoded().unwrap(), b"sips:user@example.com");
        let u = p("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert!(u.lr());
        assert_eq!(u.param("name"), Some(Some("v%61lue%25%34%31")));
        assert_eq!(u.aor_key(), "sip:caller@host5.example.net");
        let u = p("sip:%75se%72@example.com");
        assert_eq!(u.aor_key(), "sip:user@example.com");
        // §3.1.1.4 escnull
        let u = p("sip:%00@example.com");
        assert_eq!(u.user.as_deref(), Some("%00"));
        assert_eq!(&*u.user_decoded().unwrap(), b"\0");
        let u = p("sip:null-%00-null@example.com");
        assert_eq!(&*u.user_decoded().unwrap(), b"null-\0-null");
        assert_eq!(u.aor_key(), "sip:null-%00-null@example.com");
        assert!(!p("sip:%00@host5.example.com").equivalent(&p("sip:%00%00@host5.example.com")));
        // §3.1.1.9 semiuri
        let u = p("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
        assert!(u.params.is_empty());
        // §3.1.1.1 wsinv
        let u = p("sip:vivekg@chair-dnrc.example.com;unknownparam");
        assert_eq!(u.param("unknownparam"), Some(None));
        let u = p("sip:services.example.com;lr;unknownwith=value;unknown-no-value");
        assert!(u.lr());
        assert_eq!(u.param("UNKNOWNWITH"), Some(Some("value")));
        assert_eq!(u.param("unknown-no-value"), Some(None));
        assert_eq!(u.param("absent"), None);
        // §3.1.2.11 escruri parses (the message layer decides)
        let u = p("sip:user@example.com?Route=%3Csip:example.com%3E");
        assert_eq!(u.headers[0].name, "Route");
        assert_eq!(u.headers[0].value.as_deref(), Some("%3Csip:example.com%3E"));
        // §3.3.12 / §3.3.13
        assert_eq!(
            p("sip:+19725552222@gw1.example.net;unknownparam")
                .params
                .len(),
            1
        );
        // inv2543
        let u = p("sip:UserB@example.com;maddr=ss1.example.com");
        assert_eq!(u.maddr(), Some("ss1.example.com"));
    }

    #[test]
    fn tel_and_other_schemes() {
        let u = p("tel:+1-201-555-0123");
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(u.host, "");
        assert_eq!(u.aor_key(), "tel:+12015550123");
        let u = p("tel:7042;phone-context=example.com");
        assert_eq!(u.user.as_deref(), Some("7042"));
        assert_eq!(u.param("phone-context"), Some(Some("example.com")));
        assert_eq!(u.aor_key(), "tel:7042;phone-context=example.com");
        let u = p("TEL:+1(201)555.0123;ext=22;isub=a@b");
        assert_eq!(u.scheme_raw, "TEL");
        assert_eq!(u.param("isub"), Some(Some("a@b")));
        assert!(u.equivalent(&p("tel:+1-201-555-0123;isub=A@B;ext=22")));
        assert!(!u.equivalent(&p("tel:+1-201-555-0123;ext=22")));

        for (s, scheme, opaque) in [
            ("im:user@host", "im", "user@host"),
            ("isbn:2983792873", "isbn", "2983792873"),
            ("http://www.example.com", "http", "//www.example.com"),
            ("name:John_Smith", "name", "John_Smith"),
            (
                "nobodyKnowsThisScheme:totallyopaquecontent",
                "nobodyKnowsThisScheme",
                "totallyopaquecontent",
            ),
            (
                "soap.beep://192.0.2.103:3002",
                "soap.beep",
                "//192.0.2.103:3002",
            ),
        ] {
            let u = p(s);
            assert_eq!(u.scheme, Scheme::Other, "{s}");
            assert_eq!(u.scheme_raw, scheme);
            assert_eq!(u.opaque.as_deref(), Some(opaque));
            assert_eq!(u.user, None);
            assert_eq!(u.host, "");
            round_trip(s);
        }
        assert_eq!(p("IM:Alice@Example.com").aor_key(), "im:Alice@Example.com");
    }

    #[test]
    fn scheme_case() {
        let u = p("SIP:ALICE@AtLanTa.CoM;Transport=udp");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.scheme_raw, "SIP");
        assert_eq!(u.transport(), Some("udp"));
        assert_eq!(u.aor_key(), "sip:ALICE@atlanta.com");
        assert_eq!(p("SiPs:a@b").scheme, Scheme::Sips);
    }

    #[test]
    fn error_kinds_and_offsets() {
        use UriErrorKind::*;
        assert_eq!(err(""), (Empty, 0));
        assert_eq!(err("sip:user@example.com; lr"), (IllegalCharacter, 21));
        assert_eq!(err("<sip:user@example.com>"), (IllegalCharacter, 0));
        assert_eq!(err("sip:a\"b@c"), (IllegalCharacter, 5));
        assert_eq!(err("sip:\u{e9}@c"), (IllegalCharacter, 4));
        assert_eq!(err("sip:a@b\r\n"), (IllegalCharacter, 7));
        assert_eq!(err("user@example.com"), (MissingScheme, 0));
        assert_eq!(err(":foo"), (MissingScheme, 0));
        assert_eq!(err("1sip:foo"), (BadScheme, 0));
        assert_eq!(err("si_p:foo"), (BadScheme, 2));
        assert_eq!(err("im:"), (EmptyOpaque, 3));
        assert_eq!(err("im:a{b"), (IllegalCharacter, 4));
        assert_eq!(err("im:a%4"), (BadEscape, 4));
        assert_eq!(err("sip:@example.com"), (BadUserinfo, 4));
        assert_eq!(err("sip::pw@example.com"), (BadUserinfo, 4));
        assert_eq!(err("sip:a[b@example.com"), (BadUserinfo, 5));
        assert_eq!(err("sip:a:p;w@example.com"), (BadUserinfo, 7));
        assert_eq!(err("sip:a%4g@example.com"), (BadEscape, 5));
        assert_eq!(err("sip:a%@example.com"), (BadEscape, 5));
        assert_eq!(err("sip:a@b;x=%"), (BadEscape, 10));
        assert_eq!(err("sip:"), (MissingHost, 4));
        assert_eq!(err("sip:user@"), (MissingHost, 9));
        assert_eq!(err("sip:user@:5060"), (MissingHost, 9));
        assert_eq!(err("sips:;lr"), (MissingHost, 5));
        assert_eq!(err("sip:exa_mple.com"), (BadHost, 7));
        assert_eq!(err("sip:-example.com"), (BadHost, 4));
        assert_eq!(err("sip:example-.com"), (BadHost, 11));
        assert_eq!(err("sip:a..b"), (BadHost, 6));
        assert_eq!(err("sip:1.2.3.256"), (BadHost, 10));
        assert_eq!(err("sip:1.2.3"), (BadHost, 8));
        assert_eq!(err("sip:1.2.3.4.5"), (BadHost, 11));
        assert_eq!(err("sip:1.2.3.4."), (BadHost, 11));
        assert_eq!(err("sip:[::1"), (BadHost, 4));
        assert_eq!(err("sip:[1::2::3]"), (BadHost, 4));
        assert_eq!(err("sip:[12345::]"), (BadHost, 4));
        assert_eq!(err("sip:[1:2:3:4:5:6:7]"), (BadHost, 4));
        assert_eq!(err("sip:[::g]"), (BadHost, 4));
        assert_eq!(err("sip:[::1]x"), (BadHost, 9));
        assert_eq!(err("sip:a@b@c"), (BadHost, 7));
        assert_eq!(err("sip:h:"), (BadPort, 6));
        assert_eq!(err("sip:h:65536"), (BadPort, 6));
        assert_eq!(err("sip:h:99999999999999999999999"), (BadPort, 6));
        assert_eq!(err("sip:h:50x0"), (BadPort, 8));
        assert_eq!(err("sip:h:1:2"), (BadPort, 7));
        assert_eq!(err("sip:h;"), (BadParam, 6));
        assert_eq!(err("sip:h;;a"), (BadParam, 6));
        assert_eq!(err("sip:h;=a"), (BadParam, 6));
        assert_eq!(err("sip:h;a="), (BadParam, 8));
        assert_eq!(err("sip:h;a=b=c"), (BadParam, 9));
        assert_eq!(err("sip:h;a{b"), (BadParam, 7));
        assert_eq!(err("sip:h?"), (BadHeader, 6));
        assert_eq!(err("sip:h?a"), (BadHeader, 7));
        assert_eq!(err("sip:h?=b"), (BadHeader, 6));
        assert_eq!(err("sip:h?a=b&"), (BadHeader, 10));
        assert_eq!(err("sip:h?a=b=c"), (BadHeader, 9));
        assert_eq!(err("sip:h?a=%zz"), (BadEscape, 8));
        assert_eq!(err("tel:"), (BadNumber, 4));
        assert_eq!(err("tel:+"), (BadNumber, 5));
        assert_eq!(err("tel:+1+2"), (BadNumber, 6));
        assert_eq!(err("tel:12x4"), (BadNumber, 6));
        assert_eq!(err("tel:1234;"), (BadParam, 9));
        for k in [
            Empty,
            IllegalCharacter,
            MissingScheme,
            BadScheme,
            EmptyOpaque,
            BadUserinfo,
            BadEscape,
            MissingHost,
            BadHost,
            BadPort,
            BadParam,
            BadHeader,
            BadNumber,
        ] {
            assert!(!k.description().is_empty());
            assert_eq!(k.to_string(), k.description());
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "sip:alice@atlanta.com",
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sips:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent",
            "sip:[2001:db8::10]:5070",
            "sip:%00@example.com",
            "sip:user;par=u%40example.net@example.com",
            "sip:sips%3Auser%40example.com@example.net",
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
            "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31",
            "sip:a:@b",
            "sip:h?a=",
            "sip:h;maddr=[::1]",
            "tel:+1-201-555-0123;ext=22",
            "im:user@host",
        ] {
            round_trip(s);
        }
    }

    #[test]
    fn builders() {
        let u = Uri::sip(Some("alice smith@home"), "gw.example.net", Some(5070))
            .with_param("transport", Some("tcp"))
            .with_param("lr", None)
            .with_param("odd name", Some("a;b"))
            .with_header("Subject", "hi there&more");
        assert_eq!(
            u.to_string(),
            "sip:alice%20smith%40home@gw.example.net:5070;transport=tcp;lr;odd%20name=a%3Bb?Subject=hi%20there%26more"
        );
        assert_eq!(Uri::parse(&u.to_string()).unwrap(), u);
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(&*u.user_decoded().unwrap(), b"alice smith@home");

        let u = Uri::sip(None, "::1", None);
        assert_eq!(u.to_string(), "sip:[::1]");
        let u = Uri::sip(Some(""), "h", None).with_secure(true);
        assert_eq!(u.to_string(), "sips:h");
        assert_eq!(u.scheme, Scheme::Sips);
        // 100%: a literal percent is escaped
        let u = Uri::sip(Some("100%"), "h", None);
        assert_eq!(u.to_string(), "sip:100%25@h");

        // Hand-built fields with characters the grammar forbids still
        // produce valid wire text.
        let mut u = Uri::sip(Some("bob"), "h", None);
        u.user = Some(Cow::Borrowed("b ob%"));
        u.host = Cow::Borrowed("h\r\nX y");
        u.params.push(Param::new("p", Some(Cow::Borrowed("é"))));
        let text = u.to_string();
        assert_eq!(text, "sip:b%20ob%25@hXy;p=%C3%A9");
        assert!(Uri::parse(&text).is_ok());
    }

    #[test]
    fn into_owned_keeps_value() {
        let s = String::from("sip:a:b@c:1;x=y?h=v");
        let owned: Uri<'static> = p(&s).into_owned();
        drop(s);
        assert_eq!(owned.to_string(), "sip:a:b@c:1;x=y?h=v");
        assert_eq!(owned.port, Some(1));
    }

    fn eq(a: &str, b: &str) -> bool {
        let (ua, ub) = (p(a), p(b));
        let r = ua.equivalent(&ub);
        assert_eq!(r, ub.equivalent(&ua), "symmetry {a} {b}");
        r
    }

    /// Every example pair of RFC 3261 §19.1.4.
    #[test]
    fn rfc3261_19_1_4_equivalent() {
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        let carol = [
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5",
            "sip:carol@chicago.com;security=on",
        ];
        for a in carol {
            for b in carol {
                assert!(eq(a, b), "{a} {b}");
            }
        }
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
    }

    #[test]
    fn rfc3261_19_1_4_not_equivalent() {
        // different usernames
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        // can resolve to different ports
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        // can resolve to different transports
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        // can resolve to different port and transports
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com:6000;transport=tcp"
        ));
        // different header component
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        // even though that's what phone21.boxesbybob.com resolves to
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        // equality is not transitive
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;security=off"
        ));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
    }

    #[test]
    fn equivalence_rules() {
        assert!(!eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
        assert!(!eq("sip:atlanta.com", "sip:alice@atlanta.com"));
        assert!(!eq("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
        assert!(!eq("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com"));
        assert!(eq("sip:alice:p%77@atlanta.com", "sip:alice:pw@atlanta.com"));
        // reserved characters are not equivalent to their escapes
        assert!(!eq("sip:a;b@h", "sip:a%3Bb@h"));
        assert!(eq("sip:a%3bb@h", "sip:a%3Bb@h"));
        assert!(!eq("sip:a%253A@h", "sip:a%3A@h"));
        for name in [
            "user=phone",
            "ttl=1",
            "method=INVITE",
            "maddr=1.2.3.4",
            "transport=tcp",
        ] {
            assert!(!eq("sip:a@h", &format!("sip:a@h;{name}")), "{name}");
        }
        assert!(eq("sip:a@h;lr", "sip:a@h"));
        assert!(!eq("sip:a@h;lr", "sip:a@h;lr=on"));
        assert!(eq("sip:a@h;%6C%72;x=%41", "sip:a@h;LR;X=a"));
        assert!(eq("sip:a@[2001:DB8::1]", "sip:a@[2001:db8::1]"));
        assert!(!eq("sip:a@h?x=1", "sip:a@h?x=1&x=1"));
        assert!(eq("sip:a@h?X=%41", "sip:a@h?x=a"));
        assert!(!eq("sip:a@h?x=1", "sip:a@h?y=1"));
        assert!(eq("im:a@b", "IM:a@b"));
        assert!(!eq("im:a@b", "pres:a@b"));
        assert!(!eq("im:a@b", "sip:a@b"));
        assert!(eq("tel:+1-201-555-0123", "tel:+12015550123"));
        assert!(!eq("tel:+12015550123", "tel:+12015550124"));
    }

    #[test]
    fn aor_keys() {
        assert_eq!(
            p("sip:%61lice@AtLanTa.CoM;transport=TCP?x=y").aor_key(),
            "sip:alice@atlanta.com"
        );
        assert_eq!(
            p("SIPS:Bob@Biloxi.com:5061").aor_key(),
            "sips:Bob@biloxi.com:5061"
        );
        assert_eq!(p("sip:alice:pw@h").aor_key(), "sip:alice@h");
        assert_eq!(p("sip:a%3b@h").aor_key(), "sip:a%3B@h");
        assert_eq!(p("sip:[2001:DB8::1]").aor_key(), "sip:[2001:db8::1]");
        assert_ne!(
            p("sip:%00@host5.example.com").aor_key(),
            p("sip:%00%00@host5.example.com").aor_key()
        );
        assert_eq!(p("tel:+1-(201)-555.0123").aor_key(), "tel:+12015550123");
        assert_eq!(
            p("tel:+1-201-555-0123;phone-context=x").aor_key(),
            "tel:+12015550123"
        );
        assert_eq!(
            p("http://www.example.com").aor_key(),
            "http://www.example.com"
        );
    }

    #[test]
    fn never_panics_on_prefixes_and_suffixes() {
        let samples = [
            "sip:jörg:pässwort@exämple.com:5060;transport=tcp?subject=ünïcode",
            "sips:[2001:db8::10]:5070;maddr=[::1];lr?a=b&c=%41",
            "tel:+1-201-555-0123;ext=1;isub=x@y",
            "im:用户@例子.com",
            "sip:%00%4@[::ffff:1.2.3.4]:65536;a=%",
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        ];
        for s in samples {
            for i in 0..=s.len() {
                for part in [s.get(..i), s.get(i..)].into_iter().flatten() {
                    if let Ok(u) = Uri::parse(part) {
                        let text = u.to_string();
                        assert_eq!(Uri::parse(&text).as_ref(), Ok(&u), "{part:?}");
                        let _ = u.aor_key();
                        assert!(u.equivalent(&u), "{part:?}");
                    }
                }
            }
        }
        // every single byte value after a valid prefix
        for c in 0u8..=255 {
            let bytes = [b's', b'i', b'p', b':', b'a', c, b'@', b'h'];
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = Uri::parse(s);
            }
        }
    }
}
