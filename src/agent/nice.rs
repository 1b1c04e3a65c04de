//! A lower CPU priority for the agent's threads that do work a peer or a plugin chooses the
//! size of (a Java plugin's output, gzip bodies): on a busy machine they yield to the threads
//! that carry events for everyone else, and still run whenever a CPU is free.

/// Lowers the calling thread's CPU priority by `by` nice steps from where it is (at most to
/// 19; best effort: a failure leaves it as it was). Linux schedules each thread by its own
/// nice value, so an agent started under `nice` keeps these threads below its others.
pub(crate) fn lower_this_thread(by: libc::c_int) {
    // SAFETY: gettid(2), getpriority(2) and setpriority(2) on the calling thread have no
    // memory effects; a failure only leaves the priority as it was.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, now.saturating_add(by).min(19));
    }
}
