//! HTTP Digest header values as MSRP relays use them (RFC 4976 §5.1, §7,
//! §9.1; RFC 2617 §3.2).
//!
//! Owns: `WWW-Authenticate` ([`DigestChallenge`]), `Authorization`
//! ([`DigestCredentials`]) and `Authentication-Info` ([`AuthenticationInfo`]):
//! parse, encode, and the quoting rules of RFC 4976 §9.1 (qop quoted in
//! challenges, unquoted in credentials and Authentication-Info).
//!
//! Must not: compute digests (no hashing here; the relay client computes
//! `response` with `uri` = the rightmost To-Path URI, RFC 4976 §9.1), or
//! decide whether credentials are acceptable.

use std::borrow::Cow;
use std::fmt;

use crate::proto::lex::{
    is_token, is_token_str, skip_wsp, split_quoted, unescape_quoted, write_quoted,
};

/// A `name=value` parameter this module has no field for (RFC 4976 §7
/// `auth-param`), kept in order. `value` is unescaped; `quoted` says how it
/// was (and will be) written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthParam<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
    pub quoted: bool,
}

impl AuthParam<'_> {
    pub fn into_owned(self) -> AuthParam<'static> {
        AuthParam {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
            quoted: self.quoted,
        }
    }
}

/// `WWW-Authenticate: Digest realm="...", nonce="...", qop="auth"`
/// (RFC 4976 §7 `WWW-Authenticate`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestChallenge<'a> {
    pub realm: Cow<'a, str>,
    pub nonce: Cow<'a, str>,
    /// The `qop-list` inside the quotes, e.g. `auth` or `auth,auth-int`.
    pub qop: Option<Cow<'a, str>>,
    pub opaque: Option<Cow<'a, str>>,
    pub stale: Option<bool>,
    pub algorithm: Option<Cow<'a, str>>,
    /// Everything else (e.g. `domain`, which clients ignore, RFC 4976 §9.1).
    pub other: Vec<AuthParam<'a>>,
}

/// `Authorization: Digest username="...", realm="...", ...` (RFC 4976 §7
/// `credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestCredentials<'a> {
    pub username: Cow<'a, str>,
    pub realm: Cow<'a, str>,
    pub nonce: Cow<'a, str>,
    /// The digest-uri; RFC 4976 §9.1 says H(A2) uses the rightmost To-Path
    /// URI. The RFC's own examples omit the parameter.
    pub uri: Option<Cow<'a, str>>,
    pub response: Cow<'a, str>,
    pub algorithm: Option<Cow<'a, str>>,
    pub cnonce: Option<Cow<'a, str>>,
    pub opaque: Option<Cow<'a, str>>,
    pub qop: Option<Cow<'a, str>>,
    /// `nc`, 8 hex digits on the wire.
    pub nc: Option<u32>,
    pub other: Vec<AuthParam<'a>>,
}

/// `Authentication-Info: nextnonce="...", rspauth="...", cnonce="...",
/// nc=00000001, qop=auth` (RFC 4976 §7 `ainfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuthenticationInfo<'a> {
    pub nextnonce: Option<Cow<'a, str>>,
    pub rspauth: Option<Cow<'a, str>>,
    pub cnonce: Option<Cow<'a, str>>,
    pub nc: Option<u32>,
    pub qop: Option<Cow<'a, str>>,
    pub other: Vec<AuthParam<'a>>,
}

/// One parsed `name=value`: offset of the name, name, unescaped value,
/// whether it was quoted.
struct RawParam<'a> {
    at: usize,
    name: &'a str,
    value: Cow<'a, str>,
    quoted: bool,
}

