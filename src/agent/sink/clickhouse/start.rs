//! What the sink checks before its first take, each refusal a [`StartError`] naming the
//! server, the user, the table or the column: the server is ClickHouse and takes the user's
//! password (`SELECT version()`), the table exists (`system.tables`, which also gives its
//! engine), its columns can be filled (`DESCRIBE TABLE`, [`super::schema::plan`]), and which
//! newer settings the server has (`insert_deduplication_token` from 22.2,
//! `input_format_defaults_for_omitted_fields` from 19.x).

use super::client::{ChClient, ChError};
use super::config::{ClickHouseConfig, Secret};
use super::schema::{self, Column, SchemaError, ID_COLUMN};

/// ClickHouse's codes for a user it does not let in: UNKNOWN_USER 192, WRONG_PASSWORD 193,
/// REQUIRED_PASSWORD 194, IP_ADDRESS_NOT_ALLOWED 195, AUTHENTICATION_FAILED 516.
const AUTH_CODES: [u32; 5] = [192, 193, 194, 195, 516];

/// Why the sink cannot start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// `passwordFile` cannot be read.
    #[error("cannot read passwordFile {path}: {source}")]
    PasswordFile {
        path: String,
        source: std::io::Error,
    },
    /// The server does not let the user in.
    #[error("ClickHouse at {url} refused user {user:?}: Code {code}: {message}")]
    Auth {
        url: String,
        user: String,
        code: u32,
        message: String,
    },
    /// No table of that name.
    #[error("table {table} does not exist at {url}: create it (docs/clickhouse.md has a DDL) or fix `database` / `table`")]
    NoTable { table: String, url: String },
    /// The table's columns.
    #[error("{0} (at {1})")]
    Schema(SchemaError, String),
    /// `ssl = true` and a truststore that cannot be read or used.
    #[error("clickhouse TLS for {url}: {source}")]
    Tls {
        url: String,
        source: crate::agent::rpc::transport::TransportError,
    },
    /// Any other failure of a start query.
    #[error(transparent)]
    Query(#[from] ChError),
}

impl StartError {
    /// Whether it is the server's or the network's (retried quietly) rather than the config's.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, StartError::Query(e) if !matches!(e, ChError::NotClickHouse { .. } | ChError::Server { .. }))
    }
}

/// What the start found.
#[derive(Debug)]
pub(crate) struct Started {
    pub client: ChClient,
    pub version: String,
    pub engine: String,
    pub columns: Vec<Column>,
    pub has_id_column: bool,
    /// What the server's INSERTs may carry.
    pub features: Features,
}

/// What the server's INSERTs may carry, from the settings it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Features {
    /// URL settings every INSERT carries.
    pub insert_settings: Vec<(&'static str, &'static str)>,
    /// `insert_deduplication_token` (22.2 and later).
    pub dedup_token: bool,
    /// `insert_deduplicate` (every server the sink knows, 18.16 included): a block may be
    /// sent with the replicas' block deduplication off.
    pub skip_dedup: bool,
    /// `insert_distributed_sync`: an INSERT into a `Distributed` table may return only once
    /// the shards hold its rows.
    pub distributed_sync: bool,
}

/// What the table's engine asks of the INSERTs: settings to add, and a warning when the
/// engine keeps the sink from its promise.
pub(crate) fn engine_terms(
    engine: &str,
    f: &Features,
) -> (Vec<(&'static str, &'static str)>, Option<String>) {
    match engine {
        // Asynchronous by default: the rows wait on the node the INSERT reached, where a
        // read-back through the table does not see them (and sends them again).
        "Distributed" if f.distributed_sync => (vec![("insert_distributed_sync", "1")], None),
        "Distributed" => (
            Vec::new(),
            Some("a Distributed table without insert_distributed_sync on this server: rows still queued for the shards are not read back, so a take sent again may be stored twice (point the sink at the shards' table)".to_owned()),
        ),
        "Buffer" | "Memory" | "Null" | "Set" | "Join" => (
            Vec::new(),
            Some(format!("a {engine} table does not keep rows durably (or at all): rows whose take committed can be lost by the server; point the sink at a MergeTree table")),
        ),
        _ => (Vec::new(), None),
    }
}

