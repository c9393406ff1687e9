//! `gwfargate rollback`: an earlier revision's image again, as a deploy of it would, and the
//! revisions rolled back from deregistered, so a second rollback goes further back.

use super::revisions;
use super::session::{self, Purpose};
use super::up;
use crate::cli::{Global, RollbackArgs};
use crate::error::UsageError;
use crate::resources::ecs::task_definition::TaskDefinition;
use crate::state::last_applied::SetBy;

/// What a rollback may change: a revision of the earlier image, and the service to run it.
const ROLLED_BACK: up::Only = up::Only {
    command: "rollback",
    what: "the image",
    fields: &[
        ("task definition", "image"),
        ("ecs service", "task_definition"),
    ],
};

/// Rolls back; returns the invoke URL.
pub async fn rollback(args: &RollbackArgs, global: &Global) -> anyhow::Result<String> {
    let reader = session::open_to_read(args.env.as_deref(), global).await?;
    let kept = revisions::revisions(&reader.env).await?;
    let to = revisions::rollback_target(&kept, args.to)
        .map_err(|why| UsageError(format!("{why}; nothing was changed")))?
        .clone();
    let image = to.image.clone().ok_or_else(|| {
        UsageError(format!(
            "revision {} names no image; nothing was changed",
            to.revision
        ))
    })?;
    let mut target = up::built_target(args.env.as_deref(), global, Purpose::Rollback, ROLLED_BACK)?;
    crate::ui::output::eprint(&format!("rollback: to revision {} ({image})", to.revision));
    target.deployment.service.image.clone_from(&image);
    target.set.image = Some(SetBy::now(image, "rollback"));
    let url = up::apply_only(
        target,
        global,
        Purpose::Rollback,
        ROLLED_BACK,
        args.no_wait,
        args.concurrency,
    )
    .await?;
    // Not waited for: the rollout is under way from the revision it rolled back from, which
    // its own rollback may need; the next rollback or change retires it.
    if args.no_wait {
        return Ok(url);
    }
    // What it went back from is not gone back to again: the revisions newer than the one
    // rolled back to (listed before this run registered its own) that run another image.
    let from: Vec<String> = kept
        .iter()
        .filter(|r| r.revision > to.revision && r.image != to.image)
        .map(|r| r.arn.clone())
        .collect();
    let line = crate::progress::Silent;
    let cx = crate::model::Cx {
        env: &reader.env,
        line: &line,
    };
    TaskDefinition::deregister(&cx, &from).await?;
    TaskDefinition::delete_deregistered(&cx, &from).await?;
    Ok(url)
}
