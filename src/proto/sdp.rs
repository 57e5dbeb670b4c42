//! SDP session descriptions (RFC 4566) with the MSRP media attributes
//! (RFC 4975 §8, RFC 6135 `a=setup`/`a=connection` via RFC 4145, RFC 6714
//! `a=msrp-cema`).
//!
//! Owns: splitting an SDP body into lines, typed `o=`, `c=`, `t=`, `m=`
//! lines and the attributes msrpgw acts on (`a=path`, `a=accept-types`,
//! `a=accept-wrapped-types`, `a=max-size`, `a=setup`, `a=connection`,
//! `a=msrp-cema`, direction flags); every other line and attribute is kept
//! verbatim and in order so an answer or a relayed offer loses nothing.
//! [`SessionDescription::validate_msrp`] tells a gateway whether an offer or
//! answer is usable; [`MsrpSdpBuilder`] builds the one msrpgw sends.
//!
//! Must not: parse MSRP URIs (a=path values stay raw strings; the MSRP URI
//! module parses them), decide offer/answer policy (who connects, which
//! types to accept), or read clocks (session id and version are arguments).
//!
//! The parser is tolerant on structure, because real offers and the RFCs'
//! own examples omit lines: `v=`/`o=`/`s=`/`t=` may be missing (RFC 4975
//! Figure 1 fragments, RFC 7701 without `t=`), any media type and protocol
//! is accepted (the RFC 4145 `m=image` fragments, the pre-RFC 4975
//! `m=message 7394 cpim/tcp text/plain text/html` line), a space after an
//! attribute's colon is skipped (RFC 4976 §11 prints `a=accept-types: ...`),
//! bare LF line ends and empty lines are accepted. It is strict where a
//! wrong guess would matter: every non-empty line must have the `x=` form,
//! and a known attribute with a malformed value is an error, not silently
//! dropped.

use std::borrow::Cow;
use std::fmt;

use super::ParseError;
use super::lex::{fields, is_token, parse_decimal, trim_wsp};

/// What was wrong in an SDP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpErrorKind {
    /// The body is not UTF-8 (RFC 4566 §5: text fields are UTF-8 by default).
    InvalidUtf8,
    /// A non-empty line that does not start with a letter and `=`.
    BadLine,
    /// A NUL or a CR that does not end the line.
    BadCharacter,
    /// `o=` without its six fields.
    BadOrigin,
    /// `o=` session id or version that is not a decimal number.
    BadSessionNumber,
    /// `c=` without nettype, addrtype and address.
    BadConnection,
    /// `t=` without two decimal times.
    BadTiming,
    /// `m=` without media, port and protocol.
    BadMediaLine,
    /// `m=` port (or port count) that is not a number up to 65535.
    BadPort,
    /// `a=` with an empty or non-token attribute name.
    BadAttributeName,
    /// A known attribute that needs a value (`a=path`, `a=setup`, ...) has none.
    MissingAttributeValue,
    /// `a=max-size` value that is not a decimal number.
    BadMaxSize,
    /// `a=setup` value other than active, passive, actpass, holdconn.
    BadSetup,
    /// `a=connection` value other than new, existing.
    BadConnectionMode,
}

impl SdpErrorKind {
    pub const fn description(self) -> &'static str {
        match self {
            SdpErrorKind::InvalidUtf8 => "SDP is not valid UTF-8",
            SdpErrorKind::BadLine => "SDP line is not of the form <letter>=<value>",
            SdpErrorKind::BadCharacter => "NUL or stray CR in SDP line",
            SdpErrorKind::BadOrigin => "o= line does not have six fields",
            SdpErrorKind::BadSessionNumber => "o= session id or version is not a number",
            SdpErrorKind::BadConnection => "c= line does not have nettype, addrtype and address",
            SdpErrorKind::BadTiming => "t= line does not have two decimal times",
            SdpErrorKind::BadMediaLine => "m= line does not have media, port and protocol",
            SdpErrorKind::BadPort => "m= port is not a number up to 65535",
            SdpErrorKind::BadAttributeName => "a= attribute name is empty or not a token",
            SdpErrorKind::MissingAttributeValue => "a= attribute requires a value",
            SdpErrorKind::BadMaxSize => "a=max-size is not a decimal number",
            SdpErrorKind::BadSetup => "a=setup is not active, passive, actpass or holdconn",
            SdpErrorKind::BadConnectionMode => "a=connection is not new or existing",
        }
    }
}

impl fmt::Display for SdpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

pub type SdpError = ParseError<SdpErrorKind>;

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    pub username: Cow<'a, str>,
    pub session_id: u64,
    pub session_version: u64,
    pub net_type: Cow<'a, str>,
    pub addr_type: Cow<'a, str>,
    pub address: Cow<'a, str>,
}

impl Origin<'_> {
    pub fn into_owned(self) -> Origin<'static> {
        Origin {
            username: owned(self.username),
            session_id: self.session_id,
            session_version: self.session_version,
            net_type: owned(self.net_type),
            addr_type: owned(self.addr_type),
            address: owned(self.address),
        }
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 4566 §5.7). The
/// address is kept as written (it may carry `/ttl` or `/count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection<'a> {
    pub net_type: Cow<'a, str>,
    pub addr_type: Cow<'a, str>,
    pub address: Cow<'a, str>,
}

impl<'a> Connection<'a> {
    /// `IN IP4 <address>` or `IN IP6 <address>`.
    pub fn internet(addr_type: AddrType, address: impl Into<Cow<'a, str>>) -> Self {
        Connection {
            net_type: Cow::Borrowed("IN"),
            addr_type: Cow::Borrowed(addr_type.as_str()),
            address: address.into(),
        }
    }

    pub fn into_owned(self) -> Connection<'static> {
        Connection {
            net_type: owned(self.net_type),
            addr_type: owned(self.addr_type),
            address: owned(self.address),
        }
    }
}

/// Address family for `c=` and `o=` (RFC 4566 §5.7 `addrtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrType {
    Ip4,
    Ip6,
}

impl AddrType {
    pub const fn as_str(self) -> &'static str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
        }
    }
}