/// `param *( "," param )` with optional whitespace around `,` and `=`,
/// and empty list elements skipped (RFC 2617 `#rule`). `Err` = offset.
fn parse_params(s: &str) -> Result<Vec<RawParam<'_>>, usize> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(8);
    let mut i = 0;
    let skip_ws = |i| skip_wsp(b, i);
    loop {
        i = skip_ws(i);
        while i < b.len() && b[i] == b',' {
            i = skip_ws(i + 1);
        }
        if i >= b.len() {
            return Ok(out);
        }
        let at = i;
        while i < b.len() && is_token(b[i]) {
            i += 1;
        }
        if i == at {
            return Err(i);
        }
        let name = &s[at..i];
        i = skip_ws(i);
        if b.get(i) != Some(&b'=') {
            return Err(i);
        }
        i = skip_ws(i + 1);
        let (value, quoted) = if b.get(i) == Some(&b'"') {
            let (inner, _) = split_quoted(&s[i..]).map_err(|e| i + e.offset)?;
            i += inner.len() + 2;
            (unescape_quoted(inner), true)
        } else {
            let vs = i;
            while i < b.len() && is_token(b[i]) {
                i += 1;
            }
            if i == vs {
                return Err(i);
            }
            (Cow::Borrowed(&s[vs..i]), false)
        };
        out.push(RawParam {
            at,
            name,
            value,
            quoted,
        });
        i = skip_ws(i);
        match b.get(i) {
            None => return Ok(out),
            Some(b',') => {}
            Some(_) => return Err(i),
        }
    }
}

/// Strips the `Digest` scheme and the whitespace after it; `Err` = offset.
fn strip_digest(s: &str) -> Result<(&str, usize), usize> {
    let b = s.as_bytes();
    if b.len() < 7 || !b[..6].eq_ignore_ascii_case(b"Digest") || !matches!(b[6], b' ' | b'\t') {
        return Err(0);
    }
    let i = skip_wsp(b, 7);
    Ok((&s[i..], i))
}

fn set<'a>(slot: &mut Option<Cow<'a, str>>, p: RawParam<'a>) -> Result<(), usize> {
    if slot.is_some() {
        return Err(p.at);
    }
    *slot = Some(p.value);
    Ok(())
}

/// `nc-value = 8LHEX`; liberal on case and on fewer digits.
fn parse_nc(p: &RawParam<'_>) -> Result<u32, usize> {
    let v = p.value.as_bytes();
    if v.is_empty() || v.len() > 8 || !v.iter().all(u8::is_ascii_hexdigit) {
        return Err(p.at);
    }
    u32::from_str_radix(&p.value, 16).map_err(|_| p.at)
}

