//! A row group encoded as its rows arrive: each leaf column has its own column writer, whose
//! compressed pages go to a buffer of that column's, and when the row group is full the
//! buffers are appended to the file in column order ([`OpenGroup::append_to`], the
//! `parquet` crate's `append_column`). So a row group is held encoded and compressed, not
//! as raw rows, and its encoding is spread over its batches rather than done at once when
//! it fills.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use parquet::column::page::{CompressedPage, PageWriteSpec, PageWriter};
use parquet::column::writer::{get_column_writer, ColumnWriter};
use parquet::errors::Result as PqResult;
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::SchemaDescriptor;

/// A column chunk's bytes, shared by its page writer (which the column writer owns and drops
/// at close) and the row group that appends them.
#[derive(Clone, Debug, Default)]
struct ChunkBuf(Arc<Mutex<Vec<u8>>>);

impl ChunkBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for ChunkBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut chunk = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        chunk.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The page writer of one column chunk: each page serialized (header and data) into its
/// buffer, at offsets from the buffer's start, as `append_column` expects.
struct ChunkPages {
    out: TrackedWrite<ChunkBuf>,
}

impl PageWriter for ChunkPages {
    fn write_page(&mut self, page: CompressedPage) -> PqResult<PageWriteSpec> {
        SerializedPageWriter::new(&mut self.out).write_page(page)
    }

    fn close(&mut self) -> PqResult<()> {
        SerializedPageWriter::new(&mut self.out).close()
    }
}

/// The row group being written: one column writer per leaf, in schema order.
pub struct OpenGroup {
    columns: Vec<(ColumnWriter<'static>, ChunkBuf)>,
}

impl std::fmt::Debug for OpenGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenGroup")
            .field("columns", &self.columns.len())
            .finish_non_exhaustive()
    }
}

impl OpenGroup {
    /// A row group of `schema`'s leaves, written with `props`.
    pub fn new(schema: &SchemaDescriptor, props: &WriterPropertiesPtr) -> OpenGroup {
        let columns = schema
            .columns()
            .iter()
            .map(|descr| {
                let buf = ChunkBuf::default();
                let pages = ChunkPages {
                    out: TrackedWrite::new(buf.clone()),
                };
                let writer = get_column_writer(descr.clone(), props.clone(), Box::new(pages));
                (writer, buf)
            })
            .collect();
        OpenGroup { columns }
    }

    /// The writer of leaf `i`.
    pub fn column(&mut self, i: usize) -> Option<&mut ColumnWriter<'static>> {
        self.columns.get_mut(i).map(|(w, _)| w)
    }

    /// Closes each column and appends its chunk to `file` as one row group.
    pub fn append_to<W: Write + Send>(self, file: &mut SerializedFileWriter<W>) -> PqResult<()> {
        let mut group = file.next_row_group()?;
        for (writer, buf) in self.columns {
            let closed = writer.close()?;
            group.append_column(&Bytes::from(buf.take()), closed)?;
        }
        group.close()?;
        Ok(())
    }
}
