//! The REST API: the stack's only public entry. `ANY /` and `ANY /{proxy+}` are HTTP_PROXY
//! integrations over the VPC link to `http://<nlb-dns>:<port>/...` (the original routed only
//! `/{proxy+}`, so the root answered 403).
//!
//! The integrations' settings are summed up in a fingerprint that the stage step writes into
//! each deployment's description: a stage keeps serving its old deployment until a new one is
//! made, so a new deployment is made exactly when the fingerprint changes.

use aws_sdk_apigateway::types::{
    ConnectionType, EndpointConfiguration, EndpointType, IntegrationType, RestApi,
};
use sha2::{Digest as _, Sha256};

use super::{Ctx, Observed};
use crate::aws::{AwsResultExt as _, found, has_code};
use crate::create::create_once;
use crate::progress::StepProgress;
use crate::state::Record;
use crate::wait::{self, Patience};

/// State key.
pub const KEY: &str = "rest_api";

fn is_ours(ctx: &Ctx, api: &RestApi) -> bool {
    api.tags()
        .is_some_and(|tags| ctx.is_ours(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// The API: by recorded id, else by name and tags.
pub async fn find(ctx: &Ctx) -> anyhow::Result<Option<RestApi>> {
    if let Some(rec) = ctx.state.get(KEY) {
        let out = found(
            ctx.aws
                .apigw
                .get_rest_api()
                .rest_api_id(&rec.id)
                .send()
                .await
                .aws(|| format!("describing REST API {}", rec.id)),
        )?;
        if let Some(out) = out {
            return Ok(Some(
                RestApi::builder()
                    .set_id(out.id().map(str::to_string))
                    .set_name(out.name().map(str::to_string))
                    .set_tags(out.tags().cloned())
                    .set_root_resource_id(out.root_resource_id().map(str::to_string))
                    .build(),
            ));
        }
    }
    let mut pages = ctx
        .aws
        .apigw
        .get_rest_apis()
        .limit(500)
        .into_paginator()
        .send();
    let mut matches = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.aws(|| "listing REST APIs".to_string())?;
        matches.extend(
            page.items()
                .iter()
                .filter(|a| a.name() == Some(ctx.names.rest_api.as_str()) && is_ours(ctx, a))
                .cloned(),
        );
    }
    matches.sort_by(|a, b| a.id().cmp(&b.id()));
    Ok(matches.into_iter().next())
}

/// The API's id, or an error if it does not exist.
pub async fn id(ctx: &Ctx) -> anyhow::Result<String> {
    find(ctx)
        .await?
        .and_then(|a| a.id().map(str::to_string))
        .ok_or_else(|| anyhow::anyhow!("REST API {} does not exist", ctx.names.rest_api))
}

/// The backend URI for a path on the NLB.
fn backend_uri(dns: &str, port: u16, path: &str) -> String {
    format!("http://{dns}:{port}/{path}")
}

/// The fingerprint of the integrations for a VPC link and NLB.
pub fn fingerprint(link_id: &str, dns: &str, port: u16) -> String {
    let text = format!(
        "v1|{link_id}|{}|{}",
        backend_uri(dns, port, ""),
        backend_uri(dns, port, "{proxy}")
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprint the live integrations should have now.
pub async fn wanted_fingerprint(ctx: &Ctx) -> anyhow::Result<String> {
    let link_id = super::vpc_link::id(ctx).await?;
    let lb = super::load_balancer::require(ctx).await?;
    Ok(fingerprint(
        &link_id,
        lb.dns_name().unwrap_or_default(),
        ctx.deployment.service.port,
    ))
}

/// The API's resources (paths).
async fn resources(
    ctx: &Ctx,
    api_id: &str,
) -> anyhow::Result<Vec<aws_sdk_apigateway::types::Resource>> {
    let out = ctx
        .aws
        .apigw
        .get_resources()
        .rest_api_id(api_id)
        .limit(500)
        .send()
        .await
        .aws(|| format!("listing the resources of REST API {api_id}"))?;
    Ok(out.items().to_vec())
}

/// The `ANY` method of a resource, if it exists.
async fn get_method(
    ctx: &Ctx,
    api_id: &str,
    resource_id: &str,
    path: &str,
) -> anyhow::Result<Option<aws_sdk_apigateway::operation::get_method::GetMethodOutput>> {
    found(
        ctx.aws
            .apigw
            .get_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method("ANY")
            .send()
            .await
            .aws(|| format!("reading ANY {path}")),
    )
}

/// Finds or creates the API and converges its routes and integrations.
pub async fn ensure(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let name = &ctx.names.rest_api;
    let link_id = super::vpc_link::id(ctx).await?;
    let lb = super::load_balancer::require(ctx).await?;
    let dns = lb.dns_name().unwrap_or_default().to_string();
    let port = ctx.deployment.service.port;
    let (api_id, verb) = match find(ctx).await? {
        Some(api) => (api.id().unwrap_or_default().to_string(), "found"),
        None => {
            p.set("creating");
            ctx.intend(KEY, super::Step::RestApi, name)?;
            let id = create_once(
                &format!("REST API {name}"),
                p,
                || async { Ok(find(ctx).await?.and_then(|a| a.id().map(str::to_string))) },
                || async {
                    let out = ctx
                        .single
                        .apigw
                        .create_rest_api()
                        .name(name)
                        .description(format!(
                            "gwfargate {}: public entry to {}",
                            ctx.deployment.name, ctx.deployment.service.name
                        ))
                        .endpoint_configuration(
                            EndpointConfiguration::builder()
                                .types(EndpointType::Regional)
                                .build(),
                        )
                        .set_tags(Some(ctx.tag_map(name)))
                        .send()
                        .await
                        .aws(|| format!("creating REST API {name}"))?;
                    out.id()
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateRestApi returned no id"))
                },
            )
            .await?;
            ctx.record(KEY, Record::created(&id))?;
            (id, "created")
        }
    };
    ctx.record(KEY, Record::created(&api_id))?;

    let paths = resources(ctx, &api_id).await?;
    let root_id = paths
        .iter()
        .find(|r| r.path() == Some("/"))
        .and_then(|r| r.id())
        .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no root resource"))?
        .to_string();
    let proxy_id = match paths.iter().find(|r| r.path() == Some("/{proxy+}")) {
        Some(r) => r.id().unwrap_or_default().to_string(),
        None => {
            p.set("adding /{proxy+}");
            create_once(
                "/{proxy+}",
                p,
                || async {
                    Ok(resources(ctx, &api_id)
                        .await?
                        .iter()
                        .find(|r| r.path() == Some("/{proxy+}"))
                        .and_then(|r| r.id().map(str::to_string)))
                },
                || async {
                    ctx.single
                        .apigw
                        .create_resource()
                        .rest_api_id(&api_id)
                        .parent_id(&root_id)
                        .path_part("{proxy+}")
                        .send()
                        .await
                        .aws(|| format!("adding /{{proxy+}} to REST API {api_id}"))?
                        .id()
                        .map(str::to_string)
                        .ok_or_else(|| anyhow::anyhow!("CreateResource returned no id"))
                },
            )
            .await?
        }
    };
    let mut changes = 0;
    for (resource_id, path, proxied) in [(&root_id, "/", false), (&proxy_id, "/{proxy+}", true)] {
        let method = get_method(ctx, &api_id, resource_id, path).await?;
        if method.is_none() {
            p.set(format!("adding ANY {path}"));
            let req = ctx
                .aws
                .apigw
                .put_method()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method("ANY")
                .authorization_type("NONE");
            let req = if proxied {
                req.request_parameters("method.request.path.proxy", true)
            } else {
                req
            };
            match req.send().await.aws(|| format!("adding method ANY {path}")) {
                // A retry of a call whose answer was lost meets the method it made; any other
                // conflict (a concurrent change) leaves no method, and stays an error.
                Err(err) if has_code(&err, &["ConflictException"]) => {
                    if get_method(ctx, &api_id, resource_id, path).await?.is_none() {
                        return Err(err);
                    }
                }
                other => {
                    other?;
                }
            }
            changes += 1;
        }
        let uri = backend_uri(&dns, port, if proxied { "{proxy}" } else { "" });
        let integration = found(
            ctx.aws
                .apigw
                .get_integration()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method("ANY")
                .send()
                .await
                .aws(|| format!("reading the integration of ANY {path}")),
        )?;
        let current = integration.as_ref().is_some_and(|i| {
            i.r#type() == Some(&IntegrationType::HttpProxy)
                && i.uri() == Some(uri.as_str())
                && i.connection_type() == Some(&ConnectionType::VpcLink)
                && i.connection_id().is_none_or(|c| c == link_id)
        });
        if !current {
            p.set(format!("integrating ANY {path} with the VPC link"));
            let req = ctx
                .aws
                .apigw
                .put_integration()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method("ANY")
                .r#type(IntegrationType::HttpProxy)
                .integration_http_method("ANY")
                .uri(&uri)
                .connection_type(ConnectionType::VpcLink)
                .connection_id(&link_id);
            let req = if proxied {
                req.request_parameters(
                    "integration.request.path.proxy",
                    "method.request.path.proxy",
                )
            } else {
                req
            };
            req.send()
                .await
                .aws(|| format!("integrating ANY {path} with VPC link {link_id}"))?;
            changes += 1;
        }
    }
    Ok(match (verb, changes) {
        ("created", _) | (_, 0) => format!("{verb} {api_id}"),
        _ => format!("updated {api_id}: {changes} route change(s)"),
    })
}

/// Live state.
pub async fn observe(ctx: &Ctx) -> anyhow::Result<Vec<Observed>> {
    let name = &ctx.names.rest_api;
    Ok(vec![match find(ctx).await? {
        Some(api) => Observed::present("rest api", name, api.id().unwrap_or_default(), "present"),
        None => Observed::missing("rest api", name),
    }])
}

/// Deletes the API (and with it its stages and deployments).
pub async fn delete(ctx: &Ctx, p: &StepProgress) -> anyhow::Result<String> {
    let mut deleted = Vec::new();
    while let Some(api) = find(ctx).await? {
        let id = api.id().unwrap_or_default().to_string();
        // DeleteRestApi allows one call per 30 s per account.
        wait::retrying(
            &format!("deleting REST API {id}"),
            p,
            Patience::minutes(5),
            |err| has_code(err, &["TooManyRequestsException"]),
            || async {
                found(
                    ctx.aws
                        .apigw
                        .delete_rest_api()
                        .rest_api_id(&id)
                        .send()
                        .await
                        .aws(|| format!("deleting REST API {id}")),
                )
                .map(|_| ())
            },
        )
        .await?;
        ctx.state.forget(KEY)?;
        deleted.push(id);
    }
    ctx.state.forget(KEY)?;
    Ok(if deleted.is_empty() {
        "already gone".to_string()
    } else {
        format!("deleted {}", deleted.join(", "))
    })
}
