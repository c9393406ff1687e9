//! The routes' integrations: `ANY /` and `ANY /{proxy+}` as HTTP_PROXY over the VPC link to
//! `http://<nlb-dns>:<port>/...`. Only these need the VPC link to be available, so they are a
//! resource of their own: the API and its routes are made while the link is provisioned, and
//! on the way down the link can go as soon as no integration names it.

use aws_sdk_apigateway::types::{ConnectionType, IntegrationType, Resource as Route};
use serde::{Deserialize, Serialize};

use super::rest_api::{self, PROXY, ROUTES};
use super::vpc_link;
use crate::aws::{AwsResultExt as _, ignore};
use crate::config::VpcLinkVersion;
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen, Value};
use crate::resources::elb::{listener, load_balancer};
use crate::state::Intent;

/// The integrations of the API's routes.
pub struct Integrations {
    port: u16,
    link_version: VpcLinkVersion,
    rest_api: Ref<rest_api::Outputs>,
    vpc_link: Ref<vpc_link::Outputs>,
    load_balancer: Ref<load_balancer::Outputs>,
    listener: Ref<listener::Outputs>,
}

impl Integrations {
    /// The routes of `rest_api` integrated over `vpc_link`, of kind `link_version`, with
    /// `load_balancer`.
    pub fn new(
        deployment: &crate::config::Deployment,
        link_version: VpcLinkVersion,
        rest_api: &Ref<rest_api::Outputs>,
        vpc_link: &Ref<vpc_link::Outputs>,
        load_balancer: &Ref<load_balancer::Outputs>,
        listener: &Ref<listener::Outputs>,
    ) -> Integrations {
        Integrations {
            port: deployment.service.port,
            link_version,
            rest_api: rest_api.clone(),
            vpc_link: vpc_link.clone(),
            load_balancer: load_balancer.clone(),
            listener: listener.clone(),
        }
    }

    /// The integration each route should have, or `None` while the link or load balancer is
    /// yet to be made.
    fn wanted(&self, inputs: &Inputs<'_>, path: &str) -> Option<Integration> {
        let link = inputs.get(&self.vpc_link)?;
        let lb = inputs.get(&self.load_balancer)?;
        Some(Integration {
            uri: backend_uri(
                &lb.dns_name,
                self.port,
                if path == PROXY { "{proxy}" } else { "" },
            ),
            link: link.id,
            // A V2 link reaches any load balancer of its VPC: the integration says which.
            target: (self.link_version == VpcLinkVersion::V2).then_some(lb.arn),
        })
    }

    /// Puts the integration of `path`.
    async fn put(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        path: &str,
        want: &Integration,
    ) -> anyhow::Result<()> {
        let resource_id = live
            .route(path)
            .and_then(Route::id)
            .ok_or_else(|| anyhow::anyhow!("REST API {} has no route {path}", live.api_id))?;
        cx.say(format!("integrating ANY {path} with the VPC link"));
        let req = cx
            .aws
            .apigw
            .put_integration()
            .rest_api_id(&live.api_id)
            .resource_id(resource_id)
            .http_method("ANY")
            .r#type(IntegrationType::HttpProxy)
            .integration_http_method("ANY")
            .uri(&want.uri)
            .connection_type(ConnectionType::VpcLink)
            .connection_id(&want.link)
            .set_integration_target(want.target.clone());
        let req = if path == PROXY {
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
        Ok(())
    }
}

impl Integrations {
    /// The routes of `live` as AWS has them once every wanted integration is put: what the
    /// progress line and the status row then show.
    fn as_put(&self, live: &Live, inputs: &Inputs<'_>) -> anyhow::Result<Live> {
        let routes = ROUTES
            .iter()
            .map(|path| {
                let want = self.wanted(inputs, path).ok_or_else(|| {
                    anyhow::anyhow!("the VPC link or load balancer of the API is not there")
                })?;
                let integration = aws_sdk_apigateway::types::Integration::builder()
                    .r#type(IntegrationType::HttpProxy)
                    .uri(want.uri)
                    .connection_type(ConnectionType::VpcLink)
                    .connection_id(want.link)
                    .set_integration_target(want.target)
                    .build();
                let method = aws_sdk_apigateway::types::Method::builder()
                    .http_method("ANY")
                    .method_integration(integration)
                    .build();
                Ok(Route::builder()
                    .set_id(live.route(path).and_then(Route::id).map(str::to_string))
                    .path(*path)
                    .resource_methods("ANY", method)
                    .build())
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Live {
            api_id: live.api_id.clone(),
            routes,
        })
    }
}

/// The backend URI for a path on the NLB.
fn backend_uri(dns: &str, port: u16, path: &str) -> String {
    format!("http://{dns}:{port}/{path}")
}

/// The fingerprint of the methods and integrations for a VPC link, NLB and the methods'
/// authorization: a stage keeps serving its old deployment until a new one is made, so the
/// stage redeploys when it changes. Open methods (`NONE`) add nothing, so stacks deployed
/// before authorization was chosen keep their fingerprint.
pub fn fingerprint(link_id: &str, dns: &str, port: u16, authorization: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let mut text = format!(
        "v1|{link_id}|{}|{}",
        backend_uri(dns, port, ""),
        backend_uri(dns, port, "{proxy}")
    );
    if authorization != "NONE" {
        text.push_str(&format!("|auth={authorization}"));
    }
    // A new TLS policy takes effect with the next deployment: stacks made before it was set
    // redeploy once.
    text.push_str(&format!("|tls={}", super::rest_api::TLS_POLICY));
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
    /// The load balancer a V2 link's integration names; none over a V1 link.
    target: Option<String>,
}

impl Integration {
    fn words(&self) -> String {
        match &self.target {
            // The load balancer by its name and id, the end of its ARN.
            Some(target) => format!(
                "{} via {} to {}",
                self.uri,
                self.link,
                target
                    .rsplit_once("loadbalancer/")
                    .map_or(target.as_str(), |(_, lb)| lb)
            ),
            None => format!("{} via {}", self.uri, self.link),
        }
    }

