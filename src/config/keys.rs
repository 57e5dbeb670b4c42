//! The one table of configuration sections and keys.
//!
//! Owns: which sections and keys exist, which are required, their value
//! types, integer ranges and defaults. The validator looks every key up here
//! (unknown keys are errors), reads defaults and ranges from here, and the
//! tests check msrpgw.toml(5) and `conf/msrpgw.toml` against [`KEYS`], so the
//! documentation cannot drift from what the parser accepts.
//!
//! Must not: hold rules that involve more than one key or the meaning of a
//! string (those live in `validate.rs`).

/// What a key's value must look like before its own rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max`.
    Integer { min: i64, max: i64, default: i64 },
    /// A string; no default (absent means "not set").
    String,
    /// An array of strings.
    StringList { default: &'static [&'static str] },
    /// One string out of `choices`.
    Choice {
        choices: &'static [&'static str],
        default: &'static str,
    },
}

/// One key of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// The `[section]` it belongs to.
    pub section: &'static str,
    pub name: &'static str,
    /// Must be present whenever its section is.
    pub required: bool,
    pub kind: Kind,
}

impl KeySpec {
    /// The default as it would be written in the file, or `None` when the
    /// key has none (optional strings, required keys).
    pub fn default_toml(&self) -> Option<String> {
        match self.kind {
            _ if self.required => None,
            Kind::Integer { default, .. } => Some(default.to_string()),
            Kind::String => None,
            Kind::StringList { default } => {
                let items: Vec<String> = default.iter().map(|s| format!("\"{s}\"")).collect();
                Some(format!("[{}]", items.join(", ")))
            }
            Kind::Choice { default, .. } => Some(format!("\"{default}\"")),
        }
    }

    /// `section.name`, as messages name the key.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }
}

/// The sections, in the order the documentation presents them, and whether
/// the file must have them.
pub const SECTIONS: &[(&str, bool)] = &[
    ("sip", true),
    ("msrp", true),
    ("routing", false),
    ("gateway", false),
    ("tls", false),
    ("status", false),
    ("log", false),
];

const fn int(
    section: &'static str,
    name: &'static str,
    min: i64,
    max: i64,
    default: i64,
) -> KeySpec {
    KeySpec {
        section,
        name,
        required: false,
        kind: Kind::Integer { min, max, default },
    }
}

const fn string(section: &'static str, name: &'static str) -> KeySpec {
    KeySpec {
        section,
        name,
        required: false,
        kind: Kind::String,
    }
}

const fn listen(section: &'static str) -> KeySpec {
    KeySpec {
        section,
        name: "listen",
        required: true,
        kind: Kind::StringList { default: &[] },
    }
}

const MIB: i64 = 1024 * 1024;

pub const SIP_LISTEN: KeySpec = listen("sip");
pub const SIP_ADVERTISED_HOST: KeySpec = string("sip", "advertised_host");
pub const SIP_MAX_MESSAGE_BYTES: KeySpec = int("sip", "max_message_bytes", 1024, 16 * MIB, 65536);
pub const SIP_MAX_CONNECTIONS: KeySpec = int("sip", "max_connections", 1, 1_000_000, 1024);
/// About 1.8 KiB each while alive; a UDP MESSAGE lives 64·T1 after its
/// answer, so this over 64·T1 is the sustained UDP request rate.
pub const SIP_MAX_TRANSACTIONS: KeySpec = int("sip", "max_transactions", 1024, 4_000_000, 65_536);
pub const SIP_T1_MS: KeySpec = int("sip", "t1_ms", 1, 60_000, 500);
pub const SIP_T2_MS: KeySpec = int("sip", "t2_ms", 1, 60_000, 4000);
pub const SIP_T4_MS: KeySpec = int("sip", "t4_ms", 1, 60_000, 5000);

pub const MSRP_LISTEN: KeySpec = listen("msrp");
pub const MSRP_ADVERTISED_HOST: KeySpec = string("msrp", "advertised_host");
pub const MSRP_MAX_MESSAGE_BYTES: KeySpec = int("msrp", "max_message_bytes", 1, 1024 * MIB, MIB);
/// Kamailio's MSRP relay drops frames over about 14 KB; 10240 leaves room
/// for the headers.
pub const MSRP_CHUNK_SIZE: KeySpec = int("msrp", "chunk_size", 1, 10240, 2048);
pub const MSRP_ACCEPT_TYPES: KeySpec = KeySpec {
    section: "msrp",
    name: "accept_types",
    required: false,
    kind: Kind::StringList {
        default: &["text/plain"],
    },
};
pub const MSRP_TRANSACTION_TIMEOUT_SECS: KeySpec =
    int("msrp", "transaction_timeout_secs", 1, 3600, 30);
pub const MSRP_MAX_CONNECTIONS: KeySpec = int("msrp", "max_connections", 1, 1_000_000, 10000);
pub const MSRP_RELAY: KeySpec = string("msrp", "relay");
pub const MSRP_RELAY_USERNAME: KeySpec = string("msrp", "relay_username");
pub const MSRP_RELAY_PASSWORD: KeySpec = string("msrp", "relay_password");

