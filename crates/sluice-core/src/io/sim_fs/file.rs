//! [`SimFile`]: an open file of [`SimFs`](super::SimFs). Reads see the current bytes;
//! writes and truncations are queued as pending until `sync_data` makes them durable.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::fault::Fault;
use super::state::{apply, Pending, State};
use crate::io::FsFile;

#[derive(Debug)]
pub(super) struct SimFile {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) inode: u64,
    pub(super) writable: bool,
    /// Opened with `open_direct`: I/O must be aligned as O_DIRECT requires (EINVAL if not).
    pub(super) direct: bool,
    /// The alignment its direct I/O needs.
    pub(super) align: usize,
}

impl SimFile {
    /// Sets the current length to `len` (zeros when growing), pending until `sync_data`.
    fn resize(&self, st: &mut State, len: u64) -> io::Result<()> {
        let now = st.stamp();
        let inode = st
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "file was removed"))?;
        let p = Pending::SetLen(len);
        apply(&mut inode.current, &p);
        inode.pending.push(p);
        inode.modified = now;
        Ok(())
    }

    /// EINVAL, as Linux gives, for direct I/O whose offset, length or memory is unaligned.
    fn check_aligned(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let align = self.align;
        let aligned = offset % align as u64 == 0
            && buf.len() % align == 0
            && buf.as_ptr().align_offset(align) == 0;
        if self.direct && !aligned {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(())
    }
}

impl FsFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.check_aligned(buf, offset)?;
        let mut st = self.state.lock();
        st.tick()?;
        let inode = st
            .inodes
            .get(&self.inode)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "file was removed"))?;
        let off = offset as usize;
        if off >= inode.current.len() {
            return Ok(0);
        }
        let n = buf.len().min(inode.current.len() - off);
        buf[..n].copy_from_slice(&inode.current[off..off + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check_aligned(buf, offset)?;
        let mut st = self.state.lock();
        let fault = st.tick()?;
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let cur_len = st
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.current.len() as u64);
        let growth = (offset + buf.len() as u64).saturating_sub(cur_len);
        let mut allowed = buf.len();
        let mut enospc = matches!(fault, Some(Fault::Enospc { .. }));
        if enospc {
            allowed = (st.next_rand() as usize) % (buf.len() + 1);
        }
        if let Some(limit) = st.space_limit {
            let free = limit.saturating_sub(st.used_bytes());
            if growth > free {
                enospc = true;
                let fits = (cur_len + free).saturating_sub(offset) as usize;
                allowed = allowed.min(fits.min(buf.len()));
            }
        }
        if allowed > 0 {
            let p = Pending::Write {
                offset,
                bytes: buf[..allowed].to_vec(),
            };
            let now = st.stamp();
            let inode = st
                .inodes
                .get_mut(&self.inode)
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "file was removed"))?;
            apply(&mut inode.current, &p);
            inode.pending.push(p);
            inode.modified = now;
        }
        if enospc {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        let removed = || io::Error::new(io::ErrorKind::NotFound, "file was removed");
        let inode = st.inodes.get(&self.inode).ok_or_else(removed)?;
        // The writes this sync covers: those issued before it (as an fdatasync).
        let mark = inode.applied + inode.pending.len() as u64;
        if let Some(hook) = st.sync_hook.clone() {
            drop(st);
            (hook.0)()?;
            st = self.state.lock();
        }
        let inode = st.inodes.get_mut(&self.inode).ok_or_else(removed)?;
        let n = mark.saturating_sub(inode.applied) as usize;
        let n = n.min(inode.pending.len());
        for p in inode.pending.drain(..n) {
            apply(&mut inode.durable, &p);
        }
        inode.applied += n as u64;
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let mut st = self.state.lock();
        st.tick()?;
        Ok(st
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.current.len() as u64))
    }

    fn is_unlinked(&self) -> io::Result<bool> {
        let st = self.state.lock();
        Ok(!st
            .dirs
            .values()
            .any(|d| d.values().any(|i| *i == self.inode)))
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        if let Some(Fault::Enospc { .. }) = st.tick()? {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let cur = st
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.current.len() as u64);
        if len <= cur {
            return Ok(());
        }
        if let Some(limit) = st.space_limit {
            // fallocate reserves all or nothing.
            if len - cur > limit.saturating_sub(st.used_bytes()) {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
        }
        self.resize(&mut st, len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        st.tick()?;
        if !self.writable {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        self.resize(&mut st, len)
    }
}
