//! The task execution role: what ECS uses to pull the image and ship logs on the tasks'
//! behalf. Its inline policy is scoped to the stack's log group and, when the image is in this
//! account's ECR, to that repository (`ecr:GetAuthorizationToken` only works with `*`).

use aws_sdk_iam::types::{Role, Tag};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::config::ImageRef;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "execution_role";

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The role, by name.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<Role>> {
    let name = &ctx.names.execution_role;
    let out = found(
        ctx.aws
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .aws(|| format!("looking up IAM role {name}")),
    )?;
    Ok(out.and_then(|o| o.role().cloned()))
}

fn is_ours(ctx: &Ctx, role: &Role) -> bool {
    ctx.is_ours(role.tags().iter().map(|t| (t.key(), t.value())))
}

/// The inline policy document for this deployment.
pub fn policy_document(ctx: &Ctx) -> String {
    let log_group_arn = ctx.arn("logs", &format!("log-group:{}:*", ctx.names.log_group));
    let image = ImageRef::parse(&ctx.deployment.service.image).ok();
    let pull_resource = image
        .as_ref()
        .and_then(|i| i.ecr().map(|loc| (i.repository.clone(), loc)))
        .map_or_else(
            || "*".to_string(),
            |(repo, loc)| {
                format!(
                    "arn:{}:ecr:{}:{}:repository/{repo}",
                    ctx.partition(),
                    loc.region,
                    loc.account
                )
            },
        );
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "EcrPull", "Effect": "Allow",
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
             "Resource": pull_resource},
            {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": log_group_arn},
            {"Sid": "ImageLayers", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": format!("arn:{}:s3:::prod-{}-starport-layer-bucket/*", ctx.partition(), ctx.deployment.region)}
        ]
    })
    .to_string()
}

/// Finds or creates the role and puts its inline policy.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.execution_role;
    let (arn, verb) = match find(ctx).await? {
        Some(role) if is_ours(ctx, &role) => (role.arn().to_string(), "found"),
        Some(_) => return Err(ctx.not_ours(&format!("IAM role {name}"))),
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::ExecutionRole, name)?;
            let tags: Vec<Tag> = ctx
                .tags(name)
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<_, _>>()?;
            let out = ctx
                .aws
                .iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(TRUST_POLICY)
                .description(format!(
                    "gwfargate {}: ECS task execution",
                    ctx.deployment.name
                ))
                .set_tags(Some(tags))
                .send()
                .await;
            let arn = match out.aws(|| format!("creating IAM role {name}")) {
                Ok(out) => out.role().map(|r| r.arn().to_string()),
                // An earlier answer was lost: the role is there, with our tags. A role someone
                // else made meanwhile is not taken over.
                Err(err) if has_code(&err, &["EntityAlreadyExists"]) => match find(ctx).await? {
                    Some(role) if !is_ours(ctx, &role) => {
                        return Err(ctx.not_ours(&format!("IAM role {name}")));
                    }
                    role => role.map(|r| r.arn().to_string()),
                },
                Err(err) => return Err(err),
            }
            .ok_or_else(|| anyhow::anyhow!("CreateRole returned no role"))?;
            (arn, "created")
        }
    };
    ctx.record(KEY, Record::created(&arn))?;
    let wanted = policy_document(ctx);
    if current_policy(ctx).await? == serde_json::from_str::<serde_json::Value>(&wanted).ok() {
        return Ok(format!("{verb} {name}"));
    }
    p.set("putting the inline policy");
    ctx.aws
        .iam
        .put_role_policy()
        .role_name(name)
        .policy_name(&ctx.names.execution_policy)
        .policy_document(wanted)
        .send()
        .await
        .aws(|| format!("putting the inline policy of IAM role {name}"))?;
    Ok(if verb == "found" {
        format!("found {name}, updated its policy")
    } else {
        format!("{verb} {name}")
    })
}

/// The role's inline policy as it is now, if it has one. IAM answers with the document
/// URL-encoded.
async fn current_policy(ctx: &Ctx) -> anyhow::Result<Option<serde_json::Value>> {
    let name = &ctx.names.execution_role;
    let out = found(
        ctx.aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&ctx.names.execution_policy)
            .send()
            .await
            .aws(|| format!("reading the inline policy of IAM role {name}")),
    )?;
    Ok(out.and_then(|o| {
        let text = percent_encoding::percent_decode_str(o.policy_document())
            .decode_utf8()
            .ok()?
            .into_owned();
        serde_json::from_str(&text).ok()
    }))
}

/// The role's ARN, or an error if it does not exist.
pub async fn arn(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .map(|r| r.arn().to_string())
        .ok_or_else(|| anyhow::anyhow!("IAM role {} does not exist", ctx.names.execution_role))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.execution_role;
    Ok(vec![match find(ctx).await? {
        Some(role) => Observed::present("iam role", name, role.arn(), "present"),
        None => Observed::missing("iam role", name),
    }])
}

/// Removes the role's policies, then the role, if gwfargate made it.
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.execution_role;
    let Some(role) = find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    if !is_ours(ctx, &role) {
        ctx.state.forget(KEY)?;
        return Ok(format!("left {name}: gwfargate did not create it"));
    }
    p.set("removing policies");
    let inline = ctx
        .aws
        .iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .aws(|| format!("listing the policies of IAM role {name}"))?;
    for policy in inline.policy_names() {
        found(
            ctx.aws
                .iam
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .aws(|| format!("deleting policy {policy} of IAM role {name}")),
        )?;
    }
    let attached = ctx
        .aws
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .aws(|| format!("listing the attached policies of IAM role {name}"))?;
    for policy in attached.attached_policies() {
        if let Some(policy_arn) = policy.policy_arn() {
            found(
                ctx.aws
                    .iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(policy_arn)
                    .send()
                    .await
                    .aws(|| format!("detaching {policy_arn} from IAM role {name}")),
            )?;
        }
    }
    found(
        ctx.aws
            .iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .aws(|| format!("deleting IAM role {name}")),
    )?;
    ctx.state.forget(KEY)?;
    Ok(format!("deleted {name}"))
}
