//! The built-in lines-lost alarm of the file sources (TAILDIR): what a source gave up unread
//! within its `lossWindow`, kept per source on the board ([`LossWindow`]), so that the alarm
//! `<source>.linesLost` is raised while that is more than nothing and cleared once the window
//! has passed without a loss, and `/health` says `degraded` meanwhile (through the source's
//! gauges `LinesLostRecently` and `BytesLostRecently`). Pure: the clock is passed in.
//!
//! Bounded: losses within one [`BUCKET`] are added into one entry, so a window holds at most
//! `lossWindow / BUCKET` entries (1,440 for the longest window, 24 h).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::config::AlarmSeverity;
use super::{now_ms, Alarm, AlarmBoard};

/// Losses this close together share one entry.
pub(crate) const BUCKET: Duration = Duration::from_secs(60);
/// Default `lossWindow`: a loss keeps the alarm raised and `/health` degraded this long.
pub(crate) const LOSS_WINDOW_DEFAULT: Duration = Duration::from_secs(600);
/// Shortest `lossWindow`.
pub(crate) const LOSS_WINDOW_MIN: Duration = Duration::from_secs(1);
/// Longest `lossWindow`.
pub(crate) const LOSS_WINDOW_MAX: Duration = Duration::from_secs(24 * 3600);

/// The losses of one source within its window, and whether its alarm is on.
#[derive(Debug)]
pub struct LossWindow {
    window: Duration,
    alarm: bool,
    /// (when the entry began, lines, bytes), oldest first.
    entries: VecDeque<(Instant, u64, u64)>,
}

impl Default for LossWindow {
    fn default() -> Self {
        LossWindow {
            window: LOSS_WINDOW_DEFAULT,
            alarm: true,
            entries: VecDeque::new(),
        }
    }
}

impl LossWindow {
    /// Sets the window and whether the alarm is raised (`lossWindow`, `lossAlarm`).
    pub(crate) fn configure(&mut self, window: Duration, alarm: bool) {
        self.window = window.clamp(LOSS_WINDOW_MIN, LOSS_WINDOW_MAX);
        self.alarm = alarm;
    }

    /// The window.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Whether the alarm is on (`lossAlarm`).
    pub(crate) fn alarm_on(&self) -> bool {
        self.alarm
    }

    /// Notes `lines` and `bytes` lost at `now`.
    pub(crate) fn lost(&mut self, now: Instant, lines: u64, bytes: u64) {
        if lines == 0 && bytes == 0 {
            return;
        }
        match self.entries.back_mut() {
            Some(e) if now.saturating_duration_since(e.0) < BUCKET => {
                e.1 += lines;
                e.2 += bytes;
            }
            _ => self.entries.push_back((now, lines, bytes)),
        }
        self.expire(now);
    }

    /// Lines and bytes lost within the window before `now` (an entry counts until the window
    /// has passed since its last possible loss, so a loss is never forgotten early).
    pub(crate) fn recent(&mut self, now: Instant) -> (u64, u64) {
        self.expire(now);
        self.entries
            .iter()
            .fold((0, 0), |(l, b), e| (l + e.1, b + e.2))
    }

    fn expire(&mut self, now: Instant) {
        while let Some(e) = self.entries.front() {
            if now.saturating_duration_since(e.0) >= self.window + BUCKET {
                self.entries.pop_front();
            } else {
                break;
            }
        }
    }
}

/// The id (and name) of the lines-lost alarm of `source`.
pub(crate) fn loss_id(source: &str) -> String {
    format!("{source}.linesLost")
}

impl AlarmBoard {
    /// The loss window of file source `source`, created on first use and kept across
    /// restarts of the source, set to `window` and `alarm` (`lossAlarm = false` clears an
    /// active alarm at the next tick).
    pub(crate) fn loss_window(
        &self,
        source: &str,
        window: Duration,
        alarm: bool,
    ) -> Arc<Mutex<LossWindow>> {
        let w = self
            .losses
            .lock()
            .entry(source.to_owned())
            .or_default()
            .clone();
        w.lock().configure(window, alarm);
        w
    }

