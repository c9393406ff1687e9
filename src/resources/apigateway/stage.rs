//! The API deployment and its stage, named after the environment. A stage keeps serving its
//! old deployment until a new one is made (the original never made one after a change), so a
//! new deployment is made exactly when the integrations changed: their fingerprint is kept in
//! each deployment's description. A second `up` makes none.

use aws_sdk_apigateway::types::{Op, PatchOperation, Stage as Live};
use serde::{Deserialize, Serialize};

use super::{rest_api, vpc_link};
use crate::aws::create::create_once;
use crate::aws::tags;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Deleted, Dep, Depth, Diff, Env, Inputs, Key, Observed, Ownership, Ref, Resource, Value,
};
use crate::resources::ecs::service;
use crate::resources::elb::load_balancer;
use crate::state::Intent;

const DESCRIPTION_PREFIX: &str = "gwfargate integrations ";

/// The stage.
pub struct Stage {
    name: String,
    region: String,
    port: u16,
    rest_api: Ref<rest_api::Outputs>,
    vpc_link: Ref<vpc_link::Outputs>,
    load_balancer: Ref<load_balancer::Outputs>,
    service: Ref<service::Outputs>,
}

impl Stage {
    /// The environment's stage of `rest_api`. It makes the URL public, so it waits for the
    /// service to serve.
    pub fn new(
        deployment: &crate::config::Deployment,
        rest_api: &Ref<rest_api::Outputs>,
        vpc_link: &Ref<vpc_link::Outputs>,
        load_balancer: &Ref<load_balancer::Outputs>,
        service: &Ref<service::Outputs>,
    ) -> Stage {
        Stage {
            name: deployment.environment.clone(),
            region: deployment.region.clone(),
            port: deployment.service.port,
            rest_api: rest_api.clone(),
            vpc_link: vpc_link.clone(),
            load_balancer: load_balancer.clone(),
            service: service.clone(),
        }
    }

    fn wanted(&self, inputs: &Inputs<'_>) -> Option<String> {
        let link = inputs.get(&self.vpc_link)?;
        let lb = inputs.get(&self.load_balancer)?;
        Some(rest_api::fingerprint(&link.id, &lb.dns_name, self.port))
    }

    fn url(&self, api_id: &str) -> String {
        format!(
            "https://{api_id}.execute-api.{}.amazonaws.com/{}",
            self.region, self.name
        )
    }

    /// A deployment of the wanted integrations: one a run cut short made, or a new one.
    async fn deployment(
        &self,
        cx: &Cx<'_>,
        api_id: &str,
        fingerprint: &str,
    ) -> anyhow::Result<String> {
        let description = format!("{DESCRIPTION_PREFIX}{fingerprint}");
        let existing = || async {
            let out = cx
                .aws
                .apigw
                .get_deployments()
                .rest_api_id(api_id)
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
        if let Some(id) = existing().await? {
            return Ok(id);
        }
        cx.say("deploying");
        // CreateDeployment is limited to one call per 5 s; create-once retries its throttling
        // and finds a deployment whose answer was lost by its description.
        create_once("the deployment", cx.line, existing, || async {
            cx.single
                .apigw
                .create_deployment()
                .rest_api_id(api_id)
                .description(&description)
                .send()
                .await
                .aws(|| format!("deploying REST API {api_id}"))?
                .id()
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("CreateDeployment returned no id"))
        })
        .await
    }
}

/// What the stage hands its dependents: the public URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// The invoke URL.
    pub url: String,
}

/// The stage, with the fingerprint of the integrations its deployment serves when read.
#[derive(Debug, Clone)]
pub struct Found {
    /// The stage.
    pub stage: Live,
    /// The API it belongs to.
    pub api_id: String,
    /// The fingerprint in its deployment's description (`None`: not read, or not ours).
    pub fingerprint: Option<String>,
}

