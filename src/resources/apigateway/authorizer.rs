//! The API's authorizer (`api.auth = "cognito"` or `"lambda"`), and its use by the methods: a
//! method names its authorizer by id, so the authorizer, once made, sets `ANY /` and
//! `ANY /{proxy+}` to it. The REST API leaves their authorization to it
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html,
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html).
//! A Lambda authorizer is called with the stack's invoker role, which may invoke that function
//! alone.

use aws_sdk_apigateway::types::{Authorizer as Found, AuthorizerType, Op, PatchOperation};
use serde::{Deserialize, Serialize};

use super::replace;
use super::rest_api::{self, ROUTES};
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen, Value,
    listed, sorted,
};
use crate::resources::iam;
use crate::state::Intent;

/// Where callers put their token.
const IDENTITY_SOURCE: &str = "method.request.header.Authorization";

/// Who decides.
enum Decider {
    /// Cognito, from the user pools' ID tokens.
    Cognito { user_pools: Vec<String> },
    /// A Lambda function, called with the invoker role.
    Lambda {
        uri: String,
        request: bool,
        role: Ref<iam::Outputs>,
    },
}

/// The authorizer.
pub struct Authorizer {
    name: String,
    decider: Decider,
    rest_api: Ref<rest_api::Outputs>,
}

/// The authorizer, with how the methods are authorized when read in full.
#[derive(Debug, Clone)]
pub struct Live {
    /// The authorizer.
    pub authorizer: Found,
    /// The API it belongs to.
    pub api_id: String,
    /// Each route's `ANY` method: (path, authorization type, authorizer id), when read.
    pub methods: Option<Vec<(String, String, Option<String>)>>,
}

/// What it hands its dependents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Authorizer id.
    pub id: String,
}

impl Authorizer {
    /// The authorizer of `deployment`'s API: its Lambda authorizer, called with `role`, when
    /// it has one, else its Cognito authorizer.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        rest_api: &Ref<rest_api::Outputs>,
        role: Option<&Ref<iam::Outputs>>,
    ) -> Authorizer {
        let decider = match (&deployment.api.lambda_authorizer, role) {
            (Some(lambda), Some(role)) => Decider::Lambda {
                uri: format!(
                    "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
                    crate::config::partition(&deployment.region),
                    deployment.region,
                    lambda.function
                ),
                request: lambda.request,
                role: role.clone(),
            },
            _ => Decider::Cognito {
                user_pools: sorted(&deployment.api.cognito_user_pools),
            },
        };
        Authorizer {
            name: names.authorizer.clone(),
            decider,
            rest_api: rest_api.clone(),
        }
    }

    /// The methods' authorization type.
    fn authorization(&self) -> &'static str {
        match self.decider {
            Decider::Cognito { .. } => "COGNITO_USER_POOLS",
            Decider::Lambda { .. } => "CUSTOM",
        }
    }

    fn wanted_method(&self, id: &str) -> String {
        format!("{} ({id})", self.authorization())
    }

    fn kind_word(&self) -> AuthorizerType {
        match &self.decider {
            Decider::Cognito { .. } => AuthorizerType::CognitoUserPools,
            Decider::Lambda { request: true, .. } => AuthorizerType::Request,
            Decider::Lambda { .. } => AuthorizerType::Token,
        }
    }
}

async fn methods(
    cx: &Cx<'_>,
    api_id: &str,
) -> anyhow::Result<Option<Vec<(String, String, Option<String>)>>> {
    let Some(routes) = rest_api::routes(cx, api_id).await? else {
        return Ok(None);
    };
    Ok(Some(
        routes
            .iter()
            .filter_map(|r| {
                let method = r.resource_methods()?.get("ANY")?;
                Some((
                    r.path()?.to_string(),
                    method.authorization_type().unwrap_or("NONE").to_string(),
                    method.authorizer_id().map(str::to_string),
                ))
            })
            .collect(),
    ))
}

