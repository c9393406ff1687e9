//! API Gateway: the VPC link to the load balancer, the REST API, its integrations and its
//! stage, and the account's CloudWatch role the stage's access log needs. API Gateway has no
//! tag filter, so these are found by their recorded id first, then by name and tags.

pub mod account;
pub mod api_key;
pub mod authorizer;
pub mod integration;
pub mod rest_api;
pub mod stage;
pub mod usage_plan;
pub mod vpc_link;
pub mod vpc_link_v2;

/// The public URL of `stage` of REST API `api_id`.
pub fn invoke_url(api_id: &str, region: &str, stage: &str) -> String {
    format!("https://{api_id}.execute-api.{region}.amazonaws.com/{stage}")
}

/// A patch operation that sets `path` to `value`: how API Gateway's Update calls change a
/// setting.
pub fn replace(path: &str, value: impl Into<String>) -> aws_sdk_apigateway::types::PatchOperation {
    aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::Replace)
        .path(path)
        .value(value)
        .build()
}

/// Sets and removes tags on the API Gateway resource at `path` (`/restapis/<id>`,
/// `/vpclinks/<id>`): TagResource names it by an ARN with no account.
pub async fn retag(
    cx: &crate::model::Cx<'_>,
    path: &str,
    changes: &crate::model::TagChanges,
) -> anyhow::Result<()> {
    let arn = format!(
        "arn:{}:apigateway:{}::{path}",
        cx.partition(),
        cx.deployment.region
    );
    crate::aws::tags::retag_apigateway(&cx.aws, &arn, &changes.set, &changes.remove).await
}
