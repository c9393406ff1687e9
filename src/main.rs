//! gwfargate: one command each to stand up, report on and tear down an API Gateway → VPC
//! link → NLB → ECS Fargate stack.
//!
//! `main` is thin, as in ripgrep: parse, run one command, and turn any error into its
//! documented exit code with the whole cause chain printed.
//!
//! The layers, top down (none imports upwards): `cli` and `app` (one file per command, and
//! the session: stack, locks, connection); `ui` (what the user sees); `resources` (one file
//! per kind of AWS resource) on `model` (the resource contract, the graph, the reconciler
//! written once); and beneath them `aws` (clients, errors, create-once, waits), `state` (the
//! state file, locks), `config` (the env file, names), `progress`, `interrupt`, `error`,
//! `shell`.

mod app;
mod aws;
mod cli;
mod config;
mod cost;
mod error;
mod interrupt;
mod model;
mod printable;
mod progress;
mod resources;
mod shell;
mod state;
mod ui;
mod user_files;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::error::EXIT_USAGE;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                EXIT_USAGE as u8
            } else {
                0
            });
        }
    };
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            ui::output::eprint(&format!("error: cannot start the async runtime: {err}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(app::run(cli)) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            app::report(&err);
            ExitCode::from(u8::try_from(app::exit_code(&err)).unwrap_or(1))
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        // The SDK warns about each credential provider it tried; the error says what matters.
        0 => "warn,aws_config=error",
        1 => "gwfargate=debug,warn",
        _ => "debug",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("GWFARGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Request signing logs canonical requests, which carry session tokens: never shown.
    for quiet in ["aws_sigv4=off", "aws_smithy_runtime::client::http=warn"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
