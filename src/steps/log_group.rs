//! The log group the containers write to (awslogs driver), with the env file's retention:
//! the original set none, so logs were kept (and billed) forever.

use aws_sdk_cloudwatchlogs::types::LogGroup;

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "log_group";

/// The log group, by name.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<LogGroup>> {
    let name = &ctx.names.log_group;
    let out = ctx
        .aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .aws(|| format!("looking up log group {name}"))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name.as_str()))
        .cloned())
}

/// Finds or creates the log group and sets its retention.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.log_group;
    let days = i32::try_from(ctx.deployment.logs.retention_days).unwrap_or(30);
    let (group, verb) = match find(ctx).await? {
        Some(group) => (Some(group), "found"),
        None => {
            p.set("creating");
            let out = ctx
                .aws
                .logs
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(ctx.tag_map(name)))
                .send()
                .await
                .aws(|| format!("creating log group {name}"));
            match out {
                Ok(_) => {}
                Err(err) if has_code(&err, &["ResourceAlreadyExistsException"]) => {}
                Err(err) => return Err(err),
            }
            (find(ctx).await?, "created")
        }
    };
    let arn = group.as_ref().and_then(LogGroup::arn).map_or_else(
        || ctx.arn("logs", &format!("log-group:{name}:*")),
        str::to_string,
    );
    ctx.record(KEY, Record::created(arn))?;
    if group.and_then(|g| g.retention_in_days()) != Some(days) {
        ctx.aws
            .logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .aws(|| format!("setting the retention of log group {name}"))?;
    }
    Ok(format!("{verb} {name}, retention {days} days"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.log_group;
    Ok(vec![match find(ctx).await? {
        Some(g) => Observed::present("log group", name, g.arn().unwrap_or(name), "present").detail(
            g.retention_in_days().map_or_else(
                || "no retention".to_string(),
                |d| format!("retention {d} days"),
            ),
        ),
        None => Observed::missing("log group", name),
    }])
}

/// Deletes the log group.
pub async fn delete(ctx: &Ctx, _p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.log_group;
    let gone = found(
        ctx.aws
            .logs
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .aws(|| format!("deleting log group {name}")),
    )?
    .is_none();
    ctx.state.forget(KEY)?;
    Ok(if gone {
        "already gone".to_string()
    } else {
        format!("deleted {name}")
    })
}
