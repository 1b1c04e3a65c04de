//! `sluice channel adopt`: makes the events a stopped or crashed Flume left queued in its file
//! channel a Sluice file channel's queue (core `adopt`), into new directories or in place;
//! `--dry-run` reads everything and prints what it found without writing. Flume's files are
//! only read; in place they are moved into `flume-adopted-<time>/` once the new channel is
//! durable. A kill at any moment and a rerun with the same arguments give the same channel.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use sluice_core::io::StdFs;
use sluice_core::keys::KeyFiles;
use sluice_core::split_aliases;
use sluice_core::FileChannelConfig;
use sluice_flume::adopt::{adopt, AdoptRequest};
use sluice_flume::{FlumeDirs, FlumeKeys};
use sluice_keystore::config_name;

use super::agent_conf::channel_props;
use super::args::config_of;
use super::flume_report::{print_report, report};
use super::keys::{config_keys, load};
use super::verify::{now_ms, refusing};
use crate::cli::exit::{Usage, FAILED_CHECK, OK};

/// Arguments of `sluice channel adopt`.
#[derive(clap::Args, Debug)]
pub struct AdoptArgs {
    /// The agent's (or Flume's) properties file: Flume's directories and `encryption.*` keys
    /// are read from its channel (with `-n` and `-c`), and the new channel takes its other
    /// keys (capacity, `encryption.*`); the flags below override the file.
    #[arg(
        short = 'f',
        long = "conf-file",
        requires = "name",
        requires = "channel"
    )]
    conf_file: Option<PathBuf>,
    /// The agent's name in `--conf-file`.
    #[arg(short = 'n', long = "name", requires = "conf_file")]
    name: Option<String>,
    /// The channel's name in `--conf-file`.
    #[arg(short = 'c', long = "channel", requires = "conf_file")]
    channel: Option<String>,
    /// Flume's `checkpointDir`.
    #[arg(long, required_unless_present = "conf_file")]
    flume_checkpoint_dir: Option<PathBuf>,
    /// Flume's `dataDirs`, comma-separated.
    #[arg(long, required_unless_present = "conf_file")]
    flume_data_dirs: Option<String>,
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

/// The keys the `--flume-keystore-*` arguments name (none without them); an error names
/// the flag to fix.
fn flag_keys(args: &AdoptArgs) -> anyhow::Result<Option<KeyFiles>> {
    let (Some(store), Some(pw), Some(aliases)) = (
        &args.flume_keystore_file,
        &args.flume_keystore_password_file,
        &args.flume_keys,
    ) else {
        return Ok(None);
    };
    let mut own = BTreeMap::new();
    for kv in &args.flume_key_password_file {
        let Some((alias, file)) = kv.split_once('=') else {
            return Err(Usage(format!(
                "--flume-key-password-file {kv:?}: expected ALIAS=FILE"
            ))
            .into());
        };
        own.insert(alias.trim().to_string(), PathBuf::from(file.trim()));
    }
    Ok(Some(KeyFiles {
        keystore_file: store.clone(),
        store_password_file: pw.clone(),
        keys: split_aliases(aliases)
            .into_iter()
            .map(|a| {
                let file = own.get(&a).cloned();
                (a, file)
            })
            .collect(),
    }))
}

/// How the tool names a setting of Flume's key configuration: its flag.
fn flag_name(key: &str) -> String {
    match key {
        "keyStoreFile" => "--flume-keystore-file".to_owned(),
        "keyStorePasswordFile" => "--flume-keystore-password-file".to_owned(),
        "keys" => "--flume-keys".to_owned(),
        k => match k
            .strip_prefix("keys.")
            .and_then(|a| a.strip_suffix(".passwordFile"))
        {
            Some(alias) => format!("--flume-key-password-file {alias}=FILE"),
            None => config_name(k),
        },
    }
}

/// Runs `sluice channel adopt`.
pub fn run(args: AdoptArgs) -> anyhow::Result<i32> {
    refusing(run_adopt(args))
}

/// The channel `-f/-n/-c` names: its keys and configuration.
fn file_channel(
    args: &AdoptArgs,
) -> anyhow::Result<Option<(BTreeMap<String, String>, FileChannelConfig)>> {
    let (Some(f), Some(n), Some(c)) = (&args.conf_file, &args.name, &args.channel) else {
        return Ok(None);
    };
    let props = channel_props(f, n, c)?;
    let source = format!("{}, channel {c} of agent {n}", f.display());
    let config = config_of(&props, Some(&source))?;
    Ok(Some((props, config)))
}

