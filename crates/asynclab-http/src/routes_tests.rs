//! The route table and the router's `match` agree.

use asynclab_core::{Config, Metrics, Shutdown};
use http::StatusCode;
use tower::ServiceExt;

use super::*;

fn router() -> Router {
    let mut config = Config::builtin();
    // `/block` answers 403 while off; any answer but 404/405 shows the arm exists.
    config.http.demo.allow_blocking = false;
    // With a token the control routes exist (401 without it: not 404).
    config.control.token = "a-token-for-the-route-table".into();
    let state = AppState::new(
        config.http.clone(),
        false,
        Metrics::new(),
        None,
        Shutdown::new(),
    );
    state.control.configure(&config);
    Router::new(state)
}

/// A path the template matches (the file server's with a file name, the httpbin
/// routes' with small, valid parameters).
fn example(template: &str) -> String {
    [
        ("{path}", "x.txt"),
        ("{codes}", "200"),
        ("{n}", "0"),
        ("{user}", "u"),
        ("{passwd}", "p"),
        ("{etag}", "e"),
        ("{value}", "aGk="),
    ]
    .iter()
    .fold(template.to_owned(), |path, (param, value)| {
        path.replace(param, value)
    })
}

/// The route's index alone (the per-route counters' slot).
fn index(method: &Method, path: &str) -> usize {
    lookup(method, path).0
}

#[tokio::test]
async fn every_route_in_the_table_has_an_arm_in_the_match() {
    for route in ROUTES {
        let req = Request::builder()
            .method(route.method.clone())
            .uri(format!(
                "{}?n=1&delay=1ms&work=1ms&a=1ms&b=1ms&for=1ms",
                example(route.template)
            ))
            // `u:p`: `/hidden-basic-auth/u/p` answers 404 to anyone else.
            .header("authorization", "Basic dTpw")
            .body(crate::body::empty())
            .expect("request");
        let res = router().oneshot(req).await.expect("infallible");
        assert!(
            !matches!(
                res.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ) || route.template == FILES,
            "{} {} got {}",
            route.method,
            route.template,
            res.status()
        );
    }
}

#[tokio::test]
async fn a_path_not_in_the_table_is_404_and_a_wrong_method_405_with_allow() {
    let res = router()
        .oneshot(
            Request::get("/nope")
                .body(crate::body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = router()
        .oneshot(
            Request::delete("/fast")
                .body(crate::body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

#[test]
fn lookup_yields_templates_and_methods() {
    assert_eq!(template("/fast"), "/fast");
    assert_eq!(template("/files/a/b.txt"), FILES);
    assert_eq!(template("/files/"), FILES);
    assert_eq!(template("/filesx"), UNMATCHED);
    let fast = index(&Method::GET, "/fast");
    assert_eq!(ROUTES[fast].template, "/fast");
    assert_eq!(
        index(&Method::HEAD, "/fast"),
        fast,
        "HEAD is counted as GET's route"
    );
    assert_eq!(
        index(&Method::DELETE, "/fast"),
        ROUTES.len(),
        "no route serves it"
    );
    for method in [Method::PUT, Method::DELETE, Method::POST] {
        assert_eq!(ROUTES[index(&method, "/files/x")].template, FILES);
    }
    assert_eq!(
        ROUTES[index(&Method::POST, "/counter")].method,
        Method::POST
    );
    assert_eq!(allow("/fast"), "GET, HEAD");
    assert_eq!(allow("/echo"), "GET, HEAD, POST");
}

#[test]
fn httpbin_routes_are_in_the_table_with_their_templates() {
    for httpbin in asynclab_httpbin::ROUTES {
        let line = ROUTES
            .iter()
            .find(|r| r.template == httpbin.template)
            .unwrap_or_else(|| panic!("{} is not in ROUTES", httpbin.template));
        assert_eq!(
            line.method.as_str(),
            httpbin.method(),
            "{}",
            httpbin.template
        );
        assert_eq!(template(&example(httpbin.template)), httpbin.template);
    }
    // Labels are templates, never raw paths; every method of `/anything` is its route.
    assert_eq!(template("/status/503"), "/status/{codes}");
    assert_eq!(template("/anything/a/b"), "/anything/{path}");
    assert_eq!(template("/basic-auth/a/b"), "/basic-auth/{user}/{passwd}");
    assert_eq!(
        ROUTES[index(&Method::PUT, "/anything")].template,
        "/anything"
    );
    assert_eq!(
        index(&Method::POST, "/get"),
        ROUTES.len(),
        "POST /get is a 405"
    );
}

#[test]
fn demo_routes_match_the_demo_table() {
    for demo in asynclab_demo::ROUTES {
        assert_eq!(allow(demo.path), demo.allow, "{}", demo.path);
    }
}
