//! The rules of msrpgw.toml(5): from the spanned tree to a typed
//! [`Config`], every problem recorded with its position.
//!
//! Owns: unknown sections and keys, types and ranges (read from
//! `keys.rs`), the meaning of each string (listeners, hosts, URIs, media
//! types, paths, levels), the rules between keys (T1 <= T2, credentials only
//! with a relay, `tls:` needs `[tls]`, no two listeners on one address), and
//! the warnings that need no file system.
//!
//! Must not: read files, stop at the first problem, or panic on any text.
//! A bad value is reported and replaced by its default so checking goes on;
//! the caller refuses the result when any error was recorded.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys::{self, KeySpec, Kind, SECTIONS};
use super::tree::{self, Document, Entry, Section, SectionBody, Span, Value};
use super::{
    Config, Credentials, Diagnostic, GatewayConfig, Host, ListenSpec, LogConfig, MsrpConfig, Relay,
    RoutingConfig, Severity, SipConfig, StatusConfig, TlsConfig, Transport,
};
use crate::proto::lex;
use crate::proto::msrp::MsrpUri;
use crate::proto::sip::uri::{Scheme as SipScheme, Uri};

/// What [`check`] found: a configuration (with defaults where values were
/// bad; only usable when `diagnostics` has no error), and the positions
/// [`Config::load`] needs for its file-system warnings.
pub(super) struct Checked {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    pub certificate_span: Option<Span>,
    pub private_key_span: Option<Span>,
}

/// Checks `text`; `file` names it in diagnostics and anchors relative paths.
pub(super) fn check(text: &str, file: &Path) -> Checked {
    match tree::parse(text) {
        Ok(doc) => check_document(&doc, text, file),
        Err(e) => {
            let mut c = Checker::new(text, file);
            let at = e.span.map_or(0, |s| s.start);
            c.error(at, format!("invalid TOML: {}", e.message));
            let empty = Document {
                sections: Vec::new(),
            };
            let mut checked = check_document(&empty, "", file);
            checked.diagnostics = c.diags;
            checked
        }
    }
}

/// Every key at its default, with the given listeners.
pub(super) fn defaults_with_listeners(sip: Vec<ListenSpec>, msrp: Vec<ListenSpec>) -> Config {
    let empty = Document {
        sections: Vec::new(),
    };
    let mut config = check_document(&empty, "", Path::new("")).config;
    config.sip.listen = sip;
    config.msrp.listen = msrp;
    config
}

fn check_document(doc: &Document, text: &str, file: &Path) -> Checked {
    let mut c = Checker::new(text, file);
    c.doc = Some(doc);
    c.structure();
    let config = c.build();
    Checked {
        config,
        diagnostics: c.diags,
        certificate_span: c.certificate_span,
        private_key_span: c.private_key_span,
    }
}

/// The outcome of reading one key.
enum Got<T> {
    /// Not in the file: the default applies.
    Absent,
    /// In the file but wrong; the error is recorded.
    Invalid,
    /// In the file and valid, written at the span.
    Set(T, Span),
}

impl<T> Got<T> {
    fn or(self, default: T) -> T {
        match self {
            Got::Set(v, _) => v,
            Got::Absent | Got::Invalid => default,
        }
    }

    fn set(self) -> Option<(T, Span)> {
        match self {
            Got::Set(v, s) => Some((v, s)),
            Got::Absent | Got::Invalid => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Got<U> {
        match self {
            Got::Set(v, s) => Got::Set(f(v), s),
            Got::Absent => Got::Absent,
            Got::Invalid => Got::Invalid,
        }
    }
}

/// One string of a list, and where it was written.
struct Item {
    index: usize,
    text: String,
    span: Span,
}

struct Checker<'a> {
    text: &'a str,
    file: &'a Path,
    doc: Option<&'a Document>,
    diags: Vec<Diagnostic>,
    certificate_span: Option<Span>,
    private_key_span: Option<Span>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str, file: &'a Path) -> Self {
        Checker {
            text,
            file,
            doc: None,
            diags: Vec::new(),
            certificate_span: None,
            private_key_span: None,
        }
    }

