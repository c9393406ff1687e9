//! `gwfargate up`: plan, say what will change, ask before anything destructive, apply, and wait
//! until the stack serves.

use super::session::{self, Session};
use crate::aws::AwsResultExt as _;
use crate::error::UsageError;
use crate::model::Depth;
use crate::model::plan::Action;

/// How `up` runs.
pub struct Options {
    /// How many resources may be worked on at once.
    pub concurrency: usize,
    /// Apply a destructive plan without asking.
    pub yes: bool,
    /// For a command that may change only some kinds (`deploy`): those, and its name.
    pub only: Option<Only>,
}

/// The fields a command may change in place, refusing a plan that changes anything else.
#[derive(Debug, Clone, Copy)]
pub struct Only {
    /// The command, for the refusal.
    pub command: &'static str,
    /// What it changes, for the refusal ("the image", "the task count").
    pub what: &'static str,
    /// The (kind, field) pairs it may change: (`task definition`, `image`).
    pub fields: &'static [(&'static str, &'static str)],
}

impl Only {
    /// The changes of `plan` it does not allow, in words.
    pub fn others(&self, plan: &crate::model::plan::Plan) -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.action != Action::None)
            .filter(|c| {
                c.action != Action::Update
                    || c.fields
                        .iter()
                        .any(|f| !self.fields.contains(&(c.kind, f.field.as_str())))
            })
            .map(|c| {
                let action = format!("{:?}", c.action).to_lowercase();
                let fields: Vec<&str> = c.fields.iter().map(|f| f.field.as_str()).collect();
                format!("{action} {} {} ({})", c.kind, c.name, fields.join(", "))
            })
            .collect()
    }
}

/// Applies the env file to the stack. Returns the invoke URL.
pub async fn up(session: &Session, options: &Options) -> anyhow::Result<String> {
    let env = session.env.clone();
    let command = options.only.map_or("up", |o| o.command);
    crate::ui::output::eprint(&session::header(command, &env));
    check_secrets(&env).await?;
    let (stack, world) = session::survey(&env, Depth::Full, options.concurrency).await?;
    let plan = stack.graph.plan(&env, &world);
    let mut shown = plan.clone();
    shown.notes.splice(0..0, stack.notes.iter().cloned());
    shown.notes.extend(stack.exposure.clone());
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    crate::ui::output::eprint(crate::ui::plan::render(&shown, "plan:", colour).trim_end());
    if let Some(only) = options.only {
        let others = only.others(&plan);
        if !others.is_empty() {
            return Err(UsageError(format!(
                "{} changes only {}, but the env file also changes what `up` has not \
                 applied, and nothing was changed:\n  {}\nRun `{}` first, then {} again",
                only.command,
                only.what,
                others.join("\n  "),
                env.hints.command("up"),
                only.command
            ))
            .into());
        }
    }
    let refused = plan.refused();
    if !refused.is_empty() {
        let reasons: Vec<String> = refused
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {}",
                    c.kind,
                    c.name,
                    c.reason.as_deref().unwrap_or("refused")
                )
            })
            .collect();
        return Err(UsageError(format!(
            "up refuses this plan, and nothing was changed:\n  {}",
            reasons.join("\n  ")
        ))
        .into());
    }
    let destructive = plan.destructive();
    if !destructive.is_empty() && !options.yes {
        let what: Vec<String> = destructive
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {}",
                    c.kind,
                    c.name,
                    c.destructive.as_deref().unwrap_or_default()
                )
            })
            .collect();
        if !crate::ui::prompt::can_ask() {
            return Err(UsageError(format!(
                "the plan loses something, and nothing was changed:\n  {}\nReview it with `{}`, \
                 then apply it with `{}`",
                what.join("\n  "),
                env.hints.command("plan"),
                env.hints.command("up --yes")
            ))
            .into());
        }
        if !crate::ui::prompt::confirm("Apply this plan, with what it loses?") {
            return Err(UsageError("not applied: nothing was changed".to_string()).into());
        }
    }
    if plan.changes.iter().any(|c| {
        (c.kind == "subnet" || c.kind == "interface endpoint") && c.action == Action::Create
    }) {
        check_zones(&env).await?;
    }
    // The URL callers have now, to say so when this run makes a new one.
    let recorded = |key: &str, field: &str| {
        env.state
            .get(key)
            .and_then(|r| r.outputs)
            .and_then(|o| o.get(field).and_then(|u| u.as_str()).map(str::to_string))
    };
    let old_url = match env.deployment.network.entry {
        crate::config::Entry::ApiGateway => recorded("stage", "url"),
        crate::config::Entry::PublicLoadBalancer => {
            let [key, _, _] = crate::resources::elb::keys(env.deployment.network.load_balancer);
            recorded(&key, "dns_name")
                .map(|name| crate::resources::public_url(&name, env.deployment.service.port))
        }
    };
    env.state.save()?;
    let board = session::display(&stack.graph);
    let outcome = stack
        .graph
        .apply(
            env.clone(),
            world.clone(),
            board.clone(),
            options.concurrency,
        )
        .await;
    crate::interrupt::check()?;
    if !outcome.succeeded() {
        return Err(session::failure(outcome, &stack.graph, command));
    }
    let left = stack
        .graph
        .retire(env.clone(), world.clone(), board.clone())
        .await;
    crate::interrupt::check()?;
    if let Some(first) = left.into_iter().next() {
        return Err(first.context(format!(
            "the stack serves, but a replaced resource is left: `{}` deletes it",
            env.hints.command("up")
        )));
    }
    env.state
        .tags_applied(env.deployment.tags.keys().cloned().collect())?;
    if let Some(read) = &session.target.read {
        env.state
            .applied(read.clone(), session.target.set.clone())?;
    }
    let url = stack
        .entry
        .url(&world.inputs())
        .ok_or_else(|| anyhow::anyhow!("the stack was made without a public URL"))?;
    board.note(&format!(
        "{command}: done in {:.1}s",
        session.started.elapsed().as_secs_f64()
    ));
    if let Some(old) = old_url.filter(|old| *old != url) {
        board.note(&format!(
            "{command}: the public URL changed: {old} answers no more; callers must use {url}"
        ));
    }
    Ok(url)
}

