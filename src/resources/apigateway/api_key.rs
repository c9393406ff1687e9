//! The stack's API key (`api.auth = "api_key"`), in the usage plan that opens the stage to
//! it. AWS makes its value; gwfargate never prints it unless asked (`gwfargate api-key
//! --show`), so it stays out of logs and terminals' scrollback.

use aws_sdk_apigateway::types::ApiKey as Key_;
use serde::{Deserialize, Serialize};

use super::usage_plan;
use crate::aws::{AwsResultExt as _, found, ignore, tags};
use crate::model::{Cx, Dep, Depth, Diff, Env, Inputs, Key, Ownership, Ref, Resource, Seen, Value};
use crate::state::Intent;

/// The API key.
pub struct ApiKey {
    name: String,
    description: String,
    usage_plan: Ref<usage_plan::Outputs>,
}

/// The key (never its value), and whether the usage plan holds it (read at full depth).
#[derive(Debug, Clone)]
pub struct Live {
    /// The key.
    pub key: Key_,
    /// Whether the usage plan holds it (`None`: not read).
    pub in_plan: Option<bool>,
}

/// What it hands its dependents, and `gwfargate api-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// API key id.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl ApiKey {
    /// The key of `deployment`, in `usage_plan`.
    pub fn new(
        deployment: &crate::config::Deployment,
        names: &crate::config::names::Names,
        usage_plan: &Ref<usage_plan::Outputs>,
    ) -> ApiKey {
        ApiKey {
            name: names.api_key.clone(),
            description: format!(
                "gwfargate {}: callers of {}",
                deployment.name, deployment.service.name
            ),
            usage_plan: usage_plan.clone(),
        }
    }

    /// Whether the plan holds key `id`.
    async fn in_plan(cx: &Cx<'_>, plan: &str, id: &str) -> anyhow::Result<bool> {
        let out = cx
            .aws
            .apigw
            .get_usage_plan_keys()
            .usage_plan_id(plan)
            .limit(500)
            .send()
            .await
            .aws(|| format!("listing the keys of usage plan {plan}"))?;
        Ok(out.items().iter().any(|k| k.id() == Some(id)))
    }

    async fn with_plan(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        key: Option<Key_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let Some(key) = key else { return Ok(None) };
        let in_plan = match (depth, inputs.get(&self.usage_plan), key.id()) {
            (Depth::Full, Some(plan), Some(id)) => Some(Self::in_plan(cx, &plan.id, id).await?),
            (Depth::Full, None, _) => Some(false),
            _ => None,
        };
        Ok(Some(Live { key, in_plan }))
    }
}

impl Resource for ApiKey {
    type Live = Live;
    type Outputs = Outputs;

    fn key(&self) -> Key {
        "api_key".to_string()
    }

    fn kind(&self) -> &'static str {
        "api key"
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn deps(&self) -> Vec<Dep> {
        vec![self.usage_plan.dep()]
    }

    fn found_through(&self) -> Vec<Key> {
        vec![self.usage_plan.dep().key]
    }

    /// By name (its id alone says nothing of the plan): one read either way.
    async fn lookup(
        &self,
        cx: &Cx<'_>,
        inputs: &Inputs<'_>,
        depth: Depth,
    ) -> anyhow::Result<Option<Live>> {
        let out = found(
            cx.aws
                .apigw
                .get_api_keys()
                .name_query(&self.name)
                .include_values(false)
                .limit(500)
                .send()
                .await
                .aws(|| format!("looking up API key {}", self.name)),
        )?;
        let mut keys: Vec<Key_> = out
            .map(|o| o.items().to_vec())
            .unwrap_or_default()
            .into_iter()
            .filter(|k| {
                k.name() == Some(self.name.as_str()) && cx.is_ours(tags::from_map(k.tags()))
            })
            .collect();
        keys.sort_by(|a, b| a.id().cmp(&b.id()));
        self.with_plan(cx, inputs, keys.into_iter().next(), depth)
            .await
    }

    fn tags(&self, live: &Live) -> Option<crate::aws::tags::Tags> {
        Some(crate::aws::tags::owned(crate::aws::tags::from_map(
            live.key.tags(),
        )))
    }

    async fn retag(
        &self,
        cx: &Cx<'_>,
        live: &Live,
        changes: &crate::model::TagChanges,
    ) -> anyhow::Result<()> {
        super::retag(cx, &format!("/apikeys/{}", self.id(live)), changes).await
    }

