//! The REST API: the stack's only public entry, with two routes, `ANY /` and `ANY /{proxy+}`
//! (the original routed only `/{proxy+}`, so the root answered 403). The routes' integrations
//! are a resource of their own ([`super::integration`]): only they need the VPC link, so the
//! API and its routes are made while the link is still being provisioned.
//!
//! Its endpoint takes TLS 1.3 and 1.2 only (`SecurityPolicy_TLS13_1_2_2021_06`; AWS's default for
//! an API is `TLS_1_0`), with the `BASIC` endpoint access mode an enhanced policy needs
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-security-policies.html).

use aws_sdk_apigateway::types::{
    EndpointAccessMode, EndpointConfiguration, EndpointType, Resource as Route, RestApi as Api,
    SecurityPolicy,
};
use serde::{Deserialize, Serialize};

use super::replace;

use crate::aws::create::create_once;
use crate::aws::tags;
use crate::aws::wait::Patience;
use crate::aws::{AwsResultExt as _, found, ignore};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Resource, Seen, listed,
};
use crate::state::Intent;

/// TLS 1.2 or newer on the API's endpoint.
pub const TLS_POLICY: &str = "SecurityPolicy_TLS13_1_2_2021_06";

/// The proxy route's path.
pub const PROXY: &str = "/{proxy+}";

/// The routes, each with its `ANY` method.
pub const ROUTES: [&str; 2] = ["/", PROXY];

/// The REST API and its routes.
pub struct RestApi {
    name: String,
    description: String,
    region: String,
    environment: String,
    authorization: &'static str,
    api_key_required: bool,
    by_authorizer: bool,
}

impl RestApi {
    /// The deployment's API.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
    ) -> RestApi {
        RestApi {
            name: names.rest_api.clone(),
            description: format!(
                "gwfargate {}: public entry to {}",
                deployment.name, deployment.service.name
            ),
            region: deployment.region.clone(),
            environment: deployment.environment.clone(),
            authorization: deployment.api.auth.authorization_type(),
            api_key_required: deployment.api.auth.api_key_required(),
            by_authorizer: deployment.api.auth.uses_authorizer(),
        }
    }
}

/// The API, with its routes (each with its methods and their integrations) when read.
#[derive(Debug, Clone)]
pub struct Live {
    /// The API.
    pub api: Api,
    /// Its resources (paths) with their methods (`None`: not read).
    pub routes: Option<Vec<Route>>,
}

impl Live {
    /// The resource of `path`, if any.
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.routes
            .as_ref()?
            .iter()
            .find(|r| r.path() == Some(path))
    }

    /// Whether `path` has its `ANY` method.
    pub fn has_method(&self, path: &str) -> bool {
        self.route(path)
            .and_then(|r| r.resource_methods())
            .is_some_and(|m| m.contains_key("ANY"))
    }

    /// The authorization type of `path`'s `ANY` method, when read.
    fn authorization(&self, path: &str) -> Option<&str> {
        self.route(path)?
            .resource_methods()?
            .get("ANY")?
            .authorization_type()
    }

    /// Who may call the API, in the env file's words, as its `/` method says, when read.
    pub fn auth_words(&self) -> Option<&'static str> {
        Some(
            match (self.authorization("/")?, self.api_key_required("/")) {
                ("NONE", Some(true)) => "api_key",
                ("NONE", _) => "none",
                ("AWS_IAM", _) => "iam",
                ("COGNITO_USER_POOLS", _) => "cognito",
                ("CUSTOM", _) => "lambda",
                _ => "unknown",
            },
        )
    }

    /// Whether `path`'s `ANY` method requires an API key, when read.
    fn api_key_required(&self, path: &str) -> Option<bool> {
        self.route(path)?
            .resource_methods()?
            .get("ANY")?
            .api_key_required()
    }

    fn methods(&self) -> Vec<String> {
        ROUTES
            .iter()
            .filter(|path| self.has_method(path))
            .map(|path| format!("ANY {path}"))
            .collect()
    }
}

