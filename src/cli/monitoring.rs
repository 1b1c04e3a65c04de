//! `-Dflume.monitoring.type`: which reporter an agent runs. Flume's names and class names:
//! `http` (Flume's `HTTPMetricsServer`; Sluice's server also answers Prometheus, so
//! `prometheus` means the same server) and `ganglia` (`GangliaServer`). Anything else is a
//! usage error naming the supported values: Flume would try to load it as a class and run with
//! no metrics at all, which is what an operator who set the key did not want.

/// The reporter `-Dflume.monitoring.type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitoring {
    /// The HTTP server: Flume's JSON, the Prometheus exposition, the status page.
    Http,
    /// Metrics sent to gmond over UDP.
    Ganglia,
}

impl Monitoring {
    /// The reporter named `t` (any case), or the usage error's text.
    pub fn parse(t: &str) -> Result<Self, String> {
        let t = t.trim();
        const HTTP: &[&str] = &[
            "http",
            "prometheus",
            "org.apache.flume.instrumentation.http.HTTPMetricsServer",
        ];
        const GANGLIA: &[&str] = &["ganglia", "org.apache.flume.instrumentation.GangliaServer"];
        if HTTP.iter().any(|n| n.eq_ignore_ascii_case(t)) {
            Ok(Monitoring::Http)
        } else if GANGLIA.iter().any(|n| n.eq_ignore_ascii_case(t)) {
            Ok(Monitoring::Ganglia)
        } else {
            Err(format!(
                "-Dflume.monitoring.type={t} is not a reporter Sluice has: http (or prometheus, \
                 or Flume's HTTPMetricsServer class name) or ganglia (or GangliaServer)"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flumes_names_and_class_names_map_to_the_reporters() {
        for t in [
            "http",
            "HTTP",
            "prometheus",
            "org.apache.flume.instrumentation.http.HTTPMetricsServer",
        ] {
            assert_eq!(Monitoring::parse(t), Ok(Monitoring::Http), "{t}");
        }
        for t in ["ganglia", "org.apache.flume.instrumentation.GangliaServer"] {
            assert_eq!(Monitoring::parse(t), Ok(Monitoring::Ganglia), "{t}");
        }
        let e = Monitoring::parse("jmx").unwrap_err();
        assert!(e.contains("jmx") && e.contains("ganglia"), "{e}");
    }
}