impl Resource for Authorizer {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "authorizer".to_string()
    }

    fn kind(&self) -> &'static str {
        "api authorizer"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        let mut deps = vec![self.rest_api.dep()];
        if let Decider::Lambda { role, .. } = &self.decider {
            deps.push(role.dep());
        }
        deps
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.rest_api.dep().key]
    }

    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let Some(api) = inputs.get(&self.rest_api) else {
            return Ok(None);
        };
        let out = found(
            cx.aws
                .apigw
                .get_authorizers()
                .rest_api_id(&api.id)
                .limit(500)
                .send()
                .await
                .aws(|| format!("listing the authorizers of REST API {}", api.id)),
        )?;
        let Some(authorizer) = out.and_then(|o| {
            o.items()
                .iter()
                .find(|a| a.name() == Some(self.name.as_str()))
                .cloned()
        }) else {
            return Ok(None);
        };
        let methods = match depth {
            Depth::Full => methods(cx, &api.id).await?,
            Depth::Observe => None,
        };
        Ok(Some(Live {
            authorizer,
            api_id: api.id,
            methods,
        }))
    }

    /// Ours when it is on our API under our name: authorizers take no tags.
    fn ownership(&self, _env: &Env, _live: &Live) -> Ownership {
        Ownership::Ours
    }

    fn id(&self, live: &Live) -> String {
        live.authorizer.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs { id: self.id(live) }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let a = &live.authorizer;
        diff.compare(
            "type",
            a.r#type().map(AuthorizerType::as_str),
            self.kind_word().as_str(),
        );
        match &self.decider {
            Decider::Cognito { user_pools } => {
                let have = sorted(a.provider_arns());
                if have != *user_pools {
                    diff.change("user_pools", listed(&have), user_pools.join(", "));
                }
            }
            Decider::Lambda { uri, role, .. } => {
                diff.compare("function", a.authorizer_uri(), uri.as_str());
                diff.compare(
                    "invoker_role",
                    a.authorizer_credentials(),
                    inputs
                        .get(role)
                        .map_or(Value::Unknown, |r| Value::Known(r.arn)),
                );
            }
        }
        let id = self.id(live);
        for (path, authorization, authorizer) in live.methods.iter().flatten() {
            let now = match authorizer {
                Some(a) if authorization == self.authorization() => {
                    format!("{authorization} ({a})")
                }
                _ => authorization.clone(),
            };
            diff.compare(
                &format!("authorization ANY {path}"),
                Some(now.as_str()),
                self.wanted_method(&id),
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        let decider = match &self.decider {
            Decider::Cognito { user_pools } => {
                FieldChange::setting("user_pools", user_pools.join(", "))
            }
            Decider::Lambda { uri, .. } => FieldChange::setting("function", uri),
        };
        vec![
            decider,
            FieldChange {
                field: "methods".to_string(),
                from: None,
                to: Value::Known("ANY /, ANY /{proxy+}".to_string()),
                destructive: None,
            },
        ]
    }

    async fn create(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        _intent: &Intent,
    ) -> anyhow::Result<Live> {
        let api = inputs.need(&self.rest_api)?;
        let req = cx
            .single
            .apigw
            .create_authorizer()
            .rest_api_id(&api.id)
            .name(&self.name)
            .r#type(self.kind_word())
            .identity_source(IDENTITY_SOURCE);
        let req = match &self.decider {
            Decider::Cognito { user_pools } => req.set_provider_arns(Some(user_pools.clone())),
            Decider::Lambda { uri, role, request } => req
                .authorizer_uri(uri)
                .authorizer_credentials(inputs.need(role)?.arn)
                // A token decision may be reused for 5 minutes; a request authorizer decides on
                // the whole request, which the Authorization header alone cannot key.
                .authorizer_result_ttl_in_seconds(if *request { 0 } else { 300 }),
        };
        let out = req
            .send()
            .await
            .aws(|| format!("creating authorizer {}", self.name))?;
        let authorizer = Found::builder()
            .set_id(out.id().map(str::to_string))
            .set_name(out.name().map(str::to_string))
            .set_type(out.r#type().cloned())
            .set_provider_arns(Some(out.provider_arns().to_vec()))
            .set_authorizer_uri(out.authorizer_uri().map(str::to_string))
            .set_authorizer_credentials(out.authorizer_credentials().map(str::to_string))
            .build();
        Ok(Live {
            authorizer,
            methods: methods(cx, &api.id).await?,
            api_id: api.id,
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        diff: &Diff,
        inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let id = self.id(live);
        let api = &live.api_id;
        let mut patches = Vec::new();
        if diff.changes("type") {
            patches.push(replace("/type", self.kind_word().as_str()));
        }
        match &self.decider {
            Decider::Lambda { uri, role, .. } => {
                if diff.changes("function") {
                    patches.push(replace("/authorizerUri", uri));
                }
                if diff.changes("invoker_role") {
                    patches.push(replace("/authorizerCredentials", inputs.need(role)?.arn));
                }
            }
            Decider::Cognito { user_pools } if diff.changes("user_pools") => {
                let have = live.authorizer.provider_arns();
                let pool_op = |op: Op, pool: &str| {
                    PatchOperation::builder()
                        .op(op)
                        .path("/providerARNs")
                        .value(pool)
                        .build()
                };
                patches.extend(
                    user_pools
                        .iter()
                        .filter(|p| !have.contains(p))
                        .map(|p| pool_op(Op::Add, p)),
                );
                patches.extend(
                    have.iter()
                        .filter(|p| !user_pools.contains(p))
                        .map(|p| pool_op(Op::Remove, p)),
                );
            }
            Decider::Cognito { .. } => {}
        }
        if !patches.is_empty() {
            cx.aws
                .apigw
                .update_authorizer()
                .rest_api_id(api)
                .authorizer_id(&id)
                .set_patch_operations(Some(patches))
                .send()
                .await
                .aws(|| format!("changing authorizer {}", self.name))?;
        }
        let routes = rest_api::routes(cx, api).await?.unwrap_or_default();
        for path in ROUTES {
            if !diff.changes(&format!("authorization ANY {path}")) {
                continue;
            }
            let resource = routes
                .iter()
                .find(|r| r.path() == Some(path))
                .and_then(|r| r.id())
                .ok_or_else(|| anyhow::anyhow!("REST API {api} has no route {path}"))?;
            cx.say(format!("authorizing ANY {path} with {}", self.name));
            cx.aws
                .apigw
                .update_method()
                .rest_api_id(api)
                .resource_id(resource)
                .http_method("ANY")
                .patch_operations(replace("/authorizationType", self.authorization()))
                .patch_operations(replace("/authorizerId", &id))
                .send()
                .await
                .aws(|| format!("setting the authorization of ANY {path}"))?;
        }
        Ok(None)
    }

    async fn delete(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<String>> {
        let id = self.id(live);
        // AWS deletes no authorizer a method uses. On `down` the methods still name it (the
        // stage that served them is gone by now); after an auth change the REST API has
        // already moved them off it.
        let routes = rest_api::routes(cx, &live.api_id)
            .await?
            .unwrap_or_default();
        for route in &routes {
            let Some(method) = route.resource_methods().and_then(|m| m.get("ANY")) else {
                continue;
            };
            let uses_it = method.authorizer_id() == Some(id.as_str())
                && matches!(
                    method.authorization_type(),
                    Some("COGNITO_USER_POOLS" | "CUSTOM")
                );
            if let (true, Some(resource)) = (uses_it, route.id()) {
                cx.aws
                    .apigw
                    .update_method()
                    .rest_api_id(&live.api_id)
                    .resource_id(resource)
                    .http_method("ANY")
                    .patch_operations(replace("/authorizationType", "NONE"))
                    .send()
                    .await
                    .aws(|| {
                        format!(
                            "moving ANY {} off authorizer {}",
                            route.path().unwrap_or("?"),
                            self.name
                        )
                    })?;
            }
        }
        cx.aws
            .apigw
            .delete_authorizer()
            .rest_api_id(&live.api_id)
            .authorizer_id(&id)
            .send()
            .await
            .aws(|| format!("deleting authorizer {}", self.name))?;
        Ok(None)
    }

    fn observe(&self, live: &Live) -> Seen {
        let detail = match live.authorizer.r#type() {
            Some(AuthorizerType::CognitoUserPools) => {
                format!("{} user pool(s)", live.authorizer.provider_arns().len())
            }
            other => format!(
                "{} Lambda authorizer",
                other.map_or("?", AuthorizerType::as_str).to_lowercase()
            ),
        };
        Seen::new(&self.id(live), "present").detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_lambda_authorizer_calls_its_function_with_the_invoker_role() {
        let mut env = env();
        env.deployment.api.lambda_authorizer = Some(crate::config::LambdaAuthorizer {
            function: "arn:aws:lambda:eu-west-1:123456789012:function:authorize".into(),
            request: false,
        });
        let r = Authorizer::new(
            &env.deployment,
            &env.names,
            &Ref::new("rest_api"),
            Some(&Ref::new("authorizer_role")),
        );
        assert!(r.deps().iter().any(|d| d.key == "authorizer_role"));
        let world = World::default();
        world.publish(
            "authorizer_role",
            iam::Outputs {
                arn: "arn:aws:iam::123456789012:role/invoker".into(),
            },
        );
        let uri = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/\
                   arn:aws:lambda:eu-west-1:123456789012:function:authorize/invocations";
        let live = |kind: AuthorizerType, uri: &str| Live {
            authorizer: Found::builder()
                .id("auth-1")
                .r#type(kind)
                .authorizer_uri(uri)
                .authorizer_credentials("arn:aws:iam::123456789012:role/invoker")
                .build(),
            api_id: "api-1".into(),
            methods: Some(vec![("/".into(), "CUSTOM".into(), Some("auth-1".into()))]),
        };
        assert_eq!(
            r.diff(&env, &live(AuthorizerType::Token, uri), &world.inputs()),
            Diff::none()
        );
        assert_eq!(
            r.diff(&env, &live(AuthorizerType::Request, "old"), &world.inputs())
                .fields
                .iter()
                .map(|f| f.field.as_str())
                .collect::<Vec<_>>(),
            ["type", "function"]
        );
    }

    #[test]
    fn the_methods_are_set_to_the_authorizer_and_the_pools_follow_the_env_file() {
        let mut env = env();
        let pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123";
        env.deployment.api.cognito_user_pools = vec![pool.to_string()];
        let r = Authorizer::new(&env.deployment, &env.names, &Ref::new("rest_api"), None);
        let live = |pools: &[&str], methods: &[(&str, &str, Option<&str>)]| Live {
            authorizer: Found::builder()
                .id("auth-1")
                .r#type(AuthorizerType::CognitoUserPools)
                .set_provider_arns(Some(pools.iter().map(|p| p.to_string()).collect()))
                .build(),
            api_id: "api-1".into(),
            methods: Some(
                methods
                    .iter()
                    .map(|(p, t, a)| (p.to_string(), t.to_string(), a.map(str::to_string)))
                    .collect(),
            ),
        };
        let world = World::default();
        let made = live(
            &[pool],
            &[("/", "NONE", None), ("/{proxy+}", "AWS_IAM", None)],
        );
        assert_eq!(
            r.diff(&env, &made, &world.inputs()).words(),
            "authorization ANY / NONE → COGNITO_USER_POOLS (auth-1), \
             authorization ANY /{proxy+} AWS_IAM → COGNITO_USER_POOLS (auth-1)"
        );
        let done = live(
            &[pool],
            &[
                ("/", "COGNITO_USER_POOLS", Some("auth-1")),
                ("/{proxy+}", "COGNITO_USER_POOLS", Some("auth-1")),
            ],
        );
        assert_eq!(r.diff(&env, &done, &world.inputs()), Diff::none());
        let other_pool = live(
            &["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Old"],
            &[],
        );
        assert_eq!(
            r.diff(&env, &other_pool, &world.inputs()).words(),
            format!(
                "user_pools arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Old → {pool}"
            )
        );
    }
}