    fn push(&mut self, severity: Severity, offset: usize, message: String) {
        let (line, column) = tree::line_col(self.text, offset);
        self.diags.push(Diagnostic {
            severity,
            file: self.file.to_path_buf(),
            line,
            column,
            message,
        });
    }

    fn error(&mut self, offset: usize, message: String) {
        self.push(Severity::Error, offset, message);
    }

    fn warning(&mut self, offset: usize, message: String) {
        self.push(Severity::Warning, offset, message);
    }

    /// Offset of byte `at` of string value `s` written at `span`: exact when
    /// the TOML string has no escapes (the text between the quotes is `s`),
    /// else the start of the value.
    fn offset_in(&self, span: &Span, s: &str, at: usize) -> usize {
        let inner = self
            .text
            .get(span.clone())
            .and_then(|raw| raw.get(1..raw.len().saturating_sub(1)));
        if inner == Some(s) && at <= s.len() {
            span.start + 1 + at
        } else {
            span.start
        }
    }

    fn section(&self, name: &str) -> Option<&'a Section> {
        self.doc?.sections.iter().find(|s| s.name == name)
    }

    fn entries(&self, section: &str) -> Option<&'a [Entry]> {
        match &self.section(section)?.body {
            SectionBody::Table(e) => Some(e),
            SectionBody::NotTable(_) => None,
        }
    }

    fn entry(&self, k: &KeySpec) -> Option<&'a Entry> {
        self.entries(k.section)?.iter().find(|e| e.key == k.name)
    }

    // -----------------------------------------------------------------------
    // Structure: sections and keys that exist, required ones present.

    fn structure(&mut self) {
        let Some(doc) = self.doc else { return };
        let known_sections = SECTIONS
            .iter()
            .map(|(s, _)| format!("[{s}]"))
            .collect::<Vec<_>>()
            .join(", ");
        for section in &doc.sections {
            let at = section.name_span.start;
            if !SECTIONS.iter().any(|(s, _)| *s == section.name) {
                self.error(
                    at,
                    format!(
                        "unknown section [{}]; expected one of {known_sections}",
                        section.name
                    ),
                );
                continue;
            }
            match &section.body {
                SectionBody::NotTable(kind) => self.error(
                    at,
                    format!(
                        "`{0}`: found {kind}; expected a table ([{0}])",
                        section.name
                    ),
                ),
                SectionBody::Table(entries) => {
                    for e in entries {
                        if keys::lookup(&section.name, &e.key).is_none() {
                            let msg = unknown_key_message(&section.name, &e.key);
                            self.error(e.key_span.start, msg);
                        }
                    }
                    for k in keys::KEYS.iter().filter(|k| k.section == section.name) {
                        if k.required && !entries.iter().any(|e| e.key == k.name) {
                            self.error(
                                at,
                                format!("[{}] has no `{}`, which is required", k.section, k.name),
                            );
                        }
                    }
                }
            }
        }
        for (name, required) in SECTIONS {
            if *required && self.section(name).is_none() {
                let needs: Vec<&str> = keys::KEYS
                    .iter()
                    .filter(|k| k.section == *name && k.required)
                    .map(|k| k.name)
                    .collect();
                self.error(
                    0,
                    format!(
                        "missing section [{name}]; it is required (with `{}`)",
                        needs.join("`, `")
                    ),
                );
            }
        }
    }

    // -----------------------------------------------------------------------
    // One key, by kind.

    fn int(&mut self, k: &KeySpec) -> Got<i64> {
        let Kind::Integer { min, max, .. } = k.kind else {
            return Got::Absent;
        };
        let Some(e) = self.entry(k) else {
            return Got::Absent;
        };
        let expected = format!("expected an integer from {min} to {max}");
        match e.value.value {
            Value::Integer(n) if (min..=max).contains(&n) => Got::Set(n, e.value.span.clone()),
            Value::Integer(n) => {
                self.error(
                    e.value.span.start,
                    format!("{}: found {n}; {expected}", k.path()),
                );
                Got::Invalid
            }
            ref other => {
                self.error(
                    e.value.span.start,
                    format!("{}: found {}; {expected}", k.path(), other.kind()),
                );
                Got::Invalid
            }
        }
    }

    /// An integer key's value or default (its range makes the cast exact).
    fn u32(&mut self, k: &KeySpec) -> u32 {
        let n = self.int(k).or(int_default(k));
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn u64(&mut self, k: &KeySpec) -> u64 {
        let n = self.int(k).or(int_default(k));
        u64::try_from(n).unwrap_or(0)
    }

    /// A non-empty string.
    fn string(&mut self, k: &KeySpec, expected: &str) -> Got<String> {
        let Some(e) = self.entry(k) else {
            return Got::Absent;
        };
        match &e.value.value {
            Value::String(s) if !s.is_empty() => Got::Set(s.clone(), e.value.span.clone()),
            other => {
                let found = match other {
                    Value::String(_) => "an empty string",
                    v => v.kind(),
                };
                self.error(
                    e.value.span.start,
                    format!("{}: found {found}; expected {expected}", k.path()),
                );
                Got::Invalid
            }
        }
    }

    /// A non-empty array of strings; items of another type are reported and
    /// left out.
    fn strings(&mut self, k: &KeySpec, expected: &str) -> Got<Vec<Item>> {
        let Some(e) = self.entry(k) else {
            return Got::Absent;
        };
        let Value::Array(nodes) = &e.value.value else {
            self.error(
                e.value.span.start,
                format!(
                    "{}: found {}; expected an array of {expected}",
                    k.path(),
                    e.value.value.kind()
                ),
            );
            return Got::Invalid;
        };
        if nodes.is_empty() {
            self.error(
                e.value.span.start,
                format!(
                    "{}: found an empty array; expected at least one {expected}",
                    k.path()
                ),
            );
            return Got::Invalid;
        }
        let mut items = Vec::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            match &node.value {
                Value::String(s) => items.push(Item {
                    index,
                    text: s.clone(),
                    span: node.span.clone(),
                }),
                other => self.error(
                    node.span.start,
                    format!(
                        "{}[{index}]: found {}; expected {expected}",
                        k.path(),
                        other.kind()
                    ),
                ),
            }
        }
        Got::Set(items, e.value.span.clone())
    }

    fn choice(&mut self, k: &KeySpec) -> Got<&'static str> {
        let Kind::Choice { choices, .. } = k.kind else {
            return Got::Absent;
        };
        let expected = format!(
            "one of {}",
            choices
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match self.string(k, &expected) {
            Got::Set(s, span) => match choices.iter().find(|c| **c == s) {
                Some(c) => Got::Set(*c, span),
                None => {
                    self.error(
                        span.start,
                        format!("{}: found \"{s}\"; expected {expected}", k.path()),
                    );
                    Got::Invalid
                }
            },
            Got::Absent => Got::Absent,
            Got::Invalid => Got::Invalid,
        }
    }

    // -----------------------------------------------------------------------
    // Values with a meaning.

    fn listeners(&mut self, k: &KeySpec, allowed: &[Transport]) -> Vec<(ListenSpec, Item)> {
        let forms = allowed
            .iter()
            .map(|t| format!("\"{t}:IP:PORT\""))
            .collect::<Vec<_>>();
        let forms = match forms.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        let items = match self.strings(k, &format!("listener strings {forms}")) {
            Got::Set(items, _) => items,
            Got::Absent | Got::Invalid => return Vec::new(),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let path = format!("{}[{}]", k.path(), item.index);
            match parse_listen(&item.text) {
                Ok(spec) if allowed.contains(&spec.transport) => out.push((spec, item)),
                Ok(spec) => self.error(
                    item.span.start,
                    format!(
                        "{path}: found \"{}\"; expected {forms} ({} does not run over {})",
                        item.text,
                        k.section.to_uppercase(),
                        spec.transport.as_str().to_uppercase()
                    ),
                ),
                Err((at, problem)) => {
                    let offset = self.offset_in(&item.span, &item.text, at);
                    self.error(
                        offset,
                        format!(
                            "{path}: found \"{}\"; expected {forms} ({problem})",
                            item.text
                        ),
                    );
                }
            }
        }
        out
    }

    fn advertised_host(&mut self, k: &KeySpec) -> Option<Host> {
        let expected = "a host name or an IP address";
        let (s, span) = self.string(k, expected).set()?;
        match parse_host(&s) {
            Ok(h) => Some(h),
            Err((at, problem)) => {
                let offset = self.offset_in(&span, &s, at);
                self.error(
                    offset,
                    format!(
                        "{}: found \"{s}\"; expected {expected} ({problem})",
                        k.path()
                    ),
                );
                None
            }
        }
    }

    /// Warns when a listener binds the unspecified address and no
    /// `advertised_host` says what peers should use instead.
    fn unroutable_warning(&mut self, listen: &[(ListenSpec, Item)], host_key: &KeySpec, set: bool) {
        if set {
            return;
        }
        if let Some((spec, item)) = listen.iter().find(|(l, _)| l.addr.ip().is_unspecified()) {
            let msg = format!(
                "{}[{}]: binds {} and {} is not set; peers would be given the unroutable \
                 address {} (set {})",
                host_key.section.to_owned() + ".listen",
                item.index,
                spec.addr.ip(),
                host_key.path(),
                Host::Ip(spec.addr.ip()),
                host_key.path()
            );
            self.warning(item.span.start, msg);
        }
    }

    fn accept_types(&mut self) -> Vec<String> {
        let k = &keys::MSRP_ACCEPT_TYPES;
        let expected = "media types such as \"text/plain\", \"text/*\" or \"*\"";
        let items = match self.strings(k, expected) {
            Got::Set(items, _) => items,
            Got::Absent | Got::Invalid => return list_default(k),
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            let path = format!("{}[{}]", k.path(), item.index);
            if let Err((at, problem)) = check_media_type(&item.text) {
                let offset = self.offset_in(&item.span, &item.text, at);
                self.error(
                    offset,
                    format!(
                        "{path}: found \"{}\"; expected {expected} ({problem})",
                        item.text
                    ),
                );
            } else if out.iter().any(|t| t.eq_ignore_ascii_case(&item.text)) {
                self.warning(
                    item.span.start,
                    format!("{path}: \"{}\" is listed twice", item.text),
                );
            } else {
                out.push(item.text);
            }
        }
        out
    }

    fn relay(&mut self) -> Option<Relay> {
        let k = &keys::MSRP_RELAY;
        let expected = "an MSRP relay URI such as \"msrps://relay.example.net:2855;tcp\"";
        let relay = self.string(k, expected);
        let username = self.string(&keys::MSRP_RELAY_USERNAME, "a user name");
        let password = self.string(&keys::MSRP_RELAY_PASSWORD, "a password");

        let uri = match relay {
            Got::Set(s, span) => self.relay_uri(k, &s, &span, expected).ok_or(()),
            Got::Absent => {
                for (key, got) in [
                    (&keys::MSRP_RELAY_USERNAME, &username),
                    (&keys::MSRP_RELAY_PASSWORD, &password),
                ] {
                    if let Got::Set(_, span) = got {
                        self.error(
                            span.start,
                            format!(
                                "{}: set without msrp.relay; it is only used to log in to a relay",
                                key.path()
                            ),
                        );
                    }
                }
                return None;
            }
            Got::Invalid => Err(()),
        };
        let credentials = match (username, password) {
            (Got::Set(username, _), Got::Set(password, _)) => {
                Some(Credentials { username, password })
            }
            (Got::Set(_, span), Got::Absent) => {
                self.error(
                    span.start,
                    "msrp.relay_username: set without msrp.relay_password; set both or neither"
                        .to_owned(),
                );
                None
            }
            (Got::Absent, Got::Set(_, span)) => {
                self.error(
                    span.start,
                    "msrp.relay_password: set without msrp.relay_username; set both or neither"
                        .to_owned(),
                );
                None
            }
            _ => None,
        };
        uri.ok().map(|uri| Relay { uri, credentials })
    }

    fn relay_uri(
        &mut self,
        k: &KeySpec,
        s: &str,
        span: &Span,
        expected: &str,
    ) -> Option<MsrpUri<'static>> {
        let path = k.path();
        let uri = match MsrpUri::parse(s) {
            Ok(u) => u,
            Err(e) => {
                let offset = self.offset_in(span, s, e.offset);
                self.error(
                    offset,
                    format!("{path}: found \"{s}\"; expected {expected} ({})", e.kind),
                );
                return None;
            }
        };
        if uri.session_id.is_some() {
            self.error(
                span.start,
                format!(
                    "{path}: found \"{s}\", which has a session-id; expected {expected} \
                     (a relay URI names a host, not a session)"
                ),
            );
            return None;
        }
        if !uri.transport.eq_ignore_ascii_case("tcp") {
            self.error(
                span.start,
                format!(
                    "{path}: found transport \"{}\"; expected \"tcp\" (RFC 4975 §6: MSRP and \
                     MSRPS both use ;tcp)",
                    uri.transport
                ),
            );
            return None;
        }
        Some(uri.into_owned())
    }

    fn next_hop(&mut self, k: &KeySpec) -> Option<Uri<'static>> {
        let expected = "a SIP URI such as \"sip:proxy.example.net:5060;transport=tcp\"";
        let (s, span) = self.string(k, expected).set()?;
        let path = k.path();
        let uri = match Uri::parse(&s) {
            Ok(u) => u,
            Err(e) => {
                let offset = self.offset_in(&span, &s, e.offset);
                self.error(
                    offset,
                    format!("{path}: found \"{s}\"; expected {expected} ({})", e.kind),
                );
                return None;
            }
        };
        let problem = match uri.scheme {
            SipScheme::Sip | SipScheme::Sips => None,
            _ => Some(format!("scheme \"{}\" is not sip or sips", uri.scheme_raw)),
        }
        .or_else(|| (!uri.headers.is_empty()).then(|| "a next hop takes no ?headers".to_owned()))
        .or_else(|| match uri.param("transport") {
            None => None,
            Some(None) => Some("transport has no value".to_owned()),
            Some(Some(t)) => {
                let t = t.to_ascii_lowercase();
                if !matches!(t.as_str(), "udp" | "tcp" | "tls") {
                    Some(format!("transport \"{t}\" is not udp, tcp or tls"))
                } else if uri.scheme == SipScheme::Sips && t == "udp" {
                    Some("sips needs TLS, which transport=udp contradicts".to_owned())
                } else {
                    None
                }
            }
        });
        match problem {
            Some(p) => {
                self.error(
                    span.start,
                    format!("{path}: found \"{s}\"; expected {expected} ({p})"),
                );
                None
            }
            None => Some(uri.into_owned()),
        }
    }

    /// A file path; relative ones are taken from the configuration file's
    /// directory.
    fn path(&mut self, k: &KeySpec) -> Got<PathBuf> {
        let base = self.file.parent().unwrap_or(Path::new(""));
        self.string(k, "the path of a PEM file")
            .map(|p| base.join(p))
    }

    fn socket_addr(&mut self, k: &KeySpec) -> Option<(SocketAddr, Span)> {
        let expected = "IP:PORT such as \"127.0.0.1:9090\" or \"[::1]:9090\"";
        let (s, span) = self.string(k, expected).set()?;
        match s.parse::<SocketAddr>() {
            Ok(a) => Some((a, span)),
            Err(_) => {
                self.error(
                    span.start,
                    format!("{}: found \"{s}\"; expected {expected}", k.path()),
                );
                None
            }
        }
    }

    // -----------------------------------------------------------------------
    // The whole configuration.

    fn build(&mut self) -> Config {
        use keys::*;

        let sip_listen = self.listeners(
            &SIP_LISTEN,
            &[Transport::Udp, Transport::Tcp, Transport::Tls],
        );
        let sip_host = self.advertised_host(&SIP_ADVERTISED_HOST);
        let sip_host_set = self.entry(&SIP_ADVERTISED_HOST).is_some();
        self.unroutable_warning(&sip_listen, &SIP_ADVERTISED_HOST, sip_host_set);
        let sip_max_message_bytes = self.u32(&SIP_MAX_MESSAGE_BYTES);
        let sip_max_connections = self.u32(&SIP_MAX_CONNECTIONS);
        let sip_max_transactions = self.u32(&SIP_MAX_TRANSACTIONS);
        let t1 = self.int(&SIP_T1_MS);
        let t2 = self.int(&SIP_T2_MS);
        let t4 = self.u64(&SIP_T4_MS);
        let (t1, t2) = self.timers(t1, t2);

        let msrp_listen = self.listeners(&MSRP_LISTEN, &[Transport::Tcp, Transport::Tls]);
        let msrp_host = self.advertised_host(&MSRP_ADVERTISED_HOST);
        let msrp_host_set = self.entry(&MSRP_ADVERTISED_HOST).is_some();
        self.unroutable_warning(&msrp_listen, &MSRP_ADVERTISED_HOST, msrp_host_set);
        let msrp = MsrpConfig {
            listen: Vec::new(),
            advertised_host: msrp_host,
            max_message_bytes: self.u64(&MSRP_MAX_MESSAGE_BYTES),
            chunk_size: self.u32(&MSRP_CHUNK_SIZE),
            accept_types: self.accept_types(),
            transaction_timeout: Duration::from_secs(self.u64(&MSRP_TRANSACTION_TIMEOUT_SECS)),
            max_connections: self.u32(&MSRP_MAX_CONNECTIONS),
            relay: self.relay(),
        };

        let routing = RoutingConfig {
            session_next_hop: self.next_hop(&ROUTING_SESSION_NEXT_HOP),
            pager_next_hop: self.next_hop(&ROUTING_PAGER_NEXT_HOP),
        };

        let idle = self.int(&GATEWAY_IDLE_TIMEOUT_SECS);
        if let Got::Set(0, span) = &idle {
            self.warning(
                span.start,
                "gateway.idle_timeout_secs: 0 means sessions never idle out; an abandoned \
                 session is only closed by its peer or at shutdown"
                    .to_owned(),
            );
        }
        let gateway = GatewayConfig {
            idle_timeout: Duration::from_secs(
                u64::try_from(idle.or(int_default(&GATEWAY_IDLE_TIMEOUT_SECS))).unwrap_or(0),
            ),
            max_sessions: self.u32(&GATEWAY_MAX_SESSIONS),
            session_queue_depth: self.u32(&GATEWAY_SESSION_QUEUE_DEPTH),
            shutdown_grace: Duration::from_secs(self.u64(&GATEWAY_SHUTDOWN_GRACE_SECS)),
        };

        let tls = self.tls(&sip_listen, &msrp_listen);

        let status_listen = self.socket_addr(&STATUS_LISTEN);
        self.conflicts(&sip_listen, &msrp_listen, status_listen.as_ref());

        let level = match self.choice(&LOG_LEVEL).or(choice_default(&LOG_LEVEL)) {
            "error" => log::LevelFilter::Error,
            "warn" => log::LevelFilter::Warn,
            "debug" => log::LevelFilter::Debug,
            "trace" => log::LevelFilter::Trace,
            _ => log::LevelFilter::Info,
        };

        Config {
            sip: SipConfig {
                listen: sip_listen.into_iter().map(|(l, _)| l).collect(),
                advertised_host: sip_host,
                max_message_bytes: sip_max_message_bytes,
                max_connections: sip_max_connections,
                max_transactions: sip_max_transactions,
                t1,
                t2,
                t4: Duration::from_millis(t4),
            },
            msrp: MsrpConfig {
                listen: msrp_listen.into_iter().map(|(l, _)| l).collect(),
                ..msrp
            },
            routing,
            gateway,
            tls,
            status: status_listen.map(|(listen, _)| StatusConfig { listen }),
            log: LogConfig { level },
        }
    }

    /// T1 and T2, checking RFC 3261 §17.1.2.2's `T1 <= T2` when both are
    /// valid (a bad one was already reported).
    fn timers(&mut self, t1: Got<i64>, t2: Got<i64>) -> (Duration, Duration) {
        let d1 = int_default(&keys::SIP_T1_MS);
        let d2 = int_default(&keys::SIP_T2_MS);
        let (v1, s1) = match t1 {
            Got::Set(v, s) => (Some(v), Some(s)),
            Got::Absent => (Some(d1), None),
            Got::Invalid => (None, None),
        };
        let (v2, s2) = match t2 {
            Got::Set(v, s) => (Some(v), Some(s)),
            Got::Absent => (Some(d2), None),
            Got::Invalid => (None, None),
        };
        if let (Some(a), Some(b)) = (v1, v2) {
            if a > b {
                let at = s1.or(s2).map_or(0, |s| s.start);
                self.error(
                    at,
                    format!(
                        "sip.t1_ms: found {a}, more than sip.t2_ms ({b}); expected t1_ms <= t2_ms \
                         (RFC 3261 §17.1.2.2: T2 caps the retransmit interval that starts at T1)"
                    ),
                );
            }
        }
        let ms = |v: Option<i64>, d: i64| {
            Duration::from_millis(u64::try_from(v.unwrap_or(d)).unwrap_or(0))
        };
        (ms(v1, d1), ms(v2, d2))
    }

    fn tls(
        &mut self,
        sip: &[(ListenSpec, Item)],
        msrp: &[(ListenSpec, Item)],
    ) -> Option<TlsConfig> {
        let certificate = self.path(&keys::TLS_CERTIFICATE);
        let private_key = self.path(&keys::TLS_PRIVATE_KEY);
        let first_tls = sip
            .iter()
            .map(|l| ("sip", l))
            .chain(msrp.iter().map(|l| ("msrp", l)))
            .find(|(_, (l, _))| l.transport == Transport::Tls);
        let section = self.section("tls").is_some();
        if let (Some((name, (_, item))), false) = (first_tls, section) {
            self.error(
                item.span.start,
                format!(
                    "{name}.listen[{}]: a tls: listener needs a [tls] section with certificate \
                     and private_key",
                    item.index
                ),
            );
        }
        match (certificate, private_key) {
            (Got::Set(certificate, cs), Got::Set(private_key, ks)) => {
                self.certificate_span = Some(cs);
                self.private_key_span = Some(ks);
                Some(TlsConfig {
                    certificate,
                    private_key,
                })
            }
            _ => None,
        }
    }

    /// No two listeners may bind the same transport class and address, nor
    /// the unspecified address and a specific one of its family on the same
    /// port (the second bind would fail at start-up).
    fn conflicts(
        &mut self,
        sip: &[(ListenSpec, Item)],
        msrp: &[(ListenSpec, Item)],
        status: Option<&(SocketAddr, Span)>,
    ) {
        let mut all: Vec<(String, bool, SocketAddr, usize)> = Vec::new();
        for (section, list) in [("sip", sip), ("msrp", msrp)] {
            for (l, item) in list {
                let label = format!("{section}.listen[{}]", item.index);
                all.push((
                    label,
                    l.transport == Transport::Udp,
                    l.addr,
                    item.span.start,
                ));
            }
        }
        if let Some((addr, span)) = status {
            all.push(("status.listen".to_owned(), false, *addr, span.start));
        }
        // Keyed by (is UDP, IPv6, port): the first specific and the first
        // unspecified address seen, so the check stays linear.
        let mut exact: HashMap<(bool, SocketAddr), String> = HashMap::new();
        let mut specific: HashMap<(bool, bool, u16), String> = HashMap::new();
        let mut unspecified: HashMap<(bool, bool, u16), String> = HashMap::new();
        for (label, udp, addr, at) in all {
            if addr.port() == 0 {
                continue;
            }
            let family = (udp, addr.is_ipv6(), addr.port());
            let clash = if let Some(other) = exact.get(&(udp, addr)) {
                Some(other.clone())
            } else if addr.ip().is_unspecified() {
                specific.get(&family).cloned()
            } else {
                unspecified.get(&family).cloned()
            };
            if let Some(other) = clash {
                let proto = if udp { "UDP" } else { "TCP" };
                self.error(
                    at,
                    format!(
                        "{label}: {proto} address {addr} is already bound by {other}; expected \
                         distinct addresses"
                    ),
                );
                continue;
            }
            exact.insert((udp, addr), label.clone());
            let map = if addr.ip().is_unspecified() {
                &mut unspecified
            } else {
                &mut specific
            };
            map.entry(family).or_insert(label);
        }
    }
}

