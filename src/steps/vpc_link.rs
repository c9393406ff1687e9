//! The API Gateway (REST, v1) VPC link to the NLB: how the public API reaches the private
//! load balancer. AWS fails a link made before the NLB is active ("NLB is not in active
//! state"), so this step runs after the load balancer step has waited for that. A link found
//! FAILED is deleted and made again.

use aws_sdk_apigateway::types::{VpcLink, VpcLinkStatus};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience, Poll};

/// State key.
pub const KEY: &str = "vpc_link";

fn is_ours(ctx: &Ctx, link: &VpcLink) -> bool {
    link.tags()
        .is_some_and(|tags| ctx.is_ours(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// The link: by recorded id, else by name and tags.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<VpcLink>> {
    if let Some(rec) = ctx.state.get(KEY) {
        let link = found(
            ctx.aws
                .apigw
                .get_vpc_link()
                .vpc_link_id(&rec.id)
                .send()
                .await
                .aws(|| format!("describing VPC link {}", rec.id)),
        )?;
        if let Some(out) = link {
            return Ok(Some(
                VpcLink::builder()
                    .set_id(out.id().map(str::to_string))
                    .set_name(out.name().map(str::to_string))
                    .set_status(out.status().cloned())
                    .set_status_message(out.status_message().map(str::to_string))
                    .set_target_arns(Some(out.target_arns().to_vec()))
                    .set_tags(out.tags().cloned())
                    .build(),
            ));
        }
    }
    let mut pages = ctx
        .aws
        .apigw
        .get_vpc_links()
        .limit(500)
        .into_paginator()
        .send();
    let mut matches = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws(|| "listing VPC links".to_string())?;
        matches.extend(
            page.items()
                .iter()
                .filter(|l| l.name() == Some(ctx.names.vpc_link.as_str()) && is_ours(ctx, l))
                .cloned(),
        );
    }
    // Prefer a usable link over a failed or deleting one.
    matches.sort_by_key(|l| match l.status() {
        Some(VpcLinkStatus::Available) => 0,
        Some(VpcLinkStatus::Pending) => 1,
        _ => 2,
    });
    Ok(matches.into_iter().next())
}

fn status_of(link: &VpcLink) -> String {
    link.status().map_or_else(
        || "unknown".to_string(),
        |s| s.as_str().to_ascii_lowercase(),
    )
}

/// The link's id, or an error if it does not exist.
pub async fn id(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|l| l.id().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("VPC link {} does not exist", ctx.names.vpc_link))
}

/// Finds or creates the link and waits until it is available.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.vpc_link;
    let lb = super::load_balancer::require(ctx).await?;
    let lb_arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let mut existing = find(ctx).await?;
    while let Some(link) = &existing {
        let failed = link.status() == Some(&VpcLinkStatus::Failed);
        let deleting = link.status() == Some(&VpcLinkStatus::Deleting);
        let wrong_target = !link.target_arns().contains(&lb_arn);
        if !(failed || deleting || wrong_target) {
            break;
        }
        // A link an interrupted `down` left deleting is let go; a failed or stale one is
        // replaced. Either way, look again: another link of the stack may be usable.
        let id = link.id().unwrap_or_default().to_string();
        p.set(format!(
            "replacing {} link {id}",
            if failed {
                "failed"
            } else if deleting {
                "deleting"
            } else {
                "stale"
            }
        ));
        delete_and_wait(ctx, p, link).await?;
        existing = find(ctx).await?;
    }
    let (id, verb) = match existing {
        Some(link) => (link.id().unwrap_or_default().to_string(), "found"),
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::VpcLink, name)?;
            let id = create_once(
                &format!("VPC link {name}"),
                p,
                || async { Ok(find(ctx).await?.and_then(|l| l.id().map(str::to_string))) },
                || async {
                    let out = ctx
                        .single
                        .apigw
                        .create_vpc_link()
                        .name(name)
                        .description(format!(
                            "gwfargate {}: API Gateway to the NLB",
                            ctx.deployment.name
                        ))
                        .target_arns(&lb_arn)
                        .set_tags(Some(ctx.tag_map(name)))
                        .send()
                        .await
                        .aws(|| format!("creating VPC link {name}"))?;
                    out.id()
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateVpcLink returned no id"))
                },
            )
            .await?;
            ctx.record(KEY, Record::created(&id))?;
            (id, "created")
        }
    };
    ctx.record(KEY, Record::created(&id))?;
    wait::until(
        &format!("VPC link {name} to become available"),
        p,
        Patience::minutes(15),
        || async {
            Ok(match find(ctx).await? {
                None => Poll::Failed("it no longer exists".to_string()),
                Some(link) => match link.status() {
                    Some(VpcLinkStatus::Available) => Poll::Ready(()),
                    Some(VpcLinkStatus::Failed) => Poll::Failed(format!(
                        "AWS reports FAILED: {}. Run `{}` again to replace it",
                        link.status_message().unwrap_or("no reason given"),
                        ctx.command("up")
                    )),
                    _ => Poll::Pending(status_of(&link)),
                },
            })
        },
    )
    .await?;
    Ok(format!("{verb} {id}, available"))
}

