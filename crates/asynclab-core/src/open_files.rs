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
#[cfg(target_os = "linux")]
pub fn ensure(needed: u64) -> Result<u64, TooFew> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    let limit = getrlimit(Resource::Nofile);
    // `None` is "unlimited".
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= needed {
        return Ok(soft);
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let raised = Rlimit {
        current: Some(needed),
        maximum: limit.maximum,
    };
    if hard >= needed && setrlimit(Resource::Nofile, raised).is_ok() {
        return Ok(needed);
    }
    Err(TooFew { needed, hard })
}

/// Elsewhere the limit is left as it is.
#[cfg(not(target_os = "linux"))]
pub fn ensure(needed: u64) -> Result<u64, TooFew> {
    Ok(needed)
}

/// Raises the soft limit toward `needed`, as far as the hard limit allows, and
/// returns the soft limit now in force (`None` where it cannot be read). For a
/// server, whose connection limits say how many it may need: it runs with less,
/// and waits for a free descriptor past it.
#[cfg(target_os = "linux")]
pub fn raise_toward(needed: u64) -> Option<u64> {
    use rustix::process::{Resource, getrlimit};

    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let soft = limit.current.unwrap_or(u64::MAX);
    Some(ensure(needed.min(hard)).unwrap_or(soft))
}

/// Elsewhere the limit is left as it is, and not known.
#[cfg(not(target_os = "linux"))]
pub fn raise_toward(_needed: u64) -> Option<u64> {
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
