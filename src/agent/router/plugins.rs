//! The steps the router starts without knowing what runs them: an interceptor or a channel
//! selector whose `type` is a class name is started by the [`PluginHost`] that the source's
//! [`Wiring`] names (the registry's one table maps class names to their host). The router
//! sees only the shapes: [`Step::Async`] and [`AsyncSelector`].

use crate::agent::component::{ComponentError, Props};
use crate::agent::interceptor::{self, AsyncInterceptor, Step};
use crate::agent::selector::{AsyncSelector, AsyncSelectorSpec, ChannelSelector};

use super::Wiring;

/// Starts the plugins whose `type` is a class name, each on the current tokio runtime.
pub trait PluginHost: Send + Sync + std::fmt::Debug {
    /// Starts interceptor `name` of builder class `class` with its keys (relative to
    /// `interceptors.<name>.`, `type` included).
    fn interceptor(&self, name: &str, class: &str, props: &Props) -> Box<dyn AsyncInterceptor>;

    /// Starts the channel selector `spec`.
    fn selector(&self, spec: &AsyncSelectorSpec) -> Box<dyn AsyncSelector>;
}

/// The host of the source's class-named plugins, or an error naming `key`.
fn host(cfg: &impl Wiring, key: &str) -> Result<&'static dyn PluginHost, ComponentError> {
    cfg.plugins().ok_or_else(|| {
        let msg = "names a class, and this source was wired without a plugin host; \
                   use one of Sluice's types or run it from an agent configuration";
        ComponentError::new(key, msg)
    })
}

/// The source's interceptor chain, each step built or started, in order.
pub(super) fn steps(cfg: &impl Wiring) -> Result<Vec<(String, Step)>, ComponentError> {
    let mut built = Vec::new();
    for spec in cfg.interceptors() {
        let step = match spec.props.get("type") {
            Some(class) if spec.kind == interceptor::CLASS_KIND => {
                let key = format!("interceptors.{}.type", spec.name);
                Step::Async(host(cfg, &key)?.interceptor(&spec.name, class, &spec.props))
            }
            _ => Step::Sync(interceptor::build(&spec.kind, &spec.props)?),
        };
        built.push((spec.name.clone(), step));
    }
    Ok(built)
}

/// The source's async selector, started, when `selector.type` names one.
pub(super) fn selector(
    cfg: &impl Wiring,
) -> Result<Option<Box<dyn AsyncSelector>>, ComponentError> {
    match cfg.selector() {
        ChannelSelector::Async(spec) => Ok(Some(host(cfg, "selector.type")?.selector(spec))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::component::props_of;
    use crate::agent::interceptor::config::InterceptorSpec;

    /// A source wired by hand, without a plugin host.
    struct Bare {
        interceptors: Vec<InterceptorSpec>,
        selector: ChannelSelector,
    }

    impl Wiring for Bare {
        fn interceptors(&self) -> &[InterceptorSpec] {
            &self.interceptors
        }
        fn selector(&self) -> &ChannelSelector {
            &self.selector
        }
        fn channels(&self) -> &[String] {
            &[]
        }
    }

    fn class_interceptor() -> InterceptorSpec {
        InterceptorSpec {
            name: "i1".into(),
            kind: interceptor::CLASS_KIND.into(),
            props: props_of(&[("type", "com.example.Tag$Builder")]),
        }
    }

    #[test]
    fn a_class_named_step_without_a_plugin_host_is_refused_naming_its_key() {
        let bare = Bare {
            interceptors: vec![class_interceptor()],
            selector: ChannelSelector::Replicating {
                required: Vec::new(),
                optional: Vec::new(),
            },
        };
        let err = steps(&bare).unwrap_err();
        assert_eq!(err.key, "interceptors.i1.type");
        assert!(err.message.contains("plugin host"), "{}", err.message);
    }

    #[test]
    fn a_class_named_selector_without_a_plugin_host_is_refused_naming_its_key() {
        let bare = Bare {
            interceptors: Vec::new(),
            selector: ChannelSelector::Async(AsyncSelectorSpec {
                class: "com.example.Pick".into(),
                props: Vec::new(),
                channels: vec!["c1".into()],
            }),
        };
        let err = selector(&bare).unwrap_err();
        assert_eq!(err.key, "selector.type");
    }

    #[test]
    fn sluice_steps_are_sync_and_need_no_host() {
        let bare = Bare {
            interceptors: vec![InterceptorSpec {
                name: "h".into(),
                kind: "static".into(),
                props: props_of(&[("type", "static"), ("key", "k"), ("value", "v")]),
            }],
            selector: ChannelSelector::Replicating {
                required: Vec::new(),
                optional: Vec::new(),
            },
        };
        let built = steps(&bare).unwrap();
        assert!(matches!(built.as_slice(), [(name, Step::Sync(_))] if name == "h"));
        assert!(selector(&bare).unwrap().is_none());
    }
}
