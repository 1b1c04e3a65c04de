//! A plain Avro IPC client for the avro source's tests, written from the protocol
//! description (not Sluice's codec): varints, strings, requests, Netty frames.
#![allow(dead_code)]

pub const FLUME_MD5: [u8; 16] = [
    0x80, 0x76, 0xc5, 0x37, 0x14, 0xe0, 0x1f, 0x6e, 0x2c, 0x1d, 0xeb, 0x95, 0x44, 0xe7, 0xb1, 0xfe,
];

pub fn long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z & 0x7f) as u8 | 0x80);
        z >>= 7;
    }
}

pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    long(out, s.len() as i64);
    out.extend_from_slice(s);
}

/// handshake (client hash, no text, server hash, no meta) + empty meta + name + params.
pub fn request(handshake: bool, name: &str, events: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut p = Vec::new();
    if handshake {
        p.extend_from_slice(&FLUME_MD5);
        p.push(0);
        p.extend_from_slice(&FLUME_MD5);
        p.push(0);
    }
    p.push(0);
    string(&mut p, name.as_bytes());
    if name == "appendBatch" && !events.is_empty() {
        long(&mut p, events.len() as i64);
    }
    for (k, v, body) in events {
        long(&mut p, 1);
        string(&mut p, k.as_bytes());
        string(&mut p, v.as_bytes());
        p.push(0);
        string(&mut p, body);
    }
    if name == "appendBatch" {
        p.push(0);
    }
    p
}

/// serial, one buffer.
pub fn frame(serial: i32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&serial.to_be_bytes());
    f.extend_from_slice(&1i32.to_be_bytes());
    f.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Reads one frame: (serial, concatenated payload).
pub fn read_frame(s: &mut impl std::io::Read) -> std::io::Result<(i32, Vec<u8>)> {
    let mut h = [0u8; 8];
    s.read_exact(&mut h)?;
    let serial = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let n = i32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    let mut payload = Vec::new();
    for _ in 0..n {
        let mut l = [0u8; 4];
        s.read_exact(&mut l)?;
        let mut b = vec![0u8; i32::from_be_bytes(l) as usize];
        s.read_exact(&mut b)?;
        payload.extend(b);
    }
    Ok((serial, payload))
}

/// True when the server closed `s` (EOF or reset) within the wait.
pub fn closed_by_server(s: &mut std::net::TcpStream) -> bool {
    let mut b = [0u8; 4096];
    loop {
        match std::io::Read::read(s, &mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}