/// `t=<start-time> <stop-time>` (RFC 4566 §5.9), NTP seconds; `0 0` means
/// an unbounded session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 4566 §5.14).
/// For MSRP: `m=message <port> TCP/MSRP *` (RFC 4975 §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media<'a> {
    pub media: Cow<'a, str>,
    pub port: u16,
    pub port_count: Option<u16>,
    pub proto: Cow<'a, str>,
    pub formats: Vec<Cow<'a, str>>,
}

impl Media<'_> {
    pub fn into_owned(self) -> Media<'static> {
        Media {
            media: owned(self.media),
            port: self.port,
            port_count: self.port_count,
            proto: owned(self.proto),
            formats: owned_vec(self.formats),
        }
    }
}

/// RFC 4145 §4 `a=setup` role (used by MSRP per RFC 6135).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Active,
    Passive,
    ActPass,
    HoldConn,
}

impl Setup {
    pub const fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// Role names are tokens; compared case-insensitively to be lenient
    /// with peers that capitalise them.
    pub fn from_token(s: &str) -> Option<Setup> {
        [
            Setup::Active,
            Setup::Passive,
            Setup::ActPass,
            Setup::HoldConn,
        ]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }
}

/// RFC 4145 §5 `a=connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionMode {
    New,
    Existing,
}

impl ConnectionMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionMode::New => "new",
            ConnectionMode::Existing => "existing",
        }
    }
}

/// Media direction flags (RFC 4566 §6). A media-level flag overrides the
/// session-level one; without either the stream is `sendrecv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_name(s: &str) -> Option<Direction> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// One `a=` line (RFC 4566 §5.13), typed when msrpgw acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// `a=path:` MSRP URIs, SP-separated, relay first (RFC 4975 §8.2).
    Path(Vec<Cow<'a, str>>),
    /// `a=accept-types:` MIME types or `*` (RFC 4975 §8.6).
    AcceptTypes(Vec<Cow<'a, str>>),
    /// `a=accept-wrapped-types:` (RFC 4975 §8.6).
    AcceptWrappedTypes(Vec<Cow<'a, str>>),
    /// `a=max-size:` in octets (RFC 4975 §8.6).
    MaxSize(u64),
    /// `a=setup:` (RFC 4145 §4, RFC 6135).
    Setup(Setup),
    /// `a=connection:` (RFC 4145 §5).
    Connection(ConnectionMode),
    /// `a=msrp-cema` flag (RFC 6714 §4).
    MsrpCema,
    /// `a=sendrecv` / `a=sendonly` / `a=recvonly` / `a=inactive`.
    Direction(Direction),
    /// Anything else, verbatim: `a=fingerprint:...`, `a=file-selector`, ...
    /// `value` is what follows the first `:`, `None` for a flag.
    Other {
        name: Cow<'a, str>,
        value: Option<Cow<'a, str>>,
    },
}

impl<'a> Attribute<'a> {
    /// The attribute name as it appears after `a=`.
    pub fn name(&self) -> &str {
        match self {
            Attribute::Path(_) => "path",
            Attribute::AcceptTypes(_) => "accept-types",
            Attribute::AcceptWrappedTypes(_) => "accept-wrapped-types",
            Attribute::MaxSize(_) => "max-size",
            Attribute::Setup(_) => "setup",
            Attribute::Connection(_) => "connection",
            Attribute::MsrpCema => "msrp-cema",
            Attribute::Direction(d) => d.as_str(),
            Attribute::Other { name, .. } => name,
        }
    }

    pub fn into_owned(self) -> Attribute<'static> {
        match self {
            Attribute::Path(v) => Attribute::Path(owned_vec(v)),
            Attribute::AcceptTypes(v) => Attribute::AcceptTypes(owned_vec(v)),
            Attribute::AcceptWrappedTypes(v) => Attribute::AcceptWrappedTypes(owned_vec(v)),
            Attribute::MaxSize(n) => Attribute::MaxSize(n),
            Attribute::Setup(s) => Attribute::Setup(s),
            Attribute::Connection(c) => Attribute::Connection(c),
            Attribute::MsrpCema => Attribute::MsrpCema,
            Attribute::Direction(d) => Attribute::Direction(d),
            Attribute::Other { name, value } => Attribute::Other {
                name: owned(name),
                value: value.map(owned),
            },
        }
    }

    /// `att-field [":" att-value]` (RFC 4566 §9 `attribute`), the text after
    /// `a=`. `base` is its offset in the caller's input.
    fn parse(s: &'a str, base: usize) -> Result<Attribute<'a>, SdpError> {
        let b = s.as_bytes();
        let name_end = b.iter().position(|&c| c == b':').unwrap_or(b.len());
        let name = &s[..name_end];
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(SdpError::new(SdpErrorKind::BadAttributeName, base));
        }
        let value = (name_end < b.len()).then(|| &s[name_end + 1..]);
        let vbase = base + name_end + 1;
        let need =
            |v: Option<&'a str>| v.ok_or(SdpError::new(SdpErrorKind::MissingAttributeValue, base));
        let attr = match name {
            "path" => Attribute::Path(list(need(value)?)),
            "accept-types" => Attribute::AcceptTypes(list(need(value)?)),
            "accept-wrapped-types" => Attribute::AcceptWrappedTypes(list(need(value)?)),
            "max-size" => {
                let v = need(value)?;
                let (off, t) = trim_wsp(v);
                Attribute::MaxSize(
                    parse_decimal(t, u64::MAX)
                        .ok_or(SdpError::new(SdpErrorKind::BadMaxSize, vbase + off))?,
                )
            }
            "setup" => {
                let (off, t) = trim_wsp(need(value)?);
                Attribute::Setup(
                    Setup::from_token(t)
                        .ok_or(SdpError::new(SdpErrorKind::BadSetup, vbase + off))?,
                )
            }
            "connection" => {
                let (off, t) = trim_wsp(need(value)?);
                let mode = if t.eq_ignore_ascii_case("new") {
                    ConnectionMode::New
                } else if t.eq_ignore_ascii_case("existing") {
                    ConnectionMode::Existing
                } else {
                    return Err(SdpError::new(SdpErrorKind::BadConnectionMode, vbase + off));
                };
                Attribute::Connection(mode)
            }
            // A flag written with a value is not the flag we know: keep it
            // verbatim rather than guess.
            "msrp-cema" if value.is_none() => Attribute::MsrpCema,
            _ => match (Direction::from_name(name), value) {
                (Some(d), None) => Attribute::Direction(d),
                _ => Attribute::Other {
                    name: Cow::Borrowed(name),
                    value: value.map(Cow::Borrowed),
                },
            },
        };
        Ok(attr)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"a=");
        write_text(out, self.name());
        let items = match self {
            Attribute::Path(v) | Attribute::AcceptTypes(v) | Attribute::AcceptWrappedTypes(v) => v,
            Attribute::MaxSize(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
                return;
            }
            Attribute::Setup(s) => return write_value(out, s.as_str()),
            Attribute::Connection(c) => return write_value(out, c.as_str()),
            Attribute::MsrpCema | Attribute::Direction(_) => return,
            Attribute::Other { value, .. } => {
                if let Some(v) = value {
                    write_value(out, v);
                }
                return;
            }
        };
        out.push(b':');
        write_list(out, items);
    }
}

