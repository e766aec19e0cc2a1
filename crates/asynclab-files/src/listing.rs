//! The optional folder listing (`files.listing = true`): a plain HTML page of
//! links, built on the blocking pool as part of `open::resolve`.
//!
//! Names come from the disk, so they are untrusted: every name is HTML-escaped in
//! the text and percent-encoded in the link. Hidden entries are left out unless
//! `files.hidden` is on, and the page never shows where the folder is on the
//! server, only its path under `/files/`.

use std::fmt::Write;
use std::io;
use std::path::Path;

/// The most entries shown; a folder with more says so at the end of the page.
const MAX_ENTRIES: usize = 10_000;

/// Renders `dir` (whose path under the root is `rel`).
pub(crate) fn render(dir: &Path, rel: &Path, hidden: bool) -> io::Result<String> {
    let mut entries = Vec::new();
    let mut more = false;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // Not UTF-8: it could not be requested anyway.
        };
        if name.starts_with('.') && !hidden {
            continue;
        }
        if entries.len() == MAX_ENTRIES {
            more = true;
            break;
        }
        // `file_type` does not follow links; a link to a folder shows as a file
        // and still works when clicked.
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        entries.push((name, is_dir));
    }
    entries.sort();

    let title = escape(&format!("/{}", rel.display()));
    let mut html = String::with_capacity(256 + entries.len() * 64);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if rel.components().next().is_some() {
        html.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in &entries {
        let slash = if *is_dir { "/" } else { "" };
        let _ = writeln!(
            html,
            "<li><a href=\"./{}{slash}\">{}{slash}</a></li>",
            encode(name),
            escape(name)
        );
    }
    html.push_str("</ul>\n");
    if more {
        let _ = writeln!(
            html,
            "<p>(only the first {MAX_ENTRIES} entries are shown)</p>"
        );
    }
    html.push_str("</body></html>\n");
    Ok(html)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_encoded() {
        assert_eq!(escape("<a&\"b'>"), "&lt;a&amp;&quot;b&#39;&gt;");
        assert_eq!(encode("a b/<c>.txt"), "a%20b%2F%3Cc%3E.txt");
    }
}
