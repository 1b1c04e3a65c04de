//! Java plugins from the command line: where they are found (`-c`, `-C/--classpath`,
//! `--plugins-path`, as `flume-ng` takes them), `sluice plugins build` (the shim jar, printed
//! so plugins can be compiled against it), and `config check`'s look-up of Java classes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sluice::agent::java::{check, frame::Role, jvm, shim};
use sluice::agent::registry::{SinkKind, SourceKind};
use sluice::agent::topology::AgentConfig;

/// Where Java plugins are found, as `flume-ng` takes them (`sluice agent`, `config check`).
#[derive(clap::Args, Debug, Clone)]
pub struct JavaPluginArgs {
    /// Configuration directory: where `plugins.d` is looked for (in and beside it).
    #[arg(short = 'c', long = "conf")]
    pub conf_dir: Option<PathBuf>,
    /// Extra classpath of Java plugins (`:`-separated), after Sluice's shim, before
    /// `FLUME_CLASSPATH` and `plugins.d` (as `flume-ng -C`).
    #[arg(short = 'C', long = "classpath", value_name = "CLASSPATH")]
    pub classpath: Option<String>,
    /// `plugins.d` directories (`:`-separated); default: `plugins.d` in and beside the
    /// configuration directory, then `$FLUME_HOME/plugins.d` when `FLUME_HOME` is set (as
    /// `flume-ng --plugins-path`).
    #[arg(long = "plugins-path", value_name = "DIRS")]
    pub plugins_path: Option<String>,
}

impl JavaPluginArgs {
    /// The line logged for Flume's `-C`/`--classpath`, when given.
    pub fn classpath_note(&self) -> Option<String> {
        self.classpath.as_ref().map(|classpath| {
            format!("-C {classpath}: added to the classpath of Java plugins (docs/java-plugins.md)")
        })
    }

    /// Sets where the agent finds Java plugins: `--plugins-path`, else `plugins.d` in and
    /// beside the configuration directory (`-c`, else `conf_file`'s directory).
    pub fn set_java_env(&self, conf_file: &Path) {
        let dir: PathBuf = match &self.conf_dir {
            Some(d) => d.to_owned(),
            None => match conf_file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            },
        };
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let plugin_dirs = with_flume_home(
            jvm::plugin_dirs(&dir, self.plugins_path.as_deref()),
            self.plugins_path.is_some(),
            std::env::var_os("FLUME_HOME").map(PathBuf::from),
        );
        jvm::set_env(jvm::JavaEnv {
            plugin_dirs,
            classpath: self.classpath.clone(),
        });
    }
}

/// `dirs` and, as `flume-ng` looks there when no `--plugins-path` is given,
/// `$FLUME_HOME/plugins.d` (last, once; an unset or empty `FLUME_HOME` adds nothing).
fn with_flume_home(
    mut dirs: Vec<PathBuf>,
    plugins_path_given: bool,
    flume_home: Option<PathBuf>,
) -> Vec<PathBuf> {
    let home = flume_home.filter(|h| !h.as_os_str().is_empty());
    let Some(home) = home.filter(|_| !plugins_path_given) else {
        return dirs;
    };
    let d = home.join("plugins.d");
    let known = |p: &Path| p.canonicalize().ok();
    let present = dirs
        .iter()
        .any(|a| *a == d || known(a.as_path()).is_some_and(|c| Some(c) == known(d.as_path())));
    if !present {
        dirs.push(d);
    }
    dirs
}

