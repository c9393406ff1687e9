//! `gwfargate logs`: the service's container logs from CloudWatch Logs, each line marked with
//! its task's short id; the history with FilterLogEvents (every page), `--follow` with Live
//! Tail (polling FilterLogEvents where that is not served or its session ended),
//! `--previous` for the last stopped task and why it stopped.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::aws::AwsResultExt as _;
use crate::cli::LogsArgs;
use crate::error::UsageError;
use crate::model::Env;

/// One log line.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// The task's id (the last part of its log stream's name).
    pub task: String,
    /// When the container wrote it (RFC 3339, milliseconds).
    pub timestamp: String,
    /// The line.
    pub message: String,
    #[serde(skip)]
    pub(crate) millis: i64,
    #[serde(skip)]
    pub(crate) id: String,
}

impl Line {
    /// The line for people: the task's short id, the time, the message.
    pub fn human(&self) -> String {
        let short: String = self.task.chars().take(8).collect();
        format!("{short} {} {}", self.timestamp, self.message.trim_end())
    }
}

/// A point in time from `--since`/`--until`: a duration ago (`10m`, `2h`) or an RFC 3339 time.
pub fn parse_time(flag: &str, text: &str, now: SystemTime) -> Result<i64, UsageError> {
    let at = match humantime::parse_duration(text) {
        Ok(ago) => now.checked_sub(ago),
        Err(_) => humantime::parse_rfc3339_weak(text).ok(),
    };
    at.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| {
            UsageError(format!(
                "{flag} {text:?} is neither a duration ago (10m, 2h, 1d) nor a time \
                 (2026-11-28T08:00:00Z); nothing was read"
            ))
        })
}

/// What to read: the group, the streams' prefix, the window and the pattern.
pub struct Query {
    group: String,
    prefix: String,
    start: i64,
    end: Option<i64>,
    filter: Option<String>,
}

impl Query {
    /// The query `args` ask for on `env`'s stack; `task` narrows it to one task's stream,
    /// read from `started` (milliseconds) unless `--since` says otherwise.
    pub fn new(
        env: &Env,
        args: &LogsArgs,
        task: Option<&str>,
        started: Option<i64>,
    ) -> Result<Query, UsageError> {
        let now = SystemTime::now();
        let start = match (&args.since, started) {
            (None, Some(started)) => started,
            (since, _) => parse_time("--since", since.as_deref().unwrap_or("10m"), now)?,
        };
        let end = args
            .until
            .as_deref()
            .map(|u| parse_time("--until", u, now))
            .transpose()?;
        let mut prefix = format!("ecs/{}/", env.names.container);
        if let Some(task) = task.or(args.task.as_deref()) {
            prefix.push_str(task.rsplit('/').next().unwrap_or(task));
        }
        Ok(Query {
            group: env.names.log_group.clone(),
            prefix,
            start,
            end,
            filter: args.filter.clone(),
        })
    }

    /// Where it starts reading (milliseconds since the epoch).
    pub fn start(&self) -> i64 {
        self.start
    }

    /// One task's lines from `start` (milliseconds since the epoch) on.
    pub fn of_task(env: &Env, task: &str, start: i64) -> Query {
        Query {
            group: env.names.log_group.clone(),
            prefix: format!("ecs/{}/{task}", env.names.container),
            start,
            end: None,
            filter: None,
        }
    }

