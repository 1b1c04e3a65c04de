//! The gRPC codec of the source's `Export` calls: the request decoded into `borrowed.rs`'s
//! types straight from tonic's message buffer (each string and body a slice of it), with the
//! message's size, which the in-flight budget holds; the response encoded with prost.

use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use crate::agent::otlp::borrowed::ExportLogsServiceRequest;
use crate::agent::otlp::proto::ExportLogsServiceResponse;

/// A decoded request and the bytes of its message.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) request: ExportLogsServiceRequest,
    pub(super) bytes: usize,
}

/// The codec of one call.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExportCodec;

impl Codec for ExportCodec {
    type Encode = ExportLogsServiceResponse;
    type Decode = Received;
    type Encoder = ExportCodec;
    type Decoder = ExportCodec;

    fn encoder(&mut self) -> ExportCodec {
        ExportCodec
    }

    fn decoder(&mut self) -> ExportCodec {
        ExportCodec
    }
}

impl Encoder for ExportCodec {
    type Item = ExportLogsServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the response: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

impl Decoder for ExportCodec {
    type Item = Received;
    type Error = Status;

    fn buffer_settings(&self) -> BufferSettings {
        // The message buffer starts with room for a whole first frame and the 5-byte gRPC
        // prefix, so that frame is not copied into a grown buffer before the message's own
        // reserve.
        BufferSettings::new(super::FRAME_BYTES_MAX as usize + 5, 32 << 10)
    }

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Received>, Status> {
        // The message as one `Bytes` (tonic's buffer split, not copied): prost then reads
        // each field from a contiguous slice and takes each string as a cheap sub-slice,
        // where reading through `DecodeBuf` pays its bounds bookkeeping on every byte.
        let bytes = bytes::Buf::remaining(src);
        let message = bytes::Buf::copy_to_bytes(src, bytes);
        // As tonic's prost codec answers a message that does not decode.
        let request = ExportLogsServiceRequest::decode(message).map_err(|e| {
            Status::internal(format!("not an ExportLogsServiceRequest in protobuf: {e}"))
        })?;
        Ok(Some(Received { request, bytes }))
    }
}
