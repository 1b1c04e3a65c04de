//! The events of a TAILDIR batch: the file group's headers, `byteOffsetHeader`, the file
//! header, and each line's event id under the file's origin (a fresh origin saved first).

use sluice_core::dedup::{IdPrefix, EVENT_ID_HEADER};
use sluice_core::{Event, Headers};

use super::{Tailer, BYTE_OFFSET_HEADER};

impl Tailer {
    /// The origin of `inode`'s event ids: its own, or a fresh one saved first, anchored at
    /// `end` (the end of the batch about to be handed out).
    fn origin_of(&mut self, inode: u64, end: u64) -> Option<u64> {
        let t = self.files.get(&inode)?;
        if t.origin.is_some() {
            return t.origin;
        }
        let (born, anchor) = (t.born_ns, t.fingerprint_at(end));
        let live = self.live_inodes();
        let origin = self.origins.fresh(inode, born, anchor, &live);
        if let Some(t) = self.files.get_mut(&inode) {
            t.origin = origin;
        }
        origin
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
    let mut out = Vec::with_capacity(lines.len());
    let mut made = Vec::new();
    for l in lines {
        let (lo, hi) = (l.offset, l.offset + l.consumed);
        layout.events(path, l, &mut made);
        let n = made.len() as u64;
        for (i, (mut headers, body)) in made.drain(..).enumerate() {
            let i = i as u64;
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
