//! The API deployment and its stage, named after the environment. A stage keeps serving its
//! old deployment until a new one is made (the original never made one after a change), so a
//! new deployment is made exactly when the integrations changed: their fingerprint is kept in
//! each deployment's description. A second `up` makes none. Deployments of ours that no stage
//! serves any more (the one a new deployment replaced, or one a run cut short left behind) are
//! removed, so the API keeps exactly the deployment its stage serves.
//!
//! Every method of the stage is throttled (`*/*`): without a limit, anyone can spend the
//! account's request quota, which every API in the region shares
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
//!
//! Every request is written to the stack's access log group as one JSON object, which needs
//! the account's CloudWatch role ([`super::account`]) first. X-Ray tracing is on when the env
//! file asks.

use std::collections::BTreeSet;

use aws_sdk_apigateway::types::Stage as Live;
use serde::{Deserialize, Serialize};

use super::{account, integration, rest_api, vpc_link};
use crate::aws::create::create_once;
use crate::aws::tags;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen, Value,
};
use crate::resources::ecs::service;
use crate::resources::elb::load_balancer;
use crate::resources::logs;
use crate::state::Intent;

const DESCRIPTION_PREFIX: &str = "gwfargate integrations ";

/// The method settings' key for every method of the stage.
const EVERY_METHOD: &str = "*/*";

/// One JSON object per request: who, what, when, how it ended, and how long the service took
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html).
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","#,
    r#""caller":"$context.identity.caller","user":"$context.identity.user","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","path":"$context.path","#,
    r#""status":"$context.status","protocol":"$context.protocol","#,
    r#""responseLength":"$context.responseLength","#,
    r#""integrationLatency":"$context.integration.latency","#,
    r#""integrationStatus":"$context.integration.status","#,
    r#""errorMessage":"$context.error.message"}"#
);

/// Where the stage's access log goes: the log group, and the account's role that lets API
/// Gateway write it.
pub struct Logging<'a> {
    /// The access log group.
    pub log_group: &'a Ref<logs::Outputs>,
    /// The account's CloudWatch role setting.
    pub role: &'a Ref<account::Outputs>,
}

/// The stage.
pub struct Stage {
    name: String,
    region: String,
    port: u16,
    authorization: String,
    throttle: crate::config::Throttle,
    method_throttles: std::collections::BTreeMap<String, crate::config::Throttle>,
    tracing: bool,
    web_acl: Option<String>,
    access_log: Ref<logs::Outputs>,
    logging_role: Ref<account::Outputs>,
    rest_api: Ref<rest_api::Outputs>,
    integrations: Ref<integration::Outputs>,
    vpc_link: Ref<vpc_link::Outputs>,
    load_balancer: Ref<load_balancer::Outputs>,
    service: Ref<service::Outputs>,
    also_after: Vec<Dep>,
}

impl Stage {
    /// The environment's stage of `rest_api`, deploying its `integrations`. It makes the URL
    /// public, so it waits for the service to serve.
    pub fn new(
        deployment: &crate::config::Deployment,
        rest_api: &Ref<rest_api::Outputs>,
        integrations: &Ref<integration::Outputs>,
        vpc_link: &Ref<vpc_link::Outputs>,
        load_balancer: &Ref<load_balancer::Outputs>,
        service: &Ref<service::Outputs>,
        logging: Logging<'_>,
    ) -> Stage {
        Stage {
            name: deployment.environment.clone(),
            region: deployment.region.clone(),
            port: deployment.service.port,
            authorization: authorization_word(&deployment.api),
            throttle: deployment.api.throttle,
            method_throttles: deployment.api.method_throttles.clone(),
            tracing: deployment.api.tracing,
            web_acl: deployment.api.waf_acl.clone(),
            access_log: logging.log_group.clone(),
            logging_role: logging.role.clone(),
            rest_api: rest_api.clone(),
            integrations: integrations.clone(),
            vpc_link: vpc_link.clone(),
            load_balancer: load_balancer.clone(),
            service: service.clone(),
            also_after: Vec::new(),
        }
    }

