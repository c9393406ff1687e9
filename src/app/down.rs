//! `gwfargate down`: say what will be deleted, ask (or need `--yes`), delete what gwfargate
//! created, dependents first, then the state file.

use super::session::{self, Session};
use crate::error::UsageError;

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
    let (stack, world) = session::survey_to_delete(&env, options.concurrency).await?;
    for note in stack.graph.nodes().iter().flat_map(|n| n.notes()) {
        crate::ui::output::eprint(&crate::printable::escaped(&format!("note: {note}")));
    }
    let nodes = stack.graph.nodes();
    let mut doomed: Vec<_> = nodes
        .iter()
        .filter(|n| n.exists() && n.kept(&env).is_none())
        .map(|n| n.observe())
        .collect();
    // What a replacement left to delete is the stack's too: listed, and deleted with it.
    doomed.extend(nodes.iter().flat_map(|n| {
        n.retiring(&env).into_iter().map(|id| {
            crate::model::Observed::present(
                n.kind(),
                &format!("{} (replaced, {id})", n.name()),
                crate::model::Seen::new(&id, "replaced"),
            )
        })
    }));
    let kept: Vec<String> = nodes
        .iter()
        .filter_map(|n| Some(format!("{} {}: {}", n.kind(), n.name(), n.kept(&env)?)))
        .collect();
    if doomed.is_empty() {
        crate::ui::output::eprint(
            "down: nothing of this stack to delete was found by its recorded ids, tags or names",
        );
        for why in &kept {
            crate::ui::output::eprint(&format!("  kept: {why}"));
        }
        if kept.is_empty() {
            return finished(session, "down");
        }
    } else {
        let url = stack.entry.url(&world.inputs());
        let mut text = format!(
            "down deletes deployment {} ({}) in account {}, region {}{}:\n",
            env.deployment.name,
            env.deployment.environment,
            env.account,
            env.deployment.region,
            url.map(|u| format!("; its URL {u} stops working"))
                .unwrap_or_default()
        );
        let width = doomed.iter().map(|r| r.kind.len()).max().unwrap_or(0);
        for r in &doomed {
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
        for why in &kept {
            text.push_str(&format!("  kept: {why}\n"));
        }
        crate::ui::output::eprint(text.trim_end());
        if !options.yes {
            if !crate::ui::prompt::can_ask() {
                return Err(UsageError(format!(
                    "down deletes {} resource(s) and there is no terminal to ask on; nothing was \
                     deleted. Run `{}` to delete them",
                    doomed.len(),
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
    finished(session, "down")
}

/// Removes the state file, now that nothing it records is left, and says how long it took.
fn finished(session: &Session, verb: &str) -> anyhow::Result<()> {
    let env = &session.env;
    let removed = env.state.file().remove()?;
    crate::ui::output::eprint(&format!(
        "{verb}: finished in {:.1}s; {}",
        session.started.elapsed().as_secs_f64(),
        if removed {
            format!("removed {}", env.state.file().path.display())
        } else {
            "there was no state file to remove".to_string()
        }
    ));
    Ok(())
}
