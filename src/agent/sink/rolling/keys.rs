//! How the `hdfs` sink's messages name its keys: as a Flume user writes them for
//! `type = hdfs` (`hdfs.rollSize`), and as the plain key for `type = s3` (`rollSize`,
//! `keyPrefix` for `hdfs.path`, `stagingDir` for `hdfs.s3StagingDir`). Every runtime line and
//! error that names a key goes through [`KeyNames::of`], which uses the same mapping the
//! `type = s3` configuration reading reports its problems with
//! ([`plain_key`]), so no message names a key the user did not write.

/// Plain keys whose hdfs key is not `hdfs.` and the plain name: (plain, hdfs key).
pub const RENAMED: [(&str, &str); 3] = [
    ("stagingDir", "hdfs.s3StagingDir"),
    ("partBytes", "hdfs.s3PartBytes"),
    ("signPayload", "hdfs.s3SignPayload"),
];

/// The plain key of one of the hdfs sink's keys (`hdfs.path` is `path_key`), or `None` for
/// a key that is none of the hdfs sink's.
pub fn plain_key(hdfs: &str, path_key: &str) -> Option<String> {
    if hdfs == "hdfs.path" {
        return Some(path_key.to_owned());
    }
    if let Some((p, _)) = RENAMED.iter().find(|(_, h)| *h == hdfs) {
        return Some((*p).to_owned());
    }
    hdfs.strip_prefix("hdfs.").map(str::to_owned)
}

/// Which spelling of the sink's keys its messages use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyNames {
    /// `type = hdfs`: the keys as Flume's hdfs sink has them.
    #[default]
    Hdfs,
    /// `type = s3`: the plain keys.
    Plain,
}

impl KeyNames {
    /// The key the user wrote for the hdfs sink's key `hdfs_key`.
    pub fn of(self, hdfs_key: &str) -> String {
        match self {
            KeyNames::Hdfs => hdfs_key.to_owned(),
            KeyNames::Plain => {
                plain_key(hdfs_key, "keyPrefix").unwrap_or_else(|| hdfs_key.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_drop_hdfs_and_rename_the_path_and_staging_keys() {
        let p = KeyNames::Plain;
        assert_eq!(p.of("hdfs.rollSize"), "rollSize");
        assert_eq!(p.of("hdfs.path"), "keyPrefix");
        assert_eq!(p.of("hdfs.s3StagingDir"), "stagingDir");
        assert_eq!(p.of("serializer.appendNewline"), "serializer.appendNewline");
        assert_eq!(KeyNames::Hdfs.of("hdfs.callTimeout"), "hdfs.callTimeout");
    }
}