/// Fails with a usage error (exit 2) before anything is changed when a secret the container
/// names does not exist: the tasks would fail to start with the stack built around them. Reads
/// only whether each exists (DescribeSecret, DescribeParameters), never a value.
pub async fn check_secrets(env: &crate::model::Env) -> anyhow::Result<()> {
    let region = &env.deployment.region;
    let refuse = |variable: &str, what: String| -> anyhow::Error {
        UsageError(format!(
            "{}: service.secrets.{variable}: {what}; nothing was changed",
            env.hints.env_file
        ))
        .into()
    };
    let missing = |variable: &str, what: String| -> anyhow::Error {
        refuse(
            variable,
            format!(
                "{what} in account {} ({region}). Create it, or name one that exists",
                env.account
            ),
        )
    };
    let mut parameters: Vec<(&String, String)> = Vec::new();
    for (variable, secret) in &env.deployment.service.secrets {
        if let Some(name) = secret.parameter_name() {
            parameters.push((variable, name));
            continue;
        }
        let arn = secret.arn(region, &env.account);
        let found = env
            .aws
            .secrets
            .describe_secret()
            .secret_id(&arn)
            .send()
            .await
            .aws(|| format!("checking that secret {arn} exists"));
        match found {
            // DescribeSecret also finds a secret by a partial ARN, which the execution role's
            // and the endpoint's policies would then not match.
            Ok(found) if found.arn().is_some_and(|full| full != arn) => {
                return Err(refuse(
                    variable,
                    format!(
                        "{arn} is only part of the secret's ARN, {}: name it whole, as the \
                         execution role may read that ARN alone",
                        found.arn().unwrap_or_default()
                    ),
                ));
            }
            Ok(_) => {}
            Err(err) if crate::aws::errors::is_not_found(&err) => {
                return Err(missing(variable, format!("there is no secret {arn}")));
            }
            Err(err) => return Err(err),
        }
    }
    for chunk in parameters.chunks(50) {
        let names: Vec<String> = chunk.iter().map(|(_, name)| name.clone()).collect();
        let mut found = Vec::new();
        let mut pages = env
            .aws
            .ssm
            .describe_parameters()
            .parameter_filters(
                aws_sdk_ssm::types::ParameterStringFilter::builder()
                    .key("Name")
                    .option("Equals")
                    .set_values(Some(names.clone()))
                    .build()?,
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.aws(|| format!("checking that parameters {} exist", names.join(", ")))?;
            found.extend(
                page.parameters()
                    .iter()
                    .filter_map(|p| p.name().map(str::to_string)),
            );
        }
        if let Some((variable, name)) = chunk.iter().find(|(_, name)| !found.contains(name)) {
            return Err(missing(variable, format!("there is no parameter {name}")));
        }
    }
    Ok(())
}

