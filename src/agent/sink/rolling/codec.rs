//! `hdfs.codeC` for `CompressedStream`: each batch becomes one self-contained compressed unit
//! (a gzip member, a zlib stream, a bzip2 stream, a zstd frame, or Hadoop block-framed snappy
//! / lz4 blocks), appended to the file. Concatenated units are what the standard tools and
//! Hadoop's codecs read (`gzip -t`, `bzip2 -t`, `zstd -t`), and a crash can only tear the last
//! unit: [`Codec::valid_prefix`] finds the end of the last unit that decodes.

use std::io::{self, Read, Write};

/// Hadoop's block size for the snappy and lz4 block streams (uncompressed bytes per block).
pub const BLOCK_BYTES_MAX: usize = 256 * 1024;
/// Largest uncompressed block accepted when reading a block stream back.
const READ_BLOCK_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A compression codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// `gzip` (GzipCodec): gzip members, `.gz`.
    Gzip,
    /// `deflate` / `DefaultCodec`: zlib streams, `.deflate`.
    Deflate,
    /// `bzip2` (BZip2Codec): bzip2 streams, `.bz2`.
    Bzip2,
    /// `zstd` (ZStandardCodec): zstd frames, `.zst`.
    Zstd,
    /// `snappy` (SnappyCodec): Hadoop's block stream of raw snappy blocks, `.snappy`.
    Snappy,
    /// `lz4` (Lz4Codec): Hadoop's block stream of raw lz4 blocks, `.lz4`.
    Lz4,
}

impl Codec {
    /// For messages.
    pub const SUPPORTED: &'static str = "gzip, bzip2, deflate (DefaultCodec), snappy, lz4, zstd";

    /// Parses a Flume/Hadoop codec name (short name or class name, any case).
    pub fn parse(s: &str) -> Option<Codec> {
        let short = s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
        let short = short.strip_suffix("codec").unwrap_or(&short);
        Some(match short {
            "gzip" | "gz" => Codec::Gzip,
            "deflate" | "default" => Codec::Deflate,
            "bzip2" | "bz2" => Codec::Bzip2,
            "zstd" | "zstandard" => Codec::Zstd,
            "snappy" => Codec::Snappy,
            "lz4" => Codec::Lz4,
            _ => return None,
        })
    }

    /// Hadoop's default file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Gzip => ".gz",
            Codec::Deflate => ".deflate",
            Codec::Bzip2 => ".bz2",
            Codec::Zstd => ".zst",
            Codec::Snappy => ".snappy",
            Codec::Lz4 => ".lz4",
        }
    }

    /// Compresses `data` into one self-contained unit.
    pub fn compress(self, data: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                e.write_all(data)?;
                e.finish()
            }
            Codec::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
                e.write_all(data)?;
                e.finish()
            }
            Codec::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
                e.write_all(data)?;
                e.finish()
            }
            Codec::Zstd => zstd::bulk::compress(data, 3),
            Codec::Snappy | Codec::Lz4 => Ok(self.blocks(data)),
        }
    }

    fn blocks(self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 16);
        for chunk in data.chunks(BLOCK_BYTES_MAX) {
            let c = match self {
                Codec::Snappy => snap::raw::Encoder::new()
                    .compress_vec(chunk)
                    .unwrap_or_default(),
                _ => lz4_flex::block::compress(chunk),
            };
            out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            out.extend_from_slice(&(c.len() as u32).to_be_bytes());
            out.extend_from_slice(&c);
        }
        out
    }

    /// Decodes the unit at the start of `data`: its uncompressed bytes and its length, or
    /// `None` when it is incomplete or does not decode.
    pub fn decode_unit(self, data: &[u8]) -> Option<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        let rest: &[u8] = match self {
            Codec::Gzip => {
                let mut d = flate2::bufread::GzDecoder::new(data);
                d.read_to_end(&mut out).ok()?;
                d.into_inner()
            }
            Codec::Deflate => {
                let mut d = flate2::bufread::ZlibDecoder::new(data);
                d.read_to_end(&mut out).ok()?;
                d.into_inner()
            }
            Codec::Bzip2 => {
                let mut d = bzip2::bufread::BzDecoder::new(data);
                d.read_to_end(&mut out).ok()?;
                d.into_inner()
            }
            Codec::Zstd => {
                let n = zstd::zstd_safe::find_frame_compressed_size(data).ok()?;
                let frame = data.get(..n)?;
                out = zstd::stream::decode_all(frame).ok()?;
                &data[n..]
            }
            Codec::Snappy | Codec::Lz4 => return self.decode_block(data),
        };
        Some((out, data.len() - rest.len()))
    }

    fn decode_block(self, data: &[u8]) -> Option<(Vec<u8>, usize)> {
        let be = |at: usize| -> Option<usize> {
            let b = data.get(at..at + 4)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let (ulen, clen) = (be(0)?, be(4)?);
        if ulen > READ_BLOCK_BYTES_MAX {
            return None;
        }
        let c = data.get(8..8 + clen)?;
        let out = match self {
            Codec::Snappy => snap::raw::Decoder::new().decompress_vec(c).ok()?,
            _ => lz4_flex::block::decompress(c, ulen).ok()?,
        };
        (out.len() == ulen).then_some((out, 8 + clen))
    }

    /// The length of the longest prefix of `data` made of whole units that decode.
    pub fn valid_prefix(self, data: &[u8]) -> usize {
        let mut at = 0;
        while at < data.len() {
            match self.decode_unit(&data[at..]) {
                Some((_, n)) if n > 0 => at += n,
                _ => break,
            }
        }
        at
    }

    /// Decodes every whole unit of `data` (for tests and tools).
    pub fn decode_all(self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            match self.decode_unit(&data[at..]) {
                Some((bytes, n)) if n > 0 => {
                    out.extend_from_slice(&bytes);
                    at += n;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Codec; 6] = [
        Codec::Gzip,
        Codec::Deflate,
        Codec::Bzip2,
        Codec::Zstd,
        Codec::Snappy,
        Codec::Lz4,
    ];

    #[test]
    fn concatenated_units_decode_to_the_concatenated_input() {
        for c in ALL {
            let mut file = c.compress(b"one\ntwo\n").unwrap();
            file.extend(c.compress(&vec![b'x'; 300_000]).unwrap());
            let mut want = b"one\ntwo\n".to_vec();
            want.extend(vec![b'x'; 300_000]);
            assert_eq!(c.decode_all(&file), want, "{c:?}");
            assert_eq!(c.valid_prefix(&file), file.len(), "{c:?}");
        }
    }

    #[test]
    fn a_torn_last_unit_is_excluded_from_the_valid_prefix() {
        for c in ALL {
            let first = c.compress(b"kept line\n").unwrap();
            let second = c.compress(b"torn line that was never synced\n").unwrap();
            let mut file = first.clone();
            file.extend_from_slice(&second[..second.len() - 3]);
            assert_eq!(c.valid_prefix(&file), first.len(), "{c:?}");
            assert_eq!(c.decode_all(&file), b"kept line\n", "{c:?}");
        }
    }

    #[test]
    fn codec_names_parse_as_flume_and_hadoop_spell_them() {
        assert_eq!(Codec::parse("gzip"), Some(Codec::Gzip));
        assert_eq!(
            Codec::parse("org.apache.hadoop.io.compress.GzipCodec"),
            Some(Codec::Gzip)
        );
        assert_eq!(Codec::parse("BZip2Codec"), Some(Codec::Bzip2));
        assert_eq!(Codec::parse("DefaultCodec"), Some(Codec::Deflate));
        assert_eq!(Codec::parse("lzo"), None);
    }
}
