//! MSRP URIs: `msrp://` and `msrps://` (RFC 4975 §6, §9 `MSRP-URI`).
//!
//! Owns: parsing and printing MSRP URIs and path lists (To-Path, From-Path,
//! Use-Path, SDP `a=path`), RFC 4975 §6.1 comparison, the session-id-only
//! match of RFC 6714 (CEMA), and a builder for msrpgw's own URIs.
//!
//! ```text
//! MSRP-URI   = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter )
//! authority  = [ userinfo "@" ] host [ ":" port ]             ; RFC 3986 §3.2
//! session-id = 1*( unreserved / "+" / "=" / "/" )
//! transport  = "tcp" / 1*ALPHANUM
//! URI-parameter = token ["=" token]
//! ```
//!
//! RFC 4976 relay URIs are the same grammar; they usually lack the
//! session-id (`msrps://relay.example.com;tcp`) and, in an AUTH To-Path,
//! may lack the port (RFC 4976 §8). Neither changes comparison: a URI
//! without a session-id never equals one with, and an explicit port never
//! equals an absent one (the default 2855 applies to connecting, not to
//! comparing).
//!
//! Must not: resolve names, open connections, or pick ports.

use std::borrow::Cow;
use std::fmt;

use crate::proto::ParseError;
use crate::proto::lex::{Param, find_byte, hex_val, is_token, percent_decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `msrp:` (TCP).
    Msrp,
    /// `msrps:` (TLS, RFC 4975 §6).
    Msrps,
}

impl Scheme {
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Msrp => "msrp",
            Scheme::Msrps => "msrps",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriErrorKind {
    /// Not `msrp://` or `msrps://`.
    BadScheme,
    /// A character not allowed in userinfo before `@`.
    BadUserinfo,
    EmptyHost,
    /// A character not allowed in a host name, or a bad `%HH`.
    BadHost,
    /// `[...]` that is not an IPv6 address.
    BadIpv6,
    /// Port missing after `:`, not digits, or above 65535.
    BadPort,
    /// Empty session-id or a character outside `unreserved / + / = / /`.
    BadSessionId,
    /// No `;transport` (RFC 4975 §6: MSRP over TCP MUST say `;tcp`).
    MissingTransport,
    BadTransport,
    /// A `;param` that is not `token ["=" token]`.
    BadParam,
    /// A path header or attribute with no URI, or two SPs in a row.
    EmptyPath,
}

impl UriErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            UriErrorKind::BadScheme => "URI scheme is not msrp or msrps",
            UriErrorKind::BadUserinfo => "invalid userinfo in URI",
            UriErrorKind::EmptyHost => "URI has no host",
            UriErrorKind::BadHost => "invalid host in URI",
            UriErrorKind::BadIpv6 => "invalid IPv6 reference in URI",
            UriErrorKind::BadPort => "invalid port in URI",
            UriErrorKind::BadSessionId => "invalid session-id in URI",
            UriErrorKind::MissingTransport => "URI has no transport parameter",
            UriErrorKind::BadTransport => "invalid transport in URI",
            UriErrorKind::BadParam => "invalid URI parameter",
            UriErrorKind::EmptyPath => "empty URI in path",
        }
    }
}

impl fmt::Display for UriErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type UriError = ParseError<UriErrorKind>;

/// One MSRP URI. Text is kept as written (host case, `%HH` escapes), so
/// `Display` reproduces the input except that the scheme is printed in
/// lower case. Derived `PartialEq` is exact equality; use
/// [`MsrpUri::equivalent`] for RFC 4975 §6.1 comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsrpUri<'a> {
    pub scheme: Scheme,
    pub userinfo: Option<Cow<'a, str>>,
    /// Host name, IPv4 address, or IPv6 reference with its brackets.
    pub host: Cow<'a, str>,
    pub port: Option<u16>,
    pub session_id: Option<Cow<'a, str>>,
    pub transport: Cow<'a, str>,
    pub params: Vec<Param<'a>>,
}

/// RFC 3986 §2.3 `unreserved`.
#[inline]
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2 `sub-delims`.
#[inline]
const fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// Bytes that may appear in an authority before `@` or `/`:
/// `unreserved / sub-delims / ":" / "%" / "[" / "]"`.
const AUTHORITY_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = is_unreserved(c) || is_sub_delim(c) || matches!(c, b':' | b'%' | b'[' | b']');
        i += 1;
    }
    t
};