/// Zone ids where Fargate runs no task ("AWS Fargate Regions", ECS developer guide: Linux
/// containers on Fargate are not supported in use1-az3). Zone names map to other ids in each
/// account, so subnets are checked by id.
const FARGATE_UNSUPPORTED_ZONE_IDS: &[&str] = &["use1-az3"];

/// Fails with a usage error (exit 2) before anything is created when an env file subnet names
/// an availability zone the region does not offer to this account, where Fargate does not run,
/// or where an interface endpoint the tasks need is not offered: CreateSubnet, CreateVpcEndpoint
/// or the first task would fail with half a stack built.
async fn check_zones(env: &crate::model::Env) -> anyhow::Result<()> {
    let region = &env.deployment.region;
    let out = env
        .aws
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .aws(|| format!("listing the availability zones of {region}"))?;
    let zones = out.availability_zones();
    let offered: Vec<&str> = zones.iter().filter_map(|z| z.zone_name()).collect();
    let refuse = |i: usize, problem: String| -> anyhow::Error {
        UsageError(format!(
            "{}: network.subnets[{i}].az: {problem}. Nothing was created",
            env.hints.env_file
        ))
        .into()
    };
    for (i, subnet) in env.deployment.network.subnets.iter().enumerate() {
        if !offered.contains(&subnet.az.as_str()) {
            return Err(refuse(
                i,
                format!(
                    "{:?} is not an availability zone of {region} for this account (it offers {})",
                    subnet.az,
                    offered.join(", ")
                ),
            ));
        }
        let id = zones
            .iter()
            .find(|z| z.zone_name() == Some(subnet.az.as_str()))
            .and_then(|z| z.zone_id());
        if let Some(id) = id.filter(|id| FARGATE_UNSUPPORTED_ZONE_IDS.contains(id)) {
            return Err(refuse(
                i,
                format!(
                    "{} is zone {id} in this account, where AWS Fargate runs no task; choose \
                     another zone",
                    subnet.az
                ),
            ));
        }
    }
    let names: Vec<String> = env
        .deployment
        .interface_services()
        .iter()
        .map(|service| format!("com.amazonaws.{region}.{service}"))
        .collect();
    let services = env
        .aws
        .ec2
        .describe_vpc_endpoint_services()
        .set_service_names(Some(names.clone()))
        .send()
        .await
        .aws(|| format!("listing where the endpoint services of {region} are offered"))?;
    for detail in services.service_details() {
        let name = detail.service_name().unwrap_or_default();
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let zones = detail.availability_zones();
        for (i, subnet) in env.deployment.network.subnets.iter().enumerate() {
            if !zones.iter().any(|z| z == &subnet.az) {
                return Err(refuse(
                    i,
                    format!(
                        "the tasks reach AWS through interface endpoints, and {name} is not \
                         offered in {} (it is in {}); choose one of those zones",
                        subnet.az,
                        zones.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Resolves the built stack of `env` for a command that changes only `only`'s fields
/// (`deploy`, `scale`): refused when nothing is built yet.
pub fn built_target(
    env: Option<&std::path::Path>,
    global: &crate::cli::Global,
    purpose: session::Purpose,
    only: Only,
) -> anyhow::Result<session::Target> {
    let target = session::resolve(env, global, purpose)?;
    if target.state.is_none() {
        let env = env.map_or_else(|| "FILE".to_string(), |e| e.display().to_string());
        return Err(UsageError(format!(
            "no stack of {env} is built (no state file {}), and nothing was changed. `{}` \
             changes a built stack: build it first with `{} up --env {}`",
            target.file.path.display(),
            only.command,
            global.command_prefix(),
            crate::shell::word(&env)
        ))
        .into());
    }
    Ok(target)
}

/// Applies `target`, as a command that changes only `only`'s fields, waiting for the service
/// unless `no_wait`. Returns the invoke URL.
pub async fn apply_only(
    target: session::Target,
    global: &crate::cli::Global,
    purpose: session::Purpose,
    only: Only,
    no_wait: bool,
    concurrency: u16,
) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let session = session::open_target(
        target,
        global,
        purpose,
        crate::model::Choices {
            no_wait,
            by: only.command,
            ..crate::model::Choices::default()
        },
        started,
    )
    .await?;
    up(
        &session,
        &Options {
            concurrency: usize::from(concurrency),
            // What such a command changes loses nothing; anything else is refused first.
            yes: true,
            only: Some(only),
        },
    )
    .await
}
