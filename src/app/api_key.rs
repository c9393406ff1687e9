//! `gwfargate api-key`: the stack's API key, its value only when asked.

use super::session::Session;
use crate::error::UsageError;
use crate::resources::apigateway::api_key::{self, Shown};

/// The key of the session's stack; its value when `show`.
pub async fn api_key(session: &Session, show: bool) -> anyhow::Result<Shown> {
    let env = &session.env;
    let auth = env.deployment.api.auth;
    if env.deployment.network.entry == crate::config::Entry::PublicLoadBalancer {
        return Err(UsageError(format!(
            "{} has no API Gateway, so no API key: its entry is the public load balancer \
             (`entry = \"public_load_balancer\"`)",
            env.deployment.name
        ))
        .into());
    }
    if !auth.api_key_required() {
        return Err(UsageError(format!(
            "the API of {} takes no API key: `api.auth` is \"{}\". Set `auth = \"api_key\"` \
             under [api] in the env file and run `up` to give it one.",
            env.deployment.name,
            auth.word()
        ))
        .into());
    }
    api_key::shown(env, show).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no API key {} yet; run `{}`",
            env.deployment.name,
            env.names.api_key,
            env.hints.command("up")
        )
    })
}
