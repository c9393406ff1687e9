//! The VPC endpoints that replace a NAT gateway: interface endpoints for ECR's API and
//! registry (image pulls) and CloudWatch Logs (the awslogs driver), in every private subnet with
//! private DNS, so the tasks' ordinary AWS host names resolve to them; and the S3 gateway
//! endpoint on the route table, because ECR serves image layers from S3.
//!
//! Each endpoint's policy lets through only what the tasks need (AWS's own default allows
//! every action on every resource): the image's repository and the authorization token for
//! ECR, the layer bucket for S3, the stack's log group for CloudWatch Logs
//! (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-vpc-endpoint-policy).
//!
//! The SDK reports endpoint states as `Unknown("available")` (AWS answers in lower case while
//! the model says `Available`), so states are compared case-insensitively.

use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};
use serde::{Deserialize, Serialize};

use super::{route_table, security_group, subnet, vpc};
use crate::aws::tags::ec2_spec;
use crate::aws::wait::Poll;
use crate::aws::{AwsResultExt as _, found};
use crate::config::names::Names;
use crate::model::{
    Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Replace, Resource, Seen, Value, listed,
    sorted,
};
use crate::state::Intent;

/// Where an endpoint sits.
enum Placement {
    /// In the subnets, behind the endpoints' security group, with private DNS. Stacks made
    /// before the endpoints had their own group put them in the tasks' group (`former_group`),
    /// which they leave.
    Interface {
        subnets: Vec<Ref<subnet::Outputs>>,
        security_group: Ref<security_group::Outputs>,
        former_group: Ref<security_group::Outputs>,
    },
    /// On the route table.
    Gateway {
        route_table: Ref<route_table::Outputs>,
    },
}

/// The security groups of an interface endpoint.
pub struct Groups<'a> {
    /// The endpoints' group, which it is in.
    pub endpoints: &'a Ref<security_group::Outputs>,
    /// The tasks' group, which it is not in.
    pub tasks: &'a Ref<security_group::Outputs>,
}

/// The VPC endpoint of one AWS service.
pub struct Endpoint {
    service: String,
    name: String,
    region: String,
    vpc: Ref<vpc::Outputs>,
    placement: Placement,
    policy: serde_json::Value,
}

