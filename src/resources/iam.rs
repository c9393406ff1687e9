//! The stack's IAM roles, each with its inline policy. The task execution role: what ECS uses
//! to pull the image and ship logs on the tasks' behalf. Its inline policy is scoped to the stack's log group and, when the image is in ECR,
//! to that repository (`ecr:GetAuthorizationToken` only works with `*`); an image outside ECR
//! gets no ECR rights at all. Only ECS acting for this account may assume it: the trust policy
//! names the account and its ECS ARNs (`aws:SourceAccount`, `aws:SourceArn`), AWS's guard
//! against the confused deputy
//! (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).

use aws_sdk_iam::types::Role;
use serde::{Deserialize, Serialize};

use crate::aws::tags;
use crate::aws::{AwsResultExt as _, found};
use crate::config::names::Names;
use crate::config::{Deployment, ImageRef};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Resource, Seen};
use crate::state::Intent;

/// A role of the stack and its inline policy.
pub struct StackRole {
    key: &'static str,
    name: String,
    policy_name: String,
    description: String,
    policy: serde_json::Value,
    trust: serde_json::Value,
    /// The managed policies (ARNs) attached to it, for a role whose attachments gwfargate
    /// manages; `None`: left as they are.
    managed: Option<Vec<String>>,
    /// The env file's `[tags]` keys, as it spells them.
    tag_keys: Vec<String>,
}

impl StackRole {
    /// The execution role of `deployment`'s tasks in `account`.
    pub fn task_execution(deployment: &Deployment, names: &Names, account: &str) -> StackRole {
        StackRole {
            key: "execution_role",
            name: names.execution_role.clone(),
            policy_name: names.execution_policy.clone(),
            description: format!("gwfargate {}: ECS task execution", deployment.name),
            policy: policy_document(deployment, names, account),
            trust: trust_policy(&deployment.region, account),
            managed: None,
            tag_keys: names.extra_tags.iter().map(|(k, _)| k.clone()).collect(),
        }
    }
}

impl StackRole {
    /// The role API Gateway assumes to call the Lambda authorizer `function`: it may invoke
    /// that function and nothing else.
    pub fn authorizer_invoker(deployment: &Deployment, names: &Names, function: &str) -> StackRole {
        StackRole {
            key: "authorizer_role",
            name: names.authorizer_role.clone(),
            policy_name: format!(
                "{}-policy-{}-authorizer",
                names.deployment, deployment.service.name
            ),
            description: format!(
                "gwfargate {}: API Gateway calls the authorizer",
                deployment.name
            ),
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "InvokeTheAuthorizer", "Effect": "Allow",
                "Action": "lambda:InvokeFunction", "Resource": function}]}),
            trust: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}),
            managed: None,
            tag_keys: names.extra_tags.iter().map(|(k, _)| k.clone()).collect(),
        }
    }
}

impl StackRole {
    /// The role VPC flow logs deliver to the stack's flow log group with; only the flow logs
    /// of this account's VPCs in the region may assume it (the confused-deputy guard,
    /// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html).
    pub fn flow_log_delivery(deployment: &Deployment, names: &Names, account: &str) -> StackRole {
        let region = &deployment.region;
        let partition = crate::config::partition(region);
        let group = format!(
            "arn:{partition}:logs:{region}:{account}:log-group:{}",
            names.flow_log_group
        );
        StackRole {
            key: "flow_log_role",
            name: names.flow_log_role.clone(),
            policy_name: format!("{}-policy-flow-logs", names.deployment),
            description: format!("gwfargate {}: VPC flow log delivery", deployment.name),
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DeliverFlowLogs", "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
                           "logs:DescribeLogStreams"],
                "Resource": [group.clone(), format!("{group}:*")]}]}),
            trust: serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn":
                    format!("arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*")}
            }}]}),
            managed: None,
            tag_keys: names.extra_tags.iter().map(|(k, _)| k.clone()).collect(),
        }
    }
}

