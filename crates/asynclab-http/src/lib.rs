//! The asynclab HTTP server: hyper 1.x + hyper-util + a tower stack, with the
//! limits, health checks, metrics and graceful shutdown a real deployment needs.
//!
//! Follow a request through it in this order:
//!
//! | file | what happens there |
//! |---|---|
//! | `server.rs` | the accept loop: a connection slot (semaphore permit) taken before `accept`, a task per connection on a `TaskTracker`, the drain |
//! | `conn/` | one connection: HTTP/1 or h2c (or, on the HTTPS port, the TLS handshake and ALPN), hyper serving it, its clocks (header, idle, write) and its part in the shutdown |
//! | `stack.rs` | the tower stack every request passes, one layer per concern, in order |
//! | `layers/` | the layers that are our own (access log, metrics, timeout and body rate, Host) |
//! | `routes.rs` | the router: a `match` on method and path |
//! | `handlers/` | the handlers: `async fn`s for the routes that wait, plain functions for the rest |
//! | `error.rs` | every failure turned into its answer, in one place (its format: `layers/error_format.rs`) |
//! | `state.rs` | the shared state: one `Arc` |
//! | `control.rs` | what the control API and `SIGHUP` change at run time |
//! | `counters.rs` | the counters behind `/metrics` and `/stats` |
//! | `dashboard/` | `GET /dashboard`: one sampler, a `watch` channel, a live page per viewer |
//! | `body.rs` | the one body type the handlers answer with |
//! | `ws/` | WebSocket: the handshake, then a socket that has left hyper, run by its connection's task |
//!
//! Entry points: [`Server::new`] builds everything from the configuration and
//! takes the process's [`Shutdown`](asynclab_core::Shutdown); [`Server::run`]
//! serves a bound listener until that shutdown says stop. [`app`] is the whole
//! application as a tower `Service`, which tests drive in-process with
//! `tower::ServiceExt::oneshot`.

mod accept;
pub mod body;
mod conn;
pub mod control;
mod counters;
mod dashboard;
mod error;
mod handlers;
mod layers;
mod routes;
mod server;
mod stack;
mod state;
mod ws;

pub use conn::{ClientAddr, TlsInfo};
pub use error::Error;
pub use server::{Https, Server};
pub use stack::{HttpService, ResponseBody, app};
pub use state::AppState;
pub use ws::WebSocketsAtShutdown;
