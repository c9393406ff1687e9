//! The commands: each resolves its stack, calls one operation, and hands the result to the
//! UI to render. The layer below (`model`, `resources`) never prints.

pub mod api_key;
pub mod cost;
pub mod deploy;
pub mod down;
pub mod graph;
pub mod logs;
pub mod plan;
pub mod probe;
pub mod revisions;
pub mod rollback;
pub mod run;
pub mod scale;
pub mod session;
pub mod status;
pub mod up;

use session::Purpose;

use crate::cli::{Cli, Command};
use crate::error::{
    EXIT_CHANGES_PENDING, EXIT_FAILURE, EXIT_IMAGE_NOT_PUSHED, EXIT_USAGE, ImageNotPushed,
    UsageError,
};
use crate::model::Choices;
use crate::ui::output;

/// Runs the command; the exit code of a success (`plan --detailed-exitcode` says 4 when
/// changes are pending).
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let global = &cli.global;
    session::check_endpoint(global.endpoint_url.as_deref())?;
    match &cli.command {
        Command::Up(args) => {
            let started = std::time::Instant::now();
            let target = session::resolve(Some(&args.env), global, Purpose::Up)?;
            session::check_image(&target.deployment, &args.image)?;
            let session = session::open_target(
                target,
                global,
                Purpose::Up,
                Choices {
                    force_new_deployment: args.force_new_deployment,
                    by: "up",
                    ..Choices::default()
                },
                started,
            )
            .await?;
            let url = up::up(
                &session,
                &up::Options {
                    concurrency: usize::from(args.concurrency),
                    yes: args.yes,
                    only: None,
                },
            )
            .await?;
            output::print(&url);
        }
        Command::Deploy(args) => {
            let url = deploy::deploy(args, global).await?;
            output::print(&url);
        }
        Command::Scale(args) => {
            let url = scale::scale(args, global).await?;
            output::print(&url);
        }
        Command::Rollback(args) => {
            let url = rollback::rollback(args, global).await?;
            output::print(&url);
        }
        Command::Revisions(args) => {
            let session = session::open_to_read(args.env.as_deref(), global).await?;
            let kept = revisions::revisions(&session.env).await?;
            if args.json {
                output::print(&serde_json::to_string_pretty(&serde_json::json!({
                    "format_version": 1,
                    "revisions": kept,
                }))?);
            } else {
                output::print(&crate::printable::escaped(
                    &crate::ui::table::revisions_table(&kept),
                ));
            }
        }
        Command::Logs(args) => {
            let session = session::open_to_read(args.env.as_deref(), global).await?;
            let env = &session.env;
            let (task, started) = if args.previous {
                let (task, why, started) = logs::previous(env).await?;
                output::eprint(&crate::printable::escaped(&why));
                (Some(task), started)
            } else {
                (None, None)
            };
            let query = logs::Query::new(env, args, task.as_deref(), started)?;
            let json = args.json;
            logs::print(env, &query, args.follow, |line| {
                if json {
                    if let Ok(text) = serde_json::to_string(line) {
                        output::print(&text);
                    }
                } else {
                    // A container writes what it likes: shown, never obeyed.
                    output::print(&crate::printable::escaped(&line.human()));
                }
            })
            .await?;
        }
        Command::Run(args) => {
            let session = session::open_to_read(args.env.as_deref(), global).await?;
            let arn = run::start(&session.env, &args.command).await?;
            if !args.wait {
                output::print(&arn);
                return Ok(0);
            }
            output::eprint(&format!("run: task {arn} started"));
            let code = run::wait(&session.env, &arn, |line| {
                output::print(&crate::printable::escaped(&line.message));
            })
            .await?;
            output::eprint(&format!("run: the command exited with {code}"));
            return Ok(code);
        }
        Command::Plan(args) => {
            let started = std::time::Instant::now();
            let target = session::resolve(Some(&args.env), global, Purpose::Plan)?;
            session::check_image(&target.deployment, &args.image)?;
            let deployment = target.deployment.clone();
            // A change the built stack cannot take is refused before any AWS call.
            let (plan, header, posture) = match &target.fixed {
                Some(fixed) => (
                    plan::refusal(fixed, &target, &global.command_prefix()),
                    format!(
                        "plan: deployment {} ({}), region {}",
                        deployment.name, deployment.environment, deployment.region
                    ),
                    None,
                ),
                None => {
                    let session = session::open_target(
                        target,
                        global,
                        Purpose::Plan,
                        Choices::default(),
                        started,
                    )
                    .await?;
                    let plan = plan::plan(&session, 16).await?;
                    let posture = crate::resources::posture::of(&session.env);
                    (plan, session::header("plan", &session.env), Some(posture))
                }
            };
            if args.json {
                let mut doc =
                    serde_json::to_value(plan.document(&deployment.name, &deployment.region))?;
                if let (Some(posture), Some(doc)) = (&posture, doc.as_object_mut()) {
                    doc.insert("posture".to_string(), serde_json::to_value(posture)?);
                }
                output::print(&serde_json::to_string_pretty(&doc)?);
            } else {
                let colour = std::io::IsTerminal::is_terminal(&std::io::stdout());
                output::print(&crate::ui::plan::render(&plan, &header, colour));
                if let Some(posture) = &posture {
                    output::print(&format!("\n{}", crate::ui::table::posture_lines(posture)));
                }
            }
            if !plan.refused().is_empty() {
                return Err(UsageError(format!(
                    "`up` would refuse this plan: {}",
                    plan.refused()
                        .iter()
                        .map(|c| format!("{} {}", c.kind, c.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into());
            }
            if args.detailed_exitcode && !plan.is_empty() {
                return Ok(EXIT_CHANGES_PENDING);
            }
        }
        Command::ApiKey(args) => {
            let session = session::open_to_read(args.env.as_deref(), global).await?;
            let key = api_key::api_key(&session, args.show).await?;
            if args.json {
                output::print(&serde_json::to_string_pretty(&key)?);
            } else if let Some(value) = &key.value {
                output::print(value);
            } else {
                output::print(&format!(
                    "API key {} (id {}): callers send its value in the x-api-key header.\n\
                     Its value is not printed; add --show to print it.",
                    key.name, key.id
                ));
            }
        }
        Command::Status(args) => {
            let session = session::open_to_read(args.env.as_deref(), global).await?;
            let status = status::status(&session, 16).await?;
            let posture = crate::resources::posture::of(&session.env);
            // The probe walks the chain from a full read: with something unreadable it
            // could only fail, and the table would be lost with it.
            let probe = if args.probe && status.unread.is_empty() {
                let endpoint = session::endpoint_url(global.endpoint_url.as_deref())?;
                Some(probe::probe(&session, 16, endpoint.as_deref()).await?)
            } else {
                None
            };
            if args.json {
                let mut doc = serde_json::to_value(&status)?;
                if let Some(doc) = doc.as_object_mut() {
                    doc.insert("posture".to_string(), serde_json::to_value(&posture)?);
                    if let Some(probe) = &probe {
                        doc.insert("probe".to_string(), serde_json::to_value(probe)?);
                    }
                }
                output::print(&serde_json::to_string_pretty(&doc)?);
            } else {
                // Names, states and details are AWS's words: shown, never obeyed.
                output::print(&crate::printable::escaped(&crate::ui::table::status_table(
                    &status,
                    &global.command_prefix(),
                    crate::ui::fit::Width::of_stdout(args.wide),
                )));
                output::print(&crate::ui::table::posture_lines(&posture));
                if let Some(probe) = &probe {
                    output::print(&crate::printable::escaped(&crate::ui::table::probe_lines(
                        probe,
                    )));
                }
            }
            if let Some(probe) = probe.filter(|p| !p.passed()) {
                anyhow::bail!(
                    "the stack does not serve: {}",
                    probe.broken.or(probe.error).unwrap_or_else(|| format!(
                        "the URL answered {}",
                        probe.status.unwrap_or_default()
                    ))
                );
            }
            if !status.unread.is_empty() {
                let what: Vec<&str> = status.unread.iter().map(|u| u.what.as_str()).collect();
                anyhow::bail!(
                    "status could not read {}; the rest is shown above, and each `unknown` \
                     names AWS's error. `{} policy --env {}` prints a policy that allows \
                     every read",
                    what.join(", "),
                    global.command_prefix(),
                    status
                        .env_file
                        .as_deref()
                        .map_or_else(|| "FILE".to_string(), crate::shell::word)
                );
            }
            if args.check && !status.problems.is_empty() {
                let missing = status.missing().len();
                anyhow::bail!(
                    "{}the stack is not as wanted:\n  {}",
                    if missing > 0 {
                        format!("{missing} resource(s) missing; ")
                    } else {
                        String::new()
                    },
                    status.problems.join("\n  ")
                );
            }
        }
        Command::Down(args) => {
            let session = session::open(
                args.env.as_deref(),
                global,
                Purpose::Down,
                Choices {
                    purge: args.purge,
                    by: "down",
                    ..Choices::default()
                },
            )
            .await?;
            down::down(
                &session,
                &down::Options {
                    concurrency: usize::from(args.concurrency),
                    yes: args.yes,
                },
            )
            .await?;
        }
        Command::Policy(args) => {
            let session =
                session::open(Some(&args.env), global, Purpose::Status, Choices::default()).await?;
            let doc = crate::resources::permissions::document(&session.env);
            output::print(&serde_json::to_string_pretty(&doc)?);
        }
        Command::Cost(args) => cost::run(args, global).await?,
        Command::Graph(args) => {
            let session =
                session::open(Some(&args.env), global, Purpose::Status, Choices::default()).await?;
            let doc = graph::document(&session);
            if args.json {
                output::print(&serde_json::to_string_pretty(&doc)?);
            } else {
                output::print(&graph::dot(&doc));
            }
        }
    }
    Ok(0)
}

/// The exit code for an error: the first typed error found in its chain decides.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<crate::config::ConfigError>() {
            return EXIT_USAGE;
        }
        if cause.is::<ImageNotPushed>() {
            return EXIT_IMAGE_NOT_PUSHED;
        }
        if cause.is::<crate::interrupt::Interrupted>() {
            return crate::interrupt::EXIT_INTERRUPTED;
        }
    }
    EXIT_FAILURE
}

/// Prints an error and its causes, cargo style.
pub fn report(err: &anyhow::Error) {
    let mut text = format!("error: {err}\n");
    let causes: Vec<String> = err.chain().skip(1).map(ToString::to_string).collect();
    if !causes.is_empty() {
        text.push_str("\nCaused by:\n");
        for cause in causes {
            text.push_str(&format!("  {cause}\n"));
        }
    }
    // Causes carry text from files and AWS's messages: shown, never obeyed by the terminal.
    output::eprint(&crate::printable::escaped(&text));
}
