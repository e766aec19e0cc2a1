//! Helpers for the demo tests: a demo with test settings, a way to call
//! `Demo::handle` directly, and a tiny real hyper server on `127.0.0.1:0` that
//! serves the demo beside a `/fast` route, on a single-threaded runtime of its own.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use asynclab_core::{Config, Event, Events, Shutdown};
use asynclab_demo::{Body, Demo};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// `http.demo.max_delay` in the tests.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// The built-in `[http.demo]` settings, changed by `tweak`.
pub fn demo_with(
    events: Events,
    shutdown: Shutdown,
    tweak: impl FnOnce(&mut asynclab_core::config::DemoConfig),
) -> Demo {
    let mut config = Config::builtin().http.demo;
    config.max_delay = MAX_DELAY;
    tweak(&mut config);
    Demo::new(&config, events, shutdown)
}

pub fn demo() -> Demo {
    demo_with(Events::default(), Shutdown::new(), |_| {})
}

/// Calls the demo directly with a hand-built request; panics on a non-demo path.
pub async fn call(demo: &Demo, method: &str, uri: &str) -> Response<Body> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .expect("a valid request");
    demo.handle(req).await.expect("a demo route")
}

/// The whole body as text (for bodies that end).
pub async fn text(res: Response<Body>) -> String {
    let bytes = res
        .into_body()
        .collect()
        .await
        .expect("a demo body never fails")
        .to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

/// Status and parsed JSON body.
pub async fn json(res: Response<Body>) -> (StatusCode, serde_json::Value) {
    let status = res.status();
    let body = text(res).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, value)
}

/// A real HTTP/1 server for the demo on its own single-worker (`current_thread`)
/// runtime, so one blocked worker means a blocked server. It also answers
/// `GET /fast` at once and publishes an `Event::Request` for every request, as the
/// HTTP server's access layer does.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(demo: Demo, events: Events) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a test runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let (demo, events) = (demo.clone(), events.clone());
                        tokio::spawn(async move {
                            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                                let (demo, events) = (demo.clone(), events.clone());
                                async move {
                                    Ok::<_, std::convert::Infallible>(
                                        route(&demo, &events, req).await,
                                    )
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn route(
    demo: &Demo,
    events: &Events,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let res = match demo.handle(req).await {
        Some(res) => res,
        None if path == "/fast" => Response::new(
            Full::new(Bytes::from_static(b"Fast response\n"))
                .map_err(|never| match never {})
                .boxed_unsync(),
        ),
        None => {
            let mut res = Response::new(
                Full::new(Bytes::new())
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            );
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    };
    let status = res.status().as_u16();
    events.publish_with(|| Event::Request {
        method,
        route: path,
        status,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    });
    res
}

/// A bare HTTP/1.1 client connection: sends `GET path`, reads what comes back.
pub struct Client {
    stream: tokio::net::TcpStream,
    pub received: String,
}

impl Client {
    pub async fn get(addr: SocketAddr, path: &str) -> Self {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send request");
        Self {
            stream,
            received: String::new(),
        }
    }

    /// Reads until `needle` has arrived; false if the connection ended or `within` passed.
    pub async fn read_until(&mut self, needle: &str, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        let mut buf = [0u8; 4096];
        while !self.received.contains(needle) {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => self.received.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => return false,
            }
        }
        true
    }

    /// Like [`Client::read_until`] with 5 s to spare; fails the test otherwise.
    pub async fn expect(&mut self, needle: &str) {
        let arrived = self.read_until(needle, Duration::from_secs(5)).await;
        assert!(arrived, "`{needle}` never arrived; got:\n{}", self.received);
    }

    /// Reads until the server closes the connection (bounded by `within`).
    pub async fn read_to_end(&mut self, within: Duration) -> bool {
        let mut rest = Vec::new();
        let done = tokio::time::timeout(within, self.stream.read_to_end(&mut rest))
            .await
            .is_ok();
        self.received.push_str(&String::from_utf8_lossy(&rest));
        done
    }
}

/// One whole request with `Connection: close`: the response text and how long it took.
pub async fn fetch(addr: SocketAddr, path: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut client = Client::get(addr, path).await;
    assert!(
        client.read_to_end(Duration::from_secs(20)).await,
        "GET {path} did not finish"
    );
    (client.received, started.elapsed())
}
