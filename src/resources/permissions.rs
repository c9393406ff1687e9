//! The IAM policy a caller needs to run `up`, `plan`, `status` and `down` on one stack, and
//! nothing more: every action named (no `service:*`), scoped to the stack's own ARNs wherever
//! the action takes a resource, and to the deployment's tag where the ARN cannot be known
//! before the resource exists (EC2 ids, API ids). `gwfargate policy` prints it; a test runs a
//! full cycle and checks every call it made is allowed here.

use serde_json::{Value, json};

use crate::config::names::TAG_ENV;
use crate::model::Env;

use super::ecr;

/// Actions that only read, granted on `*` (these actions take no resource, or only `*`).
const READS: &[&str] = &[
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpointServiceConfigurations",
    "ec2:DescribeVpcEndpointServices",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "logs:DescribeLogGroups",
    "sts:GetCallerIdentity",
];

/// The policy document for `env`'s stack.
pub fn document(env: &Env) -> Value {
    let names = &env.names;
    let partition = env.partition();
    let region = &env.deployment.region;
    let account = &env.account;
    let arn =
        |service: &str, rest: &str| format!("arn:{partition}:{service}:{region}:{account}:{rest}");
    let ec2_types = [
        "vpc",
        "subnet",
        "security-group",
        "security-group-rule",
        "route-table",
        "vpc-endpoint",
    ];
    let ec2_new: Vec<String> = ec2_types
        .iter()
        .map(|t| arn("ec2", &format!("{t}/*")))
        .collect();
    let prefix_lists = arn("ec2", "prefix-list/*");
    // Both kinds of load balancer, as a stack moving from one to the other deletes the old:
    // ELB's ARNs name the kind, `net` for an NLB and `app` for an ALB, and so do our names.
    let mut load_balancing = Vec::new();
    for kind in [
        crate::config::LoadBalancerKind::Nlb,
        crate::config::LoadBalancerKind::Alb,
    ] {
        let mut deployment = env.deployment.clone();
        deployment.network.load_balancer = kind;
        let names = crate::config::names::Names::new(&deployment);
        let short = match kind {
            crate::config::LoadBalancerKind::Nlb => "net",
            crate::config::LoadBalancerKind::Alb => "app",
        };
        load_balancing.extend([
            arn(
                "elasticloadbalancing",
                &format!("loadbalancer/{short}/{}/*", names.load_balancer),
            ),
            arn(
                "elasticloadbalancing",
                &format!("targetgroup/{}/*", names.target_group),
            ),
            arn(
                "elasticloadbalancing",
                &format!("listener/{short}/{}/*", names.load_balancer),
            ),
        ]);
    }
    let cluster = arn("ecs", &format!("cluster/{}", names.cluster));
    let service = arn(
        "ecs",
        &format!("service/{}/{}", names.cluster, names.service),
    );
    let tasks = arn("ecs", &format!("task/{}/*", names.cluster));
    let service_deployments = arn(
        "ecs",
        &format!("service-deployment/{}/{}/*", names.cluster, names.service),
    );
    let family = arn("ecs", &format!("task-definition/{}:*", names.task_family));
    let role = format!(
        "arn:{partition}:iam::{account}:role/{}",
        names.execution_role
    );
    let linked = |service: &str, name: &str| {
        format!("arn:{partition}:iam::{account}:role/aws-service-role/{service}/{name}")
    };
    let log_group = arn("logs", &format!("log-group:{}", names.log_group));
    let access_log = arn("logs", &format!("log-group:{}", names.access_log_group));
    let logging_role = super::apigateway::account::role_arn(env);
    let apigw = |path: &str| format!("arn:{partition}:apigateway:{region}::{path}");
    let ours = json!({"StringEquals": {format!("aws:ResourceTag/{TAG_ENV}"): names.deployment}});

    let mut statements = vec![
        json!({"Sid": "Read", "Effect": "Allow", "Action": READS, "Resource": "*"}),
        json!({"Sid": "NetworkCreate", "Effect": "Allow",
               "Action": ["ec2:CreateVpc", "ec2:CreateSubnet", "ec2:CreateSecurityGroup",
                          "ec2:CreateRouteTable", "ec2:CreateVpcEndpoint"],
               "Resource": ec2_new}),
        // Tags go on in the create call itself (TagSpecifications), and only there.
        json!({"Sid": "NetworkTagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags",
               "Resource": ec2_new,
               "Condition": {"StringEquals": {"ec2:CreateAction": [
                   "CreateVpc", "CreateSubnet", "CreateSecurityGroup", "CreateRouteTable",
                   "CreateVpcEndpoint"]}}}),
        json!({"Sid": "SecurityGroupRules", "Effect": "Allow",
               "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                          "ec2:RevokeSecurityGroupEgress"],
               "Resource": arn("ec2", "security-group-rule/*")}),
        json!({"Sid": "NetworkChangeOurs", "Effect": "Allow",
               "Action": ["ec2:ModifyVpcAttribute", "ec2:ModifyVpcEndpoint",
                          "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
                          "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
                          "ec2:RevokeSecurityGroupEgress", "ec2:DeleteVpc", "ec2:DeleteSubnet",
                          "ec2:DeleteSecurityGroup", "ec2:DeleteRouteTable",
                          "ec2:DeleteVpcEndpoints", "ec2:CreateTags", "ec2:DeleteTags"],
               "Resource": ec2_new, "Condition": ours}),
        // NOT SCOPED: the VPC's default security group is AWS's, made with the VPC and
        // untagged, so IAM can name neither it nor the VPC before they exist. This lets the
        // caller remove rules from any security group of the region (it cannot add any).
        json!({"Sid": "DefaultSecurityGroupNoRulesUnscoped", "Effect": "Allow",
               "Action": ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
               "Resource": [arn("ec2", "security-group/*"), arn("ec2", "security-group-rule/*")]}),
        // The S3 prefix list a security group rule names is AWS's, not the stack's.
        json!({"Sid": "NetworkS3PrefixList", "Effect": "Allow",
               "Action": ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"],
               "Resource": prefix_lists}),
        // A VPC link can leave an endpoint service on the NLB; `down` removes it.
        json!({"Sid": "NetworkOrphanedEndpointService", "Effect": "Allow",
               "Action": "ec2:DeleteVpcEndpointServiceConfigurations",
               "Resource": arn("ec2", "vpc-endpoint-service/*")}),
        json!({"Sid": "LoadBalancer", "Effect": "Allow",
               "Action": ["elasticloadbalancing:CreateLoadBalancer",
                          "elasticloadbalancing:CreateTargetGroup",
                          "elasticloadbalancing:CreateListener",
                          "elasticloadbalancing:ModifyLoadBalancerAttributes",
                          "elasticloadbalancing:SetSecurityGroups",
                          "elasticloadbalancing:ModifyTargetGroup",
                          "elasticloadbalancing:ModifyTargetGroupAttributes",
                          "elasticloadbalancing:ModifyListener",
                          "elasticloadbalancing:DeleteLoadBalancer",
                          "elasticloadbalancing:DeleteTargetGroup",
                          "elasticloadbalancing:DeleteListener",
                          "elasticloadbalancing:AddTags",
                          "elasticloadbalancing:RemoveTags"],
               "Resource": load_balancing}),
        json!({"Sid": "Containers", "Effect": "Allow",
               "Action": ["ecs:CreateCluster", "ecs:DescribeClusters", "ecs:DeleteCluster",
                          "ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService",
                          "ecs:DeleteService", "ecs:DescribeTasks", "ecs:TagResource",
                          "ecs:UntagResource", "ecs:ListTagsForResource", "ecs:UpdateClusterSettings",
                          "ecs:RunTask", "ecs:StopTask", "ecs:ListServiceDeployments",
                          "ecs:StopServiceDeployment"],
               "Resource": [cluster, service, tasks, family, service_deployments]}),
        // These take no resource ARN; the family is the stack's by its tags.
        json!({"Sid": "TaskDefinitions", "Effect": "Allow",
               "Action": ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
                          "ecs:DeleteTaskDefinitions"],
               "Resource": "*"}),
        json!({"Sid": "ExecutionRole", "Effect": "Allow",
               "Action": ["iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
                          "iam:PutRolePolicy",
                          "iam:UpdateAssumeRolePolicy",
                          "iam:GetRolePolicy", "iam:ListRolePolicies",
                          "iam:ListAttachedRolePolicies", "iam:DeleteRolePolicy",
                          "iam:DetachRolePolicy", "iam:DeleteRole"],
               "Resource": role}),
        json!({"Sid": "PassExecutionRoleToEcsTasks", "Effect": "Allow", "Action": "iam:PassRole",
               "Resource": role,
               "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}),
        json!({"Sid": "ServiceLinkedRoles", "Effect": "Allow",
               "Action": ["iam:CreateServiceLinkedRole", "iam:GetRole"],
               "Resource": [linked("ecs.amazonaws.com", "AWSServiceRoleForECS"),
                            linked("elasticloadbalancing.amazonaws.com",
                                   "AWSServiceRoleForElasticLoadBalancing")],
               "Condition": {"StringEqualsIfExists": {"iam:AWSServiceName": [
                   "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"]}}}),
        json!({"Sid": "Logs", "Effect": "Allow",
               "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy",
                          "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource",
                          "logs:DeleteLogGroup", "logs:FilterLogEvents", "logs:StartLiveTail",
                          "logs:AssociateKmsKey", "logs:DisassociateKmsKey"],
               "Resource": [log_group.clone(), format!("{log_group}:*"),
                            access_log.clone(), format!("{access_log}:*")]}),
        // API Gateway's account-level CloudWatch role: read always; made and named only when
        // the account names none, never replaced or deleted.
        json!({"Sid": "ApiLoggingRole", "Effect": "Allow",
               "Action": ["iam:GetRole", "iam:CreateRole", "iam:TagRole", "iam:UntagRole",
                          "iam:AttachRolePolicy"],
               "Resource": logging_role.clone()}),
        json!({"Sid": "PassApiLoggingRoleToApiGateway", "Effect": "Allow", "Action": "iam:PassRole",
               "Resource": logging_role,
               "Condition": {"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}}}),
        json!({"Sid": "Api", "Effect": "Allow",
               "Action": ["apigateway:GET", "apigateway:POST", "apigateway:PUT",
                          "apigateway:PATCH", "apigateway:DELETE"],
               "Resource": [apigw("/restapis"), apigw("/restapis/*"), apigw("/vpclinks"),
                            apigw("/vpclinks/*"), apigw("/tags/*"), apigw("/usageplans"),
                            apigw("/usageplans/*"), apigw("/apikeys"), apigw("/apikeys/*")]}),
        json!({"Sid": "ApiAccountSettings", "Effect": "Allow",
               "Action": ["apigateway:GET", "apigateway:PATCH"],
               "Resource": apigw("/account")}),
    ];
    if let Some(acl) = &env.deployment.api.waf_acl {
        statements.push(json!({"Sid": "StageWebAcl", "Effect": "Allow",
            "Action": ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"],
            "Resource": [acl.clone(), apigw("/restapis/*/stages/*")]}));
        statements.push(json!({"Sid": "StageWebAclApiGateway", "Effect": "Allow",
            "Action": "apigateway:SetWebACL",
            "Resource": apigw("/restapis/*/stages/*")}));
    }
    let nat_made = [
        arn("ec2", "internet-gateway/*"),
        arn("ec2", "elastic-ip/*"),
        arn("ec2", "natgateway/*"),
    ];
    if env.deployment.network.egress == crate::config::Egress::Nat {
        let created: Vec<String> = [&nat_made[..], &[arn("ec2", "subnet/*")]].concat();
        statements.push(json!({"Sid": "NatGatewayCreate", "Effect": "Allow",
            "Action": ["ec2:CreateInternetGateway", "ec2:AllocateAddress", "ec2:CreateNatGateway"],
            "Resource": created}));
        statements.push(json!({"Sid": "NatGatewayTagOnCreate", "Effect": "Allow",
            "Action": "ec2:CreateTags", "Resource": nat_made.clone(),
            "Condition": {"StringEquals": {"ec2:CreateAction": [
                "CreateInternetGateway", "AllocateAddress", "CreateNatGateway"]}}}));
    }
    if env.deployment.network.egress == crate::config::Egress::PublicIp {
        // The public entry's internet gateway, before its internet-facing load balancer.
        statements.push(json!({"Sid": "InternetGatewayCreate", "Effect": "Allow",
            "Action": "ec2:CreateInternetGateway", "Resource": nat_made[0].clone()}));
        statements.push(
            json!({"Sid": "InternetGatewayTagOnCreate", "Effect": "Allow",
            "Action": "ec2:CreateTags", "Resource": nat_made[0].clone(),
            "Condition": {"StringEquals": {"ec2:CreateAction": "CreateInternetGateway"}}}),
        );
    }
    // The NAT design's parts are torn down by the policy of either design: a stack moving back
    // to the endpoints, or taken down, deletes them.
    let changed: Vec<String> = [
        &nat_made[..],
        &[arn("ec2", "route-table/*"), arn("ec2", "vpc/*")],
    ]
    .concat();
    statements.push(json!({"Sid": "NatGatewayChangeOurs", "Effect": "Allow",
        "Action": ["ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
                   "ec2:DeleteInternetGateway", "ec2:ReleaseAddress", "ec2:DeleteNatGateway",
                   "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute",
                   "ec2:CreateTags", "ec2:DeleteTags"],
        "Resource": changed,
        "Condition": ours}));
    if env.deployment.network.flow_logs {
        let delivery = format!(
            "arn:{partition}:iam::{account}:role/{}",
            names.flow_log_role
        );
        let flow_group = arn("logs", &format!("log-group:{}", names.flow_log_group));
        statements.push(json!({"Sid": "FlowLogs", "Effect": "Allow",
            "Action": ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:DescribeFlowLogs",
                       "ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": [arn("ec2", "vpc-flow-log/*"), arn("ec2", "vpc/*")]}));
        statements.push(json!({"Sid": "FlowLogGroup", "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy",
                       "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource",
                          "logs:DeleteLogGroup",
                       "logs:AssociateKmsKey", "logs:DisassociateKmsKey"],
            "Resource": [flow_group.clone(), format!("{flow_group}:*")]}));
        statements.push(json!({"Sid": "FlowLogDeliveryRole", "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
                          "iam:PutRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "iam:GetRolePolicy",
                       "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                       "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole"],
            "Resource": delivery.clone()}));
        statements.push(json!({"Sid": "PassFlowLogDeliveryRole", "Effect": "Allow",
            "Action": "iam:PassRole", "Resource": delivery,
            "Condition": {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}}}));
    }
    if env.deployment.api.lambda_authorizer.is_some() {
        let invoker = format!(
            "arn:{partition}:iam::{account}:role/{}",
            names.authorizer_role
        );
        statements.push(json!({"Sid": "AuthorizerInvokerRole", "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
                          "iam:PutRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "iam:GetRolePolicy",
                       "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                       "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole"],
            "Resource": invoker.clone()}));
        statements.push(
            json!({"Sid": "PassAuthorizerInvokerRoleToApiGateway", "Effect": "Allow",
            "Action": "iam:PassRole", "Resource": invoker,
            "Condition": {"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}}}),
        );
    }
    if env.deployment.service.autoscaling.is_some() {
        // A scalable target's ARN ends in an id AWS picks, and most of these actions take no
        // resource type (Service Authorization Reference, Application Auto Scaling).
        statements.push(json!({"Sid": "Autoscaling", "Effect": "Allow",
            "Action": ["application-autoscaling:RegisterScalableTarget",
                       "application-autoscaling:DeregisterScalableTarget",
                       "application-autoscaling:DescribeScalableTargets",
                       "application-autoscaling:PutScalingPolicy",
                       "application-autoscaling:DeleteScalingPolicy",
                       "application-autoscaling:DescribeScalingPolicies",
                       "application-autoscaling:PutScheduledAction",
                       "application-autoscaling:DeleteScheduledAction",
                       "application-autoscaling:DescribeScheduledActions",
                       "application-autoscaling:DescribeScalingActivities",
                       "application-autoscaling:TagResource",
                       "application-autoscaling:UntagResource",
                       "application-autoscaling:ListTagsForResource"],
            "Resource": "*"}));
        // Registering an ECS service checks the caller may scale it; a target-tracking policy
        // makes and deletes its CloudWatch alarms with the caller's permissions ("Permissions
        // required to call Application Auto Scaling API actions").
        statements.push(
            json!({"Sid": "AutoscalingScalesTheService", "Effect": "Allow",
            "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
            "Resource": service.clone()}),
        );
        statements.push(json!({"Sid": "AutoscalingAlarms", "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm",
                       "cloudwatch:DeleteAlarms"],
            "Resource": arn("cloudwatch", &format!("alarm:TargetTracking-service/{}/{}-*",
                                                    names.cluster, names.service))}));
        statements.push(json!({"Sid": "AutoscalingServiceLinkedRole", "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": format!(
                "arn:{partition}:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
            "Condition": {"StringLike": {"iam:AWSServiceName":
                "ecs.application-autoscaling.amazonaws.com"}}}));
    }
    if super::vpc_link_version(&env.deployment, &env.state.recorded())
        == crate::config::VpcLinkVersion::V2
    {
        // API Gateway makes a V2 link's network interfaces with its own service-linked role,
        // made on the caller's behalf the first time ("Using service-linked roles for API
        // Gateway", API Gateway developer guide).
        statements.push(json!({"Sid": "VpcLinkServiceLinkedRole", "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": linked("ops.apigateway.amazonaws.com", "AWSServiceRoleForAPIGateway"),
            "Condition": {"StringLike": {"iam:AWSServiceName": "ops.apigateway.amazonaws.com"}}}));
    }
    if env.deployment.service.spot.is_some() {
        statements.push(json!({"Sid": "FargateSpot", "Effect": "Allow",
            "Action": "ecs:PutClusterCapacityProviders",
            "Resource": arn("ecs", &format!("cluster/{}", names.cluster))}));
    }
    if env.deployment.service.task_role.is_some() {
        let task = format!("arn:{partition}:iam::{account}:role/{}", names.task_role);
        statements.push(json!({"Sid": "TaskRole", "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:UntagRole",
                          "iam:PutRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "iam:GetRolePolicy",
                       "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                       "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                       "iam:DeleteRolePolicy", "iam:DeleteRole"],
            "Resource": task.clone()}));
        statements.push(json!({"Sid": "PassTaskRoleToEcsTasks", "Effect": "Allow",
            "Action": "iam:PassRole", "Resource": task,
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}));
    }
    let secrets: Vec<String> = env
        .deployment
        .service
        .secrets
        .values()
        .filter(|s| s.parameter_name().is_none())
        .map(|s| s.arn(region, account))
        .collect();
    if !secrets.is_empty() {
        // `up` and `plan` check each secret exists; they never read a value.
        statements.push(json!({"Sid": "SecretsExist", "Effect": "Allow",
            "Action": "secretsmanager:DescribeSecret", "Resource": secrets}));
    }
    if env
        .deployment
        .service
        .secrets
        .values()
        .any(|s| s.parameter_name().is_some())
    {
        statements.push(json!({"Sid": "ParametersExist", "Effect": "Allow",
            "Action": "ssm:DescribeParameters", "Resource": "*"}));
    }
    if let Some(key) = &env.deployment.repository.kms_key {
        // ECR makes a grant on the key for a repository encrypted with it.
        statements.push(json!({"Sid": "RepositoryKmsKey", "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"],
            "Resource": key}));
    }
    if let Some(repository) =
        ecr::Repository::for_image(&env.deployment.service.image, region, account)
    {
        let name = crate::model::Resource::name(&repository);
        statements.push(json!({"Sid": "ImageRepository", "Effect": "Allow",
            "Action": ["ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:ListImages",
                       "ecr:GetLifecyclePolicy", "ecr:PutLifecyclePolicy",
                       "ecr:ListTagsForResource", "ecr:TagResource", "ecr:UntagResource",
                       "ecr:DeleteRepository",
                       "ecr:PutImageTagMutability"],
            "Resource": arn("ecr", &format!("repository/{name}"))}));
    }
    if env.deployment.network.entry == crate::config::Entry::PublicLoadBalancer {
        // No API Gateway: none of its rights. (A built stack's entry does not change, so
        // there is no API to delete either.)
        statements.retain(|s| {
            !matches!(
                s["Sid"].as_str(),
                Some(
                    "ApiLoggingRole"
                        | "PassApiLoggingRoleToApiGateway"
                        | "Api"
                        | "ApiAccountSettings"
                        | "VpcLinkServiceLinkedRole"
                )
            )
        });
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::env;

    fn sids(env: &Env) -> Vec<String> {
        document(env)["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .filter_map(|s| s["Sid"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn a_v2_link_may_make_api_gateways_service_linked_role_and_a_v1_link_needs_not() {
        let mut env = env();
        assert!(sids(&env).contains(&"VpcLinkServiceLinkedRole".to_string()));
        let statement = document(&env)["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .find(|s| s["Sid"] == "VpcLinkServiceLinkedRole")
            .cloned()
            .expect("statement");
        assert_eq!(
            statement["Resource"],
            "arn:aws:iam::123456789012:role/aws-service-role/ops.apigateway.amazonaws.com/AWSServiceRoleForAPIGateway"
        );
        env.deployment.network.vpc_link = Some(crate::config::VpcLinkVersion::V1);
        assert!(!sids(&env).contains(&"VpcLinkServiceLinkedRole".to_string()));
    }
}
