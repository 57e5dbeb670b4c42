//! Log output: env_logger configured for a terminal or for the journal.
//!
//! Owns: the one-time logger setup. The level comes from `[log] level`;
//! `RUST_LOG`, when set, overrides it (with its per-module syntax). Under
//! systemd (`JOURNAL_STREAM` set, stderr connected to the journal) each
//! line starts with a `<N>` syslog priority (sd-daemon(3)) and carries no
//! timestamp, since the journal stamps lines itself; elsewhere lines carry
//! an RFC 3339 timestamp.
//!
//! Must not: decide what is logged (callers do), or log message bodies
//! above `trace`.

use std::io::Write;

/// Installs the logger. A second call (tests) does nothing.
pub fn init(level: log::LevelFilter) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format(|buf, record| {
            writeln!(
                buf,
                "<{}>{}: {}",
                syslog_priority(record.level()),
                record.target(),
                record.args()
            )
        });
    } else {
        builder.format_timestamp_millis();
    }
    let _ = builder.try_init();
}

/// sd-daemon(3) priorities: 3 err, 4 warning, 6 info, 7 debug.
const fn syslog_priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::syslog_priority;

    #[test]
    fn priorities_follow_sd_daemon() {
        assert_eq!(syslog_priority(log::Level::Error), 3);
        assert_eq!(syslog_priority(log::Level::Warn), 4);
        assert_eq!(syslog_priority(log::Level::Info), 6);
        assert_eq!(syslog_priority(log::Level::Trace), 7);
    }
}