    /// Deploys only once `dep` is ready too (an authorizer setting the methods).
    pub fn after(mut self, dep: Dep) -> Stage {
        self.also_after.push(dep);
        self
    }

    fn wanted(&self, inputs: &Inputs<'_>) -> Option<String> {
        let link = inputs.get(&self.vpc_link)?;
        let lb = inputs.get(&self.load_balancer)?;
        Some(integration::fingerprint(
            &link.id,
            &lb.dns_name,
            self.port,
            &self.authorization,
        ))
    }

    /// The access log group's ARN as API Gateway takes it (no `:*`), once its name is known.
    fn access_log_arn(&self, env: &Env, inputs: &Inputs<'_>) -> Option<String> {
        let group = inputs.get(&self.access_log)?;
        Some(env.arn("logs", &format!("log-group:{}", group.name)))
    }

    /// The throttling to converge: the stage's (`*/*`), each method the env file throttles
    /// otherwise, and each method throttled otherwise on AWS but not in the env file (back
    /// to the stage's). As (plan field, method settings key, wanted limits).
    fn throttles(&self, live: &Found) -> Vec<(String, String, crate::config::Throttle)> {
        let mut out = vec![(
            "throttle".to_string(),
            EVERY_METHOD.to_string(),
            self.throttle,
        )];
        for method in crate::config::API_METHODS {
            let key = method_key(method);
            let want = match self.method_throttles.get(method) {
                Some(limits) => *limits,
                None if limits(&live.stage, &key) != (None, None) => self.throttle,
                None => continue,
            };
            out.push((format!("throttle[{method}]"), key, want));
        }
        out
    }

    fn url(&self, api_id: &str) -> String {
        super::invoke_url(api_id, &self.region, &self.name)
    }