    fn ownership(&self, env: &Env, live: &Live) -> Ownership {
        env.owner(tags::from_map(live.key.tags()))
    }

    fn id(&self, live: &Live) -> String {
        live.key.id().unwrap_or_default().to_string()
    }

    fn outputs(&self, _env: &Env, live: &Live) -> Outputs {
        Outputs {
            id: self.id(live),
            name: self.name.clone(),
        }
    }

    fn diff(&self, _env: &Env, live: &Live, inputs: &Inputs<'_>) -> Diff {
        let mut diff = Diff::none();
        // A key someone disabled (a revocation) stays disabled: `status` shows it.
        if live.in_plan == Some(false) {
            diff.change(
                "usage_plan",
                None,
                inputs
                    .get(&self.usage_plan)
                    .map_or(Value::Unknown, |p| Value::Known(p.id)),
            );
        }
        diff
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
            .create_api_key()
            .name(&self.name)
            .description(&self.description)
            .enabled(true)
            .set_tags(Some(tags::map(&cx.tags(&self.name))))
            .send()
            .await
            .aws(|| format!("creating API key {}", self.name))?;
        Ok(Live {
            key: Key_::builder()
                .set_id(out.id().map(str::to_string))
                .set_name(out.name().map(str::to_string))
                .enabled(out.enabled())
                .set_tags(out.tags().cloned())
                .build(),
            in_plan: Some(false),
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
        if diff.changes("usage_plan") {
            let plan = inputs.need(&self.usage_plan)?.id;
            cx.say("adding the key to the usage plan");
            // A repeat after a lost answer meets the key already there.
            ignore(
                cx.aws
                    .apigw
                    .create_usage_plan_key()
                    .usage_plan_id(&plan)
                    .key_id(&id)
                    .key_type("API_KEY")
                    .send()
                    .await
                    .aws(|| format!("adding API key {id} to usage plan {plan}")),
                &["ConflictException"],
            )?;
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
            .delete_api_key()
            .api_key(&id)
            .send()
            .await
            .aws(|| format!("deleting API key {id}"))?;
        Ok(None)
    }

    fn observe(&self, live: &Live) -> Seen {
        Seen::new(
            &self.id(live),
            if live.key.enabled() {
                "enabled"
            } else {
                "disabled"
            },
        )
    }
}

/// The stack's key as `gwfargate api-key` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Its value, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The key of `env`'s stack, with its value when `show`; `None` when there is none yet.
pub async fn shown(env: &Env, show: bool) -> anyhow::Result<Option<Shown>> {
    let name = &env.names.api_key;
    let out = env
        .aws
        .apigw
        .get_api_keys()
        .name_query(name)
        .include_values(show)
        .limit(500)
        .send()
        .await
        .aws(|| format!("looking up API key {name}"))?;
    let mut keys: Vec<&Key_> = out
        .items()
        .iter()
        .filter(|k| k.name() == Some(name.as_str()) && env.is_ours(tags::from_map(k.tags())))
        .collect();
    keys.sort_by(|a, b| a.id().cmp(&b.id()));
    Ok(keys.first().map(|k| Shown {
        name: name.clone(),
        id: k.id().unwrap_or_default().to_string(),
        value: if show {
            k.value().map(str::to_string)
        } else {
            None
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::World;
    use crate::resources::testing::env;

    #[test]
    fn a_key_made_is_put_in_the_plan_and_a_disabled_one_left_disabled() {
        let env = env();
        let r = ApiKey::new(&env.deployment, &env.names, &Ref::new("usage_plan"));
        let world = World::default();
        world.publish(
            "usage_plan",
            usage_plan::Outputs {
                id: "plan-1".into(),
            },
        );
        let live = |enabled: bool, in_plan: bool| Live {
            key: Key_::builder().id("key-1").enabled(enabled).build(),
            in_plan: Some(in_plan),
        };
        assert_eq!(
            r.diff(&env, &live(true, false), &world.inputs()).words(),
            "usage_plan (none) → plan-1"
        );
        assert_eq!(
            r.diff(&env, &live(false, true), &world.inputs()),
            Diff::none(),
            "a disabled key is a revocation, left as it is"
        );
        assert_eq!(
            r.diff(&env, &live(true, true), &world.inputs()),
            Diff::none()
        );
    }
}
