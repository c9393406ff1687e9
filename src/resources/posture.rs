//! The stack's security posture: the checks AWS Security Hub's Foundational Security Best
//! Practices (FSBP) and Checkov make of such a stack, answered from what gwfargate builds for
//! the env file, with the key that turns a failing one around. `plan` and `status` show it, so
//! a user sees the posture without running a scanner.
//!
//! It describes the stack as `up` leaves it for this env file; `plan` shows any drift from it.

use crate::config::{Auth, Deployment};
use crate::model::Env;
pub use crate::model::posture::Check;

fn check(check: &'static str, control: &'static str, passes: bool, fix: &str) -> Check {
    Check {
        check,
        control,
        passes,
        fix: (!passes).then(|| fix.to_string()),
    }
}

/// Every check, for `env`'s stack.
pub fn of(env: &Env) -> Vec<Check> {
    let d = &env.deployment;
    let repository_made =
        super::ecr::Repository::for_image(&d.service.image, &d.region, &env.account).is_some();
    checks(d, repository_made)
}

/// The days of retention FSBP CloudWatch.16 asks for at least.
const RETENTION_CHECKED: u32 = 365;

/// Every check, for `deployment` (`repository_made`: gwfargate makes the image's repository,
/// so its settings are the stack's).
pub fn checks(deployment: &Deployment, repository_made: bool) -> Vec<Check> {
    let api = &deployment.api;
    let svc = &deployment.service;
    let logs = &deployment.logs;
    let public = deployment.network.entry == crate::config::Entry::PublicLoadBalancer;
    let api_checks = vec![
        check(
            "API callers are authorized",
            "CKV_AWS_59",
            api.auth != Auth::None,
            "set `auth = \"iam\"` or `\"api_key\"` under [api]",
        ),
        check("API stage throttled", "-", true, ""),
        check("API access logging", "CKV_AWS_76", true, ""),
        check(
            "API execution logging",
            "APIGateway.1",
            false,
            "not offered by gwfargate yet (the access log records every request)",
        ),
        check("API TLS 1.2 or newer", "-", true, ""),
        check(
            "API X-Ray tracing",
            "APIGateway.3",
            api.tracing,
            "set `tracing = true` under [api]",
        ),
        check(
            "API behind a WAF web ACL",
            "APIGateway.4",
            api.waf_acl.is_some(),
            "set `waf_acl = \"<web ACL ARN>\"` under [api]",
        ),
    ];
    // The public entry has no API to check; what it gives up instead.
    let public_checks = vec![
        check(
            "tasks have no public IP addresses",
            "ECS.2",
            false,
            "rebuild with `entry = \"api_gateway\"` under [network] (`down`, then `up`): the \
             public entry gives the tasks public addresses",
        ),
        check(
            "load balancer redirects HTTP to HTTPS",
            "ELB.1",
            false,
            "rebuild with `entry = \"api_gateway\"` under [network] (`down`, then `up`): the \
             public entry serves plain HTTP",
        ),
    ];
    let mut out = if public { public_checks } else { api_checks };
    out.push(check(
        "execution role trusts only this account's ECS",
        "-",
        true,
        "",
    ));
    out.push(check(
        "ECR rights only on the image's repository",
        "-",
        true,
        "",
    ));
    if !public {
        out.push(check(
            "tasks and endpoints in separate security groups",
            "-",
            true,
            "",
        ));
    }
    out.push(check(
        "VPC default security group has no rules",
        "EC2.2",
        true,
        "",
    ));
    if !public {
        out.push(check(
            "endpoint policies scoped to the stack",
            "-",
            true,
            "",
        ));
    }
    out.extend([
        check(
            "VPC flow logs",
            "EC2.6",
            deployment.network.flow_logs,
            "set `flow_logs = true` under [network]",
        ),
        check(
            "container root filesystem read-only",
            "ECS.5",
            svc.readonly_root_filesystem,
            "set `readonly_root_filesystem = true` under [service]",
        ),
        check(
            "container runs as a non-root user",
            "-",
            svc.user.is_some(),
            "set `user = \"<uid>:<gid>\"` under [service]",
        ),
        check(
            "log groups encrypted with a KMS key",
            "CKV_AWS_158",
            logs.kms_key.is_some(),
            "set `kms_key = \"<key ARN>\"` under [logs]",
        ),
        check(
            "log retention at least a year",
            "CloudWatch.16",
            logs.retention_days >= RETENTION_CHECKED,
            "set `retention_days = 365` (or more) under [logs]",
        ),
        check(
            "ECS Container Insights",
            "ECS.12",
            logs.container_insights == Some(true),
            "set `container_insights = true` under [logs]",
        ),
    ]);
    if repository_made {
        out.push(check("image scanned on push", "ECR.1", true, ""));
        out.push(check(
            "image tags immutable",
            "ECR.2",
            deployment.repository.immutable_tags,
            "set `immutable_tags = true` under [repository]",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::env;

    fn failing(checks: &[Check]) -> Vec<&'static str> {
        checks
            .iter()
            .filter(|c| !c.passes)
            .map(|c| c.control)
            .collect()
    }

    #[test]
    fn the_reference_env_file_fails_what_it_does_not_ask_for_and_each_key_turns_one_around() {
        let mut env = env();
        let reference = checks(&env.deployment, true);
        assert_eq!(
            failing(&reference),
            [
                "CKV_AWS_59",
                "APIGateway.1",
                "APIGateway.3",
                "APIGateway.4",
                "EC2.6",
                "ECS.5",
                "-",
                "CKV_AWS_158",
                "CloudWatch.16",
                "ECS.12",
                "ECR.2"
            ]
        );
        assert!(
            reference.iter().all(|c| c.passes == c.fix.is_none()),
            "a failing check says how to pass it"
        );
        let d = &mut env.deployment;
        d.api.auth = Auth::Iam;
        d.api.tracing = true;
        d.service.readonly_root_filesystem = true;
        d.service.user = Some("1000".into());
        d.logs.kms_key = Some("arn:aws:kms:eu-west-1:123456789012:key/k".into());
        d.logs.retention_days = 365;
        d.logs.container_insights = Some(true);
        d.repository.immutable_tags = true;
        d.network.flow_logs = true;
        d.api.waf_acl = Some("arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/a/1".into());
        assert_eq!(
            failing(&checks(d, true)),
            ["APIGateway.1"],
            "what gwfargate does not offer yet"
        );
        assert!(
            !checks(d, false)
                .iter()
                .any(|c| c.control.starts_with("ECR")),
            "no repository of the stack's, no repository checks"
        );
        d.network.entry = crate::config::Entry::PublicLoadBalancer;
        let public = checks(d, true);
        assert_eq!(
            failing(&public),
            ["ECS.2", "ELB.1"],
            "a public entry: public tasks, plain HTTP"
        );
        assert!(!public.iter().any(|c| c.check.starts_with("API")));
    }
}