/// `reg-name` characters except `%` (checked separately) and `;` (which
/// ends the host in an MSRP URI).
const HOST_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = is_unreserved(c) || (is_sub_delim(c) && c != b';');
        i += 1;
    }
    t
};

/// RFC 4975 §9 `session-id = 1*( unreserved / "+" / "=" / "/" )`.
const SESSION_CHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = is_unreserved(c) || matches!(c, b'+' | b'=' | b'/');
        i += 1;
    }
    t
};

/// Checks `%HH` escapes at `i`; returns the length of the escape or None.
#[inline]
fn pct_at(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i + 1), b.get(i + 2)) {
        (Some(&h), Some(&l)) if hex_val(h).is_some() && hex_val(l).is_some() => Some(3),
        _ => None,
    }
}

impl<'a> MsrpUri<'a> {
    /// Parses one RFC 4975 §9 `MSRP-URI` (the whole of `s`).
    pub fn parse(s: &'a str) -> Result<MsrpUri<'a>, UriError> {
        let err = |k, at| Err(UriError::new(k, at));
        let b = s.as_bytes();
        let (scheme, mut i) = if starts_with_ci(b, b"msrps://") {
            (Scheme::Msrps, 8)
        } else if starts_with_ci(b, b"msrp://") {
            (Scheme::Msrp, 7)
        } else {
            return err(UriErrorKind::BadScheme, 0);
        };

        // Session-ids, transports and params cannot hold '@', so an '@'
        // ends the userinfo (which itself may hold ';', ':' and '%'). Scan
        // as if for a host first; only when that stops at one of those
        // does an '@' further on need looking for. Common URIs are thus
        // scanned once.
        let mut userinfo = None;
        let first = scan_reg_name(b, i);
        let at = match b.get(first) {
            Some(b'@') => Some(first),
            Some(b':' | b';' | b'%') => {
                let stop = b[first..]
                    .iter()
                    .position(|&c| !AUTHORITY_CHAR[usize::from(c)])
                    .map_or(b.len(), |k| first + k);
                (b.get(stop) == Some(&b'@')).then_some(stop)
            }
            _ => None,
        };
        // host = IP-literal / IPv4address / reg-name; ';' ends it here
        // although RFC 3986 lets reg-name hold sub-delims.
        let (host_start, host_end) = match at {
            Some(at) => {
                let mut j = i;
                while j < at {
                    let c = b[j];
                    if is_unreserved(c) || is_sub_delim(c) || c == b':' {
                        j += 1;
                    } else if c == b'%' {
                        j += pct_at(b, j).ok_or(UriError::new(UriErrorKind::BadUserinfo, j))?;
                    } else {
                        return err(UriErrorKind::BadUserinfo, j);
                    }
                }
                userinfo = Some(Cow::Borrowed(&s[i..at]));
                let hs = at + 1;
                let he = if b.get(hs) == Some(&b'[') {
                    ipv6_end(s, hs)?
                } else {
                    scan_reg_name(b, hs)
                };
                (hs, he)
            }
            None if b.get(i) == Some(&b'[') => (i, ipv6_end(s, i)?),
            None => (i, first),
        };
        if host_end == host_start {
            return err(UriErrorKind::EmptyHost, host_start);
        }
        i = host_end;
        let host = Cow::Borrowed(&s[host_start..i]);

        let mut port = None;
        if b.get(i) == Some(&b':') {
            let ps = i + 1;
            let mut j = ps;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let p = if j - ps <= 5 {
                s[ps..j].parse::<u16>().ok()
            } else {
                None
            };
            match p {
                Some(p) => port = Some(p),
                None => return err(UriErrorKind::BadPort, ps),
            }
            i = j;
        }

        let mut session_id = None;
        if b.get(i) == Some(&b'/') {
            let ss = i + 1;
            let mut j = ss;
            while j < b.len() && SESSION_CHAR[usize::from(b[j])] {
                j += 1;
            }
            if j == ss {
                return err(UriErrorKind::BadSessionId, ss);
            }
            session_id = Some(Cow::Borrowed(&s[ss..j]));
            i = j;
        }

        match b.get(i) {
            Some(b';') => {}
            None => return err(UriErrorKind::MissingTransport, i),
            // Whatever came last could not continue with this byte.
            Some(_) => {
                let kind = if session_id.is_some() {
                    UriErrorKind::BadSessionId
                } else if port.is_some() {
                    UriErrorKind::BadPort
                } else {
                    UriErrorKind::BadHost
                };
                return err(kind, i);
            }
        }
        let ts = i + 1;
        let mut j = ts;
        while j < b.len() && b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == ts || (j < b.len() && b[j] != b';') {
            return err(UriErrorKind::BadTransport, j);
        }
        let transport = Cow::Borrowed(&s[ts..j]);
        i = j;

        let mut params = Vec::new();
        while i < b.len() {
            // b[i] == ';' here.
            let ns = i + 1;
            let mut j = ns;
            while j < b.len() && is_token(b[j]) {
                j += 1;
            }
            if j == ns {
                return err(UriErrorKind::BadParam, j);
            }
            let name = &s[ns..j];
            let mut value = None;
            if b.get(j) == Some(&b'=') {
                let vs = j + 1;
                j = vs;
                while j < b.len() && is_token(b[j]) {
                    j += 1;
                }
                if j == vs {
                    return err(UriErrorKind::BadParam, j);
                }
                value = Some(Cow::Borrowed(&s[vs..j]));
            }
            if j < b.len() && b[j] != b';' {
                return err(UriErrorKind::BadParam, j);
            }
            params.push(Param::new(name, value));
            i = j;
        }

        Ok(MsrpUri {
            scheme,
            userinfo,
            host,
            port,
            session_id,
            transport,
            params,
        })
    }

    /// Parses a path list: RFC 4975 §9 `MSRP-URI *( SP MSRP-URI )` (To-Path,
    /// From-Path, RFC 4976 Use-Path, RFC 4975 §8.2 `a=path`). Offsets are
    /// into `s`.
    pub fn parse_list(s: &'a str) -> Result<Vec<MsrpUri<'a>>, UriError> {
        let mut out = Vec::with_capacity(1);
        let mut at = 0;
        loop {
            // Paths are short: a byte search beats `str::split`'s setup.
            let rest = &s[at..];
            let end = find_byte(rest.as_bytes(), b' ').unwrap_or(rest.len());
            if end == 0 {
                return Err(UriError::new(UriErrorKind::EmptyPath, at));
            }
            out.push(MsrpUri::parse(&rest[..end]).map_err(|e| e.shifted(at))?);
            if end == rest.len() {
                return Ok(out);
            }
            at += end + 1;
        }
    }

    pub fn into_owned(self) -> MsrpUri<'static> {
        MsrpUri {
            scheme: self.scheme,
            userinfo: self.userinfo.map(|c| Cow::Owned(c.into_owned())),
            host: Cow::Owned(self.host.into_owned()),
            port: self.port,
            session_id: self.session_id.map(|c| Cow::Owned(c.into_owned())),
            transport: Cow::Owned(self.transport.into_owned()),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }

    /// RFC 4975 §6.1 comparison: scheme must match; host compared as an
    /// address when both are IP literals, else case-insensitively after
    /// `%HH` decoding; userinfo ignored; ports must both be absent or equal;
    /// session-id compared case-sensitively (absent ≠ present); transport
    /// compared case-insensitively. Other URI parameters are ignored.
    pub fn equivalent(&self, other: &MsrpUri<'_>) -> bool {
        self.scheme == other.scheme
            && self.port == other.port
            && self.session_id.as_deref() == other.session_id.as_deref()
            && self.transport.eq_ignore_ascii_case(&other.transport)
            && host_eq(&self.host, &other.host)
    }

    /// RFC 6714 (CEMA) session matching: only the session-id part is
    /// compared (case-sensitively), so a session still matches when an
    /// intermediary rewrote the authority. URIs without a session-id never
    /// match.
    pub fn session_matches(&self, other: &MsrpUri<'_>) -> bool {
        matches!((&self.session_id, &other.session_id), (Some(a), Some(b)) if a == b)
    }

    /// Value of a `;name[=value]` parameter (name compared
    /// case-insensitively); `Some(None)` when present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        crate::proto::lex::find_param(&self.params, name)
    }

    /// Appends `;name[=value]` (builder style).
    pub fn with_param(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: Option<Cow<'a, str>>,
    ) -> Self {
        self.params.push(Param::new(name, value));
        self
    }
}

impl MsrpUri<'static> {
    /// msrpgw's own session URI: `scheme://host:port/session_id;tcp`. An
    /// IPv6 address may be given with or without brackets. Fails when the
    /// pieces would not make a valid URI (e.g. a `/` in a host, a `%` in a
    /// session-id).
    pub fn local(
        scheme: Scheme,
        host: &str,
        port: u16,
        session_id: &str,
    ) -> Result<MsrpUri<'static>, UriErrorKind> {
        Self::build(scheme, host, Some(port), Some(session_id))
    }

    /// A URI without session-id (an RFC 4976 relay or "host device", RFC
    /// 4975 §6), port optional.
    pub fn host_only(
        scheme: Scheme,
        host: &str,
        port: Option<u16>,
    ) -> Result<MsrpUri<'static>, UriErrorKind> {
        Self::build(scheme, host, port, None)
    }

    fn build(
        scheme: Scheme,
        host: &str,
        port: Option<u16>,
        session_id: Option<&str>,
    ) -> Result<MsrpUri<'static>, UriErrorKind> {
        let bracket = host.contains(':') && !host.starts_with('[');
        let host = if bracket {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        if host.contains('@') {
            return Err(UriErrorKind::BadHost);
        }
        let mut s = format!("{}://{host}", scheme.as_str());
        if let Some(p) = port {
            s.push_str(&format!(":{p}"));
        }
        if let Some(id) = session_id {
            s.push('/');
            s.push_str(id);
        }
        s.push_str(";tcp");
        let uri = MsrpUri::parse(&s).map_err(|e| e.kind)?;
        // Reject pieces that parsed but shifted meaning (a ';' or '/' in
        // the host, say).
        if uri.host != host.as_str()
            || uri.port != port
            || uri.session_id.as_deref() != session_id
            || !uri.params.is_empty()
        {
            return Err(UriErrorKind::BadHost);
        }
        Ok(uri.into_owned())
    }
}

