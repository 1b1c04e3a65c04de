//! Client properties: the `kafka.producer.*` / `kafka.consumer.*` keys of a Flume
//! configuration (Java client names) become librdkafka properties.
//!
//! Most names are the same in both clients (`acks`, `linger.ms`, `compression.type`,
//! `security.protocol`, `ssl.keystore.location`, `sasl.kerberos.service.name`, ...) and pass
//! through as they are. The few that differ are renamed ([`RENAMED`]); Java-only keys that
//! have no meaning here are dropped with a warning ([`DROPPED`]); keys whose Java form
//! cannot be honoured (JKS trust stores, Java classes) are refused with the librdkafka key to
//! use instead ([`REFUSED`]). `sasl.jaas.config` is read for its `username`/`password` (PLAIN,
//! SCRAM) or `keyTab`/`principal` (Kerberos). Every resulting property is then checked by
//! librdkafka itself, so an unknown key or a bad value is an error at its line.

use std::collections::BTreeMap;

use rdkafka::config::ClientConfig;

use crate::agent::config::ctx::Ctx;

/// Java key -> librdkafka key.
pub(crate) const RENAMED: &[(&str, &str)] = &[
    ("sasl.mechanism", "sasl.mechanisms"),
    ("max.request.size", "message.max.bytes"),
    ("fetch.max.wait.ms", "fetch.wait.max.ms"),
    ("receive.buffer.bytes", "socket.receive.buffer.bytes"),
    ("send.buffer.bytes", "socket.send.buffer.bytes"),
];

/// Java-only keys ignored with a warning, and why.
pub(crate) const DROPPED: &[(&str, &str)] = &[
    (
        "key.serializer",
        "records are bytes; serializers do not apply",
    ),
    (
        "value.serializer",
        "records are bytes; serializers do not apply",
    ),
    (
        "key.deserializer",
        "records are bytes; deserializers do not apply",
    ),
    (
        "value.deserializer",
        "records are bytes; deserializers do not apply",
    ),
    (
        "buffer.memory",
        "librdkafka bounds its queue with queue.buffering.max.kbytes",
    ),
    (
        "max.block.ms",
        "a full producer queue is waited on within the batch's time limit",
    ),
    ("max.poll.records", "batchSize bounds what one batch takes"),
    (
        "ssl.protocol",
        "librdkafka negotiates the TLS version with OpenSSL",
    ),
    (
        "ssl.enabled.protocols",
        "librdkafka negotiates the TLS version with OpenSSL",
    ),
    (
        "ssl.keystore.type",
        "librdkafka reads a PKCS#12 keystore (or PEM through ssl.key.location)",
    ),
];

/// Keys whose Java form cannot be honoured, with what to use instead.
pub(crate) const REFUSED: &[(&str, &str)] = &[
    ("ssl.truststore.location", "librdkafka reads PEM CA certificates: set ssl.ca.location to a PEM file (keytool -exportcert -rfc converts a JKS trust store)"),
    ("ssl.truststore.password", "librdkafka reads PEM CA certificates: set ssl.ca.location instead of a trust store"),
    ("ssl.truststore.type", "librdkafka reads PEM CA certificates: set ssl.ca.location instead of a trust store"),
    ("partitioner.class", "Java classes cannot be loaded; use partitioner (murmur2_random is Java's default)"),
    ("interceptor.classes", "Java classes cannot be loaded"),
    ("sasl.login.callback.handler.class", "Java classes cannot be loaded"),
    ("sasl.client.callback.handler.class", "Java classes cannot be loaded"),
];

/// Keys Sluice sets itself for its delivery guarantees; a configured value is refused.
pub(crate) const OWNED_BY_SLUICE: &[&str] = &["enable.auto.commit", "enable.auto.offset.store"];

/// librdkafka properties of one client, translated and checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientProps {
    /// Property -> value, in librdkafka's names.
    pub props: BTreeMap<String, String>,
}

