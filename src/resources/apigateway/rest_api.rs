//! The REST API: the stack's only public entry. `ANY /` and `ANY /{proxy+}` are HTTP_PROXY
//! integrations over the VPC link to `http://<nlb-dns>:<port>/...` (the original routed only
//! `/{proxy+}`, so the root answered 403).

use aws_sdk_apigateway::types::{
    ConnectionType, EndpointConfiguration, EndpointType, IntegrationType, Resource as Route,
    RestApi as Api,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::vpc_link;
use crate::aws::create::create_once;
use crate::aws::errors::has_code;
use crate::aws::tags;
use crate::aws::wait::Patience;
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Deleted, Dep, Depth, Diff, Env, Inputs, Key, Observed, Ownership, Ref, Resource, Value,
};
use crate::resources::elb::{listener, load_balancer};
use crate::state::Intent;

const PROXY: &str = "/{proxy+}";

/// The REST API and its routes.
pub struct RestApi {
    name: String,
    description: String,
    region: String,
    environment: String,
    port: u16,
    vpc_link: Ref<vpc_link::Outputs>,
    load_balancer: Ref<load_balancer::Outputs>,
    listener: Ref<listener::Outputs>,
}

impl RestApi {
    /// The deployment's API, routed over `vpc_link` to `load_balancer`.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        vpc_link: &Ref<vpc_link::Outputs>,
        load_balancer: &Ref<load_balancer::Outputs>,
        listener: &Ref<listener::Outputs>,
    ) -> RestApi {
        RestApi {
            name: names.rest_api.clone(),
            description: format!(
                "gwfargate {}: public entry to {}",
                deployment.name, deployment.service.name
            ),
            region: deployment.region.clone(),
            environment: deployment.environment.clone(),
            port: deployment.service.port,
            vpc_link: vpc_link.clone(),
            load_balancer: load_balancer.clone(),
            listener: listener.clone(),
        }
    }

    /// The integration each route should have, or `None` while the link or load balancer is
    /// yet to be made.
    fn wanted(&self, inputs: &Inputs<'_>, proxied: bool) -> Option<Integration> {
        let link = inputs.get(&self.vpc_link)?;
        let lb = inputs.get(&self.load_balancer)?;
        Some(Integration {
            uri: backend_uri(
                &lb.dns_name,
                self.port,
                if proxied { "{proxy}" } else { "" },
            ),
            link: link.id,
        })
    }
}

/// The backend URI for a path on the NLB.
fn backend_uri(dns: &str, port: u16, path: &str) -> String {
    format!("http://{dns}:{port}/{path}")
}

/// The fingerprint of the integrations for a VPC link and NLB: a stage keeps serving its old
/// deployment until a new one is made, so the stage redeploys when it changes.
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

#[derive(Debug, Clone, PartialEq, Eq)]
struct Integration {
    uri: String,
    link: String,
}

impl Integration {
    fn words(&self) -> String {
        format!("{} via {}", self.uri, self.link)
    }
}

/// The API, with its routes (each with its `ANY` method and integration) when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The API.
    pub api: Api,
    /// Its resources (paths) with their methods (`None`: not read).
    pub routes: Option<Vec<Route>>,
}

impl Live {
    fn route(&self, path: &str) -> Option<&Route> {
        self.routes
            .as_ref()?
            .iter()
            .find(|r| r.path() == Some(path))
    }

    /// The route's `ANY` integration as it is, if it is an HTTP proxy over a VPC link.
    fn integration(&self, path: &str) -> Option<Integration> {
        let method = self.route(path)?.resource_methods()?.get("ANY")?;
        let i = method.method_integration()?;
        (i.r#type() == Some(&IntegrationType::HttpProxy)
            && i.connection_type() == Some(&ConnectionType::VpcLink))
        .then(|| Integration {
            uri: i.uri().unwrap_or_default().to_string(),
            link: i.connection_id().unwrap_or_default().to_string(),
        })
    }

    fn has_method(&self, path: &str) -> bool {
        self.route(path)
            .and_then(|r| r.resource_methods())
            .is_some_and(|m| m.contains_key("ANY"))
    }
}

/// What the API hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// REST API id.
    pub id: String,
}

async fn routes(cx: &Cx<'_>, api_id: &str) -> anyhow::Result<Vec<Route>> {
    let out = cx
        .aws
        .apigw
        .get_resources()
        .rest_api_id(api_id)
        .embed("methods")
        .limit(500)
        .send()
        .await
        .aws(|| format!("listing the resources of REST API {api_id}"))?;
    Ok(out.items().to_vec())
}

