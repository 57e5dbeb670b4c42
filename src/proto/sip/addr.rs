//! name-addr and addr-spec (RFC 3261 §25.1), as used by From, To, Contact,
//! Route, Record-Route, P-Asserted-Identity, Reply-To.
//!
//! Owns: display names (quoted-string or token sequence), the `<URI>` /
//! bare addr-spec choice with its §20.10 rule (in a bare addr-spec every `;`
//! starts a header parameter), header parameters (`generic-param`),
//! comma-separated lists of addresses, and the writer (always the `<>` form).
//!
//! Must not: parse the URI itself (`uri.rs` does), know which header the
//! value came from, or handle `Contact: *` (the caller does; `*` here is the
//! [`AddrErrorKind::Star`] error).
//!
//! Robustness choices from RFC 4475: no LWS is needed between a display name
//! and `<` (§3.1.1.6 `lwsdisp`); an unterminated quote (§3.1.2.6 `quotbal`),
//! an unquoted display name with non-token characters (§3.1.2.15 `baddn`),
//! whitespace inside `<...>` (§3.1.2.14 `badaspec`), a bare addr-spec with
//! `?headers` (§3.1.2.13 `regbadct`) and empty list elements (§3.1.2.1
//! `badinv01`) are errors.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::uri::{Uri, UriErrorKind, is_ipv6_reference};
use crate::proto::ParseError;
use crate::proto::lex::{self, LexErrorKind, Param};

/// What was wrong with a name-addr / addr-spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// `*` where an address was expected (`Contact: *` is the caller's case).
    Star,
    /// The URI inside the address is malformed.
    Uri(UriErrorKind),
    /// A lexical error: unterminated quote, bad header parameter.
    Lex(LexErrorKind),
    /// An unquoted display name with characters outside `token`, or a
    /// quoted one with a raw control character.
    BadDisplayName,
    /// A display name not followed by `<URI>`.
    MissingUri,
    /// A `<` without its `>`.
    UnterminatedAngle,
    /// Whitespace between `<` and `>`.
    LwsInAddrSpec,
    /// A bare addr-spec holding `?` headers: it must be enclosed in `<>`.
    NeedsAngleBrackets,
    /// Characters after the address that are not `;` parameters.
    TrailingGarbage,
    /// An empty element in a comma-separated list (`a,,b`, trailing comma).
    EmptyElement,
}

impl AddrErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            AddrErrorKind::Empty => "empty address",
            AddrErrorKind::Star => "'*' is not an address",
            AddrErrorKind::Uri(k) => k.description(),
            AddrErrorKind::Lex(k) => k.description(),
            AddrErrorKind::BadDisplayName => "display name must be quoted",
            AddrErrorKind::MissingUri => "display name without <URI>",
            AddrErrorKind::UnterminatedAngle => "'<' without matching '>'",
            AddrErrorKind::LwsInAddrSpec => "whitespace inside <URI>",
            AddrErrorKind::NeedsAngleBrackets => "URI with headers must be enclosed in <>",
            AddrErrorKind::TrailingGarbage => "unexpected characters after address",
            AddrErrorKind::EmptyElement => "empty element in address list",
        }
    }
}

impl fmt::Display for AddrErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
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