impl fmt::Display for Attribute<'_> {
    /// The line without `a=` and without CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out[2..]))
    }
}

/// One SDP line other than `m=`, in the order it appeared. Lines of the
/// session section and of each media section use the same type so that
/// nothing is reordered or dropped, wherever it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// `v=` as written (RFC 4566 §5.1 requires `0`).
    Version(Cow<'a, str>),
    Origin(Origin<'a>),
    /// `s=` as written; RFC 5547 prints it empty.
    SessionName(Cow<'a, str>),
    Connection(Connection<'a>),
    Timing(Timing),
    Attribute(Attribute<'a>),
    /// Any other line (`i=`, `b=`, `r=`, `z=`, `k=`, `u=`, `e=`, `p=`,
    /// unknown letters): type letter and verbatim value.
    Other {
        kind: u8,
        value: Cow<'a, str>,
    },
}

impl Line<'_> {
    pub fn into_owned(self) -> Line<'static> {
        match self {
            Line::Version(v) => Line::Version(owned(v)),
            Line::Origin(o) => Line::Origin(o.into_owned()),
            Line::SessionName(s) => Line::SessionName(owned(s)),
            Line::Connection(c) => Line::Connection(c.into_owned()),
            Line::Timing(t) => Line::Timing(t),
            Line::Attribute(a) => Line::Attribute(a.into_owned()),
            Line::Other { kind, value } => Line::Other {
                kind,
                value: owned(value),
            },
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Line::Version(v) => {
                out.extend_from_slice(b"v=");
                write_text(out, v);
            }
            Line::Origin(o) => {
                out.extend_from_slice(b"o=");
                write_field(out, &o.username);
                out.push(b' ');
                out.extend_from_slice(o.session_id.to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(o.session_version.to_string().as_bytes());
                for f in [&o.net_type, &o.addr_type, &o.address] {
                    out.push(b' ');
                    write_field(out, f);
                }
            }
            Line::SessionName(s) => {
                out.extend_from_slice(b"s=");
                write_text(out, s);
            }
            Line::Connection(c) => {
                out.extend_from_slice(b"c=");
                write_field(out, &c.net_type);
                out.push(b' ');
                write_field(out, &c.addr_type);
                out.push(b' ');
                write_field(out, &c.address);
            }
            Line::Timing(t) => {
                out.extend_from_slice(format!("t={} {}", t.start, t.stop).as_bytes());
            }
            Line::Attribute(a) => a.write(out),
            Line::Other { kind, value } => {
                out.push(if kind.is_ascii_alphabetic() {
                    *kind
                } else {
                    b'x'
                });
                out.push(b'=');
                write_text(out, value);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// A media section: its `m=` line and the lines after it up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription<'a> {
    pub media: Media<'a>,
    pub lines: Vec<Line<'a>>,
}

impl<'a> MediaDescription<'a> {
    pub fn into_owned(self) -> MediaDescription<'static> {
        MediaDescription {
            media: self.media.into_owned(),
            lines: self.lines.into_iter().map(Line::into_owned).collect(),
        }
    }

    /// The media-level attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute<'a>> {
        attributes(&self.lines)
    }

    /// The media-level `c=`, if any (see [`SessionDescription::effective_connection`]).
    pub fn connection(&self) -> Option<&Connection<'a>> {
        self.lines.iter().find_map(|l| match l {
            Line::Connection(c) => Some(c),
            _ => None,
        })
    }

    /// URIs of the first `a=path`, as written (RFC 4975 §8.2).
    pub fn path(&self) -> Option<&[Cow<'a, str>]> {
        self.attributes().find_map(|a| match a {
            Attribute::Path(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn accept_types(&self) -> Option<&[Cow<'a, str>]> {
        self.attributes().find_map(|a| match a {
            Attribute::AcceptTypes(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn accept_wrapped_types(&self) -> Option<&[Cow<'a, str>]> {
        self.attributes().find_map(|a| match a {
            Attribute::AcceptWrappedTypes(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn max_size(&self) -> Option<u64> {
        self.attributes().find_map(|a| match a {
            Attribute::MaxSize(n) => Some(*n),
            _ => None,
        })
    }

    pub fn setup(&self) -> Option<Setup> {
        self.attributes().find_map(|a| match a {
            Attribute::Setup(s) => Some(*s),
            _ => None,
        })
    }

    pub fn connection_mode(&self) -> Option<ConnectionMode> {
        self.attributes().find_map(|a| match a {
            Attribute::Connection(c) => Some(*c),
            _ => None,
        })
    }

    pub fn msrp_cema(&self) -> bool {
        self.attributes().any(|a| matches!(a, Attribute::MsrpCema))
    }

    /// The media-level direction flag, if any (the first one written).
    pub fn direction(&self) -> Option<Direction> {
        direction(&self.lines)
    }

    /// An attribute not typed by this module, by exact name: `Some(None)`
    /// for a flag, `Some(Some(value))` for `name:value`.
    pub fn other_attribute(&self, name: &str) -> Option<Option<&str>> {
        other_attribute(&self.lines, name)
    }

    /// `TCP/MSRP` or `TCP/TLS/MSRP` (RFC 4975 §8.1), compared ignoring case.
    pub fn is_msrp(&self) -> bool {
        let p = &self.media.proto;
        p.eq_ignore_ascii_case("TCP/MSRP") || p.eq_ignore_ascii_case("TCP/TLS/MSRP")
    }

    /// `TCP/TLS/MSRP` (RFC 4975 §8.1: the `msrps` scheme).
    pub fn is_tls(&self) -> bool {
        self.media.proto.eq_ignore_ascii_case("TCP/TLS/MSRP")
    }
}

/// A parsed (or built) session description: the session section's lines
/// in order, then the media sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionDescription<'a> {
    pub session: Vec<Line<'a>>,
    pub media: Vec<MediaDescription<'a>>,
}

/// Parses an SDP body (RFC 4566 §5 `session-description`, tolerantly: see
/// the module docs). The fuzzing entry point.
pub fn parse(input: &[u8]) -> Result<SessionDescription<'_>, SdpError> {
    SessionDescription::parse(input)
}

impl<'a> SessionDescription<'a> {
    /// Parses an SDP body (RFC 4566 §5 `session-description`), see [`parse`].
    pub fn parse(input: &'a [u8]) -> Result<SessionDescription<'a>, SdpError> {
        let text = std::str::from_utf8(input)
            .map_err(|e| SdpError::new(SdpErrorKind::InvalidUtf8, e.valid_up_to()))?;
        let b = text.as_bytes();
        let mut sdp = SessionDescription::default();
        let mut start = 0;
        while start < b.len() {
            let nl = b[start..].iter().position(|&c| c == b'\n');
            let end = nl.map_or(b.len(), |i| start + i);
            let next = nl.map_or(b.len(), |_| end + 1);
            let mut line_end = end;
            if line_end > start && b[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            let line = &text[start..line_end];
            if !line.is_empty() {
                sdp.push_line(line, start)?;
            }
            start = next;
        }
        Ok(sdp)
    }

    fn push_line(&mut self, line: &'a str, base: usize) -> Result<(), SdpError> {
        let b = line.as_bytes();
        if let Some(i) = b.iter().position(|&c| c == 0 || c == b'\r') {
            return Err(SdpError::new(SdpErrorKind::BadCharacter, base + i));
        }
        if b.len() < 2 || !b[0].is_ascii_alphabetic() || b[1] != b'=' {
            return Err(SdpError::new(SdpErrorKind::BadLine, base));
        }
        let kind = b[0];
        let value = &line[2..];
        let vbase = base + 2;
        let parsed = match kind {
            b'm' => {
                let media = parse_media(value, vbase)?;
                self.media.push(MediaDescription {
                    media,
                    lines: Vec::new(),
                });
                return Ok(());
            }
            b'v' => Line::Version(Cow::Borrowed(value)),
            b'o' => Line::Origin(parse_origin(value, vbase)?),
            b's' => Line::SessionName(Cow::Borrowed(value)),
            b'c' => Line::Connection(parse_connection(value, vbase)?),
            b't' => Line::Timing(parse_timing(value, vbase)?),
            b'a' => Line::Attribute(Attribute::parse(value, vbase)?),
            _ => Line::Other {
                kind,
                value: Cow::Borrowed(value),
            },
        };
        match self.media.last_mut() {
            Some(m) => m.lines.push(parsed),
            None => self.session.push(parsed),
        }
        Ok(())
    }

    pub fn into_owned(self) -> SessionDescription<'static> {
        SessionDescription {
            session: self.session.into_iter().map(Line::into_owned).collect(),
            media: self
                .media
                .into_iter()
                .map(MediaDescription::into_owned)
                .collect(),
        }
    }

    /// Writes the description, every line ending in CRLF, in stored order.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for l in &self.session {
            l.write(out);
        }
        for m in &self.media {
            out.extend_from_slice(b"m=");
            write_field(out, &m.media.media);
            out.push(b' ');
            out.extend_from_slice(m.media.port.to_string().as_bytes());
            if let Some(n) = m.media.port_count {
                out.push(b'/');
                out.extend_from_slice(n.to_string().as_bytes());
            }
            out.push(b' ');
            write_field(out, &m.media.proto);
            for f in &m.media.formats {
                out.push(b' ');
                write_field(out, f);
            }
            out.extend_from_slice(b"\r\n");
            for l in &m.lines {
                l.write(out);
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn version(&self) -> Option<&str> {
        self.session.iter().find_map(|l| match l {
            Line::Version(v) => Some(&**v),
            _ => None,
        })
    }

    pub fn origin(&self) -> Option<&Origin<'a>> {
        self.session.iter().find_map(|l| match l {
            Line::Origin(o) => Some(o),
            _ => None,
        })
    }

    pub fn session_name(&self) -> Option<&str> {
        self.session.iter().find_map(|l| match l {
            Line::SessionName(s) => Some(&**s),
            _ => None,
        })
    }

    /// The session-level `c=`.
    pub fn connection(&self) -> Option<&Connection<'a>> {
        self.session.iter().find_map(|l| match l {
            Line::Connection(c) => Some(c),
            _ => None,
        })
    }

    /// The first `t=`.
    pub fn timing(&self) -> Option<Timing> {
        self.session.iter().find_map(|l| match l {
            Line::Timing(t) => Some(*t),
            _ => None,
        })
    }

    /// Session-level attributes, in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute<'a>> {
        attributes(&self.session)
    }

    /// The session-level direction flag, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction(&self.session)
    }

    /// A session-level attribute not typed by this module, by exact name.
    pub fn other_attribute(&self, name: &str) -> Option<Option<&str>> {
        other_attribute(&self.session, name)
    }

    /// RFC 4566 §6: a media-level direction overrides the session-level
    /// one; with neither, `sendrecv`.
    pub fn effective_direction(&self, m: &MediaDescription<'_>) -> Direction {
        m.direction()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// RFC 4566 §5.7: the media-level `c=`, else the session-level one.
    pub fn effective_connection<'s>(
        &'s self,
        m: &'s MediaDescription<'a>,
    ) -> Option<&'s Connection<'a>> {
        m.connection().or_else(|| self.connection())
    }

    /// Whether this offer or answer is one a gateway can act on (RFC 4975
    /// §8): an `m=message` section with protocol `TCP/MSRP` or
    /// `TCP/TLS/MSRP`, a non-zero port, an `a=path` with at least one URI
    /// and a non-empty `a=accept-types`. Picks the first such section; on
    /// failure, the error names what the closest candidate lacked.
    pub fn validate_msrp(&self) -> Result<MsrpMedia<'_, 'a>, MsrpUsageError> {
        let mut err = MsrpUsageError::NoMessageMedia;
        for (index, m) in self.media.iter().enumerate() {
            if !m.media.media.eq_ignore_ascii_case("message") {
                continue;
            }
            if !m.is_msrp() {
                err = err.max(MsrpUsageError::NotMsrpTransport);
                continue;
            }
            if m.media.port == 0 {
                err = err.max(MsrpUsageError::PortZero);
                continue;
            }
            let path = match m.path() {
                Some(p) if !p.is_empty() => p,
                _ => {
                    err = err.max(MsrpUsageError::MissingPath);
                    continue;
                }
            };
            let accept_types = match m.accept_types() {
                Some(t) if !t.is_empty() => t,
                _ => {
                    err = err.max(MsrpUsageError::MissingAcceptTypes);
                    continue;
                }
            };
            return Ok(MsrpMedia {
                index,
                media: m,
                tls: m.is_tls(),
                path,
                accept_types,
                accept_wrapped_types: m.accept_wrapped_types().unwrap_or(&[]),
                max_size: m.max_size(),
                setup: m.setup(),
                direction: self.effective_direction(m),
                connection: self.effective_connection(m),
            });
        }
        Err(err)
    }
}

impl fmt::Display for SessionDescription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// Why an offer or answer cannot carry an MSRP session. Ordered by how far
/// the best candidate got, so the most useful reason is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MsrpUsageError {
    NoMessageMedia,
    NotMsrpTransport,
    PortZero,
    MissingPath,
    MissingAcceptTypes,
}

impl MsrpUsageError {
    pub const fn description(self) -> &'static str {
        match self {
            MsrpUsageError::NoMessageMedia => "no m=message media line",
            MsrpUsageError::NotMsrpTransport => {
                "m=message protocol is not TCP/MSRP or TCP/TLS/MSRP"
            }
            MsrpUsageError::PortZero => "m=message port is zero (stream rejected)",
            MsrpUsageError::MissingPath => "m=message without a=path",
            MsrpUsageError::MissingAcceptTypes => "m=message without a=accept-types",
        }
    }
}

impl fmt::Display for MsrpUsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for MsrpUsageError {}

/// The MSRP media section [`SessionDescription::validate_msrp`] chose, with
/// the values a gateway needs already looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsrpMedia<'s, 'a> {
    /// Index into [`SessionDescription::media`].
    pub index: usize,
    pub media: &'s MediaDescription<'a>,
    /// `TCP/TLS/MSRP`.
    pub tls: bool,
    /// Raw MSRP URIs; the last is the peer's own (RFC 4975 §8.2).
    pub path: &'s [Cow<'a, str>],
    pub accept_types: &'s [Cow<'a, str>],
    pub accept_wrapped_types: &'s [Cow<'a, str>],
    pub max_size: Option<u64>,
    /// `None`: RFC 4975 §5.4 default (the offerer connects), see RFC 6135.
    pub setup: Option<Setup>,
    pub direction: Direction,
    pub connection: Option<&'s Connection<'a>>,
}

/// What msrpgw puts in its offers and answers: one `m=message` section
/// (RFC 4975 §8, RFC 6135). The session id and version are arguments so
/// this stays a pure function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpSdpBuilder<'a> {
    /// `o=` username; `-` when there is none (RFC 4566 §5.2).
    pub username: Cow<'a, str>,
    pub session_id: u64,
    pub session_version: u64,
    /// `s=`; RFC 4566 suggests `-` when there is no name.
    pub session_name: Cow<'a, str>,
    pub addr_type: AddrType,
    /// Host or IP address for `o=` and `c=`.
    pub address: Cow<'a, str>,
    pub port: u16,
    /// `TCP/TLS/MSRP` instead of `TCP/MSRP`.
    pub tls: bool,
    pub path: Vec<Cow<'a, str>>,
    pub accept_types: Vec<Cow<'a, str>>,
    /// Written only when non-empty.
    pub accept_wrapped_types: Vec<Cow<'a, str>>,
    pub setup: Option<Setup>,
    pub max_size: Option<u64>,
    /// Extra media-level attributes written after the MSRP ones.
    pub extra: Vec<Attribute<'a>>,
}

impl<'a> MsrpSdpBuilder<'a> {
    /// The required parts; accept-types default to `message/cpim text/plain`,
    /// setup to `actpass` (what an offerer sends per RFC 6135).
    pub fn new(
        session_id: u64,
        session_version: u64,
        addr_type: AddrType,
        address: impl Into<Cow<'a, str>>,
        port: u16,
        path: Vec<Cow<'a, str>>,
    ) -> Self {
        MsrpSdpBuilder {
            username: Cow::Borrowed("-"),
            session_id,
            session_version,
            session_name: Cow::Borrowed("-"),
            addr_type,
            address: address.into(),
            port,
            tls: false,
            path,
            accept_types: vec![Cow::Borrowed("message/cpim"), Cow::Borrowed("text/plain")],
            accept_wrapped_types: Vec::new(),
            setup: Some(Setup::ActPass),
            max_size: None,
            extra: Vec::new(),
        }
    }

    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    pub fn username(mut self, u: impl Into<Cow<'a, str>>) -> Self {
        self.username = u.into();
        self
    }

    pub fn accept_types(mut self, t: Vec<Cow<'a, str>>) -> Self {
        self.accept_types = t;
        self
    }

    pub fn accept_wrapped_types(mut self, t: Vec<Cow<'a, str>>) -> Self {
        self.accept_wrapped_types = t;
        self
    }

    pub fn setup(mut self, s: Option<Setup>) -> Self {
        self.setup = s;
        self
    }

    pub fn max_size(mut self, n: Option<u64>) -> Self {
        self.max_size = n;
        self
    }

    pub fn attribute(mut self, a: Attribute<'a>) -> Self {
        self.extra.push(a);
        self
    }

    pub fn build(self) -> SessionDescription<'a> {
        let addr_type = Cow::Borrowed(self.addr_type.as_str());
        let session = vec![
            Line::Version(Cow::Borrowed("0")),
            Line::Origin(Origin {
                username: self.username,
                session_id: self.session_id,
                session_version: self.session_version,
                net_type: Cow::Borrowed("IN"),
                addr_type: addr_type.clone(),
                address: self.address.clone(),
            }),
            Line::SessionName(self.session_name),
            Line::Connection(Connection {
                net_type: Cow::Borrowed("IN"),
                addr_type,
                address: self.address,
            }),
            Line::Timing(Timing { start: 0, stop: 0 }),
        ];
        let mut lines = vec![Line::Attribute(Attribute::AcceptTypes(self.accept_types))];
        if !self.accept_wrapped_types.is_empty() {
            lines.push(Line::Attribute(Attribute::AcceptWrappedTypes(
                self.accept_wrapped_types,
            )));
        }
        if let Some(n) = self.max_size {
            lines.push(Line::Attribute(Attribute::MaxSize(n)));
        }
        lines.push(Line::Attribute(Attribute::Path(self.path)));
        if let Some(s) = self.setup {
            lines.push(Line::Attribute(Attribute::Setup(s)));
        }
        lines.extend(self.extra.into_iter().map(Line::Attribute));
        SessionDescription {
            session,
            media: vec![MediaDescription {
                media: Media {
                    media: Cow::Borrowed("message"),
                    port: self.port,
                    port_count: None,
                    proto: Cow::Borrowed(if self.tls { "TCP/TLS/MSRP" } else { "TCP/MSRP" }),
                    formats: vec![Cow::Borrowed("*")],
                },
                lines,
            }],
        }
    }
}

// ---- line grammars -------------------------------------------------------

fn list(s: &str) -> Vec<Cow<'_, str>> {
    fields(s).map(|(_, f)| Cow::Borrowed(f)).collect()
}

/// RFC 4566 §5.2 `origin-field`.
fn parse_origin(s: &str, base: usize) -> Result<Origin<'_>, SdpError> {
    let mut f = fields(s);
    let mut next = || f.next().ok_or(SdpError::new(SdpErrorKind::BadOrigin, base));
    let username = next()?.1;
    let (id_off, id) = next()?;
    let (ver_off, ver) = next()?;
    let net_type = next()?.1;
    let addr_type = next()?.1;
    let address = next()?.1;
    if let Some((off, _)) = f.next() {
        return Err(SdpError::new(SdpErrorKind::BadOrigin, base + off));
    }
    let num = |v: &str, off: usize| {
        parse_decimal(v, u64::MAX).ok_or(SdpError::new(SdpErrorKind::BadSessionNumber, base + off))
    };
    Ok(Origin {
        username: Cow::Borrowed(username),
        session_id: num(id, id_off)?,
        session_version: num(ver, ver_off)?,
        net_type: Cow::Borrowed(net_type),
        addr_type: Cow::Borrowed(addr_type),
        address: Cow::Borrowed(address),
    })
}

/// RFC 4566 §5.7 `connection-field`.
fn parse_connection(s: &str, base: usize) -> Result<Connection<'_>, SdpError> {
    let mut f = fields(s);
    let mut next = || {
        f.next()
            .map(|(_, v)| Cow::Borrowed(v))
            .ok_or(SdpError::new(SdpErrorKind::BadConnection, base))
    };
    let c = Connection {
        net_type: next()?,
        addr_type: next()?,
        address: next()?,
    };
    match f.next() {
        Some((off, _)) => Err(SdpError::new(SdpErrorKind::BadConnection, base + off)),
        None => Ok(c),
    }
}

