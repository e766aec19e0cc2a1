//! The per-connection service: where hyper hands a request to the tower stack.
//!
//! hyper wants a `hyper::service::Service` (called by `&self`); the stack is a
//! `tower::Service` (called by `&mut self`, after `poll_ready`). hyper-util's
//! `TowerToHyperService` clones the stack for each request and drives the clone
//! with `oneshot`; [`ConnService`] keeps one copy of the stack per connection
//! instead (cloned when the connection starts) and asks it `poll_ready` then
//! `call` for each request. The stack is always ready (its load-shed layer
//! turns "not ready" into an immediate 503), so the readiness check needs no
//! waiting; a clone per request would instead touch every shared reference
//! count of the stack (the state, the semaphore, the counters) twice per
//! request, from every worker thread: cache lines passed between the cores
//! for nothing (`docs/performance.md`). It also does the connection's
//! bookkeeping: the request is noted as busy on the connection's [`Activity`]
//! from its arrival until its response body has been sent whole (or dropped),
//! and the client's address goes into the request's extensions as
//! [`ClientAddr`] for the layers that log it (with [`TlsInfo`] on the HTTPS
//! port: the client certificate's subject under mutual TLS).
//!
//! A WebSocket handshake's answer carries its session (`ws/handshake.rs`), and
//! this is where it is handed on: to the connection's task after a 101, to a
//! task of its own after an HTTP/2 extended CONNECT.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use futures_util::future::{Either, Ready, ready as ready_now};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio_util::task::TaskTracker;

use super::clock::Activity;
use crate::body::{Body, BoxError};
use crate::ws::Handover;
use crate::{HttpService, ResponseBody};

/// The address of the client that sent a request (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The TLS side of the connection a request came on (a request extension,
/// present only on the HTTPS port).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The subject of the certificate the client showed (mutual TLS), such as
    /// `CN=alice, O=Example`.
    pub client_subject: Option<Arc<str>>,
}

/// The tower stack, bound to one connection. The stack answers every error
/// itself (`error.rs`); an `Err` reaching hyper would close the connection.
///
/// The stack sits in a `RefCell`: hyper calls the service from the
/// connection's own task only, one call at a time, and each borrow ends
/// before `call` returns.
#[derive(Debug, Clone)]
pub struct ConnService<S> {
    app: RefCell<S>,
    activity: Arc<Activity>,
    peer: ClientAddr,
    tls: Option<TlsInfo>,
    /// The server's connection tasks: a WebSocket over HTTP/2 runs as one more.
    tracker: TaskTracker,
}

impl<S> ConnService<S> {
    pub fn new(
        app: S,
        activity: Arc<Activity>,
        peer: SocketAddr,
        tls: Option<TlsInfo>,
        tracker: TaskTracker,
    ) -> Self {
        Self {
            app: RefCell::new(app),
            activity,
            peer: ClientAddr(peer),
            tls,
            tracker,
        }
    }
}

impl<S: HttpService> hyper::service::Service<Request<Incoming>> for ConnService<S> {
    type Response = Response<ConnBody>;
    type Error = BoxError;
    type Future = ResponseFuture<S>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let exchange = Exchange::start(&self.activity);
        // Only a CONNECT can open a WebSocket over HTTP/2: other requests do
        // without the tracker (a clone is an atomic increment).
        let streams = (req.method() == Method::CONNECT).then(|| Streams {
            tracker: self.tracker.clone(),
            peer: self.peer.0,
        });
        let mut req = req.map(Body::from);
        req.extensions_mut().insert(self.peer);
        if let Some(tls) = &self.tls {
            req.extensions_mut().insert(tls.clone());
        }
        let mut app = self.app.borrow_mut();
        // The stack never makes a request wait to be taken (over its limit it
        // answers 503), so one look with a waker that does nothing is enough.
        let inner = match app.poll_ready(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(())) => Either::Left(app.call(req)),
            Poll::Ready(Err(e)) => Either::Right(ready_now(Err(e))),
            Poll::Pending => Either::Right(ready_now(Err("the stack was not ready".into()))),
        };
        ResponseFuture {
            inner,
            exchange: Some(exchange),
            streams,
        }
    }
}

/// Where a WebSocket opened over HTTP/2 is run.
#[derive(Debug)]
struct Streams {
    tracker: TaskTracker,
    peer: SocketAddr,
}

pin_project_lite::pin_project! {
    /// The stack's answer, with the connection's note that the request is busy
    /// moved into the response body.
    pub struct ResponseFuture<S: HttpService> {
        #[pin]
        inner: Either<S::Future, Ready<Result<Response<ResponseBody>, BoxError>>>,
        exchange: Option<Exchange>,
        streams: Option<Streams>,
    }
}

impl<S: HttpService> Future for ResponseFuture<S> {
    type Output = Result<Response<ConnBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        let mut exchange = this.exchange.take();
        if let Some(session) = res
            .extensions_mut()
            .remove::<Handover>()
            .and_then(|handover| handover.take())
        {
            match (res.status(), this.streams.take()) {
                // HTTP/1.1: the whole connection switches. The connection's
                // task runs the session once hyper lets go of the socket.
                (StatusCode::SWITCHING_PROTOCOLS, _) => {
                    if let Some(exchange) = &exchange {
                        exchange.0.hand_over(session);
                    }
                }
                // HTTP/2 (RFC 8441): only this stream switches, and hyper
                // goes on serving the connection's other streams, so the
                // session gets a task of its own, tracked like a connection so
                // the drain waits for it. It keeps the request's `Exchange`:
                // the connection stays busy while the WebSocket is open, so
                // its idle clock does not close it and, at shutdown, hyper's
                // GOAWAY lets the stream finish its close handshake.
                (status, Some(streams)) if status.is_success() => {
                    let busy = exchange.take();
                    streams.tracker.spawn(async move {
                        let _busy = busy;
                        session.run(streams.peer).await;
                    });
                }
                // An answer hyper will not switch on: the session is dropped,
                // and its socket never comes.
                _ => {}
            }
        }
        Poll::Ready(Ok(res.map(|body| ConnBody {
            body,
            _exchange: exchange,
        })))
    }
}

/// A response body as hyper sends it: the stack's body, and the note that the
/// request is busy, dropped when hyper is done with the body.
pub struct ConnBody {
    body: ResponseBody,
    _exchange: Option<Exchange>,
}

impl std::fmt::Debug for ConnBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnBody").finish_non_exhaustive()
    }
}

impl http_body::Body for ConnBody {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// One request on its connection, from arrival until dropped: with the
/// response body once there is one, with the future if the request is dropped
/// before its answer (the client went away).
#[derive(Debug)]
struct Exchange(Arc<Activity>);

impl Exchange {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity.clone())
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}
