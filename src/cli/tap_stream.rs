//! The client side of one `GET /tap` stream for `sluice tap`: the request, the answer's head
//! (refused unless 200 and chunked), and the chunked body cut into lines.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};

/// Time to connect and to get the answer's head.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence on a stream before it is opened again (past the server's connection life).
pub const READ_TIMEOUT: Duration = Duration::from_secs(70);
/// Longest chunk accepted from the server.
pub const CHUNK_BYTES_MAX: usize = 1 << 20;

/// Connects to `hp`, asks for `/tap?{query}` and reads the answer's head: the stream's body,
/// or why the agent refused it.
pub(crate) fn open(hp: &str, query: &str) -> anyhow::Result<BufReader<TcpStream>> {
    let addr = hp
        .to_socket_addrs()
        .with_context(|| format!("resolving {hp}"))?
        .next()
        .with_context(|| format!("{hp} has no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .with_context(|| format!("connecting to {hp}"))?;
    s.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    s.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    write!(
        s,
        "GET /tap?{query} HTTP/1.1\r\nHost: {hp}\r\nConnection: close\r\n\r\n"
    )?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).context("reading the answer")?;
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if h.to_ascii_lowercase().starts_with("transfer-encoding:")
            && h.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    if code != 200 {
        let mut body = String::new();
        let _ = r.take(64 * 1024).read_to_string(&mut body);
        bail!("the agent refused the tap ({code}): {}", body.trim());
    }
    if !chunked {
        bail!("the agent's answer is not a stream");
    }
    r.get_ref().set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(r)
}

/// Writes the stream's lines to `out`, counting them in `printed`, until `limit` (false) or
/// the stream ends or falls silent (true).
pub(crate) fn copy_lines(
    r: &mut BufReader<TcpStream>,
    limit: Option<u64>,
    printed: &mut u64,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let mut size = String::new();
        match r.read_line(&mut size) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(true)
            }
            Err(e) => return Err(e).context("reading the tap"),
        }
        let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
            .context("a malformed chunk from the agent")?;
        if n == 0 {
            return Ok(true);
        }
        if n > CHUNK_BYTES_MAX {
            bail!("a chunk of {n} bytes from the agent (at most {CHUNK_BYTES_MAX})");
        }
        let mut chunk = vec![0u8; n + 2];
        r.read_exact(&mut chunk).context("reading the tap")?;
        chunk.truncate(n);
        pending.extend_from_slice(&chunk);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            out.write_all(&line)?;
            *printed += 1;
            if limit.is_some_and(|l| *printed >= l) {
                out.flush()?;
                return Ok(false);
            }
        }
        out.flush()?;
    }
}
