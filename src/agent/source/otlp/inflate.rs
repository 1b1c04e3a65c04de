//! Gunzipping request bodies (HTTP `Content-Encoding: gzip`, a gRPC message with
//! `grpc-encoding: gzip`) off the async workers: each inflation runs on tokio's blocking pool,
//! at most [`inflaters_max`] at once per source (half the machine's CPUs), and stops at
//! `maxRequestBytes` of output. A gzip bomb then costs at most that much work and memory per
//! inflation and half the CPUs while it lasts: the async workers, the other sources and the
//! other half of the CPUs keep running.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::agent::stop::Stop;

/// Most inflations one source runs at once: half the machine's CPUs, at least one.
pub fn inflaters_max() -> usize {
    (std::thread::available_parallelism().map_or(2, usize::from) / 2).max(1)
}

/// Why a body was not inflated.
#[derive(Debug, thiserror::Error)]
pub(super) enum InflateError {
    /// Not a gzip stream.
    #[error("the body is not valid gzip: {0}")]
    NotGzip(std::io::Error),
    /// It inflates past the maximum.
    #[error("the body decompresses to more than maxRequestBytes ({0} bytes)")]
    TooLarge(usize),
    /// The source stopped first (or the inflation panicked).
    #[error("the source is stopping")]
    Stopped,
}

/// The inflaters of one source.
#[derive(Debug)]
pub(super) struct Inflaters {
    sem: Arc<Semaphore>,
}

impl Default for Inflaters {
    fn default() -> Self {
        Inflaters {
            sem: Arc::new(Semaphore::new(inflaters_max())),
        }
    }
}

impl Inflaters {
    /// `body` gunzipped, at most `max` bytes, on the blocking pool.
    pub(super) async fn gunzip(
        &self,
        body: Bytes,
        max: usize,
        stop: &mut Stop,
    ) -> Result<Bytes, InflateError> {
        let permit = tokio::select! {
            _ = stop.wait() => return Err(InflateError::Stopped),
            p = self.sem.clone().acquire_owned() => p.map_err(|_| InflateError::Stopped)?,
        };
        let work = move || {
            let out = gunzip(&body, max);
            drop(permit);
            out
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| InflateError::Stopped)?
    }
}

/// `body` gunzipped, refused past `max` bytes (at most `max + 1` are inflated).
pub(super) fn gunzip(body: &[u8], max: usize) -> Result<Bytes, InflateError> {
    let mut out = Vec::new();
    let mut d = flate2::read::GzDecoder::new(body).take(max as u64 + 1);
    d.read_to_end(&mut out).map_err(InflateError::NotGzip)?;
    if out.len() > max {
        return Err(InflateError::TooLarge(max));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[tokio::test]
    async fn a_bomb_is_cut_at_the_maximum_and_a_body_within_it_inflates() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = Bytes::from(gz.finish().unwrap());
        let (_handle, mut stop) = crate::agent::stop::channel();
        let inflaters = Inflaters::default();
        let cut = inflaters.gunzip(bomb.clone(), 1000, &mut stop).await;
        assert!(matches!(cut, Err(InflateError::TooLarge(1000))), "{cut:?}");
        let whole = inflaters.gunzip(bomb, 1 << 20, &mut stop).await.unwrap();
        assert_eq!(whole.len(), 1 << 20);
        let junk = inflaters
            .gunzip(Bytes::from_static(b"xx"), 10, &mut stop)
            .await;
        assert!(matches!(junk, Err(InflateError::NotGzip(_))));
    }
}