async fn with_routes(cx: &Cx<'_>, api: Option<Api>, depth: Depth) -> anyhow::Result<Option<Live>> {
    let Some(api) = api else { return Ok(None) };
    let routes = match (depth, api.id()) {
        (Depth::Full, Some(id)) => Some(routes(cx, id).await?),
        _ => None,
    };
    Ok(Some(Live { api, routes }))
}

impl Resource for RestApi {
    type Live = Live;
    type Outputs = Outputs;
    const FOUND_BY_ID: bool = true;

    fn key(&self) -> Key {
        "rest_api".to_string()
    }

    fn kind(&self) -> &'static str {
        "rest api"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        // Routes go live only when something listens behind them.
        vec![
            self.vpc_link.dep(),
            self.load_balancer.dep(),
            self.listener.dep(),
        ]
    }

    async fn by_id(
        &self,
        cx: &Cx<'_>,
        id: &str,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .apigw
                .get_rest_api()
                .rest_api_id(id)
                .send()
                .await
                .aws(|| format!("describing REST API {id}")),
        )?;
        let api = out.map(|out| {
            Api::builder()
                .set_id(out.id().map(str::to_string))
                .set_name(out.name().map(str::to_string))
                .set_tags(out.tags().cloned())
                .set_root_resource_id(out.root_resource_id().map(str::to_string))
                .build()
        });
        with_routes(cx, api, depth).await
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let mut pages = cx
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
                    .filter(|a| {
                        a.name() == Some(self.name.as_str()) && cx.is_ours(tags::from_map(a.tags()))
                    })
                    .cloned(),
            );
        }
        matches.sort_by(|a, b| a.id().cmp(&b.id()));
        with_routes(cx, matches.into_iter().next(), depth).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        env.owner(tags::from_map(live.api.tags()))
    }

    fn id(&self, live: &Live) -> String {
        live.api.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        if live.routes.is_none() {
            return diff;
        }
        for (path, proxied) in [("/", false), (PROXY, true)] {
            let have = live.integration(path);
            let want = self.wanted(inputs, proxied);
            // An emulator may not keep the connection id: an empty one is taken as right.
            let current = match (&have, &want) {
                (Some(h), Some(w)) => h.uri == w.uri && (h.link.is_empty() || h.link == w.link),
                _ => false,
            };
            if !current || !live.has_method(path) {
                diff.change(
                    &format!("ANY {path}"),
                    have.map(|h| h.words()),
                    want.map_or(Value::Unknown, |w| Value::Known(w.words())),
                );
            }
        }
        diff
    }

    fn creation_note(&self, env: &Env) -> Option<String> {
        let old = env.state.get(&self.key())?.id;
        Some(format!(
            "REST API {old} is gone, so the public URL changes: \
             https://{old}.execute-api.{}.amazonaws.com/{} answers no more; `up` prints the new one",
            self.region, self.environment
        ))
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let out = cx
            .single
            .apigw
            .create_rest_api()
            .name(&self.name)
            .description(&self.description)
            .endpoint_configuration(
                EndpointConfiguration::builder()
                    .types(EndpointType::Regional)
                    .build(),
            )
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating REST API {}", self.name))?;
        let root = Route::builder()
            .set_id(out.root_resource_id().map(str::to_string))
            .path("/")
            .build();
        Ok(Live {
            api: Api::builder()
                .set_id(out.id().map(str::to_string))
                .set_name(out.name().map(str::to_string))
                .set_tags(out.tags().cloned())
                .set_root_resource_id(out.root_resource_id().map(str::to_string))
                .build(),
            routes: Some(vec![root]),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let api_id = self.id(live);
        let root_id = live
            .route("/")
            .and_then(|r| r.id().map(str::to_string))
            .or_else(|| live.api.root_resource_id().map(str::to_string))
            .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no root resource"))?;
        let proxy_id = match live.route(PROXY).and_then(|r| r.id()) {
            Some(id) => id.to_string(),
            None => {
                cx.say(format!("adding {PROXY}"));
                create_once(
                    PROXY,
                    cx.line,
                    || async {
                        Ok(routes(cx, &api_id)
                            .await?
                            .iter()
                            .find(|r| r.path() == Some(PROXY))
                            .and_then(|r| r.id().map(str::to_string)))
                    },
                    || async {
                        cx.single
                            .apigw
                            .create_resource()
                            .rest_api_id(&api_id)
                            .parent_id(&root_id)
                            .path_part("{proxy+}")
                            .send()
                            .await
                            .aws(|| format!("adding {PROXY} to REST API {api_id}"))?
                            .id()
                            .map(str::to_string)
                            .ok_or_else(|| anyhow::anyhow!("CreateResource returned no id"))
                    },
                )
                .await?
            }
        };
        for (resource_id, path, proxied) in [(&root_id, "/", false), (&proxy_id, PROXY, true)] {
            if !live.has_method(path) {
                cx.say(format!("adding ANY {path}"));
                let req = cx
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
                    // A retry of a call whose answer was lost meets the method it made.
                    Err(err) if has_code(&err, &["ConflictException"]) => {}
                    other => {
                        other?;
                    }
                }
            }
            let want = self.wanted(inputs, proxied).ok_or_else(|| {
                anyhow::anyhow!(
                    "the VPC link or load balancer of {} is not there",
                    self.name
                )
            })?;
            let have = live.integration(path);
            if have
                .as_ref()
                .is_some_and(|h| h.uri == want.uri && h.link == want.link)
            {
                continue;
            }
            cx.say(format!("integrating ANY {path} with the VPC link"));
            let req = cx
                .aws
                .apigw
                .put_integration()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method("ANY")
                .r#type(IntegrationType::HttpProxy)
                .integration_http_method("ANY")
                .uri(&want.uri)
                .connection_type(ConnectionType::VpcLink)
                .connection_id(&want.link);
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
                .aws(|| format!("integrating ANY {path} with VPC link {}", want.link))?;
        }
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Deleted> {
        let id = self.id(live);
        cx.aws
            .apigw
            .delete_rest_api()
            .rest_api_id(&id)
            .send()
            .await
            .aws(|| format!("deleting REST API {id}"))?;
        Ok(Deleted::Done(String::new()))
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // DeleteRestApi allows one call per 30 s per account.
        &["TooManyRequestsException"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(5)
    }

    fn observe(&self, live: &Live) -> Observed {
        Observed::present("rest api", &self.name, &self.id(live), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;
    use aws_sdk_apigateway::types::{Integration as Wire, Method};

    fn route(path: &str, uri: Option<&str>) -> Route {
        let b = Route::builder().id(path).path(path);
        match uri {
            Some(uri) => b
                .resource_methods(
                    "ANY",
                    Method::builder()
                        .http_method("ANY")
                        .method_integration(
                            Wire::builder()
                                .r#type(IntegrationType::HttpProxy)
                                .uri(uri)
                                .connection_type(ConnectionType::VpcLink)
                                .connection_id("link-1")
                                .build(),
                        )
                        .build(),
                )
                .build(),
            None => b.build(),
        }
    }

    #[test]
    fn routes_follow_the_load_balancer_and_wait_for_what_is_to_be_made() {
        let env = env();
        let r = RestApi::new(
            &env.deployment,
            &env.names,
            &Ref::new("vpc_link"),
            &Ref::new("load_balancer"),
            &Ref::new("listener"),
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
        let live = |root: &str, proxy: &str| Live {
            api: Api::builder().id("api-1").build(),
            routes: Some(vec![route("/", Some(root)), route(PROXY, Some(proxy))]),
        };
        assert!(
            r.diff(
                &env,
                &live("http://nlb-1:8080/", "http://nlb-1:8080/{proxy}"),
                &world.inputs()
            ) == Diff::none()
        );
        assert_eq!(
            r.diff(
                &env,
                &live("http://nlb-0:8080/", "http://nlb-1:8080/{proxy}"),
                &world.inputs()
            )
            .words(),
            "ANY / http://nlb-0:8080/ via link-1 → http://nlb-1:8080/ via link-1"
        );
        world.unknown("load_balancer");
        let unknown = r.diff(
            &env,
            &live("http://nlb-1:8080/", "http://nlb-1:8080/{proxy}"),
            &world.inputs(),
        );
        assert_eq!(unknown.fields.len(), 2);
        assert!(unknown.fields.iter().all(|f| f.to == Value::Unknown));
        // A new API has only its root: both routes are made.
        let made = Live {
            api: Api::builder().id("api-1").build(),
            routes: Some(vec![route("/", None)]),
        };
        world.publish(
            "load_balancer",
            load_balancer::Outputs {
                arn: "lb".into(),
                dns_name: "nlb-1".into(),
            },
        );
        assert_eq!(r.diff(&env, &made, &world.inputs()).fields.len(), 2);
    }
}