    /// A deployment of the wanted integrations (one a run cut short made, or a new one), and
    /// the other deployments of ours on the API.
    async fn deployment(
        &self,
        cx: &Cx<'_>,
        api_id: &str,
        fingerprint: &str,
    ) -> anyhow::Result<(String, Vec<String>)> {
        let description = format!("{DESCRIPTION_PREFIX}{fingerprint}");
        let ours = deployments(cx, api_id).await?;
        let others = ours
            .iter()
            .filter(|(_, f)| f != fingerprint)
            .map(|(id, _)| id.clone())
            .collect();
        if let Some((id, _)) = ours.iter().find(|(_, f)| f == fingerprint) {
            return Ok((id.clone(), others));
        }
        let existing = || async {
            Ok(deployments(cx, api_id)
                .await?
                .into_iter()
                .find(|(_, f)| f == fingerprint)
                .map(|(id, _)| id))
        };
        cx.say("deploying");
        // CreateDeployment is limited to one call per 5 s; create-once retries its throttling
        // and finds a deployment whose answer was lost by its description.
        let id = create_once("the deployment", cx.line, existing, || async {
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
        .await?;
        Ok((id, others))
    }

    /// Deletes those of `candidates` no stage of the API serves (a stage someone else added
    /// may serve one of ours; AWS would refuse to delete it).
    async fn remove_unused(
        &self,
        cx: &Cx<'_>,
        api_id: &str,
        candidates: BTreeSet<String>,
    ) -> anyhow::Result<()> {
        if candidates.is_empty() {
            return Ok(());
        }
        let served = served(cx, api_id).await?;
        let unused: Vec<String> = candidates.difference(&served).cloned().collect();
        if unused.is_empty() {
            return Ok(());
        }
        cx.say(format!(
            "removing {} unused deployment{}",
            unused.len(),
            if unused.len() == 1 { "" } else { "s" }
        ));
        for id in &unused {
            found(
                cx.single
                    .apigw
                    .delete_deployment()
                    .rest_api_id(api_id)
                    .deployment_id(id)
                    .send()
                    .await
                    .aws(|| format!("deleting unused deployment {id} of REST API {api_id}")),
            )?;
        }
        Ok(())
    }
}

/// Who may call the API, as the deployment's fingerprint keeps it: with an authorizer's
/// settings, which reach the stage only with a new deployment.
fn authorization_word(api: &crate::config::Api) -> String {
    let word = api.auth.fingerprint_word();
    match (&api.lambda_authorizer, api.cognito_user_pools.is_empty()) {
        (Some(lambda), _) => format!(
            "{word}:{}:{}",
            lambda.function,
            if lambda.request { "request" } else { "token" }
        ),
        (None, false) => format!("{word}:{}", api.cognito_user_pools.join(",")),
        (None, true) => word.to_string(),
    }
}

/// The method settings key of `method` (`ANY /{proxy+}` → `~1{proxy+}/ANY`): its resource
/// path with `/` written `~1`, then its HTTP method.
fn method_key(method: &str) -> String {
    let (verb, path) = method.split_once(' ').unwrap_or((method, "/"));
    format!("{}/{verb}", path.replace('/', "~1"))
}

/// The rate and burst the stage's method settings give `key`, as the plan shows them (`None`:
/// not set).
fn limits(stage: &Live, key: &str) -> (Option<String>, Option<String>) {
    let setting = stage.method_settings().and_then(|s| s.get(key));
    #[allow(clippy::cast_possible_truncation)]
    let rate = setting
        .map(|m| m.throttling_rate_limit().round() as i64)
        .filter(|r| *r > 0)
        .map(|r| r.to_string());
    let burst = setting
        .map(|m| m.throttling_burst_limit())
        .filter(|b| *b > 0)
        .map(|b| b.to_string());
    (rate, burst)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The deployments of ours on the API, with the fingerprint in each one's description.
async fn deployments(cx: &Cx<'_>, api_id: &str) -> anyhow::Result<Vec<(String, String)>> {
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
        .filter_map(|d| {
            let fingerprint = d.description()?.strip_prefix(DESCRIPTION_PREFIX)?;
            Some((d.id()?.to_string(), fingerprint.to_string()))
        })
        .collect())
}

/// The deployments the API's stages serve.
async fn served(cx: &Cx<'_>, api_id: &str) -> anyhow::Result<BTreeSet<String>> {
    let out = cx
        .aws
        .apigw
        .get_stages()
        .rest_api_id(api_id)
        .send()
        .await
        .aws(|| format!("listing the stages of REST API {api_id}"))?;
    Ok(out
        .item()
        .iter()
        .filter_map(|s| s.deployment_id().map(str::to_string))
        .collect())
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
    /// Deployments of ours no stage serves (read in full only).
    pub unused: Vec<String>,
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
        let mut deps = vec![
            self.rest_api.dep(),
            self.integrations.dep(),
            self.vpc_link.dep(),
            self.load_balancer.dep(),
            self.service.dep(),
            self.access_log.dep(),
            self.logging_role.dep(),
        ];
        deps.extend(self.also_after.iter().cloned());
        deps
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.rest_api.dep().key]
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
        // All the stages at once: ours, and which deployments any stage serves.
        let out = found(
            cx.aws
                .apigw
                .get_stages()
                .rest_api_id(&api.id)
                .send()
                .await
                .aws(|| format!("reading the stages of REST API {}", api.id)),
        )?;
        let Some(out) = out else { return Ok(None) };
        let Some(ours) = out
            .item()
            .iter()
            .find(|s| s.stage_name() == Some(self.name.as_str()))
        else {
            return Ok(None);
        };
        let stage = Live::builder()
            .set_stage_name(ours.stage_name().map(str::to_string))
            .set_deployment_id(ours.deployment_id().map(str::to_string))
            .set_method_settings(ours.method_settings().cloned())
            .set_access_log_settings(ours.access_log_settings().cloned())
            .tracing_enabled(ours.tracing_enabled())
            .set_web_acl_arn(ours.web_acl_arn().map(str::to_string))
            .set_tags(ours.tags().cloned())
            .build();
        let (fingerprint, unused) = match depth {
            Depth::Full => {
                let deployments = deployments(cx, &api.id).await?;
                let fingerprint = deployments
                    .iter()
                    .find(|(id, _)| Some(id.as_str()) == ours.deployment_id())
                    .map(|(_, f)| f.clone());
                let unused = deployments
                    .into_iter()
                    .map(|(id, _)| id)
                    .filter(|id| {
                        !out.item()
                            .iter()
                            .any(|s| s.deployment_id() == Some(id.as_str()))
                    })
                    .collect();
                (fingerprint, unused)
            }
            Depth::Observe => (None, Vec::new()),
        };
        Ok(Some(Found {
            stage,
            api_id: api.id,
            fingerprint,
            unused,
        }))
    }