impl Resource for Stage {
    type Live = Found;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "stage".to_string()
    }

    fn kind(&self) -> &'static str {
        "api stage"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![
            self.rest_api.dep(),
            self.vpc_link.dep(),
            self.load_balancer.dep(),
            self.service.dep(),
        ]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Found>> {
        let Some(api) = inputs.get(&self.rest_api) else {
            return Ok(None);
        };
        let out = found(
            cx.aws
                .apigw
                .get_stage()
                .rest_api_id(&api.id)
                .stage_name(&self.name)
                .send()
                .await
                .aws(|| format!("reading stage {}", self.name)),
        )?;
        let Some(out) = out else { return Ok(None) };
        let stage = Live::builder()
            .set_stage_name(out.stage_name().map(str::to_string))
            .set_deployment_id(out.deployment_id().map(str::to_string))
            .set_tags(out.tags().cloned())
            .build();
        let fingerprint = match (depth, out.deployment_id()) {
            (Depth::Full, Some(deployment_id)) => found(
                cx.aws
                    .apigw
                    .get_deployment()
                    .rest_api_id(&api.id)
                    .deployment_id(deployment_id)
                    .send()
                    .await
                    .aws(|| format!("reading deployment {deployment_id}")),
            )?
            .and_then(|d| d.description().map(str::to_string))
            .and_then(|d| d.strip_prefix(DESCRIPTION_PREFIX).map(str::to_string)),
            _ => None,
        };
        Ok(Some(Found {
            stage,
            api_id: api.id,
            fingerprint,
        }))
    }

    /// Ours when it is on our API: only then is it looked up.
    fn ownership(&self, _env: &Env, _live: &Found) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, _live: &Found) -> String {
        self.name.clone()
    }

    fn outputs(&self, _env: &Env, live: &Found) -> Outputs {
        Outputs {
            url: self.url(&live.api_id),
        }
    }

    fn diff(&self, _env: &Env, live: &Found, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let want = self.wanted(inputs);
        if want.is_none() || want != live.fingerprint {
            diff.change(
                "deployment",
                live.fingerprint
                    .as_ref()
                    .map(|f| format!("integrations {f}")),
                want.map_or(Value::Unknown, |f| {
                    Value::Known(format!("integrations {f}"))
                }),
            );
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Found> {
        let api = inputs.need(&self.rest_api)?;
        let fingerprint = self
            .wanted(inputs)
            .ok_or_else(|| anyhow::anyhow!("the VPC link or load balancer is not there"))?;
        let deployment_id = self.deployment(cx, &api.id, &fingerprint).await?;
        let out = cx
            .aws
            .apigw
            .create_stage()
            .rest_api_id(&api.id)
            .stage_name(&self.name)
            .deployment_id(&deployment_id)
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating stage {}", self.name))?;
        Ok(Found {
            stage: Live::builder()
                .set_stage_name(out.stage_name().map(str::to_string))
                .deployment_id(deployment_id)
                .build(),
            api_id: api.id,
            fingerprint: Some(fingerprint),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Found>> {
        let fingerprint = self
            .wanted(inputs)
            .ok_or_else(|| anyhow::anyhow!("the VPC link or load balancer is not there"))?;
        let deployment_id = self.deployment(cx, &live.api_id, &fingerprint).await?;
        cx.aws
            .apigw
            .update_stage()
            .rest_api_id(&live.api_id)
            .stage_name(&self.name)
            .patch_operations(
                PatchOperation::builder()
                    .op(Op::Replace)
                    .path("/deploymentId")
                    .value(&deployment_id)
                    .build(),
            )
            .send()
            .await
            .aws(|| format!("pointing stage {} at deployment {deployment_id}", self.name))?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Deleted> {
        cx.aws
            .apigw
            .delete_stage()
            .rest_api_id(&live.api_id)
            .stage_name(&self.name)
            .send()
            .await
            .aws(|| format!("deleting stage {}", self.name))?;
        Ok(Deleted::Done(String::new()))
    }

    fn summary(&self, live: &Found) -> String {
        format!("{}: {}", self.name, self.url(&live.api_id))
    }

    fn observe(&self, live: &Found) -> Observed {
        Observed::present(
            "api stage",
            &self.name,
            live.stage.deployment_id().unwrap_or_default(),
            "present",
        )
        .detail(self.url(&live.api_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_new_deployment_is_made_only_when_the_integrations_changed() {
        let env = env();
        let r = Stage::new(
            &env.deployment,
            &Ref::new("rest_api"),
            &Ref::new("vpc_link"),
            &Ref::new("load_balancer"),
            &Ref::new("service"),
        );
        let world = World::default();
        world.publish(
            "vpc_link",
            vpc_link::Outputs {
                id: "link-1".into(),
            },
        );
        world.publish(
            "load_balancer",
            load_balancer::Outputs {
                arn: "lb".into(),
                dns_name: "nlb-1".into(),
            },
        );
        let live = |fp: &str| Found {
            stage: Live::builder().deployment_id("d-1").build(),
            api_id: "api-1".into(),
            fingerprint: Some(fp.to_string()),
        };
        let now = rest_api::fingerprint("link-1", "nlb-1", 8080);
        assert!(r.diff(&env, &live(&now), &world.inputs()) == Diff::none());
        let diff = r.diff(&env, &live("0000"), &world.inputs());
        assert_eq!(
            diff.words(),
            format!("deployment integrations 0000 → integrations {now}")
        );
        assert_eq!(
            r.outputs(&env, &live(&now)).url,
            "https://api-1.execute-api.eu-west-1.amazonaws.com/dev"
        );
    }
}
