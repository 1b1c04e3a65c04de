//! Rows (staged, or events) into one Parquet file through the `parquet` crate's column
//! writers (no Arrow): the schema of [`super`] (`timestamp`, `headers`, `body`, then the
//! lifted columns). Rows are buffered column by column (strings packed in one buffer per
//! column, bodies shared with the buffer they came in: no allocation per row) and encoded
//! into the open row group ([`super::chunk`]) every [`ENCODE_BATCH_BYTES`]; the row group is
//! appended to the file once it holds `serializer.rowGroupBytes` of rows (so a row group,
//! held encoded and compressed, not the file, bounds the memory), the footer at
//! [`ParquetWriter::finish`].

use std::io::{self, Write};
use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{
    Compression as Codec, GzipLevel, LogicalType, Repetition, TimeUnit, Type as Physical, ZstdLevel,
};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type, TypePtr};

use super::chunk::OpenGroup;
use super::stage::Row;
use super::{Compression, ParquetSpec, TIMESTAMP_HEADER};
use sluice_core::Event;

/// A `parquet` error as an I/O error of the file being written.
fn pq(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("writing Parquet: {e}"))
}

/// Bytes of rows buffered raw before they are encoded into the open row group (or
/// `rowGroupBytes`, when smaller).
pub const ENCODE_BATCH_BYTES: usize = 1024 * 1024;

/// Bytes a row costs beyond its headers and body (its timestamp and levels), for the row
/// group's estimate.
const ROW_OVERHEAD_BYTES: usize = 16;

/// The schema of a spec's files.
pub fn schema(spec: &ParquetSpec) -> io::Result<TypePtr> {
    let string = |name: &str, rep: Repetition| {
        Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
            .with_repetition(rep)
            .with_logical_type(Some(LogicalType::String))
            .build()
            .map(Arc::new)
    };
    let timestamp = Type::primitive_type_builder("timestamp", Physical::INT64)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(Some(LogicalType::timestamp(true, TimeUnit::MILLIS)))
        .build()
        .map_err(pq)?;
    let pair = Type::group_type_builder("key_value")
        .with_repetition(Repetition::REPEATED)
        .with_fields(vec![
            string("key", Repetition::REQUIRED).map_err(pq)?,
            string("value", Repetition::REQUIRED).map_err(pq)?,
        ])
        .build()
        .map_err(pq)?;
    let headers = Type::group_type_builder("headers")
        .with_repetition(Repetition::REQUIRED)
        .with_logical_type(Some(LogicalType::Map))
        .with_fields(vec![Arc::new(pair)])
        .build()
        .map_err(pq)?;
    let body = Type::primitive_type_builder("body", Physical::BYTE_ARRAY)
        .with_repetition(Repetition::REQUIRED)
        .with_logical_type(spec.body_as_string.then_some(LogicalType::String))
        .build()
        .map_err(pq)?;
    let mut fields = vec![Arc::new(timestamp), Arc::new(headers), Arc::new(body)];
    for c in &spec.columns {
        fields.push(string(c, Repetition::OPTIONAL).map_err(pq)?);
    }
    Type::group_type_builder("event")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(pq)
}

/// A data page's bytes before compression: 128 KiB, not the `parquet` crate's 1 MiB. Each page
/// is built in buffers grown from nothing, compressed into a fresh one and shrunk; at 1 MiB
/// those are fresh pages for the allocator to fault in every time, and the sink spent 9.1-11.5
/// µs of CPU per 1 KiB event, at 128 KiB 6.9-7.6, for 0.171 of text's bytes instead of 0.162
/// (docs/performance.md, "Parquet output").
const DATA_PAGE_BYTES: usize = 128 * 1024;

fn properties(spec: &ParquetSpec) -> WriterProperties {
    let codec = match spec.compression {
        Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
        Compression::Snappy => Codec::SNAPPY,
        Compression::Gzip => Codec::GZIP(GzipLevel::default()),
        Compression::None => Codec::UNCOMPRESSED,
    };
    WriterProperties::builder()
        .set_created_by(format!("sluice {}", env!("CARGO_PKG_VERSION")))
        .set_compression(codec)
        // Bodies rarely repeat: a dictionary of them is memory for nothing, and their
        // minimum and maximum prune no query (a comparison per row for nothing).
        .set_column_dictionary_enabled(ColumnPath::from("body"), false)
        .set_column_statistics_enabled(ColumnPath::from("body"), EnabledStatistics::None)
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .build()
}

