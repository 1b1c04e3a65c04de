//! A source's interceptor chain: the interceptors named by the source's `interceptors` key,
//! applied in the listed order; an event dropped by one is not seen by the next. A step is
//! [`Step::Sync`] (called in place) or [`Step::Async`] (awaited: a call into another process),
//! so a chain that has an async one is applied with [`Chain::apply`] and may fail (the batch
//! is then refused).
//! Either way, a batch that grows past its bound (bound.rs: an amplifying interceptor) after
//! a step is refused, naming the step.

use super::bound::{self, Grew};
use super::{build, AsyncInterceptor, Interceptor};
use crate::agent::component::{ComponentError, Props};
use crate::agent::future::StepError;
use sluice_core::Event;

/// One step of a chain.
#[derive(Debug)]
pub(crate) enum Step {
    /// Called in place (every one of Sluice's interceptors).
    Sync(Box<dyn Interceptor>),
    /// Awaited, and may refuse the batch (a user's class, run by the plugin host).
    Async(Box<dyn AsyncInterceptor>),
}

/// An interceptor refused a batch.
#[derive(Debug, thiserror::Error)]
#[error("interceptor {name}: {source}")]
pub struct InterceptError {
    /// The interceptor's name in `interceptors`.
    pub name: String,
    /// Why.
    #[source]
    pub source: Refused,
}

