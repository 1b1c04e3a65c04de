//! The gRPC codec of the sink's and the bench client's `Export` calls: the request written by
//! [`ExportBatch::encode`] straight into tonic's message buffer, which starts with room for
//! the whole message (tonic's default is 8 KiB, grown by doubling and copying), and the
//! response decoded with `opentelemetry-proto`'s type.

use std::sync::Arc;

use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

use super::proto::ExportLogsServiceResponse;
use super::ExportBatch;

/// Bytes of tonic's gRPC message prefix (compression flag and length).
const GRPC_PREFIX_BYTES: usize = 5;
/// When tonic yields an encoded message buffer (one message per unary call: not reached).
const YIELD_THRESHOLD_BYTES: usize = 32 << 10;

/// The codec of one call: sized for its batch.
#[derive(Debug, Clone, Copy)]
pub struct ExportCodec {
    message_bytes: usize,
}

impl ExportCodec {
    /// A codec whose buffer holds `batch`'s request.
    pub fn for_batch(batch: &ExportBatch) -> ExportCodec {
        ExportCodec {
            message_bytes: batch.encoded_len(),
        }
    }
}

impl Codec for ExportCodec {
    type Encode = Arc<ExportBatch>;
    type Decode = ExportLogsServiceResponse;
    type Encoder = ExportCodec;
    type Decoder = ExportCodec;

    fn encoder(&mut self) -> ExportCodec {
        *self
    }

    fn decoder(&mut self) -> ExportCodec {
        *self
    }
}

impl Encoder for ExportCodec {
    type Item = Arc<ExportBatch>;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst);
        Ok(())
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(
            self.message_bytes + GRPC_PREFIX_BYTES,
            YIELD_THRESHOLD_BYTES,
        )
    }
}

impl Decoder for ExportCodec {
    type Item = ExportLogsServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportLogsServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("not an ExportLogsServiceResponse: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}
