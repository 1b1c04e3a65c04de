//! W1's syslog line (`../shared/peers/run.py`, `syslog_line`: RFC 3164, padded to a size),
//! shared by the parser's differential tests and its timing example
//! (`examples/syslog_parse.rs` includes this file by path).

/// W1's line `i` of `size` bytes, without its newline.
pub(crate) fn w1_line(i: u64, size: usize) -> Vec<u8> {
    let head = format!(
        "<14>Nov 25 07:00:00 loadgen app[4242]: seq={i:09} user=u{:05} action=GET \
         path=/api/v1/items/{} status=200 bytes={} ",
        i % 99991,
        i % 7919,
        i % 65536
    );
    let pad = size.saturating_sub(head.len() + 1);
    let mut line = head.into_bytes();
    line.extend("abcdefghij".bytes().cycle().take(pad));
    line
}
