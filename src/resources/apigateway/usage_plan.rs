//! The usage plan that lets the stack's API key call the stage (`api.auth = "api_key"`): an
//! API key opens a stage only through a usage plan naming it
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).

use aws_sdk_apigateway::types::{ApiStage, Op, PatchOperation, UsagePlan as Plan};
use serde::{Deserialize, Serialize};

use super::{rest_api, stage};
use crate::aws::{AwsResultExt as _, found, tags};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen, Value,
};
use crate::state::Intent;

/// The usage plan.
pub struct UsagePlan {
    name: String,
    description: String,
    stage_name: String,
    rest_api: Ref<rest_api::Outputs>,
    stage: Ref<stage::Outputs>,
}

/// What it hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Usage plan id.
    pub id: String,
}

impl UsagePlan {
    /// The plan of `deployment`'s stage of `rest_api`.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        rest_api: &Ref<rest_api::Outputs>,
        stage: &Ref<stage::Outputs>,
    ) -> UsagePlan {
        UsagePlan {
            name: names.usage_plan.clone(),
            description: format!(
                "gwfargate {}: callers of {} with the stack's API key",
                deployment.name, deployment.service.name
            ),
            stage_name: deployment.environment.clone(),
            rest_api: rest_api.clone(),
            stage: stage.clone(),
        }
    }

    fn stage_words(api_id: &str, stage: &str) -> String {
        format!("{api_id}:{stage}")
    }
}

fn stages(plan: &Plan) -> Vec<String> {
    plan.api_stages()
        .iter()
        .map(|s| UsagePlan::stage_words(s.api_id().unwrap_or("?"), s.stage().unwrap_or("?")))
        .collect()
}

impl Resource for UsagePlan {
    type Live = Plan;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "usage_plan".to_string()
    }

    fn kind(&self) -> &'static str {
        "usage plan"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.rest_api.dep(), self.stage.dep()]
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Plan>> {
        let out = found(
            cx.aws
                .apigw
                .get_usage_plan()
                .usage_plan_id(id)
                .send()
                .await
                .aws(|| format!("reading usage plan {id}")),
        )?;
        Ok(out.map(|o| {
            Plan::builder()
                .set_id(o.id().map(str::to_string))
                .set_name(o.name().map(str::to_string))
                .set_api_stages(Some(o.api_stages().to_vec()))
                .set_tags(o.tags().cloned())
                .build()
        }))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Plan>> {
        let mut pages = cx
            .aws
            .apigw
            .get_usage_plans()
            .limit(500)
            .into_paginator()
            .send();
        let mut matches = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.aws(|| "listing usage plans".to_string())?;
            matches.extend(
                page.items()
                    .iter()
                    .filter(|p| {
                        p.name() == Some(self.name.as_str()) && cx.is_ours(tags::from_map(p.tags()))
                    })
                    .cloned(),
            );
        }
        matches.sort_by(|a, b| a.id().cmp(&b.id()));
        Ok(matches.into_iter().next())
    }

    fn tags(&self, live: &Plan) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Plan,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        super::retag(cx, &format!("/usageplans/{}", self.id(live)), changes).await
    }

    fn ownership(&self, env: &Env, live: &Plan) -> Ownership {
        env.owner(tags::from_map(live.tags()))
    }

    fn id(&self, live: &Plan) -> String {
        live.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Plan) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Plan, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let have = stages(live);
        match inputs.get(&self.rest_api) {
            Some(api) => {
                let want = Self::stage_words(&api.id, &self.stage_name);
                diff.add_missing("api_stages", &have, Some(vec![want]));
            }
            None => {
                diff.change("api_stages", crate::model::listed(&have), Value::Unknown);
            }
        }
        diff
    }

    fn new_fields(&self, _env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let stage = match inputs.get(&self.rest_api) {
            Some(api) => Value::Known(Self::stage_words(&api.id, &self.stage_name)),
            None => Value::Unknown,
        };
        vec![FieldChange {
            field: "api_stages".to_string(),
            from: None,
            to: stage,
            destructive: None,
        }]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Plan> {
        let api = inputs.need(&self.rest_api)?;
        let out = cx
            .single
            .apigw
            .create_usage_plan()
            .name(&self.name)
            .description(&self.description)
            .api_stages(
                ApiStage::builder()
                    .api_id(&api.id)
                    .stage(&self.stage_name)
                    .build(),
            )
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating usage plan {}", self.name))?;
        Ok(Plan::builder()
            .set_id(out.id().map(str::to_string))
            .set_name(out.name().map(str::to_string))
            .set_api_stages(Some(out.api_stages().to_vec()))
            .set_tags(out.tags().cloned())
            .build())
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Plan,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Plan>> {
        let api = inputs.need(&self.rest_api)?;
        let id = self.id(live);
        patch_stages(
            cx,
            &id,
            Op::Add,
            &Self::stage_words(&api.id, &self.stage_name),
        )
        .await?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Plan,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        // AWS deletes no plan that still names a stage (terraform removes them first too).
        for stage in stages(live) {
            patch_stages(cx, &id, Op::Remove, &stage).await?;
        }
        cx.aws
            .apigw
            .delete_usage_plan()
            .usage_plan_id(&id)
            .send()
            .await
            .aws(|| format!("deleting usage plan {id}"))?;
        Ok(None)
    }

    fn observe(&self, live: &Plan) -> Seen {
        Seen::new(&self.id(live), "present").detail(stages(live).join(", "))
    }
}

/// Adds or removes `stage` (`api:stage`) of usage plan `id`.
async fn patch_stages(cx: &Cx<'_>, id: &str, op: Op, stage: &str) -> anyhow::Result<()> {
    cx.aws
        .apigw
        .update_usage_plan()
        .usage_plan_id(id)
        .patch_operations(
            PatchOperation::builder()
                .op(op)
                .path("/apiStages")
                .value(stage)
                .build(),
        )
        .send()
        .await
        .aws(|| format!("changing the stages of usage plan {id}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn the_plan_names_the_stage_and_keeps_others() {
        let env = env();
        let r = UsagePlan::new(
            &env.deployment,
            &env.names,
            &Ref::new("rest_api"),
            &Ref::new("stage"),
        );
        let world = World::default();
        world.publish(
            "rest_api",
            rest_api::Outputs {
                id: "api-1".into(),
                routes: Default::default(),
                auth: None,
            },
        );
        let plan = |stages: &[(&str, &str)]| {
            Plan::builder()
                .id("plan-1")
                .set_api_stages(Some(
                    stages
                        .iter()
                        .map(|(a, s)| ApiStage::builder().api_id(*a).stage(*s).build())
                        .collect(),
                ))
                .build()
        };
        assert_eq!(
            r.diff(&env, &plan(&[]), &world.inputs()).words(),
            "api_stages (none) → api-1:dev"
        );
        assert_eq!(
            r.diff(
                &env,
                &plan(&[("api-1", "dev"), ("api-2", "prod")]),
                &world.inputs()
            ),
            Diff::none()
        );
        assert_eq!(env.names.usage_plan, "cluster1-plan-microservice1");
    }
}
