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
    let mut rest = path;
    let mut segments = template.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if last && segment == "{path}" {
            found.push(rest);
            return Some(found);
        }
        let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let is_param = segment.starts_with('{') && segment.ends_with('}');
        match is_param {
            true if !head.is_empty() => found.push(head),
            false if head == segment => {}
            _ => return None,
        }
        if last {
            // The template ends here: so must the path (no trailing slash).
            return (!rest.contains('/')).then_some(found);
        }
        if !rest.contains('/') {
            return None;
        }
        rest = tail;
    }
    Some(found)
}

/// True when `path` is an instance of `template`.
pub fn matches(template: &str, path: &str) -> bool {
    params(template, path).is_some()
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
