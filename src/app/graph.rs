//! `gwfargate graph`: the resources the env file describes and what depends on what, as DOT
//! for Graphviz or as JSON (the benchmark computes the critical path from it).

use serde::Serialize;

use super::session::Session;
use crate::model::Phase;

/// The stable JSON document of `graph --json` (format 1).
#[derive(Debug, Serialize)]
pub struct Document {
    /// Version of this document's shape.
    pub format_version: u32,
    /// Every resource, in dependency order.
    pub nodes: Vec<NodeDoc>,
}

/// One resource.
#[derive(Debug, Serialize)]
pub struct NodeDoc {
    /// Its key (as in the state file).
    pub key: String,
    /// Its kind (as in `status`).
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// What it needs: each ready before it is made; on the way down, each goes once this
    /// resource reached `down` (`deleting`, `quiet` or `gone`).
    pub deps: Vec<DepDoc>,
    /// Whether the env file no longer describes it (the other kind of VPC link, a feature
    /// turned off): `up` deletes it once the rest of the stack is done.
    pub orphan: bool,
}

/// One dependency.
#[derive(Debug, Serialize)]
pub struct DepDoc {
    /// The key depended on.
    pub key: String,
    /// How far this resource must be torn down before that one may go.
    pub down: &'static str,
}

fn word(phase: Phase) -> &'static str {
    match phase {
        Phase::Ready => "ready",
        Phase::Deleting => "deleting",
        Phase::Quiet => "quiet",
        Phase::Gone => "gone",
    }
}

/// The graph of the session's deployment.
pub fn document(session: &Session) -> Document {
    let env = &session.env;
    let stack = crate::resources::stack(
        &env.deployment,
        &env.names,
        &env.account,
        &env.state.recorded(),
    );
    Document {
        format_version: 1,
        nodes: stack
            .graph
            .nodes()
            .iter()
            .map(|n| NodeDoc {
                key: n.key().to_string(),
                kind: n.kind(),
                name: n.name().to_string(),
                deps: n
                    .deps()
                    .iter()
                    .map(|d| DepDoc {
                        key: d.key.clone(),
                        down: word(d.down),
                    })
                    .collect(),
                orphan: n.is_orphan(),
            })
            .collect(),
    }
}

/// The graph in Graphviz's DOT: an edge from each resource to what it needs.
pub fn dot(doc: &Document) -> String {
    let mut out = String::from("digraph gwfargate {\n  rankdir=LR;\n");
    for n in &doc.nodes {
        let style = if n.orphan { ", style=dotted" } else { "" };
        out.push_str(&format!(
            "  \"{}\" [label=\"{}\\n{}\"{style}];\n",
            n.key, n.kind, n.name
        ));
        for d in &n.deps {
            let style = if d.down == "gone" {
                String::new()
            } else {
                format!(" [style=dashed, label=\"down: {}\"]", d.down)
            };
            out.push_str(&format!("  \"{}\" -> \"{}\"{style};\n", n.key, d.key));
        }
    }
    out.push_str("}\n");
    out
}