impl ClientProps {
    /// Reads `kafka.bootstrap.servers` (required) and every `<prefix>*` key (`kafka.producer.`
    /// or `kafka.consumer.`), translated; problems are reported through `cx`.
    pub(crate) fn read(cx: &mut Ctx<'_>, prefix: &str) -> Option<ClientProps> {
        let servers = cx.required("kafka.bootstrap.servers");
        let mut out = ClientProps::default();
        out.read_prefix(cx, prefix);
        let servers = servers?;
        out.props
            .insert("bootstrap.servers".into(), servers.trim().to_owned());
        out.check(cx, prefix).then_some(out)
    }

    /// Reads the `<prefix>*` keys into `self` (a second prefix may follow, e.g. the channel's
    /// producer and consumer keys go to two `ClientProps`).
    pub(crate) fn read_prefix(&mut self, cx: &mut Ctx<'_>, prefix: &str) {
        let keys: Vec<String> = cx
            .comp()
            .props
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        cx.use_prefix(prefix);
        for full in keys {
            let Some(value) = cx.get(&full) else { continue };
            let key = &full[prefix.len()..];
            let value = value.trim().to_owned();
            if key.starts_with("header.") && prefix.ends_with("producer.") {
                // Read by the sink itself (Flume's kafka.producer.header.* is not a client key).
                continue;
            }
            if OWNED_BY_SLUICE.contains(&key) {
                cx.error(
                    &full,
                    "Sluice commits offsets itself, only after the channel committed the events \
                     (at-least-once); remove this key",
                );
                continue;
            }
            if let Some((_, why)) = REFUSED.iter().find(|(k, _)| *k == key) {
                cx.error(&full, format!("not supported by librdkafka: {why}"));
                continue;
            }
            if let Some((_, why)) = DROPPED.iter().find(|(k, _)| *k == key) {
                cx.warn(&full, format!("ignored: {why}"));
                continue;
            }
            if key == "sasl.jaas.config" {
                match jaas(&value) {
                    Ok(pairs) => {
                        for (k, v) in pairs {
                            self.props.insert(k.into(), v);
                        }
                    }
                    Err(why) => cx.error(&full, why.to_string()),
                }
                continue;
            }
            let name = RENAMED
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, to)| (*to).to_owned())
                .unwrap_or_else(|| key.to_owned());
            let value = match translate_value(&name, &value) {
                Ok(v) => v,
                Err(why) => {
                    cx.error(&full, why.to_string());
                    continue;
                }
            };
            self.props.insert(name, value);
        }
    }

    /// Asks librdkafka to accept every property; an unknown key or a bad value is an error.
    pub(crate) fn check(&self, cx: &mut Ctx<'_>, prefix: &str) -> bool {
        let mut ok = true;
        for (k, v) in &self.props {
            let mut one = ClientConfig::new();
            one.set(k, v);
            if let Err(e) = one.create_native_config() {
                let key = if k == "bootstrap.servers" {
                    "kafka.bootstrap.servers".to_owned()
                } else {
                    original_key(cx, prefix, k)
                };
                cx.error(&key, format!("librdkafka refuses {k}={v:?}: {e}"));
                ok = false;
            }
        }
        ok
    }

    /// A librdkafka configuration with these properties plus `extra` (which win).
    pub(crate) fn client_config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        // Refused connections and unknown topics are warnings: the agent's log shows them.
        // librdkafka's own `debug` contexts (`kafka.consumer.debug = cgrp,fetch`) log at
        // debug level, which the agent's log then shows with `RUST_LOG=...kafka=debug`.
        c.set_log_level(if self.props.contains_key("debug") {
            rdkafka::config::RDKafkaLogLevel::Debug
        } else {
            rdkafka::config::RDKafkaLogLevel::Warning
        });
        for (k, v) in &self.props {
            c.set(k, v);
        }
        for (k, v) in extra {
            c.set(*k, *v);
        }
        c
    }

    /// The value of a librdkafka property, if set.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }
}

