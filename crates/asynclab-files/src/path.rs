//! Turning the request path into a path *inside* the served folder, or a refusal.
//!
//! This is plain, synchronous string work done before any file system call, so
//! every trick a client can play with the path (`..` percent-encoded, double
//! encoded, written with backslashes, absolute paths, NUL bytes) is decided here,
//! in one place, and tested directly. The rule is deliberately simple: decode the
//! percent escapes exactly once, then accept only plain names separated by `/`.

use std::path::PathBuf;

/// The longest raw path (after `/files/`) we look at. Linux's `PATH_MAX` is 4096;
/// nothing longer can name a file, so answering 414 early costs no real request.
pub(crate) const MAX_PATH: usize = 4096;

/// A request path that passed every check: relative, `..`-free, decoded.
#[derive(Debug, Clone)]
pub(crate) struct RelPath {
    /// Only `Normal` components, safe to join onto the root.
    pub rel: PathBuf,
    /// The request named a folder: it was empty or ended with `/`.
    pub dir: bool,
    /// The last segment as the client wrote it (still encoded), for redirects.
    pub last_raw: String,
}

/// Why a path is refused; each maps to one 4xx in `lib.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400: malformed escapes, NUL, `..`, backslashes, bytes that are not UTF-8.
    Bad,
    /// 414: longer than [`MAX_PATH`].
    TooLong,
    /// 404: a hidden name while `files.hidden` is off (we do not confirm it exists).
    Hidden,
}

/// Checks `raw` (the path after `/files/`, still percent-encoded).
pub(crate) fn parse(raw: &str, hidden_allowed: bool) -> Result<RelPath, Refusal> {
    if raw.len() > MAX_PATH {
        return Err(Refusal::TooLong);
    }
    let decoded = percent_decode(raw).ok_or(Refusal::Bad)?;
    // A NUL would truncate the path in the kernel's eyes; a backslash is a
    // separator on Windows and a classic way to smuggle `..\..`. Neither belongs
    // in a name we serve, so both are refused outright.
    if decoded.contains(['\0', '\\']) {
        return Err(Refusal::Bad);
    }
    let mut rel = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            // `a//b`, `/etc/passwd` (absolute) and `./a` all stay inside the root:
            // empty and `.` segments are dropped, never treated as "start at /".
            "" | "." => {}
            ".." => return Err(Refusal::Bad),
            name if name.starts_with('.') && !hidden_allowed => return Err(Refusal::Hidden),
            name => rel.push(name),
        }
    }
    Ok(RelPath {
        rel,
        dir: decoded.is_empty() || decoded.ends_with('/'),
        last_raw: raw.rsplit('/').next().unwrap_or_default().to_string(),
    })
}

/// Does any component of `rel` (a path inside the root) start with a dot?
pub(crate) fn has_hidden(rel: &std::path::Path) -> bool {
    rel.components()
        .any(|c| c.as_os_str().as_encoded_bytes().first() == Some(&b'.'))
}

/// Decodes `%XX` escapes once. `None` for a malformed escape or a result that
/// is not UTF-8. A double-encoded `%252e` becomes the literal text `%2e`, a
/// harmless (and almost certainly missing) file name, not a dot.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        parse(raw, false)
            .expect("accepted")
            .rel
            .display()
            .to_string()
    }

    #[test]
    fn plain_paths_are_decoded_once() {
        assert_eq!(ok("a/b.txt"), "a/b.txt");
        assert_eq!(ok("a%20b.txt"), "a b.txt");
        assert_eq!(ok("%252e%252e/x"), "%2e%2e/x");
        assert_eq!(ok("//etc/passwd"), "etc/passwd");
        assert_eq!(ok("%2Fetc%2Fpasswd"), "etc/passwd");
        assert!(parse("", false).expect("root").dir);
        assert!(parse("sub/", false).expect("folder").dir);
        assert_eq!(parse("a/b%20c", false).expect("ok").last_raw, "b%20c");
    }

    #[test]
    fn traversal_nul_and_hidden_are_refused() {
        for raw in [
            "..",
            "../x",
            "a/../../x",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            ".%2e/x",
            "..%5cx",
            "a\\..\\x",
            "a%00.txt",
            "%zz",
            "%ff",
        ] {
            assert_eq!(parse(raw, false).err(), Some(Refusal::Bad), "{raw}");
        }
        assert_eq!(parse(".env", false).err(), Some(Refusal::Hidden));
        assert_eq!(parse("a/.git/config", false).err(), Some(Refusal::Hidden));
        assert!(parse(".env", true).is_ok());
        assert_eq!(
            parse(&"a/".repeat(3000), false).err(),
            Some(Refusal::TooLong)
        );
    }
}