async fn delete_and_wait(ctx: &Ctx, p: &StepProgress, link: &VpcLink) -> anyhow::Result<()> {
    let id = link.id().unwrap_or_default();
    if link.status() != Some(&VpcLinkStatus::Deleting) {
        delete_link(ctx, p, id).await?;
    }
    wait_until_deleted(ctx, p, id).await
}

async fn delete_link(ctx: &Ctx, p: &StepProgress, id: &str) -> anyhow::Result<()> {
    wait::retrying(
        &format!("deleting VPC link {id}"),
        p,
        Patience::minutes(5),
        // An integration deleted moments ago can still hold the link for a while.
        |err| {
            has_code(
                err,
                &[
                    "BadRequestException",
                    "ConflictException",
                    "TooManyRequestsException",
                ],
            )
        },
        || async {
            found(
                ctx.aws
                    .apigw
                    .delete_vpc_link()
                    .vpc_link_id(id)
                    .send()
                    .await
                    .aws(|| format!("deleting VPC link {id}")),
            )
            .map(|_| ())
        },
    )
    .await
}

async fn wait_until_deleted(ctx: &Ctx, p: &StepProgress, id: &str) -> anyhow::Result<()> {
    wait::until(
        &format!("VPC link {id} to be deleted"),
        p,
        Patience::minutes(15),
        || async {
            let out = found(
                ctx.aws
                    .apigw
                    .get_vpc_link()
                    .vpc_link_id(id)
                    .send()
                    .await
                    .aws(|| format!("describing VPC link {id}")),
            )?;
            Ok(match out {
                None => Poll::Ready(()),
                Some(link) => Poll::Pending(
                    link.status()
                        .map_or("unknown".to_string(), |s| s.as_str().to_ascii_lowercase()),
                ),
            })
        },
    )
    .await
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.vpc_link;
    Ok(vec![match find(ctx).await? {
        Some(link) => Observed::present(
            "vpc link",
            name,
            link.id().unwrap_or_default(),
            &status_of(&link),
        ),
        None => Observed::missing("vpc link", name),
    }])
}

/// Deletes the link and waits until it is gone, so the NLB can be deleted after it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let mut deleted = Vec::new();
    while let Some(link) = find(ctx).await? {
        let id = link.id().unwrap_or_default().to_string();
        delete_and_wait(ctx, p, &link).await?;
        ctx.state.forget(KEY)?;
        deleted.push(id);
    }
    ctx.state.forget(KEY)?;
    Ok(if deleted.is_empty() {
        "already gone".to_string()
    } else {
        format!("deleted {}", deleted.join(", "))
    })
}