/// The configured key that produced librdkafka property `k` (for error lines).
fn original_key(cx: &Ctx<'_>, prefix: &str, k: &str) -> String {
    let java = RENAMED
        .iter()
        .find(|(_, to)| *to == k)
        .map(|(from, _)| *from)
        .unwrap_or(k);
    let full = format!("{prefix}{java}");
    if cx.comp().props.contains_key(&full) {
        full
    } else {
        format!("{prefix}sasl.jaas.config")
    }
}

/// Why a Java client property cannot be given to librdkafka.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PropError {
    /// A `partition.assignment.strategy` entry librdkafka has no counterpart for.
    #[error("unknown assignor {0:?}; librdkafka has range, roundrobin and cooperative-sticky")]
    UnknownAssignor(String),
    /// A Plain or Scram `sasl.jaas.config` entry without one of its fields.
    #[error("no {0}=\"...\" in the JAAS entry")]
    JaasMissing(&'static str),
    /// A `sasl.jaas.config` login module other than Plain, Scram or Krb5.
    #[error(
        "only PlainLoginModule, ScramLoginModule and Krb5LoginModule entries are understood; \
         set sasl.username/sasl.password (librdkafka's keys) instead"
    )]
    JaasModule,
}

/// Java values librdkafka spells differently.
fn translate_value(key: &str, value: &str) -> Result<String, PropError> {
    match key {
        // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.
        "security.protocol" => Ok(value.to_ascii_lowercase()),
        "auto.offset.reset" if value.eq_ignore_ascii_case("none") => Ok("error".into()),
        "partition.assignment.strategy" => value
            .split(',')
            .map(|s| {
                let s = s.trim();
                match s.rsplit('.').next().unwrap_or(s) {
                    "RangeAssignor" | "range" => Ok("range"),
                    "RoundRobinAssignor" | "roundrobin" => Ok("roundrobin"),
                    "CooperativeStickyAssignor" | "cooperative-sticky" => Ok("cooperative-sticky"),
                    other => Err(PropError::UnknownAssignor(other.to_owned())),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(",")),
        _ => Ok(value.to_owned()),
    }
}

/// The librdkafka properties a `sasl.jaas.config` value stands for.
fn jaas(value: &str) -> Result<Vec<(&'static str, String)>, PropError> {
    let field = |name: &str| -> Option<String> {
        let re = regex::Regex::new(&format!(r#"(?i)\b{name}\s*=\s*"([^"]*)""#)).ok()?;
        re.captures(value)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_owned())
    };
    if value.contains("PlainLoginModule") || value.contains("ScramLoginModule") {
        let user = field("username").ok_or(PropError::JaasMissing("username"))?;
        let pass = field("password").ok_or(PropError::JaasMissing("password"))?;
        Ok(vec![("sasl.username", user), ("sasl.password", pass)])
    } else if value.contains("Krb5LoginModule") {
        let mut out = Vec::new();
        if let Some(k) = field("keyTab") {
            out.push(("sasl.kerberos.keytab", k));
        }
        if let Some(p) = field("principal") {
            out.push(("sasl.kerberos.principal", p));
        }
        Ok(out)
    } else {
        Err(PropError::JaasModule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_jaas_entry_becomes_username_and_password() {
        let v = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cret";"#;
        assert_eq!(
            jaas(v).unwrap(),
            vec![
                ("sasl.username", "alice".to_owned()),
                ("sasl.password", "s3cret".to_owned())
            ]
        );
        assert!(jaas("com.example.Custom required;").is_err());
    }

    #[test]
    fn java_values_are_spelled_as_librdkafka_spells_them() {
        assert_eq!(
            translate_value("security.protocol", "SASL_SSL").unwrap(),
            "sasl_ssl"
        );
        assert_eq!(
            translate_value(
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.RangeAssignor"
            )
            .unwrap(),
            "range"
        );
        assert!(translate_value("partition.assignment.strategy", "StickyAssignor").is_err());
        assert_eq!(
            translate_value("auto.offset.reset", "none").unwrap(),
            "error"
        );
    }
}
