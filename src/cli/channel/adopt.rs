//! `sluice channel adopt`: makes the events a stopped or crashed Flume left queued in its file
//! channel a Sluice file channel's queue (core `adopt`), into new directories or in place;
//! `--dry-run` reads everything and prints what it found without writing. Flume's files are
//! only read; in place they are moved into `flume-adopted-<time>/` once the new channel is
//! durable. A kill at any moment and a rerun with the same arguments give the same channel.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use sluice_core::adopt::{adopt, AdoptRequest};
use sluice_core::flume::{load_keys, FlumeDirs, FlumeKeys};
use sluice_core::io::StdFs;
use sluice_core::keystore::KeyFiles;
use sluice_core::FileChannelConfig;

use super::flume_report::{print_report, report};
use super::verify::{now_ms, refusing};
use super::ChannelArgs;
use crate::cli::exit::{Usage, FAILED_CHECK, OK};

/// Arguments of `sluice channel adopt`.
#[derive(clap::Args, Debug)]
pub struct AdoptArgs {
    /// Flume's `checkpointDir`.
    #[arg(long)]
    flume_checkpoint_dir: PathBuf,
    /// Flume's `dataDirs`, comma-separated.
    #[arg(long)]
    flume_data_dirs: String,
    /// Flume's `backupCheckpointDir` (with `useDualCheckpoints`): used when the primary
    /// checkpoint is refused, as Flume does.
    #[arg(long)]
    flume_backup_checkpoint_dir: Option<PathBuf>,
    /// The new channel's checkpoint directory (with `--data-dirs`; not with `--in-place`).
    #[arg(long, requires = "data_dirs", conflicts_with = "in_place")]
    checkpoint_dir: Option<String>,
    /// The new channel's data directories, comma-separated.
    #[arg(long, requires = "checkpoint_dir")]
    data_dirs: Option<String>,
    /// Any other key of the new channel, e.g. `--set capacity=2000000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Adopt into Flume's own directories; its files move into `flume-adopted-<time>/`.
    #[arg(long)]
    in_place: bool,
    /// Read everything and print what was found; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip queued events whose record is damaged (each printed) instead of stopping.
    #[arg(long)]
    skip_damaged: bool,
    /// Adopt an encrypted Flume channel into a new channel without `encryption.*` keys, its
    /// events then written in plaintext (refused without this flag).
    #[arg(long)]
    allow_plaintext: bool,
    /// An encrypted channel's keystore (Flume's `encryption.keyProvider.keyStoreFile`, JCEKS
    /// or PKCS12).
    #[arg(
        long,
        requires = "flume_keystore_password_file",
        requires = "flume_keys"
    )]
    flume_keystore_file: Option<PathBuf>,
    /// Its `keyStorePasswordFile`.
    #[arg(long, requires = "flume_keystore_file")]
    flume_keystore_password_file: Option<PathBuf>,
    /// Its `keys`: every alias whose files may hold events, space- or comma-separated.
    #[arg(long, requires = "flume_keystore_file")]
    flume_keys: Option<String>,
    /// A key's own password file (`keys.<alias>.passwordFile`), as `ALIAS=FILE` (repeatable).
    #[arg(long, value_name = "ALIAS=FILE", requires = "flume_keystore_file")]
    flume_key_password_file: Vec<String>,
}

/// The keys the `--flume-keystore-*` arguments name (none without them).
fn flume_keys(args: &AdoptArgs) -> anyhow::Result<FlumeKeys> {
    let (Some(store), Some(pw), Some(aliases)) = (
        &args.flume_keystore_file,
        &args.flume_keystore_password_file,
        &args.flume_keys,
    ) else {
        return Ok(FlumeKeys::new());
    };
    let mut own = std::collections::BTreeMap::new();
    for kv in &args.flume_key_password_file {
        let Some((alias, file)) = kv.split_once('=') else {
            return Err(Usage(format!(
                "--flume-key-password-file {kv:?}: expected ALIAS=FILE"
            ))
            .into());
        };
        own.insert(alias.trim().to_string(), PathBuf::from(file.trim()));
    }
    let files = KeyFiles {
        keystore_file: store.clone(),
        store_password_file: pw.clone(),
        keys: aliases
            .split([' ', ','])
            .filter(|a| !a.is_empty())
            .map(|a| (a.to_string(), own.get(a).cloned()))
            .collect(),
    };
    let (keys, warnings) =
        load_keys(&StdFs, &files).context("cannot load the Flume channel's keys")?;
    for w in warnings {
        eprintln!("sluice: warning: {}: {}", w.path.display(), w.message);
    }
    Ok(keys)
}

/// Runs `sluice channel adopt`.
pub fn run(args: AdoptArgs) -> anyhow::Result<i32> {
    refusing(run_adopt(args))
}

fn split_dirs(list: &str) -> Vec<PathBuf> {
    list.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The new channel's configuration: its own directories, or Flume's with `--in-place` (with
/// Flume's backup checkpoint directory as its own).
fn target_config(args: &AdoptArgs, flume: &FlumeDirs) -> anyhow::Result<FileChannelConfig> {
    let (checkpoint_dir, data_dirs) = match (&args.checkpoint_dir, &args.data_dirs, args.in_place) {
        (Some(c), Some(d), false) => (c.clone(), d.clone()),
        (None, None, true) => (
            flume.checkpoint_dir.display().to_string(),
            args.flume_data_dirs.clone(),
        ),
        _ => {
            return Err(Usage(
                "give the new channel's --checkpoint-dir and --data-dirs, or --in-place".into(),
            )
            .into())
        }
    };
    let mut set = args.set.clone();
    if let (true, Some(b)) = (args.in_place, &flume.backup_checkpoint_dir) {
        set.push("useDualCheckpoints=true".into());
        set.push(format!("backupCheckpointDir={}", b.display()));
    }
    ChannelArgs {
        checkpoint_dir,
        data_dirs,
        set,
    }
    .config()
}

fn run_adopt(args: AdoptArgs) -> anyhow::Result<i32> {
    let flume = FlumeDirs {
        checkpoint_dir: args.flume_checkpoint_dir.clone(),
        backup_checkpoint_dir: args.flume_backup_checkpoint_dir.clone(),
        data_dirs: split_dirs(&args.flume_data_dirs),
    };
    let keys = flume_keys(&args)?;
    if args.dry_run {
        return report(&flume, &keys);
    }
    let target = target_config(&args, &flume)?;
    let req = AdoptRequest {
        flume,
        keys: &keys,
        target: target.clone(),
        in_place: args.in_place,
        skip_damaged: args.skip_damaged,
        now_ms: now_ms(),
        allow_plaintext: args.allow_plaintext,
    };
    let done = adopt(Arc::new(StdFs), &req).context("the adoption stopped")?;
    if done.already_done {
        println!(
            "nothing to adopt: {} holds a finished adoption of {} events ({}); the channel is ready",
            target.checkpoint_dir.display(),
            done.events,
            sluice_core::adopt::ADOPT_DONE
        );
        return Ok(OK);
    }
    if let Some(r) = &done.report {
        print_report(r);
    }
    for s in &done.skipped {
        println!("skipped damaged: {s}");
    }
    if done.resumed {
        println!("finished an interrupted adoption");
    }
    println!(
        "adopted {} events into {} ({})",
        done.events,
        target.checkpoint_dir.display(),
        target
            .data_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(folder) = &done.moved_to {
        println!("Flume's files moved into {folder}/ in each of its directories");
    }
    Ok(if done.skipped.is_empty() {
        OK
    } else {
        FAILED_CHECK
    })
}
