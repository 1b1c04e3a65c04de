//! Fuzz body: the Thrift RPC decoders, compact and binary. The first byte picks the protocol
//! and the piece size; the rest is fed to a frame reader in pieces, and every frame's payload
//! goes through the server's head and event decoders and the client's reply decoder. Nothing
//! may panic; a decoded call must re-encode to a frame that decodes to the same events, and
//! the count of its events made without decoding must equal what decoding counts.

use sluice_wire::bodies::Bodies;
use sluice_wire::thrift::{
    begin, decode_reply, encode_call, Begun, CallLimits, FrameReader, Method, Protocol, ThriftError,
};

use sluice_core::Bytes;

const FRAME_BYTES_MAX: usize = 1 << 16;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let protocol = if mode & 1 == 0 {
        Protocol::Compact
    } else {
        Protocol::Binary
    };
    let limits = CallLimits {
        events_max: 256,
        headers_max: 16,
    };
    // Bit 1: the bytes are one payload, not a framed stream.
    if mode & 2 == 2 {
        payload(rest, protocol, &limits);
        return;
    }
    let step = usize::from(mode >> 2) + 1;
    let mut reader = FrameReader::new(FRAME_BYTES_MAX);
    for piece in rest.chunks(step) {
        reader.push(piece);
        loop {
            match reader.next_frame() {
                Ok(Some(p)) => {
                    assert!(p.len() <= FRAME_BYTES_MAX);
                    payload(&p, protocol, &limits);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(reader.pending() <= FRAME_BYTES_MAX + 4 + step);
    }
}

fn payload(p: &[u8], protocol: Protocol, limits: &CallLimits) {
    let _ = decode_reply(p, protocol, Method::Append, 1);
    let _ = decode_reply(p, protocol, Method::AppendBatch, 0);
    let Ok(Begun::Events(call)) = begin(p, protocol) else {
        return;
    };
    // Bodies sliced from the frame (as the source makes them) equal bodies copied out.
    let frame = Bytes::copy_from_slice(p);
    let decoded = call.decode(&frame, Bodies::Share(&frame), limits, u64::MAX);
    assert_eq!(decoded, call.decode(p, Bodies::Copy, limits, u64::MAX));
    match (call.cost(p, limits), &decoded) {
        (Ok(cost), Ok((events, counted))) => {
            assert_eq!(cost, *counted);
            assert!(events.len() <= limits.events_max);
            if cost > 0 {
                assert!(matches!(
                    call.decode(p, Bodies::Copy, limits, cost - 1),
                    Err(ThriftError::OverBudget { .. })
                ));
            }
        }
        (Err(a), Err(b)) => assert_eq!(&a, b),
        (c, d) => panic!(
            "count {c:?} and decode {:?} disagree",
            d.as_ref().map(|x| x.1)
        ),
    }
    let Ok((events, _)) = decoded else {
        return;
    };
    let mut out = Vec::new();
    encode_call(protocol, call.method, call.seqid, &events, &mut out);
    let again = out.get(4..).unwrap_or_default();
    let Ok(Begun::Events(back)) = begin(again, protocol) else {
        panic!("a re-encoded call has no event call head");
    };
    assert_eq!((back.method, back.seqid), (call.method, call.seqid));
    let (back, _) = back
        .decode(again, Bodies::Copy, limits, u64::MAX)
        .expect("a re-encoded call decodes");
    // Headers are lossily UTF-8 and encoded as such: they come back equal.
    assert_eq!(back, events);
}
