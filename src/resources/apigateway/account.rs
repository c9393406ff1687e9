//! API Gateway's account-level CloudWatch Logs role, in the stack's region. A REST API stage
//! writes its access log only when the account names a role API Gateway may log with
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
//!
//! It is the account's, not the stack's: when the account names none, `up` makes one role
//! for every API of the account ([`ROLE_NAME`], AWS's managed policy for the purpose) and names
//! it; a role the account already names is used as it is, never replaced. `down` leaves the
//! setting and the role as they are, since other APIs may log through them by then.

use aws_sdk_apigateway::operation::get_account::GetAccountOutput;
use serde::{Deserialize, Serialize};

use crate::aws::errors::{has_code, is_not_found};
use crate::aws::wait::{self, Patience};
use crate::aws::{AwsResultExt as _, tags};
use crate::model::{
    Cx, Dep, Depth, Env, FieldChange, ForeignUse, Inputs, Key, Ownership, Resource, Seen,
};
use crate::state::Intent;

/// The role gwfargate makes when the account names none; one per account, shared by every
/// stack and region.
pub const ROLE_NAME: &str = "gwfargate-apigateway-cloudwatch-logs";

/// AWS's managed policy for API Gateway's logging role, in `env`'s partition.
fn policy_arn(env: &Env) -> String {
    format!(
        "arn:{}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        env.partition()
    )
}

/// The account's logging setting.
pub struct CloudWatchRole;

/// The setting, once the account names a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// The role the account names.
    pub role_arn: String,
}

/// What it hands its dependents: the role the account logs through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// The role's ARN.
    pub role_arn: String,
}

/// The ARN of the role gwfargate makes in `env`'s account.
pub fn role_arn(env: &Env) -> String {
    format!(
        "arn:{}:iam::{}:role/{ROLE_NAME}",
        env.partition(),
        env.account
    )
}

fn trust() -> serde_json::Value {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
}

impl CloudWatchRole {
    /// Makes the role unless it exists (a stack of another region made it), with AWS's
    /// managed policy attached.
    async fn ensure_role(&self, cx: &Cx<'_>) -> anyhow::Result<()> {
        let got = cx.aws.iam.get_role().role_name(ROLE_NAME).send().await;
        match got.aws(|| format!("reading IAM role {ROLE_NAME}")) {
            Ok(_) => {}
            Err(err) if is_not_found(&err) => {
                cx.say(format!("creating IAM role {ROLE_NAME}"));
                let made = cx
                    .aws
                    .iam
                    .create_role()
                    .role_name(ROLE_NAME)
                    .assume_role_policy_document(trust().to_string())
                    .description(
                        "API Gateway's account-level CloudWatch Logs role, made by gwfargate; \
                         every API of the account logs through it",
                    )
                    .set_tags(Some(tags::iam(&vec![(
                        crate::config::names::TAG_NAME.to_string(),
                        ROLE_NAME.to_string(),
                    )])?))
                    .send()
                    .await
                    .aws(|| format!("creating IAM role {ROLE_NAME}"));
                crate::aws::ignore(made, &["EntityAlreadyExists"])?;
            }
            Err(err) => return Err(err),
        }
        // IAM answers "no such role" for a while after CreateRole (reads lag writes).
        let policy = policy_arn(cx.env);
        wait::retrying(
            "attaching the logging policy",
            cx.line,
            Patience::minutes(1),
            is_not_found,
            || async {
                cx.aws
                    .iam
                    .attach_role_policy()
                    .role_name(ROLE_NAME)
                    .policy_arn(&policy)
                    .send()
                    .await
                    .aws(|| format!("attaching {policy} to IAM role {ROLE_NAME}"))
            },
        )
        .await?;
        Ok(())
    }
}

/// A role IAM has not yet shown API Gateway: it takes seconds after CreateRole.
fn not_usable_yet(err: &anyhow::Error) -> bool {
    has_code(err, &["BadRequestException"])
        && format!("{err:#}").contains("does not have required permissions")
}

impl Resource for CloudWatchRole {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "apigateway_account".to_string()
    }

    fn kind(&self) -> &'static str {
        "api logging role"
    }

    fn name(&self) -> String {
        "account setting".to_string()
    }

    fn deps(&self) -> Vec<Dep> {
        Vec::new()
    }

    /// Absent while the account names no role.
    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out: GetAccountOutput = cx
            .aws
            .apigw
            .get_account()
            .send()
            .await
            .aws(|| "reading API Gateway's account settings".to_string())?;
        Ok(out
            .cloudwatch_role_arn()
            .filter(|arn| !arn.is_empty())
            .map(|arn| Live {
                role_arn: arn.to_string(),
            }))
    }

    /// A role someone else set is the account's to keep: used as it is.
    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        if live.role_arn == role_arn(env) {
            Ownership::Ours
        } else {
            Ownership::NotOurs
        }
    }

    fn foreign_use(&self) -> ForeignUse {
        ForeignUse::UseAsIs
    }

    fn id(&self, live: &Live) -> String {
        live.role_arn.clone()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            role_arn: live.role_arn.clone(),
        }
    }

    fn planned_outputs(&self, env: &Env) -> Option<Outputs> {
        Some(Outputs {
            role_arn: role_arn(env),
        })
    }

    fn new_fields(&self, env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![FieldChange::setting("cloudwatch_role", role_arn(env))]
    }

    /// Names gwfargate's role, made first unless a stack of another region made it.
    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        self.ensure_role(cx).await?;
        let arn = role_arn(cx.env);
        wait::retrying(
            "naming the account's CloudWatch role",
            cx.line,
            Patience::minutes(2),
            not_usable_yet,
            || async {
                cx.aws
                    .apigw
                    .update_account()
                    .patch_operations(super::replace("/cloudwatchRoleArn", &arn))
                    .send()
                    .await
                    .aws(|| format!("naming {arn} API Gateway's CloudWatch role"))
            },
        )
        .await?;
        Ok(Live { role_arn: arn })
    }

    /// Never deleted: other APIs of the account may log through it.
    fn kept(&self, _env: &Env, _live: &Live) -> Option<String> {
        Some("the account's setting, which other APIs may use too".to_string())
    }

    async fn delete(
        &self,
        _cx: &Cx<'_>,
        _live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        Ok(None)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&live.role_arn, "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::env;

    #[test]
    fn a_role_the_account_names_is_used_as_it_is_and_ours_is_kept_by_down() {
        let env = env();
        let theirs = Live {
            role_arn: "arn:aws:iam::123456789012:role/their-logging".into(),
        };
        assert_eq!(CloudWatchRole.ownership(&env, &theirs), Ownership::NotOurs);
        assert_eq!(CloudWatchRole.foreign_use(), ForeignUse::UseAsIs);
        assert_eq!(
            CloudWatchRole.outputs(&env, &theirs).role_arn,
            "arn:aws:iam::123456789012:role/their-logging"
        );
        let ours = Live {
            role_arn: role_arn(&env),
        };
        assert_eq!(
            ours.role_arn,
            "arn:aws:iam::123456789012:role/gwfargate-apigateway-cloudwatch-logs"
        );
        assert_eq!(CloudWatchRole.ownership(&env, &ours), Ownership::Ours);
        assert!(CloudWatchRole.kept(&env, &ours).is_some(), "down leaves it");
    }
}