    /// Every event from `start` on, oldest first, all pages.
    pub async fn read(&self, env: &Env, start: i64) -> anyhow::Result<Vec<Line>> {
        let mut lines = Vec::new();
        let mut pages = env
            .aws
            .logs
            .filter_log_events()
            .log_group_name(&self.group)
            .log_stream_name_prefix(&self.prefix)
            .start_time(start)
            .set_end_time(self.end)
            .set_filter_pattern(self.filter.clone())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.aws(|| format!("reading log group {}", self.group))?;
            for event in page.events() {
                let millis = event.timestamp().unwrap_or_default();
                let stream = event.log_stream_name().unwrap_or_default();
                // The prefix narrows the read on AWS; checked again, as emulators ignore it.
                if !stream.starts_with(&self.prefix) {
                    continue;
                }
                lines.push(Line {
                    task: stream.rsplit('/').next().unwrap_or(stream).to_string(),
                    timestamp: timestamp(millis),
                    message: event.message().unwrap_or_default().to_string(),
                    millis,
                    id: event.event_id().unwrap_or_default().to_string(),
                });
            }
        }
        lines.sort_by_key(|l| l.millis);
        Ok(lines)
    }
}

fn timestamp(millis: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or_default());
    humantime::format_rfc3339_millis(at).to_string()
}

/// How late a line may reach CloudWatch Logs after a later one of another task: each poll
/// reads this far back again, and lines already printed are skipped by their id.
const LATE_MILLIS: i64 = 60_000;

/// Lines printed, by id, to print each once however often a window is read again; and by
/// task, time and text, as Live Tail's lines carry no id and may repeat a read's.
#[derive(Default)]
pub struct Printed {
    ids: HashMap<String, i64>,
    keys: HashMap<(String, i64, String), i64>,
    newest: i64,
}

impl Printed {
    /// Whether `line` is new (it is then counted as printed).
    pub fn first(&mut self, line: &Line) -> bool {
        self.newest = self.newest.max(line.millis);
        let key = (line.task.clone(), line.millis, line.message.clone());
        let mut fresh = self.keys.insert(key, line.millis).is_none();
        if !line.id.is_empty() {
            fresh &= self.ids.insert(line.id.clone(), line.millis).is_none();
        }
        // What is older than any window still read cannot come again.
        let horizon = self.newest - 2 * LATE_MILLIS;
        self.ids.retain(|_, millis| *millis >= horizon);
        self.keys.retain(|_, millis| *millis >= horizon);
        fresh
    }

    /// Where the next read starts: a while before the newest line printed, or `start`.
    pub fn from(&self, start: i64) -> i64 {
        start.max(self.newest - LATE_MILLIS)
    }
}

/// The service's last stopped task: its id, why and when it stopped, and when it started
/// (milliseconds), where its lines begin.
pub async fn previous(env: &Env) -> anyhow::Result<(String, String, Option<i64>)> {
    let tasks = crate::resources::ecs::tasks::of_service(env).await?;
    let Some(last) = tasks.stopped.first() else {
        return Err(UsageError(format!(
            "ecs service {} has no stopped task ECS still lists (it keeps them about an hour)",
            env.names.service
        ))
        .into());
    };
    let why = format!(
        "task {} stopped at {}: {}",
        last.id,
        last.stopped_at.as_deref().unwrap_or("(still stopping)"),
        last.why_stopped()
    );
    let started = last
        .started_at
        .as_deref()
        .and_then(|at| humantime::parse_rfc3339_weak(at).ok())
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    Ok((last.id.clone(), why, started))
}

/// Prints the history, then, with `follow`, every new line until Ctrl-C.
pub async fn print(
    env: &Env,
    query: &Query,
    follow: bool,
    print: impl Fn(&Line),
) -> anyhow::Result<()> {
    let mut printed = Printed::default();
    for line in query.read(env, query.start).await? {
        printed.first(&line);
        print(&line);
    }
    if !follow {
        return Ok(());
    }
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    match live_tail(env, query, &mut printed, &print, &mut stop).await {
        Ok(Tail::Stopped) => return Ok(()),
        Ok(Tail::Ended) => crate::ui::output::eprint(
            "logs: the Live Tail session ended; reading new lines every few seconds instead",
        ),
        Err(err) => crate::ui::output::eprint(&format!(
            "logs: Live Tail is not available ({}); reading new lines every few seconds instead",
            crate::aws::errors::error_code(&err).unwrap_or("no answer")
        )),
    }
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            () = tokio::time::sleep(crate::aws::wait::unit()) => {}
        }
        for line in query.read(env, printed.from(query.start)).await? {
            if printed.first(&line) {
                print(&line);
            }
        }
    }
}

