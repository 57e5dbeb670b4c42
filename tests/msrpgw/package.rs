//! The Debian package `cargo deb` builds (metadata in Cargo.toml,
//! maintainer scripts in debian/): what it holds, and, installed with
//! `dpkg -i`, that the installed msrpgw accepts the installed configuration.
//!
//! The package is built by .ci/run, which names it in MSRPGW_DEB (building
//! it here would take a release build). Without MSRPGW_DEB the test prints
//! a notice and returns, unless MSRPGW_REQUIRE_PEERS=1 (CI), which makes
//! that a failure. The install part needs root; it removes the package
//! again (`dpkg --purge`) unless msrpgw was installed before.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The package to check, or `None` (with a notice) when there is none.
fn package() -> Option<PathBuf> {
    match std::env::var_os("MSRPGW_DEB") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var("MSRPGW_REQUIRE_PEERS").as_deref() != Ok("1"),
                "MSRPGW_DEB must name the package .ci/run built (cargo deb)"
            );
            eprintln!(
                "NOTICE: MSRPGW_DEB not set; skipping the package test \
                 (cargo deb, then MSRPGW_DEB=target/debian/msrpgw_*.deb)"
            );
            None
        }
    }
}

fn is_root() -> bool {
    stdout(&run("id", &["-u"])).trim() == "0"
}

fn installed() -> bool {
    let o = run("dpkg-query", &["-W", "-f=${Status}", "msrpgw"]);
    o.status.success() && stdout(&o).contains("install ok installed")
}

#[test]
fn debian_package_contents_and_install() {
    let Some(deb) = package() else { return };
    let deb = deb.to_str().expect("utf-8 path").to_owned();

    // Contents: binary, unit, both man pages, the configuration.
    let list = run("dpkg-deb", &["-c", &deb]);
    assert!(list.status.success(), "{}", stderr(&list));
    let list = stdout(&list);
    let paths: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    for want in [
        "./usr/bin/msrpgw",
        "./usr/lib/systemd/system/msrpgw.service",
        "./usr/share/man/man8/msrpgw.8.gz",
        "./usr/share/man/man5/msrpgw.toml.5.gz",
        "./etc/msrpgw/msrpgw.toml",
    ] {
        assert!(paths.contains(&want), "{want} not in the package:\n{list}");
    }
    let conffiles = run("dpkg-deb", &["-I", &deb, "conffiles"]);
    assert_eq!(
        stdout(&conffiles).trim(),
        "/etc/msrpgw/msrpgw.toml",
        "conffiles"
    );
    let depends = stdout(&run("dpkg-deb", &["-f", &deb, "Depends"]));
    assert!(depends.contains("adduser"), "Depends: {depends}");
    let postinst = stdout(&run("dpkg-deb", &["-I", &deb, "postinst"]));
    assert!(postinst.contains("adduser --system"), "{postinst}");
    // The unit in the package is the one in the repository.
    let unit = run(
        "sh",
        &[
            "-c",
            &format!(
                "dpkg-deb --fsys-tarfile '{deb}' | tar -xO ./usr/lib/systemd/system/msrpgw.service"
            ),
        ],
    );
    let repo_unit = std::fs::read_to_string(repo_file("systemd/msrpgw.service")).expect("unit");
    assert_eq!(stdout(&unit), repo_unit, "packaged unit differs");

    // Installed.
    if !is_root() {
        eprintln!("NOTICE: not root; skipping dpkg -i of {deb}");
        return;
    }
    let was_installed = installed();
    let i = run("dpkg", &["-i", &deb]);
    let installed_now = installed();
    let result = std::panic::catch_unwind(|| {
        assert!(
            i.status.success() && installed_now,
            "dpkg -i: {}{}",
            stdout(&i),
            stderr(&i)
        );
        let user = run("getent", &["passwd", "msrpgw"]);
        assert!(user.status.success(), "no msrpgw user");
        let mode = stdout(&run("stat", &["-c", "%U:%G %a", "/etc/msrpgw/msrpgw.toml"]));
        assert_eq!(mode.trim(), "root:msrpgw 640", "configuration ownership");
        let check = run(
            "/usr/bin/msrpgw",
            &["--check-config", "/etc/msrpgw/msrpgw.toml"],
        );
        assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
        assert_eq!(stderr(&check), "", "warnings on the shipped configuration");
        let version = stdout(&run("/usr/bin/msrpgw", &["--version"]));
        assert_eq!(
            version.trim(),
            format!("msrpgw {}", env!("CARGO_PKG_VERSION"))
        );
        // The installed unit, with the installed binary and man pages.
        let verify = Command::new("systemd-analyze")
            .args([
                "verify",
                "--man=no",
                "/usr/lib/systemd/system/msrpgw.service",
            ])
            .output();
        if let Ok(v) = verify {
            assert!(
                v.status.success() && stderr(&v).trim().is_empty(),
                "systemd-analyze verify: {}",
                stderr(&v)
            );
        }
    });
    if !was_installed {
        let purge = run("dpkg", &["--purge", "msrpgw"]);
        assert!(purge.status.success(), "dpkg --purge: {}", stderr(&purge));
        assert!(!installed(), "still installed after --purge");
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
