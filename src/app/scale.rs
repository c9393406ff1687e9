//! `gwfargate scale`: another number of tasks (or other autoscaling bounds) on the built
//! stack, and nothing else, recorded so a later `up` keeps it while the env file's own count
//! stays as it was.

use super::session::Purpose;
use super::up;
use crate::cli::{Global, ScaleArgs};
use crate::error::UsageError;
use crate::state::Scale;
use crate::state::last_applied::SetBy;

/// What a scale may change: the service's desired count, and the scalable target's bounds.
const SCALED: up::Only = up::Only {
    command: "scale",
    what: "the task count or its bounds",
    fields: &[
        ("ecs service", "desired_count"),
        ("autoscaling", "min"),
        ("autoscaling", "max"),
    ],
};

/// Scales the stack; returns the invoke URL.
pub async fn scale(args: &ScaleArgs, global: &Global) -> anyhow::Result<String> {
    let mut target = up::built_target(Some(&args.env), global, Purpose::Scale, SCALED)?;
    let wanted = scaled(Scale::of(&target.deployment), args)?;
    wanted.apply_to(&mut target.deployment);
    if let Some(problem) = target.deployment.room_problem() {
        return Err(UsageError(format!(
            "{wanted} does not fit, and nothing was changed: {problem}"
        ))
        .into());
    }
    target.set.scale = Some(SetBy::now(wanted, "scale"));
    up::apply_only(
        target,
        global,
        Purpose::Scale,
        SCALED,
        args.no_wait,
        args.concurrency,
    )
    .await
}

/// The scale `args` ask for, from `now`: a count without autoscaling, bounds with it.
fn scaled(now: Scale, args: &ScaleArgs) -> Result<Scale, UsageError> {
    let autoscaled = now.min.is_some();
    match (autoscaled, args.count, args.min.or(args.max)) {
        (false, Some(count), None) => Ok(Scale { count, ..now }),
        (false, _, Some(_)) => Err(UsageError(
            "--min and --max bound autoscaling, and the env file has no [service.autoscaling]; \
             use --count, or add the table and run `up`. Nothing was changed"
                .to_string(),
        )),
        (true, Some(_), _) => Err(UsageError(
            "the autoscaler owns the task count of this stack ([service.autoscaling]); set its \
             bounds with --min and --max instead. Nothing was changed"
                .to_string(),
        )),
        (_, None, None) => Err(UsageError(if autoscaled {
            "say the new bounds: --min N and/or --max N".to_string()
        } else {
            "say the new number of tasks: --count N".to_string()
        })),
        (true, None, Some(_)) => {
            let min = args.min.or(now.min).unwrap_or_default();
            let max = args.max.or(now.max).unwrap_or_default();
            if max < min {
                return Err(UsageError(format!(
                    "--max {max} is below --min {min} (with the bound not given kept as it \
                     is); nothing was changed"
                )));
            }
            Ok(Scale {
                min: Some(min),
                max: Some(max),
                ..now
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn args(count: Option<u32>, min: Option<u32>, max: Option<u32>) -> ScaleArgs {
        ScaleArgs {
            env: PathBuf::from("env1.toml"),
            count,
            min,
            max,
            no_wait: false,
            concurrency: 16,
        }
    }

    #[test]
    fn a_count_without_autoscaling_and_bounds_with_it() {
        let fixed = Scale {
            count: 1,
            min: None,
            max: None,
        };
        assert_eq!(
            scaled(fixed.clone(), &args(Some(3), None, None))
                .expect("count")
                .count,
            3
        );
        let refused = scaled(fixed.clone(), &args(None, Some(2), None)).expect_err("no bounds");
        assert!(
            refused.0.contains("no [service.autoscaling]"),
            "{}",
            refused.0
        );
        assert!(scaled(fixed, &args(None, None, None)).is_err());

        let bounded = Scale {
            count: 1,
            min: Some(1),
            max: Some(4),
        };
        let wider = scaled(bounded.clone(), &args(None, None, Some(8))).expect("bounds");
        assert_eq!((wider.min, wider.max), (Some(1), Some(8)));
        let refused = scaled(bounded.clone(), &args(Some(3), None, None)).expect_err("owned");
        assert!(refused.0.contains("autoscaler owns"), "{}", refused.0);
        let refused = scaled(bounded, &args(None, Some(6), None)).expect_err("min over max");
        assert!(refused.0.contains("below --min 6"), "{}", refused.0);
    }
}