impl StackRole {
    /// The role of the container's own AWS calls (`service.task_role`): the env file's managed
    /// policies and statements, assumable by this account's ECS tasks only.
    pub fn task(deployment: &Deployment, names: &Names, account: &str) -> StackRole {
        let role = deployment
            .service
            .task_role
            .clone()
            .unwrap_or(crate::config::TaskRole {
                policy_arns: Vec::new(),
                statements: Vec::new(),
            });
        let statements: Vec<serde_json::Value> = role
            .statements
            .iter()
            .enumerate()
            .map(|(i, st)| {
                serde_json::json!({"Sid": format!("Statement{i}"),
                    "Effect": if st.allow { "Allow" } else { "Deny" },
                    "Action": st.actions, "Resource": st.resources})
            })
            .collect();
        StackRole {
            key: "task_role",
            name: names.task_role.clone(),
            policy_name: format!(
                "{}-policy-{}-task",
                names.deployment, deployment.service.name
            ),
            description: format!("gwfargate {}: the tasks' own AWS calls", deployment.name),
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": statements}),
            trust: trust_policy(&deployment.region, account),
            managed: Some(role.policy_arns),
            tag_keys: names.extra_tags.iter().map(|(k, _)| k.clone()).collect(),
        }
    }

    /// Whether it has no inline policy to put (a task role of managed policies only).
    fn without_inline_policy(&self) -> bool {
        self.policy["Statement"]
            .as_array()
            .is_some_and(Vec::is_empty)
    }
}

/// Who may assume the role: ECS tasks, only on behalf of this account's ECS resources in the
/// stack's region.
pub fn trust_policy(region: &str, account: &str) -> serde_json::Value {
    let partition = crate::config::partition(region);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": format!("arn:{partition}:ecs:{region}:{account}:*")}
            }
        }]
    })
}

/// The ARN of the ECR repository the image is pulled from, if it is in ECR (of any account).
pub fn image_repository(deployment: &Deployment) -> Option<String> {
    let partition = crate::config::partition(&deployment.region);
    ImageRef::parse(&deployment.service.image)
        .ok()
        .and_then(|i| i.ecr().map(|loc| (i.repository.clone(), loc)))
        .map(|(repo, loc)| {
            format!(
                "arn:{partition}:ecr:{}:{}:repository/{repo}",
                loc.region, loc.account
            )
        })
}

/// The ARN of the stack's log group's streams.
pub fn log_streams(deployment: &Deployment, names: &Names, account: &str) -> String {
    let region = &deployment.region;
    let partition = crate::config::partition(region);
    format!(
        "arn:{partition}:logs:{region}:{account}:log-group:{}:*",
        names.log_group
    )
}

/// The bucket ECR serves image layers from, in the stack's region.
pub fn layer_bucket_objects(region: &str) -> String {
    let partition = crate::config::partition(region);
    format!("arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*")
}

