//! The worker process of a SIGKILL round: this binary's `crashtest-worker` started with the
//! round's flags, its output lines read on a thread as they come, its stderr kept for the
//! failure message, and the SIGKILL that ends it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context};

use super::CrashtestArgs;

/// A running worker and the threads reading its output.
pub(super) struct WorkerProc {
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
    err_reader: Option<JoinHandle<String>>,
}

fn dirs_arg(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl WorkerProc {
    /// Starts round `r`'s worker with its `seed`.
    pub(super) fn spawn(
        args: &CrashtestArgs,
        r: u64,
        seed: u64,
        ckpt: &Path,
        dirs: &[PathBuf],
    ) -> anyhow::Result<WorkerProc> {
        let exe = std::env::current_exe().context("locating the sluice binary")?;
        let mut child = Command::new(exe)
            .arg("crashtest-worker")
            .arg("--checkpoint-dir")
            .arg(ckpt)
            .arg("--data-dirs")
            .arg(dirs_arg(dirs))
            .args(["--producers", &args.producers.to_string()])
            .args(["--id-base", &(r * args.producers).to_string()])
            .args(["--seed", &seed.to_string()])
            .args(["--direct-io", args.direct_io.as_key()])
            .args(args.set.iter().flat_map(|kv| ["--set", kv.as_str()]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the worker")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let stderr = child.stderr.take().context("worker stderr")?;
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        Ok(WorkerProc {
            child,
            lines: rx,
            reader: Some(reader),
            err_reader: Some(err_reader),
        })
    }

    /// Collects the worker's lines into `lines` up to its `ready` line; fails (after killing
    /// it) when that takes over 120 s or its output ends first.
    pub(super) fn wait_ready(&mut self, r: u64, lines: &mut Vec<String>) -> anyhow::Result<()> {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    let ready = line.starts_with("ready ");
                    lines.push(line);
                    if ready {
                        return Ok(());
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let status = self.child.wait()?;
                    let errors = self.errors();
                    let why = match e {
                        mpsc::RecvTimeoutError::Timeout => "within 120 s",
                        mpsc::RecvTimeoutError::Disconnected => "(its output ended)",
                    };
                    bail!(
                        "round {r}: the worker never became ready {why}, {status}: {}",
                        errors.trim()
                    );
                }
            }
        }
    }

    /// SIGKILLs the worker and adds the lines it printed to `lines`: whether it had exited
    /// by itself before, its exit status and its stderr.
    pub(super) fn kill(
        mut self,
        lines: &mut Vec<String>,
    ) -> anyhow::Result<(bool, ExitStatus, String)> {
        let exited_early = self.child.try_wait()?.is_some();
        let _ = self.child.kill();
        let status = self.child.wait()?;
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
        let errors = self.errors();
        lines.extend(self.lines.try_iter());
        Ok((exited_early, status, errors))
    }

    /// What the worker wrote to stderr (once its stderr has ended).
    fn errors(&mut self) -> String {
        self.err_reader
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}
