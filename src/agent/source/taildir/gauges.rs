//! Every gauge a TAILDIR source serves beside its counters, in one place: the deleted-file
//! limits' ([`super::deleted_stats`]), the multiline budget's (with `multiline.*`) and the
//! loss window's ([`super::loss`]). Their names come from
//! [`crate::agent::metrics::source::SOURCE_GAUGES`], the list `config check` knows alarmable
//! metrics by; a test here checks that each one passes `config check` as an alarm metric.

use parking_lot::Mutex;

use super::deleted_stats::DeletedStats;
use crate::agent::alarm::loss::LossWindow;
use crate::agent::source::multiline::held::HeldBytes;

/// The gauges of a TAILDIR source now.
pub(crate) fn served(
    stats: &DeletedStats,
    held: Option<&HeldBytes>,
    window: &Mutex<LossWindow>,
) -> Vec<(&'static str, String)> {
    let mut g = stats.gauges();
    if let Some(h) = held {
        g.extend(h.gauges());
    }
    g.extend(super::loss::recent_gauges(window));
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::metrics::SOURCE_COUNTERS;
    use crate::agent::topology::load;

    #[test]
    fn every_metric_a_taildir_source_serves_passes_config_check_as_an_alarm_metric() {
        let held = HeldBytes::new(1024);
        let window = Mutex::new(LossWindow::default());
        let gauges = served(&DeletedStats::default(), Some(&held), &window);
        let names: Vec<&str> = gauges
            .iter()
            .map(|(k, _)| *k)
            .chain(SOURCE_COUNTERS.iter().copied())
            .collect();
        assert!(names.contains(&"DeletedOpenBytes") && names.contains(&"LinesLostRecently"));
        let mut text = String::from(
            "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
             a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
             a1.sources.r1.positionFile = /tmp/sluice-gauges-test/pos.json\n\
             a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = /tmp/x/.*\n\
             a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n",
        );
        let rules: Vec<String> = (0..names.len()).map(|i| format!("m{i}")).collect();
        text.push_str(&format!("a1.alarms = {}\n", rules.join(" ")));
        for (i, n) in names.iter().enumerate() {
            text.push_str(&format!(
                "a1.alarms.m{i}.metric = SOURCE.r1.{n}\na1.alarms.m{i}.above = 0\n"
            ));
        }
        let loaded = load(&text, "a1", &[]);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert_eq!(
            loaded.config.map(|c| c.alarms.rules.len()),
            Some(names.len())
        );
    }
}