fn other(p: RawParam<'_>) -> AuthParam<'_> {
    AuthParam {
        name: Cow::Borrowed(p.name),
        value: p.value,
        quoted: p.quoted,
    }
}

fn owned(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    c.map(|c| Cow::Owned(c.into_owned()))
}

impl<'a> DigestChallenge<'a> {
    /// A challenge with `qop="auth"`, as RFC 4976 §9.1 requires.
    pub fn new(realm: impl Into<Cow<'a, str>>, nonce: impl Into<Cow<'a, str>>) -> Self {
        DigestChallenge {
            realm: realm.into(),
            nonce: nonce.into(),
            qop: Some(Cow::Borrowed("auth")),
            opaque: None,
            stale: None,
            algorithm: None,
            other: Vec::new(),
        }
    }

    /// RFC 4976 §7 `WWW-Authenticate` value (`"Digest" SP digest-param
    /// *("," SP digest-param)`). `Err` holds the offset of the problem
    /// (realm and nonce are required, RFC 2617 §3.2.1).
    pub fn parse(s: &'a str) -> Result<Self, usize> {
        let (rest, base) = strip_digest(s)?;
        let (mut realm, mut nonce, mut qop, mut opaque, mut algorithm) =
            (None, None, None, None, None);
        let mut stale = None;
        let mut others = Vec::new();
        for p in parse_params(rest).map_err(|o| o + base)? {
            let at = p.at + base;
            let n = p.name;
            let r = if n.eq_ignore_ascii_case("realm") {
                set(&mut realm, p)
            } else if n.eq_ignore_ascii_case("nonce") {
                set(&mut nonce, p)
            } else if n.eq_ignore_ascii_case("qop") {
                set(&mut qop, p)
            } else if n.eq_ignore_ascii_case("opaque") {
                set(&mut opaque, p)
            } else if n.eq_ignore_ascii_case("algorithm") {
                set(&mut algorithm, p)
            } else if n.eq_ignore_ascii_case("stale") {
                let v = if p.value.eq_ignore_ascii_case("true") {
                    true
                } else if p.value.eq_ignore_ascii_case("false") {
                    false
                } else {
                    return Err(at);
                };
                if stale.replace(v).is_some() {
                    return Err(at);
                }
                Ok(())
            } else {
                others.push(other(p));
                Ok(())
            };
            r.map_err(|_| at)?;
        }
        Ok(DigestChallenge {
            realm: realm.ok_or(s.len())?,
            nonce: nonce.ok_or(s.len())?,
            qop,
            opaque,
            stale,
            algorithm,
            other: others,
        })
    }

    /// The qop options offered (`auth`, `auth-int`, ...).
    pub fn qop_options(&self) -> impl Iterator<Item = &str> {
        self.qop
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    pub fn into_owned(self) -> DigestChallenge<'static> {
        DigestChallenge {
            realm: Cow::Owned(self.realm.into_owned()),
            nonce: Cow::Owned(self.nonce.into_owned()),
            qop: owned(self.qop),
            opaque: owned(self.opaque),
            stale: self.stale,
            algorithm: owned(self.algorithm),
            other: self.other.into_iter().map(AuthParam::into_owned).collect(),
        }
    }

    pub(crate) fn is_text(&self) -> bool {
        all_text(
            [&self.realm, &self.nonce]
                .into_iter()
                .chain(self.qop.iter())
                .chain(self.opaque.iter())
                .chain(self.algorithm.iter()),
            &self.other,
        )
    }
}

impl<'a> DigestCredentials<'a> {
    /// Credentials answering `ch` with qop=auth (RFC 4976 §9.1: cnonce and
    /// nc are mandatory); `response` is computed by the caller.
    pub fn for_challenge(
        ch: &DigestChallenge<'a>,
        username: impl Into<Cow<'a, str>>,
        cnonce: impl Into<Cow<'a, str>>,
        nc: u32,
        response: impl Into<Cow<'a, str>>,
    ) -> Self {
        DigestCredentials {
            username: username.into(),
            realm: ch.realm.clone(),
            nonce: ch.nonce.clone(),
            uri: None,
            response: response.into(),
            algorithm: ch.algorithm.clone(),
            cnonce: Some(cnonce.into()),
            opaque: ch.opaque.clone(),
            qop: Some(Cow::Borrowed("auth")),
            nc: Some(nc),
            other: Vec::new(),
        }
    }

    /// RFC 4976 §7 `credentials` (`"Digest" SP digest-response *(","
    /// SP digest-response)`). `Err` = offset of the problem (username,
    /// realm, nonce and response are required).
    pub fn parse(s: &'a str) -> Result<Self, usize> {
        let (rest, base) = strip_digest(s)?;
        let mut f: [Option<Cow<'a, str>>; 9] = Default::default();
        let mut nc = None;
        let mut others = Vec::new();
        const NAMES: [&str; 9] = [
            "username",
            "realm",
            "nonce",
            "uri",
            "response",
            "algorithm",
            "cnonce",
            "opaque",
            "qop",
        ];
        for p in parse_params(rest).map_err(|o| o + base)? {
            let at = p.at + base;
            if p.name.eq_ignore_ascii_case("nc") {
                if nc.replace(parse_nc(&p).map_err(|_| at)?).is_some() {
                    return Err(at);
                }
            } else if let Some(k) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(p.name)) {
                set(&mut f[k], p).map_err(|_| at)?;
            } else {
                others.push(other(p));
            }
        }
        let [
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            opaque,
            qop,
        ] = f;
        Ok(DigestCredentials {
            username: username.ok_or(s.len())?,
            realm: realm.ok_or(s.len())?,
            nonce: nonce.ok_or(s.len())?,
            uri,
            response: response.ok_or(s.len())?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
            other: others,
        })
    }

    pub fn into_owned(self) -> DigestCredentials<'static> {
        DigestCredentials {
            username: Cow::Owned(self.username.into_owned()),
            realm: Cow::Owned(self.realm.into_owned()),
            nonce: Cow::Owned(self.nonce.into_owned()),
            uri: owned(self.uri),
            response: Cow::Owned(self.response.into_owned()),
            algorithm: owned(self.algorithm),
            cnonce: owned(self.cnonce),
            opaque: owned(self.opaque),
            qop: owned(self.qop),
            nc: self.nc,
            other: self.other.into_iter().map(AuthParam::into_owned).collect(),
        }
    }

    pub(crate) fn is_text(&self) -> bool {
        all_text(
            [&self.username, &self.realm, &self.nonce, &self.response]
                .into_iter()
                .chain(self.uri.iter())
                .chain(self.algorithm.iter())
                .chain(self.cnonce.iter())
                .chain(self.opaque.iter())
                .chain(self.qop.iter()),
            &self.other,
        )
    }
}