/// How a Live Tail session ended.
enum Tail {
    /// Ctrl-C: the command is done.
    Stopped,
    /// AWS ended it (sessions last three hours at most).
    Ended,
}

/// Follows with CloudWatch Logs Live Tail (StartLiveTail): each new line within a second of
/// its arrival, without a read every few seconds. The window between the history and the
/// session's start is read once more, and what both carry is printed once.
async fn live_tail(
    env: &Env,
    query: &Query,
    printed: &mut Printed,
    print: &impl Fn(&Line),
    stop: &mut (impl std::future::Future<Output = std::io::Result<()>> + Unpin),
) -> anyhow::Result<Tail> {
    use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream as Event;
    let group = format!(
        "arn:{}:logs:{}:{}:log-group:{}",
        env.partition(),
        env.deployment.region,
        env.account,
        query.group
    );
    let mut session = env
        .aws
        .logs
        .start_live_tail()
        .log_group_identifiers(group)
        .log_stream_name_prefixes(&query.prefix)
        .set_log_event_filter_pattern(query.filter.clone())
        .send()
        .await
        .aws(|| format!("starting a Live Tail session on log group {}", query.group))?;
    for line in query.read(env, printed.from(query.start)).await? {
        if printed.first(&line) {
            print(&line);
        }
    }
    loop {
        let event = tokio::select! {
            _ = &mut *stop => return Ok(Tail::Stopped),
            event = session.response_stream.recv() => event,
        };
        let update = match event {
            Ok(Some(Event::SessionUpdate(update))) => update,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return Ok(Tail::Ended),
        };
        for event in update.session_results() {
            let millis = event.timestamp().unwrap_or_default();
            let stream = event.log_stream_name().unwrap_or_default();
            let line = Line {
                task: stream.rsplit('/').next().unwrap_or(stream).to_string(),
                timestamp: timestamp(millis),
                message: event.message().unwrap_or_default().to_string(),
                millis,
                id: String::new(),
            };
            if printed.first(&line) {
                print(&line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, millis: i64) -> Line {
        Line {
            task: "t".into(),
            timestamp: timestamp(millis),
            message: id.into(),
            millis,
            id: id.into(),
        }
    }

    #[test]
    fn a_line_that_arrives_late_is_printed_once() {
        let mut printed = Printed::default();
        assert!(printed.first(&line("a", 100_000)));
        // The next read goes back a minute, so a line of another task written earlier but
        // delivered later is still read; what was printed is not printed again.
        assert_eq!(printed.from(0), 40_000);
        assert!(printed.first(&line("late", 90_000)));
        assert!(!printed.first(&line("a", 100_000)));
        assert!(printed.first(&line("b", 400_000)));
        assert_eq!(printed.ids.len(), 1, "older ids are forgotten");
        // Live Tail's lines carry no id: one a read printed already is known by task, time
        // and text.
        let mut live = line("b", 400_000);
        live.id.clear();
        assert!(!printed.first(&live));
        live.millis += 1;
        assert!(printed.first(&live));
        assert!(!printed.first(&live));
    }

    #[test]
    fn since_and_until_take_a_duration_ago_or_a_time() {
        // 2027-01-15T08:00:00Z.
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(
            parse_time("--since", "10m", now).expect("ago"),
            (1_800_000_000 - 600) * 1000
        );
        assert_eq!(
            parse_time("--until", "2027-01-15T08:00:00Z", now).expect("time"),
            1_800_000_000_000
        );
        let bad = parse_time("--since", "yesterday-ish", now).expect_err("refused");
        assert!(bad.0.contains("--since"), "{}", bad.0);
    }
}
