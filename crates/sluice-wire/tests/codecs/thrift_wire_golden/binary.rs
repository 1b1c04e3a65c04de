//! Thrift's binary protocol, frames assembled by hand from the IDL and the spec
//! (independently of the encoder): a call decodes and re-encodes identically, a reply is laid
//! out as the spec says, and an old non-strict head is read too.

use super::{decode, ev};
use sluice_core::Event;
use sluice_wire::thrift::{decode_reply, encode_call, encode_reply, Method, Protocol, Status};

/// `appendBatch([{host:h1} "hello"])`, seqid 7, in the binary protocol, byte by byte from
/// the spec (strict head: version 0x8001, type CALL).
fn binary_append_batch() -> Vec<u8> {
    let mut b = vec![0x80, 0x01, 0x00, 0x01]; // version 1, CALL
    b.extend([0, 0, 0, 11]);
    b.extend(b"appendBatch");
    b.extend([0, 0, 0, 7]); // seqid
    b.extend([15, 0, 1]); // field 1: LIST
    b.extend([12, 0, 0, 0, 1]); // of STRUCT, 1 element
    b.extend([13, 0, 1]); // field 1: MAP
    b.extend([11, 11, 0, 0, 0, 1]); // string -> string, 1 entry
    b.extend([0, 0, 0, 4]);
    b.extend(b"host");
    b.extend([0, 0, 0, 2]);
    b.extend(b"h1");
    b.extend([11, 0, 2]); // field 2: STRING (binary)
    b.extend([0, 0, 0, 5]);
    b.extend(b"hello");
    b.push(0); // event stop
    b.push(0); // args stop
    b
}

#[test]
fn a_binary_protocol_call_built_from_the_idl_decodes_and_re_encodes_identically() {
    let want = binary_append_batch();
    let (call, events) = decode(&want, Protocol::Binary);
    assert_eq!((call.method, call.seqid), (Method::AppendBatch, 7));
    assert_eq!(events, vec![ev("hello")]);
    let mut out = Vec::new();
    encode_call(Protocol::Binary, Method::AppendBatch, 7, &events, &mut out);
    assert_eq!(&out[..4], &(want.len() as u32).to_be_bytes());
    assert_eq!(&out[4..], &want[..]);
}

#[test]
fn a_binary_protocol_reply_is_laid_out_as_the_spec_says() {
    let mut out = Vec::new();
    encode_reply(Protocol::Binary, "append", 9, Status::Failed, &mut out);
    let mut want = vec![0x80, 0x01, 0x00, 0x02, 0, 0, 0, 6];
    want.extend(b"append");
    want.extend([0, 0, 0, 9]); // seqid
    want.extend([8, 0, 0, 0, 0, 0, 1]); // field 0: I32 = 1 (FAILED)
    want.push(0);
    assert_eq!(&out[4..], &want[..]);
    assert_eq!(
        decode_reply(&want, Protocol::Binary, Method::Append, 9),
        Ok(Status::Failed)
    );
}

#[test]
fn an_old_non_strict_binary_head_is_read_too() {
    let mut b = vec![0, 0, 0, 6];
    b.extend(b"append");
    b.push(1); // CALL
    b.extend([0, 0, 0, 3]);
    b.extend([
        12, 0, 1, 13, 0, 1, 11, 11, 0, 0, 0, 0, 11, 0, 2, 0, 0, 0, 1, b'x', 0, 0,
    ]);
    let (call, events) = decode(&b, Protocol::Binary);
    assert_eq!((call.method, call.seqid), (Method::Append, 3));
    assert_eq!(events, vec![Event::new("x")]);
}