/// Why an interceptor refused a batch.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// An async step refused it (a plugin threw, its process ended, or an event could not
    /// cross to it).
    #[error(transparent)]
    Step(#[from] StepError),
    /// The batch grew past its bound (bound.rs).
    #[error(transparent)]
    Grew(#[from] Grew),
}

impl Refused {
    /// Whether sending the same batch again may succeed (a grown batch would grow again).
    pub fn retryable(&self) -> bool {
        match self {
            Refused::Step(e) => e.retryable(),
            Refused::Grew(_) => false,
        }
    }
}

/// `source` as the error of step `name`.
fn refused(name: &str, source: impl Into<Refused>) -> InterceptError {
    InterceptError {
        name: name.to_owned(),
        source: source.into(),
    }
}

/// Interceptors applied in order.
#[derive(Debug, Default)]
pub struct Chain {
    steps: Vec<(String, Step)>,
}

impl Chain {
    /// A chain of already-built interceptors, each with its name.
    pub(crate) fn of(steps: Vec<(String, Step)>) -> Self {
        Chain { steps }
    }

    /// Whether a step is [`Step::Async`] (the chain must then be [`Chain::apply`]'d).
    pub(crate) fn awaits(&self) -> bool {
        self.steps.iter().any(|(_, s)| matches!(s, Step::Async(_)))
    }

    /// Applies every step in order: a sync one in place, an async one awaited;
    /// the batch is weighed after each (bound.rs).
    pub(crate) async fn apply(&self, mut v: Vec<Event>) -> Result<Vec<Event>, InterceptError> {
        let in_bytes = bound::weight(&v);
        let max = bound::max_for(in_bytes);
        for (name, step) in &self.steps {
            if v.is_empty() {
                break;
            }
            v = match step {
                Step::Sync(i) => i.intercept_batch(v),
                Step::Async(a) => a.intercept_batch(v).await.map_err(|e| refused(name, e))?,
            };
            bound::check(&v, in_bytes, max).map_err(|e| refused(name, e))?;
        }
        Ok(v)
    }

    /// Applies the chain on the calling thread; only for a chain that does not
    /// [`Chain::awaits`] (an async step is refused).
    pub fn apply_native(&self, mut v: Vec<Event>) -> Result<Vec<Event>, InterceptError> {
        let in_bytes = bound::weight(&v);
        let max = bound::max_for(in_bytes);
        for (name, step) in &self.steps {
            v = match step {
                Step::Sync(i) => i.intercept_batch(v),
                Step::Async(a) => {
                    let message = format!(
                        "{}: an async interceptor cannot be called on a blocking thread",
                        a.label()
                    );
                    return Err(refused(name, StepError::new(message, true)));
                }
            };
            bound::check(&v, in_bytes, max).map_err(|e| refused(name, e))?;
        }
        Ok(v)
    }

    /// Builds the chain from a source's properties (keys relative to the source):
    /// `interceptors = i1 i2` and `interceptors.<i>.type` plus each interceptor's keys.
    /// Errors name the key relative to the source, e.g. `interceptors.i1.regex`.
    pub fn from_source_props(source: &Props) -> Result<Self, ComponentError> {
        let Some(list) = source.get("interceptors") else {
            return Ok(Chain::default());
        };
        let mut interceptors = Vec::new();
        for name in list.split_whitespace() {
            let prefix = format!("interceptors.{name}.");
            let props: Props = source
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|r| (r.to_string(), v.clone())))
                .collect();
            let type_name = props
                .get("type")
                .ok_or_else(|| ComponentError::new(format!("{prefix}type"), "is required"))?;
            let built = build(type_name, &props)
                .map_err(|e| ComponentError::new(format!("{prefix}{}", e.key), e.message))?;
            interceptors.push((name.to_owned(), Step::Sync(built)));
        }
        Ok(Chain {
            steps: interceptors,
        })
    }

    /// Keys under `interceptors.` in a source's properties that no listed interceptor reads,
    /// relative to the source (for the config layer's unknown-key warnings).
    #[cfg(test)]
    pub(crate) fn unknown_keys(source: &Props) -> Vec<String> {
        let listed: Vec<&str> = source
            .get("interceptors")
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for key in source.keys() {
            let Some((name, _)) = key
                .strip_prefix("interceptors.")
                .and_then(|r| r.split_once('.'))
            else {
                continue;
            };
            if !listed.contains(&name) {
                out.push(key.clone());
            }
        }
        for name in listed {
            let prefix = format!("interceptors.{name}.");
            let props: Props = source
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|r| (r.to_string(), v.clone())))
                .collect();
            if let Some(t) = props.get("type") {
                out.extend(
                    super::unknown_keys(t, &props)
                        .into_iter()
                        .map(|k| format!("{prefix}{k}")),
                );
            }
        }
        out.sort();
        out
    }

    /// How many interceptors the chain has.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.steps.len()
    }

    /// True if the chain has no interceptors (events pass unchanged).
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// One event through a chain of Sluice's interceptors (tests).
    #[cfg(test)]
    fn intercept(&self, e: Event) -> Option<Event> {
        self.apply_native(vec![e]).ok()?.pop()
    }

    /// A batch through a chain of Sluice's interceptors (tests).
    #[cfg(test)]
    fn intercept_batch(&self, v: Vec<Event>) -> Vec<Event> {
        self.apply_native(v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::agent::component::props_of as props;

    fn source() -> Props {
        props(&[
            ("type", "netcat"),
            ("interceptors", "drop tag"),
            ("interceptors.drop.type", "regex_filter"),
            ("interceptors.drop.regex", "^skip"),
            ("interceptors.drop.excludeEvents", "true"),
            (
                "interceptors.tag.type",
                "org.apache.flume.interceptor.StaticInterceptor$Builder",
            ),
            ("interceptors.tag.key", "dc"),
            ("interceptors.tag.value", "eu"),
        ])
    }

    #[test]
    fn a_source_without_interceptors_gets_an_empty_chain() {
        let c = Chain::from_source_props(&props(&[("type", "seq")])).unwrap();
        assert!(c.is_empty());
        assert_eq!(c.intercept(Event::new("x")), Some(Event::new("x")));
    }

    #[test]
    fn interceptors_apply_in_order_and_dropped_events_stop() {
        let c = Chain::from_source_props(&source()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.intercept(Event::new("skip me")), None);
        assert_eq!(
            c.intercept(Event::new("ok")),
            Some(Event::new("ok").header("dc", "eu"))
        );
    }

    #[test]
    fn batches_keep_order_and_lose_only_dropped_events() {
        let c = Chain::from_source_props(&source()).unwrap();
        let out = c.intercept_batch(vec![Event::new("a"), Event::new("skip"), Event::new("b")]);
        let bodies: Vec<&[u8]> = out.iter().map(|e| &e.body[..]).collect();
        assert_eq!(bodies, [b"a".as_slice(), b"b".as_slice()]);
        assert!(out.iter().all(|e| &e.headers["dc"] == "eu"));
    }

    #[test]
    fn order_matters_when_a_later_interceptor_reads_an_earlier_ones_output() {
        let mut p = props(&[
            ("interceptors", "a b"),
            ("interceptors.a.type", "static"),
            ("interceptors.a.key", "k"),
            ("interceptors.a.value", "first"),
            ("interceptors.b.type", "static"),
            ("interceptors.b.key", "k"),
            ("interceptors.b.value", "second"),
        ]);
        let k = |p: &Props| {
            let c = Chain::from_source_props(p).unwrap();
            let e = c.intercept(Event::new("x")).unwrap();
            e.headers.get("k").map(str::to_owned)
        };
        // static preserves existing by default, so the first one wins.
        assert_eq!(k(&p).as_deref(), Some("first"));
        p.insert("interceptors".into(), "b a".into());
        assert_eq!(k(&p).as_deref(), Some("second"));
    }

    #[test]
    fn unknown_keys_are_reported_relative_to_the_source() {
        let mut p = source();
        p.insert("interceptors.tag.vaule".into(), "typo".into());
        p.insert("interceptors.gone.type".into(), "host".into());
        p.insert("port".into(), "not an interceptor key".into());
        assert_eq!(
            Chain::unknown_keys(&p),
            ["interceptors.gone.type", "interceptors.tag.vaule"]
        );
        assert!(Chain::unknown_keys(&source()).is_empty());
    }

    /// An async step that tags each event, or refuses every batch with `refusal`.
    #[derive(Debug)]
    struct Remote {
        refusal: Option<bool>,
    }

    impl AsyncInterceptor for Remote {
        fn label(&self) -> &str {
            "remote (com.example.Remote)"
        }

        fn intercept_batch(
            &self,
            v: Vec<Event>,
        ) -> crate::agent::future::BoxFuture<'_, Result<Vec<Event>, StepError>> {
            let out = match self.refusal {
                Some(retryable) => Err(StepError::new("com.example.Remote threw", retryable)),
                None => Ok(v.into_iter().map(|e| e.header("remote", "yes")).collect()),
            };
            Box::pin(std::future::ready(out))
        }
    }

    fn with_remote(refusal: Option<bool>) -> Chain {
        let tag = build("static", &props(&[("key", "k"), ("value", "v")])).unwrap();
        Chain::of(vec![
            ("tag".into(), Step::Sync(tag)),
            ("far".into(), Step::Async(Box::new(Remote { refusal }))),
        ])
    }

    #[tokio::test]
    async fn an_async_step_is_awaited_in_order_after_the_sync_ones() {
        let c = with_remote(None);
        assert!(c.awaits());
        let out = c.apply(vec![Event::new("x")]).await.unwrap();
        assert_eq!(
            out,
            [Event::new("x").header("k", "v").header("remote", "yes")]
        );
    }

    #[tokio::test]
    async fn an_async_refusal_names_the_step_and_keeps_whether_it_may_pass_later() {
        let err = with_remote(Some(true))
            .apply(vec![Event::new("x")])
            .await
            .unwrap_err();
        assert_eq!(err.name, "far");
        assert!(err.source.retryable());
        assert_eq!(err.to_string(), "interceptor far: com.example.Remote threw");
        let never = with_remote(Some(false))
            .apply(vec![Event::new("x")])
            .await
            .unwrap_err();
        assert!(!never.source.retryable());
    }

    #[test]
    fn an_async_step_is_refused_on_a_blocking_thread() {
        let c = with_remote(None);
        let err = c.apply_native(vec![Event::new("x")]).unwrap_err();
        assert_eq!(err.name, "far");
        assert!(
            err.to_string().contains("remote (com.example.Remote)"),
            "{err}"
        );
        assert!(!Chain::from_source_props(&source()).unwrap().awaits());
    }

    #[test]
    fn errors_name_the_key_relative_to_the_source() {
        let mut p = source();
        p.insert("interceptors.drop.regex".into(), "(".into());
        let err = Chain::from_source_props(&p).unwrap_err();
        assert_eq!(err.key, "interceptors.drop.regex");
        let mut p = source();
        p.remove("interceptors.tag.type");
        let err = Chain::from_source_props(&p).unwrap_err();
        assert_eq!(err.key, "interceptors.tag.type");
        let mut p = source();
        p.insert("interceptors.tag.type".into(), "nope".into());
        assert_eq!(
            Chain::from_source_props(&p).unwrap_err().key,
            "interceptors.tag.type"
        );
    }
}
