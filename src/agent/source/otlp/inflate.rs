//! Gunzipping request bodies (HTTP `Content-Encoding: gzip`, a gRPC message with
//! `grpc-encoding: gzip`) off the async workers: each inflation runs on one of the source's
//! own inflater threads, at most [`inflaters_max`] at once per source (half the machine's
//! CPUs), and stops at `maxRequestBytes` of output. A gzip bomb then costs at most that much
//! work and memory per inflation and half the CPUs while it lasts: the async workers, the
//! other sources and the other half of the CPUs keep running. The inflater threads run at a
//! lower CPU priority ([`INFLATE_NICE`]): on a machine whose CPUs are all busy a stream of
//! bombs yields to the threads carrying the other sources' events (issue 87: gzip bombs at
//! 0.23 MiB/s took a netcat source beside them to 0.36-0.39x), and inflates at full speed
//! whenever a CPU is free.

use std::io::Read;
use std::sync::mpsc;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
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

/// Nice steps the inflater threads take below the agent's other threads: not as far down as
/// a Java plugin's output drain (10), since legitimate exporters gzip too.
pub(crate) const INFLATE_NICE: libc::c_int = 5;

/// An inflation handed to an inflater thread.
type Job = Box<dyn FnOnce() + Send>;

/// The inflaters of one source: a semaphore of [`inflaters_max`] permits and as many
/// threads, started at the first gzip body and ended when the source drops this.
#[derive(Debug)]
pub(super) struct Inflaters {
    sem: Arc<Semaphore>,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Default for Inflaters {
    fn default() -> Self {
        Inflaters {
            sem: Arc::new(Semaphore::new(inflaters_max())),
            jobs: Mutex::new(None),
        }
    }
}

/// Starts `n` inflater threads taking jobs from one queue; `None` when none could start.
fn start_threads(n: usize) -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let mut started = 0;
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("otlp-inflate-{i}"))
            .spawn(move || {
                crate::agent::nice::lower_this_thread(INFLATE_NICE);
                loop {
                    let job = rx.lock().recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        match spawned {
            Ok(_) => started += 1,
            Err(e) => tracing::warn!(error = %e, "cannot start an otlp inflater thread"),
        }
    }
    (started > 0).then_some(tx)
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = gunzip(&body, max);
            drop(permit);
            let _ = tx.send(out);
        });
        if let Err(mpsc::SendError(job)) = self.submit(job) {
            // No inflater thread: on tokio's blocking pool, as any blocking work.
            tokio::task::spawn_blocking(job)
                .await
                .map_err(|_| InflateError::Stopped)?;
        }
        rx.await.map_err(|_| InflateError::Stopped)?
    }

    /// Hands `job` to an inflater thread, starting them at the first job.
    fn submit(&self, job: Job) -> Result<(), mpsc::SendError<Job>> {
        let mut jobs = self.jobs.lock();
        if jobs.is_none() {
            *jobs = start_threads(inflaters_max());
        }
        match jobs.as_ref() {
            Some(tx) => tx.send(job),
            None => Err(mpsc::SendError(job)),
        }
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

    #[test]
    fn inflations_run_at_a_lower_cpu_priority_than_the_agents_threads() {
        let inflaters = Inflaters::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let job: Job = Box::new(move || {
            // SAFETY: gettid(2) and getpriority(2) read the calling thread's own state.
            let nice =
                unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
            tx.send(nice).unwrap();
        });
        inflaters.submit(job).unwrap();
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        let there = rx.recv().unwrap();
        assert_eq!(
            there,
            (here + INFLATE_NICE).min(19),
            "this thread {here}, the inflater {there}"
        );
    }
}
