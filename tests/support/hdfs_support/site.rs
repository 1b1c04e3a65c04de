//! The configuration the test cluster's daemons and tools read (`conf/` of its directory):
//! core-site.xml naming the NameNode on loopback, hdfs-site.xml with one replica, every other
//! port chosen by the kernel and a dead DataNode noticed in seconds, and a log4j.properties
//! that keeps warnings only.

use std::path::Path;

/// A Hadoop `*-site.xml` holding `props`.
pub fn site(props: &[(&str, String)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (k, v) in props {
        s.push_str(&format!(
            "<property><name>{k}</name><value>{v}</value></property>\n"
        ));
    }
    s.push_str("</configuration>\n");
    s
}

/// Writes the cluster's configuration into `conf`: the NameNode on `127.0.0.1:port`, its
/// state under `dir`.
pub fn write_conf(conf: &Path, dir: &Path, port: u16) {
    let d = dir.display();
    std::fs::write(
        conf.join("core-site.xml"),
        site(&[
            ("fs.defaultFS", format!("hdfs://127.0.0.1:{port}")),
            ("hadoop.tmp.dir", format!("{d}/tmp")),
            ("ipc.client.connect.max.retries", "2".into()),
        ]),
    )
    .unwrap();
    let any = "127.0.0.1:0".to_owned();
    std::fs::write(
        conf.join("hdfs-site.xml"),
        site(&[
            ("dfs.replication", "1".into()),
            ("dfs.permissions.enabled", "false".into()),
            (
                "dfs.namenode.datanode.registration.ip-hostname-check",
                "false".into(),
            ),
            ("dfs.namenode.safemode.extension", "0".into()),
            ("dfs.webhdfs.enabled", "false".into()),
            ("dfs.namenode.name.dir", format!("{d}/name")),
            ("dfs.datanode.data.dir", format!("{d}/data")),
            ("dfs.namenode.http-address", any.clone()),
            ("dfs.namenode.secondary.http-address", any.clone()),
            ("dfs.datanode.address", any.clone()),
            ("dfs.datanode.http.address", any.clone()),
            ("dfs.datanode.ipc.address", any),
            // A dead DataNode is noticed in seconds, not 10 minutes.
            ("dfs.heartbeat.interval", "1".into()),
            ("dfs.namenode.heartbeat.recheck-interval", "2000".into()),
        ]),
    )
    .unwrap();
    std::fs::write(
        conf.join("log4j.properties"),
        "log4j.rootLogger=WARN,console\n\
         log4j.appender.console=org.apache.log4j.ConsoleAppender\n\
         log4j.appender.console.target=System.err\n\
         log4j.appender.console.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.console.layout.ConversionPattern=%d %p %c{1}: %m%n\n",
    )
    .unwrap();
}
