//! msrpgw-bench: the load generator and benchmark of a pager-mode ↔
//! session-mode gateway. It plays every peer around the gateway on
//! loopback (pager users sending and receiving MESSAGE over UDP, session
//! users answering or sending INVITEs and running MSRP endpoints, passive
//! for sessions the gateway offers, active for those the bench offers) and
//! counts what happened on the wire. It speaks only SIP and MSRP to the
//! gateway, so it can drive any RFC 3428/4975 gateway given its SIP
//! address; `--spawn` starts msrpgw itself on ephemeral ports.
//!
//! Scenarios (see `--help`): p2s, p2s-new, s2p, mixed, ramp. Progress goes
//! to stderr once a second, the final table (or JSON) to stdout.

#![forbid(unsafe_code)]

#[path = "msrpgw_bench/peers.rs"]
mod peers;
#[path = "msrpgw_bench/scenario.rs"]
mod scenario;
#[path = "msrpgw_bench/spawn.rs"]
mod spawn;
#[path = "msrpgw_bench/stats.rs"]
mod stats;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use scenario::{Plan, Scenario};
use spawn::{Gateway, GatewayOptions};

const USAGE: &str = "\
usage: msrpgw-bench SCENARIO (--spawn PATH_TO_MSRPGW | --sip IP:PORT) [options]

scenarios:
  p2s      N open sessions (set up first, one MESSAGE each), pager users send
           MESSAGEs round-robin over them at --rate for --duration
  p2s-new  every MESSAGE goes to a new session user (a session setup per
           message); the session user hangs up (BYE) after the 200
  s2p      N MSRP sessions set up by the session users (INVITE, active MSRP),
           each SEND becomes a MESSAGE to a pager user
  mixed    p2s on N/2 sessions and s2p on N/2 sessions at once, --rate split
  ramp     p2s with 1 -> 10,000 open sessions (--steps), --step-secs each,
           recording throughput, latency and gateway RSS per step

options:
  --sessions N       sessions (default 10)
  --rate R           messages offered per second; 0 = as fast as the window
                     allows (default 0)
  --window W         messages in flight at most (default 1000)
  --duration S       seconds of load (default 10)
  --size B           body bytes (default 64)
  --steps LIST       ramp steps (default 1,10,100,1000,10000)
  --step-secs S      seconds of load per ramp step (default 5)
  --drain-secs S     wait for answers after the load, at most (default 10)
  --t1-ms MS         the bench's own SIP T1 for retransmissions (default 500)
  --bind IP          local address of the bench's sockets (default 127.0.0.1)
  --spawn PATH       start this msrpgw binary on loopback ephemeral ports
  --gw-t1-ms MS      [sip] t1_ms of the spawned gateway (default 50; a UDP
                     server transaction lives 64*T1 after its answer)
  --gw-t4-ms MS      [sip] t4_ms of the spawned gateway (default 500; a UDP
                     client non-INVITE transaction lives T4 after its answer)
  --gw-log LEVEL     [log] level of the spawned gateway (default info;
                     it must log its listeners and readiness at info)
  --gw-config TEXT   TOML appended to the spawned gateway's configuration
  --sip IP:PORT      the gateway's SIP UDP address (instead of --spawn)
  --sip-tcp IP:PORT  the gateway's SIP TCP address (for --pager-tcp)
  --pager-tcp        pager users send their MESSAGEs over one TCP connection
                     (default UDP; what the gateway sends them stays UDP)
  --gateway-pid PID  sample RSS and threads of this process from /proc
  --json             print the report as JSON
  --quiet            no progress on stderr
";

