//! Fuzz body: the Avro RPC frame and handshake decoders. The input is fed to a frame reader
//! in pieces whose sizes come from the first byte; every frame's payload goes through the
//! server's state machine (handshake, call) and the client's response decoder. Nothing may
//! panic; a decoded call must re-encode to a payload that decodes to the same call, and the
//! count of its events made without decoding must equal what decoding counts.

use sluice_core::Bytes;
use sluice_wire::avro::call::{decode_response, encode_request, read_call, CallBody, CallLimits};
use sluice_wire::avro::handshake::answer;
use sluice_wire::avro::server::{Action, Begun, ServerConn};
use sluice_wire::avro::{
    binary::Reader, AvroError, FrameLimits, FrameReader, KnownClients, Message,
};
use sluice_wire::bodies::Bodies;

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limits = FrameLimits {
        frame_bytes_max: 1 << 16,
        buffers_max: 64,
    };
    let calls = CallLimits {
        events_max: 256,
        headers_max: 16,
    };
    let step = usize::from(mode >> 1) + 1;
    let mut reader = FrameReader::new(limits);
    let mut conn = ServerConn::new(calls);
    let mut known = KnownClients::default();
    // Odd mode: the bytes are a payload, not a framed stream.
    if mode & 1 == 1 {
        payload(rest, &mut conn, &mut known, &calls);
        let _ = decode_response(rest, true);
        let _ = decode_response(rest, false);
        return;
    }
    for piece in rest.chunks(step) {
        reader.push(piece);
        loop {
            match reader.next_frame() {
                Ok(Some(f)) => {
                    assert!(f.payload.len() <= limits.frame_bytes_max);
                    payload(&f.payload, &mut conn, &mut known, &calls);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(reader.pending() <= limits.frame_bytes_max + 8 + 4 * 64 + step);
    }
}

fn payload(p: &[u8], conn: &mut ServerConn, known: &mut KnownClients, calls: &CallLimits) {
    counts_agree(p, conn.clone(), known.clone());
    if let Ok(Action::Put { batch, events, .. }) = conn.on_request(p, known) {
        assert!(events.len() <= calls.events_max);
        let msg = if batch {
            Message::AppendBatch
        } else {
            Message::Append
        };
        let [head, params] = encode_request(None, msg, &events);
        let again = [head, params].concat();
        let call = read_call(&mut Reader::new(&again), calls).expect("re-encoded call decodes");
        let back = match call.body {
            CallBody::Append(e) => vec![e],
            CallBody::AppendBatch(es) => es,
            other => panic!("re-encoded call became {other:?}"),
        };
        assert_eq!(back, events);
    }
}

/// The allocation-free count of a call's events is what decoding them counts, and the same
/// limit stops both with the same error.
fn counts_agree(p: &[u8], mut conn: ServerConn, mut known: KnownClients) {
    let Ok(Begun::Events(call)) = conn.begin(p, &mut |req| answer(req, &mut known)) else {
        return;
    };
    // Bodies sliced from the frame (as the source makes them) equal bodies copied out.
    let frame = Bytes::copy_from_slice(p);
    let shared = call.decode(&frame, Bodies::Share(&frame), u64::MAX);
    assert_eq!(shared, call.decode(p, Bodies::Copy, u64::MAX));
    match (call.cost(p), shared) {
        (Ok(cost), Ok((_, counted))) => {
            assert_eq!(cost, counted);
            if cost > 0 {
                assert!(matches!(
                    call.decode(p, Bodies::Copy, cost - 1),
                    Err(AvroError::OverBudget { .. })
                ));
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (c, d) => panic!("count {c:?} and decode {:?} disagree", d.map(|x| x.1)),
    }
}
