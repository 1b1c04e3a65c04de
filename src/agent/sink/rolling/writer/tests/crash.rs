//! The writer's durability: a written batch survives a simulated power loss and recovery
//! renames its file, recovery on a real disk cuts a torn gzip member, and a failed write or
//! sync anywhere loses nothing and leaves no in-use file.

use super::*;

#[test]
fn a_written_batch_survives_power_loss_and_recovery_renames_its_file() {
    for seed in 0..20u64 {
        let fs = SimFs::new(seed);
        let mut c = cfg("/data/%Y/%{app}");
        c.use_local_timestamp = true;
        c.roll_count = Some(7);
        let mut w = writer(c.clone(), Arc::new(fs.clone()));
        let t = Instant::now();
        for b in 0..5u32 {
            w.write_batch(&events(b * 4..b * 4 + 4), t, 1_600_000_000_000)
                .unwrap();
        }
        // The next batch is written without fsync and the power goes out.
        w.cfg.fsync_per_batch = false;
        w.write_batch(&events(20..23), t, 1_600_000_000_000)
            .unwrap();
        let image = fs.crash_image(seed);
        let mut w2 = writer(c, Arc::new(image.clone()));
        let rec = w2.recover(None).unwrap();
        assert!(rec.iter().all(|r| r.to.is_some() || r.kept == 0), "{rec:?}");
        let dir = Path::new("/data/2020/a");
        let all = files(&image, dir);
        assert!(
            all.iter().all(|(n, _)| !n.ends_with(".tmp")),
            "seed {seed}: {all:?}"
        );
        let lines: Vec<String> = all
            .iter()
            .flat_map(|(_, b)| b.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for i in 0..20 {
            assert!(
                lines.contains(&format!("line-{i:04}")),
                "seed {seed}: line {i} lost: {lines:?}"
            );
        }
        assert!(
            all.iter().all(|(_, b)| b.is_empty() || b.ends_with('\n')),
            "a torn line was kept: {all:?}"
        );
    }
}

#[test]
fn recovery_on_a_real_disk_cuts_a_torn_gzip_member_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let mut c = cfg(root.to_str().unwrap());
    c.file_type = FileType::CompressedStream;
    c.codec = Some(crate::agent::sink::rolling::codec::Codec::Gzip);
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    let mut w = writer(c.clone(), fs.clone());
    w.write_batch(&events(0..3), Instant::now(), 0).unwrap();
    let in_use = root.join("FlumeData.1001.gz.tmp");
    let mut bytes = std::fs::read(&in_use).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0]);
    std::fs::write(&in_use, &bytes).unwrap();
    drop(w);
    let rec = writer(c, fs).recover(None).unwrap();
    assert_eq!(rec.len(), 1);
    assert_eq!((rec[0].kept, rec[0].cut), (good as u64, 6));
    let out = std::fs::read(root.join("FlumeData.1001.gz")).unwrap();
    let text = crate::agent::sink::rolling::codec::Codec::Gzip.decode_all(&out);
    assert_eq!(text, b"line-0000\nline-0001\nline-0002\n");
    assert!(!in_use.exists());
}

#[test]
fn a_failed_write_or_sync_anywhere_loses_nothing_and_leaves_no_in_use_file() {
    use sluice_core::io::Fault;
    for k in 0..14u64 {
        let fs = SimFs::new(k);
        let mut c = cfg("/logs/%{app}");
        c.roll_count = Some(5);
        let mut w = writer(c, Arc::new(fs.clone()));
        let t = Instant::now();
        w.write_batch(&events(0..3), t, 0).unwrap();
        fs.inject(Fault::Eio {
            at: fs.op_count() + k,
        });
        let batch = events(3..9);
        if w.write_batch(&batch, t, 0).is_err() {
            // The runner rolls the take back and the batch comes again.
            w.write_batch(&batch, t, 0).unwrap();
        }
        // The fault may land in the close instead: the file then goes through recovery.
        let _ = w.close_all(t);
        w.tick(t + Duration::from_secs(1000)).unwrap();
        fs.clear_faults(); // a fault not reached yet must not hit the inspection below
        let all = files(&fs, Path::new("/logs/a"));
        assert!(
            all.iter().all(|(n, _)| !n.ends_with(".tmp")),
            "fault at +{k}: {all:?}"
        );
        let lines: Vec<String> = all
            .iter()
            .flat_map(|(_, b)| b.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        for i in 0..9 {
            assert!(
                lines.contains(&format!("line-{i:04}")),
                "fault at +{k}: line {i} lost: {all:?}"
            );
        }
        assert!(
            all.iter().all(|(_, b)| b.ends_with('\n')),
            "fault at +{k}: torn line kept: {all:?}"
        );
    }
}
