//! `ember-top`: a terminal viewer for a running Ember node.
//!
//! ```text
//! ember-top [--interval SECS] [--write] ADDR
//! ember-top --once [--json] [--width N --height N] ADDR
//! ```
//!
//! `ADDR` is where the node's observer listens (`ember::observer::serve`):
//! `unix:PATH`, a socket path, or a loopback `IP:PORT`.

use ember_observer::app::{self, Options, DEFAULT_INTERVAL, MIN_INTERVAL};
use ember_observer::{ui, Model};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: ember-top [--interval SECS] [--write] ADDR
       ember-top --once [--json] [--width N] [--height N] ADDR

ADDR: the node's observer (ember::observer::serve): unix:PATH, a path, or 127.0.0.1:PORT
  --interval SECS  time between snapshots (default 1, at least 0.1)
  --write          allow killing processes (x), if the node's observer allows it
  --once           print one snapshot and exit: the viewer's first frame as text,
                   or with --json the snapshot as one JSON object";

struct Args {
    addr: String,
    interval: Duration,
    write: bool,
    once: bool,
    json: bool,
    width: u16,
    height: u16,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: String::new(),
        interval: DEFAULT_INTERVAL,
        write: false,
        once: false,
        json: false,
        width: 120,
        height: 36,
    };
    let mut addr = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--once" => parsed.once = true,
            "--json" => parsed.json = true,
            "--write" => parsed.write = true,
            "--interval" => {
                let secs: f64 = value("--interval")?.parse().map_err(|_| "--interval takes seconds".to_string())?;
                if !secs.is_finite() || secs < MIN_INTERVAL.as_secs_f64() {
                    return Err(format!("--interval is at least {}", MIN_INTERVAL.as_secs_f64()));
                }
                parsed.interval = Duration::from_secs_f64(secs.min(3600.0));
            }
            "--width" => parsed.width = value("--width")?.parse().map_err(|_| "--width takes a number")?,
            "--height" => parsed.height = value("--height")?.parse().map_err(|_| "--height takes a number")?,
            "-h" | "--help" => return Err(String::new()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other if addr.is_none() => addr = Some(other.to_string()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    parsed.addr = addr.ok_or("no ADDR given")?;
    if parsed.json && !parsed.once {
        return Err("--json goes with --once".into());
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ember-top: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.once {
        let snapshot = match app::fetch_once(&args.addr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ember-top: {}: {e}", args.addr);
                return ExitCode::FAILURE;
            }
        };
        if args.json {
            match serde_json::to_string(&snapshot) {
                Ok(json) => println!("{json}"),
                Err(e) => {
                    eprintln!("ember-top: {e}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            let mut model = Model::new();
            model.update(snapshot);
            let mut screen = ui::Screen::new(args.addr.clone());
            screen.selected = ui::view_order(&model, ui::View::Processes).first().copied();
            print!("{}", app::render_text(&model, &screen, args.width, args.height));
            screen.view = ui::View::Tree;
            print!("{}", app::render_text(&model, &screen, args.width, args.height));
        }
        return ExitCode::SUCCESS;
    }
    match app::run(Options { addr: args.addr.clone(), interval: args.interval, write: args.write }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ember-top: {}: {e}", args.addr);
            ExitCode::FAILURE
        }
    }
}
