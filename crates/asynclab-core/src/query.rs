//! Reading a route's query string (`?delay=250ms&n=3`): each value parsed,
//! range-checked against its configured cap, and any mistake turned into a
//! [`QueryError`] that says what to send (the routes answer it with a 400).
//!
//! Nothing async here; it is the "validate before you start waiting" step, so a
//! bad request costs nothing but the parse. One parser for every route, so
//! `/slow`, `/limited` and the demos read their parameters by the same rules.
//!
//! Keys and values are decoded as browsers and HTTP libraries encode them
//! (`application/x-www-form-urlencoded`: `%73` is `s`, `+` is a space), by the
//! `form_urlencoded` crate, so `?delay=250%20ms` means `250 ms`.

use std::borrow::Cow;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::config::units::duration;

/// A query the route cannot take; the message is meant for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The `key=value` pairs of one request, checked against the keys the route takes.
#[derive(Debug)]
pub struct Query<'a> {
    /// Decoded pairs; borrowed from the request when nothing needed decoding.
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Splits `query` and rejects keys the route does not take (a typo such as
    /// `?dealy=` should not silently fall back to the default).
    pub fn parse(query: Option<&'a str>, accepted: &[&str]) -> Result<Self, QueryError> {
        let mut pairs = Vec::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !accepted.contains(&key.as_ref()) {
                let takes = match accepted {
                    [] => "no parameters".to_string(),
                    keys => keys.join(", "),
                };
                return Err(QueryError(format!(
                    "unknown parameter `{key}` (this route takes: {takes})"
                )));
            }
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    /// Splits `query` keeping every key: for routes that answer what clients of
    /// other servers send (the httpbin routes take the parameters they know and
    /// echo or ignore the rest, as httpbin does).
    pub fn lenient(query: Option<&'a str>) -> Self {
        let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect();
        Self { pairs }
    }

    /// Every decoded pair, in the order sent (repeated keys included).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// Every value given for `key`, in the order sent (`?header=a&header=b`).
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs().filter(move |(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The decoded value of `key`, if given (the last one wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// A duration such as `250ms` or `2s`, at most `max` (named by `cap` in the error).
    pub fn duration(
        &self,
        key: &str,
        default: Duration,
        max: Duration,
        cap: &str,
    ) -> Result<Duration, QueryError> {
        let Some(raw) = self.get(key) else {
            return Ok(default.min(max));
        };
        let value = duration::parse(raw).map_err(|e| bad(key, e))?;
        if value > max {
            return Err(bad(
                key,
                // The value as the client wrote it: `999h`, not its conversion
                // into months and days.
                format!("`{raw}` is longer than {} ({cap})", duration::show(max)),
            ));
        }
        Ok(value)
    }

    /// A whole number in `min..=max` (`cap` names the key that sets `max`).
    pub fn number<T>(
        &self,
        key: &str,
        default: T,
        min: T,
        max: T,
        cap: &str,
    ) -> Result<T, QueryError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(raw) = self.get(key) else {
            return Ok(default);
        };
        let value: T = raw
            .parse()
            .map_err(|_| bad(key, format!("`{raw}` is not a whole number")))?;
        if value < min {
            return Err(bad(key, format!("{value} is below {min}")));
        }
        if value > max {
            return Err(bad(key, format!("{value} is above {max} ({cap})")));
        }
        Ok(value)
    }
}

/// The error for a bad value of `key`: `bad value for `key`: reason`.
pub fn bad(key: &str, reason: impl Display) -> QueryError {
    QueryError(format!("bad value for `{key}`: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_parsed_and_capped() {
        let q = Query::parse(Some("delay=250ms&n=3"), &["delay", "n"]).expect("known keys");
        let max = Duration::from_secs(1);
        assert_eq!(
            q.duration("delay", max, max, "cap").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(q.number("n", 1, 1, 10, "cap").ok(), Some(3));

        let q = Query::parse(Some("delay=5s&n=11"), &["delay", "n"]).expect("known keys");
        let err = q
            .duration("delay", max, max, "http.slow.max_delay")
            .expect_err("5s is over the cap");
        assert!(
            err.to_string()
                .ends_with("`5s` is longer than 1s (http.slow.max_delay)"),
            "{err}"
        );
        assert!(q.number("n", 1, 1, 10, "cap").is_err());
        assert!(Query::parse(Some("dealy=1s"), &["delay"]).is_err());
    }

    /// What a URL library sends for `delay=250 ms`, and a percent-encoded key.
    #[test]
    fn keys_and_values_are_url_decoded() {
        let max = Duration::from_secs(1);
        for query in ["delay=250+ms", "delay=250%20ms", "%64elay=250m%73"] {
            let q = Query::parse(Some(query), &["delay"]).expect(query);
            assert_eq!(
                q.duration("delay", max, max, "cap").ok(),
                Some(Duration::from_millis(250)),
                "{query}"
            );
        }
        let err = Query::parse(Some("d%C3%A9lai=1s"), &["delay"]).expect_err("unknown key");
        assert_eq!(
            err.to_string(),
            "unknown parameter `délai` (this route takes: delay)"
        );
    }
}