pub const ROUTING_SESSION_NEXT_HOP: KeySpec = string("routing", "session_next_hop");
pub const ROUTING_PAGER_NEXT_HOP: KeySpec = string("routing", "pager_next_hop");

/// One year: longer is a typo, not a policy.
pub const GATEWAY_IDLE_TIMEOUT_SECS: KeySpec =
    int("gateway", "idle_timeout_secs", 0, 31_536_000, 300);
pub const GATEWAY_MAX_SESSIONS: KeySpec = int("gateway", "max_sessions", 1, 1_000_000, 10000);
pub const GATEWAY_SESSION_QUEUE_DEPTH: KeySpec =
    int("gateway", "session_queue_depth", 1, 65536, 32);
pub const GATEWAY_SHUTDOWN_GRACE_SECS: KeySpec = int("gateway", "shutdown_grace_secs", 0, 3600, 5);

pub const TLS_CERTIFICATE: KeySpec = KeySpec {
    required: true,
    ..string("tls", "certificate")
};
pub const TLS_PRIVATE_KEY: KeySpec = KeySpec {
    required: true,
    ..string("tls", "private_key")
};

pub const STATUS_LISTEN: KeySpec = string("status", "listen");

pub const LOG_LEVEL: KeySpec = KeySpec {
    section: "log",
    name: "level",
    required: false,
    kind: Kind::Choice {
        choices: &["error", "warn", "info", "debug", "trace"],
        default: "info",
    },
};

/// Every key the parser accepts, grouped by section in [`SECTIONS`] order.
pub const KEYS: &[KeySpec] = &[
    SIP_LISTEN,
    SIP_ADVERTISED_HOST,
    SIP_MAX_MESSAGE_BYTES,
    SIP_MAX_CONNECTIONS,
    SIP_MAX_TRANSACTIONS,
    SIP_T1_MS,
    SIP_T2_MS,
    SIP_T4_MS,
    MSRP_LISTEN,
    MSRP_ADVERTISED_HOST,
    MSRP_MAX_MESSAGE_BYTES,
    MSRP_CHUNK_SIZE,
    MSRP_ACCEPT_TYPES,
    MSRP_TRANSACTION_TIMEOUT_SECS,
    MSRP_MAX_CONNECTIONS,
    MSRP_RELAY,
    MSRP_RELAY_USERNAME,
    MSRP_RELAY_PASSWORD,
    ROUTING_SESSION_NEXT_HOP,
    ROUTING_PAGER_NEXT_HOP,
    GATEWAY_IDLE_TIMEOUT_SECS,
    GATEWAY_MAX_SESSIONS,
    GATEWAY_SESSION_QUEUE_DEPTH,
    GATEWAY_SHUTDOWN_GRACE_SECS,
    TLS_CERTIFICATE,
    TLS_PRIVATE_KEY,
    STATUS_LISTEN,
    LOG_LEVEL,
];

/// The spec of `section.name`, if the parser knows it.
pub fn lookup(section: &str, name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_a_known_section_once_and_in_section_order() {
        let order = |s: &str| SECTIONS.iter().position(|(n, _)| *n == s);
        let mut last = 0;
        for (i, k) in KEYS.iter().enumerate() {
            let pos = order(k.section).unwrap_or_else(|| panic!("{} has no section", k.path()));
            assert!(pos >= last, "{} out of section order", k.path());
            last = pos;
            assert!(
                !KEYS[..i]
                    .iter()
                    .any(|o| o.section == k.section && o.name == k.name),
                "{} listed twice",
                k.path()
            );
        }
        for (s, _) in SECTIONS {
            assert!(KEYS.iter().any(|k| k.section == *s), "[{s}] has no keys");
        }
    }

    #[test]
    fn integer_defaults_are_in_range() {
        for k in KEYS {
            if let Kind::Integer { min, max, default } = k.kind {
                assert!(min <= default && default <= max, "{}", k.path());
            }
            if let Kind::Choice { choices, default } = k.kind {
                assert!(choices.contains(&default), "{}", k.path());
            }
        }
    }

    #[test]
    fn default_toml_text() {
        assert_eq!(SIP_T1_MS.default_toml().as_deref(), Some("500"));
        assert_eq!(SIP_LISTEN.default_toml(), None);
        assert_eq!(MSRP_RELAY.default_toml(), None);
        assert_eq!(
            MSRP_ACCEPT_TYPES.default_toml().as_deref(),
            Some("[\"text/plain\"]")
        );
        assert_eq!(LOG_LEVEL.default_toml().as_deref(), Some("\"info\""));
        assert_eq!(lookup("msrp", "chunk_size"), Some(&MSRP_CHUNK_SIZE));
        assert_eq!(lookup("sip", "chunk_size"), None);
    }
}