/// End of the `reg-name` (with `%HH` escapes) that starts at `i`.
fn scan_reg_name(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        let c = b[i];
        if HOST_CHAR[usize::from(c)] {
            i += 1;
        } else if c == b'%' && pct_at(b, i).is_some() {
            i += 3;
        } else {
            break;
        }
    }
    i
}

/// End of the `"[" IPv6address "]"` at `i` (RFC 3986 `IP-literal`,
/// IPvFuture not accepted).
fn ipv6_end(s: &str, i: usize) -> Result<usize, UriError> {
    let b = s.as_bytes();
    let Some(close) = b[i..].iter().position(|&c| c == b']') else {
        return Err(UriError::new(UriErrorKind::BadIpv6, i));
    };
    if s[i + 1..i + close].parse::<core::net::Ipv6Addr>().is_err() {
        return Err(UriError::new(UriErrorKind::BadIpv6, i));
    }
    Ok(i + close + 1)
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn host_eq(a: &str, b: &str) -> bool {
    if a.starts_with('[') && b.starts_with('[') {
        let ip = |h: &str| {
            h.get(1..h.len() - 1)
                .and_then(|i| i.parse::<core::net::Ipv6Addr>().ok())
        };
        if let (Some(x), Some(y)) = (ip(a), ip(b)) {
            return x == y;
        }
    }
    match (percent_decode(a), percent_decode(b)) {
        (Ok(x), Ok(y)) => x.eq_ignore_ascii_case(&y),
        _ => a.eq_ignore_ascii_case(b),
    }
}

impl fmt::Display for MsrpUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str("://")?;
        if let Some(u) = &self.userinfo {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(id) = &self.session_id {
            write!(f, "/{id}")?;
        }
        write!(f, ";{}", self.transport)?;
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> MsrpUri<'_> {
        MsrpUri::parse(s).unwrap()
    }

    fn e(s: &str) -> UriError {
        MsrpUri::parse(s).unwrap_err()
    }

    #[test]
    fn typical() {
        let u = p("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp");
        assert_eq!(u.scheme, Scheme::Msrp);
        assert_eq!(u.userinfo, None);
        assert_eq!(u.host, "biloxi.example.com");
        assert_eq!(u.port, Some(12763));
        assert_eq!(u.session_id.as_deref(), Some("kjhd37s2s20w2a"));
        assert_eq!(u.transport, "tcp");
        assert!(u.params.is_empty());
        assert_eq!(
            u.to_string(),
            "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"
        );
    }

    #[test]
    fn relay_forms() {
        let u = p("msrps://alice@intra.example.com;tcp");
        assert_eq!(u.scheme, Scheme::Msrps);
        assert_eq!(u.userinfo.as_deref(), Some("alice"));
        assert_eq!(u.host, "intra.example.com");
        assert_eq!(u.port, None);
        assert_eq!(u.session_id, None);
        assert_eq!(u.to_string(), "msrps://alice@intra.example.com;tcp");
        let u = p("msrps://extra.example.com;tcp");
        assert_eq!((u.port, u.session_id), (None, None));
    }

    #[test]
    fn ipv6_userinfo_params() {
        let s = "MSRPS://u;x:y%41@[2001:db8::1]:2855/a/b+c=d_e~f.g-h;TCP;foo=bar;baz";
        let u = p(s);
        assert_eq!(u.scheme, Scheme::Msrps);
        assert_eq!(u.userinfo.as_deref(), Some("u;x:y%41"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(2855));
        assert_eq!(u.session_id.as_deref(), Some("a/b+c=d_e~f.g-h"));
        assert_eq!(u.transport, "TCP");
        assert_eq!(u.param("FOO"), Some(Some("bar")));
        assert_eq!(u.param("baz"), Some(None));
        assert_eq!(u.param("x"), None);
        // Display round trip (scheme lower-cased).
        assert_eq!(u.to_string(), s.replacen("MSRPS", "msrps", 1));
        assert_eq!(p(&u.to_string()), u);
        assert_eq!(u.clone().into_owned(), u);
    }

    #[test]
    fn errors() {
        use UriErrorKind::*;
        assert_eq!(e("sip:a;tcp"), UriError::new(BadScheme, 0));
        assert_eq!(e("msrp:/a;tcp"), UriError::new(BadScheme, 0));
        assert_eq!(e("msrp://;tcp"), UriError::new(EmptyHost, 7));
        assert_eq!(e("msrp://a b;tcp"), UriError::new(BadHost, 8));
        assert_eq!(e("msrp://a%4;tcp"), UriError::new(BadHost, 8));
        assert_eq!(e("msrp://[::1;tcp"), UriError::new(BadIpv6, 7));
        assert_eq!(e("msrp://[zz]:1;tcp"), UriError::new(BadIpv6, 7));
        assert_eq!(e("msrp://a:;tcp"), UriError::new(BadPort, 9));
        assert_eq!(e("msrp://a:65536;tcp"), UriError::new(BadPort, 9));
        assert_eq!(e("msrp://a:123456;tcp"), UriError::new(BadPort, 9));
        assert_eq!(e("msrp://a:1x;tcp"), UriError::new(BadPort, 10));
        assert_eq!(e("msrp://a:1/;tcp"), UriError::new(BadSessionId, 11));
        assert_eq!(e("msrp://a:1/s%20;tcp"), UriError::new(BadSessionId, 12));
        assert_eq!(e("msrp://a:1/s"), UriError::new(MissingTransport, 12));
        assert_eq!(e("msrp://a:1/s;"), UriError::new(BadTransport, 13));
        assert_eq!(e("msrp://a:1/s;t-cp"), UriError::new(BadTransport, 14));
        assert_eq!(e("msrp://a:1/s;tcp;"), UriError::new(BadParam, 17));
        assert_eq!(e("msrp://a:1/s;tcp;a="), UriError::new(BadParam, 19));
        assert_eq!(e("msrp://a:1/s;tcp;a=b=c"), UriError::new(BadParam, 20));
        assert_eq!(e("msrp://u\"@a:1/s;tcp"), UriError::new(BadHost, 8));
        assert_eq!(e("msrp://u%zz@a:1/s;tcp"), UriError::new(BadUserinfo, 8));
        assert_eq!(e("msrp://a@b@c;tcp"), UriError::new(BadHost, 10));
        assert_eq!(e("msrp://"), UriError::new(EmptyHost, 7));
        assert_eq!(e(""), UriError::new(BadScheme, 0));
        assert_eq!(e("msrp://é;tcp"), UriError::new(EmptyHost, 7));
    }

    #[test]
    fn lists() {
        let l = MsrpUri::parse_list(
            "msrps://a.example.org:9000/kjfjan;tcp msrps://b.example.net:9000/aeiug;tcp",
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].host, "b.example.net");
        assert_eq!(
            MsrpUri::parse_list("msrp://a:1/s;tcp  msrp://b:1/s;tcp").unwrap_err(),
            UriError::new(UriErrorKind::EmptyPath, 17)
        );
        assert_eq!(
            MsrpUri::parse_list("msrp://a:1/s;tcp msrp://b:x/s;tcp").unwrap_err(),
            UriError::new(UriErrorKind::BadPort, 26)
        );
        assert_eq!(
            MsrpUri::parse_list("").unwrap_err().kind,
            UriErrorKind::EmptyPath
        );
    }

    #[test]
    fn comparison_rfc4975_6_1() {
        let a = p("msrp://Host.Example.COM:8493/asfd34;tcp");
        // Scheme and host case-insensitive, transport case-insensitive,
        // userinfo and params ignored.
        assert!(a.equivalent(&p("MSRP://host.example.com:8493/asfd34;TCP")));
        assert!(a.equivalent(&p("msrp://bob@host.example.com:8493/asfd34;tcp;x=y")));
        assert!(a.equivalent(&p("msrp://h%6Fst.example.com:8493/asfd34;tcp")));
        // Session-id case-sensitive, present vs absent.
        assert!(!a.equivalent(&p("msrp://host.example.com:8493/ASFD34;tcp")));
        assert!(!a.equivalent(&p("msrp://host.example.com:8493;tcp")));
        // Scheme, port, transport must match.
        assert!(!a.equivalent(&p("msrps://host.example.com:8493/asfd34;tcp")));
        assert!(!a.equivalent(&p("msrp://host.example.com/asfd34;tcp")));
        assert!(!a.equivalent(&p("msrp://host.example.com:8494/asfd34;tcp")));
        assert!(!a.equivalent(&p("msrp://host.example.com:8493/asfd34;sctp")));
        // IPv6 address equivalence.
        assert!(
            p("msrp://[2001:db8::1]:1/s;tcp")
                .equivalent(&p("msrp://[2001:0DB8:0:0:0:0:0:1]:1/s;tcp"))
        );
        // RFC 4976 relays: no port, no session-id.
        let r = p("msrps://alice@intra.example.com;tcp");
        assert!(r.equivalent(&p("msrps://INTRA.example.com;tcp")));
        assert!(!r.equivalent(&p("msrps://intra.example.com:2855;tcp")));
    }

    #[test]
    fn cema_session_match() {
        let a = p("msrp://10.0.0.1:2855/abc;tcp");
        assert!(a.session_matches(&p("msrp://192.0.2.9:7000/abc;tcp")));
        assert!(!a.session_matches(&p("msrp://10.0.0.1:2855/ABC;tcp")));
        assert!(!p("msrp://a;tcp").session_matches(&p("msrp://a;tcp")));
    }

    #[test]
    fn builder() {
        let u = MsrpUri::local(Scheme::Msrp, "gw.example.net", 2855, "s3cr3t").unwrap();
        assert_eq!(u.to_string(), "msrp://gw.example.net:2855/s3cr3t;tcp");
        let u = MsrpUri::local(Scheme::Msrps, "2001:db8::7", 2856, "x").unwrap();
        assert_eq!(u.to_string(), "msrps://[2001:db8::7]:2856/x;tcp");
        assert_eq!(u.host, "[2001:db8::7]");
        let u = MsrpUri::host_only(Scheme::Msrps, "relay.example.com", None).unwrap();
        assert_eq!(u.to_string(), "msrps://relay.example.com;tcp");
        assert!(MsrpUri::local(Scheme::Msrp, "a;b", 1, "x").is_err());
        assert!(MsrpUri::local(Scheme::Msrp, "a/b", 1, "x").is_err());
        assert!(MsrpUri::local(Scheme::Msrp, "u@a", 1, "x").is_err());
        assert!(MsrpUri::local(Scheme::Msrp, "a", 1, "x%y").is_err());
        assert!(MsrpUri::local(Scheme::Msrp, "", 1, "x").is_err());
        assert!(MsrpUri::local(Scheme::Msrp, "a", 1, "").is_err());
        let u = u.with_param("foo", Some("bar".into()));
        assert_eq!(u.to_string(), "msrps://relay.example.com;tcp;foo=bar");
    }
}
