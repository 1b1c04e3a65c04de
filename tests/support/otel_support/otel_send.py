"""Sends log records to an OTLP endpoint for Sluice's otlp tests.

Usage: otel_send.py MODE PORT COUNT TAG [CA_PEM]
  with CA_PEM the exporters speak TLS (https://127.0.0.1:PORT), trusting that CA;
  MODE grpc | http: the OpenTelemetry SDK's LoggerProvider with a BatchLogRecordProcessor and
       the OTLP gRPC or HTTP/protobuf exporter (retrying as applications do);
  MODE json: one raw POST of OTLP/JSON to /v1/logs (urllib), with COUNT records plus one
       record nested too deep to map.
With OTEL_SEND_ACKED=FILE the bodies of every batch the exporter was told was accepted are
appended to FILE (one a line, flushed per batch); with OTEL_SEND_PACE_MS=N records are emitted
N ms apart.
Prints one JSON line: {"exported": records the exporter was told were accepted, "failed": ...}
(json: {"status": HTTP status, "response": the answer's JSON}).
Record i has body "TAG-i ü" and attributes i (int), user (str), ok (bool), ratio (float).
"""

import json
import os
import sys
import time
import urllib.request

TIME_NS = 1_700_000_000_123_456_789


def sdk(mode, port, count, tag, ca=None):
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
    from opentelemetry.sdk.resources import Resource

    if mode == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        if ca:
            import grpc

            with open(ca, "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            inner = OTLPLogExporter(endpoint=f"https://127.0.0.1:{port}", credentials=creds, timeout=30)
        else:
            inner = OTLPLogExporter(endpoint=f"http://127.0.0.1:{port}", insecure=True, timeout=30)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        scheme = "https" if ca else "http"
        inner = OTLPLogExporter(
            endpoint=f"{scheme}://127.0.0.1:{port}/v1/logs", certificate_file=ca or None, timeout=30
        )

    results = {"exported": 0, "failed": 0}

    class Counting:
        """The exporter, counting what its peer acknowledged."""

        def export(self, batch):
            r = inner.export(batch)
            key = "exported" if r == LogRecordExportResult.SUCCESS else "failed"
            results[key] += len(batch)
            acked = os.environ.get("OTEL_SEND_ACKED")
            if acked and r == LogRecordExportResult.SUCCESS:
                with open(acked, "a", encoding="utf-8") as f:
                    f.writelines(f"{rec.log_record.body}\n" for rec in batch)
            return r

        def shutdown(self):
            inner.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    provider = LoggerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_log_record_processor(
        BatchLogRecordProcessor(Counting(), max_export_batch_size=100, schedule_delay_millis=50)
    )
    logger = provider.get_logger("app.scope", "1.2")
    pace = int(os.environ.get("OTEL_SEND_PACE_MS", "0")) / 1000.0
    for i in range(count):
        if pace:
            time.sleep(pace)
        logger.emit(
            timestamp=TIME_NS + i * 1_000_000,
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=f"{tag}-{i} ü",
            attributes={"i": i, "user": "ann", "ok": True, "ratio": 0.5},
        )
    provider.force_flush(60000)
    provider.shutdown()
    print(json.dumps(results))


def any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def raw_json(port, count, tag):
    records = []
    for i in range(count):
        attrs = {"i": i, "user": "ann", "ok": True, "ratio": 0.5}
        records.append(
            {
                "timeUnixNano": str(TIME_NS + i * 1_000_000),
                "severityNumber": 9,
                "severityText": "INFO",
                "body": {"stringValue": f"{tag}-{i} ü"},
                "attributes": [{"key": k, "value": any_value(v)} for k, v in attrs.items()],
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b174",
            }
        )
    deep = {"stringValue": "leaf"}
    for _ in range(34):
        deep = {"arrayValue": {"values": [deep]}}
    records.append({"body": deep})
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
                "scopeLogs": [{"scope": {"name": "app.scope", "version": "1.2"}, "logRecords": records}],
            }
        ]
    }
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/logs",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        print(json.dumps({"status": r.status, "response": json.loads(r.read() or b"{}")}))


def main():
    mode, port, count, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ca = sys.argv[5] if len(sys.argv) > 5 else None
    if mode == "json":
        raw_json(port, count, tag)
    else:
        sdk(mode, port, count, tag, ca)


if __name__ == "__main__":
    main()