impl<'a> AuthenticationInfo<'a> {
    /// RFC 4976 §7 `Authentication-Info` value (`ainfo *("," ainfo)`, no
    /// scheme). `Err` = offset.
    pub fn parse(s: &'a str) -> Result<Self, usize> {
        let mut info = AuthenticationInfo::default();
        for p in parse_params(s)? {
            let at = p.at;
            let n = p.name;
            if n.eq_ignore_ascii_case("nc") {
                if info.nc.replace(parse_nc(&p)?).is_some() {
                    return Err(at);
                }
                continue;
            }
            let slot = if n.eq_ignore_ascii_case("nextnonce") {
                &mut info.nextnonce
            } else if n.eq_ignore_ascii_case("rspauth") {
                &mut info.rspauth
            } else if n.eq_ignore_ascii_case("cnonce") {
                &mut info.cnonce
            } else if n.eq_ignore_ascii_case("qop") {
                &mut info.qop
            } else {
                info.other.push(other(p));
                continue;
            };
            set(slot, p)?;
        }
        if info == AuthenticationInfo::default() {
            return Err(0);
        }
        Ok(info)
    }

    pub fn into_owned(self) -> AuthenticationInfo<'static> {
        AuthenticationInfo {
            nextnonce: owned(self.nextnonce),
            rspauth: owned(self.rspauth),
            cnonce: owned(self.cnonce),
            nc: self.nc,
            qop: owned(self.qop),
            other: self.other.into_iter().map(AuthParam::into_owned).collect(),
        }
    }

    pub(crate) fn is_text(&self) -> bool {
        !(self.nextnonce.is_none()
            && self.rspauth.is_none()
            && self.cnonce.is_none()
            && self.nc.is_none()
            && self.qop.is_none()
            && self.other.is_empty())
            && all_text(
                self.nextnonce
                    .iter()
                    .chain(self.rspauth.iter())
                    .chain(self.cnonce.iter())
                    .chain(self.qop.iter()),
                &self.other,
            )
    }
}

/// True when every value can be written as a quoted-string or token
/// (no control characters) and every extra name is a token.
fn all_text<'x, 'a: 'x>(
    vals: impl Iterator<Item = &'x Cow<'a, str>>,
    other: &[AuthParam<'_>],
) -> bool {
    let ok = |v: &str| v.bytes().all(super::is_text_byte);
    vals.into_iter().all(|v| ok(v))
        && other
            .iter()
            .all(|p| is_token_str(&p.name) && ok(&p.value) && (p.quoted || !p.value.is_empty()))
}

/// Writes `, name=value` (or `name=value` first), quoting when asked or
/// when the value is not a token.
struct ParamWriter<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    first: bool,
}

