//! The `fs.s3a.*` keys of a Hadoop `core-site.xml` (where a Flume user keeps the S3A
//! endpoint, credentials, region and path-style switch): `<property><name>` / `<value>` pairs
//! read with `roxmltree` (the parser the HDFS client reads the same file with). Only the
//! keys Sluice maps are kept; `${...}` references and `<include>`s are not expanded.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "Hadoop's core-site.xml is read from the real disk, tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::collections::BTreeMap;
use std::path::Path;

/// Largest core-site.xml read.
pub const CORE_SITE_BYTES_MAX: u64 = 4 << 20;

/// The `fs.s3a.*` keys Sluice maps onto its S3 client.
pub const S3A_KEYS: [&str; 7] = [
    "fs.s3a.connection.ssl.enabled",
    "fs.s3a.endpoint",
    "fs.s3a.access.key",
    "fs.s3a.secret.key",
    "fs.s3a.session.token",
    "fs.s3a.path.style.access",
    "fs.s3a.endpoint.region",
];

/// The mapped `fs.s3a.*` keys of a core-site.xml, by name.
pub type S3aKeys = BTreeMap<String, String>;

/// Reads the mapped `fs.s3a.*` keys of `dir/core-site.xml`: an empty map when the file does
/// not exist, an error naming the file when it cannot be read or parsed.
pub fn read_s3a_keys(dir: &Path) -> Result<S3aKeys, CoreSiteError> {
    let path = dir.join("core-site.xml");
    let io = |source| CoreSiteError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io(e)),
    };
    if meta.len() > CORE_SITE_BYTES_MAX {
        return Err(CoreSiteError::TooLarge { path });
    }
    let text = std::fs::read_to_string(&path).map_err(io)?;
    parse_s3a_keys(&text).map_err(|source| CoreSiteError::Xml { path, source })
}

/// Why a core-site.xml cannot be used; it names the file.
#[derive(Debug, thiserror::Error)]
pub enum CoreSiteError {
    /// It cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is larger than [`CORE_SITE_BYTES_MAX`].
    #[error("{}: larger than {CORE_SITE_BYTES_MAX} bytes", path.display())]
    TooLarge {
        /// The file.
        path: std::path::PathBuf,
    },
    /// It is not XML.
    #[error("{}: {source}", path.display())]
    Xml {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: roxmltree::Error,
    },
}

/// The mapped `fs.s3a.*` keys of a core-site.xml text (a later property wins, as in Hadoop).
pub fn parse_s3a_keys(text: &str) -> Result<S3aKeys, roxmltree::Error> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts)?;
    let mut out = BTreeMap::new();
    for prop in doc.descendants().filter(|n| n.has_tag_name("property")) {
        let child = |tag: &str| {
            prop.children()
                .find(|c| c.has_tag_name(tag))
                .map(|c| c.text().unwrap_or("").trim().to_owned())
        };
        let (Some(name), Some(value)) = (child("name"), child("value")) else {
            continue;
        };
        if S3A_KEYS.contains(&name.as_str()) {
            out.insert(name, value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3a_keys_are_read_and_other_keys_left_out() {
        let xml = r#"<?xml version="1.0"?>
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://nn:9000</value></property>
  <property><name>fs.s3a.endpoint</name><value> http://127.0.0.1:9000 </value></property>
  <property><name>fs.s3a.access.key</name><value>AK</value></property>
  <property><name>fs.s3a.path.style.access</name><value>true</value></property>
  <property><name>fs.s3a.access.key</name><value>AK2</value></property>
</configuration>"#;
        let keys = parse_s3a_keys(xml).unwrap();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(keys["fs.s3a.endpoint"], "http://127.0.0.1:9000");
        assert_eq!(keys["fs.s3a.access.key"], "AK2");
        assert_eq!(keys["fs.s3a.path.style.access"], "true");
    }

    #[test]
    fn a_broken_core_site_is_an_error() {
        assert!(parse_s3a_keys("<configuration><property>").is_err());
    }
}
