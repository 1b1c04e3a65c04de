//! A layout's directories as file groups (see `taildir/layout.rs`): asked for before every
//! scan, a new directory gets a group (the slot of a retired one no followed file is of, if
//! any), a directory gone is retired (not listed; its followed files are read to their end
//! through their descriptors, as files rotated away). The groups stay bounded by the
//! directories there are plus the ones whose files are still being read.

use std::collections::HashSet;

use super::{Group, Tailer};

impl Tailer {
    /// Brings the groups in line with the layout's directories (no layout: nothing).
    pub(super) fn lay_out(&mut self) {
        let Some(layout) = self.cfg.layout.clone() else {
            return;
        };
        let dirs = layout.0.dirs();
        let wanted: HashSet<&std::path::Path> = dirs.iter().map(|d| d.dir.as_path()).collect();
        for (dir, gi) in &self.laid {
            if !wanted.contains(dir.as_path()) {
                if let Some(g) = self.groups.get_mut(*gi) {
                    g.retired = true;
                    g.cache = None;
                }
            }
        }
        let used: HashSet<usize> = self.files.values().map(|t| t.group).collect();
        let still_read: Vec<std::path::PathBuf> = self
            .laid
            .iter()
            .filter(|(_, gi)| {
                used.contains(*gi) && self.groups.get(**gi).is_some_and(|g| g.retired)
            })
            .map(|(d, _)| d.clone())
            .collect();
        layout.0.still_read(&still_read);
        let groups = &self.groups;
        self.laid.retain(|_, gi| {
            !groups
                .get(*gi)
                .is_some_and(|g| g.retired && !used.contains(gi))
        });
        let mut free: Vec<usize> = (0..self.groups.len())
            .filter(|gi| self.groups[*gi].retired && !used.contains(gi))
            .collect();
        for d in dirs {
            if let Some(gi) = self.laid.get(&d.dir) {
                if let Some(g) = self.groups.get_mut(*gi) {
                    g.retired = false;
                }
                continue;
            }
            let g = Group {
                dir: d.dir.clone(),
                regex: d.regex,
                headers: Default::default(),
                cache: None,
                retired: false,
            };
            let gi = match free.pop() {
                Some(gi) => {
                    self.groups[gi] = g;
                    gi
                }
                None => {
                    self.groups.push(g);
                    self.groups.len() - 1
                }
            };
            self.laid.insert(d.dir, gi);
        }
    }
}
