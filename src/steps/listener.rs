//! The TCP listener on the service port, forwarding to the target group. ECS refuses to
//! create a service on a target group that no listener uses, so it comes before the service.

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, Listener, ProtocolEnum};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "listener";

/// The listener on the service port of the stack's load balancer.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<Listener>> {
    let Some(lb) = super::load_balancer::find(ctx).await? else {
        return Ok(None);
    };
    let lb_arn = lb.load_balancer_arn().unwrap_or_default();
    let out = found(
        ctx.aws
            .elb
            .describe_listeners()
            .load_balancer_arn(lb_arn)
            .send()
            .await
            .aws(|| format!("listing the listeners of {lb_arn}")),
    )?;
    let port = i32::from(ctx.deployment.service.port);
    Ok(out.and_then(|o| {
        o.listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .cloned()
    }))
}

fn forward(target_group_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

fn forwards_to(listener: &Listener, target_group_arn: &str) -> bool {
    listener
        .default_actions()
        .iter()
        .any(|a| a.target_group_arn() == Some(target_group_arn))
}

/// Finds or creates the listener and points it at the target group.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let tg_arn = super::target_group::arn(ctx).await?;
    let port = i32::from(ctx.deployment.service.port);
    let (arn, verb) = match find(ctx).await? {
        Some(listener) => {
            let arn = listener.listener_arn().unwrap_or_default().to_string();
            if forwards_to(&listener, &tg_arn) {
                (arn, "found")
            } else {
                p.set("pointing at the target group");
                ctx.aws
                    .elb
                    .modify_listener()
                    .listener_arn(&arn)
                    .default_actions(forward(&tg_arn))
                    .send()
                    .await
                    .aws(|| format!("updating listener {arn}"))?;
                (arn, "updated")
            }
        }
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::Listener, &format!("tcp:{port}"))?;
            let lb = super::load_balancer::require(ctx).await?;
            let arn = create_once(
                &format!("the TCP:{port} listener"),
                p,
                || async {
                    Ok(find(ctx)
                        .await?
                        .and_then(|l| l.listener_arn().map(str::to_string)))
                },
                || async {
                    let out = ctx
                        .single
                        .elb
                        .create_listener()
                        .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
                        .protocol(ProtocolEnum::Tcp)
                        .port(port)
                        .default_actions(forward(&tg_arn))
                        .set_tags(Some(super::elbv2::tags(
                            ctx,
                            &format!("{}-listener", ctx.names.load_balancer),
                        )))
                        .send()
                        .await
                        .aws(|| format!("creating the TCP:{port} listener"))?;
                    out.listeners()
                        .first()
                        .and_then(Listener::listener_arn)
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateListener returned nothing"))
                },
            )
            .await?;
            (arn, "created")
        }
    };
    ctx.record(KEY, Record::created(&arn))?;
    Ok(format!("{verb} TCP:{port}"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = format!("tcp:{}", ctx.deployment.service.port);
    Ok(vec![match find(ctx).await? {
        Some(l) => Observed::present(
            "listener",
            &name,
            l.listener_arn().unwrap_or_default(),
            "present",
        ),
        None => Observed::missing("listener", &name),
    }])
}

/// Deletes the listener.
pub async fn delete(ctx: &Ctx, _p: &StepProgress) -> anyhow::Result<String> {
    let Some(listener) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let arn = listener.listener_arn().unwrap_or_default().to_string();
    found(
        ctx.aws
            .elb
            .delete_listener()
            .listener_arn(&arn)
            .send()
            .await
            .aws(|| format!("deleting listener {arn}")),
    )?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {arn}"))
}
