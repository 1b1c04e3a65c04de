//! The events of a TAILDIR batch: the file group's headers, `byteOffsetHeader`, the file
//! header, and each line's event id under the file's origin (a fresh origin saved first).

use sluice_core::dedup::{IdPrefix, EVENT_ID_HEADER};
use sluice_core::{Event, Headers};

use super::{Batch, Tailer, BYTE_OFFSET_HEADER};

impl Tailer {
    /// The origin of `inode`'s event ids: its own, or a fresh one anchored at `end` (the end
    /// of the batch about to be handed out), to be saved by [`Tailer::seal`] before the batch
    /// leaves the tailer.
    fn origin_of(&mut self, inode: u64, end: u64) -> Option<u64> {
        let t = self.files.get(&inode)?;
        if t.origin.is_some() {
            return t.origin;
        }
        let (born, anchor) = (t.born_ns, t.fingerprint_at(end));
        let origin = self.origins.assign(inode, born, anchor);
        self.unsaved.push(inode);
        if let Some(t) = self.files.get_mut(&inode) {
            t.origin = Some(origin);
        }
        Some(origin)
    }

    /// Saves the origins given out since the last call, in one durable write, before
    /// `batches` (read since then) are handed out. When they cannot be written the lines of
    /// those files go without ids (at least once, as before origins), and so do the files'
    /// next lines until a later save.
    pub fn seal(&mut self, batches: &mut [Batch]) {
        if self.unsaved.is_empty() {
            return;
        }
        let unsaved = std::mem::take(&mut self.unsaved);
        let live = self.live_inodes();
        if self.origins.save_live(&live) {
            return;
        }
        self.origins.forget_unsaved(&unsaved);
        for inode in &unsaved {
            if let Some(t) = self.files.get_mut(inode) {
                t.origin = None;
            }
        }
        for b in batches.iter_mut().filter(|b| unsaved.contains(&b.inode)) {
            for ev in b.events.iter_mut() {
                let (mut h, body) = std::mem::replace(ev, Event::new(Vec::new())).into_parts();
                h.remove(EVENT_ID_HEADER);
                *ev = Event::with_headers(h, body);
            }
        }
    }

    pub(super) fn events(
        &mut self,
        inode: u64,
        lines: Vec<crate::agent::source::file_lines::Line>,
        end: u64,
    ) -> Vec<Event> {
        let origin = self.origin_of(inode, end);
        let Some(t) = self.files.get(&inode) else {
            return Vec::new();
        };
        if let Some(layout) = &self.cfg.layout {
            return laid_events(&*layout.0, &t.path, lines, origin.map(IdPrefix::new));
        }
        let group_headers = self.groups.get(t.group).map(|g| &g.headers);
        let path = self.cfg.file_header.then(|| t.path.display().to_string());
        // The file's origin written once for the batch, each line's offsets after it.
        let prefix = origin.map(IdPrefix::new);
        lines
            .into_iter()
            .map(|l| {
                // Headers first, then the event: no copy-on-write check per header.
                let mut headers = Headers::new();
                if let Some(h) = group_headers {
                    headers.extend(h.iter());
                }
                if self.cfg.byte_offset_header {
                    headers.insert(BYTE_OFFSET_HEADER, l.offset.to_string());
                }
                if let Some(p) = &path {
                    headers.insert(&self.cfg.file_header_key, p);
                }
                if let Some(p) = prefix.as_ref().filter(|_| l.consumed > 0) {
                    headers.insert(EVENT_ID_HEADER, p.span(l.offset, l.offset + l.consumed));
                }
                Event::with_headers(headers, l.bytes)
            })
            .collect()
    }
}

