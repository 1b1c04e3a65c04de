"""A Flume ThriftSourceProtocol client written from flume.thrift on Apache Thrift's Python
library (TSocket, TFramedTransport, TCompactProtocol or TBinaryProtocol), independent of
Sluice's codec: what a Python application sending to a Flume thrift source does.

  flume.thrift:
    struct ThriftFlumeEvent { 1: required map<string,string> headers, 2: required binary body }
    enum Status { OK, FAILED, ERROR, UNKNOWN }
    service ThriftSourceProtocol {
      Status append(1: ThriftFlumeEvent event),
      Status appendBatch(1: list<ThriftFlumeEvent> events) }

Usage: flume_thrift_client.py HOST PORT compact|binary < calls.json
calls.json: [{"method": "appendBatch", "events": [{"headers": {"k": "v"}, "body": "text"}]}, ...]
Prints one line per call: OK, FAILED, ERROR, UNKNOWN or EXCEPTION:<type>:<message>.
"""
import json
import sys

from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport import TSocket, TTransport

STATUS = ["OK", "FAILED", "ERROR", "UNKNOWN"]


def write_event(p, event):
    p.writeStructBegin("ThriftFlumeEvent")
    p.writeFieldBegin("headers", TType.MAP, 1)
    headers = event.get("headers", {})
    p.writeMapBegin(TType.STRING, TType.STRING, len(headers))
    for k, v in headers.items():
        p.writeString(k)
        p.writeString(v)
    p.writeMapEnd()
    p.writeFieldEnd()
    p.writeFieldBegin("body", TType.STRING, 2)
    p.writeBinary(event["body"].encode("utf-8"))
    p.writeFieldEnd()
    p.writeFieldStop()
    p.writeStructEnd()


def call(p, t, name, seqid, events):
    p.writeMessageBegin(name, TMessageType.CALL, seqid)
    p.writeStructBegin(name + "_args")
    if name == "appendBatch":
        p.writeFieldBegin("events", TType.LIST, 1)
        p.writeListBegin(TType.STRUCT, len(events))
        for e in events:
            write_event(p, e)
        p.writeListEnd()
        p.writeFieldEnd()
    elif events:
        p.writeFieldBegin("event", TType.STRUCT, 1)
        write_event(p, events[0])
        p.writeFieldEnd()
    p.writeFieldStop()
    p.writeStructEnd()
    p.writeMessageEnd()
    t.flush()
    rname, rtype, rseqid = p.readMessageBegin()
    if rtype == TMessageType.EXCEPTION:
        x = TApplicationException()
        x.read(p)
        p.readMessageEnd()
        return "EXCEPTION:%d:%s" % (x.type, x.message)
    if rname != name or rseqid != seqid:
        return "MISMATCH:%s:%d" % (rname, rseqid)
    status = None
    p.readStructBegin()
    while True:
        _, ftype, fid = p.readFieldBegin()
        if ftype == TType.STOP:
            break
        if fid == 0 and ftype == TType.I32:
            status = p.readI32()
        else:
            p.skip(ftype)
        p.readFieldEnd()
    p.readStructEnd()
    p.readMessageEnd()
    return STATUS[status] if status is not None and 0 <= status < 4 else "NOSTATUS"


def main():
    host, port, protocol = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    calls = json.load(sys.stdin)
    sock = TSocket.TSocket(host, port)
    sock.setTimeout(20000)
    t = TTransport.TFramedTransport(sock)
    if protocol == "binary":
        p = TBinaryProtocol.TBinaryProtocol(t)
    else:
        p = TCompactProtocol.TCompactProtocol(t)
    t.open()
    for seqid, c in enumerate(calls, start=1):
        print(call(p, t, c["method"], seqid, c.get("events", [])), flush=True)
    t.close()


if __name__ == "__main__":
    main()
