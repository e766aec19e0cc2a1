//! The route handlers: functions from the state and the request to a response.
//!
//! Those that wait are `async fn`s, and each shows one async idea:
//!
//! | file | routes | pattern |
//! |---|---|---|
//! | `slow.rs` | `/slow` | a timer that blocks nothing; cancellation by drop |
//! | `limited.rs` | `/limited` | a shared semaphore with bounded waiting |
//! | `control.rs` | `/control` | a protected API that changes shared state at run time |
//! | `echo.rs`, `echo_plan.rs` | `/echo` | a body streamed through with bounded memory; fortio's fault parameters |
//! | `mounted.rs` | the demos, the httpbin routes, `/files/` | handing a request to another crate |
//! | `probes.rs` | `/`, `/fast`, the probes, `/stats`, `/info`, `/metrics` | plain functions: nothing to wait for |

pub mod control;
pub mod echo;
pub mod echo_plan;
pub mod limited;
pub mod mounted;
pub mod probes;
pub mod slow;