/// What the API hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// REST API id.
    pub id: String,
    /// The id of each route's resource, by path (`/`, `/{proxy+}`), when known.
    #[serde(default)]
    pub routes: std::collections::BTreeMap<String, String>,
    /// Who may call it, in the env file's words (`none`, `iam`, `api_key`, `cognito`,
    /// `lambda`), as its `/` method says when read (for `status`; never recorded).
    #[serde(skip)]
    pub auth: Option<String>,
}

/// The API's resources with their methods and integrations: read once while the stack is
/// surveyed (the API and its integrations both need them). `None` when there is no such API.
pub async fn routes(cx: &Cx<'_>, api_id: &str) -> anyhow::Result<Option<Vec<Route>>> {
    let read = cx
        .memo
        .get(&format!("apigateway resources {api_id}"), || async {
            found(
                cx.aws
                    .apigw
                    .get_resources()
                    .rest_api_id(api_id)
                    .embed("methods")
                    .limit(500)
                    .send()
                    .await
                    .aws(|| format!("listing the resources of REST API {api_id}")),
            )
            .map(|out| out.map(|o| o.items().to_vec()))
        })
        .await?;
    Ok((*read).clone())
}

/// The API with its routes. A status row reads them too (who may call the API): the
/// integrations' row reads them anyway, once for both.
async fn with_routes(cx: &Cx<'_>, api: Option<Api>) -> anyhow::Result<Option<Live>> {
    let Some(api) = api else { return Ok(None) };
    let routes = match api.id() {
        Some(id) => routes(cx, id).await?,
        None => None,
    };
    Ok(Some(Live { api, routes }))
}

fn required(yes: bool) -> &'static str {
    if yes { "required" } else { "not required" }
}

