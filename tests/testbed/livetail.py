"""CloudWatch Logs Live Tail, which moto does not serve (with the `live_tail` setting).

StartLiveTail answers with an event stream (`application/vnd.amazon.eventstream`,
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartLiveTail.html):
the `initial-response` an RPC protocol's event stream opens with, a `sessionStart` event, then about once a second a `sessionUpdate` whose `sessionResults` are
the events ingested since the session started, in the log groups named by ARN, narrowed by
`logStreamNamePrefixes` and `logEventFilterPattern` (plain terms, all of which a line must
hold). A session lasts at most three hours; here it lasts until the client goes, and updates
come every 0.2 s so tests need not wait.

Each message is framed as the event stream encoding says
(https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream):
total and headers lengths, the prelude's CRC32, string headers, the JSON payload, the
message's CRC32.
"""
import binascii
import json
import struct
import time
import uuid


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (struct.pack(">B", len(name_bytes)) + name_bytes + b"\x07"
            + struct.pack(">H", len(value_bytes)) + value_bytes)


def message(event_type: str, payload: dict) -> bytes:
    """One event stream message of `event_type` carrying `payload` as JSON."""
    headers = b"".join(_header(k, v) for k, v in (
        (":message-type", "event"), (":event-type", event_type), (":content-type", "application/json")))
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    framed = prelude + struct.pack(">I", binascii.crc32(prelude)) + headers + body
    return framed + struct.pack(">I", binascii.crc32(framed))


def _matches(pattern: str | None, text: str) -> bool:
    if not pattern:
        return True
    return all(term.strip('"') in text for term in pattern.split())


def session(request: dict, account: str, region: str, every: float = 1.0):
    """The messages of a Live Tail session for `request` (StartLiveTail's JSON body)."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    arns = request.get("logGroupIdentifiers") or []
    groups = [arn.split(":log-group:", 1)[-1].removesuffix(":*") for arn in arns]
    prefixes = request.get("logStreamNamePrefixes") or []
    pattern = request.get("logEventFilterPattern")
    started = int(time.time() * 1000)
    # An RPC protocol's event stream opens with the operation's own (here empty) response.
    yield message("initial-response", {})
    yield message("sessionStart", {
        "requestId": str(uuid.uuid4()), "sessionId": str(uuid.uuid4()),
        "logGroupIdentifiers": arns, "logStreamNamePrefixes": prefixes,
        "logEventFilterPattern": pattern or "",
    })
    seen = set()
    while True:
        results = []
        for arn, name in zip(arns, groups):
            group = backend.groups.get(name)
            for stream in list(group.streams.values()) if group else []:
                if prefixes and not any(stream.log_stream_name.startswith(p) for p in prefixes):
                    continue
                for event in list(stream.events):
                    if event.ingestion_time < started or (name, event.event_id) in seen:
                        continue
                    if not _matches(pattern, event.message):
                        continue
                    seen.add((name, event.event_id))
                    results.append({
                        "logStreamName": stream.log_stream_name, "logGroupIdentifier": arn,
                        "message": event.message, "timestamp": event.timestamp,
                        "ingestionTime": event.ingestion_time,
                    })
        results.sort(key=lambda r: r["timestamp"])
        yield message("sessionUpdate", {"sessionMetadata": {"sampled": False}, "sessionResults": results})
        time.sleep(every)
