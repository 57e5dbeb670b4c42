//! The `msrpgw` executable: argument handling only; the work lives in the
//! library.

use std::path::Path;
use std::process::ExitCode;

use msrpgw::config::{Config, Diagnostic};

const USAGE: &str = "\
usage: msrpgw --config PATH
       msrpgw --check-config PATH
       msrpgw --version | --help

Gateway between SIP MESSAGE (RFC 3428) and MSRP sessions (RFC 4975).
See msrpgw(8) and msrpgw.toml(5).";

/// Exit code for a usage error.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["--version" | "-V"] => {
            println!("msrpgw {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["--check-config", path] => check_config(Path::new(path)),
        ["--config", path] => run(Path::new(path)),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// `--check-config`: every diagnostic on stderr; 0 unless there is an error.
fn check_config(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok((_, warnings)) => {
            print_diagnostics(&warnings);
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            ExitCode::FAILURE
        }
    }
}

fn run(path: &Path) -> ExitCode {
    let (config, warnings) = match Config::load(path) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    print_diagnostics(&warnings);
    msrpgw::logging::init(config.log.level);
    match msrpgw::gateway::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("msrpgw: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}