/// Runs the checks of the module header.
pub(crate) async fn start(cfg: &ClickHouseConfig) -> Result<Started, StartError> {
    let password = password(cfg).await?;
    let mut client = ChClient::new(cfg, password).map_err(|source| StartError::Tls {
        url: cfg.url(),
        source,
    })?;
    let version = match client
        .query("SELECT version() FORMAT TabSeparated", &[], None)
        .await
    {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_owned(),
        Err(ChError::Server {
            url, code, message, ..
        }) if AUTH_CODES.contains(&code) => {
            return Err(StartError::Auth {
                url,
                user: cfg.user.clone(),
                code,
                message,
            })
        }
        Err(e) => return Err(e.into()),
    };
    let engine = text(
        &mut client,
        &format!(
            "SELECT engine FROM system.tables WHERE database = '{}' AND name = '{}' FORMAT TabSeparated",
            cfg.database, cfg.table
        ),
    )
    .await?;
    if engine.is_empty() {
        return Err(StartError::NoTable {
            table: format!("{}.{}", cfg.database, cfg.table),
            url: client.url().to_owned(),
        });
    }
    let described = text(
        &mut client,
        &format!("DESCRIBE TABLE {} FORMAT TabSeparated", cfg.qualified()),
    )
    .await?;
    let described = schema::parse_describe(&described);
    let table = format!("{}.{}", cfg.database, cfg.table);
    let columns = schema::plan(&table, &described, &cfg.columns)
        .map_err(|e| StartError::Schema(e, client.url().to_owned()))?;
    let has_id_column = columns
        .iter()
        .any(|c| c.name == ID_COLUMN && c.source == super::config::Source::Id);
    let settings = text(
        &mut client,
        "SELECT name FROM system.settings WHERE name IN ('insert_deduplication_token', 'insert_deduplicate', 'insert_distributed_sync', 'input_format_defaults_for_omitted_fields') FORMAT TabSeparated",
    )
    .await?;
    let features = features(&settings);
    Ok(Started {
        client,
        version,
        engine,
        columns,
        has_id_column,
        features,
    })
}

/// From the names `system.settings` answered: what INSERTs may carry.
pub(crate) fn features(settings: &str) -> Features {
    let has = |name: &str| settings.lines().any(|l| l.trim() == name);
    let mut insert_settings = Vec::new();
    if has("input_format_defaults_for_omitted_fields") {
        insert_settings.push(("input_format_defaults_for_omitted_fields", "1"));
    }
    Features {
        insert_settings,
        dedup_token: has("insert_deduplication_token"),
        skip_dedup: has("insert_deduplicate"),
        distributed_sync: has("insert_distributed_sync"),
    }
}

/// The password: given, read from `passwordFile` (one trailing newline dropped), or none.
async fn password(cfg: &ClickHouseConfig) -> Result<String, StartError> {
    Ok(match &cfg.password {
        Secret::None => String::new(),
        Secret::Given(p) => p.0.clone(),
        Secret::File(f) => tokio::fs::read_to_string(f)
            .await
            .map(|s| s.strip_suffix('\n').unwrap_or(&s).to_owned())
            .map_err(|source| StartError::PasswordFile {
                path: f.display().to_string(),
                source,
            })?,
    })
}

async fn text(client: &mut ChClient, sql: &str) -> Result<String, StartError> {
    let b = client.query(sql, &[], None).await?;
    Ok(String::from_utf8_lossy(&b).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_18_16_server_has_no_deduplication_token_and_a_22_server_has() {
        // What Debian's 18.16 answers: only `insert_deduplicate`.
        let old = features("insert_deduplicate\n");
        assert_eq!(
            old,
            Features {
                insert_settings: vec![],
                dedup_token: false,
                skip_dedup: true,
                distributed_sync: false
            }
        );
        // What 22.2 and later answer: all three.
        let new = features(
            "input_format_defaults_for_omitted_fields\ninsert_deduplication_token\ninsert_deduplicate\n",
        );
        assert!(new.dedup_token && new.skip_dedup);
        assert_eq!(
            new.insert_settings,
            vec![("input_format_defaults_for_omitted_fields", "1")]
        );
        // 19.x to 22.1: no token.
        assert!(!features("input_format_defaults_for_omitted_fields").dedup_token);
        assert_eq!(features(""), Features::default());
    }

    #[test]
    fn a_distributed_table_is_written_synchronously_and_a_buffer_table_is_warned_of() {
        let with = features("insert_distributed_sync\n");
        assert_eq!(
            engine_terms("Distributed", &with),
            (vec![("insert_distributed_sync", "1")], None)
        );
        let (set, warn) = engine_terms("Distributed", &Features::default());
        assert!(set.is_empty() && warn.is_some_and(|w| w.contains("stored twice")));
        let (set, warn) = engine_terms("Buffer", &with);
        assert!(set.is_empty() && warn.is_some_and(|w| w.contains("a Buffer table")));
        for e in [
            "MergeTree",
            "ReplicatedMergeTree",
            "ReplacingMergeTree",
            "Log",
        ] {
            assert_eq!(engine_terms(e, &with), (vec![], None), "{e}");
        }
    }
}
