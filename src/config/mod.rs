//! The configuration: msrpgw.toml(5) read, checked and turned into a typed
//! [`Config`].
//!
//! Owns: the typed configuration every other layer reads; [`Diagnostic`]s
//! that name the file, line, column, key, what was found and what is
//! expected; reading the file and the checks that need the file system
//! (permissions of the file, readable TLS files) in [`Config::load`].
//!
//! Must not: open sockets, start threads, or act on the configuration.
//! [`Config::from_toml`] is a pure function of its text, so it can be tested
//! and fuzzed like a codec, and it never panics on any text.
//!
//! Every problem is reported at once (`msrpgw --check-config`): a TOML syntax
//! error stops everything (nothing after it can be trusted), but past that
//! each key is checked on its own, like `#[serde(deny_unknown_fields)]` that
//! keeps going. Layout:
//!
//! - `tree.rs`: TOML text → sections, keys and values with their spans;
//! - `keys.rs`: the one table of sections, keys, types, ranges and defaults;
//! - `validate.rs`: the rules, turning the tree into a [`Config`].

mod keys;
mod tree;
mod validate;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proto::msrp::MsrpUri;
use crate::proto::sip::uri::Uri;

pub use keys::{KEYS, KeySpec, Kind, SECTIONS};

/// The validated configuration. Every field is already checked: a consumer
/// never needs to re-validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub sip: SipConfig,
    pub msrp: MsrpConfig,
    pub routing: RoutingConfig,
    pub gateway: GatewayConfig,
    /// Present when the file has `[tls]`; always present when a listener
    /// uses `tls:`.
    pub tls: Option<TlsConfig>,
    /// `None`: no status endpoint.
    pub status: Option<StatusConfig>,
    pub log: LogConfig,
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// At least one; no two on the same transport and address.
    pub listen: Vec<ListenSpec>,
    /// `None`: use the address of the listener a message goes through
    /// ([`SipConfig::host_for`]).
    pub advertised_host: Option<Host>,
    /// A larger message is refused with 513 (RFC 3261 §21.5.14).
    pub max_message_bytes: u32,
    /// Inbound TCP and TLS connections at once.
    pub max_connections: u32,
    /// Live SIP transactions at once; more requests get 503.
    pub max_transactions: u32,
    /// RFC 3261 §17 timers; `t1 <= t2`.
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

/// `[msrp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpConfig {
    /// At least one, `tcp` or `tls` only.
    pub listen: Vec<ListenSpec>,
    pub advertised_host: Option<Host>,
    /// Largest message after reassembly, received or sent.
    pub max_message_bytes: u64,
    /// Size of the chunks msrpgw sends, `1..=10240`.
    pub chunk_size: u32,
    /// Media types offered in `a=accept-types`, as configured (without the
    /// `message/cpim` msrpgw always adds), at least one.
    pub accept_types: Vec<String>,
    /// How long a SEND waits for its transaction response.
    pub transaction_timeout: Duration,
    /// MSRP connections at once, both directions.
    pub max_connections: u32,
    /// An RFC 4976 relay every session goes through.
    pub relay: Option<Relay>,
}

/// `[msrp] relay`, `relay_username`, `relay_password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// `msrp://host[:port];tcp` or `msrps://...`, without session-id.
    pub uri: MsrpUri<'static>,
    /// For the relay's digest challenge (RFC 4976 §5.1).
    pub credentials: Option<Credentials>,
}

/// A user name and password; `Debug` does not print the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `[routing]`: where requests go instead of the Request-URI's host:port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoutingConfig {
    /// INVITEs toward session-mode users. A `sip:`/`sips:` URI with a host;
    /// `transport` is `udp`, `tcp` or `tls` when present.
    pub session_next_hop: Option<Uri<'static>>,
    /// MESSAGEs toward pager-mode users; same rules.
    pub pager_next_hop: Option<Uri<'static>>,
}

/// `[gateway]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Zero: sessions never idle out.
    pub idle_timeout: Duration,
    pub max_sessions: u32,
    /// Messages held per session while it is being set up.
    pub session_queue_depth: u32,
    /// How long shutdown waits for work in flight.
    pub shutdown_grace: Duration,
}

/// `[tls]`: PEM files. A relative path in the file is taken relative to the
/// directory of the configuration file; these paths are already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

/// `[status]` with `listen` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusConfig {
    pub listen: SocketAddr,
}

/// `[log]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// `RUST_LOG` overrides it.
    pub level: log::LevelFilter,
}