/// Flume's directories and keys: the flags', else the file's channel.
fn flume_side(
    args: &AdoptArgs,
    file: Option<&FileChannelConfig>,
) -> anyhow::Result<(FlumeDirs, FlumeKeys)> {
    let checkpoint_dir = match (&args.flume_checkpoint_dir, file) {
        (Some(d), _) => d.clone(),
        (None, Some(c)) => c.checkpoint_dir.clone(),
        (None, None) => return Err(Usage("give --flume-checkpoint-dir, or -f/-n/-c".into()).into()),
    };
    let data_dirs = match (&args.flume_data_dirs, file) {
        (Some(d), _) => split_dirs(d),
        (None, Some(c)) => c.data_dirs.clone(),
        (None, None) => return Err(Usage("give --flume-data-dirs, or -f/-n/-c".into()).into()),
    };
    let backup = args.flume_backup_checkpoint_dir.clone().or_else(|| {
        file.filter(|c| c.use_dual_checkpoints)
            .and_then(|c| c.backup_checkpoint_dir.clone())
    });
    let keys = match (flag_keys(args)?, file) {
        (Some(files), _) => load(&files, flag_name)?,
        (None, Some(c)) => config_keys(c)?,
        (None, None) => FlumeKeys::new(),
    };
    let dirs = FlumeDirs {
        checkpoint_dir,
        backup_checkpoint_dir: backup,
        data_dirs,
    };
    Ok((dirs, keys))
}

fn split_dirs(list: &str) -> Vec<PathBuf> {
    list.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// The new channel's keys: the file's channel's (without its directories unless in place),
/// then its own directories, or Flume's with `--in-place` (with Flume's backup checkpoint
/// directory as its own), then `--set`.
fn target_props(
    args: &AdoptArgs,
    flume: &FlumeDirs,
    file: Option<&BTreeMap<String, String>>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut props = file.cloned().unwrap_or_default();
    let join = |d: &[PathBuf]| {
        d.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (checkpoint_dir, data_dirs) = match (&args.checkpoint_dir, &args.data_dirs, args.in_place) {
        (Some(c), Some(d), false) => {
            for k in ["useDualCheckpoints", "backupCheckpointDir"] {
                props.remove(k);
            }
            (c.clone(), d.clone())
        }
        (None, None, true) => (
            flume.checkpoint_dir.display().to_string(),
            join(&flume.data_dirs),
        ),
        _ => {
            return Err(Usage(
                "give the new channel's --checkpoint-dir and --data-dirs, or --in-place".into(),
            )
            .into())
        }
    };
    props.insert("checkpointDir".into(), checkpoint_dir);
    props.insert("dataDirs".into(), data_dirs);
    if let (true, Some(b)) = (args.in_place, &flume.backup_checkpoint_dir) {
        props.insert("useDualCheckpoints".into(), "true".into());
        props.insert("backupCheckpointDir".into(), b.display().to_string());
    }
    for kv in &args.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(Usage(format!("--set {kv:?}: expected KEY=VALUE")).into());
        };
        props.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(props)
}

/// Whether a target was named (its directories, `--in-place`): a dry run then checks it.
/// The events of a finished adoption the target holds (`adopt.done`): a rerun, dry or real,
/// has nothing to adopt, and must not read the new channel's files as Flume's.
fn finished(target: Option<&FileChannelConfig>) -> anyhow::Result<Option<u64>> {
    let Some(t) = target else {
        return Ok(None);
    };
    Ok(sluice_flume::adopt::finished(&StdFs, &t.checkpoint_dir)?)
}

fn names_target(args: &AdoptArgs) -> bool {
    args.in_place || args.checkpoint_dir.is_some()
}

fn run_adopt(args: AdoptArgs) -> anyhow::Result<i32> {
    let file = file_channel(&args)?;
    let (flume, keys) = flume_side(&args, file.as_ref().map(|(_, c)| c))?;
    let target = if names_target(&args) || !args.dry_run {
        let props = target_props(&args, &flume, file.as_ref().map(|(p, _)| p))?;
        Some(config_of(&props, None)?)
    } else {
        None
    };
    if let Some(events) = finished(target.as_ref())? {
        println!(
            "nothing to adopt: {} holds a finished adoption of {events} events ({}); the channel is ready",
            target.as_ref().map_or(String::new(), |t| t.checkpoint_dir.display().to_string()),
            sluice_flume::adopt::ADOPT_DONE
        );
        return Ok(OK);
    }
    if args.dry_run {
        let (code, survey) = report(&flume, &keys)?;
        return match &target {
            Some(t) => super::adopt_check::check_target(t, &survey, args.allow_plaintext, code),
            None => Ok(code),
        };
    }
    let Some(target) = target else {
        return Err(Usage(
            "give the new channel's --checkpoint-dir and --data-dirs, or --in-place".into(),
        )
        .into());
    };
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
