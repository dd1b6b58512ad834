"""Schemathesis hooks for Hourglass: the constraints OpenAPI cannot state.

A window's `from` must come before its `to`, and a window must have ended
(one ending in the server's future is a 425, by design); a window of
deletions must start within their retention (an older one is a 410). The spec gives each
bound's format; these hooks put generated pairs in order and in the past, so
that a schema-valid pull is a valid pull. Nothing else is changed.
"""

from datetime import datetime, timedelta, timezone

import schemathesis

FORMAT = "%Y-%m-%d %H:%M:%S"


def _parse(value):
    """A bound in either of the spec's forms: a timestamp or UNIX seconds."""
    try:
        if value.replace(".", "", 1).isdigit():
            seconds = datetime.fromtimestamp(float(value), timezone.utc)
            return seconds.replace(tzinfo=None)
        return datetime.strptime(value.replace("T", " "), FORMAT)
    except (AttributeError, ValueError, OverflowError, OSError):
        return None


@schemathesis.hook
def map_query(context, query):
    if query and ("from" in query) != ("to" in query) and context.operation.path.endswith("/activity"):
        # A player's activity fills in a missing bound (to: now; from: a day
        # before to), so the one given must be in the past.
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for bound in ("from", "to"):
            at = _parse(query.get(bound))
            if at is not None:
                query[bound] = min(at, now - timedelta(seconds=1)).strftime(FORMAT)
        return query
    if not query or "from" not in query or "to" not in query:
        return query
    start, end = _parse(query["from"]), _parse(query["to"])
    if start is None or end is None:
        return query  # not a timestamp: a negative case, left as generated
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    # Written back to the second: bounds within one second would meet.
    start, end = (min(t, now).replace(microsecond=0) for t in (start, end))
    start, end = sorted((start, end))
    if context.operation.path == "/api/deletions":
        # Deletion records are kept 90 days: a window reaching further back
        # is a 410 by design (the consumer must resync in full).
        kept = now - timedelta(days=89)
        start, end = max(start, kept), max(end, kept)
    if start == end:
        start -= timedelta(seconds=1)
    query["from"], query["to"] = start.strftime(FORMAT), end.strftime(FORMAT)
    return query


@schemathesis.hook
def filter_query(context, query):
    # An empty window ([t, t)) is refused by design.
    return not (query and query.get("from") is not None and query.get("from") == query.get("to"))
