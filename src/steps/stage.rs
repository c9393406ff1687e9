//! The API deployment and its stage, named after the environment. A new deployment is made
//! only when the integrations changed (their fingerprint is kept in the deployment's
//! description), so a second `up` makes none.

use aws_sdk_apigateway::types::{Op, PatchOperation};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;

/// State key.
pub const KEY: &str = "stage";

const DESCRIPTION_PREFIX: &str = "gwfargate integrations ";

/// The public URL of the stage.
pub fn invoke_url(ctx: &Ctx, api_id: &str) -> String {
    format!(
        "https://{api_id}.execute-api.{}.amazonaws.com/{}",
        ctx.deployment.region, ctx.deployment.environment
    )
}

async fn deployment_fingerprint(
    ctx: &Ctx,
    api_id: &str,
    deployment_id: &str,
) -> anyhow::Result<Option<String>> {
    let out = found(
        ctx.aws
            .apigw
            .get_deployment()
            .rest_api_id(api_id)
            .deployment_id(deployment_id)
            .send()
            .await
            .aws(|| format!("reading deployment {deployment_id}")),
    )?;
    Ok(out
        .and_then(|d| d.description().map(str::to_string))
        .and_then(|d| d.strip_prefix(DESCRIPTION_PREFIX).map(str::to_string)))
}

/// The stage of the environment, if it exists.
async fn get_stage(
    ctx: &Ctx,
    api_id: &str,
) -> anyhow::Result<Option<aws_sdk_apigateway::operation::get_stage::GetStageOutput>> {
    let stage_name = &ctx.deployment.environment;
    found(
        ctx.aws
            .apigw
            .get_stage()
            .rest_api_id(api_id)
            .stage_name(stage_name)
            .send()
            .await
            .aws(|| format!("reading stage {stage_name}")),
    )
}

/// Makes a deployment when the integrations changed, and points the stage at it.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let api_id = super::rest_api::id(ctx).await?;
    let stage_name = &ctx.deployment.environment;
    let wanted = super::rest_api::wanted_fingerprint(ctx).await?;
    let stage = get_stage(ctx, &api_id).await?;
    let current = match stage.as_ref().and_then(|s| s.deployment_id()) {
        Some(deployment_id) => deployment_fingerprint(ctx, &api_id, deployment_id).await?,
        None => None,
    };
    let verb = if stage.is_some() && current.as_deref() == Some(wanted.as_str()) {
        "found"
    } else {
        p.set("deploying");
        ctx.intend(KEY, super::Step::Stage, stage_name)?;
        // CreateDeployment is limited to one call per 5 s; create_once retries its throttling,
        // and finds a deployment whose answer was lost by its description.
        let description = format!("{DESCRIPTION_PREFIX}{wanted}");
        let existing = || async {
            let out = ctx
                .aws
                .apigw
                .get_deployments()
                .rest_api_id(&api_id)
                .limit(500)
                .send()
                .await
                .aws(|| format!("listing the deployments of REST API {api_id}"))?;
            Ok(out
                .items()
                .iter()
                .find(|d| d.description() == Some(description.as_str()))
                .and_then(|d| d.id().map(str::to_string)))
        };
        // A run that died between CreateDeployment and pointing the stage at it left a
        // deployment of these very integrations: use it rather than make another.
        let deployment_id = match existing().await? {
            Some(id) => id,
            None => {
                create_once("the deployment", p, existing, || async {
                    ctx.single
                        .apigw
                        .create_deployment()
                        .rest_api_id(&api_id)
                        .description(&description)
                        .send()
                        .await
                        .aws(|| format!("deploying REST API {api_id}"))?
                        .id()
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateDeployment returned no id"))
                })
                .await?
            }
        };
        let deployment_id = deployment_id.as_str();
        if stage.is_some() {
            ctx.aws
                .apigw
                .update_stage()
                .rest_api_id(&api_id)
                .stage_name(stage_name)
                .patch_operations(
                    PatchOperation::builder()
                        .op(Op::Replace)
                        .path("/deploymentId")
                        .value(deployment_id)
                        .build(),
                )
                .send()
                .await
                .aws(|| format!("pointing stage {stage_name} at deployment {deployment_id}"))?;
            "redeployed"
        } else {
            create_once(
                &format!("stage {stage_name}"),
                p,
                || async { Ok(get_stage(ctx, &api_id).await?.map(|_| ())) },
                || async {
                    ctx.single
                        .apigw
                        .create_stage()
                        .rest_api_id(&api_id)
                        .stage_name(stage_name)
                        .deployment_id(deployment_id)
                        .set_tags(Some(ctx.tag_map(stage_name)))
                        .send()
                        .await
                        .aws(|| format!("creating stage {stage_name}"))
                        .map(|_| ())
                },
            )
            .await?;
            "created"
        }
    };
    let url = invoke_url(ctx, &api_id);
    ctx.record(KEY, Record::created(stage_name).with("url", &url))?;
    Ok(format!("{verb} {stage_name}: {url}"))
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let stage_name = &ctx.deployment.environment;
    let Some(api) = super::rest_api::find(ctx).await? else {
        return Ok(vec![Observed::missing("api stage", stage_name)]);
    };
    let api_id = api.id().unwrap_or_default();
    let stage = get_stage(ctx, api_id).await?;
    Ok(vec![match stage {
        Some(s) => Observed::present(
            "api stage",
            stage_name,
            s.deployment_id().unwrap_or_default(),
            "present",
        )
        .detail(invoke_url(ctx, api_id)),
        None => Observed::missing("api stage", stage_name),
    }])
}

/// Deletes the stage (the REST API step deletes the rest).
pub async fn delete(ctx: &Ctx, _p: &StepProgress) -> anyhow::Result<String> {
    let stage_name = &ctx.deployment.environment;
    let Some(api) = super::rest_api::find(ctx).await? else {
        ctx.state.forget(KEY)?;
        return Ok("already gone".to_string());
    };
    let api_id = api.id().unwrap_or_default();
    let gone = found(
        ctx.aws
            .apigw
            .delete_stage()
            .rest_api_id(api_id)
            .stage_name(stage_name)
            .send()
            .await
            .aws(|| format!("deleting stage {stage_name}")),
    )?
    .is_none();
    ctx.state.forget(KEY)?;
    Ok(if gone {
        "already gone".to_string()
    } else {
        format!("deleted {stage_name}")
    })
}
