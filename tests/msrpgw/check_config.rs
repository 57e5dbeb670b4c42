//! `msrpgw --check-config` on the risky settings an admin should hear
//! about: each is a warning with its position, all reported in one run,
//! and the check still passes (exit 0).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn risky_settings_are_warned_about_together_and_pass() {
    let dir = std::env::temp_dir().join(format!("msrpgw-risky-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("msrpgw.toml");
    let text = "[sip]\n\
                listen = [\"udp:127.0.0.1:5060\", \"tls:127.0.0.1:5061\"]\n\
                [msrp]\n\
                listen = [\"tcp:127.0.0.1:2855\"]\n\
                [gateway]\n\
                idle_timeout_secs = 0\n\
                [tls]\n\
                certificate = \"missing-cert.pem\"\n\
                private_key = \"missing-key.pem\"\n";
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let p = path.to_str().expect("utf-8 path");
    let o = Command::new(env!("CARGO_BIN_EXE_msrpgw"))
        .args(["--check-config", p])
        .output()
        .expect("run msrpgw");
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines.iter().all(|l| l.contains(": warning: ")), "{err}");
    // The whole file first (no position), then by position.
    assert!(
        lines[0].starts_with(&format!(
            "{p}: warning: the file is world-writable (mode 666)"
        )),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("{p}:6:21: warning: gateway.idle_timeout_secs: 0")),
        "{err}"
    );
    assert!(
        lines[2].starts_with(&format!("{p}:8:15: warning: tls.certificate: cannot read ")),
        "{err}"
    );
    assert!(
        lines[3].starts_with(&format!("{p}:9:15: warning: tls.private_key: cannot read ")),
        "{err}"
    );
}

/// Every configuration under conf/ (the shipped one and the second
/// gateway of the README's trial) passes the check without a word.
#[test]
fn every_shipped_configuration_passes_silently() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("conf/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        n += 1;
        let o = Command::new(env!("CARGO_BIN_EXE_msrpgw"))
            .arg("--check-config")
            .arg(&path)
            .output()
            .expect("run msrpgw");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{}: {err}", path.display());
        assert_eq!(err, "", "{}", path.display());
    }
    assert!(n >= 2, "conf/msrpgw.toml and conf/second-gateway.toml");
}
