//! gwfargate: one command each to stand up, report on and tear down an API Gateway → VPC
//! link → NLB → ECS Fargate stack.
//!
//! `main` is thin, as in ripgrep: parse, run one operation, render, and turn any error into
//! its documented exit code with the whole cause chain printed.

mod aws;
mod cli;
mod config;
mod create;
mod error;
mod graph;
mod interrupt;
mod lock;
mod names;
mod ops;
mod output;
mod progress;
mod state;
mod steps;
mod wait;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::{EXIT_USAGE, exit_code};
use crate::ops::Purpose;

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
            output::eprint(&format!("error: cannot start the async runtime: {err}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(u8::try_from(exit_code(&err)).unwrap_or(1))
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

/// Prints an error and its causes, cargo style.
fn report(err: &anyhow::Error) {
    let mut text = format!("error: {err}\n");
    let causes: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
    if !causes.is_empty() {
        text.push_str("\nCaused by:\n");
        for cause in causes {
            text.push_str(&format!("  {cause}\n"));
        }
    }
    output::eprint(&text);
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = &cli.global;
    match &cli.command {
        Command::Up(args) => {
            let target = ops::resolve(Some(&args.env), global, Purpose::Up)?;
            let ctx = Arc::new(ops::context(&target, global, false).await?);
            let _deployment_lock =
                lock::acquire_deployment(&ctx.account, &ctx.deployment, "up", |warning| {
                    ctx.progress.line(warning);
                })?;
            interrupt::install(ctx.progress.clone());
            let url = ops::up::up(ctx, usize::from(args.concurrency)).await?;
            output::print(&url);
        }
        Command::Status(args) => {
            let target = ops::resolve(args.env.as_deref(), global, Purpose::Status)?;
            if let Some(note) = &target.note {
                output::eprint(note);
            }
            let present = target.state.is_some();
            let ctx = ops::context(&target, global, false).await?;
            let status = ops::status::status(&ctx, present).await?;
            if args.json {
                output::print(&output::status_json(&status)?);
            } else {
                output::print(&output::status_table(&status, &global.command_prefix()));
            }
            if args.check && !status.complete {
                let missing: Vec<String> = status
                    .resources
                    .iter()
                    .filter(|r| r.state == "missing")
                    .map(|r| format!("{} {}", r.kind, r.name))
                    .collect();
                anyhow::bail!(
                    "{} resource(s) missing: {}",
                    missing.len(),
                    missing.join(", ")
                );
            }
        }
        Command::Down(args) => {
            let target = ops::resolve(args.env.as_deref(), global, Purpose::Down)?;
            if let Some(note) = &target.note {
                output::eprint(note);
            }
            let ctx = Arc::new(ops::context(&target, global, args.purge).await?);
            let _deployment_lock =
                lock::acquire_deployment(&ctx.account, &ctx.deployment, "down", |warning| {
                    ctx.progress.line(warning);
                })?;
            interrupt::install(ctx.progress.clone());
            ops::down::down(ctx, usize::from(args.concurrency)).await?;
        }
    }
    Ok(())
}
