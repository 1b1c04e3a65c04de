//! The tests' S3 reader: a boto3 script (path-style, the server's one identity) run by the
//! virtualenv's Python, bounded by [`TOOL_WAIT`], to make buckets and to list, read and
//! download what the sink wrote.

use super::{python, Weed, ACCESS_KEY, SECRET_KEY, TOOL_WAIT};
use crate::support::server_proc::{run_bounded, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Writes the boto3 helper into the server's directory.
pub(super) fn write_helper(dir: &Path) {
    std::fs::write(dir.join("helper.py"), HELPER).unwrap();
}

impl Weed {
    /// Runs the boto3 helper with `args` (bounded by [`TOOL_WAIT`]).
    pub fn py(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(python());
        cmd.arg(self.dir.join("helper.py"))
            .args(args)
            .env("S3_ENDPOINT", self.endpoint())
            .env("S3_ACCESS_KEY", ACCESS_KEY)
            .env("S3_SECRET_KEY", SECRET_KEY)
            .stdin(Stdio::null());
        run_bounded(&mut cmd, TOOL_WAIT)
    }

    /// The helper's stdout, or a panic with its error text.
    pub fn py_ok(&self, args: &[&str]) -> String {
        let out = self.py(args);
        assert!(out.status.success(), "helper {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new bucket for one test (`NAME-PID`, lowercase).
    pub fn bucket(&self, name: &str) -> String {
        let b = format!("{name}-{}", std::process::id());
        self.py_ok(&["mkbucket", &b]);
        b
    }

    /// Every object under `prefix`: key and size.
    pub fn ls(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        self.py_ok(&["ls", bucket, prefix])
            .lines()
            .filter_map(|l| {
                let (k, n) = l.rsplit_once('\t')?;
                Some((k.to_owned(), n.parse().ok()?))
            })
            .collect()
    }

    /// The lines of every object under `prefix` (`.gz` objects through Python's gzip).
    pub fn cat(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.py_ok(&["cat", bucket, prefix])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Downloads every object under `prefix` into `dir` (each a file named after its key,
    /// `/` as `_`); their paths.
    pub fn download(&self, bucket: &str, prefix: &str, dir: &Path) -> Vec<PathBuf> {
        let d = dir.display().to_string();
        self.py_ok(&["get", bucket, prefix, &d])
            .lines()
            .map(PathBuf::from)
            .collect()
    }

    /// Multipart uploads started and not completed under `prefix`.
    pub fn pending_uploads(&self, bucket: &str) -> usize {
        self.py_ok(&["uploads", bucket]).trim().parse().unwrap()
    }
}

/// The boto3 helper: `ready B`, `mkbucket B`, `ls B PREFIX`, `cat B PREFIX`,
/// `get B PREFIX DIR`, `uploads B`.
const HELPER: &str = r#"
import gzip, os, sys
import boto3
from botocore.config import Config

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                  connect_timeout=5, read_timeout=30),
)

def keys(bucket, prefix):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(page.get("Contents", []))
    return out

cmd, bucket = sys.argv[1], sys.argv[2]
if cmd in ("ready", "mkbucket"):
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    except s3.exceptions.BucketAlreadyExists:
        pass
    if cmd == "ready":
        s3.put_object(Bucket=bucket, Key="probe", Body=b"ok")
        assert s3.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
elif cmd == "ls":
    for o in keys(bucket, sys.argv[3]):
        print(f"{o['Key']}\t{o['Size']}")
elif cmd == "cat":
    for o in keys(bucket, sys.argv[3]):
        body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        if o["Key"].endswith(".gz"):
            body = gzip.decompress(body)
        sys.stdout.write(body.decode("utf-8"))
elif cmd == "get":
    for o in keys(bucket, sys.argv[3]):
        dest = os.path.join(sys.argv[4], o["Key"].replace("/", "_"))
        s3.download_file(bucket, o["Key"], dest)
        print(dest)
elif cmd == "uploads":
    print(len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])))
"#;
