//! The limit on open files (`ulimit -n`), which counts sockets too: a process
//! that holds N connections needs N descriptors and a few more.
//!
//! A process starts with a soft limit (often 1,024 in a desktop shell) and may
//! raise it up to its hard limit without any privilege. [`ensure`] does that when
//! a run needs more, so `asynclab load -c 5000` works where it can, and says why
//! where it cannot, before a single connection is tried. (Past the limit every
//! connect fails at once with EMFILE: a run would measure a storm of errors.)

/// More open files are needed than the hard limit allows.
#[derive(Debug, thiserror::Error)]
#[error(
    "{needed} open files are needed, but this process may open at most {hard} \
     (`ulimit -Hn`): use fewer connections, or raise the hard limit"
)]
pub struct TooFew {
    pub needed: u64,
    pub hard: u64,
}

/// Makes sure this process may open `needed` files, raising its soft limit to
/// `needed` if it is lower (the hard limit allowing). Returns the soft limit now
/// in force.
pub fn ensure(needed: u64) -> Result<u64, TooFew> {
    let Some((soft, hard)) = raise(needed) else {
        return Ok(needed); // not known here: go ahead
    };
    match soft >= needed {
        true => Ok(soft),
        false => Err(TooFew { needed, hard }),
    }
}

/// Raises the soft limit toward `needed`, as far as the hard limit allows, and
/// returns the soft limit now in force (`None` where it cannot be read). For a
/// server, whose connection limits say how many it may need: it runs with less,
/// and waits for a free descriptor past it.
pub fn raise_toward(needed: u64) -> Option<u64> {
    raise(needed).map(|(soft, _)| soft)
}

/// Raises the soft limit to `needed`, or to the hard limit if that is lower;
/// returns the soft and hard limits then in force (`None` for "unlimited" reads
/// as `u64::MAX`). One read, and one write only when the soft limit moves.
#[cfg(target_os = "linux")]
fn raise(needed: u64) -> Option<(u64, u64)> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let target = needed.min(hard);
    if soft >= target {
        return Some((soft, hard));
    }
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some((target, hard)),
        Err(_) => Some((soft, hard)),
    }
}

/// Elsewhere the limit is left as it is, and not known.
#[cfg(not(target_os = "linux"))]
fn raise(_needed: u64) -> Option<(u64, u64)> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn what_is_already_allowed_is_left_alone() {
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        let soft = now.current.unwrap_or(u64::MAX);
        assert_eq!(ensure(1).ok(), Some(soft));
        assert_eq!(
            rustix::process::getrlimit(rustix::process::Resource::Nofile),
            now
        );
    }

    #[test]
    fn beyond_the_hard_limit_is_refused_with_both_numbers() {
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        let Some(hard) = hard else {
            return; // unlimited: nothing is beyond it
        };
        let err = ensure(hard + 1).expect_err("beyond the hard limit");
        assert_eq!((err.needed, err.hard), (hard + 1, hard));
        assert!(err.to_string().contains("ulimit -Hn"), "{err}");
    }
}