impl RestApi {
    /// Puts `ANY` on the resource of `path`.
    async fn put_method(
        &self,
        cx: &Cx<'_>,
        api_id: &str,
        resource_id: &str,
        path: &str,
    ) -> anyhow::Result<()> {
        let req = cx
            .aws
            .apigw
            .put_method()
            .rest_api_id(api_id)
            .resource_id(resource_id)
            .http_method("ANY")
            // An authorizer's methods name it, so the authorizer sets them once it exists.
            .authorization_type(if self.by_authorizer {
                "NONE"
            } else {
                self.authorization
            })
            .api_key_required(self.api_key_required);
        let req = if path == PROXY {
            req.request_parameters("method.request.path.proxy", true)
        } else {
            req
        };
        // A retry of a call whose answer was lost meets the method it made.
        ignore(
            req.send().await.aws(|| format!("adding method ANY {path}")),
            &["ConflictException"],
        )
    }
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
        Vec::new()
    }

    async fn by_id(&self, cx: &Cx<'_>, id: &str, _depth: Depth) -> anyhow::Result<Option<Live>> {
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
                .set_security_policy(out.security_policy().cloned())
                .set_endpoint_access_mode(out.endpoint_access_mode().cloned())
                .build()
        });
        with_routes(cx, api).await
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        _inputs: &Inputs<'_>,
        _depth: Depth,
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
        with_routes(cx, matches.into_iter().next()).await
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.api.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        super::retag(cx, &format!("/restapis/{}", self.id(live)), changes).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        env.owner(tags::from_map(live.api.tags()))
    }

    fn id(&self, live: &Live) -> String {
        live.api.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            id: self.id(live),
            routes: ROUTES
                .iter()
                .filter_map(|path| {
                    let id = live.route(path)?.id()?;
                    Some(((*path).to_string(), id.to_string()))
                })
                .collect(),
            auth: live.auth_words().map(str::to_string),
        }
    }

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        // Compared when AWS says it (an emulator may not).
        if let Some(have) = live.api.security_policy() {
            diff.compare("security_policy", Some(have.as_str()), TLS_POLICY);
        }
        if live.routes.is_none() {
            return diff;
        }
        let have = live.methods();
        if have.len() < ROUTES.len() {
            let want: Vec<String> = ROUTES.iter().map(|p| format!("ANY {p}")).collect();
            diff.change("routes", listed(&have), want.join(", "));
        }
        for path in ROUTES {
            if let Some(now) = live.authorization(path)
                && !self.by_authorizer
            {
                diff.compare(
                    &format!("authorization ANY {path}"),
                    Some(now),
                    self.authorization,
                );
            }
            if live.has_method(path) {
                diff.compare(
                    &format!("api_key ANY {path}"),
                    Some(required(live.api_key_required(path).unwrap_or(false))),
                    required(self.api_key_required),
                );
            }
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let mut fields = vec![
            FieldChange::setting("security_policy", TLS_POLICY),
            FieldChange::setting("authorization", self.authorization),
        ];
        if self.api_key_required {
            fields.push(FieldChange::setting("api_key", "required"));
        }
        fields
    }

    fn creation_note(&self, env: &Env) -> Option<String> {
        let old = env.state.get(&self.key())?.id;
        // The URL the stage recorded, as users have it; else the one the API's id made.
        let url = env
            .state
            .get("stage")
            .and_then(|r| r.outputs)
            .and_then(|o| o.get("url").and_then(|u| u.as_str()).map(str::to_string))
            .unwrap_or_else(|| super::invoke_url(&old, &self.region, &self.environment));
        Some(format!(
            "REST API {old} is gone, so the public URL changes: {url} answers no more; `up` \
             prints the new one"
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
            .security_policy(SecurityPolicy::from(TLS_POLICY))
            .endpoint_access_mode(EndpointAccessMode::Basic)
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
                .set_security_policy(out.security_policy().cloned())
                .build(),
            routes: Some(vec![root]),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let api_id = self.id(live);
        if diff.changes("security_policy") {
            cx.aws
                .apigw
                .update_rest_api()
                .rest_api_id(&api_id)
                .patch_operations(replace("/securityPolicy", TLS_POLICY))
                .patch_operations(replace("/endpointAccessMode", "BASIC"))
                .send()
                .await
                .aws(|| format!("setting the TLS policy of REST API {api_id}"))?;
        }
        for path in ROUTES {
            let authorization = diff.changes(&format!("authorization ANY {path}"));
            let api_key = diff.changes(&format!("api_key ANY {path}"));
            if !authorization && !api_key {
                continue;
            }
            let resource_id = live
                .route(path)
                .and_then(|r| r.id())
                .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no route {path}"))?;
            cx.say(format!("setting who may call ANY {path}"));
            let mut patches = Vec::new();
            if authorization {
                patches.push(replace("/authorizationType", self.authorization));
            }
            if api_key {
                patches.push(replace(
                    "/apiKeyRequired",
                    self.api_key_required.to_string(),
                ));
            }
            cx.aws
                .apigw
                .update_method()
                .rest_api_id(&api_id)
                .resource_id(resource_id)
                .http_method("ANY")
                .set_patch_operations(Some(patches))
                .send()
                .await
                .aws(|| format!("setting the authorization of ANY {path}"))?;
        }
        if !diff.changes("routes") {
            return Ok(None);
        }
        let root_id = live
            .route("/")
            .and_then(|r| r.id().map(str::to_string))
            .or_else(|| live.api.root_resource_id().map(str::to_string))
            .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no root resource"))?;
        let add_proxy = async {
            if let Some(id) = live.route(PROXY).and_then(|r| r.id()) {
                return Ok(id.to_string());
            }
            cx.say(format!("adding {PROXY}"));
            create_once(
                PROXY,
                cx.line,
                || async {
                    Ok(routes(cx, &api_id)
                        .await?
                        .unwrap_or_default()
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
            .await
        };
        let root_method = async {
            if live.has_method("/") {
                return Ok(());
            }
            self.put_method(cx, &api_id, &root_id, "/").await
        };
        // The root's method and the proxy route do not wait for each other.
        let (proxy_id, ()) = tokio::try_join!(add_proxy, root_method)?;
        if !live.has_method(PROXY) {
            self.put_method(cx, &api_id, &proxy_id, PROXY).await?;
        }
        // As it is now: both routes with their methods, so dependents need not read them.
        let any = || {
            aws_sdk_apigateway::types::Method::builder()
                .http_method("ANY")
                .build()
        };
        let kept = live
            .routes
            .iter()
            .flatten()
            .filter(|r| !ROUTES.contains(&r.path().unwrap_or_default()));
        let mut routes: Vec<Route> = kept.cloned().collect();
        for (path, id) in [("/", &root_id), (PROXY, &proxy_id)] {
            let existing = live
                .route(path)
                .and_then(|r| r.resource_methods())
                .cloned()
                .unwrap_or_default();
            let mut methods = existing;
            methods.entry("ANY".to_string()).or_insert_with(any);
            routes.push(
                Route::builder()
                    .id(id)
                    .path(path)
                    .set_resource_methods(Some(methods))
                    .build(),
            );
        }
        Ok(Some(Live {
            api: live.api.clone(),
            routes: Some(routes),
        }))
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        cx.aws
            .apigw
            .delete_rest_api()
            .rest_api_id(&id)
            .send()
            .await
            .aws(|| format!("deleting REST API {id}"))?;
        Ok(None)
    }

    fn delete_retryable(&self) -> &'static [&'static str] {
        // DeleteRestApi allows one call per 30 s per account.
        &["TooManyRequestsException"]
    }

    fn patience(&self) -> Patience {
        Patience::minutes(5)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(&self.id(live), "present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;
    use aws_sdk_apigateway::types::Method;

    fn route(path: &str, method: bool) -> Route {
        let b = Route::builder().id(path).path(path);
        if method {
            b.resource_methods("ANY", Method::builder().http_method("ANY").build())
                .build()
        } else {
            b.build()
        }
    }

    #[test]
    fn the_endpoint_takes_tls_1_2_or_newer_only() {
        let env = env();
        let r = RestApi::new(&env.deployment, &env.names);
        let world = World::default();
        let live = |policy: Option<&str>| Live {
            api: Api::builder()
                .id("api-1")
                .set_security_policy(policy.map(SecurityPolicy::from))
                .build(),
            routes: None,
        };
        assert_eq!(
            r.diff(&env, &live(Some("TLS_1_0")), &world.inputs())
                .words(),
            "security_policy TLS_1_0 → SecurityPolicy_TLS13_1_2_2021_06"
        );
        assert_eq!(
            r.diff(&env, &live(Some(TLS_POLICY)), &world.inputs()),
            Diff::none()
        );
        // Not said (an emulator): nothing to compare.
        assert_eq!(r.diff(&env, &live(None), &world.inputs()), Diff::none());
    }

    #[test]
    fn a_new_api_gets_both_routes_a_complete_one_nothing() {
        let env = env();
        let r = RestApi::new(&env.deployment, &env.names);
        let world = World::default();
        let live = |routes| Live {
            api: Api::builder().id("api-1").build(),
            routes: Some(routes),
        };
        assert_eq!(
            r.diff(
                &env,
                &live(vec![route("/", true), route(PROXY, true)]),
                &world.inputs()
            ),
            Diff::none()
        );
        assert_eq!(
            r.diff(&env, &live(vec![route("/", false)]), &world.inputs())
                .words(),
            "routes (none) → ANY /, ANY /{proxy+}"
        );
        assert_eq!(
            r.diff(&env, &live(vec![route("/", true)]), &world.inputs())
                .words(),
            "routes ANY / → ANY /, ANY /{proxy+}"
        );
    }
}