fn int_default(k: &KeySpec) -> i64 {
    match k.kind {
        Kind::Integer { default, .. } => default,
        _ => 0,
    }
}

fn choice_default(k: &KeySpec) -> &'static str {
    match k.kind {
        Kind::Choice { default, .. } => default,
        _ => "",
    }
}

fn list_default(k: &KeySpec) -> Vec<String> {
    match k.kind {
        Kind::StringList { default } => default.iter().map(|s| (*s).to_owned()).collect(),
        _ => Vec::new(),
    }
}

fn unknown_key_message(section: &str, key: &str) -> String {
    if let Some(elsewhere) = keys::KEYS.iter().find(|k| k.name == key) {
        return format!(
            "unknown key `{key}` in [{section}]; it belongs in [{}]",
            elsewhere.section
        );
    }
    let known: Vec<&str> = keys::KEYS
        .iter()
        .filter(|k| k.section == section)
        .map(|k| k.name)
        .collect();
    format!(
        "unknown key `{key}` in [{section}]; expected one of: {}",
        known.join(", ")
    )
}

/// `"udp:IP:PORT"`; on error, the byte offset in `s` and what was wrong.
fn parse_listen(s: &str) -> Result<ListenSpec, (usize, String)> {
    let Some((word, addr)) = s.split_once(':') else {
        return Err((0, "no transport before ':'".to_owned()));
    };
    let transport = match word {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        _ => return Err((0, format!("unknown transport \"{word}\""))),
    };
    let at = word.len() + 1;
    match addr.parse::<SocketAddr>() {
        Ok(addr) => Ok(ListenSpec { transport, addr }),
        Err(_) => Err((
            at,
            format!(
                "\"{addr}\" is not IP:PORT; an IPv6 address goes in brackets, e.g. \
                 \"{word}:[::1]:5060\""
            ),
        )),
    }
}