/// Strings of one column packed in one buffer (no allocation per value), handed to the
/// column writer as slices of it.
#[derive(Default)]
struct Packed {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Packed {
    fn push(&mut self, s: &[u8]) {
        self.text.extend_from_slice(s);
        self.ends.push(self.text.len());
    }

    /// The values as the column writer takes them: slices of one shared buffer.
    fn arrays(&mut self) -> Vec<ByteArray> {
        let text = Bytes::from(std::mem::take(&mut self.text));
        let mut start = 0;
        std::mem::take(&mut self.ends)
            .into_iter()
            .map(|end| {
                let a = ByteArray::from(text.slice(start..end));
                start = end;
                a
            })
            .collect()
    }
}

/// The rows of one row group, column by column.
#[derive(Default)]
struct Columns {
    ts: Vec<i64>,
    ts_def: Vec<i16>,
    keys: Packed,
    values: Packed,
    pair_def: Vec<i16>,
    pair_rep: Vec<i16>,
    /// The bodies: each shares the buffer it came in (an event's, a staged file's read).
    body: Vec<ByteArray>,
    lifted: Vec<(Packed, Vec<i16>)>,
    bytes: usize,
}

/// What a file's rows held that its columns could not say as given (counted, named in a
/// log line by the caller; no row is left out for them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Oddities {
    /// Rows whose `timestamp` header is not a whole number: `timestamp` is null (the
    /// header keeps its text in `headers`).
    pub bad_timestamps: u64,
    /// Bodies that are not UTF-8 written to a `STRING` body (`bodyAsString`): their bad
    /// sequences became U+FFFD.
    pub lossy_bodies: u64,
}

/// One Parquet file being written.
pub struct ParquetWriter<W: Write + Send> {
    spec: ParquetSpec,
    out: SerializedFileWriter<W>,
    /// Rows not yet encoded.
    cols: Columns,
    /// The row group being encoded, and the bytes of the rows in it.
    group: Option<(OpenGroup, usize)>,
    /// Rows added.
    pub rows: u64,
    /// What the rows held that the columns could not say as given.
    pub odd: Oddities,
}