    /// Whether `self`, as AWS has it, is `want`. An emulator may keep neither the connection
    /// id nor the target: an empty id is taken as right, and then a missing target too.
    fn is(&self, want: &Integration) -> bool {
        self.uri == want.uri
            && (self.link.is_empty() || (self.link == want.link && self.target == want.target))
    }
}

/// The API's routes, as their integrations stand.
#[derive(Debug, Clone)]
pub struct Live {
    /// The API they belong to.
    pub api_id: String,
    /// Its resources, with methods and integrations.
    pub routes: Vec<Route>,
}

impl Live {
    fn route(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.path() == Some(path))
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
            target: i.integration_target().map(str::to_string),
        })
    }
}

/// What the integrations hand their dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// The API they belong to.
    pub api_id: String,
}

impl Resource for Integrations {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "integrations".to_string()
    }

    fn kind(&self) -> &'static str {
        "api integrations"
    }

    fn name(&self) -> String {
        ROUTES.map(|p| format!("ANY {p}")).join(", ")
    }

    fn deps(&self) -> Vec<Dep> {
        // Routes go live only when something listens behind them.
        vec![
            self.rest_api.dep(),
            self.vpc_link.dep(),
            self.load_balancer.dep(),
            self.listener.dep(),
        ]
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.rest_api.dep().key]
    }

    /// The routes of our API, once it has both with their methods: until then there is
    /// nothing to integrate.
    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let Some(api) = inputs.get(&self.rest_api) else {
            return Ok(None);
        };
        let Some(routes) = rest_api::routes(cx, &api.id).await? else {
            return Ok(None);
        };
        Ok(Some(Live {
            routes,
            api_id: api.id,
        }))
    }

    /// Ours when they are on our API: only then are they looked up.
    fn ownership(&self, _env: &Env, _live: &Live) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, live: &Live) -> String {
        live.api_id.clone()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            api_id: live.api_id.clone(),
        }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        for path in ROUTES {
            let have = live.integration(path);
            let want = self.wanted(inputs, path);
            let current = match (&have, &want) {
                (Some(h), Some(w)) => h.is(w),
                _ => false,
            };
            if !current {
                diff.change(
                    &format!("ANY {path}"),
                    have.map(|h| h.words()),
                    want.map_or(Value::Unknown, |w| Value::Known(w.words())),
                );
            }
        }
        diff
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        // The API says where its routes are; nothing to read.
        let api = inputs.need(&self.rest_api)?;
        let bare = |path: &str| -> anyhow::Result<Route> {
            let id = api
                .routes
                .get(path)
                .ok_or_else(|| anyhow::anyhow!("REST API {} has no route {path}", api.id))?;
            Ok(Route::builder().id(id).path(path).build())
        };
        let live = Live {
            routes: ROUTES
                .iter()
                .map(|p| bare(p))
                .collect::<anyhow::Result<_>>()?,
            api_id: api.id.clone(),
        };
        Ok(self
            .update(cx, &live, &Diff::none(), inputs)
            .await?
            .unwrap_or(live))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let mut puts = Vec::new();
        for path in ROUTES {
            let want = self.wanted(inputs, path).ok_or_else(|| {
                anyhow::anyhow!("the VPC link or load balancer of the API is not there")
            })?;
            if live.integration(path).is_some_and(|h| {
                h.uri == want.uri && h.link == want.link && h.target == want.target
            }) {
                continue;
            }
            puts.push(async move { self.put(cx, live, path, &want).await });
        }
        // The two routes' integrations do not wait for each other.
        futures::future::try_join_all(puts).await?;
        Ok(Some(self.as_put(live, inputs)?))
    }

    /// Removes the integrations, so the VPC link they name can go while the API is deleted.
    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        for path in ROUTES {
            // Only what is there: a run cut short may have removed one already.
            let Some(resource_id) = live
                .route(path)
                .filter(|_| live.integration(path).is_some())
                .and_then(Route::id)
            else {
                continue;
            };
            ignore(
                cx.aws
                    .apigw
                    .delete_integration()
                    .rest_api_id(&live.api_id)
                    .resource_id(resource_id)
                    .http_method("ANY")
                    .send()
                    .await
                    .aws(|| format!("removing the integration of ANY {path}")),
                &["NotFoundException"],
            )?;
        }
        Ok(None)
    }

    /// Gone once no route has an integration left.
    fn gone(&self, live: &Live) -> bool {
        ROUTES.iter().all(|p| live.integration(p).is_none())
    }

    fn summary(&self, live: &Live) -> String {
        live.integration("/").map_or_else(
            || self.name(),
            |i| format!("{} → {}", self.name(), i.words()),
        )
    }

    fn observe(&self, live: &Live) -> Seen {
        let row = Seen::new(&live.api_id, "present");
        match live.integration("/") {
            Some(i) => row.detail(i.words()),
            None => row,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;
    use aws_sdk_apigateway::types::{Integration as Wire, Method};

    const LB: &str = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/nlb/1";

    fn route(path: &str, uri: Option<&str>, target: Option<&str>) -> Route {
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
                                .set_integration_target(target.map(str::to_string))
                                .build(),
                        )
                        .build(),
                )
                .build(),
            None => b.build(),
        }
    }

    fn integrations(version: VpcLinkVersion) -> (Integrations, World) {
        let env = env();
        let r = Integrations::new(
            &env.deployment,
            version,
            &Ref::new("rest_api"),
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
                arn: LB.into(),
                dns_name: "nlb-1".into(),
            },
        );
        (r, world)
    }

    fn live(root: &str, proxy: &str, target: Option<&str>) -> Live {
        Live {
            api_id: "api-1".into(),
            routes: vec![
                route("/", Some(root), target),
                route(PROXY, Some(proxy), target),
            ],
        }
    }

    #[test]
    fn routes_follow_the_load_balancer_and_wait_for_what_is_to_be_made() {
        let env = env();
        let (r, world) = integrations(VpcLinkVersion::V2);
        let good = live("http://nlb-1:8080/", "http://nlb-1:8080/{proxy}", Some(LB));
        assert_eq!(r.diff(&env, &good, &world.inputs()), Diff::none());
        assert_eq!(
            r.diff(
                &env,
                &live("http://nlb-0:8080/", "http://nlb-1:8080/{proxy}", Some(LB)),
                &world.inputs()
            )
            .words(),
            "ANY / http://nlb-0:8080/ via link-1 to net/nlb/1 → http://nlb-1:8080/ via link-1 to net/nlb/1"
        );
        world.unknown("load_balancer");
        let unknown = r.diff(&env, &good, &world.inputs());
        assert_eq!(unknown.fields.len(), 2);
        assert!(unknown.fields.iter().all(|f| f.to == Value::Unknown));
        assert!(!r.gone(&live("a", "b", None)));
        assert!(r.gone(&Live {
            api_id: "api-1".into(),
            routes: vec![route("/", None, None)]
        }));
    }

    #[test]
    fn a_v2_link_names_the_load_balancer_and_a_v1_link_does_not() {
        let env = env();
        let (v2, world) = integrations(VpcLinkVersion::V2);
        // Integrations made over a V1 link, or before the switch, name no target.
        let v1_made = live("http://nlb-1:8080/", "http://nlb-1:8080/{proxy}", None);
        let diff = v2.diff(&env, &v1_made, &world.inputs());
        assert_eq!(diff.fields.len(), 2, "{}", diff.words());
        assert!(
            diff.words().ends_with("via link-1 to net/nlb/1"),
            "{}",
            diff.words()
        );
        let (v1, world) = integrations(VpcLinkVersion::V1);
        assert_eq!(v1.diff(&env, &v1_made, &world.inputs()), Diff::none());
        let v2_made = live("http://nlb-1:8080/", "http://nlb-1:8080/{proxy}", Some(LB));
        assert_eq!(v1.diff(&env, &v2_made, &world.inputs()).fields.len(), 2);
    }
}
