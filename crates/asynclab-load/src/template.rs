//! Values templated per request in a scenario: `{{seq}}` (0, 1, 2, ... over the
//! whole run), `{{uuid}}` (a random UUID v4), `{{rand_int A B}}` (A to B, both
//! included) and `{{rand_choice x y z}}` (one of the words).
//!
//! A template is parsed once, when the scenario is read, into literal pieces and
//! placeholders; rendering appends to a reused buffer, so a request costs no parsing
//! and no allocation beyond what its values need.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Seq,
    Uuid,
    RandInt(i64, i64),
    Choice(Vec<String>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Piece>);

impl Template {
    /// Parses `text`; the error names the placeholder that cannot be used.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("`{{{{` with no `}}}}` in `{text}`"))?;
            let words: Vec<&str> = after[..close].split_whitespace().collect();
            pieces.push(match words.as_slice() {
                ["seq"] => Piece::Seq,
                ["uuid"] => Piece::Uuid,
                ["rand_int", a, b] => {
                    let bound = |v: &str| {
                        v.parse::<i64>()
                            .map_err(|_| format!("rand_int takes two integers, not `{v}`"))
                    };
                    let (a, b) = (bound(a)?, bound(b)?);
                    if a > b {
                        return Err(format!("rand_int {a} {b}: the first is the smaller"));
                    }
                    Piece::RandInt(a, b)
                }
                ["rand_choice", choices @ ..] if !choices.is_empty() => {
                    Piece::Choice(choices.iter().map(|c| c.to_string()).collect())
                }
                _ => {
                    return Err(format!(
                        "unknown placeholder `{{{{{}}}}}` (use seq, uuid, rand_int A B, rand_choice ...)",
                        &after[..close]
                    ));
                }
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    /// Text taken as it is, placeholders or not (a body read from a file).
    pub fn literal(text: String) -> Template {
        Template(vec![Piece::Text(text)])
    }

    /// Appends the template's value for request `seq` to `out`.
    pub fn render(&self, seq: u64, rng: &mut fastrand::Rng, out: &mut Vec<u8>) {
        use std::io::Write;
        for piece in &self.0 {
            // Writing to a Vec cannot fail.
            let _ = match piece {
                Piece::Text(text) => out.write_all(text.as_bytes()),
                Piece::Seq => write!(out, "{seq}"),
                Piece::Uuid => {
                    let uuid =
                        uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid();
                    write!(out, "{uuid}")
                }
                Piece::RandInt(a, b) => write!(out, "{}", rng.i64(*a..=*b)),
                Piece::Choice(choices) => {
                    out.write_all(choices[rng.usize(..choices.len())].as_bytes())
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, seq: u64) -> String {
        let mut out = Vec::new();
        let mut rng = fastrand::Rng::with_seed(7);
        Template::parse(text)
            .expect("valid")
            .render(seq, &mut rng, &mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn placeholders_are_filled_per_request() {
        assert_eq!(render("/item/{{seq}}?x=1", 42), "/item/42?x=1");
        let id = render("{{uuid}}", 0);
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "{id}");
        let n: i64 = render("{{rand_int 3 5}}", 0).parse().expect("a number");
        assert!((3..=5).contains(&n));
        assert!(["a", "b"].contains(&render("{{ rand_choice a b }}", 0).as_str()));
    }

    #[test]
    fn bad_placeholders_say_which() {
        for (text, why) in [
            ("{{seq", "no `}}`"),
            ("{{nope}}", "unknown placeholder `{{nope}}`"),
            ("{{rand_int 5 1}}", "the first is the smaller"),
            ("{{rand_int a 1}}", "two integers"),
        ] {
            let err = Template::parse(text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
