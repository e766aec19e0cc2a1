//! The latency histogram in the JSON report, losslessly: HdrHistogram's standard
//! interchange encoding (V2, compressed with DEFLATE), in base64, as HdrHistogram's
//! log format and its Java, Go and Python ports write it.
//!
//! This is what makes `asynclab load merge` exact. Percentiles cannot be averaged
//! (the mean of two p99s is the p99 of nothing), but histograms add: every count in
//! every bucket of each run, summed, is the histogram one generator would have
//! recorded for all of them, and its percentiles are the real ones. The encoding is
//! the `hdrhistogram` crate's own, so any HdrHistogram tool can read the field too.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::Deserialize;

/// Encodes `hdr` as base64 of its V2 + DEFLATE form.
pub(crate) fn encode(hdr: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(hdr, &mut bytes)
        .expect("writing to a Vec cannot fail, and a u64 histogram always encodes");
    STANDARD.encode(bytes)
}

/// Decodes what [`encode`] wrote (or any V2 histogram, compressed or not).
pub(crate) fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 histogram: {e:?}"))
}

/// `#[serde(with = "crate::hdr")]`: the histogram as its encoded string.
pub(crate) fn serialize<S: serde::Serializer>(
    hdr: &Histogram<u64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&encode(hdr))
}

pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Histogram<u64>, D::Error> {
    let text = String::deserialize(deserializer)?;
    decode(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_comes_back_identical() {
        let mut hdr = crate::stats::histogram();
        for us in [1, 17, 950, 12_345, 1_000_000, 3_600_000_000] {
            hdr.record_n(us, us % 7 + 1).expect("in range");
        }
        let back = decode(&encode(&hdr)).expect("decodes");
        assert_eq!(back, hdr);
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