/// RFC 4566 §5.9 `time-fields` (the `t=` line only).
fn parse_timing(s: &str, base: usize) -> Result<Timing, SdpError> {
    let mut f = fields(s);
    let mut next = || {
        f.next()
            .and_then(|(_, v)| parse_decimal(v, u64::MAX))
            .ok_or(SdpError::new(SdpErrorKind::BadTiming, base))
    };
    let t = Timing {
        start: next()?,
        stop: next()?,
    };
    match f.next() {
        Some((off, _)) => Err(SdpError::new(SdpErrorKind::BadTiming, base + off)),
        None => Ok(t),
    }
}

/// RFC 4566 §5.14 `media-field`; formats may be absent (tolerated).
fn parse_media(s: &str, base: usize) -> Result<Media<'_>, SdpError> {
    let mut f = fields(s);
    let bad = SdpError::new(SdpErrorKind::BadMediaLine, base);
    let media = f.next().ok_or(bad)?.1;
    let (port_off, port_s) = f.next().ok_or(bad)?;
    let proto = f.next().ok_or(bad)?.1;
    let port_err = SdpError::new(SdpErrorKind::BadPort, base + port_off);
    let num = |v: &str| {
        parse_decimal(v, u64::from(u16::MAX))
            .and_then(|n| u16::try_from(n).ok())
            .ok_or(port_err)
    };
    let (port, port_count) = match port_s.split_once('/') {
        Some((p, n)) => (num(p)?, Some(num(n)?)),
        None => (num(port_s)?, None),
    };
    Ok(Media {
        media: Cow::Borrowed(media),
        port,
        port_count,
        proto: Cow::Borrowed(proto),
        formats: f.map(|(_, v)| Cow::Borrowed(v)).collect(),
    })
}