impl<W: Write + Send> std::fmt::Debug for ParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("spec", &self.spec)
            .field("rows", &self.rows)
            .field("odd", &self.odd)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A file for `spec`'s rows written to `out`.
    pub fn new(spec: &ParquetSpec, out: W) -> io::Result<ParquetWriter<W>> {
        let writer = SerializedFileWriter::new(out, schema(spec)?, Arc::new(properties(spec)))
            .map_err(pq)?;
        let cols = Columns {
            lifted: spec.columns.iter().map(|_| Default::default()).collect(),
            ..Default::default()
        };
        Ok(ParquetWriter {
            spec: spec.clone(),
            out: writer,
            cols,
            group: None,
            rows: 0,
            odd: Oddities::default(),
        })
    }

    /// Adds a staged row; a row group is written once the rows buffered hold
    /// `rowGroupBytes`.
    pub fn add(&mut self, row: Row) -> io::Result<()> {
        let headers = row.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        self.add_parts(headers, Bytes::from(row.body))
    }

    /// Adds an event as its staged row would say it (the same headers, in insertion order,
    /// the event id only with `keepEventId`): the same row as [`ParquetWriter::add`] of its
    /// record, without staging it.
    pub fn add_event(&mut self, event: &Event) -> io::Result<()> {
        let keep_id = self.spec.keep_id;
        let headers = event
            .headers
            .iter_inserted()
            .filter(|(k, _)| keep_id || *k != sluice_core::dedup::EVENT_ID_HEADER);
        self.add_parts(headers, event.body.clone())
    }

    /// Adds a row of `headers` (in order) and `body`.
    pub fn add_parts<'a>(
        &mut self,
        headers: impl Iterator<Item = (&'a str, &'a str)>,
        body: Bytes,
    ) -> io::Result<()> {
        let c = &mut self.cols;
        // Rows of this row group before this one: each lifted column has one level per row.
        let before = c.body.len();
        let mut bytes = ROW_OVERHEAD_BYTES + body.len();
        let (mut pairs, mut ts) = (0, None);
        for (k, v) in headers {
            bytes += k.len() + v.len();
            if ts.is_none() && k == TIMESTAMP_HEADER {
                ts = Some(v.trim().parse::<i64>());
            }
            if let Some(i) = self.spec.columns.iter().position(|c| c == k) {
                // The first of a key only (an event's keys are unique).
                if c.lifted[i].1.len() == before {
                    c.lifted[i].0.push(v.as_bytes());
                    c.lifted[i].1.push(1);
                }
                continue;
            }
            c.keys.push(k.as_bytes());
            c.values.push(v.as_bytes());
            c.pair_def.push(1);
            c.pair_rep.push(i16::from(pairs > 0));
            pairs += 1;
        }
        match ts {
            Some(Ok(t)) => {
                c.ts.push(t);
                c.ts_def.push(1);
            }
            Some(Err(_)) => {
                c.ts_def.push(0);
                self.odd.bad_timestamps += 1;
            }
            None => c.ts_def.push(0),
        }
        if pairs == 0 {
            c.pair_def.push(0);
            c.pair_rep.push(0);
        }
        for (_, def) in &mut c.lifted {
            if def.len() == before {
                def.push(0);
            }
        }
        let body = if self.spec.body_as_string && std::str::from_utf8(&body).is_err() {
            self.odd.lossy_bodies += 1;
            Bytes::from(String::from_utf8_lossy(&body).into_owned())
        } else {
            body
        };
        c.body.push(ByteArray::from(body));
        c.bytes += bytes;
        self.rows += 1;
        if c.bytes >= ENCODE_BATCH_BYTES.min(self.spec.row_group_bytes) {
            self.encode()?;
        }
        Ok(())
    }

    /// Encodes the rows buffered into the open row group (opened if none is), and appends
    /// it to the file once it holds `rowGroupBytes` of rows.
    fn encode(&mut self) -> io::Result<()> {
        let lifted = self
            .spec
            .columns
            .iter()
            .map(|_| Default::default())
            .collect();
        let mut c = std::mem::replace(
            &mut self.cols,
            Columns {
                lifted,
                ..Default::default()
            },
        );
        if c.body.is_empty() {
            return Ok(());
        }
        let (group, bytes) = self.group.get_or_insert_with(|| {
            (
                OpenGroup::new(self.out.schema_descr(), self.out.properties()),
                0,
            )
        });
        let (keys, values) = (c.keys.arrays(), c.values.arrays());
        let (pairs, reps) = (Some(c.pair_def.as_slice()), Some(c.pair_rep.as_slice()));
        for leaf in 0..4 + c.lifted.len() {
            let col = group.column(leaf);
            let written = match (leaf, col) {
                (0, Some(ColumnWriter::Int64ColumnWriter(w))) => {
                    w.write_batch(&c.ts, Some(c.ts_def.as_slice()), None)
                }
                (1, Some(ColumnWriter::ByteArrayColumnWriter(w))) => {
                    w.write_batch(&keys, pairs, reps)
                }
                (2, Some(ColumnWriter::ByteArrayColumnWriter(w))) => {
                    w.write_batch(&values, pairs, reps)
                }
                (3, Some(ColumnWriter::ByteArrayColumnWriter(w))) => {
                    w.write_batch(&c.body, None, None)
                }
                (n, Some(ColumnWriter::ByteArrayColumnWriter(w))) => {
                    match n.checked_sub(4).and_then(|i| c.lifted.get_mut(i)) {
                        Some((values, def)) => {
                            w.write_batch(&values.arrays(), Some(def.as_slice()), None)
                        }
                        None => Err(ParquetError::General("a lifted column without rows".into())),
                    }
                }
                _ => Err(ParquetError::General(format!(
                    "column {leaf} is not the schema's"
                ))),
            };
            written.map_err(pq)?;
        }
        *bytes += c.bytes;
        if *bytes >= self.spec.row_group_bytes {
            self.close_group()?;
        }
        Ok(())
    }

    /// Appends the open row group, if any, to the file.
    fn close_group(&mut self) -> io::Result<()> {
        match self.group.take() {
            Some((group, _)) => group.append_to(&mut self.out).map_err(pq),
            None => Ok(()),
        }
    }

    /// Writes the last row group and the footer; the file is then whole. The output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.encode()?;
        self.close_group()?;
        self.out.into_inner().map_err(pq)
    }
}
