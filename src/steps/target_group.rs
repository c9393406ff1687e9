//! The target group: TCP on the service port, IP targets (Fargate tasks), an HTTP health
//! check on the env file's path, and a 30 s deregistration delay instead of AWS's 300 s so
//! deploys and `down` do not wait five minutes per task.

use aws_sdk_elasticloadbalancingv2::types::{
    ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience};

/// State key.
pub const KEY: &str = "target_group";

const DEREGISTRATION_DELAY_SECONDS: &str = "30";

/// The target group, by name.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<TargetGroup>> {
    let name = &ctx.names.target_group;
    let out = found(
        ctx.aws
            .elb
            .describe_target_groups()
            .names(name)
            .send()
            .await
            .aws(|| format!("looking up target group {name}")),
    )?;
    Ok(out.and_then(|o| o.target_groups().first().cloned()))
}

/// The target group's ARN, or an error if it does not exist.
pub async fn arn(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|tg| tg.target_group_arn().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("target group {} does not exist", ctx.names.target_group))
}

/// Finds or creates the target group and converges its health check and attributes.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.target_group;
    let svc = &ctx.deployment.service;
    let port = i32::from(svc.port);
    let (arn, mut verb) = match find(ctx).await? {
        Some(tg) => {
            let arn = tg.target_group_arn().unwrap_or_default().to_string();
            if !super::elbv2::is_ours(ctx, &arn).await? {
                anyhow::bail!(
                    "a target group named {name} exists but is not tagged as deployment {}; \
                     gwfargate will not take it over",
                    ctx.deployment.name
                );
            }
            if tg.port() != Some(port) {
                anyhow::bail!(
                    "target group {name} listens on port {} but the env file asks for {port}; \
                     a target group's port cannot change. Run `{}`, then `up`",
                    tg.port().unwrap_or_default(),
                    ctx.command("down")
                );
            }
            if tg.target_type() != Some(&TargetTypeEnum::Ip) {
                anyhow::bail!(
                    "target group {name} has target type {}, but Fargate tasks need `ip`; \
                     a target group's type cannot change. Run `{}`, then `up`",
                    tg.target_type().map_or("unknown", TargetTypeEnum::as_str),
                    ctx.command("down")
                );
            }
            if tg.health_check_path() != Some(svc.health_check_path.as_str()) {
                p.set("updating the health check");
                ctx.aws
                    .elb
                    .modify_target_group()
                    .target_group_arn(&arn)
                    .health_check_path(&svc.health_check_path)
                    .send()
                    .await
                    .aws(|| format!("updating the health check of target group {name}"))?;
                (arn, "updated")
            } else {
                (arn, "found")
            }
        }
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::TargetGroup, name)?;
            let vpc_id = super::vpc::id(ctx).await?;
            let arn = create_once(
                &format!("target group {name}"),
                p,
                || async {
                    Ok(find(ctx)
                        .await?
                        .and_then(|tg| tg.target_group_arn().map(str::to_string)))
                },
                || async {
                    let out = ctx
                        .single
                        .elb
                        .create_target_group()
                        .name(name)
                        .protocol(ProtocolEnum::Tcp)
                        .port(port)
                        .vpc_id(&vpc_id)
                        .target_type(TargetTypeEnum::Ip)
                        .health_check_enabled(true)
                        .health_check_protocol(ProtocolEnum::Http)
                        .health_check_path(&svc.health_check_path)
                        .set_tags(Some(super::elbv2::tags(ctx, name)))
                        .send()
                        .await
                        .aws(|| format!("creating target group {name}"))?;
                    out.target_groups()
                        .first()
                        .and_then(TargetGroup::target_group_arn)
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateTargetGroup returned nothing"))
                },
            )
            .await?;
            ctx.record(KEY, Record::created(&arn))?;
            (arn, "created")
        }
    };
    ctx.record(KEY, Record::created(&arn))?;
    let attrs = ctx
        .aws
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&arn)
        .send()
        .await
        .aws(|| format!("reading the attributes of target group {name}"))?;
    let delay_ok = attrs.attributes().iter().any(|a| {
        a.key() == Some("deregistration_delay.timeout_seconds")
            && a.value() == Some(DEREGISTRATION_DELAY_SECONDS)
    });
    if !delay_ok {
        ctx.aws
            .elb
            .modify_target_group_attributes()
            .target_group_arn(&arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key("deregistration_delay.timeout_seconds")
                    .value(DEREGISTRATION_DELAY_SECONDS)
                    .build(),
            )
            .send()
            .await
            .aws(|| format!("setting the deregistration delay of target group {name}"))?;
        if verb == "found" {
            verb = "updated";
        }
    }
    Ok(format!("{verb} {name}"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.target_group;
    Ok(vec![match find(ctx).await? {
        Some(tg) => Observed::present(
            "target group",
            name,
            tg.target_group_arn().unwrap_or_default(),
            "present",
        )
        .detail(format!(
            "tcp:{} health {}",
            tg.port().unwrap_or_default(),
            tg.health_check_path().unwrap_or("-")
        )),
        None => Observed::missing("target group", name),
    }])
}

/// Deletes the target group, retrying while a listener or service still uses it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.target_group;
    let Some(tg) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let arn = tg.target_group_arn().unwrap_or_default().to_string();
    if !super::elbv2::is_ours(ctx, &arn).await? {
        ctx.state.forget(KEY)?;
        return Ok(format!("left {name}: gwfargate did not create it"));
    }
    wait::retrying(
        &format!("deleting target group {name}"),
        p,
        Patience::minutes(10),
        |err| has_code(err, &["ResourceInUse"]),
        || async {
            found(
                ctx.aws
                    .elb
                    .delete_target_group()
                    .target_group_arn(&arn)
                    .send()
                    .await
                    .aws(|| format!("deleting target group {name}")),
            )
            .map(|_| ())
        },
    )
    .await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name}"))
}