impl ParamWriter<'_, '_> {
    fn put(&mut self, name: &str, value: &str, quoted: bool) -> fmt::Result {
        if !self.first {
            self.f.write_str(", ")?;
        }
        self.first = false;
        self.f.write_str(name)?;
        self.f.write_str("=")?;
        if quoted || !is_token_str(value) {
            let mut q = String::with_capacity(value.len() + 2);
            write_quoted(&mut q, value);
            self.f.write_str(&q)
        } else {
            self.f.write_str(value)
        }
    }

    fn opt(&mut self, name: &str, value: &Option<Cow<'_, str>>, quoted: bool) -> fmt::Result {
        match value {
            Some(v) => self.put(name, v, quoted),
            None => Ok(()),
        }
    }

    fn nc(&mut self, nc: Option<u32>) -> fmt::Result {
        match nc {
            Some(n) => self.put("nc", &format!("{n:08x}"), false),
            None => Ok(()),
        }
    }

    fn others(&mut self, other: &[AuthParam<'_>]) -> fmt::Result {
        for p in other {
            self.put(&p.name, &p.value, p.quoted)?;
        }
        Ok(())
    }
}

impl fmt::Display for DigestChallenge<'_> {
    /// Parameters in the order RFC 4976 §5.1 prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest ")?;
        let mut w = ParamWriter { f, first: true };
        w.put("realm", &self.realm, true)?;
        w.opt("qop", &self.qop, true)?;
        w.put("nonce", &self.nonce, true)?;
        w.opt("opaque", &self.opaque, true)?;
        if let Some(s) = self.stale {
            w.put("stale", if s { "true" } else { "false" }, false)?;
        }
        w.opt("algorithm", &self.algorithm, false)?;
        w.others(&self.other)
    }
}

impl fmt::Display for DigestCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest ")?;
        let mut w = ParamWriter { f, first: true };
        w.put("username", &self.username, true)?;
        w.put("realm", &self.realm, true)?;
        w.put("nonce", &self.nonce, true)?;
        w.opt("uri", &self.uri, true)?;
        w.opt("algorithm", &self.algorithm, false)?;
        w.opt("qop", &self.qop, false)?;
        w.nc(self.nc)?;
        w.opt("cnonce", &self.cnonce, true)?;
        w.put("response", &self.response, true)?;
        w.opt("opaque", &self.opaque, true)?;
        w.others(&self.other)
    }
}

