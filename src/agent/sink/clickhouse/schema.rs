//! The table's columns (from `DESCRIBE TABLE ... FORMAT TabSeparated` at start) and where
//! each one's value comes from: by name, `body`, `timestamp` (the header, as seconds for a
//! `DateTime`, as ms for an integer, as text for a string) and `sluice_id` (the event's id);
//! any other column from the header of the same name; or as `columns` says. `MATERIALIZED`
//! and `ALIAS` columns are never sent. A column the sink cannot fill is refused at start
//! ([`SchemaError`]), naming it and its type.

use super::config::Source;

/// The column that holds each event's id, which exactly once needs.
pub(crate) const ID_COLUMN: &str = "sluice_id";

/// How a timestamp goes into its column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsUnit {
    /// Whole seconds (`DateTime`, `DateTime64` read as seconds).
    Seconds,
    /// Milliseconds (an integer column).
    Millis,
    /// The header's text as it is (a string column).
    Text,
}

/// One column the sink fills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    /// Its name, JSON-escaped with its quotes (`"name":`), ready to write.
    pub key: Vec<u8>,
    /// Its name.
    pub name: String,
    /// Its type as DESCRIBE gives it.
    pub ty: String,
    /// Where its value comes from.
    pub source: Source,
    /// For [`Source::Timestamp`].
    pub unit: TsUnit,
}

/// A column as `DESCRIBE TABLE` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Described {
    pub name: String,
    pub ty: String,
    /// `DEFAULT`, `MATERIALIZED`, `ALIAS` or empty.
    pub default_kind: String,
}

/// Why the table cannot take the sink's rows.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SchemaError {
    /// A column the matching gives a source whose value its type cannot hold.
    #[error("column {column} {ty} of {table} cannot hold the {from} ({why})")]
    Type {
        table: String,
        column: String,
        ty: String,
        from: Source,
        why: &'static str,
    },
    /// A column nothing fills, without a default, that is not Nullable.
    #[error("column {column} {ty} of {table} has no source and no DEFAULT: name it in `columns` (col = body | timestamp | id | header:<name>), give it a DEFAULT, or make it Nullable")]
    NoSource {
        table: String,
        column: String,
        ty: String,
    },
    /// `columns` names a column the table does not have.
    #[error("`columns` names column {column}, which {table} does not have (its columns: {have})")]
    Unknown {
        table: String,
        column: String,
        have: String,
    },
}

/// The rows of `DESCRIBE TABLE ... FORMAT TabSeparated` (name, type, default kind, ...).
pub(crate) fn parse_describe(text: &str) -> Vec<Described> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let name = f.next()?.to_owned();
            let ty = f.next()?.to_owned();
            let default_kind = f.next().unwrap_or("").to_owned();
            (!name.is_empty()).then_some(Described {
                name,
                ty,
                default_kind,
            })
        })
        .collect()
}

/// `Nullable(T)` / `LowCardinality(T)` → `T`.
fn inner(ty: &str) -> &str {
    let mut t = ty.trim();
    for w in ["Nullable(", "LowCardinality("] {
        if let Some(rest) = t.strip_prefix(w).and_then(|r| r.strip_suffix(')')) {
            t = inner(rest);
        }
    }
    t
}

fn is_string(ty: &str) -> bool {
    let t = inner(ty);
    t == "String" || t.starts_with("FixedString(")
}

fn is_integer(ty: &str) -> bool {
    matches!(
        inner(ty),
        "UInt64" | "Int64" | "UInt32" | "Int32" | "UInt16" | "Int16" | "UInt8" | "Int8"
    )
}

