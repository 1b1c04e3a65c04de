//! The OTLP paths and content types both ends use, and the generated types re-exported under
//! short names.

pub(crate) use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};

/// The OTLP/HTTP logs path.
pub(crate) const HTTP_LOGS_PATH: &str = "/v1/logs";
/// The OTLP/HTTP paths of the signals the source does not take.
pub(crate) const HTTP_OTHER_PATHS: [&str; 3] =
    ["/v1/traces", "/v1/metrics", "/v1development/profiles"];
/// The gRPC path of `LogsService/Export`.
pub const GRPC_LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
/// The gRPC service prefix of the logs service.
pub(crate) const GRPC_LOGS_SERVICE: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/";
/// OTLP/HTTP's binary protobuf content type.
pub(crate) const CONTENT_PROTOBUF: &str = "application/x-protobuf";
/// OTLP/HTTP's JSON content type.
pub(crate) const CONTENT_JSON: &str = "application/json";
/// Where a Sluice source's `partial_success.error_message` starts listing the 0-based
/// indexes (in request order) of the records it rejected, comma-separated: how a Sluice sink
/// knows which records to dead-letter (the protocol itself gives only their count).
pub(crate) const INDEXES_MARK: &str = "; rejected indexes: ";
/// The default gRPC port.
pub(crate) const GRPC_PORT_DEFAULT: u16 = 4317;
/// The default HTTP port.
pub(crate) const HTTP_PORT_DEFAULT: u16 = 4318;