/// The endpoint policy of `service` for `deployment`'s tasks in `account`.
pub fn policy(
    service: &str,
    deployment: &crate::config::Deployment,
    names: &Names,
    account: &str,
) -> serde_json::Value {
    use crate::resources::iam;
    let allow = |sid: &str, actions: serde_json::Value, resource: serde_json::Value| {
        serde_json::json!({"Sid": sid, "Effect": "Allow", "Principal": "*",
                           "Action": actions, "Resource": resource})
    };
    let mut statements = match service {
        "ecr.api" | "ecr.dkr" => {
            let mut list = vec![allow(
                "AuthorizationToken",
                "ecr:GetAuthorizationToken".into(),
                "*".into(),
            )];
            if let Some(repository) = iam::image_repository(deployment) {
                list.push(allow(
                    "PullTheImage",
                    serde_json::json!([
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage"
                    ]),
                    repository.into(),
                ));
            }
            list
        }
        "logs" => vec![allow(
            "ShipTheLogs",
            serde_json::json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
            iam::log_streams(deployment, names, account).into(),
        )],
        "secretsmanager" | "ssm" => {
            let arns: Vec<String> = deployment
                .service
                .secrets
                .values()
                .filter(|secret| secret.endpoint_service() == service)
                .map(|secret| secret.arn(&deployment.region, account))
                .collect();
            let action = if service == "ssm" {
                "ssm:GetParameters"
            } else {
                "secretsmanager:GetSecretValue"
            };
            if arns.is_empty() {
                // Listed in `network.endpoints` for the task role's own calls, not for secrets.
                Vec::new()
            } else {
                vec![allow(
                    "ReadTheSecrets",
                    action.into(),
                    crate::model::sorted(&arns).into(),
                )]
            }
        }
        "s3" => vec![allow(
            "ImageLayers",
            "s3:GetObject".into(),
            iam::layer_bucket_objects(&deployment.region).into(),
        )],
        _ => Vec::new(),
    };
    // The task role's own calls go through as its IAM policy allows: the endpoint lets its
    // principal through whole, and everyone else only to what the stack needs.
    if deployment.service.task_role.is_some() || statements.is_empty() {
        let partition = crate::config::partition(&deployment.region);
        let mut everything = allow("Everything", "*".into(), "*".into());
        if !statements.is_empty() {
            everything["Sid"] = "TheTaskRole".into();
            everything["Condition"] = serde_json::json!({"ArnEquals": {"aws:PrincipalArn":
                format!("arn:{partition}:iam::{account}:role/{}", names.task_role)}});
        }
        statements.push(everything);
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

impl Endpoint {
    /// The interface endpoint of `service` in `subnets` and `groups` (the endpoints' own, and
    /// the tasks' it must not be in), letting through `policy`.
    pub fn interface(
        service: &str,
        region: &str,
        names: &Names,
        vpc: &Ref<vpc::Outputs>,
        subnets: &[Ref<subnet::Outputs>],
        groups: Groups<'_>,
        policy: serde_json::Value,
    ) -> Endpoint {
        Endpoint {
            service: service.to_string(),
            name: names.endpoint(service),
            region: region.to_string(),
            vpc: vpc.clone(),
            placement: Placement::Interface {
                subnets: subnets.to_vec(),
                security_group: groups.endpoints.clone(),
                former_group: groups.tasks.clone(),
            },
            policy,
        }
    }

    /// The gateway endpoint of `service` on `route_table`, letting through `policy`.
    pub fn gateway(
        service: &str,
        region: &str,
        names: &Names,
        vpc: &Ref<vpc::Outputs>,
        route_table: &Ref<route_table::Outputs>,
        policy: serde_json::Value,
    ) -> Endpoint {
        Endpoint {
            service: service.to_string(),
            name: names.endpoint(service),
            region: region.to_string(),
            vpc: vpc.clone(),
            placement: Placement::Gateway {
                route_table: route_table.clone(),
            },
            policy,
        }
    }

    /// The live policy, when it is not this one: in words.
    fn policy_differs(&self, live: &VpcEndpoint) -> Option<String> {
        let have = crate::aws::policy_document(live.policy_document()?);
        if have.as_ref() == Some(&self.policy) {
            return None;
        }
        let everything = have.as_ref().is_some_and(|h| {
            h["Statement"]
                .as_array()
                .is_some_and(|s| s.iter().any(|st| st["Action"] == "*"))
        });
        Some(
            if everything {
                "allows everything"
            } else {
                "another document"
            }
            .to_string(),
        )
    }

    fn service_name(&self) -> String {
        format!("com.amazonaws.{}.{}", self.region, self.service)
    }

    fn is_interface(&self) -> bool {
        matches!(self.placement, Placement::Interface { .. })
    }
}

/// What an endpoint hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Endpoint id.
    pub id: String,
}

/// The endpoint's state in lower case.
pub fn state_of(endpoint: &VpcEndpoint) -> String {
    endpoint.state().map_or_else(
        || "unknown".to_string(),
        |s| s.as_str().to_ascii_lowercase(),
    )
}

/// Every endpoint tagged as this deployment's: all four come from one call while the stack
/// is surveyed.
async fn tagged(cx: &Cx<'_>) -> anyhow::Result<std::sync::Arc<Vec<VpcEndpoint>>> {
    cx.memo
        .get("ec2 endpoints", || async {
            let out = cx
                .aws
                .ec2
                .describe_vpc_endpoints()
                .set_filters(Some(super::ours(cx)))
                .send()
                .await
                .aws(|| "looking up the stack's VPC endpoints".to_string())?;
            Ok(out.vpc_endpoints().to_vec())
        })
        .await
}

impl Resource for Endpoint {
    type Live = VpcEndpoint;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        format!("endpoint/{}", self.service)
    }

    fn kind(&self) -> &'static str {
        if self.is_interface() {
            "interface endpoint"
        } else {
            "gateway endpoint"
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.vpc.dep()];
        match &self.placement {
            Placement::Interface {
                subnets,
                security_group,
                former_group,
            } => {
                deps.extend(subnets.iter().map(Ref::dep));
                deps.push(security_group.dep());
                deps.push(former_group.dep());
            }
            Placement::Gateway { route_table } => deps.push(route_table.dep()),
        }
        deps
    }

    async fn by_id(
        &self,
        cx: &Cx<'_>,
        id: &str,
        _depth: Depth,
    ) -> anyhow::Result<Option<VpcEndpoint>> {
        if cx.memo.is_open()
            && let Some(found) = tagged(cx)
                .await?
                .iter()
                .find(|e| e.vpc_endpoint_id() == Some(id))
        {
            return Ok(Some(found.clone()));
        }
        let out = cx
            .aws
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await;
        Ok(found(out.aws(|| format!("describing VPC endpoint {id}")))?
            .and_then(|out| out.vpc_endpoints().first().cloned()))
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<VpcEndpoint>> {
        let mut mine: Vec<VpcEndpoint> = tagged(cx)
            .await?
            .iter()
            .filter(|e| {
                super::name_of(e.tags()) == Some(self.name.as_str()) && state_of(e) != "deleted"
            })
            .cloned()
            .collect();
        // A usable endpoint before one an interrupted `down` left deleting.
        mine.sort_by_key(|e| {
            (
                state_of(e) == "deleting",
                e.vpc_endpoint_id().map(str::to_string),
            )
        });
        Ok(mine.into_iter().next())
    }

    fn tags(&self, live: &VpcEndpoint) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_ec2(
            live.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &VpcEndpoint,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        crate::aws::tags::retag_ec2(&cx.aws, &self.id(live), &changes.set, &changes.remove).await
    }

    fn ownership(&self, env: &Env, live: &VpcEndpoint) -> Ownership {
        super::owner(env, live.tags())
    }

    fn id(&self, live: &VpcEndpoint) -> String {
        live.vpc_endpoint_id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &VpcEndpoint) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &VpcEndpoint, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let state = state_of(live);
        if matches!(
            state.as_str(),
            "deleting" | "failed" | "rejected" | "expired"
        ) {
            diff.replace = Some(Replace {
                reason: if state == "deleting" {
                    "it is being deleted (an interrupted down)".to_string()
                } else {
                    format!("its state is {state}")
                },
                destructive: false,
            });
            return diff;
        }
        if let Some(have) = self.policy_differs(live) {
            diff.change("policy", Some(have), "only what the tasks need");
        }
        match &self.placement {
            Placement::Interface {
                subnets,
                security_group,
                former_group,
            } => {
                let want: Option<Vec<String>> = subnets
                    .iter()
                    .map(|s| inputs.get(s).map(|o| o.id))
                    .collect();
                diff.add_missing("subnets", &sorted(live.subnet_ids()), want);
                let groups: Vec<String> = live
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect();
                let former = inputs.get(former_group).map(|g| g.id);
                match inputs.get(security_group) {
                    Some(sg)
                        if groups.contains(&sg.id)
                            && former.as_ref().is_none_or(|f| !groups.contains(f)) => {}
                    Some(sg) => {
                        let mut after: Vec<String> = groups
                            .iter()
                            .filter(|g| Some(*g) != former.as_ref())
                            .cloned()
                            .collect();
                        if !after.contains(&sg.id) {
                            after.push(sg.id);
                        }
                        diff.change("security_groups", listed(&groups), after.join(", "));
                    }
                    None => {
                        diff.change("security_groups", listed(&groups), Value::Unknown);
                    }
                }
            }
            Placement::Gateway { route_table } => {
                let have = live.route_table_ids().to_vec();
                match inputs.get(route_table) {
                    Some(rt) if have.contains(&rt.id) => {}
                    Some(rt) => {
                        let mut after = have.clone();
                        after.push(rt.id);
                        diff.change("route_tables", listed(&have), after.join(", "));
                    }
                    None => {
                        diff.change("route_tables", listed(&have), Value::Unknown);
                    }
                }
            }
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        intent: &Intent,
    ) -> anyhow::Result<VpcEndpoint> {
        let vpc = inputs.need(&self.vpc)?;
        let req = cx
            .aws
            .ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc.id)
            .service_name(self.service_name())
            // The intent's token: a create repeated after a lost answer or a crash returns the
            // first endpoint, and a new endpoint (after one was deleted) gets a new token.
            .client_token(&intent.client_token)
            .policy_document(self.policy.to_string())
            .tag_specifications(ec2_spec(&cx.tags(&self.name), ResourceType::VpcEndpoint));
        let req = match &self.placement {
            Placement::Interface {
                subnets,
                security_group,
                ..
            } => {
                let subnet_ids = subnets
                    .iter()
                    .map(|s| inputs.need(s).map(|o| o.id))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                req.vpc_endpoint_type(VpcEndpointType::Interface)
                    .set_subnet_ids(Some(subnet_ids))
                    .security_group_ids(inputs.need(security_group)?.id)
                    .private_dns_enabled(true)
            }
            Placement::Gateway { route_table } => req
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .route_table_ids(inputs.need(route_table)?.id),
        };
        let out = req
            .send()
            .await
            .aws(|| format!("creating VPC endpoint {}", self.name))?;
        out.vpc_endpoint()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("CreateVpcEndpoint returned no endpoint"))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &VpcEndpoint,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<VpcEndpoint>> {
        let id = self.id(live);
        let req = cx
            .aws
            .ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&id)
            .set_policy_document(diff.changes("policy").then(|| self.policy.to_string()));
        let req = match &self.placement {
            Placement::Interface {
                subnets,
                security_group,
                former_group,
            } => {
                let missing: Vec<String> = subnets
                    .iter()
                    .map(|s| inputs.need(s).map(|o| o.id))
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|s| !live.subnet_ids().contains(s))
                    .collect();
                let group = inputs.need(security_group)?.id;
                let in_group = |id: &str| live.groups().iter().any(|g| g.group_id() == Some(id));
                let group_missing = !in_group(&group);
                let former = inputs
                    .get(former_group)
                    .map(|g| g.id)
                    .filter(|id| in_group(id));
                req.set_add_subnet_ids((!missing.is_empty()).then_some(missing))
                    .set_add_security_group_ids(group_missing.then(|| vec![group]))
                    .set_remove_security_group_ids(former.map(|id| vec![id]))
            }
            Placement::Gateway { route_table } => {
                let table = inputs.need(route_table)?.id;
                let missing = !live.route_table_ids().contains(&table);
                req.set_add_route_table_ids(missing.then(|| vec![table]))
            }
        };
        req.send()
            .await
            .aws(|| format!("updating VPC endpoint {id}"))?;
        Ok(None)
    }

    fn readiness(&self, live: &VpcEndpoint) -> Poll<()> {
        match state_of(live).as_str() {
            "available" => Poll::Ready(()),
            state @ ("pending" | "pendingacceptance") => Poll::Pending(state.to_string()),
            state => Poll::Failed(format!("its state is {state}")),
        }
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &VpcEndpoint,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        if state_of(live) == "deleting" {
            return Ok(None);
        }
        let id = self.id(live);
        let out = cx
            .aws
            .ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&id)
            .send()
            .await
            .aws(|| format!("deleting VPC endpoint {id}"))?;
        // A successful answer can still list endpoints it did not delete.
        let failures: Vec<String> = out
            .unsuccessful()
            .iter()
            .filter(|u| {
                u.error().and_then(|e| e.code()).is_none_or(|code| {
                    code != "InvalidVpcEndpoint.NotFound" && code != "InvalidVpcEndpointId.NotFound"
                })
            })
            .map(|u| {
                u.error()
                    .and_then(|e| e.message())
                    .unwrap_or("unknown error")
                    .to_string()
            })
            .collect();
        if !failures.is_empty() {
            anyhow::bail!(
                "AWS did not delete VPC endpoint {id}: {}",
                failures.join("; ")
            );
        }
        Ok(None)
    }

    /// A deleted endpoint stays listed for a while: it is gone all the same.
    fn gone(&self, live: &VpcEndpoint) -> bool {
        state_of(live) == "deleted"
    }

    fn observe(&self, live: &VpcEndpoint) -> Seen {
        let row = Seen::new(&self.id(live), &state_of(live));
        if self.is_interface() {
            row.detail(format!("{} subnet(s)", live.subnet_ids().len()))
        } else {
            row
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    fn logs(env: &Env) -> Endpoint {
        Endpoint::interface(
            "logs",
            &env.deployment.region,
            &env.names,
            &Ref::new("vpc"),
            &[Ref::new("subnet/0"), Ref::new("subnet/1")],
            Groups {
                endpoints: &Ref::new("security_group/endpoints"),
                tasks: &Ref::new("security_group"),
            },
            policy("logs", &env.deployment, &env.names, &env.account),
        )
    }

    #[test]
    fn each_endpoint_lets_through_only_what_the_tasks_need() {
        let env = env();
        let ecr = policy("ecr.dkr", &env.deployment, &env.names, &env.account).to_string();
        assert!(
            ecr.contains("arn:aws:ecr:eu-west-1:123456789012:repository/microservice1")
                && ecr.contains("ecr:GetAuthorizationToken")
                && !ecr.contains("\"Action\":\"*\""),
            "{ecr}"
        );
        let logs_policy = policy("logs", &env.deployment, &env.names, &env.account).to_string();
        assert!(
            logs_policy.contains("log-group:/ecs/cluster1/microservice1:*"),
            "{logs_policy}"
        );
        let s3 = policy("s3", &env.deployment, &env.names, &env.account).to_string();
        assert!(
            s3.contains("arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"),
            "{s3}"
        );
        // An endpoint made with AWS's default policy (everything) is narrowed in place.
        let world = world();
        let open = with_policy(
            &endpoint("available", &["subnet-a", "subnet-b"]),
            r#"{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}"#,
        );
        let diff = logs(&env).diff(&env, &open, &world.inputs());
        assert_eq!(
            diff.words(),
            "policy allows everything → only what the tasks need"
        );
    }

    fn endpoint(state: &str, subnets: &[&str]) -> VpcEndpoint {
        in_groups(state, subnets, &["sg-1"])
    }

    fn in_groups(state: &str, subnets: &[&str], groups: &[&str]) -> VpcEndpoint {
        VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .state(state.into())
            .set_subnet_ids(Some(subnets.iter().map(|s| s.to_string()).collect()))
            .set_groups(Some(
                groups
                    .iter()
                    .map(|g| {
                        aws_sdk_ec2::types::SecurityGroupIdentifier::builder()
                            .group_id(*g)
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    fn with_policy(live: &VpcEndpoint, policy: &str) -> VpcEndpoint {
        VpcEndpoint::builder()
            .vpc_endpoint_id(live.vpc_endpoint_id().unwrap_or_default())
            .set_state(live.state().cloned())
            .set_subnet_ids(Some(live.subnet_ids().to_vec()))
            .set_groups(Some(live.groups().to_vec()))
            .policy_document(policy)
            .build()
    }

    fn world() -> World {
        let world = World::default();
        world.publish(
            "subnet/0",
            subnet::Outputs {
                id: "subnet-a".into(),
                az: "a".into(),
            },
        );
        world.publish(
            "subnet/1",
            subnet::Outputs {
                id: "subnet-b".into(),
                az: "b".into(),
            },
        );
        world.publish(
            "security_group/endpoints",
            security_group::Outputs { id: "sg-1".into() },
        );
        world.publish(
            "security_group",
            security_group::Outputs {
                id: "sg-tasks".into(),
            },
        );
        world
    }

    #[test]
    fn an_endpoint_in_the_tasks_group_moves_to_its_own() {
        let env = env();
        let world = world();
        let r = logs(&env);
        let subnets = ["subnet-a", "subnet-b"];
        let diff = r.diff(
            &env,
            &in_groups("available", &subnets, &["sg-tasks"]),
            &world.inputs(),
        );
        assert_eq!(diff.words(), "security_groups sg-tasks → sg-1");
        // Cut short between the two halves of the move: the tasks' group still goes.
        let diff = r.diff(
            &env,
            &in_groups("available", &subnets, &["sg-1", "sg-tasks"]),
            &world.inputs(),
        );
        assert_eq!(diff.words(), "security_groups sg-1, sg-tasks → sg-1");
        // A group of the user's stays.
        let diff = r.diff(
            &env,
            &in_groups("available", &subnets, &["sg-user", "sg-1"]),
            &world.inputs(),
        );
        assert_eq!(diff, Diff::none());
    }

    #[test]
    fn a_missing_subnet_is_added_in_place() {
        let env = env();
        let world = world();
        let r = logs(&env);
        assert!(
            r.diff(
                &env,
                &endpoint("available", &["subnet-a", "subnet-b"]),
                &world.inputs()
            ) == Diff::none()
        );
        assert_eq!(
            r.diff(&env, &endpoint("available", &["subnet-a"]), &world.inputs())
                .words(),
            "subnets subnet-a → subnet-a, subnet-b"
        );
    }

    #[test]
    fn an_endpoint_left_deleting_is_replaced_without_loss() {
        let env = env();
        let diff = logs(&env).diff(
            &env,
            &endpoint("deleting", &["subnet-a", "subnet-b"]),
            &world().inputs(),
        );
        let replace = diff.replace.expect("replaced");
        assert!(!replace.destructive);
        assert!(replace.reason.contains("interrupted down"));
    }
}
