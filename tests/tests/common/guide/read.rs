//! Reading a page: its ```sh blocks as the steps the runner takes, and a command
//! line as it will run (addresses rewritten, long load runs shortened).

use super::LONGEST_LOAD_SECS;

/// One line of a ```sh block that the test acts on.
#[derive(Debug)]
pub enum Step {
    /// `[NAME=value ...] asynclab serve|http|echo ARGS`: a server for the rest of the block.
    Serve {
        env: Vec<(String, String)>,
        args: Vec<String>,
    },
    /// A `curl` or `asynclab` command.
    Run(Run),
    /// `wait` (with or without job numbers).
    Wait,
}

#[derive(Debug, Clone)]
pub struct Run {
    /// The command as written (without a trailing `&` and comment).
    pub line: String,
    pub background: bool,
    /// The HTTP status named in a trailing `# NNN` comment; `# 200|503` names
    /// either (a weighted random choice). Empty: any status below 400.
    pub expect: Vec<u16>,
    /// Words after that status, which the command's output must contain.
    pub expect_text: Option<String>,
    /// The exit status the command must end with: 0, or the one named in a
    /// trailing `# exit N` comment (a run that fails on purpose).
    pub exit: i32,
}

/// The page's `export NAME=value` lines: the environment a reader has set in
/// their shell, which the runner gives the page's server and every command.
pub fn exports(guide: &str) -> Vec<(String, String)> {
    guide
        .lines()
        .filter_map(|line| line.trim().strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(['\'', '"']).to_string()))
        .collect()
}

/// The files a page shows and its commands use: every fenced block whose first
/// line is `# NAME: ...`, with NAME a file name (`# shop.toml: ...`), as
/// `(NAME, the block's text)`. The comment stays in the file: TOML and URL
/// lists both read `#` as a comment.
pub fn shown_files(guide: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("```") || line.trim() == "```" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let name = body
            .first()
            .and_then(|first| first.strip_prefix("# "))
            .and_then(|first| first.split_once(':'))
            .map(|(name, _)| name)
            .filter(|name| name.contains('.') && !name.contains(char::is_whitespace));
        if let Some(name) = name {
            files.push((name.to_string(), body.join("\n") + "\n"));
        }
    }
    files
}

/// The ```sh blocks, each as the steps the test takes.
pub fn blocks(guide: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    for line in guide.lines() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(steps) if trimmed == "```" => {
                blocks.push(std::mem::take(steps));
                current = None;
            }
            Some(steps) => steps.extend(step(trimmed)),
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block in the guide");
    blocks
}

fn step(line: &str) -> Option<Step> {
    let (code, comment) = match line.find(" #") {
        Some(at) => (line[..at].trim(), Some(line[at + 2..].trim())),
        None => (line, None),
    };
    if code.is_empty() || code.starts_with('#') {
        return None;
    }
    if code == "wait" || code.starts_with("wait ") {
        return Some(Step::Wait);
    }
    let (code, background) = match code.strip_suffix('&') {
        Some(rest) if !rest.ends_with('&') => (rest.trim(), true),
        _ => (code, false),
    };
    let words: Vec<&str> = code.split_whitespace().collect();
    let first = words.iter().position(|w| !is_assignment(w))?;
    match (words[first], words.get(first + 1)) {
        ("asynclab", Some(&("serve" | "http" | "echo"))) => {
            let env = words[..first]
                .iter()
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let args = words[first + 1..].iter().map(|w| w.to_string()).collect();
            Some(Step::Serve { env, args })
        }
        ("asynclab" | "curl", _) => {
            let exit = comment
                .and_then(|c| c.strip_prefix("exit "))
                .and_then(|n| n.split_whitespace().next()?.parse().ok());
            let mut words = comment.unwrap_or("").splitn(2, char::is_whitespace);
            let expect: Vec<u16> = words
                .next()
                .map(|w| w.trim_end_matches(':'))
                .and_then(|w| w.split('|').map(|s| s.parse().ok()).collect())
                .unwrap_or_default();
            let expect_text = (!expect.is_empty())
                .then(|| words.next())
                .flatten()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty());
            Some(Step::Run(Run {
                line: code.to_string(),
                background,
                expect,
                expect_text,
                exit: exit.unwrap_or(0),
            }))
        }
        _ => None,
    }
}

/// `NAME=value` in front of a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// The command as it will run: addresses rewritten, long loads shortened, the
/// `asynclab` word pointed at the binary under test.
pub fn prepare(line: &str, addresses: &[(String, String)]) -> String {
    let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
    for word in &mut words {
        for (from, to) in addresses {
            *word = word.replace(from.as_str(), to);
        }
    }
    for i in 1..words.len() {
        if (words[i - 1] == "-d" || words[i - 1] == "--duration")
            && secs(&words[i]) > LONGEST_LOAD_SECS
        {
            words[i] = format!("{LONGEST_LOAD_SECS}s");
        }
    }
    if let Some(first) = words.iter_mut().find(|w| !is_assignment(w))
        && first == "asynclab"
    {
        *first = crate::common::binary().display().to_string();
    }
    words.join(" ")
}

/// `10s`, `1m`, `500ms` in seconds (0 for anything else).
fn secs(text: &str) -> f64 {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let value: f64 = digits.parse().unwrap_or(0.0);
    match &text[digits.len()..] {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => 0.0,
    }
}