/// The transport of a listener, and of SIP traffic (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    /// The config and `transport=` URI parameter spelling (RFC 3261 §19.1.1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The Via transport token (RFC 3261 §20.42).
    pub const fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// Reliable transports need no retransmission (RFC 3261 §17.1.1.2).
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `"udp:IP:PORT"` / `"tcp:IP:PORT"` / `"tls:IP:PORT"` listener. Port 0
/// asks the system for a free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl fmt::Display for ListenSpec {
    /// The form the file uses: `tcp:127.0.0.1:2855`, `tls:[::1]:5061`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// A host name or an IP address, as peers should be told to reach msrpgw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An RFC 3261 §25.1 `hostname`.
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for Host {
    /// URI form: an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

impl SipConfig {
    /// The host to write in Via, Contact and SDP for traffic through
    /// `listener`: `advertised_host`, else the listener's address.
    pub fn host_for(&self, listener: &ListenSpec) -> Host {
        advertised_or(&self.advertised_host, listener)
    }
}

impl MsrpConfig {
    /// The host to write in MSRP URIs of sessions on `listener`.
    pub fn host_for(&self, listener: &ListenSpec) -> Host {
        advertised_or(&self.advertised_host, listener)
    }
}

fn advertised_or(advertised: &Option<Host>, listener: &ListenSpec) -> Host {
    advertised.clone().unwrap_or(Host::Ip(listener.addr.ip()))
}

/// How bad a [`Diagnostic`] is. Only errors make a configuration unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as named to [`Config::load`] or [`Config::from_toml`].
    pub file: PathBuf,
    /// 1-based; 0 when the problem is about the whole file (unreadable,
    /// world-writable).
    pub line: u32,
    /// 1-based, in characters; 0 with `line` 0.
    pub column: u32,
    /// Names the key, what was found and what is expected.
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    fn whole_file(severity: Severity, file: &Path, message: String) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `PATH:LINE:COL: error: MESSAGE` (`PATH: warning: MESSAGE` for the
    /// whole file), the form compilers use so editors can jump to it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        write!(f, " {}: {}", self.severity, self.message)
    }
}

/// The result of reading a configuration: the config and its warnings, or
/// every diagnostic (at least one error).
pub type LoadResult = Result<(Config, Vec<Diagnostic>), Vec<Diagnostic>>;

impl Config {
    /// Checks `text` and builds the configuration. `path` names the file in
    /// diagnostics and anchors relative `[tls]` paths; nothing is read from
    /// it. `Ok` carries the warnings; `Err` carries every error and warning,
    /// ordered by position.
    pub fn from_toml(text: &str, path: impl AsRef<Path>) -> LoadResult {
        let checked = validate::check(text, path.as_ref());
        finish(checked.config, checked.diagnostics)
    }

    /// Reads and checks the file at `path`, as [`Config::from_toml`], and
    /// adds the checks that need the file system: a world-writable
    /// configuration file, and TLS certificate or key files that cannot be
    /// read while a `tls:` listener needs them (warnings).
    pub fn load(path: impl AsRef<Path>) -> LoadResult {
        let path = path.as_ref();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                return Err(vec![Diagnostic::whole_file(
                    Severity::Error,
                    path,
                    format!("cannot read the configuration file: {e}"),
                )]);
            }
        };
        let mut file_diags = Vec::new();
        if let Some(d) = world_writable(path) {
            file_diags.push(d);
        }
        let checked = validate::check(&text, path);
        let mut diags = checked.diagnostics;
        if let Some(tls) = &checked.config.tls {
            let needs_tls = checked
                .config
                .sip
                .listen
                .iter()
                .chain(&checked.config.msrp.listen)
                .any(|l| l.transport == Transport::Tls);
            if needs_tls {
                for (file, key, span) in [
                    (
                        &tls.certificate,
                        "tls.certificate",
                        &checked.certificate_span,
                    ),
                    (
                        &tls.private_key,
                        "tls.private_key",
                        &checked.private_key_span,
                    ),
                ] {
                    if let Err(e) = std::fs::File::open(file) {
                        let (line, column) = span
                            .as_ref()
                            .map_or((0, 0), |s| tree::line_col(&text, s.start));
                        diags.push(Diagnostic {
                            severity: Severity::Warning,
                            file: path.to_path_buf(),
                            line,
                            column,
                            message: format!(
                                "{key}: cannot read {} ({e}); tls: listeners will fail to start",
                                file.display()
                            ),
                        });
                    }
                }
            }
        }
        file_diags.append(&mut diags);
        finish(checked.config, file_diags)
    }

    /// A valid configuration for tests: SIP on `udp:127.0.0.1:0` and
    /// `tcp:127.0.0.1:0`, MSRP on `tcp:127.0.0.1:0` (port 0: the system picks
    /// free ports), no status endpoint, every other key at its default. The
    /// fields are public; change what a test needs.
    pub fn default_for_tests() -> Config {
        validate::defaults_with_listeners(
            vec![
                ListenSpec {
                    transport: Transport::Udp,
                    addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                },
                ListenSpec {
                    transport: Transport::Tcp,
                    addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                },
            ],
            vec![ListenSpec {
                transport: Transport::Tcp,
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            }],
        )
    }
}

fn finish(config: Config, mut diags: Vec<Diagnostic>) -> LoadResult {
    // Stable: diagnostics at one position keep the order they were found in.
    diags.sort_by_key(|d| (d.line, d.column));
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok((config, diags))
    }
}

#[cfg(unix)]
fn world_writable(path: &Path) -> Option<Diagnostic> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o002 != 0).then(|| {
        Diagnostic::whole_file(
            Severity::Warning,
            path,
            format!(
                "the file is world-writable (mode {:03o}); any local user can change \
                 the gateway's configuration (chmod o-w)",
                mode & 0o777
            ),
        )
    })
}

#[cfg(not(unix))]
fn world_writable(_: &Path) -> Option<Diagnostic> {
    None
}

#[cfg(test)]
mod tests;
