//! The API's authorizer (`api.auth = "cognito"`), and its use by the methods: a method names
//! its authorizer by id, so the authorizer, once made, sets `ANY /` and `ANY /{proxy+}` to
//! it. The REST API leaves their authorization to it
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html).

use aws_sdk_apigateway::types::{Authorizer as Found, AuthorizerType};
use serde::{Deserialize, Serialize};

use super::replace;
use super::rest_api::{self, ROUTES};
use crate::aws::{AwsResultExt as _, found};
use crate::model::{
    Cx, Dep, Depth, Diff, Env, FieldChange, Inputs, Key, Ownership, Ref, Resource, Seen, Value,
    listed, sorted,
};
use crate::state::Intent;

/// Where callers put their token.
const IDENTITY_SOURCE: &str = "method.request.header.Authorization";

/// The authorizer.
pub struct Authorizer {
    name: String,
    user_pools: Vec<String>,
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
    /// The Cognito authorizer of `deployment`'s API.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        rest_api: &Ref<rest_api::Outputs>,
    ) -> Authorizer {
        Authorizer {
            name: names.authorizer.clone(),
            user_pools: sorted(&deployment.api.cognito_user_pools),
            rest_api: rest_api.clone(),
        }
    }

    fn wanted_method(id: &str) -> String {
        format!("COGNITO_USER_POOLS ({id})")
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
        vec![self.rest_api.dep()]
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

    fn diff(&self, _env: &Env, live: &Live, _inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        let have = sorted(live.authorizer.provider_arns());
        if have != self.user_pools {
            diff.change("user_pools", listed(&have), self.user_pools.join(", "));
        }
        let id = self.id(live);
        for (path, authorization, authorizer) in live.methods.iter().flatten() {
            let now = match authorizer {
                Some(a) if authorization == "COGNITO_USER_POOLS" => {
                    format!("{authorization} ({a})")
                }
                _ => authorization.clone(),
            };
            diff.compare(
                &format!("authorization ANY {path}"),
                Some(now.as_str()),
                Self::wanted_method(&id),
            );
        }
        diff
    }

    fn new_fields(&self, _env: &Env, _inputs: &Inputs<'_>) -> Vec<FieldChange> {
        vec![
            FieldChange::setting("user_pools", self.user_pools.join(", ")),
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
        let out = cx
            .single
            .apigw
            .create_authorizer()
            .rest_api_id(&api.id)
            .name(&self.name)
            .r#type(AuthorizerType::CognitoUserPools)
            .set_provider_arns(Some(self.user_pools.clone()))
            .identity_source(IDENTITY_SOURCE)
            .send()
            .await
            .aws(|| format!("creating authorizer {}", self.name))?;
        let authorizer = Found::builder()
            .set_id(out.id().map(str::to_string))
            .set_name(out.name().map(str::to_string))
            .set_provider_arns(Some(out.provider_arns().to_vec()))
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
        _inputs: &Inputs<'_>,
    ) -> anyhow::Result<Option<Live>> {
        let id = self.id(live);
        let api = &live.api_id;
        if diff.changes("user_pools") {
            let have = live.authorizer.provider_arns();
            let mut patches = Vec::new();
            for pool in &self.user_pools {
                if !have.contains(pool) {
                    patches.push(
                        aws_sdk_apigateway::types::PatchOperation::builder()
                            .op(aws_sdk_apigateway::types::Op::Add)
                            .path("/providerARNs")
                            .value(pool)
                            .build(),
                    );
                }
            }
            for pool in have {
                if !self.user_pools.contains(pool) {
                    patches.push(
                        aws_sdk_apigateway::types::PatchOperation::builder()
                            .op(aws_sdk_apigateway::types::Op::Remove)
                            .path("/providerARNs")
                            .value(pool)
                            .build(),
                    );
                }
            }
            cx.aws
                .apigw
                .update_authorizer()
                .rest_api_id(api)
                .authorizer_id(&id)
                .set_patch_operations(Some(patches))
                .send()
                .await
                .aws(|| format!("changing the user pools of authorizer {}", self.name))?;
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
            cx.say(format!("requiring a user pool's token on ANY {path}"));
            cx.aws
                .apigw
                .update_method()
                .rest_api_id(api)
                .resource_id(resource)
                .http_method("ANY")
                .patch_operations(replace("/authorizationType", "COGNITO_USER_POOLS"))
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
        Seen::new(&self.id(live), "present").detail(format!(
            "{} user pool(s)",
            live.authorizer.provider_arns().len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn the_methods_are_set_to_the_authorizer_and_the_pools_follow_the_env_file() {
        let mut env = env();
        let pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123";
        env.deployment.api.cognito_user_pools = vec![pool.to_string()];
        let r = Authorizer::new(&env.deployment, &env.names, &Ref::new("rest_api"));
        let live = |pools: &[&str], methods: &[(&str, &str, Option<&str>)]| Live {
            authorizer: Found::builder()
                .id("auth-1")
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
