//! A file channel's replay as the operator sees it while the channel opens: two gauges in the
//! channel's counter group (`ReplayProgressRatio`, 0 to 1, and `ReplayEvents`, events read so
//! far; both stay after the open) and an INFO line at most every [`REPLAY_LOG_INTERVAL`] with
//! the percentage, the events and an estimate of the time left. The core counts into a
//! [`ReplayProgress`] (relaxed atomics); this side only reads it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::{ProgressSnapshot, ReplayProgress};

use crate::agent::metrics::{ChannelGauge, Gauges};

/// Least time between two replay progress lines; a replay shorter than this logs none.
pub(crate) const REPLAY_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// The two replay gauges of `progress`.
pub(crate) fn gauges(progress: &ReplayProgress) -> [(&'static str, String); 2] {
    let s = progress.snapshot();
    [
        ChannelGauge::ReplayProgress.with(s.ratio()),
        ChannelGauge::ReplayEvents.with(s.events_done),
    ]
}

/// Gauges that show only the replay (the channel is not open yet).
pub(crate) fn replay_only(progress: Arc<ReplayProgress>) -> Gauges {
    Box::new(move || gauges(&progress).into_iter().collect())
}

/// Seconds left at the rate so far, when there is a rate.
fn eta_seconds(s: &ProgressSnapshot, elapsed: Duration) -> Option<u64> {
    let r = s.ratio();
    if r <= 0.0 || r >= 1.0 {
        return None;
    }
    Some((elapsed.as_secs_f64() * (1.0 - r) / r).round() as u64)
}

/// Logs `progress` of channel `name` every [`REPLAY_LOG_INTERVAL`] while the replay runs;
/// never ends: drop it when the open ends. Cancel safe: it only sleeps and logs.
pub(crate) async fn log_until_dropped(name: String, progress: Arc<ReplayProgress>) -> Infallible {
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(REPLAY_LOG_INTERVAL).await;
        let s = progress.snapshot();
        if s.done || !s.started {
            continue;
        }
        let percent = (s.ratio() * 1000.0).round() / 10.0;
        match eta_seconds(&s, t0.elapsed()) {
            Some(eta_s) => tracing::info!(
                channel = %name,
                percent,
                events = s.events_done,
                bytes = s.bytes_done,
                bytes_total = s.bytes_total,
                eta_s,
                "replaying the file channel"
            ),
            None => tracing::info!(
                channel = %name,
                percent,
                events = s.events_done,
                bytes = s.bytes_done,
                bytes_total = s.bytes_total,
                "replaying the file channel"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_the_time_so_far_scaled_by_what_is_left() {
        let s = ProgressSnapshot {
            bytes_total: 100,
            bytes_done: 25,
            events_done: 10,
            started: true,
            done: false,
        };
        assert_eq!(eta_seconds(&s, Duration::from_secs(10)), Some(30));
        let done = ProgressSnapshot { done: true, ..s };
        assert_eq!(eta_seconds(&done, Duration::from_secs(10)), None);
    }

    #[test]
    fn the_gauges_show_ratio_and_events_under_their_json_keys() {
        let p = ReplayProgress::default();
        let g = gauges(&p);
        assert_eq!(g[0], ("ReplayProgressRatio", "0".to_owned()));
        assert_eq!(g[1], ("ReplayEvents", "0".to_owned()));
    }
}