/// A type a header's text can be parsed into (not an array, tuple, map, nested or aggregate).
fn scalar(ty: &str) -> bool {
    let t = inner(ty);
    ![
        "Array(",
        "Tuple(",
        "Map(",
        "Nested(",
        "AggregateFunction(",
        "SimpleAggregateFunction(",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

fn may_omit(d: &Described) -> bool {
    !d.default_kind.is_empty() || d.ty.starts_with("Nullable(")
}

/// The columns the sink fills for `table`'s `described` columns, with `columns` (empty:
/// match by name) deciding the sources.
pub(crate) fn plan(
    table: &str,
    described: &[Described],
    columns: &[(String, Source)],
) -> Result<Vec<Column>, SchemaError> {
    let insertable: Vec<&Described> = described
        .iter()
        .filter(|d| d.default_kind != "MATERIALIZED" && d.default_kind != "ALIAS")
        .collect();
    for (c, _) in columns {
        if !insertable.iter().any(|d| &d.name == c) {
            let have: Vec<&str> = insertable.iter().map(|d| d.name.as_str()).collect();
            return Err(SchemaError::Unknown {
                table: table.to_owned(),
                column: c.clone(),
                have: have.join(", "),
            });
        }
    }
    let mut out = Vec::new();
    for d in insertable {
        let source = if columns.is_empty() {
            match d.name.as_str() {
                "body" => Some(Source::Body),
                "timestamp" => Some(Source::Timestamp),
                ID_COLUMN => Some(Source::Id),
                n if scalar(&d.ty) => Some(Source::Header(n.to_owned())),
                _ => None,
            }
        } else {
            columns
                .iter()
                .find(|(c, _)| *c == d.name)
                .map(|(_, s)| s.clone())
        };
        match source {
            Some(s) => out.push(column(table, d, s)?),
            None if may_omit(d) => {}
            None => {
                return Err(SchemaError::NoSource {
                    table: table.to_owned(),
                    column: d.name.clone(),
                    ty: d.ty.clone(),
                })
            }
        }
    }
    Ok(out)
}

fn column(table: &str, d: &Described, source: Source) -> Result<Column, SchemaError> {
    let refuse = |why| SchemaError::Type {
        table: table.to_owned(),
        column: d.name.clone(),
        ty: d.ty.clone(),
        from: source.clone(),
        why,
    };
    let mut unit = TsUnit::Text;
    match &source {
        Source::Body if !is_string(&d.ty) => return Err(refuse("it is text: use a String column")),
        // Read back by its exact text: a FixedString pads it with NULs (or cuts it).
        Source::Id if inner(&d.ty) != "String" => {
            return Err(refuse("it is read back by its text: use a String column"))
        }
        Source::Timestamp => {
            let t = inner(&d.ty);
            unit = if t.starts_with("DateTime") {
                TsUnit::Seconds
            } else if is_integer(t) {
                TsUnit::Millis
            } else if is_string(t) {
                TsUnit::Text
            } else {
                return Err(refuse(
                    "it is ms since the epoch: use DateTime, UInt64 or String",
                ));
            };
        }
        Source::Header(_) if !scalar(&d.ty) => return Err(refuse("a header is one text value")),
        _ => {}
    }
    let mut key = Vec::with_capacity(d.name.len() + 3);
    super::json::json_string(&mut key, d.name.as_bytes());
    key.push(b':');
    Ok(Column {
        key,
        name: d.name.clone(),
        ty: d.ty.clone(),
        source,
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "body\tString\t\t\t\ntimestamp\tDateTime\tDEFAULT\tnow()\t\nsluice_id\tString\t\t\t\nhost\tLowCardinality(String)\t\t\t\ntags\tArray(String)\tDEFAULT\t[]\t\nm\tUInt8\tMATERIALIZED\t1\t\n";

    #[test]
    fn columns_are_matched_by_name_and_computed_ones_are_left_out() {
        let p = plan("d.t", &parse_describe(T), &[]).unwrap();
        let names: Vec<(&str, String)> = p
            .iter()
            .map(|c| (c.name.as_str(), c.source.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("body", "body".into()),
                ("timestamp", "timestamp".into()),
                ("sluice_id", "id".into()),
                ("host", "header:host".into())
            ]
        );
        assert_eq!(p[1].unit, TsUnit::Seconds);
    }

    #[test]
    fn an_id_column_that_is_not_a_string_is_refused_by_name_and_type() {
        // A FixedString pads an id with NULs or cuts it: the read-back would never find it.
        for ty in ["FixedString(40)", "FixedString(8)", "UInt64"] {
            let d = parse_describe(&format!("body\tString\t\t\t\nsluice_id\t{ty}\t\t\t\n"));
            let e = plan("d.t", &d, &[]).unwrap_err();
            assert!(
                e.to_string().contains(&format!("column sluice_id {ty}")),
                "{ty}: {e}"
            );
        }
        for ty in ["String", "Nullable(String)", "LowCardinality(String)"] {
            let d = parse_describe(&format!("body\tString\t\t\t\nsluice_id\t{ty}\t\t\t\n"));
            assert!(plan("d.t", &d, &[]).is_ok(), "{ty}");
        }
        // A FixedString body is still text.
        let d = parse_describe("body\tFixedString(16)\t\t\t\n");
        assert!(plan("d.t", &d, &[]).is_ok());
    }

    #[test]
    fn a_column_without_a_source_or_default_is_refused_by_name_and_type() {
        let d = parse_describe("body\tString\t\t\t\nlevel\tUInt8\t\t\t\n");
        let e = plan("d.t", &d, &[("body".into(), Source::Body)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("column level UInt8 of d.t has no source"),
            "{e}"
        );
        let d = parse_describe("body\tUInt32\t\t\t\n");
        let e = plan("d.t", &d, &[]).unwrap_err();
        assert!(e.to_string().contains("column body UInt32"), "{e}");
        let d = parse_describe("tags\tArray(String)\t\t\t\n");
        assert!(matches!(
            plan("d.t", &d, &[]),
            Err(SchemaError::NoSource { .. })
        ));
    }
}
