//! What HDFS itself may lose when its only DataNode is killed (not the sink's loss).

/// How many acknowledged lines are missing, if all of them fit in one checksum chunk of the
/// block the DataNode was writing when it was killed (HDFS's hole with one replica, not the
/// sink's): a DataNode restarted after kill -9 validates a block being written by its last
/// checksum chunk (`dfs.bytes-per-checksum`, 512 bytes) and drops that whole chunk when a packet
/// arriving at the kill had written its data but not yet its checksum, synced bytes of the chunk
/// included (Hadoop's `BlockPoolSlice.validateIntegrityAndSetLength`). Seen once in eight runs on 2026-11-25: the batch in flight at the kill failed
/// its hsync, the file was recovered at 14,848 = 29 × 512 bytes (then its torn last line cut),
/// and the 16 lines of 10 bytes after that point, synced and acknowledged, were gone. Anything
/// else (lines missing from two places, or more than a chunk's worth) is a loss of the sink's.
pub fn lost_with_the_datanodes_last_chunk(
    want: &[String],
    got: &[String],
) -> Result<usize, String> {
    lost_with_the_datanodes_last_chunks(want, got, 1)
}

/// [`lost_with_the_datanodes_last_chunk`] after `kills` DataNode kills: the missing lines
/// form at most `kills` runs (in `want`'s order), each within one checksum chunk.
pub fn lost_with_the_datanodes_last_chunks(
    want: &[String],
    got: &[String],
    kills: usize,
) -> Result<usize, String> {
    const CHUNK_BYTES: usize = 512;
    let have: std::collections::BTreeSet<&str> = got.iter().map(String::as_str).collect();
    let lost: Vec<usize> = (0..want.len())
        .filter(|&i| !have.contains(want[i].as_str()))
        .collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &i in &lost {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => runs.push((i, i)),
        }
    }
    let bytes = |(a, b): (usize, usize)| -> usize { (a..=b).map(|i| want[i].len() + 1).sum() };
    if runs.len() > kills || runs.iter().any(|&r| bytes(r) >= CHUNK_BYTES) {
        let shown = lost
            .iter()
            .take(40)
            .map(|&i| want[i].as_str())
            .collect::<Vec<_>>();
        return Err(format!(
            "{} acknowledged lines missing in {} runs, not at most {kills} runs each within a {CHUNK_BYTES}-byte chunk: {shown:?}",
            lost.len(),
            runs.len()
        ));
    }
    Ok(lost.len())
}
