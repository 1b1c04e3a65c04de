//! Ganglia's gmond packets, as Flume's `GangliaServer` sends them over UDP: XDR (big-endian
//! 32-bit integers, strings as a length and bytes padded to 4), one metric per packet.
//!
//! - Ganglia 3.1 and later (Flume's default, `isGanglia3 = false`): a metadata packet
//!   (`gmetadata_full`, id 128: host, name, spoof = false, type, name, units, slope, tmax,
//!   dmax, one extra element `GROUP = flume`) and then a value packet (`gmetric_string`, id
//!   133: host, name, spoof = false, format `%s`, the value as text).
//! - Ganglia 3.0 (`isGanglia3 = true`): one packet (id 0: type, `HOST.NAME`, value, units,
//!   slope, tmax, dmax).
//!
//! Every value is sent as text; its type is `float` when it reads as a number, else `string`,
//! as Flume decides with `Float.parseFloat`. A packet is at most [`PACKET_BYTES_MAX`] (gmond's
//! buffer, as Flume's): a metric that would not fit is an error, never a truncated packet.

use thiserror::Error;

/// Largest packet gmond reads (`libgmond.c`'s buffer; Flume's `BUFFER_SIZE`).
pub const PACKET_BYTES_MAX: usize = 1500;
/// `gmetadata_full`: the metric's description.
pub const ID_METADATA: u32 = 128;
/// `gmetric_string`: a value as text.
pub const ID_VALUE_STRING: u32 = 133;
/// Ganglia 3.0's user-defined metric.
pub const ID_GANGLIA30: u32 = 0;
/// Flume's slope (`both`), `tmax` (s) and `dmax` (0: kept forever).
pub const SLOPE: u32 = 3;
/// See [`SLOPE`].
pub const TMAX: u32 = 60;
/// See [`SLOPE`].
pub const DMAX: u32 = 0;

/// A metric that does not fit in one packet.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the ganglia packet for {name:?} would be {bytes} bytes (at most {PACKET_BYTES_MAX})")]
pub struct TooLarge {
    /// The metric's name.
    pub name: String,
    /// The packet's size.
    pub bytes: usize,
}

/// Ganglia's type for a value: `float` when it reads as a number, else `string`.
pub fn value_type(value: &str) -> &'static str {
    if value.trim().parse::<f32>().is_ok() {
        "float"
    } else {
        "string"
    }
}

/// The packets that carry metric `name` = `value` from `host`: two for Ganglia 3.1, one for 3.0.
pub fn metric_packets(
    host: &str,
    name: &str,
    value: &str,
    ganglia30: bool,
) -> Result<Vec<Vec<u8>>, TooLarge> {
    let ty = value_type(value);
    let packets = if ganglia30 {
        let mut p = Xdr::default();
        p.int(ID_GANGLIA30);
        p.string(ty);
        p.string(&format!("{host}.{name}"));
        p.string(value);
        p.string("");
        p.int(SLOPE);
        p.int(TMAX);
        p.int(DMAX);
        vec![p.0]
    } else {
        let mut meta = Xdr::default();
        meta.metric_id(ID_METADATA, host, name);
        meta.string(ty);
        meta.string(name);
        meta.string("");
        meta.int(SLOPE);
        meta.int(TMAX);
        meta.int(DMAX);
        meta.int(1);
        meta.string("GROUP");
        meta.string("flume");
        let mut val = Xdr::default();
        val.metric_id(ID_VALUE_STRING, host, name);
        val.string("%s");
        val.string(value);
        vec![meta.0, val.0]
    };
    match packets.iter().map(Vec::len).max() {
        Some(bytes) if bytes > PACKET_BYTES_MAX => Err(TooLarge {
            name: name.to_owned(),
            bytes,
        }),
        _ => Ok(packets),
    }
}

/// An XDR encoder.
#[derive(Default)]
struct Xdr(Vec<u8>);

impl Xdr {
    fn int(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn string(&mut self, s: &str) {
        // A length over u32 cannot fit a packet: it is refused by the size check after.
        self.int(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(s.as_bytes());
        let pad = (4 - s.len() % 4) % 4;
        self.0.extend(std::iter::repeat_n(0u8, pad));
    }

    /// A packet's id and `Ganglia_metric_id`: host, name, spoof = false.
    fn metric_id(&mut self, id: u32, host: &str, name: &str) {
        self.int(id);
        self.string(host);
        self.string(name);
        self.int(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_floats_and_words_strings() {
        assert_eq!(value_type("42"), "float");
        assert_eq!(value_type("-1.5e3"), "float");
        assert_eq!(value_type("SOURCE"), "string");
        assert_eq!(value_type(""), "string");
    }

    #[test]
    fn an_oversized_metric_is_refused_whole() {
        let long = "x".repeat(1600);
        let e = metric_packets("h", "flume.SINK.k1.Type", &long, false).unwrap_err();
        assert!(e.bytes > PACKET_BYTES_MAX);
    }
}