/// An IP address (an IPv6 one with or without brackets) or an RFC 3261
/// §25.1 `hostname`: dot-separated labels of letters, digits and inner
/// hyphens, the last one starting with a letter.
fn parse_host(s: &str) -> Result<Host, (usize, String)> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|a| Host::Ip(IpAddr::V6(a)))
            .map_err(|_| (1, "not an IPv6 address between the brackets".to_owned()));
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(Host::Ip(a));
    }
    if s.len() > 253 {
        return Err((253, "longer than 253 characters".to_owned()));
    }
    let mut start = 0;
    let labels: Vec<&str> = s.split('.').collect();
    let last = labels.len().saturating_sub(1);
    for (n, label) in labels.iter().enumerate() {
        let b = label.as_bytes();
        if let Some(i) = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'-'))
        {
            let c = label.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err((start + i, format!("'{c}' is not allowed in a host name")));
        }
        match (b.first(), b.last()) {
            (None, _) | (_, None) => return Err((start, "empty label".to_owned())),
            (Some(b'-'), _) | (_, Some(b'-')) => {
                return Err((start, format!("label \"{label}\" starts or ends with '-'")));
            }
            (Some(f), _) if n == last && !f.is_ascii_alphabetic() => {
                return Err((
                    start,
                    format!(
                        "the last label \"{label}\" must start with a letter (or the whole is an IP address)"
                    ),
                ));
            }
            _ if b.len() > 63 => return Err((start, "label longer than 63 characters".to_owned())),
            _ => {}
        }
        start += label.len() + 1;
    }
    Ok(Host::Name(s.to_owned()))
}

/// RFC 4975 §9 `accept-type`: `"*"` or `type "/" (subtype / "*")`, both
/// tokens (media-type parameters are not supported).
fn check_media_type(s: &str) -> Result<(), (usize, String)> {
    if s == "*" {
        return Ok(());
    }
    if let Some(i) = s.find(';') {
        return Err((i, "media type parameters are not supported".to_owned()));
    }
    let Some((ty, sub)) = s.split_once('/') else {
        return Err((0, "no '/' between type and subtype".to_owned()));
    };
    if ty == "*" || !lex::is_token_str(ty) {
        return Err((0, format!("\"{ty}\" is not a media type name")));
    }
    if !lex::is_token_str(sub) {
        return Err((ty.len() + 1, format!("\"{sub}\" is not a subtype name")));
    }
    Ok(())
}