struct Args {
    plan: Plan,
    spawn: Option<PathBuf>,
    sip: Option<SocketAddr>,
    sip_tcp: Option<SocketAddr>,
    pager_tcp: bool,
    t1: Duration,
    size: usize,
    json: bool,
    gw: GatewayOptions,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut it = argv.iter();
    let name = it.next().ok_or("no scenario given")?;
    let scenario = Scenario::parse(name).ok_or_else(|| format!("unknown scenario {name:?}"))?;
    let mut a = Args {
        plan: Plan {
            scenario,
            sessions: 10,
            rate: 0,
            window: 1000,
            duration: Duration::from_secs(10),
            steps: vec![1, 10, 100, 1000, 10_000],
            step_duration: Duration::from_secs(5),
            drain: Duration::from_secs(10),
            bind: IpAddr::from([127, 0, 0, 1]),
            gateway_pid: None,
            progress: true,
            pager_tcp: None,
        },
        spawn: None,
        sip: None,
        sip_tcp: None,
        pager_tcp: false,
        t1: Duration::from_millis(500),
        size: 64,
        json: false,
        gw: GatewayOptions {
            t1_ms: 50,
            t4_ms: 500,
            max_sessions: 20_000,
            queue_depth: 1024,
            log_level: "info".into(),
            extra: String::new(),
        },
    };
    fn num<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
        v.ok_or_else(|| format!("{flag} needs a value"))?
            .parse()
            .map_err(|_| format!("{flag}: not a number"))
    }
    fn secs(flag: &str, v: Option<&String>) -> Result<Duration, String> {
        let s: f64 = num(flag, v)?;
        Duration::try_from_secs_f64(s).map_err(|_| format!("{flag}: bad duration"))
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--sessions" => a.plan.sessions = num(flag, it.next())?,
            "--rate" => a.plan.rate = num(flag, it.next())?,
            "--window" => a.plan.window = num(flag, it.next())?,
            "--duration" => a.plan.duration = secs(flag, it.next())?,
            "--size" => a.size = num(flag, it.next())?,
            "--steps" => {
                let v = it.next().ok_or("--steps needs a value")?;
                a.plan.steps = v
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|_| format!("--steps: bad {s:?}")))
                    .collect::<Result<_, _>>()?;
            }
            "--step-secs" => a.plan.step_duration = secs(flag, it.next())?,
            "--drain-secs" => a.plan.drain = secs(flag, it.next())?,
            "--t1-ms" => a.t1 = Duration::from_millis(num(flag, it.next())?),
            "--bind" => a.plan.bind = num(flag, it.next())?,
            "--spawn" => a.spawn = Some(PathBuf::from(it.next().ok_or("--spawn needs a path")?)),
            "--gw-t1-ms" => a.gw.t1_ms = num(flag, it.next())?,
            "--gw-t4-ms" => a.gw.t4_ms = num(flag, it.next())?,
            "--gw-log" => a.gw.log_level = it.next().ok_or("--gw-log needs a level")?.clone(),
            "--gw-config" => a.gw.extra = it.next().ok_or("--gw-config needs text")?.clone(),
            "--sip" => a.sip = Some(num(flag, it.next())?),
            "--sip-tcp" => a.sip_tcp = Some(num(flag, it.next())?),
            "--pager-tcp" => a.pager_tcp = true,
            "--gateway-pid" => a.plan.gateway_pid = Some(num(flag, it.next())?),
            "--json" => a.json = true,
            "--quiet" => a.plan.progress = false,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if a.spawn.is_none() == a.sip.is_none() {
        return Err("give exactly one of --spawn PATH and --sip IP:PORT".into());
    }
    if let Some(max) = a.plan.steps.iter().max() {
        a.gw.max_sessions = a.gw.max_sessions.max(max + 100);
    }
    a.gw.max_sessions = a.gw.max_sessions.max(a.plan.sessions + 100);
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("msrpgw-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // ctrlc's `termination` feature: SIGTERM and SIGHUP too.
    if let Err(e) = ctrlc::set_handler(|| scenario::INTERRUPTED.store(true, Ordering::Relaxed)) {
        eprintln!("msrpgw-bench: no signal handler ({e}); an interrupted run orphans --spawn");
    }
    let gateway = match &args.spawn {
        Some(path) => match Gateway::start(path, &args.gw) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("msrpgw-bench: {e}");
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let sip = match (&gateway, args.sip) {
        (Some(g), _) => {
            args.plan.gateway_pid = args.plan.gateway_pid.or(Some(g.pid()));
            g.sip_udp
        }
        (None, Some(a)) => a,
        (None, None) => return ExitCode::from(2),
    };
    if args.pager_tcp {
        args.plan.pager_tcp = args.sip_tcp.or(gateway.as_ref().and_then(|g| g.sip_tcp));
        if args.plan.pager_tcp.is_none() {
            eprintln!("msrpgw-bench: --pager-tcp needs the gateway's SIP TCP address (--sip-tcp)");
            return ExitCode::from(2);
        }
    }
    if args.plan.progress {
        eprintln!(
            "msrpgw-bench {}: gateway sip udp:{sip}{}",
            args.plan.scenario.name(),
            gateway.as_ref().map_or(String::new(), |g| format!(
                " (pid {}, t1_ms {})",
                g.pid(),
                args.gw.t1_ms
            ))
        );
    }
    let report = scenario::run(&args.plan, sip, args.t1, args.size);
    if let Some(g) = gateway {
        g.stop();
    }
    match report {
        Ok(r) => {
            if args.json {
                match serde_json::to_string_pretty(&r) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("msrpgw-bench: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{}", r.table());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("msrpgw-bench: {e}");
            ExitCode::from(1)
        }
    }
}