    /// A stage whose tags someone removed has no tag map at all: it reads as no tags.
    fn tags(&self, live: &Found) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.stage.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        super::retag(
            cx,
            &format!("/restapis/{}/stages/{}", live.api_id, self.name),
            changes,
        )
        .await
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

    fn diff(&self, env: &Env, live: &Found, inputs: &Inputs<'_>) -> Diff {
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
        for (field, key, want) in self.throttles(live) {
            let (rate, burst) = limits(&live.stage, &key);
            diff.compare(
                &format!("{field}.rate"),
                rate.as_deref(),
                want.rate.to_string(),
            )
            .compare(
                &format!("{field}.burst"),
                burst.as_deref(),
                want.burst.to_string(),
            );
        }
        let logged = live.stage.access_log_settings();
        diff.compare(
            "access_log",
            logged.and_then(|l| l.destination_arn()),
            self.access_log_arn(env, inputs)
                .map_or(Value::Unknown, Value::Known),
        );
        if logged.and_then(|l| l.format()) != Some(ACCESS_LOG_FORMAT) {
            diff.change(
                "access_log.format",
                logged
                    .and_then(|l| l.format())
                    .map(|_| "(another format)".to_string()),
                "JSON",
            );
        }
        diff.compare(
            "tracing",
            Some(on_off(live.stage.tracing_enabled())),
            on_off(self.tracing),
        );
        // Without the key, a web ACL someone else associated (a security team, Firewall
        // Manager) is left as it is.
        if self.web_acl.is_some() && live.stage.web_acl_arn() != self.web_acl.as_deref() {
            diff.change(
                "web_acl",
                live.stage.web_acl_arn().map(str::to_string),
                self.web_acl.as_deref().unwrap_or("(none)"),
            );
        }
        if !live.unused.is_empty() {
            diff.change(
                "unused_deployments",
                Some(live.unused.len().to_string()),
                "0",
            );
        }
        diff
    }