/// The events a layout makes of `lines` (see [`super::super::layout`]), each with an id: the
/// events of one line share its byte range `(lo, hi]` without overlapping, the i-th of n
/// `(lo + i, lo + i + 1]` and the last the rest (a line of n events consumed at least n
/// bytes: one line ending each), so the same bytes read again get the same ids.
fn laid_events(
    layout: &dyn super::super::layout::Layout,
    path: &std::path::Path,
    lines: Vec<crate::agent::source::file_lines::Line>,
    prefix: Option<IdPrefix>,
) -> Vec<Event> {
    let spans: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| (l.offset, l.offset + l.consumed))
        .collect();
    let (mut made, mut per_line) = (Vec::with_capacity(lines.len()), Vec::new());
    layout.events(path, lines, &mut made, &mut per_line);
    let mut out = Vec::with_capacity(made.len());
    let mut made = made.into_iter();
    for (&(lo, hi), &n) in spans.iter().zip(&per_line) {
        for (i, (mut headers, body)) in made.by_ref().take(n).enumerate() {
            let (i, n) = (i as u64, n as u64);
            let (a, b) = if i + 1 == n {
                (lo + i, hi)
            } else {
                (lo + i, lo + i + 1)
            };
            if let Some(p) = prefix.as_ref().filter(|_| a < b) {
                headers.insert(EVENT_ID_HEADER, p.span(a, b));
            }
            out.push(Event::with_headers(headers, body));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use sluice_core::dedup::EVENT_ID_HEADER;

    use super::Tailer;
    use crate::agent::registry::SourceKind;
    use crate::agent::source::taildir::origins::Origins;
    use crate::agent::source::taildir::TaildirConfig;

    fn config(dir: &Path) -> TaildirConfig {
        let text = format!(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
             a1.sources.r1.positionFile = {d}/pos/taildir_position.json\n\
             a1.sources.r1.filegroups = f1\n\
             a1.sources.r1.filegroups.f1 = {d}/logs/app\\.log.*\n\
             a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
            d = dir.display()
        );
        let loaded = crate::agent::topology::load(&text, "a1", &[]);
        match loaded.config.map(|c| c.sources["r1"].kind.clone()) {
            Some(SourceKind::Taildir(c)) => c,
            other => panic!("not TAILDIR: {other:?} {:?}", loaded.problems),
        }
    }

    /// The fresh origins of a trip's new files are saved together before its batches leave the
    /// tailer (`Tailer::seal`): every event then has an id under its file's saved origin. When
    /// the origin file cannot be written the events go without ids (at least once), never with an
    /// origin a restart would not know.
    #[test]
    fn fresh_origins_are_saved_before_the_batches_leave_or_the_events_go_without_ids() {
        for can_save in [true, false] {
            let d = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(d.path().join("logs")).unwrap();
            std::fs::create_dir_all(d.path().join("pos")).unwrap();
            if !can_save {
                // A directory where the origin file goes: no file can replace it.
                std::fs::create_dir(d.path().join("pos/taildir_position.json.origins")).unwrap();
            }
            for n in ["app.log", "app.log.1"] {
                std::fs::write(d.path().join("logs").join(n), "a\nb\n").unwrap();
            }
            let mut t = Tailer::new(Arc::new(config(d.path())), Vec::new()).unwrap();
            t.restore_origins(Origins::load(&d.path().join("pos/taildir_position.json")));
            t.scan();
            let mut batches = Vec::new();
            while let Some(b) = t.next_batch() {
                batches.push(b);
                assert!(batches.len() < 10, "no end");
            }
            t.seal(&mut batches);
            let ids: Vec<Option<String>> = batches
                .iter()
                .flat_map(|b| b.events.iter())
                .map(|e| e.headers.get(EVENT_ID_HEADER).map(str::to_owned))
                .collect();
            assert_eq!(ids.len(), 4, "{ids:?}");
            let origins =
                std::fs::read_to_string(d.path().join("pos/taildir_position.json.origins"));
            if can_save {
                assert!(ids.iter().all(Option::is_some), "{ids:?}");
                let text = origins.unwrap();
                for b in &batches {
                    assert!(text.contains(&format!("\"inode\":{}", b.inode)), "{text}");
                }
            } else {
                assert!(ids.iter().all(Option::is_none), "{ids:?}");
                assert!(origins.is_err());
            }
        }
    }
}