/// `gen-value = token / host / quoted-string` (RFC 3261 §25.1); a host
/// other than an IPv6 reference is made of token characters.
fn is_gen_value(v: &str) -> bool {
    lex::is_token_str(v) || is_ipv6_reference(v) || lex::check_quoted(v).is_ok()
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

impl<'a> NameAddr<'a> {
    /// Parses `( name-addr / addr-spec ) *( SEMI generic-param )`
    /// (RFC 3261 §25.1 `from-spec`, `to-param`, `contact-param`, `rec-route`,
    /// `route-param`), with LWS allowed around it.
    ///
    /// `name-addr = [ display-name ] LAQUOT addr-spec RAQUOT`,
    /// `display-name = *(token LWS) / quoted-string`. In a bare `addr-spec`
    /// the URI ends at the first `;`, `,` or whitespace and what follows `;`
    /// are header parameters (RFC 3261 §20.10).
    pub fn parse(s: &'a str) -> Result<NameAddr<'a>, AddrError> {
        let b = s.as_bytes();
        let n = b.len();
        let start = lex::skip_lws(b, 0);
        if start == n {
            return Err(AddrError::new(AddrErrorKind::Empty, start));
        }
        if b[start] == b'*' && lex::skip_lws(b, start + 1) == n {
            return Err(AddrError::new(AddrErrorKind::Star, start));
        }

        let mut display_name = None;
        let laquot;
        if b[start] == b'"' {
            let (inner, _) = lex::split_quoted(&s[start..])
                .map_err(|e| e.shifted(start).map_kind(AddrErrorKind::Lex))?;
            let end = start + inner.len() + 2;
            let raw = &s[start..end];
            lex::check_quoted(raw)
                .map_err(|k| AddrError::new(AddrErrorKind::BadDisplayName, start + k))?;
            display_name = Some(Cow::Borrowed(raw));
            laquot = lex::skip_lws(b, end);
            if b.get(laquot) != Some(&b'<') {
                return Err(AddrError::new(AddrErrorKind::MissingUri, laquot));
            }
        } else if b[start] == b'<' {
            laquot = start;
        } else {
            let mut t = start;
            while t < n && lex::is_token(b[t]) {
                t += 1;
            }
            let is_addr_spec = b.get(t) == Some(&b':') && t > start;
            match lex::find_byte(&b[start..], b'<') {
                Some(rel) if !is_addr_spec => {
                    laquot = start + rel;
                    let raw = lex::trim_lws(&s[start..laquot]);
                    lex::check_token_seq(raw)
                        .map_err(|k| AddrError::new(AddrErrorKind::BadDisplayName, start + k))?;
                    display_name = Some(Cow::Borrowed(raw));
                }
                _ => return Self::parse_addr_spec(s, start),
            }
        }

        // LAQUOT addr-spec RAQUOT; a URI never holds '>', so the first one
        // closes it.
        let uri_start = laquot + 1;
        let raquot = lex::find_byte(&b[uri_start..], b'>')
            .map(|p| uri_start + p)
            .ok_or(AddrError::new(AddrErrorKind::UnterminatedAngle, laquot))?;
        if let Some(k) = b[uri_start..raquot]
            .iter()
            .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Err(AddrError::new(AddrErrorKind::LwsInAddrSpec, uri_start + k));
        }
        let uri = Uri::parse(&s[uri_start..raquot])
            .map_err(|e| e.shifted(uri_start).map_kind(AddrErrorKind::Uri))?;
        let params = parse_header_params(s, raquot + 1)?;
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// Bare `addr-spec *( SEMI generic-param )` starting at `start`.
    fn parse_addr_spec(s: &'a str, start: usize) -> Result<NameAddr<'a>, AddrError> {
        let b = s.as_bytes();
        let mut end = start;
        while end < b.len() && !matches!(b[end], b';' | b',' | b' ' | b'\t' | b'\r' | b'\n') {
            if b[end] == b'?' {
                return Err(AddrError::new(AddrErrorKind::NeedsAngleBrackets, end));
            }
            end += 1;
        }
        let uri = Uri::parse(&s[start..end])
            .map_err(|e| e.shifted(start).map_kind(AddrErrorKind::Uri))?;
        let params = parse_header_params(s, end)?;
        Ok(NameAddr {
            display_name: None,
            uri,
            params,
        })
    }

    /// Comma-separated list (Contact, Route, Record-Route): RFC 3261 §7.3.1
    /// `header = name ":" value *("," value)`. Commas inside quoted strings
    /// and `<...>` do not split. Error offsets are into `s`.
    pub fn parse_list(s: &'a str) -> Result<Vec<NameAddr<'a>>, AddrError> {
        if lex::trim_lws(s).is_empty() {
            return Err(AddrError::new(
                AddrErrorKind::Empty,
                lex::skip_lws(s.as_bytes(), 0),
            ));
        }
        let mut out = Vec::new();
        for (off, piece) in lex::split_unquoted(s, b',') {
            if lex::trim_lws(piece).is_empty() {
                return Err(AddrError::new(AddrErrorKind::EmptyElement, off));
            }
            out.push(NameAddr::parse(piece).map_err(|e| e.shifted(off))?);
        }
        Ok(out)
    }

    /// The address with no display name and no parameters.
    pub fn new(uri: Uri<'a>) -> Self {
        NameAddr {
            display_name: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Sets the display name from plain text: kept as is when it is a
    /// token sequence (`Alice Smith`), quoted otherwise (`"Smith, Alice"`).
    pub fn with_display_name(mut self, text: &str) -> Self {
        self.display_name = Some(
            if lex::check_token_seq(text).is_ok() && !text.contains('\r') {
                Cow::Owned(text.to_owned())
            } else {
                let mut q = String::with_capacity(text.len() + 2);
                lex::write_quoted(&mut q, text);
                Cow::Owned(q)
            },
        );
        self
    }

    /// Appends a header parameter. `name` must be a token (other characters
    /// are dropped); a value that is not a token, host or quoted-string is
    /// quoted.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push(make_param(name, value));
        self
    }

    /// Sets `;tag=` (RFC 3261 §19.3), replacing an existing one.
    pub fn set_tag(&mut self, tag: &str) {
        let p = make_param("tag", Some(tag));
        match self
            .params
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case("tag"))
        {
            Some(existing) => *existing = p,
            None => self.params.push(p),
        }
    }

    /// `;tag=` value, as written.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// A header parameter by case-insensitive name; `Some(None)` when present
    /// without value. The value is as written (quotes kept).
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        lex::find_param(&self.params, name)
    }

    /// Display name with quotes removed and quoted-pairs undone.
    pub fn display_text(&self) -> Option<Cow<'_, str>> {
        let d = self.display_name.as_deref()?;
        match lex::split_quoted(d) {
            Ok((inner, "")) => Some(lex::unescape_quoted(inner)),
            _ => Some(Cow::Borrowed(d)),
        }
    }

    pub fn into_owned(self) -> NameAddr<'static> {
        NameAddr {
            display_name: self.display_name.map(own),
            uri: self.uri.into_owned(),
            params: self.params.into_iter().map(Param::into_owned).collect(),
        }
    }
}

fn make_param(name: &str, value: Option<&str>) -> Param<'static> {
    let name: String = name
        .bytes()
        .filter(|&c| lex::is_token(c))
        .map(char::from)
        .collect();
    let value = value.map(|v| {
        if is_gen_value(v) {
            v.to_owned()
        } else {
            let mut q = String::with_capacity(v.len() + 2);
            lex::write_quoted(&mut q, v);
            q
        }
    });
    Param::new(Cow::Owned(name), value.map(Cow::Owned))
}

