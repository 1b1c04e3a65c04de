//! Staged rows into one Parquet file through the `parquet` crate's column writers (no Arrow):
//! the schema of [`super`] (`timestamp`, `headers`, `body`, then the lifted columns), rows
//! buffered column by column and written as a row group once they hold
//! `serializer.rowGroupBytes` (so a row group, not the file, bounds the memory), the footer at
//! [`ParquetWriter::finish`].

use std::io::{self, Write};
use std::sync::Arc;

use parquet::basic::{
    Compression as Codec, GzipLevel, LogicalType, Repetition, TimeUnit, Type as Physical, ZstdLevel,
};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type, TypePtr};

use super::stage::Row;
use super::{Compression, ParquetSpec, TIMESTAMP_HEADER};

/// A `parquet` error as an I/O error of the file being written.
fn pq(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("writing Parquet: {e}"))
}

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
        // Bodies rarely repeat: a dictionary of them is memory for nothing.
        .set_column_dictionary_enabled(ColumnPath::from("body"), false)
        .build()
}

/// The rows of one row group, column by column.
#[derive(Default)]
struct Columns {
    ts: Vec<i64>,
    ts_def: Vec<i16>,
    keys: Vec<ByteArray>,
    values: Vec<ByteArray>,
    pair_def: Vec<i16>,
    pair_rep: Vec<i16>,
    body: Vec<ByteArray>,
    lifted: Vec<(Vec<ByteArray>, Vec<i16>)>,
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
    cols: Columns,
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
            rows: 0,
            odd: Oddities::default(),
        })
    }

    /// Adds a row; a row group is written once the rows buffered hold `rowGroupBytes`.
    pub fn add(&mut self, row: Row) -> io::Result<()> {
        let c = &mut self.cols;
        // Rows of this row group before this one: each lifted column has one level per row.
        let before = c.body.len();
        let ts = row.headers.iter().find(|(k, _)| k == TIMESTAMP_HEADER);
        match ts.map(|(_, v)| v.trim().parse::<i64>()) {
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
        let mut bytes = ROW_OVERHEAD_BYTES + row.body.len();
        let mut pairs = 0;
        for (k, v) in row.headers {
            bytes += k.len() + v.len();
            if let Some(i) = self.spec.columns.iter().position(|c| *c == k) {
                // The first of a key only (an event's keys are unique).
                if c.lifted[i].1.len() == before {
                    c.lifted[i].0.push(ByteArray::from(v.into_bytes()));
                    c.lifted[i].1.push(1);
                }
                continue;
            }
            c.keys.push(ByteArray::from(k.into_bytes()));
            c.values.push(ByteArray::from(v.into_bytes()));
            c.pair_def.push(1);
            c.pair_rep.push(i16::from(pairs > 0));
            pairs += 1;
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
        let body = if self.spec.body_as_string {
            match String::from_utf8(row.body) {
                Ok(s) => s.into_bytes(),
                Err(e) => {
                    self.odd.lossy_bodies += 1;
                    String::from_utf8_lossy(e.as_bytes())
                        .into_owned()
                        .into_bytes()
                }
            }
        } else {
            row.body
        };
        c.body.push(ByteArray::from(body));
        c.bytes += bytes;
        self.rows += 1;
        if c.bytes >= self.spec.row_group_bytes {
            self.write_group()?;
        }
        Ok(())
    }

    /// Writes the rows buffered as one row group.
    fn write_group(&mut self) -> io::Result<()> {
        let c = std::mem::take(&mut self.cols);
        if c.body.is_empty() {
            self.cols = c;
            return Ok(());
        }
        let mut group = self.out.next_row_group().map_err(pq)?;
        let mut leaf = 0;
        while let Some(mut col) = group.next_column().map_err(pq)? {
            let (pairs, reps) = (Some(c.pair_def.as_slice()), Some(c.pair_rep.as_slice()));
            let written = match leaf {
                0 => col
                    .typed::<Int64Type>()
                    .write_batch(&c.ts, Some(c.ts_def.as_slice()), None),
                1 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&c.keys, pairs, reps),
                2 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&c.values, pairs, reps),
                3 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&c.body, None, None),
                n => {
                    let (values, def) = c.lifted.get(n - 4).ok_or_else(|| {
                        io::Error::other("writing Parquet: a column the schema does not have")
                    })?;
                    col.typed::<ByteArrayType>()
                        .write_batch(values, Some(def.as_slice()), None)
                }
            };
            written.map_err(pq)?;
            col.close().map_err(pq)?;
            leaf += 1;
        }
        group.close().map_err(pq)?;
        self.cols.lifted = self
            .spec
            .columns
            .iter()
            .map(|_| Default::default())
            .collect();
        Ok(())
    }

    /// Writes the last row group and the footer; the file is then whole. The output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_group()?;
        self.out.into_inner().map_err(pq)
    }
}
