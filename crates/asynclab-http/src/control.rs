//! What the control API can change while the server runs, and the values it
//! returns to on reset. `handlers/control.rs` is the HTTP side (the token, the
//! methods); `SIGHUP` comes in through [`AppState::reload`].
//!
//! Pattern: **run-time settings as shared state with an all-or-nothing
//! update.** A change names several keys (`http.faults.errors=503:5
//! readiness=not-ready`); each is parsed and checked first, and only when all
//! are valid is anything applied, so a typo in the third key leaves the first
//! two alone. Readiness and liveness are one atomic byte each, read by every
//! probe without a lock.
//!
//! | key | what it changes |
//! |---|---|
//! | `readiness` | `auto` (503 only during a shutdown), `ready` (200, even during a shutdown's readiness delay), `not-ready` (503) |
//! | `liveness` | `auto` (200), `fail` (`/healthz` 503: Kubernetes restarts the pod) |
//! | `http.faults.errors`, `.delays`, `.jitter`, `.abort` | the fault settings (`layers/faults.rs`) |
//! | `http.limited.permits` | `/limited`'s semaphore, resized live |
//! | `log.level` | the log filter |

use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};

use asynclab_core::config::{Config, FaultsConfig};
use asynclab_core::telemetry;
use asynclab_core::weighted::WeightError;
use serde_json::{Map, Value, json};

use crate::handlers::limited;
use crate::state::AppState;

/// The configuration keys (or sections) [`AppState::reload`] applies while the
/// server runs; a `SIGHUP` names any other changed key as needing a restart.
pub const RELOADED: [&str; 4] = [
    "http.faults",
    "http.limited.permits",
    "log.level",
    "control.token",
];

/// The most permits `/limited` may be given at run time.
pub const MAX_PERMITS: usize = 100_000;

/// The keys a change may name, in the order `GET /control` shows them.
pub const KEYS: [&str; 8] = [
    "readiness",
    "liveness",
    "http.faults.errors",
    "http.faults.delays",
    "http.faults.jitter",
    "http.faults.abort",
    "http.limited.permits",
    "log.level",
];

/// A forced state, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Forced {
    Auto = 0,
    /// `readiness=ready`.
    Up = 1,
    /// `readiness=not-ready`, `liveness=fail`.
    Down = 2,
}

impl Forced {
    /// As the `readiness` key says it.
    pub fn readiness(self) -> &'static str {
        ["auto", "ready", "not-ready"][self as usize]
    }

    /// As the `liveness` key says it.
    pub fn liveness(self) -> &'static str {
        ["auto", "auto", "fail"][self as usize]
    }

    fn load(cell: &AtomicU8) -> Self {
        match cell.load(Ordering::Acquire) {
            1 => Self::Up,
            2 => Self::Down,
            _ => Self::Auto,
        }
    }
}

/// The control API's state (one per server, in [`AppState`]).
#[derive(Debug, Default)]
pub struct Control {
    /// `control.token`; empty: the API is off.
    token: RwLock<String>,
    readiness: AtomicU8,
    liveness: AtomicU8,
    /// The configured values `reset` returns to (updated by `SIGHUP`).
    configured: RwLock<Configured>,
}

/// The values of the changeable settings that the configuration gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configured {
    pub faults: FaultsConfig,
    pub permits: usize,
    pub log: Option<String>,
}

impl Configured {
    pub fn from_config(config: &Config) -> Self {
        Self {
            faults: config.http.faults.clone(),
            permits: config.http.limited.permits,
            // RUST_LOG wins over log.level, as at start-up.
            log: Some(telemetry::filter(&config.log).to_string()),
        }
    }
}

impl Control {
    /// The token, or `None` when the API is off.
    pub fn token(&self) -> Option<String> {
        let token = self.token.read().expect("the token lock is never poisoned");
        (!token.is_empty()).then(|| token.clone())
    }

    pub fn readiness(&self) -> Forced {
        Forced::load(&self.readiness)
    }

    pub fn liveness(&self) -> Forced {
        Forced::load(&self.liveness)
    }

    /// Takes the token and the configured values from `config` (start-up, `SIGHUP`).
    pub fn configure(&self, config: &Config) {
        *self
            .token
            .write()
            .expect("the token lock is never poisoned") = config.control.token.clone();
        *self
            .configured
            .write()
            .expect("the configured values' lock is never poisoned") =
            Configured::from_config(config);
    }

    fn configured(&self) -> Configured {
        self.configured
            .read()
            .expect("the configured values' lock is never poisoned")
            .clone()
    }
}

/// One checked change, ready to apply.
#[derive(Debug)]
enum Change {
    Readiness(Forced),
    Liveness(Forced),
    Faults(FaultsConfig),
    Permits(usize),
    Log(String),
}

