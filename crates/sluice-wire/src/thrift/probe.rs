//! Sluice's one method beyond Flume's `ThriftSourceProtocol`: `sluiceEventIds()`, by which a
//! thrift sink learns once per connection whether the source takes event ids (`sluiceId`,
//! docs/exactly-once.md). A Sluice thrift source answers it with an empty reply; Flume's
//! (Thrift's `TBaseProcessor`) answers a method it does not have with a
//! `TApplicationException` (`UNKNOWN_METHOD`) and keeps the connection, so a Flume collector
//! is never sent an id it would write out as a header.

use super::binary::BinaryIn;
use super::compact::CompactIn;
use super::error::ThriftError;
use super::frame::{begin_frame, end_frame};
use super::proto::{MessageType, ProtoIn};
use super::service::{write, Protocol};

/// The method's name.
pub const PROBE_METHOD: &str = "sluiceEventIds";

/// Appends the framed call (no arguments).
pub fn encode_probe(protocol: Protocol, seqid: i32, out: &mut Vec<u8>) {
    encode(protocol, MessageType::Call, seqid, out);
}

/// Appends the framed answer of a source that takes event ids (a void reply).
pub fn encode_probe_reply(protocol: Protocol, seqid: i32, out: &mut Vec<u8>) {
    encode(protocol, MessageType::Reply, seqid, out);
}

fn encode(protocol: Protocol, kind: MessageType, seqid: i32, out: &mut Vec<u8>) {
    let at = begin_frame(out);
    write(protocol, out, |w| {
        w.message_begin(PROBE_METHOD, kind, seqid);
        w.struct_begin();
        w.struct_end();
    });
    end_frame(out, at);
}

/// Reads the answer to the probe `seqid`: `true` for a reply (the source takes ids), `false`
/// for an exception (a source without the method: Flume's, or an older Sluice).
pub fn decode_probe_reply(
    payload: &[u8],
    protocol: Protocol,
    seqid: i32,
) -> Result<bool, ThriftError> {
    match protocol {
        Protocol::Compact => answer(&mut CompactIn::new(payload), seqid),
        Protocol::Binary => answer(&mut BinaryIn::new(payload), seqid),
    }
}

fn answer<'a, P: ProtoIn<'a>>(p: &mut P, seqid: i32) -> Result<bool, ThriftError> {
    let head = p.message_begin()?;
    if head.name != PROBE_METHOD.as_bytes() || head.seqid != seqid {
        return Err(ThriftError::UnexpectedReply {
            reason: format!(
                "answers {:?} seqid {}, not {PROBE_METHOD} seqid {seqid}",
                String::from_utf8_lossy(head.name),
                head.seqid,
            ),
        });
    }
    match head.kind {
        MessageType::Reply => Ok(true),
        MessageType::Exception => Ok(false),
        other => Err(ThriftError::BadMessageType {
            kind: other as u8,
            expected: "a reply (2) or exception (3)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thrift::frame::FRAME_HEADER_BYTES;
    use crate::thrift::server::{begin, encode_exception, Begun};
    use crate::thrift::service::ExceptionKind;

    /// A frame's payload (after its length prefix).
    fn payload(framed: Vec<u8>) -> Vec<u8> {
        framed[FRAME_HEADER_BYTES..].to_vec()
    }

    #[test]
    fn a_sluice_source_replies_and_a_flume_one_answers_unknown_method() {
        for protocol in [Protocol::Compact, Protocol::Binary] {
            let mut call = Vec::new();
            encode_probe(protocol, 7, &mut call);
            let Begun::Unknown {
                name,
                seqid,
                oneway,
            } = begin(&payload(call), protocol).unwrap()
            else {
                panic!("the probe is not one of Flume's methods")
            };
            assert_eq!((name.as_str(), seqid, oneway), (PROBE_METHOD, 7, false));
            let mut reply = Vec::new();
            encode_probe_reply(protocol, 7, &mut reply);
            assert!(decode_probe_reply(&payload(reply), protocol, 7).unwrap());
            // What Thrift's TBaseProcessor answers a method its service does not have.
            let mut flume = Vec::new();
            let msg = "Invalid method name: 'sluiceEventIds'";
            encode_exception(
                protocol,
                PROBE_METHOD,
                7,
                ExceptionKind::UnknownMethod,
                msg,
                &mut flume,
            );
            assert!(!decode_probe_reply(&payload(flume), protocol, 7).unwrap());
            let mut other = Vec::new();
            encode_probe_reply(protocol, 8, &mut other);
            assert!(decode_probe_reply(&payload(other), protocol, 7).is_err());
        }
    }
}
