//! `[http.faults]` over real sockets: injected errors at their rate, aborted
//! connections that get no answer, delays, the exempt routes, the counters,
//! and settings changed while the server runs.

use asynclab_core::config::FaultsConfig;

use super::*;

fn faults(text: &str) -> FaultsConfig {
    toml::from_str(text).expect("valid [http.faults]")
}

#[tokio::test]
async fn injected_errors_come_at_their_rate_and_are_counted() {
    let s = spawn(|c| c.http.faults = faults(r#"errors = "503:50""#)).await;
    let client = client();
    let n = 400;
    let mut errors = 0;
    for _ in 0..n {
        let res = send(&client, request("GET", s.addr, "/fast")).await;
        match res.status {
            StatusCode::OK => assert_eq!(res.body, "Fast response\n"),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(res.header("x-fault-injected"), Some("error"));
                errors += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Binomial(400, 0.5): mean 200, sigma 10; these bounds are 7 sigma away.
    assert!((130..=270).contains(&errors), "{errors} of {n}");
    let stats = get(s.addr, "/stats").await.json();
    assert_eq!(stats["faults"]["injected"]["error"], errors);
    assert_eq!(stats["faults"]["settings"]["errors"], "503:50");
    let metrics = get(s.addr, "/metrics").await.body;
    let line = format!("asynclab_http_faults_injected_total{{kind=\"error\"}} {errors}");
    assert!(metrics.contains(&line), "{metrics}");
}

#[tokio::test]
async fn an_aborted_connection_gets_no_answer_and_the_probes_are_spared() {
    let s = spawn(|c| c.http.faults = faults("abort = 100.0")).await;
    let answer = raw(s.addr, b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(answer, "", "closed without a byte");
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get(s.addr, probe).await.status, StatusCode::OK, "{probe}");
    }
    assert_eq!(s.state.faults.count("abort"), 1);
}

#[tokio::test]
async fn delays_apply_and_settings_change_while_running() {
    let s = spawn(|c| c.http.faults = faults(r#"delays = "300ms""#)).await;
    let started = Instant::now();
    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
    assert!(started.elapsed() >= MS(300), "{:?}", started.elapsed());
    assert_eq!(s.state.faults.count("delay"), 1);

    s.state.faults.set(faults(r#"errors = "418:100""#));
    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::IM_A_TEAPOT);
    s.state.faults.set(FaultsConfig::default());
    assert_eq!(get(s.addr, "/fast").await.status, StatusCode::OK);
    assert_eq!(s.state.faults.count("error"), 1);
}
