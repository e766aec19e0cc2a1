//! The asynclab HTTP server: hyper 1.x + hyper-util + tower, with the limits,
//! health checks, metrics and graceful shutdown a real deployment needs.
//!
//! Where each async pattern lives:
//!
//! | file | pattern |
//! |---|---|
//! | `server.rs` | the accept loop: connection limit as a semaphore permit taken before `accept`, a task per connection on a `TaskTracker`, a bounded drain |
//! | `conn.rs` | one connection: HTTP/1 or h2c picked by `peek`; `select!` over hyper, shutdown and a timer; header/idle/write timeouts; `graceful_shutdown` |
//! | `app.rs` | the request pipeline: request id, access span, load shedding, timeout, `catch_unwind`, errors to responses; a request that need not wait is answered without a future |
//! | `routes.rs` | the route table (add a route: one line); handlers that answer at once (`now`) or return a future |
//! | `body.rs` | one body type: an enum for bytes in memory and hyper's request body, a box for the rest |
//! | `handlers.rs` | `/slow` (cancellation by drop), `/limited` (a shared semaphore with bounded waiting), `/echo` (streaming) |
//! | `state.rs` | shared state: one `Arc`, cloned for each handler that waits; Prometheus counters looked up once |
//!
//! Entry points: [`Server::new`] builds everything from the configuration,
//! [`Server::run`] serves a bound listener until a [`Shutdown`](asynclab_core::Shutdown)
//! handle says stop. [`router`] is the whole application as a tower `Service`,
//! which tests drive in-process with `tower::ServiceExt::oneshot`.

mod app;
mod arrival;
pub mod body;
mod conn;
mod error;
mod handlers;
mod routes;
mod server;
mod state;

pub use app::{App, Handling, RequestIds, handle, router};
pub use body::Body;
pub use error::{Error, HttpError};
pub use routes::{Found, Handler, HandlerFuture, ROUTES, Route, find};
pub use server::Server;
pub use state::{AppState, HttpMetrics, LimitedState, Shared};
