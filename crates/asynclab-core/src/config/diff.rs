//! Which keys differ between two configurations: what `SIGHUP` compares to
//! tell the settings it can apply from those that need a restart.

use super::Config;

impl Config {
    /// The dotted keys (`http.faults.errors`) whose values differ in `other`.
    pub fn changed_keys(&self, other: &Config) -> Vec<String> {
        let (a, b) = (as_value(self), as_value(other));
        let mut keys = Vec::new();
        walk(&a, &b, "", &mut keys);
        keys
    }
}

fn as_value(config: &Config) -> toml::Value {
    toml::Value::try_from(config).expect("every config value has a TOML form")
}

fn walk(a: &toml::Value, b: &toml::Value, prefix: &str, keys: &mut Vec<String>) {
    match (a, b) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (name, value) in a {
                let key = match prefix {
                    "" => name.clone(),
                    _ => format!("{prefix}.{name}"),
                };
                match b.get(name) {
                    Some(other) => walk(value, other, &key, keys),
                    None => keys.push(key),
                }
            }
        }
        _ if a != b => keys.push(prefix.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_keys_that_differ_are_named() {
        let a = Config::builtin();
        assert!(a.changed_keys(&a).is_empty());
        let mut b = a.clone();
        b.http.faults.abort = 1.0;
        b.http.addr = "127.0.0.1:9".parse().expect("address");
        assert_eq!(a.changed_keys(&b), ["http.addr", "http.faults.abort"]);
    }
}