    fn new_fields(&self, env: &Env, inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![
            FieldChange::setting("throttle.rate", self.throttle.rate.to_string()),
            FieldChange::setting("throttle.burst", self.throttle.burst.to_string()),
        ];
        for (method, limits) in &self.method_throttles {
            fields.push(FieldChange::setting(
                &format!("throttle[{method}].rate"),
                limits.rate.to_string(),
            ));
            fields.push(FieldChange::setting(
                &format!("throttle[{method}].burst"),
                limits.burst.to_string(),
            ));
        }
        if let Some(arn) = self.access_log_arn(env, inputs) {
            fields.push(FieldChange::setting("access_log", arn));
        }
        if self.tracing {
            fields.push(FieldChange::setting("tracing", "on"));
        }
        if let Some(acl) = &self.web_acl {
            fields.push(FieldChange::setting("web_acl", acl));
        }
        fields
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
        let (deployment_id, others) = self.deployment(cx, &api.id, &fingerprint).await?;
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
        self.remove_unused(cx, &api.id, others.into_iter().collect())
            .await?;
        Ok(Found {
            stage: Live::builder()
                .set_stage_name(out.stage_name().map(str::to_string))
                .deployment_id(deployment_id)
                .set_tags(out.tags().cloned())
                .build(),
            api_id: api.id,
            fingerprint: Some(fingerprint),
            unused: Vec::new(),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Found>> {
        let mut unused: BTreeSet<String> = live.unused.iter().cloned().collect();
        let mut throttling = Vec::new();
        for (field, key, want) in self.throttles(live) {
            if diff.changes(&format!("{field}.rate")) || diff.changes(&format!("{field}.burst")) {
                throttling.push(super::replace(
                    &format!("/{key}/throttling/rateLimit"),
                    want.rate.to_string(),
                ));
                throttling.push(super::replace(
                    &format!("/{key}/throttling/burstLimit"),
                    want.burst.to_string(),
                ));
            }
        }
        if !throttling.is_empty() {
            cx.aws
                .apigw
                .update_stage()
                .rest_api_id(&live.api_id)
                .stage_name(&self.name)
                .set_patch_operations(Some(throttling))
                .send()
                .await
                .aws(|| format!("throttling stage {}", self.name))?;
        }
        if diff.changes("access_log") || diff.changes("access_log.format") {
            let arn = self
                .access_log_arn(cx, inputs)
                .ok_or_else(|| anyhow::anyhow!("the access log group is not there"))?;
            cx.say("turning on the access log");
            cx.aws
                .apigw
                .update_stage()
                .rest_api_id(&live.api_id)
                .stage_name(&self.name)
                .patch_operations(super::replace("/accessLogSettings/destinationArn", &arn))
                .patch_operations(super::replace(
                    "/accessLogSettings/format",
                    ACCESS_LOG_FORMAT,
                ))
                .send()
                .await
                .aws(|| format!("setting the access log of stage {}", self.name))?;
        }
        if diff.changes("web_acl") {
            let stage = format!(
                "arn:{}:apigateway:{}::/restapis/{}/stages/{}",
                cx.partition(),
                self.region,
                live.api_id,
                self.name
            );
            match &self.web_acl {
                Some(acl) => {
                    cx.say("associating the web ACL");
                    cx.aws
                        .waf
                        .associate_web_acl()
                        .web_acl_arn(acl)
                        .resource_arn(&stage)
                        .send()
                        .await
                        .map(|_| ())
                        .aws(|| format!("associating web ACL {acl} with stage {}", self.name))?;
                }
                None => {
                    cx.aws
                        .waf
                        .disassociate_web_acl()
                        .resource_arn(&stage)
                        .send()
                        .await
                        .map(|_| ())
                        .aws(|| format!("removing the web ACL of stage {}", self.name))?;
                }
            }
        }
        if diff.changes("tracing") {
            cx.aws
                .apigw
                .update_stage()
                .rest_api_id(&live.api_id)
                .stage_name(&self.name)
                .patch_operations(super::replace("/tracingEnabled", self.tracing.to_string()))
                .send()
                .await
                .aws(|| format!("setting X-Ray tracing of stage {}", self.name))?;
        }
        if diff.changes("deployment") {
            let fingerprint = self
                .wanted(inputs)
                .ok_or_else(|| anyhow::anyhow!("the VPC link or load balancer is not there"))?;
            let (deployment_id, others) = self.deployment(cx, &live.api_id, &fingerprint).await?;
            cx.aws
                .apigw
                .update_stage()
                .rest_api_id(&live.api_id)
                .stage_name(&self.name)
                .patch_operations(super::replace("/deploymentId", &deployment_id))
                .send()
                .await
                .aws(|| format!("pointing stage {} at deployment {deployment_id}", self.name))?;
            unused.extend(others);
        }
        self.remove_unused(cx, &live.api_id, unused).await?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Found,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        cx.aws
            .apigw
            .delete_stage()
            .rest_api_id(&live.api_id)
            .stage_name(&self.name)
            .send()
            .await
            .aws(|| format!("deleting stage {}", self.name))?;
        Ok(None)
    }

    fn summary(&self, live: &Found) -> String {
        format!("{}: {}", self.name, self.url(&live.api_id))
    }

    fn observe(&self, live: &Found) -> Seen {
        Seen::new(live.stage.deployment_id().unwrap_or_default(), "present")
            .detail(self.url(&live.api_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn stage(env: &Env) -> Stage {
        Stage::new(
            &env.deployment,
            &Ref::new("rest_api"),
            &Ref::new("integrations"),
            &Ref::new("vpc_link"),
            &Ref::new("load_balancer"),
            &Ref::new("service"),
            Logging {
                log_group: &Ref::new("log_group/api-access"),
                role: &Ref::new("apigateway_account"),
            },
        )
    }

    const ACCESS_LOG_ARN: &str =
        "arn:aws:logs:eu-west-1:123456789012:log-group:/apigateway/cluster1/microservice1/access";

    fn logged(format: &str) -> aws_sdk_apigateway::types::AccessLogSettings {
        aws_sdk_apigateway::types::AccessLogSettings::builder()
            .destination_arn(ACCESS_LOG_ARN)
            .format(format)
            .build()
    }

    fn with_access_log(world: &World) {
        world.publish(
            "log_group/api-access",
            logs::Outputs {
                name: "/apigateway/cluster1/microservice1/access".into(),
            },
        );
    }

    #[test]
    fn every_request_is_logged_as_json_and_tracing_follows_the_env_file() {
        let mut env = env();
        let world = World::default();
        let found = |stage: Live| Found {
            stage,
            api_id: "api-1".into(),
            fingerprint: None,
            unused: Vec::new(),
        };
        let words = |env: &Env, stage: Live| {
            stage_words(&stage_of(env).diff(env, &found(stage), &world.inputs()))
        };
        // The log group is yet to be made: known after up.
        assert_eq!(
            words(&env, Live::builder().deployment_id("d-1").build()),
            [
                "access_log: None → (known after up)",
                "access_log.format: None → JSON"
            ]
        );
        with_access_log(&world);
        assert!(words(&env, throttled(100.0, 200)).is_empty());
        let other = Live::builder()
            .deployment_id("d-1")
            .access_log_settings(logged("$context.requestId"))
            .build();
        assert_eq!(
            words(&env, other),
            ["access_log.format: Some(\"(another format)\") → JSON"]
        );
        env.deployment.api.tracing = true;
        assert_eq!(
            words(&env, throttled(100.0, 200)),
            ["tracing: Some(\"off\") → on"]
        );
    }

    #[test]
    fn a_method_throttled_on_its_own_is_converged_and_one_dropped_goes_back_to_the_stages() {
        let mut env = env();
        env.deployment.api.method_throttles.insert(
            "ANY /{proxy+}".into(),
            crate::config::Throttle { rate: 5, burst: 10 },
        );
        assert_eq!(method_key("ANY /{proxy+}"), "~1{proxy+}/ANY");
        assert_eq!(method_key("ANY /"), "~1/ANY");
        let world = World::default();
        let r = stage(&env);
        let found = |stage: Live| Found {
            stage,
            api_id: "api-1".into(),
            fingerprint: None,
            unused: Vec::new(),
        };
        let throttle_words = |live: Live| {
            r.diff(&env, &found(live), &world.inputs())
                .fields
                .iter()
                .filter(|f| f.field.starts_with("throttle["))
                .map(|f| format!("{} {:?} → {}", f.field, f.from, f.to))
                .collect::<Vec<_>>()
        };
        let setting = |rate: f64, burst: i32| {
            aws_sdk_apigateway::types::MethodSetting::builder()
                .throttling_rate_limit(rate)
                .throttling_burst_limit(burst)
                .build()
        };
        assert_eq!(
            throttle_words(throttled(100.0, 200)),
            [
                "throttle[ANY /{proxy+}].rate None → 5",
                "throttle[ANY /{proxy+}].burst None → 10"
            ]
        );
        let live = Live::builder()
            .method_settings(EVERY_METHOD, setting(100.0, 200))
            .method_settings("~1{proxy+}/ANY", setting(5.0, 10))
            .method_settings("~1/ANY", setting(7.0, 8))
            .build();
        assert_eq!(
            throttle_words(live),
            [
                "throttle[ANY /].rate Some(\"7\") → 100",
                "throttle[ANY /].burst Some(\"8\") → 200"
            ]
        );
    }

    fn stage_of(env: &Env) -> Stage {
        stage(env)
    }

    /// The diff's access log and tracing fields, in words.
    fn stage_words(diff: &Diff) -> Vec<String> {
        diff.fields
            .iter()
            .filter(|f| f.field.starts_with("access_log") || f.field == "tracing")
            .map(|f| format!("{}: {:?} → {}", f.field, f.from, f.to))
            .collect()
    }

    fn throttled(rate: f64, burst: i32) -> Live {
        Live::builder()
            .deployment_id("d-1")
            .access_log_settings(logged(ACCESS_LOG_FORMAT))
            .method_settings(
                EVERY_METHOD,
                aws_sdk_apigateway::types::MethodSetting::builder()
                    .throttling_rate_limit(rate)
                    .throttling_burst_limit(burst)
                    .build(),
            )
            .build()
    }

    #[test]
    fn every_method_is_throttled_as_the_env_file_says() {
        let env = env();
        let r = stage(&env);
        let world = World::default();
        let found = |stage: Live| Found {
            stage,
            api_id: "api-1".into(),
            fingerprint: None,
            unused: Vec::new(),
        };
        let words = |stage: Live| {
            r.diff(&env, &found(stage), &world.inputs())
                .fields
                .iter()
                .filter(|f| f.field.starts_with("throttle"))
                .map(|f| format!("{}: {:?} → {}", f.field, f.from, f.to))
                .collect::<Vec<_>>()
        };
        assert!(words(throttled(100.0, 200)).is_empty());
        assert_eq!(
            words(Live::builder().deployment_id("d-1").build()),
            ["throttle.rate: None → 100", "throttle.burst: None → 200"]
        );
        assert_eq!(
            words(throttled(10_000.0, 5_000)),
            [
                "throttle.rate: Some(\"10000\") → 100",
                "throttle.burst: Some(\"5000\") → 200"
            ]
        );
    }

    #[test]
    fn a_new_deployment_is_made_only_when_the_integrations_changed() {
        let env = env();
        let r = stage(&env);
        let world = World::default();
        with_access_log(&world);
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
            stage: throttled(100.0, 200),
            api_id: "api-1".into(),
            fingerprint: Some(fp.to_string()),
            unused: Vec::new(),
        };
        let now = integration::fingerprint("link-1", "nlb-1", 8080, "NONE");
        assert!(r.diff(&env, &live(&now), &world.inputs()) == Diff::none());
        let diff = r.diff(&env, &live("0000"), &world.inputs());
        assert_eq!(
            diff.words(),
            format!("deployment integrations 0000 → integrations {now}")
        );
        // A deployment a run cut short left behind is removed, even with nothing else to do.
        let left_behind = Found {
            unused: vec!["d-0".into()],
            ..live(&now)
        };
        assert_eq!(
            r.diff(&env, &left_behind, &world.inputs()).words(),
            "unused_deployments 1 → 0"
        );
        assert_eq!(
            r.outputs(&env, &live(&now)).url,
            "https://api-1.execute-api.eu-west-1.amazonaws.com/dev"
        );
    }
}
