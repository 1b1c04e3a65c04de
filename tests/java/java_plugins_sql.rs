//! The tutorial's JDBC polling source (`SQLSource` and `SQLSourceHelper`, its
//! `jdbc.properties`) compiled against Sluice's shim and run with the tutorial's configuration
//! (database address localized only) against a real MariaDB server started here, with
//! Debian's MariaDB Connector/J and a one-class alias for the `com.mysql.jdbc.Driver` the
//! tutorial names: the tutorial's rows arrive, and rows inserted while it runs arrive too.
//! Eight rows at most: the tutorial's query builder breaks past id 9 (its bug, kept).

use crate::support::agent_proc;
use crate::support::java_support;

use std::path::PathBuf;

use agent_proc::Proc;
use java_support::mariadb::MariaDb;
use java_support::*;

const DRIVER: &str = "/usr/share/java/mariadb-java-client.jar";

#[test]
fn the_tutorials_sql_source_delivers_every_row_including_rows_inserted_while_it_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let db = MariaDb::start(&tmp.path().join("db"), "000000");
    let sql = reference().join("flume-plugins/sql");
    db.sql(&std::fs::read_to_string(sql.join("create-database.sql")).unwrap());
    db.sql(&format!(
        "USE mysqlsource; {}",
        std::fs::read_to_string(sql.join("create-tables.sql")).unwrap()
    ));
    let rows: Vec<(u32, String)> = std::fs::read_to_string(sql.join("rows.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (id.parse().unwrap(), name.to_owned()))
        .collect();
    assert_eq!(rows.len(), 4);
    for (id, name) in &rows {
        db.sql(&format!(
            "INSERT INTO mysqlsource.student VALUES ({id}, '{name}')"
        ));
    }

    let plugins = tmp.path().join("plugins.d");
    let driver = PathBuf::from(DRIVER);
    let libext = plugins.join("sql/libext");
    std::fs::create_dir_all(&libext).unwrap();
    std::fs::copy(&driver, libext.join("mariadb-java-client.jar")).unwrap();
    plugin(
        &plugins,
        "mysqlalias",
        &java_files(&test_plugins().join("mysqlalias")),
        &[driver],
        &[],
    );
    let res = reference().join("flume-plugins/sqlsource/resources");
    plugin(
        &plugins,
        "sql",
        &java_files(&reference().join("flume-plugins/sqlsource/src")),
        &[],
        &[res.join("jdbc.properties"), res.join("log4j.properties")],
    );
    let conf = tutorial_config(
        "18-mysql.properties",
        &[("192.168.1.102:3306", &format!("127.0.0.1:{}", db.port))],
    );
    let mut a = Proc::spawn_env(tmp.path(), "a1", &conf, Vec::new(), agent_env(), None);
    let has = |a: &Proc, id: u32, name: &str| a.log_text().contains(&format!(" {id},{name}, }}"));
    a.wait_until("the tutorial's four rows arrived", || {
        rows.iter().all(|(id, name)| has(&a, *id, name))
    });
    let more: Vec<(u32, String)> = (5..=8).map(|i| (i, format!("late{i}"))).collect();
    for (id, name) in &more {
        db.sql(&format!(
            "INSERT INTO mysqlsource.student VALUES ({id}, '{name}')"
        ));
    }
    a.wait_until("rows inserted while running arrived", || {
        more.iter().all(|(id, name)| has(&a, *id, name))
    });
    // Each row once: the source keeps its offset in flume_meta after each committed batch.
    let log = a.log_text();
    for (id, name) in rows.iter().chain(&more) {
        assert_eq!(
            log.matches(&format!(" {id},{name}, }}")).count(),
            1,
            "{log}"
        );
    }
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
}
