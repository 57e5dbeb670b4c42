//! The `msrpgw` executable: argument handling only; the work lives in the
//! library.

use std::process::ExitCode;

const USAGE: &str = "\
usage: msrpgw --config PATH
       msrpgw --check-config PATH
       msrpgw --version | --help

Gateway between SIP MESSAGE (RFC 3428) and MSRP sessions (RFC 4975).
See msrpgw(8) and msrpgw.toml(5).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => {
            println!("msrpgw {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