// ---- lookups shared by session and media level --------------------------

fn attributes<'l, 'a>(lines: &'l [Line<'a>]) -> impl Iterator<Item = &'l Attribute<'a>> {
    lines.iter().filter_map(|l| match l {
        Line::Attribute(a) => Some(a),
        _ => None,
    })
}

fn direction(lines: &[Line<'_>]) -> Option<Direction> {
    attributes(lines).find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

fn other_attribute<'l>(lines: &'l [Line<'_>], name: &str) -> Option<Option<&'l str>> {
    attributes(lines).find_map(|a| match a {
        Attribute::Other { name: n, value } if n == name => Some(value.as_deref()),
        _ => None,
    })
}

// ---- encoding helpers ----------------------------------------------------

/// Writes free text, dropping the bytes that would end or corrupt the line
/// (CR, LF, NUL), so a built description is always valid wire form. Parsed
/// text never contains them, so round trips are unaffected.
fn write_text(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&c| c != b'\r' && c != b'\n' && c != 0));
}

/// Writes `:value`. A value that starts with SP or HTAB gets nothing
/// special: the parser keeps `Other` values verbatim.
fn write_value(out: &mut Vec<u8>, v: &str) {
    out.push(b':');
    write_text(out, v);
}

/// Writes one SP-separated field: whitespace inside would split it, so it
/// is dropped too. An empty field becomes `-` to keep the field count.
fn write_field(out: &mut Vec<u8>, s: &str) {
    let before = out.len();
    out.extend(
        s.bytes()
            .filter(|&c| !matches!(c, b'\r' | b'\n' | 0 | b' ' | b'\t')),
    );
    if out.len() == before {
        out.push(b'-');
    }
}

fn write_list(out: &mut Vec<u8>, items: &[Cow<'_, str>]) {
    let mut first = true;
    for it in items {
        let before = out.len();
        if !first {
            out.push(b' ');
        }
        let start = out.len();
        out.extend(
            it.bytes()
                .filter(|&c| !matches!(c, b'\r' | b'\n' | 0 | b' ' | b'\t')),
        );
        if out.len() == start {
            // An empty item would vanish on re-parse; drop it entirely.
            out.truncate(before);
        } else {
            first = false;
        }
    }
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn owned_vec(v: Vec<Cow<'_, str>>) -> Vec<Cow<'static, str>> {
    v.into_iter().map(owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &[u8] = b"v=0\r\n\
o=alice 2890844526 2890844527 IN IP4 alice.example.com\r\n\
s= -\r\n\
c=IN IP4 alice.example.com\r\n\
t=0 0\r\n\
m=message 7394 TCP/MSRP *\r\n\
a=accept-types:text/plain\r\n\
a=path:msrp://alice.example.com:7394/2s93i9ek2a;tcp\r\n";

    fn err(input: &[u8]) -> SdpError {
        parse(input).unwrap_err()
    }

    #[test]
    fn parses_rfc4975_offer() {
        let sdp = parse(OFFER).unwrap();
        assert_eq!(sdp.version(), Some("0"));
        let o = sdp.origin().unwrap();
        assert_eq!(o.username, "alice");
        assert_eq!(o.session_id, 2890844526);
        assert_eq!(o.session_version, 2890844527);
        assert_eq!((&*o.net_type, &*o.addr_type), ("IN", "IP4"));
        assert_eq!(o.address, "alice.example.com");
        assert_eq!(sdp.session_name(), Some(" -"));
        assert_eq!(sdp.timing(), Some(Timing { start: 0, stop: 0 }));
        let m = &sdp.media[0];
        assert_eq!(m.media.media, "message");
        assert_eq!(m.media.port, 7394);
        assert_eq!(m.media.proto, "TCP/MSRP");
        assert_eq!(m.media.formats, ["*"]);
        assert!(m.is_msrp() && !m.is_tls());
        assert_eq!(m.accept_types().unwrap(), ["text/plain"]);
        assert_eq!(
            m.path().unwrap(),
            ["msrp://alice.example.com:7394/2s93i9ek2a;tcp"]
        );
        assert_eq!(sdp.to_bytes(), OFFER);
    }

    #[test]
    fn msrp_attributes() {
        let sdp = parse(
            b"m=message 1 TCP/TLS/MSRP *\n\
a=accept-types:  message/cpim   text/plain \n\
a=accept-wrapped-types:*\n\
a=max-size:20000\n\
a=setup:ACTPASS\n\
a=connection:existing\n\
a=msrp-cema\n\
a=recvonly\n\
a=fingerprint:SHA-1 4A:AD\n\
a=sendonly:weird\n",
        )
        .unwrap();
        let m = &sdp.media[0];
        assert!(m.is_tls());
        assert_eq!(m.accept_types().unwrap(), ["message/cpim", "text/plain"]);
        assert_eq!(m.accept_wrapped_types().unwrap(), ["*"]);
        assert_eq!(m.max_size(), Some(20000));
        assert_eq!(m.setup(), Some(Setup::ActPass));
        assert_eq!(m.connection_mode(), Some(ConnectionMode::Existing));
        assert!(m.msrp_cema());
        assert_eq!(m.direction(), Some(Direction::RecvOnly));
        assert_eq!(m.other_attribute("fingerprint"), Some(Some("SHA-1 4A:AD")));
        assert_eq!(m.other_attribute("sendonly"), Some(Some("weird")));
        let bytes = sdp.to_bytes();
        assert_eq!(parse(&bytes).unwrap(), sdp);
    }

    #[test]
    fn direction_override() {
        let sdp = parse(
            b"a=sendonly\r\nm=message 1 TCP/MSRP *\r\nm=message 2 TCP/MSRP *\r\na=inactive\r\n",
        )
        .unwrap();
        assert_eq!(sdp.direction(), Some(Direction::SendOnly));
        assert_eq!(sdp.effective_direction(&sdp.media[0]), Direction::SendOnly);
        assert_eq!(sdp.effective_direction(&sdp.media[1]), Direction::Inactive);
        let bare = parse(b"m=message 1 TCP/MSRP *\r\n").unwrap();
        assert_eq!(
            bare.effective_direction(&bare.media[0]),
            Direction::SendRecv
        );
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(
            err(b"v=0\r\nhello\r\n"),
            SdpError::new(SdpErrorKind::BadLine, 5)
        );
        assert_eq!(err(b"=x"), SdpError::new(SdpErrorKind::BadLine, 0));
        assert_eq!(err(b"v"), SdpError::new(SdpErrorKind::BadLine, 0));
        assert_eq!(
            err(b"v=0\r\ns=a\rb\r\n"),
            SdpError::new(SdpErrorKind::BadCharacter, 8)
        );
        assert_eq!(err(b"s=\xff"), SdpError::new(SdpErrorKind::InvalidUtf8, 2));
        assert_eq!(
            err(b"o=a b 1 IN IP4 h\r\n").kind,
            SdpErrorKind::BadSessionNumber
        );
        assert_eq!(err(b"o=a 1 2 IN IP4\r\n").kind, SdpErrorKind::BadOrigin);
        assert_eq!(
            err(b"o=a 1 2 IN IP4 h extra\r\n"),
            SdpError::new(SdpErrorKind::BadOrigin, 17)
        );
        assert_eq!(err(b"c=IN IP4\r\n").kind, SdpErrorKind::BadConnection);
        assert_eq!(err(b"t=0\r\n").kind, SdpErrorKind::BadTiming);
        assert_eq!(err(b"t=0 x\r\n").kind, SdpErrorKind::BadTiming);
        assert_eq!(err(b"m=message\r\n").kind, SdpErrorKind::BadMediaLine);
        assert_eq!(
            err(b"m=message 65536 TCP/MSRP *\r\n"),
            SdpError::new(SdpErrorKind::BadPort, 10)
        );
        assert_eq!(
            err(b"m=message 1/x TCP/MSRP *\r\n").kind,
            SdpErrorKind::BadPort
        );
        assert_eq!(
            err(b"m=message 1 TCP/MSRP *\r\na=max-size: 12k\r\n"),
            SdpError::new(SdpErrorKind::BadMaxSize, 36)
        );
        assert_eq!(err(b"a=setup:sideways").kind, SdpErrorKind::BadSetup);
        assert_eq!(
            err(b"a=connection:old").kind,
            SdpErrorKind::BadConnectionMode
        );
        assert_eq!(err(b"a=path").kind, SdpErrorKind::MissingAttributeValue);
        assert_eq!(err(b"a=:x").kind, SdpErrorKind::BadAttributeName);
        assert_eq!(err(b"a=a b:x").kind, SdpErrorKind::BadAttributeName);
    }

    #[test]
    fn tolerant_structure() {
        // Bare LF, empty lines, missing final newline, port count, no fmt.
        let sdp = parse(b"\n\nv=0\n\nm=audio 49170/2 RTP/AVP\nb=AS:64").unwrap();
        assert_eq!(sdp.media[0].media.port_count, Some(2));
        assert!(sdp.media[0].media.formats.is_empty());
        assert_eq!(
            sdp.media[0].lines,
            [Line::Other {
                kind: b'b',
                value: Cow::Borrowed("AS:64")
            }]
        );
        assert_eq!(parse(b"").unwrap(), SessionDescription::default());
    }

    #[test]
    fn validation() {
        let ok = parse(OFFER).unwrap();
        let v = ok.validate_msrp().unwrap();
        assert_eq!(v.index, 0);
        assert!(!v.tls);
        assert_eq!(v.path.len(), 1);
        assert_eq!(v.connection.unwrap().address, "alice.example.com");
        let check = |s: &[u8]| parse(s).unwrap().validate_msrp().unwrap_err();
        assert_eq!(check(b"v=0\r\n"), MsrpUsageError::NoMessageMedia);
        assert_eq!(
            check(b"m=image 1 TCP t38\r\n"),
            MsrpUsageError::NoMessageMedia
        );
        assert_eq!(
            check(b"m=message 7394 cpim/tcp text/plain\r\n"),
            MsrpUsageError::NotMsrpTransport
        );
        assert_eq!(
            check(b"m=message 0 TCP/MSRP *\r\na=path:msrp://h/x;tcp\r\n"),
            MsrpUsageError::PortZero
        );
        assert_eq!(
            check(b"m=message 1 TCP/MSRP *\r\na=accept-types:text/plain\r\n"),
            MsrpUsageError::MissingPath
        );
        assert_eq!(
            check(b"m=message 1 TCP/MSRP *\r\na=path:  \r\n"),
            MsrpUsageError::MissingPath
        );
        assert_eq!(
            check(b"m=message 1 TCP/MSRP *\r\na=path:msrp://h/x;tcp\r\n"),
            MsrpUsageError::MissingAcceptTypes
        );
        // A later usable section is found past an unusable one.
        let two = parse(b"m=message 0 TCP/MSRP *\r\nm=message 5 TCP/TLS/MSRP *\r\na=path:msrps://h/x;tcp\r\na=accept-types:*\r\n").unwrap();
        let v = two.validate_msrp().unwrap();
        assert_eq!((v.index, v.tls), (1, true));
        assert_eq!(
            MsrpUsageError::PortZero.to_string(),
            "m=message port is zero (stream rejected)"
        );
    }

    #[test]
    fn builder_output() {
        let sdp = MsrpSdpBuilder::new(
            42,
            43,
            AddrType::Ip4,
            "192.0.2.1",
            2855,
            vec![Cow::Borrowed("msrp://192.0.2.1:2855/abc;tcp")],
        )
        .max_size(Some(1048576))
        .build();
        let bytes = sdp.to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "v=0\r\n\
o=- 42 43 IN IP4 192.0.2.1\r\n\
s=-\r\n\
c=IN IP4 192.0.2.1\r\n\
t=0 0\r\n\
m=message 2855 TCP/MSRP *\r\n\
a=accept-types:message/cpim text/plain\r\n\
a=max-size:1048576\r\n\
a=path:msrp://192.0.2.1:2855/abc;tcp\r\n\
a=setup:actpass\r\n"
        );
        assert_eq!(parse(&bytes).unwrap(), sdp);
        assert!(parse(&bytes).unwrap().validate_msrp().is_ok());

        let v6 = MsrpSdpBuilder::new(1, 1, AddrType::Ip6, "2001:db8::1", 9, vec![])
            .tls(true)
            .setup(Some(Setup::Passive))
            .accept_wrapped_types(vec![Cow::Borrowed("*")])
            .attribute(Attribute::MsrpCema)
            .build();
        let text = v6.to_string();
        assert!(text.contains("c=IN IP6 2001:db8::1\r\n"));
        assert!(text.contains("m=message 9 TCP/TLS/MSRP *\r\n"));
        assert!(
            text.contains(
                "a=accept-wrapped-types:*\r\na=path:\r\na=setup:passive\r\na=msrp-cema\r\n"
            )
        );
        assert_eq!(parse(text.as_bytes()).unwrap(), v6);
    }

    #[test]
    fn encoder_keeps_lines_intact() {
        // Hostile built values cannot inject lines or split fields.
        let sdp = MsrpSdpBuilder::new(
            1,
            2,
            AddrType::Ip4,
            "h\r\na=evil",
            1,
            vec![Cow::Borrowed("msrp://x y"), Cow::Borrowed("")],
        )
        .username("")
        .build();
        let text = sdp.to_string();
        assert!(!text.contains("\r\na=evil"));
        assert!(text.contains("o=- 1 2 IN IP4 ha=evil\r\n"));
        assert!(text.contains("a=path:msrp://xy\r\n"));
        let again = parse(text.as_bytes()).unwrap();
        assert_eq!(again.media[0].path().unwrap(), ["msrp://xy"]);
    }

    #[test]
    fn into_owned_keeps_value() {
        let owned = {
            let buf = OFFER.to_vec();
            parse(&buf).unwrap().into_owned()
        };
        assert_eq!(owned, parse(OFFER).unwrap());
    }
}
