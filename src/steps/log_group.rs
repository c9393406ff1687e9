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

/// Whether the log group carries this deployment's tag.
async fn is_ours(ctx: &Ctx, group: &LogGroup) -> anyhow::Result<bool> {
    let arn = group.arn().map_or_else(
        || ctx.arn("logs", &format!("log-group:{}", ctx.names.log_group)),
        str::to_string,
    );
    let arn = arn.trim_end_matches(":*");
    let out = ctx
        .aws
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(|| format!("reading the tags of log group {}", ctx.names.log_group))?;
    Ok(out
        .tags()
        .is_some_and(|tags| ctx.is_ours(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))))
}

/// Finds or creates the log group and sets its retention.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.log_group;
    let days = i32::try_from(ctx.deployment.logs.retention_days).unwrap_or(30);
    let (group, verb) =
        match find(ctx).await? {
            Some(group) => {
                if !is_ours(ctx, &group).await? {
                    return Err(ctx.not_ours(&format!("log group {name}")));
                }
                (Some(group), "found")
            }
            None => {
                p.set("creating");
                ctx.intend(KEY, super::Step::LogGroup, name)?;
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
                    // Our own create whose answer was lost carries our tags; anyone else's does not.
                    Err(err) if has_code(&err, &["ResourceAlreadyExistsException"]) => {
                        match find(ctx).await? {
                            Some(group) if is_ours(ctx, &group).await? => {}
                            Some(_) => return Err(ctx.not_ours(&format!("log group {name}"))),
                            None => return Err(err.context(format!(
                                "log group {name} exists but cannot be read yet; run `{}` again",
                                ctx.command("up")
                            ))),
                        }
                    }
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

/// Deletes the log group, if gwfargate created it.
pub async fn delete(ctx: &Ctx, _p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.log_group;
    if let Some(group) = find(ctx).await?
        && !is_ours(ctx, &group).await?
    {
        ctx.state.forget(KEY)?;
        return Ok(format!("left {name}: gwfargate did not create it"));
    }
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