    /// Raises `<source>.linesLost` for each source that lost lines within its window (alarm
    /// on), clears it for the others (called every second or so).
    pub(crate) fn tick_losses(&self, now: Instant) {
        let windows: Vec<(String, Arc<Mutex<LossWindow>>)> = self
            .losses
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (source, w) in windows {
            let (lines, bytes, window, on) = {
                let mut w = w.lock();
                let (l, b) = w.recent(now);
                (l, b, w.window(), w.alarm_on())
            };
            let id = loss_id(&source);
            if on && bytes + lines > 0 {
                if !self.is_active(&id) {
                    self.raise(self.loss_alarm(&source, lines, bytes, window));
                }
            } else if !on {
                self.clear(&id, None, "lossAlarm = false");
            } else {
                self.clear(&id, Some(0.0), "no line lost within lossWindow");
            }
        }
    }

    /// Drops the loss windows of sources no longer configured as file sources (their
    /// alarms clear).
    pub(crate) fn retain_loss_sources(&self, sources: &BTreeSet<String>) {
        for s in super::gone_sources(&self.losses, sources) {
            self.losses.lock().remove(&s);
            self.clear(&loss_id(&s), None, "the source was removed");
        }
    }

    fn loss_alarm(&self, source: &str, lines: u64, bytes: u64, window: Duration) -> Alarm {
        Alarm {
            id: loss_id(source),
            name: loss_id(source),
            severity: AlarmSeverity::Warn,
            message: format!(
                "source {source} gave up {lines} lines ({bytes} bytes) unread within the last {} s \
                 (a WARN per file names it and why; SOURCE.{source}.LinesLostUnreadCount has \
                 the total): raise spoolBytes or the deleted-file limits, or make the channel drain",
                window.as_secs()
            ),
            agent: self.agent(),
            raised_at_ms: now_ms(),
            metric: Some(format!("SOURCE.{source}.LinesLostRecently")),
            value: Some(lines as f64),
            threshold: Some(0.0),
            notifiers: None,
            upstream: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_counts_for_its_window_and_then_no_more() {
        let t0 = Instant::now();
        let mut w = LossWindow::default();
        w.configure(Duration::from_secs(600), true);
        assert_eq!(w.recent(t0), (0, 0));
        w.lost(t0, 10, 1000);
        w.lost(t0 + Duration::from_secs(30), 5, 500);
        assert_eq!(w.recent(t0 + Duration::from_secs(60)), (15, 1500));
        assert_eq!(w.recent(t0 + Duration::from_secs(600)), (15, 1500));
        assert_eq!(w.recent(t0 + Duration::from_secs(661)), (0, 0));
    }

    #[test]
    fn losses_share_an_entry_per_bucket_so_the_window_stays_bounded() {
        let t0 = Instant::now();
        let mut w = LossWindow::default();
        w.configure(Duration::from_secs(3600), true);
        for s in 0..3600 {
            w.lost(t0 + Duration::from_secs(s), 1, 1);
        }
        assert!(w.entries.len() <= 61, "{} entries", w.entries.len());
        assert_eq!(w.recent(t0 + Duration::from_secs(3600)), (3600, 3600));
    }

    #[test]
    fn nothing_lost_is_not_a_loss() {
        let t0 = Instant::now();
        let mut w = LossWindow::default();
        w.lost(t0, 0, 0);
        assert!(w.entries.is_empty());
    }

    #[test]
    fn the_board_raises_the_alarm_while_lines_were_lost_and_clears_it_after_the_window() {
        let board = AlarmBoard::default();
        let t0 = Instant::now();
        let w = board.loss_window("r1", Duration::from_secs(5), true);
        board.tick_losses(t0);
        assert!(!board.is_active("r1.linesLost"));
        w.lock().lost(t0, 7, 700);
        board.tick_losses(t0 + Duration::from_secs(1));
        let active = board.active();
        assert_eq!(active.len(), 1);
        assert!(
            active[0].message.contains("r1 gave up 7 lines (700 bytes)"),
            "{}",
            active[0].message
        );
        board.tick_losses(t0 + Duration::from_secs(5 + 61));
        assert!(!board.is_active("r1.linesLost"));
    }

    #[test]
    fn loss_alarm_false_keeps_the_alarm_down_and_clears_a_raised_one() {
        let board = AlarmBoard::default();
        let t0 = Instant::now();
        let w = board.loss_window("r1", Duration::from_secs(600), true);
        w.lock().lost(t0, 1, 10);
        board.tick_losses(t0);
        assert!(board.is_active("r1.linesLost"));
        board.loss_window("r1", Duration::from_secs(600), false);
        board.tick_losses(t0);
        assert!(!board.is_active("r1.linesLost"));
        board.retain_loss_sources(&BTreeSet::new());
        assert!(board.losses.lock().is_empty());
    }
}
