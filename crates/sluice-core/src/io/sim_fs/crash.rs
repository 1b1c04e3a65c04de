//! [`SimFs::crash_image`]: the file system a machine finds after a power cut.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::state::{apply, Inode, Pending, State};
use super::SimFs;

impl SimFs {
    /// The file system as found after a power cut now: durable bytes and directory entries,
    /// each pending write kept, dropped or torn by the seed. Locks are not carried over.
    pub fn crash_image(&self, seed: u64) -> SimFs {
        let st = self.state.lock();
        let mut rng_state = State {
            rng: seed,
            ..State::default()
        };
        let mut image = State::default();
        let mut inode_map: HashMap<u64, u64> = HashMap::new();
        for (dir, entries) in &st.durable_dirs {
            let mut new_entries = BTreeMap::new();
            for (name, ino) in entries {
                let new_ino = match inode_map.get(ino) {
                    Some(n) => *n,
                    None => {
                        let Some(src) = st.inodes.get(ino) else {
                            continue;
                        };
                        let mut bytes = src.durable.clone();
                        for p in &src.pending {
                            match rng_state.next_rand() % 5 {
                                0..=2 => apply(&mut bytes, p),
                                3 => {}
                                _ => {
                                    if let Pending::Write { offset, bytes: b } = p {
                                        let keep = (rng_state.next_rand() as usize) % (b.len() + 1);
                                        apply(
                                            &mut bytes,
                                            &Pending::Write {
                                                offset: *offset,
                                                bytes: b[..keep].to_vec(),
                                            },
                                        );
                                    }
                                }
                            }
                        }
                        // A power cut keeps inode numbers.
                        let n = *ino;
                        image.inodes.insert(
                            n,
                            Inode {
                                current: bytes.clone(),
                                durable: bytes,
                                pending: Vec::new(),
                                applied: 0,
                                modified: src.modified,
                            },
                        );
                        inode_map.insert(*ino, n);
                        n
                    }
                };
                new_entries.insert(name.clone(), new_ino);
            }
            image.dirs.insert(dir.clone(), new_entries.clone());
            image.durable_dirs.insert(dir.clone(), new_entries);
        }
        image.next_inode = st.next_inode;
        image.host = st.host.clone();
        image.clock = st.clock;
        image.rng = seed ^ 0x5A5A_5A5A;
        image.space_limit = st.space_limit;
        image.refuse_direct = st.refuse_direct;
        image.direct_align = st.direct_align;
        SimFs {
            state: Arc::new(Mutex::new(image)),
        }
    }
}
