//! A source's `interceptors` list and each `interceptors.<name>.*`: the type checked
//! against [`TYPES`], the interceptor built once so a bad key is reported with its line. A
//! type that is a Java class name is a user's interceptor: every key is its own.

use super::TYPES;
use crate::agent::component::{resolve, supported, Props};
use crate::agent::config::ctx::did_you_mean;
use crate::agent::config::Ctx;

/// One interceptor of a source's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterceptorSpec {
    /// Its name in `interceptors = i1 i2`.
    pub name: String,
    /// The short type name ([`super::CLASS_KIND`] for a user's builder class).
    pub kind: String,
    /// Its properties relative to `interceptors.<name>.` (including `type`: for a Java
    /// interceptor, its builder's class).
    pub props: Props,
}

/// Checks `interceptors` and `interceptors.<i>.*` (by building each) and returns the chain's
/// specs in order.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Vec<InterceptorSpec> {
    cx.use_prefix("interceptors.");
    let Some(list) = cx.get("interceptors") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in list.split_whitespace() {
        let mut props = cx.sub_props(&format!("interceptors.{name}."));
        let type_key = format!("interceptors.{name}.type");
        let Some(t) = props.get("type").cloned() else {
            cx.error(&type_key, "interceptor has no type");
            continue;
        };
        let Some(short) = resolve(TYPES, &t) else {
            if crate::agent::component::is_class_name(&t) {
                // A user's `Interceptor.Builder`: loaded (and checked) by the plugin host.
                props.insert("type".into(), t.trim().to_owned());
                out.push(InterceptorSpec {
                    name: name.to_owned(),
                    kind: super::CLASS_KIND.to_owned(),
                    props,
                });
                continue;
            }
            let msg = format!(
                "unknown interceptor type {t:?}; supported: {}",
                supported(TYPES)
            );
            cx.error(&type_key, msg);
            continue;
        };
        if let Err(e) = super::build(short, &props) {
            cx.error(&format!("interceptors.{name}.{}", e.key), e.message);
            continue;
        }
        for k in super::unknown_keys(short, &props) {
            let hint = did_you_mean(&k, super::fixed_keys(short).iter().copied());
            let msg = format!("unknown key for a {short} interceptor; ignored{hint}");
            cx.warn(&format!("interceptors.{name}.{k}"), msg);
        }
        props.insert("type".into(), short.into());
        out.push(InterceptorSpec {
            name: name.to_owned(),
            kind: short.to_owned(),
            props,
        });
    }
    out
}