/// The inline policy: ECR pull, log writes to the stack's log group, S3 reads of ECR's layer
/// bucket.
pub fn policy_document(deployment: &Deployment, names: &Names, account: &str) -> serde_json::Value {
    let region = &deployment.region;
    let log_group_arn = log_streams(deployment, names, account);
    let repository = image_repository(deployment);
    let mut statements = Vec::new();
    // ECR rights, and the layer bucket ECR serves layers from, only for an image in ECR.
    if let Some(repository) = repository {
        statements.extend([
            serde_json::json!({"Sid": "EcrAuth", "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken", "Resource": "*"}),
            serde_json::json!({"Sid": "EcrPull", "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                           "ecr:BatchGetImage"],
                "Resource": repository}),
        ]);
    }
    statements.push(serde_json::json!({"Sid": "Logs", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": log_group_arn}));
    if statements.len() > 1 {
        statements.push(serde_json::json!({"Sid": "ImageLayers", "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": layer_bucket_objects(region)}));
    }
    // The secrets the container names, exactly those (ECS reads them when a task starts:
    // "Required IAM permissions for Amazon ECS secrets", ECS developer guide).
    let secrets = &deployment.service.secrets;
    let arns = |service: &str| -> Vec<String> {
        let arns: Vec<String> = secrets
            .values()
            .filter(|s| s.endpoint_service() == service)
            .map(|s| s.arn(region, account))
            .collect();
        crate::model::sorted(&arns)
    };
    let kept = arns("secretsmanager");
    if !kept.is_empty() {
        statements.push(serde_json::json!({"Sid": "Secrets", "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue", "Resource": kept}));
    }
    let parameters = arns("ssm");
    if !parameters.is_empty() {
        statements.push(serde_json::json!({"Sid": "Parameters", "Effect": "Allow",
            "Action": "ssm:GetParameters", "Resource": parameters}));
    }
    if let Some(key) = &deployment.service.secrets_kms_key
        && !secrets.is_empty()
    {
        let via: Vec<String> = deployment
            .interface_services()
            .iter()
            .filter(|s| ["secretsmanager", "ssm"].contains(&s.as_str()))
            .map(|s| format!("{s}.{region}.amazonaws.com"))
            .collect();
        statements.push(serde_json::json!({"Sid": "SecretsKey", "Effect": "Allow",
            "Action": "kms:Decrypt", "Resource": key,
            "Condition": {"StringEquals": {"kms:ViaService": via}}}));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// The statements of a policy by `Sid`.
fn statements(policy: Option<&serde_json::Value>) -> Vec<(String, &serde_json::Value)> {
    let Some(list) = policy
        .and_then(|p| p.get("Statement"))
        .and_then(|s| s.as_array())
    else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .map(|(i, st)| {
            let sid = st
                .get("Sid")
                .and_then(|s| s.as_str())
                .map_or_else(|| format!("#{i}"), str::to_string);
            (sid, st)
        })
        .collect()
}

/// A policy value in words: a string as it is, anything else as compact JSON.
fn words(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// The role, with its inline policy when read (IAM answers with the document URL-encoded).
#[derive(Debug, Clone)]
pub struct Live {
    /// The role (GetRole includes its tags).
    pub role: Role,
    /// The inline policy's document; `None` when it has none (or it was not read).
    pub policy: Option<serde_json::Value>,
    /// The attached managed policies' ARNs, when read (roles whose attachments gwfargate
    /// manages).
    pub attached: Option<Vec<String>>,
}

/// What the role hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Role ARN.
    pub arn: String,
}

impl StackRole {
    /// The ARNs of the managed policies attached to the role, sorted.
    async fn attached_policies(&self, cx: &Cx<'_>) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = cx
            .aws
            .iam
            .list_attached_role_policies()
            .role_name(&self.name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.aws(|| format!("listing the attached policies of IAM role {}", self.name))?;
            arns.extend(
                page.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
        }
        Ok(crate::model::sorted(&arns))
    }

    /// Detaches the managed policy `arn` (already detached is done).
    async fn detach(&self, cx: &Cx<'_>, arn: &str) -> anyhow::Result<()> {
        found(
            cx.aws
                .iam
                .detach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .aws(|| format!("detaching {arn} from IAM role {}", self.name)),
        )?;
        Ok(())
    }

    async fn read_policy(&self, cx: &Cx<'_>) -> anyhow::Result<Option<serde_json::Value>> {
        let out = found(
            cx.aws
                .iam
                .get_role_policy()
                .role_name(&self.name)
                .policy_name(&self.policy_name)
                .send()
                .await
                .aws(|| format!("reading the inline policy of IAM role {}", self.name)),
        )?;
        Ok(out.and_then(|o| crate::aws::policy_document(o.policy_document())))
    }
}

impl Resource for StackRole {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        self.key.to_string()
    }

    fn kind(&self) -> &'static str {
        "iam role"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .iam
                .get_role()
                .role_name(&self.name)
                .send()
                .await
                .aws(|| format!("looking up IAM role {}", self.name)),
        )?;
        let Some(role) = out.and_then(|o| o.role().cloned()) else {
            return Ok(None);
        };
        let ours = cx.is_ours(role.tags().iter().map(|t| (t.key(), t.value())));
        let policy = if depth == Depth::Full && ours {
            self.read_policy(cx).await?
        } else {
            None
        };
        let attached = if depth == Depth::Full && ours && self.managed.is_some() {
            Some(self.attached_policies(cx).await?)
        } else {
            None
        };
        Ok(Some(Live {
            role,
            policy,
            attached,
        }))
    }

    /// IAM reads tag keys without regard to case and keeps the spelling it first saw: a key
    /// spelled otherwise than the env file's is read as the env file's, so a `team` the file
    /// sets on a role carrying `Team` converges instead of being set again on every run.
    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(
            live.role
                .tags()
                .iter()
                .map(|t| {
                    let key = self
                        .tag_keys
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(t.key()))
                        .map_or(t.key(), String::as_str);
                    (key.to_string(), t.value().to_string())
                })
                .collect(),
        )
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_role(&cx.aws, &self.name, &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        env.owner(live.role.tags().iter().map(|t| (t.key(), t.value())))
    }

    fn id(&self, live: &Live) -> String {
        live.role.arn().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { arn: self.id(live) }
    }

    fn planned_outputs(&self, env: &Env) -> Option<Outputs> {
        Some(Outputs {
            arn: format!(
                "arn:{}:iam::{}:role/{}",
                env.partition(),
                env.account,
                self.name
            ),
        })
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let trust = live
            .role
            .assume_role_policy_document()
            .and_then(crate::aws::policy_document);
        if trust.as_ref() != Some(&self.trust) {
            let scoped = |t: &serde_json::Value| t.to_string().contains("aws:SourceAccount");
            diff.change(
                "trust_policy",
                Some(
                    match &trust {
                        Some(t) if scoped(t) => "another document",
                        _ => "any ECS task",
                    }
                    .to_string(),
                ),
                "ECS tasks of this account only",
            );
        }
        if let (Some(want), Some(have)) = (&self.managed, &live.attached) {
            let want = crate::model::sorted(want);
            if &want != have {
                diff.change(
                    "managed_policies",
                    crate::model::listed(have),
                    crate::model::listed(&want).unwrap_or_else(|| "(none)".to_string()),
                );
            }
        }
        if live.policy.as_ref() == Some(&self.policy)
            || (live.policy.is_none() && self.without_inline_policy())
        {
            return diff;
        }
        let have = statements(live.policy.as_ref());
        let want = statements(Some(&self.policy));
        for (sid, wanted) in &want {
            match have.iter().find(|(s, _)| s == sid) {
                // The same statement: only the keys that differ, so the change reads as one.
                Some((_, now)) => {
                    let keys: std::collections::BTreeSet<&String> = now
                        .as_object()
                        .into_iter()
                        .chain(wanted.as_object())
                        .flat_map(|o| o.keys())
                        .collect();
                    for key in keys {
                        let (a, b) = (now.get(key), wanted.get(key));
                        if a != b {
                            diff.change(
                                &format!("policy.{sid}.{key}"),
                                a.map(words),
                                b.map_or_else(|| "(removed)".to_string(), words),
                            );
                        }
                    }
                }
                None => {
                    diff.change(&format!("policy.{sid}"), None, words(wanted));
                }
            }
        }
        for (sid, now) in &have {
            if !want.iter().any(|(s, _)| s == sid) {
                diff.change(&format!("policy.{sid}"), Some(words(now)), "(removed)");
            }
        }
        if !diff.fields.iter().any(|f| f.field.starts_with("policy")) {
            // Same statements, another shape (Version, order): put it as gwfargate writes it.
            diff.change("policy", Some("(another document)".into()), "(gwfargate's)");
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let out = cx
            .aws
            .iam
            .create_role()
            .role_name(&self.name)
            .assume_role_policy_document(self.trust.to_string())
            .description(&self.description)
            .set_tags(Some(tags::iam(&cx.tags(&self.name))?))
            .send()
            .await
            .aws(|| format!("creating IAM role {}", self.name))?;
        let role = out
            .role()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateRole returned no role"))?;
        Ok(Live {
            role,
            policy: None,
            attached: Some(Vec::new()),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        if diff.changes("trust_policy") {
            cx.aws
                .iam
                .update_assume_role_policy()
                .role_name(&self.name)
                .policy_document(self.trust.to_string())
                .send()
                .await
                .aws(|| format!("updating the trust policy of IAM role {}", self.name))?;
        }
        if let (Some(want), true) = (&self.managed, diff.changes("managed_policies")) {
            let have = live.attached.clone().unwrap_or_default();
            for arn in want.iter().filter(|arn| !have.contains(arn)) {
                cx.aws
                    .iam
                    .attach_role_policy()
                    .role_name(&self.name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .aws(|| format!("attaching {arn} to IAM role {}", self.name))?;
            }
            for arn in have.iter().filter(|arn| !want.contains(arn)) {
                self.detach(cx, arn).await?;
            }
        }
        if !diff.fields.iter().any(|f| f.field.starts_with("policy")) {
            return Ok(None);
        }
        if self.without_inline_policy() {
            found(
                cx.aws
                    .iam
                    .delete_role_policy()
                    .role_name(&self.name)
                    .policy_name(&self.policy_name)
                    .send()
                    .await
                    .aws(|| format!("deleting the inline policy of IAM role {}", self.name)),
            )?;
            return Ok(None);
        }
        cx.aws
            .iam
            .put_role_policy()
            .role_name(&self.name)
            .policy_name(&self.policy_name)
            .policy_document(self.policy.to_string())
            .send()
            .await
            .aws(|| format!("putting the inline policy of IAM role {}", self.name))?;
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let name = &self.name;
        cx.say("removing policies");
        let inline = cx
            .aws
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .aws(|| format!("listing the policies of IAM role {name}"))?;
        for policy in inline.policy_names() {
            found(
                cx.aws
                    .iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .aws(|| format!("deleting policy {policy} of IAM role {name}")),
            )?;
        }
        for arn in self.attached_policies(cx).await? {
            self.detach(cx, &arn).await?;
        }
        cx.aws
            .iam
            .delete_role()
            .role_name(name)
            .send()
            .await
            .aws(|| format!("deleting IAM role {name}"))?;
        Ok(None)
    }

    fn summary(&self, _live: &Live) -> String {
        self.name.clone()
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(live.role.arn(), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn live(policy: Option<serde_json::Value>) -> Live {
        live_trusting(
            policy,
            &trust_policy("eu-west-1", "123456789012").to_string(),
        )
    }

    fn live_trusting(policy: Option<serde_json::Value>, trust: &str) -> Live {
        Live {
            role: Role::builder()
                .assume_role_policy_document(trust)
                .role_name("r")
                .path("/")
                .role_id("id")
                .arn("arn:aws:iam::123456789012:role/r")
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .expect("role"),
            policy,
            attached: None,
        }
    }

    #[test]
    fn the_policy_is_scoped_to_the_repository_and_log_group() {
        let env = env();
        let doc = policy_document(&env.deployment, &env.names, "123456789012").to_string();
        assert!(
            doc.contains("arn:aws:ecr:eu-west-1:123456789012:repository/microservice1"),
            "{doc}"
        );
        assert!(
            doc.contains("log-group:/ecs/cluster1/microservice1:*"),
            "{doc}"
        );
    }

    #[test]
    fn a_changed_statement_shows_what_it_was_and_will_be() {
        let env = env();
        let r = StackRole::task_execution(&env.deployment, &env.names, "123456789012");
        let world = World::default();
        assert!(r.diff(&env, &live(Some(r.policy.clone())), &world.inputs()) == Diff::none());
        let mut wider = r.policy.clone();
        wider["Statement"][1]["Resource"] = serde_json::json!("*");
        let diff = r.diff(&env, &live(Some(wider)), &world.inputs());
        assert_eq!(
            diff.words(),
            "policy.EcrPull.Resource * → arn:aws:ecr:eu-west-1:123456789012:repository/microservice1"
        );
        let none = r.diff(&env, &live(None), &world.inputs());
        assert_eq!(none.fields.len(), 4, "a new role gets every statement");
    }

    #[test]
    fn only_ecs_acting_for_this_account_may_assume_the_role() {
        let trust = trust_policy("eu-west-1", "123456789012");
        let condition = &trust["Statement"][0]["Condition"];
        assert_eq!(
            condition["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
        assert_eq!(
            condition["ArnLike"]["aws:SourceArn"],
            "arn:aws:ecs:eu-west-1:123456789012:*"
        );
        // A role made before the condition (any ECS task could assume it) is converged.
        let env = env();
        let r = StackRole::task_execution(&env.deployment, &env.names, "123456789012");
        let world = World::default();
        let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let encoded =
            percent_encoding::utf8_percent_encode(open, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let diff = r.diff(
            &env,
            &live_trusting(Some(r.policy.clone()), &encoded),
            &world.inputs(),
        );
        assert_eq!(
            diff.words(),
            "trust_policy any ECS task → ECS tasks of this account only"
        );
    }

    #[test]
    fn an_image_outside_ecr_gets_no_ecr_rights() {
        let mut env = env();
        env.deployment.service.image = "public.ecr.aws/nginx/nginx:1.27".to_string();
        let doc = policy_document(&env.deployment, &env.names, "123456789012");
        let text = doc.to_string();
        assert!(!text.contains("ecr:"), "{text}");
        assert!(!text.contains("starport-layer-bucket"), "{text}");
        assert!(text.contains("logs:PutLogEvents"), "{text}");
    }
}
