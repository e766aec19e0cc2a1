//! What `asynclab config` prints: the merged configuration as TOML, or, with
//! `--show-origin`, every key beside the layer that set it, the way
//! `git config --show-origin` shows each value's file.

use super::Loaded;

impl Loaded {
    /// Every key (dotted, in the order `asynclab config` prints them), its value
    /// as TOML writes it, and where it came from (as errors name it: `built-in
    /// defaults`, `my.toml line 3`, `environment variable ASYNCLAB_X__Y`,
    /// `--set x.y=1`).
    pub fn origins(&self) -> Vec<(String, String, String)> {
        let text = self.config.to_toml();
        // toml_edit keeps the order of the text, which is the order of the structs.
        let doc = toml_edit::Document::parse(text.as_str())
            .expect("the printed configuration is valid TOML");
        let mut keys = Vec::new();
        collect(&text, doc.as_table(), "", &mut keys);
        keys.into_iter()
            .map(|(key, value)| {
                let origin = self.origin(&key);
                (key, value, origin)
            })
            .collect()
    }

    /// [`Loaded::origins`] as text: `ORIGIN<TAB>key = value`, one key a line.
    pub fn show_origin(&self) -> String {
        let mut out = self.ignored_note();
        for (key, value, origin) in self.origins() {
            out.push_str(&format!("{origin}\t{key} = {value}\n"));
        }
        out
    }

    /// A comment line for each ignored `ASYNCLAB_*` variable (valid TOML, so the
    /// output of `asynclab config` can still be used as a config file).
    pub fn ignored_note(&self) -> String {
        self.ignored
            .iter()
            .map(|name| {
                format!(
                    "# ignored: {name} is not a setting (settings are ASYNCLAB_<SECTION>__<KEY>)\n"
                )
            })
            .collect()
    }
}

/// Every value below `table` with its dotted key, spelled as in `text`.
fn collect(text: &str, table: &toml_edit::Table, prefix: &str, keys: &mut Vec<(String, String)>) {
    for (name, item) in table.iter() {
        let key = match prefix {
            "" => name.to_string(),
            _ => format!("{prefix}.{name}"),
        };
        match item {
            toml_edit::Item::Table(inner) => collect(text, inner, &key, keys),
            toml_edit::Item::Value(value) => {
                let spelled = value.span().and_then(|span| text.get(span)).unwrap_or("?");
                keys.push((key, spelled.trim().to_string()));
            }
            _ => {}
        }
    }
}
