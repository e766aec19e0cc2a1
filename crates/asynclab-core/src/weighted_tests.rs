//! The weighted-list parser and chooser, with rolls spread evenly over `0..1`
//! instead of random ones: the counts are exact, so the tests cannot flake.

use super::*;

fn code(text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a status code"))
}

/// How often each value is picked over `n` rolls spread evenly over `0..1` (the
/// middle of each of `n` equal slices, away from the boundaries)
/// (`None`: the default).
fn counts(list: &Weighted<u16>, n: u32) -> Vec<(Option<u16>, u32)> {
    let mut out: Vec<(Option<u16>, u32)> = Vec::new();
    for i in 0..n {
        let picked = list.pick((f64::from(i) + 0.5) / f64::from(n)).copied();
        match out.iter_mut().find(|(v, _)| *v == picked) {
            Some((_, c)) => *c += 1,
            None => out.push((picked, 1)),
        }
    }
    out
}

#[test]
fn percent_lists_leave_the_rest_to_the_default() {
    let list = Weighted::percent("503:5,429:1", code).expect("valid");
    assert_eq!(
        counts(&list, 1000),
        [(Some(503), 50), (Some(429), 10), (None, 940)]
    );
    let always = Weighted::percent("503", code).expect("a bare value");
    assert!(always.is_certain());
    assert_eq!(counts(&always, 100), [(Some(503), 100)]);
    let decimals = Weighted::percent("500:0.5", code).expect("decimal percent");
    assert_eq!(counts(&decimals, 1000), [(Some(500), 5), (None, 995)]);
}

#[test]
fn relative_lists_always_choose() {
    let list = Weighted::relative("200:90,503:10", code).expect("valid");
    assert_eq!(counts(&list, 100), [(Some(200), 90), (Some(503), 10)]);
    let coin = Weighted::relative("200,503", code).expect("bare values weigh 1");
    assert_eq!(counts(&coin, 100), [(Some(200), 50), (Some(503), 50)]);
    // httpbin's own example: weights that are not percentages.
    let thirds = Weighted::relative("200:0.1,500:0.2", code).expect("valid");
    assert_eq!(counts(&thirds, 300), [(Some(200), 100), (Some(500), 200)]);
    assert_eq!(thirds.pick(0.999_999_999_999), Some(&500), "rounding");
}

#[test]
fn bad_lists_say_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("503:60,429:50", "add up to 110%"),
        ("503:101", "`101` is not a weight"),
        ("503:x", "`x` is not a weight"),
        ("503:-1", "`-1` is not a weight"),
        ("503:NaN", "`NaN` is not a weight"),
        ("abc:5", "`abc` is not a status code"),
    ];
    for (text, expected) in cases {
        let err = Weighted::percent(text, code).expect_err(text);
        assert!(err.to_string().contains(expected), "{text}: {err}");
    }
    let err = Weighted::relative("200:0,500:0", code).expect_err("all zero");
    assert!(err.to_string().contains("zero"), "{err}");
    let long = vec!["200:1"; MAX_CHOICES + 1].join(",");
    assert!(Weighted::relative(&long, code).is_err(), "too many entries");
}

#[test]
fn the_largest_value_can_be_checked_against_a_cap() {
    let list = Weighted::percent("10:50,300:10,20:5", code).expect("valid");
    assert_eq!(list.max_by_key(|v| *v), Some(&300));
    assert_eq!(list.choices().len(), 3);
}

#[test]
fn config_lists_read_and_write_the_same_text() {
    let w: Weighted<u16> = "503:5, 429:1".parse().expect("valid");
    assert_eq!(w.to_string(), "503:5,429:1");
    assert_eq!(w.to_string().parse::<Weighted<u16>>().as_ref(), Ok(&w));
    let delays: Weighted<Duration> = "150ms:10,2s:0.5".parse().expect("valid");
    assert_eq!(delays.to_string(), "150ms:10,2s:0.5");
    let always: Weighted<Duration> = "250ms".parse().expect("valid");
    assert_eq!(always.to_string(), "250ms:100");
    assert!(always.is_certain());
    let off: Weighted<u16> = "".parse().expect("empty is valid");
    assert!(off.is_empty());
    assert_eq!(off.pick(0.0), None);
    assert_eq!(off.to_string(), "");
    assert!(!w.is_empty());
    assert!("503:0".parse::<Weighted<u16>>().expect("valid").is_empty());
}

#[test]
fn config_lists_refuse_what_cannot_be_answered() {
    for (text, why) in [
        ("503:150", "not a weight"),
        ("700:5", "not a status code (200 to 599)"),
        ("101:5", "a 1xx cannot be a final answer"),
        ("503:60,500:50", "more than 100%"),
    ] {
        let err = text.parse::<Weighted<u16>>().expect_err(text);
        assert!(err.to_string().contains(why), "{text}: {err}");
    }
    let err = "soon:5".parse::<Weighted<Duration>>().expect_err("bad");
    assert!(err.to_string().contains("not a duration"), "{err}");
}
