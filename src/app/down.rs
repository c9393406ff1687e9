//! `gwfargate down`: say what will be deleted, ask (or need `--yes`), delete what gwfargate
//! created, dependents first, then the state file.

use super::session::{self, Session};
use crate::error::UsageError;
use crate::model::Depth;

/// How `down` runs.
pub struct Options {
    /// How many resources may be worked on at once.
    pub concurrency: usize,
    /// Delete without asking.
    pub yes: bool,
}

/// Deletes the stack; removes the state file only when everything went.
pub async fn down(session: &Session, options: &Options) -> anyhow::Result<()> {
    let env = session.env.clone();
    crate::ui::output::eprint(&session::header("down", &env));
    let (stack, world) = session::survey(&env, Depth::Full, options.concurrency).await?;
    let ours: Vec<_> = stack
        .graph
        .nodes()
        .iter()
        .filter(|n| n.exists())
        .map(|n| n.observe())
        .collect();
    if ours.is_empty() {
        crate::ui::output::eprint(
            "down: nothing of this stack was found by its recorded ids, tags or names",
        );
    } else {
        let url = world.inputs().get(&stack.stage).map(|s| s.url);
        let mut text = format!(
            "down deletes deployment {} ({}) in account {}, region {}{}:\n",
            env.deployment.name,
            env.deployment.environment,
            env.account,
            env.deployment.region,
            url.map(|u| format!("; its URL {u} stops working"))
                .unwrap_or_default()
        );
        let width = ours.iter().map(|r| r.kind.len()).max().unwrap_or(0);
        for r in &ours {
            text.push_str(&format!(
                "  - {:<width$} {}{}\n",
                r.kind,
                r.name,
                match (r.kind, &r.detail) {
                    // The logs go with their group.
                    ("log group", Some(detail)) => format!(" with its stored logs ({detail})"),
                    _ => String::new(),
                }
            ));
        }
        crate::ui::output::eprint(text.trim_end());
        if !options.yes {
            if !crate::ui::prompt::can_ask() {
                return Err(UsageError(format!(
                    "down deletes {} resource(s) and there is no terminal to ask on; nothing was \
                     deleted. Run `{}` to delete them",
                    ours.len(),
                    env.hints.command("down --yes")
                ))
                .into());
            }
            if !crate::ui::prompt::confirm("Delete all of this?") {
                return Err(UsageError("not deleted: nothing was changed".to_string()).into());
            }
        }
    }
    let board = session::display(&stack.graph);
    let outcome = stack
        .graph
        .teardown(env.clone(), world, board.clone(), options.concurrency)
        .await;
    crate::interrupt::check()?;
    if !outcome.succeeded() {
        return Err(session::failure(outcome, &stack.graph, "down"));
    }
    let removed = env.state.file().remove()?;
    board.note(&format!(
        "down: finished in {:.1}s; {}",
        session.started.elapsed().as_secs_f64(),
        if removed {
            format!("removed {}", env.state.file().path.display())
        } else {
            "there was no state file to remove".to_string()
        }
    ));
    Ok(())
}