/// `*( SEMI generic-param )` from `from` to the end of `s`, LWS allowed.
fn parse_header_params(s: &str, from: usize) -> Result<Vec<Param<'_>>, AddrError> {
    let b = s.as_bytes();
    let j = lex::skip_lws(b, from);
    if j < b.len() && b[j] != b';' {
        return Err(AddrError::new(AddrErrorKind::TrailingGarbage, j));
    }
    let params = lex::parse_params(&s[from..], from, lex::is_token)
        .map_err(|e| e.map_kind(AddrErrorKind::Lex))?;
    // lex::parse_params takes any bytes inside quotes or brackets; hold the
    // values to gen-value so the writer can emit them unchanged.
    for p in &params {
        if let Some(v) = p.value.as_deref() {
            if !is_gen_value(v) {
                let at = (v.as_ptr() as usize).saturating_sub(s.as_ptr() as usize);
                return Err(AddrError::new(
                    AddrErrorKind::Lex(LexErrorKind::BadParamValue),
                    at,
                ));
            }
        }
    }
    Ok(params)
}

impl fmt::Display for NameAddr<'_> {
    /// Always the name-addr form `["display" ]<uri>;params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            if lex::check_quoted(d).is_ok() || lex::check_token_seq(d).is_ok() {
                f.write_str(d)?;
            } else {
                let mut q = String::with_capacity(d.len() + 2);
                lex::write_quoted(&mut q, d);
                f.write_str(&q)?;
            }
            f.write_char(' ')?;
        }
        write!(f, "<{}>", self.uri)?;
        for p in &self.params {
            if lex::is_token_str(&p.name) {
                match p.value.as_deref() {
                    None => write!(f, ";{}", p.name)?,
                    Some(v) if is_gen_value(v) => write!(f, ";{}={v}", p.name)?,
                    Some(v) => {
                        let mut q = String::with_capacity(v.len() + 2);
                        lex::write_quoted(&mut q, v);
                        write!(f, ";{}={q}", p.name)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sip::uri::Scheme;

    fn p(s: &str) -> NameAddr<'_> {
        match NameAddr::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    fn err(s: &str) -> (AddrErrorKind, usize) {
        match NameAddr::parse(s) {
            Ok(a) => panic!("{s:?} parsed: {a:?}"),
            Err(e) => (e.kind, e.offset),
        }
    }

    /// parse(display(x)) == x
    fn rt(a: &NameAddr<'_>) {
        let text = a.to_string();
        assert_eq!(NameAddr::parse(&text).as_ref(), Ok(a), "{text:?}");
    }

    #[test]
    fn rfc3261_examples() {
        let a = p("Bob <sip:bob@biloxi.com>;tag=a6c85cf");
        assert_eq!(a.display_name.as_deref(), Some("Bob"));
        assert_eq!(a.display_text().as_deref(), Some("Bob"));
        assert_eq!(a.uri.user.as_deref(), Some("bob"));
        assert_eq!(a.uri.host, "biloxi.com");
        assert_eq!(a.tag(), Some("a6c85cf"));
        assert_eq!(a.to_string(), "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
        rt(&a);

        let a = p("Alice <sip:alice@atlanta.com>;tag=1928301774");
        assert_eq!(a.tag(), Some("1928301774"));
        let a = p("<sip:bob@192.0.2.4>");
        assert_eq!(a.display_name, None);
        assert_eq!(a.uri.host, "192.0.2.4");
        assert!(a.params.is_empty());
        assert_eq!(a.tag(), None);
        let a = p("Chatroom 22 <sip:chatroom22@chat.example.com>");
        assert_eq!(a.display_name.as_deref(), Some("Chatroom 22"));
        let a = p("<sip:alice@client.atlanta.example.com;transport=tcp>");
        assert_eq!(a.uri.transport(), Some("tcp"));
        assert!(a.params.is_empty());
        // RFC 3428 F4 prints `;;tag`, an empty parameter.
        assert_eq!(
            err("sip:user1@domain.com;;tag=49394"),
            (AddrErrorKind::Lex(LexErrorKind::BadParamName), 21)
        );
    }

    #[test]
    fn addr_spec_params_belong_to_header() {
        // RFC 3261 §20.10; RFC 4475 §3.3.12 cparam01 vs §3.3.13 cparam02
        let a = p("sip:+19725552222@gw1.example.net;unknownparam");
        assert!(a.uri.params.is_empty());
        assert_eq!(a.param("unknownparam"), Some(None));
        let a = p("<sip:+19725552222@gw1.example.net;unknownparam>");
        assert_eq!(a.uri.param("unknownparam"), Some(None));
        assert!(a.params.is_empty());
        let a = p("sip:caller@example.net;tag=134161461246");
        assert_eq!(a.tag(), Some("134161461246"));
        assert!(a.uri.params.is_empty());
        assert_eq!(a.to_string(), "<sip:caller@example.net>;tag=134161461246");
        rt(&a);
        let a = p("sip:user@example.com");
        assert_eq!(a.uri.user.as_deref(), Some("user"));
        rt(&a);
    }

    #[test]
    fn torture_values() {
        // wsinv To and From (folding undone or not)
        let a = p(" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
        assert_eq!(a.uri.host, "chair-dnrc.example.com");
        assert_eq!(a.tag(), Some("1918181833n"));
        rt(&a);
        let from =
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8";
        let a = p(from);
        assert_eq!(a.display_name.as_deref(), Some("\"J Rosenberg \\\\\\\"\""));
        assert_eq!(a.display_text().as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        rt(&a);
        let a = p("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ; tag = 98asjd8");
        assert_eq!(a.tag(), Some("98asjd8"));
        // wsinv Contact (m:)
        let a = p(
            "\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33",
        );
        assert_eq!(a.display_text().as_deref(), Some("Quoted string \"\""));
        assert_eq!(a.param("newparam"), Some(Some("newvalue")));
        assert_eq!(a.param("secondparam"), Some(None));
        assert_eq!(a.param("q"), Some(Some("0.33")));
        rt(&a);
        // wsinv Route
        let a = p("\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>");
        assert!(a.uri.lr());
        assert_eq!(a.uri.params.len(), 3);

        // intmeth To: quoted-pairs of raw BEL, NUL and DEL
        let to = "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>";
        let a = p(to);
        assert_eq!(
            a.display_text().as_deref(),
            Some("BEL:\x07 NUL:\0 DEL:\x7F")
        );
        assert_eq!(
            a.uri.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(a.to_string(), to);
        rt(&a);
        // intmeth From: token display name, UTF-8 in a quoted param value
        let from = "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{440}\u{430}\u{431}\u{43e}\u{442}\u{430}\u{44e}\u{449}\u{438}\u{439}\";tag=_token~1'+`*%!-.";
        let a = p(from);
        assert_eq!(
            a.display_name.as_deref(),
            Some("token1~` token2'+_ token3*%!.-")
        );
        assert_eq!(a.param("fromparam''~+*_!.-%"), Some(Some("\"работающий\"")));
        assert_eq!(a.tag(), Some("_token~1'+`*%!-."));
        assert_eq!(a.to_string(), from);
        rt(&a);

        // longreq To and From
        let to = "\"I have a user name of extremeextremeextremeextremeextremeextremeextremeextremeextremeextreme proportion\"<sip:user@example.com:6000;unknownparam1=verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongvalue;longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=shortvalue;verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue>";
        let a = p(to);
        assert!(
            a.display_text()
                .unwrap()
                .starts_with("I have a user name of extreme")
        );
        assert_eq!(a.uri.port, Some(6000));
        assert_eq!(a.uri.params.len(), 3);
        assert_eq!(a.uri.params[2].value, None);
        rt(&a);
        let from = "sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@example.net;tag=12982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982424;unknownheaderparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=unknowheaderparamvaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevalue;unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname";
        let a = p(from);
        assert!(a.tag().unwrap().ends_with("982424"));
        assert_eq!(a.params.len(), 3);
        assert!(a.uri.params.is_empty());
        rt(&a);

        // unksm2: other schemes, bare and bracketed
        let a = p("isbn:2983792873");
        assert_eq!(a.uri.scheme, Scheme::Other);
        assert_eq!(a.uri.opaque.as_deref(), Some("2983792873"));
        rt(&a);
        let a = p("<http://www.example.com>;tag=3234233");
        assert_eq!(a.uri.scheme_raw, "http");
        assert_eq!(a.tag(), Some("3234233"));
        rt(&a);
        let a = p("<name:John_Smith>");
        assert_eq!(a.uri.opaque.as_deref(), Some("John_Smith"));
        // lwsdisp
        let a = p("caller<sip:caller@example.com>;tag=323");
        assert_eq!(a.display_name.as_deref(), Some("caller"));
        assert_eq!(a.tag(), Some("323"));
        assert_eq!(a.to_string(), "caller <sip:caller@example.com>;tag=323");
        rt(&a);
        // esc02: % in a display name is literal
        let a = p("\"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23");
        assert_eq!(a.display_text().as_deref(), Some("%Z%45"));
        rt(&a);
        // esc01
        let a = p("<sip:I%20have%20spaces@example.net>;tag=938");
        assert_eq!(&*a.uri.user_decoded().unwrap(), b"I have spaces");
        let a = p("\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>");
        assert!(a.uri.lr());
        // escnull
        let a = p("<sip:%00@host5.example.com>");
        assert_eq!(a.uri.user.as_deref(), Some("%00"));
        // regescrt: headers inside <> are fine
        let a = p("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
        assert_eq!(a.uri.headers.len(), 1);
        rt(&a);
        // scalar02 (folded contact param)
        let a = p("<sip:user@host129.example.com>\r\n  ;expires=280297596632815");
        assert_eq!(a.param("expires"), Some(Some("280297596632815")));
        // mpart01
        let a = p("<sip:127.0.0.1:5080>");
        assert_eq!(a.uri.host_port(), ("127.0.0.1", Some(5080)));
        // badvers (valid addresses in an invalid message)
        let a = p("A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe");
        assert_eq!(a.display_name.as_deref(), Some("A. Bell"));
        // inv2543
        let a = p("<sip:+13035551111@ift.client.example.net;user=phone>");
        assert_eq!(a.uri.user_param(), Some("phone"));
        let a = p("sip:+16505552222@ss1.example.net;user=phone");
        assert_eq!(a.param("user"), Some(Some("phone")));
        assert_eq!(a.uri.user_param(), None);
        // badaspec From is valid
        let a = p("\"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423");
        assert_eq!(a.display_text().as_deref(), Some("Bell, Alexander"));
    }

    #[test]
    fn torture_rejections() {
        use AddrErrorKind::*;
        // quotbal
        assert_eq!(
            err("\"Mr. J. User <sip:j.user@example.com>"),
            (Lex(LexErrorKind::UnterminatedQuote), 0)
        );
        // baddn
        assert_eq!(
            err("Bell, Alexander <sip:a.g.bell@example.com>;tag=43"),
            (BadDisplayName, 4)
        );
        assert_eq!(
            err("   Watson, Thomas <sip:t.watson@example.org>"),
            (BadDisplayName, 9)
        );
        // badaspec
        assert_eq!(
            err("\"Watson, Thomas\" < sip:t.watson@example.org >"),
            (LwsInAddrSpec, 18)
        );
        assert_eq!(err("<sip:t.watson@example.org >"), (LwsInAddrSpec, 25));
        assert_eq!(err("sip:user@example.com >"), (TrailingGarbage, 21));
        // regbadct
        assert_eq!(
            err("sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
            (NeedsAngleBrackets, 20)
        );
        // badinv01
        assert_eq!(
            err("\"Joe\" <sip:joe@example.org>;;;;"),
            (Lex(LexErrorKind::BadParamName), 28)
        );
        // ltgtruri-like doubled brackets
        assert_eq!(err("<<sip:a@b>>"), (Uri(UriErrorKind::IllegalCharacter), 1));
    }

    #[test]
    fn error_kinds_and_offsets() {
        use AddrErrorKind::*;
        assert_eq!(err(""), (Empty, 0));
        assert_eq!(err(" \t "), (Empty, 3));
        assert_eq!(err("*"), (Star, 0));
        assert_eq!(err(" * "), (Star, 1));
        assert_eq!(err("<sip:a@b:99999>"), (Uri(UriErrorKind::BadPort), 9));
        assert_eq!(err("sip:a@b:x;tag=1"), (Uri(UriErrorKind::BadPort), 8));
        assert_eq!(
            err("alan@jasomi.com"),
            (Uri(UriErrorKind::MissingScheme), 0)
        );
        assert_eq!(err("Bob"), (Uri(UriErrorKind::MissingScheme), 0));
        assert_eq!(err("<>"), (Uri(UriErrorKind::Empty), 1));
        assert_eq!(
            err("\"a\\\"<sip:a@b>"),
            (Lex(LexErrorKind::UnterminatedQuote), 0)
        );
        assert_eq!(err("\"a\x01b\" <sip:a@b>"), (BadDisplayName, 2));
        assert_eq!(err("\"a\r\nb\" <sip:a@b>"), (BadDisplayName, 2));
        assert_eq!(err("\"Bob\" sip:a@b"), (MissingUri, 6));
        assert_eq!(err("\"Bob\""), (MissingUri, 5));
        assert_eq!(err("Bob <sip:a@b"), (UnterminatedAngle, 4));
        assert_eq!(err("<sip:a@b"), (UnterminatedAngle, 0));
        assert_eq!(err("<sip:a b@c>"), (LwsInAddrSpec, 6));
        assert_eq!(err("sip:a@b?x=y"), (NeedsAngleBrackets, 7));
        assert_eq!(err("<sip:a@b> x"), (TrailingGarbage, 10));
        assert_eq!(err("<sip:a@b>, <sip:c@d>"), (TrailingGarbage, 9));
        assert_eq!(err("sip:a@b,sip:c@d"), (TrailingGarbage, 7));
        assert_eq!(
            err("<sip:a@b>;tag=1 x"),
            (Lex(LexErrorKind::BadParamName), 16)
        );
        assert_eq!(
            err("<sip:a@b>;tag="),
            (Lex(LexErrorKind::BadParamValue), 14)
        );
        assert_eq!(
            err("<sip:a@b>;x=[a b]"),
            (Lex(LexErrorKind::BadParamValue), 12)
        );
        assert_eq!(
            err("<sip:a@b>;x=\"a\x01\""),
            (Lex(LexErrorKind::BadParamValue), 12)
        );
        assert_eq!(
            err("<sip:a@b>;x=\"ab"),
            (Lex(LexErrorKind::UnterminatedQuote), 12)
        );
        assert_eq!(
            NameAddr::parse_list("a,,b").unwrap_err().kind,
            Uri(UriErrorKind::MissingScheme)
        );
        assert_eq!(
            NameAddr::parse_list("<sip:a@b>,,<sip:c@d>").unwrap_err(),
            AddrError::new(EmptyElement, 10)
        );
        for k in [
            Empty,
            Star,
            Uri(UriErrorKind::BadHost),
            Lex(LexErrorKind::BadParamName),
            BadDisplayName,
            MissingUri,
            UnterminatedAngle,
            LwsInAddrSpec,
            NeedsAngleBrackets,
            TrailingGarbage,
            EmptyElement,
        ] {
            assert!(!k.description().is_empty());
            assert_eq!(k.to_string(), k.description());
        }
        assert_eq!(
            Uri(UriErrorKind::BadHost).description(),
            "invalid host in URI"
        );
    }

    #[test]
    fn lists() {
        // wsinv-style multi-value Contact, esc02 Contacts, Route sets
        let l = NameAddr::parse_list(
            "<sip:alias1@host1.example.com>, \"Bell, Alexander\" <sip:a@b;lr>;q=0.5 ,\r\n sip:c@d;expires=60",
        )
        .unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].uri.host, "host1.example.com");
        assert_eq!(l[1].display_text().as_deref(), Some("Bell, Alexander"));
        assert!(l[1].uri.lr());
        assert_eq!(l[1].param("q"), Some(Some("0.5")));
        assert_eq!(l[2].param("expires"), Some(Some("60")));
        let l = NameAddr::parse_list("<sip:p1.example.com;lr>,<sip:p2.example.com;lr>").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].uri.host, "p2.example.com");
        // a comma inside <> does not split
        let l = NameAddr::parse_list("<sip:a,b@c>;x=\"1,2\"").unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].uri.user.as_deref(), Some("a,b"));
        assert_eq!(l[0].param("x"), Some(Some("\"1,2\"")));
        // badinv01 / errors shifted into the whole string
        let e = NameAddr::parse_list("<sip:a@b>, <sip:c@d:x>").unwrap_err();
        assert_eq!(
            e,
            AddrError::new(AddrErrorKind::Uri(UriErrorKind::BadPort), 20)
        );
        assert_eq!(
            NameAddr::parse_list("<sip:a@b>,").unwrap_err(),
            AddrError::new(AddrErrorKind::EmptyElement, 10)
        );
        assert_eq!(
            NameAddr::parse_list(" , <sip:a@b>").unwrap_err(),
            AddrError::new(AddrErrorKind::EmptyElement, 0)
        );
        assert_eq!(
            NameAddr::parse_list("  ").unwrap_err(),
            AddrError::new(AddrErrorKind::Empty, 2)
        );
        assert_eq!(
            NameAddr::parse_list("*").unwrap_err().kind,
            AddrErrorKind::Star
        );
    }

    #[test]
    fn builders_and_display() {
        let uri = Uri::sip(Some("alice"), "atlanta.com", None);
        let mut a = NameAddr::new(uri)
            .with_display_name("Alice Smith")
            .with_param("expires", Some("60"))
            .with_param("+sip.instance", Some("<urn:uuid:1>"));
        a.set_tag("abc");
        assert_eq!(
            a.to_string(),
            "Alice Smith <sip:alice@atlanta.com>;expires=60;+sip.instance=\"<urn:uuid:1>\";tag=abc"
        );
        rt(&a);
        a.set_tag("def");
        assert_eq!(a.tag(), Some("def"));
        assert_eq!(a.params.len(), 3);

        let a = NameAddr::new(Uri::sip(Some("b"), "h", None)).with_display_name("Smith, \"Bob\"\\");
        assert_eq!(
            a.display_name.as_deref(),
            Some("\"Smith, \\\"Bob\\\"\\\\\"")
        );
        assert_eq!(a.display_text().as_deref(), Some("Smith, \"Bob\"\\"));
        rt(&a);
        let a = NameAddr::new(Uri::sip(None, "h", None)).with_display_name("a\r\nb\x07");
        assert_eq!(a.to_string(), "\"a  b\\\x07\" <sip:h>");
        rt(&a);
        let a = NameAddr::new(Uri::sip(None, "h", None)).with_display_name("");
        assert_eq!(a.to_string(), "\"\" <sip:h>");
        rt(&a);

        // Hand-set fields that are not valid wire text get quoted or dropped.
        let mut a = NameAddr::new(Uri::sip(None, "h", None));
        a.display_name = Some(Cow::Borrowed("Bell, Alexander"));
        a.params.push(Param::new("x y", Some(Cow::Borrowed("v"))));
        a.params.push(Param::new("z", Some(Cow::Borrowed("a b"))));
        assert_eq!(a.to_string(), "\"Bell, Alexander\" <sip:h>;z=\"a b\"");
        assert!(NameAddr::parse(&a.to_string()).is_ok());
    }

    #[test]
    fn into_owned_detaches() {
        let s = String::from("\"A\" <sip:a@b;lr>;tag=1");
        let a: NameAddr<'static> = p(&s).into_owned();
        drop(s);
        assert_eq!(a.to_string(), "\"A\" <sip:a@b;lr>;tag=1");
        assert_eq!(a.tag(), Some("1"));
    }

    #[test]
    fn corpus_headers_round_trip() {
        for v in [
            "Bob <sip:bob@biloxi.com>;tag=2493k59kd",
            "<sip:user@example.edu>;tag=902jndnke3",
            "sip:j.user@example.com",
            "sip:user@example.com;tag=3xfe-9921883-z9f",
            "\"Joe\" <sip:joe@example.org>",
            "<sip:bob@client.biloxi.example.com;transport=tcp>",
            "<sip:UserB@example.com;maddr=ss1.example.com>",
            "<sip:[2001:db8::10]:5070>;received=[2001:db8::9]",
        ] {
            rt(&p(v));
        }
    }

    #[test]
    fn never_panics_on_prefixes_and_suffixes() {
        let samples = [
            "\"Jörg \\\"Ü\\\" Müller\" <sip:jörg@exämple.com;lr>;tag=ä;x=\"ü\"",
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam=\"работающий\";tag=1",
            "<sip:a@b>, \"x,y\" <sip:c@[::1]:5>;q=0.1 , sip:e@f;expires=3",
            "\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7F\" <im:a@b>",
            "  \"\\",
        ];
        for s in samples {
            for i in 0..=s.len() {
                for part in [s.get(..i), s.get(i..)].into_iter().flatten() {
                    if let Ok(a) = NameAddr::parse(part) {
                        rt(&a);
                        let _ = a.display_text();
                    }
                    if let Ok(l) = NameAddr::parse_list(part) {
                        for a in &l {
                            rt(a);
                        }
                    }
                }
            }
        }
    }
}
