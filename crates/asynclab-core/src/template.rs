//! Route templates such as `/status/{codes}` or `/files/{path}`, matched against
//! request paths: one matcher for every route table, so the server's metric labels
//! and the crates that answer the routes agree on which path is which route.
//!
//! A `{name}` segment matches one non-empty path segment; a last segment `{path}`
//! matches the rest of the path, slashes included (and nothing at all, so
//! `/files/` is the root folder). Every other segment must be equal.

/// The parameters `path` gives `template`'s `{...}` segments, in order, or `None`
/// when it does not match.
pub fn params<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut found = Vec::new();
    walk(template, path, |param| found.push(param)).then_some(found)
}

/// True when `path` is an instance of `template`.
pub fn matches(template: &str, path: &str) -> bool {
    walk(template, path, |_| {})
}

/// The one matcher behind [`params`] and [`matches`]: it walks both strings
/// once, comparing the literal text between parameters byte by byte, and hands
/// each parameter's text to `on_param`. Every request's route is looked up with
/// it (for its metric label), so it allocates nothing and never splits a string
/// into pieces it then throws away.
fn walk<'p>(template: &str, path: &'p str, mut on_param: impl FnMut(&'p str)) -> bool {
    let (mut template, mut path) = (template, path);
    loop {
        // The literal text up to the next parameter must be the path's next text.
        let Some(open) = position(template, b'{') else {
            return template == path;
        };
        let Some(rest) = path.strip_prefix(&template[..open]) else {
            return false;
        };
        let close = position(&template[open..], b'}').map_or(template.len(), |i| open + i + 1);
        let name = &template[open..close];
        (template, path) = (&template[close..], rest);
        if name == "{path}" && template.is_empty() {
            on_param(path);
            return true;
        }
        // Any other parameter takes one non-empty segment.
        let end = position(path, b'/').unwrap_or(path.len());
        if end == 0 {
            return false;
        }
        on_param(&path[..end]);
        path = &path[end..];
    }
}

/// Where the ASCII byte `b` first is in `s`: a plain loop, because templates
/// and paths are short and `str::find`'s general machinery costs more than the
/// search itself here.
fn position(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_templates_match_only_themselves() {
        assert!(matches("/fast", "/fast"));
        assert!(!matches("/fast", "/fast/"));
        assert!(!matches("/fast", "/fastx"));
        assert!(!matches("/fast", "/"));
        assert!(matches("/", "/"));
        assert!(!matches("/", "/fast"));
    }

    #[test]
    fn parameters_take_one_segment_and_a_last_path_the_rest() {
        assert_eq!(params("/status/{codes}", "/status/418"), Some(vec!["418"]));
        assert_eq!(params("/status/{codes}", "/status/"), None);
        assert_eq!(params("/status/{codes}", "/status/1/2"), None);
        assert_eq!(params("/status/{codes}", "/status"), None);
        assert_eq!(
            params("/basic-auth/{user}/{passwd}", "/basic-auth/a/b"),
            Some(vec!["a", "b"])
        );
        assert_eq!(params("/basic-auth/{user}/{passwd}", "/basic-auth/a"), None);
        assert_eq!(
            params("/files/{path}", "/files/a/b.txt"),
            Some(vec!["a/b.txt"])
        );
        assert_eq!(params("/files/{path}", "/files/"), Some(vec![""]));
        assert_eq!(params("/files/{path}", "/files"), None);
        assert_eq!(params("/files/{path}", "/filesx/a"), None);
    }
}
