//! The internal network load balancer in the private subnets: the VPC link's target.
//!
//! It takes minutes to become active and the VPC link can only be made after that, so it is
//! the start of `up`'s critical path: it depends on nothing but the subnets.

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum,
};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience, Poll};

/// State key.
pub const KEY: &str = "load_balancer";

/// The load balancer, by name.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<LoadBalancer>> {
    let name = &ctx.names.load_balancer;
    let out = found(
        ctx.aws
            .elb
            .describe_load_balancers()
            .names(name)
            .send()
            .await
            .aws(|| format!("looking up load balancer {name}")),
    )?;
    Ok(out.and_then(|o| o.load_balancers().first().cloned()))
}

fn state_of(lb: &LoadBalancer) -> String {
    lb.state()
        .and_then(|s| s.code())
        .map_or_else(|| "unknown".to_string(), |c| c.as_str().to_string())
}

/// The load balancer, or an error if it does not exist.
pub async fn require(ctx: &Ctx) -> anyhow::Result<LoadBalancer> {
    find(ctx)
        .await?
        .ok_or_else(|| anyhow::anyhow!("load balancer {} does not exist", ctx.names.load_balancer))
}

/// Finds or creates the load balancer and waits until it is active.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.load_balancer;
    let verb = match find(ctx).await? {
        Some(lb) => {
            let arn = lb.load_balancer_arn().unwrap_or_default();
            if !super::elbv2::is_ours(ctx, arn).await? {
                anyhow::bail!(
                    "a load balancer named {name} exists but is not tagged as deployment {}; \
                     gwfargate will not take it over. Rename the deployment or remove it",
                    ctx.deployment.name
                );
            }
            if lb.scheme() != Some(&LoadBalancerSchemeEnum::Internal) {
                anyhow::bail!(
                    "load balancer {name} ({arn}) is not internal; remove it with `{}` and run `up` again",
                    ctx.command("down")
                );
            }
            "found"
        }
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::LoadBalancer, name)?;
            let subnets = super::subnets::ids(ctx).await?;
            let lb = create_once(
                &format!("load balancer {name}"),
                p,
                || find(ctx),
                || async {
                    let out = ctx
                        .single
                        .elb
                        .create_load_balancer()
                        .name(name)
                        .r#type(LoadBalancerTypeEnum::Network)
                        .scheme(LoadBalancerSchemeEnum::Internal)
                        .set_subnets(Some(subnets.clone()))
                        .set_tags(Some(super::elbv2::tags(ctx, name)))
                        .send()
                        .await
                        .aws(|| format!("creating load balancer {name}"))?;
                    out.load_balancers()
                        .first()
                        .cloned()
                        .ok_or_else(|| anyhow::anyhow!("CreateLoadBalancer returned nothing"))
                },
            )
            .await?;
            ctx.record(
                KEY,
                Record::created(lb.load_balancer_arn().unwrap_or_default())
                    .with("dns_name", lb.dns_name().unwrap_or_default()),
            )?;
            "created"
        }
    };
    let lb = wait::until(
        &format!("load balancer {name} to become active"),
        p,
        Patience::minutes(15),
        || async {
            Ok(match find(ctx).await? {
                None => Poll::Failed("it no longer exists".to_string()),
                Some(lb) => match lb.state().and_then(|s| s.code()) {
                    Some(LoadBalancerStateEnum::Active) => Poll::Ready(lb),
                    Some(LoadBalancerStateEnum::Failed) => Poll::Failed(format!(
                        "AWS reports it failed: {}",
                        lb.state()
                            .and_then(|s| s.reason())
                            .unwrap_or("no reason given")
                    )),
                    _ => Poll::Pending(state_of(&lb)),
                },
            })
        },
    )
    .await?;
    ctx.record(
        KEY,
        Record::created(lb.load_balancer_arn().unwrap_or_default())
            .with("dns_name", lb.dns_name().unwrap_or_default()),
    )?;
    Ok(format!("{verb} {name}, active"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.load_balancer;
    Ok(vec![match find(ctx).await? {
        Some(lb) => Observed::present(
            "load balancer",
            name,
            lb.load_balancer_arn().unwrap_or_default(),
            &state_of(&lb),
        )
        .detail(lb.dns_name().unwrap_or_default()),
        None => Observed::missing("load balancer", name),
    }])
}

/// Deletes the load balancer (retrying while a VPC link still uses it) and waits until gone.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.load_balancer;
    let Some(lb) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    if !super::elbv2::is_ours(ctx, &arn).await? {
        ctx.state.forget(KEY)?;
        return Ok(format!("left {name}: gwfargate did not create it"));
    }
    wait::retrying(
        &format!("deleting load balancer {name}"),
        p,
        Patience::minutes(15),
        |err| has_code(err, &["ResourceInUse"]),
        || async {
            found(
                ctx.aws
                    .elb
                    .delete_load_balancer()
                    .load_balancer_arn(&arn)
                    .send()
                    .await
                    .aws(|| format!("deleting load balancer {name}")),
            )
            .map(|_| ())
        },
    )
    .await?;
    wait::until(
        &format!("load balancer {name} to be deleted"),
        p,
        Patience::minutes(15),
        || async {
            Ok(match find(ctx).await? {
                None => Poll::Ready(()),
                Some(lb) => Poll::Pending(state_of(&lb)),
            })
        },
    )
    .await?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name}"))
}
