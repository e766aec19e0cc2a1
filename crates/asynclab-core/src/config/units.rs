//! Human-friendly units for configuration values: sizes such as `64KiB` and
//! durations such as `250ms`.
//!
//! Both are written back in the same form by `asynclab config`, so the printed
//! configuration can be pasted into a file unchanged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A size in bytes. Accepts a plain integer (`65536`) or a string with a unit
/// (`"64KiB"`, `"16 MiB"`, `"1GB"`); prints as the largest exact binary unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

impl Size {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in bytes as a `usize`, saturating on 32-bit targets.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 4] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (name, unit) in UNITS {
            if self.0 >= unit && self.0.is_multiple_of(unit) {
                return write!(f, "{}{name}", self.0 / unit);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // bytesize understands both SI (KB) and binary (KiB) units, with or without
        // a space; we only add a clearer error message.
        s.trim()
            .parse::<bytesize::ByteSize>()
            .map(|b| Size(b.as_u64()))
            .map_err(|_| format!("`{s}` is not a size (try 65536, 64KiB or 16MiB)"))
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 65536, \"64KiB\" or \"16MiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("a size cannot be negative ({v})")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Serde helpers for `Duration` fields written as `"250ms"`, `"5s"`, `"2m"`.
///
/// Used as `#[serde(with = "units::duration")]`.
pub mod duration {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"250ms\", \"5s\" or \"2m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }

    /// Shows a duration the way it is written in configuration (`1s 500ms`).
    pub fn show(d: Duration) -> String {
        humantime::format_duration(d).to_string()
    }

    /// Parses `"250ms"`, `"5s"`, `"1m 30s"`; the error says what is expected.
    pub fn parse(v: &str) -> Result<Duration, String> {
        humantime::parse_duration(v.trim())
            .map_err(|e| format!("`{v}` is not a duration ({e}; try 250ms, 5s or 2m)"))
    }
}

/// Serde helpers for socket addresses, with errors that say what is wrong
/// (a port above 65535 is the common one). Used as `#[serde(with = "units::addr")]`.
pub mod addr {
    use std::net::SocketAddr;

    use super::*;

    pub fn serialize<S: Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(de::Error::custom)
    }

    /// Parses `127.0.0.1:8080` or `[::1]:8080`.
    pub fn parse(text: &str) -> Result<SocketAddr, String> {
        if let Ok(addr) = text.trim().parse() {
            return Ok(addr);
        }
        match text.rsplit_once(':').map(|(_, port)| port.parse::<u64>()) {
            Some(Ok(port)) if port > 65535 => Err(format!("port {port} is above 65535")),
            _ => Err(format!(
                "`{text}` is not a socket address (try 127.0.0.1:8080 or [::1]:8080)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print_in_the_same_form() {
        for (text, bytes) in [
            ("65536", 65536),
            ("64KiB", 65536),
            ("64 KiB", 65536),
            ("16MiB", 16 << 20),
            ("1GB", 1_000_000_000),
        ] {
            assert_eq!(text.parse::<Size>(), Ok(Size(bytes)), "{text}");
        }
        assert_eq!(Size(65536).to_string(), "64KiB");
        assert_eq!(Size(1000).to_string(), "1000B");
        assert!("lots".parse::<Size>().is_err());
    }

    #[test]
    fn addresses_name_a_port_out_of_range() {
        assert!(addr::parse("127.0.0.1:8080").is_ok());
        assert_eq!(
            addr::parse("0.0.0.0:70000"),
            Err("port 70000 is above 65535".into())
        );
        assert!(addr::parse("localhost").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(duration::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration::parse("2m"), Ok(Duration::from_secs(120)));
        assert!(duration::parse("soon").is_err());
    }
}