impl AppState {
    /// Checks every `key=value` pair, then applies them all, or none when one
    /// is bad (the error names it).
    pub fn control_set(&self, pairs: &[(String, String)]) -> Result<(), String> {
        if pairs.is_empty() {
            return Err(format!(
                "nothing to change: send key=value, keys: {}",
                KEYS.join(", ")
            ));
        }
        let mut faults = (*self.faults.current()).clone();
        let mut changes = Vec::new();
        for (key, value) in pairs {
            let bad = |why: String| format!("{key}={value}: {why}");
            let change = match key.as_str() {
                "readiness" => Change::Readiness(match value.as_str() {
                    "auto" => Forced::Auto,
                    "ready" => Forced::Up,
                    "not-ready" => Forced::Down,
                    _ => return Err(bad("use auto, ready or not-ready".into())),
                }),
                "liveness" => Change::Liveness(match value.as_str() {
                    "auto" => Forced::Auto,
                    "fail" => Forced::Down,
                    _ => return Err(bad("use auto or fail".into())),
                }),
                "http.faults.errors" => {
                    faults.errors = value.parse().map_err(|e: WeightError| bad(e.0))?;
                    continue;
                }
                "http.faults.delays" => {
                    faults.delays = value.parse().map_err(|e: WeightError| bad(e.0))?;
                    continue;
                }
                "http.faults.jitter" => {
                    faults.jitter = value.parse().map_err(bad)?;
                    continue;
                }
                "http.faults.abort" => {
                    faults.abort = value
                        .parse()
                        .map_err(|_| bad("not a percent (0 to 100)".into()))?;
                    continue;
                }
                "http.limited.permits" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_PERMITS).contains(&n) => Change::Permits(n),
                    _ => return Err(bad(format!("use a number from 1 to {MAX_PERMITS}"))),
                },
                "log.level" => {
                    asynclab_core::config::check_filter(value).map_err(bad)?;
                    // Checked now, so that applying cannot fail halfway.
                    if telemetry::current_filter().is_none() {
                        return Err(bad("this process did not install the log subscriber".into()));
                    }
                    Change::Log(value.clone())
                }
                _ => return Err(format!("unknown key `{key}` (keys: {})", KEYS.join(", "))),
            };
            changes.push(change);
        }
        faults.validate(self.config.slow.max_delay)?;
        if pairs.iter().any(|(key, _)| key.starts_with("http.faults.")) {
            changes.push(Change::Faults(faults));
        }
        for change in changes {
            self.apply(change)?;
        }
        Ok(())
    }

    fn apply(&self, change: Change) -> Result<(), String> {
        let control = &self.control;
        match change {
            Change::Readiness(f) => control.readiness.store(f as u8, Ordering::Release),
            Change::Liveness(f) => control.liveness.store(f as u8, Ordering::Release),
            Change::Faults(faults) => self.faults.set(faults),
            Change::Permits(n) => limited::resize(&self.limited, n),
            Change::Log(filter) => telemetry::set_filter(&filter)?,
        }
        Ok(())
    }

    /// Back to the configured values; readiness and liveness back to `auto`.
    pub fn control_reset(&self) {
        let configured = self.control.configured();
        self.control.readiness.store(0, Ordering::Release);
        self.control.liveness.store(0, Ordering::Release);
        self.apply_configured(configured);
    }

    /// `SIGHUP`: the new configuration's changeable settings, applied now.
    /// (Readiness and liveness, which no file sets, stay as they are.)
    pub fn reload(&self, config: &Config) {
        self.control.configure(config);
        self.apply_configured(self.control.configured());
    }

    fn apply_configured(&self, configured: Configured) {
        self.faults.set(configured.faults);
        limited::resize(&self.limited, configured.permits);
        if let Some(filter) = configured.log {
            // A filter that passed the configuration's check; only a process
            // without our subscriber (a test) cannot change it.
            let _ = telemetry::set_filter(&filter);
        }
    }

    /// `GET /control`: every key's value now, and the configured ones.
    pub fn control_state(&self) -> Value {
        let faults = self.faults.current();
        let now = values(
            self.control.readiness(),
            self.control.liveness(),
            &faults,
            self.limited.permits.load(Ordering::Acquire),
            telemetry::current_filter(),
        );
        let configured = self.control.configured();
        let then = values(
            Forced::Auto,
            Forced::Auto,
            &configured.faults,
            configured.permits,
            configured.log,
        );
        json!({ "now": now, "configured": then, "ready": !self.not_ready() })
    }

    /// What `/readyz` says: not ready when forced, or shutting down (unless forced ready).
    pub fn not_ready(&self) -> bool {
        match self.control.readiness() {
            Forced::Up => false,
            Forced::Down => true,
            Forced::Auto => self.shutting_down(),
        }
    }
}

fn values(
    readiness: Forced,
    liveness: Forced,
    faults: &FaultsConfig,
    permits: usize,
    log: Option<String>,
) -> Value {
    let mut map = Map::new();
    map.insert(KEYS[0].into(), readiness.readiness().into());
    map.insert(KEYS[1].into(), liveness.liveness().into());
    map.insert(KEYS[2].into(), faults.errors.to_string().into());
    map.insert(KEYS[3].into(), faults.delays.to_string().into());
    map.insert(KEYS[4].into(), faults.jitter.to_string().into());
    map.insert(KEYS[5].into(), faults.abort.into());
    map.insert(KEYS[6].into(), permits.into());
    map.insert(KEYS[7].into(), log.map_or(Value::Null, Value::from));
    Value::Object(map)
}