impl fmt::Display for AuthenticationInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = ParamWriter { f, first: true };
        w.opt("nextnonce", &self.nextnonce, true)?;
        w.opt("rspauth", &self.rspauth, true)?;
        w.opt("cnonce", &self.cnonce, true)?;
        w.nc(self.nc)?;
        w.opt("qop", &self.qop, false)?;
        w.others(&self.other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: &str = r#"Digest realm="intra.example.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#;
    const CR: &str = r#"Digest username="Alice", realm="intra.example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1""#;
    const AI: &str = r#"nextnonce="40f2e879449675f288476d772627370a", rspauth="7327570c586207eca2afae94fc20903d", cnonce="0a4f113b", nc=00000001, qop=auth"#;

    #[test]
    fn challenge_rfc4976() {
        let c = DigestChallenge::parse(CH).unwrap();
        assert_eq!(c.realm, "intra.example.com");
        assert_eq!(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.qop_options().collect::<Vec<_>>(), ["auth"]);
        assert_eq!(c.to_string(), CH);
        assert!(c.is_text());
        let again = c.to_string();
        assert_eq!(DigestChallenge::parse(&again).unwrap(), c);
    }

    #[test]
    fn challenge_extras() {
        let s = r#"digest  realm="r\"x",nonce=abc , stale=TRUE,algorithm=MD5,domain="/x", qop="auth,auth-int",opaque="o""#;
        let c = DigestChallenge::parse(s).unwrap();
        assert_eq!(c.realm, "r\"x");
        assert_eq!(c.nonce, "abc");
        assert_eq!(c.stale, Some(true));
        assert_eq!(c.algorithm.as_deref(), Some("MD5"));
        assert_eq!(c.opaque.as_deref(), Some("o"));
        assert_eq!(c.qop_options().collect::<Vec<_>>(), ["auth", "auth-int"]);
        assert_eq!(c.other.len(), 1);
        assert_eq!(c.other[0].name, "domain");
        let enc = c.to_string();
        assert_eq!(DigestChallenge::parse(&enc).unwrap(), c);
        let built = DigestChallenge::new("relay.example", "n0nce");
        assert_eq!(
            built.to_string(),
            r#"Digest realm="relay.example", qop="auth", nonce="n0nce""#
        );
    }

    #[test]
    fn challenge_errors() {
        assert_eq!(DigestChallenge::parse("Basic realm=\"x\""), Err(0));
        assert_eq!(DigestChallenge::parse("Digest"), Err(0));
        assert_eq!(DigestChallenge::parse(r#"Digest realm="x""#), Err(16)); // no nonce
        assert_eq!(
            DigestChallenge::parse(r#"Digest realm="x", realm="y", nonce=n"#),
            Err(18)
        );
        assert_eq!(
            DigestChallenge::parse(r#"Digest realm="x"; nonce=n"#),
            Err(16)
        );
        assert_eq!(
            DigestChallenge::parse(r#"Digest realm="x, nonce=n"#),
            Err(13)
        );
        assert_eq!(DigestChallenge::parse(r#"Digest realm=, nonce=n"#), Err(13));
        assert_eq!(
            DigestChallenge::parse(r#"Digest realm="x", nonce=n, stale=maybe"#),
            Err(27)
        );
        assert_eq!(DigestChallenge::parse(r#"Digest =x"#), Err(7));
    }

    #[test]
    fn credentials_rfc4976() {
        let c = DigestCredentials::parse(CR).unwrap();
        assert_eq!(c.username, "Alice");
        assert_eq!(c.realm, "intra.example.com");
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc, Some(1));
        assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(c.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(c.uri, None);
        assert_eq!(c.to_string(), CR);
        assert!(c.is_text());
        let ch = DigestChallenge::parse(CH).unwrap();
        let mine = DigestCredentials::for_challenge(
            &ch,
            "Alice",
            "0a4f113b",
            1,
            "6629fae49393a05397450978507c4ef1",
        );
        assert_eq!(mine, c);
        assert_eq!(DigestCredentials::parse(r#"Digest username="a""#), Err(19));
        assert_eq!(
            DigestCredentials::parse(
                r#"Digest username="a", realm=r, nonce=n, response=x, nc=123456789"#
            ),
            Err(51)
        );
        assert_eq!(
            DigestCredentials::parse(r#"Digest username="a", realm=r, nonce=n, response=x, nc=zz"#),
            Err(51)
        );
        let with_uri = DigestCredentials::parse(
            r#"Digest username="a", realm=r, nonce=n, response=x, uri="msrps://r;tcp", x-y=1"#,
        )
        .unwrap();
        assert_eq!(with_uri.uri.as_deref(), Some("msrps://r;tcp"));
        assert_eq!(
            DigestCredentials::parse(&with_uri.to_string()).unwrap(),
            with_uri
        );
    }

    #[test]
    fn auth_info_rfc4976() {
        let a = AuthenticationInfo::parse(AI).unwrap();
        assert_eq!(
            a.nextnonce.as_deref(),
            Some("40f2e879449675f288476d772627370a")
        );
        assert_eq!(
            a.rspauth.as_deref(),
            Some("7327570c586207eca2afae94fc20903d")
        );
        assert_eq!(a.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(a.nc, Some(1));
        assert_eq!(a.qop.as_deref(), Some("auth"));
        assert_eq!(a.to_string(), AI);
        assert_eq!(AuthenticationInfo::parse(""), Err(0));
        assert_eq!(AuthenticationInfo::parse("qop=auth, qop=auth"), Err(10));
        // The RFC 4976 continuation without space after the comma.
        assert!(AuthenticationInfo::parse(r#"nextnonce="a",rspauth="b""#).is_ok());
    }
}