/// The Java classes a configuration names, with their roles.
pub fn java_classes(cfg: &AgentConfig) -> Vec<(String, Role, String)> {
    let mut v = Vec::new();
    for (name, s) in &cfg.sources {
        if let SourceKind::Class(j) = &s.kind {
            v.push((
                format!("{}.sources.{name}.type", cfg.name),
                Role::Source,
                j.class.clone(),
            ));
        }
    }
    for (name, s) in &cfg.sources {
        if let sluice::agent::selector::ChannelSelector::Async(j) = &s.selector {
            v.push((
                format!("{}.sources.{name}.selector.type", cfg.name),
                Role::Selector,
                j.class.clone(),
            ));
        }
        for i in &s.interceptors {
            if i.kind == sluice::agent::interceptor::CLASS_KIND {
                v.push((
                    format!("{}.sources.{name}.interceptors.{}.type", cfg.name, i.name),
                    Role::Interceptor,
                    i.props.get("type").cloned().unwrap_or_default(),
                ));
            }
        }
    }
    for (name, g) in &cfg.sinkgroups {
        if let sluice::agent::processor::SinkProcessorConfig::OwnLoop(j) = &g.processor {
            v.push((
                format!("{}.sinkgroups.{name}.processor.type", cfg.name),
                Role::Processor,
                j.class.clone(),
            ));
        }
    }
    for (name, s) in &cfg.sinks {
        let key = |k: &str| format!("{}.sinks.{name}.{k}", cfg.name);
        match &s.kind {
            SinkKind::Class(j) => v.push((key("type"), Role::Sink, j.class.clone())),
            SinkKind::FileRoll(f) => {
                if let Some(j) = &f.java_serializer {
                    v.push((key("sink.serializer"), Role::Serializer, j.class.clone()));
                }
            }
            SinkKind::Hdfs(h) => {
                if let Some(j) = &h.serializer_class {
                    v.push((key("serializer"), Role::Serializer, j.class.clone()));
                }
            }
            _ => {}
        }
    }
    v
}

/// Where a plugin's jars belong, printed when a class cannot load.
pub const JAR_PLACEMENT: &str = "note: a plugin's jar belongs in plugins.d/NAME/lib/ (its \
    dependencies in plugins.d/NAME/libext/) beside the configuration file, in -c DIR, in \
    $FLUME_HOME, or under --plugins-path; Flume's own lib/ is not searched (or name the jar with -C/--classpath)";

