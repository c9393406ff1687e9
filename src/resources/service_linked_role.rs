//! An account's service-linked role for ECS or Elastic Load Balancing: the role the service
//! itself acts through (ECS to attach tasks' network interfaces to the load balancer, ELB to
//! manage its own). A new account has neither until something makes them; ECS then refuses
//! the first CreateCluster or CreateService ("Unable to assume the service linked role") until
//! IAM has propagated its role. Making both up front, and retrying that refusal, spares a new
//! account's first `up` from failing. The roles are the account's, shared by every stack and
//! tool in it: gwfargate never deletes them.

use aws_sdk_iam::types::Role as Live;
use serde::{Deserialize, Serialize};

use crate::aws::errors::has_code;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{Cx, Dep, Depth, Env, Inputs, Key, Ownership, Resource, Seen};
use crate::state::Intent;

/// One service's service-linked role.
pub struct ServiceLinkedRole {
    key: &'static str,
    service: &'static str,
    name: &'static str,
}

impl ServiceLinkedRole {
    /// ECS's role (`AWSServiceRoleForECS`).
    pub fn ecs() -> ServiceLinkedRole {
        ServiceLinkedRole {
            key: "service_linked_role/ecs",
            service: "ecs.amazonaws.com",
            name: "AWSServiceRoleForECS",
        }
    }

    /// Elastic Load Balancing's role (`AWSServiceRoleForElasticLoadBalancing`).
    pub fn elastic_load_balancing() -> ServiceLinkedRole {
        ServiceLinkedRole {
            key: "service_linked_role/elasticloadbalancing",
            service: "elasticloadbalancing.amazonaws.com",
            name: "AWSServiceRoleForElasticLoadBalancing",
        }
    }

    async fn get(&self, cx: &Cx<'_>) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .iam
                .get_role()
                .role_name(self.name)
                .send()
                .await
                .aws(|| format!("looking up the service-linked role {}", self.name)),
        )?;
        Ok(out.and_then(|o| o.role().cloned()))
    }
}

/// What the role hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Role ARN.
    pub arn: String,
}

impl Resource for ServiceLinkedRole {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        self.key.to_string()
    }

    fn kind(&self) -> &'static str {
        "service-linked role"
    }

    fn name(&self) -> String {
        self.name.to_string()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        self.get(cx).await
    }

    /// AWS makes it for its service and no tag can mark it: whoever made it, it is the one
    /// the account's service uses.
    fn ownership(&self, _env: &Env, _live: &Live) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, live: &Live) -> String {
        live.arn().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { arn: self.id(live) }
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let made = cx
            .aws
            .iam
            .create_service_linked_role()
            .aws_service_name(self.service)
            .send()
            .await
            .aws(|| format!("creating the service-linked role of {}", self.service));
        match made {
            Ok(out) => out
                .role()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("CreateServiceLinkedRole returned no role")),
            // Made meanwhile (by the service itself, or another tool): "has been taken".
            Err(err)
                if has_code(&err, &["InvalidInput"]) && format!("{err:#}").contains("taken") =>
            {
                self.get(cx).await?.ok_or(err)
            }
            Err(err) => Err(err.context(
                "a new account needs it before ECS or a load balancer can be used; a caller \
                 without iam:CreateServiceLinkedRole can have an administrator run `aws iam \
                 create-service-linked-role --aws-service-name` for ecs.amazonaws.com and \
                 elasticloadbalancing.amazonaws.com once",
            )),
        }
    }

    async fn delete(
        &self,
        _cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        anyhow::bail!(
            "internal error (a bug in gwfargate): the service-linked role {} is never deleted",
            self.name
        )
    }

    fn kept(&self, _env: &Env, _live: &Live) -> Option<String> {
        Some("the account's own, used by every stack in it".to_string())
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(live.arn(), "exists")
    }
}

/// Whether ECS refused because its service-linked role is not usable yet (a new account's
/// first cluster or service, moments after the role was made).
pub fn not_usable_yet(err: &anyhow::Error) -> bool {
    has_code(err, &["InvalidParameterException"])
        && format!("{err:#}")
            .to_ascii_lowercase()
            .contains("service linked role")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::errors::{AwsError, Outcome};

    fn refusal(code: &str, message: &str) -> anyhow::Error {
        anyhow::Error::new(AwsError {
            code: Some(code.into()),
            message: format!("{code}: {message}"),
            outcome: Outcome::Refused,
        })
    }

    #[test]
    fn only_the_service_linked_role_refusal_counts_as_not_usable_yet() {
        assert!(not_usable_yet(&refusal(
            "InvalidParameterException",
            "Unable to assume the service linked role. Please verify that the ECS service \
             linked role exists."
        )));
        assert!(!not_usable_yet(&refusal(
            "InvalidParameterException",
            "Creation of service was not idempotent."
        )));
        assert!(!not_usable_yet(&refusal(
            "AccessDeniedException",
            "service linked role"
        )));
    }
}
