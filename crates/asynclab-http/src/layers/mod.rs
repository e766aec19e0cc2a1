//! The layers of the HTTP stack that are our own, one concern per file. Each
//! file's doc says what its layer does and why no kept layer (tower,
//! tower-http) fits; `stack.rs` puts them in order with the kept ones.
//!
//! | file | layer |
//! |---|---|
//! | `request_id.rs` | `RequestIdLayer`: the `x-request-id` of each request and its answer |
//! | `error_format.rs` | one format for every error answer: text, or JSON per `Accept` |
//! | `access_log.rs` | a span per request and one log line per answer |
//! | `metrics.rs` | counters and latency by route template, the in-flight gauge, the live feed |
//! | `cut.rs` | a 503 for requests still unanswered when the shutdown cuts |
//! | `timeout.rs` | the request timeout, counted from the request's last progress |
//! | `body_rate.rs` | the request body's minimum rate (used by `timeout.rs`) |
//! | `host.rs` | `Host` validation |
//! | `faults.rs` | errors, delays and aborted connections injected on purpose |

pub mod access_log;
pub mod body_rate;
pub mod cut;
pub mod error_format;
pub mod faults;
pub mod host;
pub mod metrics;
pub mod request_id;
pub mod timeout;
