//! Query parameters: `?delay=250ms`, `?work=2s`, validated with a reason.
//!
//! Every duration a client may ask for is capped by `http.slow.max_delay`, so one
//! request cannot hold a task (and its memory) for an hour. A bad value is a 400
//! that says what was wrong and what is accepted.

use std::time::Duration;

use asynclab_core::config::units::duration;

use crate::error::HttpError;

/// The raw value of `name` in a query string (`a=1&b=2`), if present.
pub fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `?name=DURATION`, `default` when absent, 400 when invalid or above `max`.
pub fn duration_param(
    query: Option<&str>,
    name: &str,
    default: Duration,
    max: Duration,
) -> Result<Duration, HttpError> {
    let Some(raw) = query_value(query, name) else {
        return Ok(default);
    };
    let value =
        duration::parse(raw).map_err(|why| HttpError::BadRequest(format!("{name}: {why}")))?;
    if value > max {
        return Err(HttpError::BadRequest(format!(
            "{name}={raw} is longer than http.slow.max_delay ({})",
            duration::show(max)
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_parsed_and_capped() {
        let max = Duration::from_secs(30);
        let d = Duration::from_secs(2);
        assert_eq!(duration_param(None, "delay", d, max).ok(), Some(d));
        assert_eq!(
            duration_param(Some("x=1&delay=250ms"), "delay", d, max).ok(),
            Some(Duration::from_millis(250))
        );
        assert!(duration_param(Some("delay=soon"), "delay", d, max).is_err());
        let too_long = duration_param(Some("delay=31s"), "delay", d, max).expect_err("31s > max");
        assert!(
            too_long.to_string().contains("http.slow.max_delay"),
            "{too_long}"
        );
    }
}