/// Checks the configuration's Java classes in one JVM (nothing runs when there are none);
/// answers one message per class that cannot be used.
pub fn check_classes(cfg: &AgentConfig) -> anyhow::Result<Vec<String>> {
    let classes = java_classes(cfg);
    if classes.is_empty() {
        return Ok(Vec::new());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let list: Vec<(Role, String)> = classes.iter().map(|(_, r, c)| (*r, c.clone())).collect();
    let (missing, searched) = rt
        .block_on(check::check(&list))
        .context("checking Java classes")?;
    Ok(missing
        .into_iter()
        .map(|m| {
            let key = classes
                .iter()
                .find(|(_, _, c)| *c == m.class)
                .map(|(k, _, _)| k.as_str())
                .unwrap_or("");
            format!(
                "{key}: error: Java class {} cannot be used: {}; looked in {searched}",
                m.class, m.reason
            )
        })
        .collect())
}

/// A Java component for `config check`'s configure run.
fn component(
    role: Role,
    class: &str,
    name: String,
    props: Vec<(String, String)>,
) -> check::Component {
    check::Component {
        role,
        class: class.trim().to_owned(),
        name,
        props,
    }
}

/// The Java components a configuration names, each with its config key, as the agent runs
/// them (name and keys), for `config check`'s configure run.
pub fn java_components(cfg: &AgentConfig) -> Vec<(String, check::Component)> {
    let mut v = Vec::new();
    source_components(cfg, &mut v);
    for (name, g) in &cfg.sinkgroups {
        if let sluice::agent::processor::SinkProcessorConfig::OwnLoop(j) = &g.processor {
            let mut props = j.props.clone();
            props.push((check::PROCESSOR_SINKS_KEY.to_owned(), j.sinks.join(" ")));
            let at = format!("{}.sinkgroups.{name}.processor.type", cfg.name);
            v.push((
                at,
                component(Role::Processor, &j.class, name.clone(), props),
            ));
        }
    }
    sink_components(cfg, &mut v);
    v
}

/// The Java sources, selectors and interceptors of `cfg`, into `v`.
fn source_components(cfg: &AgentConfig, v: &mut Vec<(String, check::Component)>) {
    let c = component;
    for (name, s) in &cfg.sources {
        let key = |k: &str| format!("{}.sources.{name}.{k}", cfg.name);
        if let SourceKind::Class(j) = &s.kind {
            let props = j.props.clone();
            v.push((key("type"), c(Role::Source, &j.class, name.clone(), props)));
        }
        if let sluice::agent::selector::ChannelSelector::Async(j) = &s.selector {
            let mut props = j.props.clone();
            props.push((
                check::SELECTOR_CHANNELS_KEY.to_owned(),
                j.channels.join(" "),
            ));
            let sel = c(Role::Selector, &j.class, "selector".to_owned(), props);
            v.push((key("selector.type"), sel));
        }
        for i in &s.interceptors {
            if i.kind == sluice::agent::interceptor::CLASS_KIND {
                let class = i.props.get("type").cloned().unwrap_or_default();
                let props = i
                    .props
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let name = format!("interceptors.{}", i.name);
                let at = key(&format!("interceptors.{}.type", i.name));
                v.push((at, c(Role::Interceptor, &class, name, props)));
            }
        }
    }
}

/// The Java sinks and serializers of `cfg`, into `v`.
fn sink_components(cfg: &AgentConfig, v: &mut Vec<(String, check::Component)>) {
    for (name, s) in &cfg.sinks {
        let key = |k: &str| format!("{}.sinks.{name}.{k}", cfg.name);
        let ser = |j: &sluice::agent::java::serializer::JavaSerializerSpec| {
            component(
                Role::Serializer,
                &j.class,
                format!("{name}.serializer"),
                j.props.clone(),
            )
        };
        match &s.kind {
            SinkKind::Class(j) => v.push((
                key("type"),
                component(Role::Sink, &j.class, name.clone(), j.props.clone()),
            )),
            SinkKind::FileRoll(f) => {
                if let Some(j) = &f.java_serializer {
                    v.push((key("sink.serializer"), ser(j)));
                }
            }
            SinkKind::Hdfs(h) => {
                if let Some(j) = &h.serializer_class {
                    v.push((key("serializer"), ser(j)));
                }
            }
            _ => {}
        }
    }
}

/// Runs the `configure()` of every Java component of `cfg` in a JVM it then stops (nothing
/// runs when there are none): one message per component that throws, naming its key, its
/// class and the exception.
pub fn configure_components(cfg: &AgentConfig) -> anyhow::Result<Vec<String>> {
    let components = java_components(cfg);
    if components.is_empty() {
        return Ok(Vec::new());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let list: Vec<check::Component> = components.iter().map(|(_, c)| c.clone()).collect();
    let failed = rt.block_on(check::configure(&list));
    Ok(failed
        .into_iter()
        .filter_map(|(i, why)| {
            let (key, c) = components.get(i)?;
            Some(format!(
                "{key}: error: Java class {} cannot start: its {} {why}",
                c.class,
                c.role.word()
            ))
        })
        .collect())
}

/// `sluice plugins ...`.
#[derive(clap::Subcommand, Debug)]
pub enum PluginsCommand {
    /// Build Sluice's Flume-API shim jar (if needed) and print its path.
    Build,
}

/// Runs a `plugins` subcommand.
pub fn run(cmd: PluginsCommand) -> anyhow::Result<i32> {
    match cmd {
        PluginsCommand::Build => {
            let jar = shim::ensure_jar(&shim::cache_root()).context("building the shim jar")?;
            println!("{}", jar.display());
            Ok(crate::cli::exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flume_home_plugins_d_is_searched_after_the_configurations_unless_a_plugins_path_is_given() {
        let conf = vec![
            PathBuf::from("/etc/x/conf/plugins.d"),
            PathBuf::from("/etc/x/plugins.d"),
        ];
        let home = Some(PathBuf::from("/opt/flume"));
        let got = with_flume_home(conf.clone(), false, home.clone());
        assert_eq!(got.len(), 3);
        assert_eq!(got[..2], conf[..]);
        assert_eq!(got[2], PathBuf::from("/opt/flume/plugins.d"));
        assert_eq!(
            with_flume_home(conf.clone(), true, home),
            conf,
            "--plugins-path wins"
        );
        assert_eq!(with_flume_home(conf.clone(), false, None), conf);
        assert_eq!(
            with_flume_home(conf.clone(), false, Some(PathBuf::new())),
            conf
        );
        let once = with_flume_home(conf.clone(), false, Some(PathBuf::from("/etc/x")));
        assert_eq!(
            once, conf,
            "FLUME_HOME/plugins.d already beside the configuration"
        );
    }
}
