//! `HostLayer`: a request must name one host, and a valid one.
//!
//! HTTP/1.1 requires exactly one `Host` header (RFC 9112 §3.2: none, or more
//! than one, is a 400); HTTP/2 carries `:authority` instead, which hyper puts in
//! the URI. Two Hosts are refused in any version: which one names the site is
//! ambiguous. A Host that is not a host and port (`a b`, `a/b`, `user@a`) is a
//! 400 too. Why our own layer: hyper checks none of this for a server, and no
//! tower-http layer does.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use futures_util::future::Either;
use http::header::HOST;
use http::{Request, Response, Version};
use tower::{Layer, Service};

use crate::body::Body;
use crate::error::HttpError;

/// Refuses requests whose `Host` is missing, repeated or malformed, with 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostLayer;

impl<S> Layer<S> for HostLayer {
    type Service = Host<S>;

    fn layer(&self, inner: S) -> Host<S> {
        Host { inner }
    }
}

/// The service made by [`HostLayer`].
#[derive(Debug, Clone)]
pub struct Host<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for Host<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match check(&req) {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(refused) => Either::Left(ready(Ok(refused.into_response()))),
        }
    }
}

fn check<B>(req: &Request<B>) -> Result<(), HttpError> {
    let mut hosts = req.headers().get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() == Version::HTTP_11 && req.uri().authority().is_none() => Err(
            HttpError::BadRequest("HTTP/1.1 request without a Host header".into()),
        ),
        (Some(_), Some(_)) => Err(HttpError::BadRequest("more than one Host header".into())),
        (Some(host), None) if !valid_host(host.as_bytes()) => {
            Err(HttpError::BadRequest("invalid Host header".into()))
        }
        _ => Ok(()),
    }
}

/// Whether a Host value can be a host and port (RFC 3986 `host [ ":" port ]`):
/// only the characters those may contain. One table lookup per byte, with no
/// copy (parsing it as an `http::uri::Authority` would copy it first); Go's
/// server checks the same way.
fn valid_host(host: &[u8]) -> bool {
    host.iter().all(|&b| HOST_BYTES[usize::from(b)])
}

/// The bytes a Host value may hold: letters, digits, `-._~`, the sub-delims
/// `!$&'()*+,;=`, `:` before a port, `[]` around an IPv6 address, `%` escapes.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~!$&'()*+,;=:[]%";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, hosts: &[&str]) -> Request<()> {
        let mut req = Request::get("/").version(version);
        for host in hosts {
            req = req.header(HOST, *host);
        }
        req.body(()).expect("request")
    }

    #[test]
    fn one_valid_host_passes_and_anything_else_is_refused() {
        assert!(check(&req(Version::HTTP_11, &["localhost:8080"])).is_ok());
        assert!(check(&req(Version::HTTP_11, &["[::1]:8080"])).is_ok());
        assert!(
            check(&req(Version::HTTP_10, &[])).is_ok(),
            "HTTP/1.0 needs none"
        );
        for bad in [
            &[][..],
            &["a", "b"][..],
            &["a b"][..],
            &["a/b"][..],
            &["user@a"][..],
        ] {
            assert!(check(&req(Version::HTTP_11, bad)).is_err(), "{bad:?}");
        }
    }
}
