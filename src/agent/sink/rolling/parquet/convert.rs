//! A staged file into its Parquet file, through the `io::Fs` seam: the whole records of the
//! staged file (its first `limit` bytes: the length the last committed take covered, at
//! start) are written as `<name>.tmp`, which is fsynced, renamed to `<name>` and its
//! directory fsynced, so the final name only ever holds a whole file. The staged file is
//! left for the caller to remove once the rows it holds are committed.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_core::io::{Fs, FsFile, OpenMode};

use super::stage::{self, Next, Row};
use super::{Oddities, ParquetSpec, ParquetWriter, TMP_SUFFIX};

/// Bytes read from a staged file at a time (a record longer than this is read whole).
const READ_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Bytes the Parquet writer hands the file at a time.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// A file of the `io::Fs` seam written from its start, as `std::io::Write`.
#[derive(Debug)]
pub struct FsWrite {
    file: Arc<dyn FsFile>,
    at: u64,
}

impl Write for FsWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all_at(buf, self.at)?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Calls `each` with the rows of the whole records among the first `limit` bytes of the
/// staged file `path`; the bytes they take (where a torn tail starts).
pub fn read_rows(
    fs: &dyn Fs,
    path: &Path,
    limit: Option<u64>,
    mut each: impl FnMut(Row) -> io::Result<()>,
) -> io::Result<u64> {
    let file = fs.open(path, OpenMode::Read)?;
    let end = file.len()?.min(limit.unwrap_or(u64::MAX));
    let (mut buf, mut start, mut read, mut whole) = (Vec::new(), 0usize, 0u64, 0u64);
    loop {
        match stage::next(&buf[start..]) {
            Next::Whole(row, n) => {
                each(row)?;
                start += n;
                whole += n as u64;
            }
            Next::Bad => return Ok(whole),
            Next::Short if read >= end => return Ok(whole),
            Next::Short => {
                buf.drain(..start);
                start = 0;
                let want = usize::try_from(end - read).unwrap_or(usize::MAX);
                let at = buf.len();
                buf.resize(at + want.min(READ_CHUNK_BYTES), 0);
                let got = file.read_at(&mut buf[at..], read)?;
                buf.truncate(at + got);
                read += got as u64;
                if got == 0 {
                    return Ok(whole);
                }
            }
        }
    }
}

/// What [`publish`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// Rows in the Parquet file (0: no file was published).
    pub rows: u64,
    /// Bytes of the staged file's whole records.
    pub staged_bytes: u64,
    /// What the rows held that the columns could not say as given.
    pub odd: Oddities,
}

/// The path of the Parquet file `target` while it is written.
pub fn tmp_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    name.into()
}

/// A Parquet file being written as `<target>.tmp`, published under `target` by
/// [`Output::publish`] once whole.
pub struct Output {
    file: Arc<dyn FsFile>,
    tmp: PathBuf,
    target: PathBuf,
    /// The file's rows so far.
    pub writer: ParquetWriter<BufWriter<FsWrite>>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("tmp", &self.tmp)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl Output {
    /// Starts `<target>.tmp` (truncating one a failed attempt left).
    pub fn create(fs: &dyn Fs, spec: &ParquetSpec, target: &Path) -> io::Result<Output> {
        let tmp = tmp_path(target);
        let file = fs.open(&tmp, OpenMode::CreateTruncate)?;
        let out = BufWriter::with_capacity(
            WRITE_BUFFER_BYTES,
            FsWrite {
                file: file.clone(),
                at: 0,
            },
        );
        Ok(Output {
            writer: ParquetWriter::new(spec, out)?,
            file,
            tmp,
            target: target.to_owned(),
        })
    }

    /// Writes the last row group and the footer, fsyncs the file, renames it to its final
    /// name and fsyncs the directory; with no row, removes it instead. `staged_bytes`: the
    /// staged bytes its rows came from, for [`Published`].
    pub fn publish(self, fs: &dyn Fs, staged_bytes: u64) -> io::Result<Published> {
        let Output {
            file,
            tmp,
            target,
            writer,
        } = self;
        let (rows, odd) = (writer.rows, writer.odd);
        let mut out = writer.finish()?;
        out.flush()?;
        drop(out);
        let dir = target.parent().unwrap_or(Path::new("."));
        if rows == 0 {
            drop(file);
            fs.remove_file(&tmp)?;
            fs.sync_dir(dir)?;
            return Ok(Published::default());
        }
        file.sync_data()?;
        drop(file);
        fs.rename(&tmp, &target)?;
        fs.sync_dir(dir)?;
        Ok(Published {
            rows,
            staged_bytes,
            odd,
        })
    }

    /// Gives the file up: `<target>.tmp` is removed (a start removes it too).
    pub fn discard(self, fs: &dyn Fs) -> io::Result<()> {
        let Output { file, tmp, .. } = self;
        drop(file);
        fs.remove_file(&tmp)
    }
}

/// Writes the Parquet file `target` from the whole records among the first `limit` bytes of
/// the staged file `staged` (see the module docs). A staged file without a whole record
/// publishes nothing.
pub fn publish(
    fs: &dyn Fs,
    spec: &ParquetSpec,
    staged: &Path,
    target: &Path,
    limit: Option<u64>,
) -> io::Result<Published> {
    let mut out = Output::create(fs, spec, target)?;
    let staged_bytes = read_rows(fs, staged, limit, |row| out.writer.add(row))?;
    out.publish(fs, staged_bytes)
}
