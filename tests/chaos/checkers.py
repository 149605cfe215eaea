"""The chaos test's checkers: pure functions of a workload's history and of
what the cluster holds after the faults healed. Each returns a list of
violations (strings; empty = the property holds). test_chaos.py feeds them
synthetic histories with a lost, duplicated or reordered record, etc., to
show each one can fail.
"""
from collections import Counter, defaultdict


def _cap(items, n=10):
    items = list(items)
    return items[:n] + ([f"... {len(items) - n} more"] if len(items) > n else [])


def parse_idem_value(value):
    """b"<instance>:<seq>" -> (instance, seq)."""
    inst, seq = value.decode().split(":")
    return int(inst), int(seq)


def check_idempotent_producer(acked, log):
    """acks=all idempotent producers on RF=3 partitions.

    acked: {value: (partition, offset)} for every record whose delivery
    report had no error. log: {partition: [(offset, value), ...]} as read
    back, in offset order. Values are b"<producer instance>:<seq>", seq
    increasing in send order within an instance.

    - no acknowledged record is lost, and it sits at the offset its ack gave;
    - no record appears twice (a retry that was written again);
    - per partition, each producer instance's records are in send order.
    """
    v = []
    where = {}
    counts = Counter()
    for p, records in log.items():
        for off, val in records:
            counts[val] += 1
            where.setdefault(val, (p, off))
    lost = [f"{val.decode()} acked at {p}@{o}" for val, (p, o) in sorted(acked.items()) if val not in where]
    if lost:
        v.append(f"lost {len(lost)} acknowledged records: " + ", ".join(_cap(lost)))
    by_pos = {(p, off): val for p, records in log.items() for off, val in records}
    # An ack without an offset (None: librdkafka's implicit ack of a batch a
    # later one proved written, or DUPLICATE_SEQUENCE_NUMBER) vouches only
    # for the record's presence (chaos seeds 2116, 2211).
    moved = [f"{val.decode()} acked at {p}@{o} but log has {by_pos.get((p, o), b'<nothing>').decode()} there"
             for val, (p, o) in sorted(acked.items(), key=lambda x: x[0])
             if o is not None and o >= 0 and val in where and by_pos.get((p, o)) != val]
    if moved:
        v.append(f"{len(moved)} acknowledged records not at their acked offset: " + ", ".join(_cap(moved)))
    dups = [f"{val.decode()} x{n}" for val, n in sorted(counts.items()) if n > 1]
    if dups:
        v.append(f"{len(dups)} duplicated records: " + ", ".join(_cap(dups)))
    reorders = []
    for p, records in sorted(log.items()):
        last = {}
        for off, val in records:
            inst, seq = parse_idem_value(val)
            if inst in last and seq <= last[inst][1]:
                reorders.append(f"p{p}: {inst}:{seq}@{off} after {inst}:{last[inst][1]}@{last[inst][0]}")
            last[inst] = (off, seq)
    if reorders:
        v.append(f"{len(reorders)} records out of send order: " + ", ".join(_cap(reorders)))
    return v


def librdkafka_desync_bug(error, libversion):
    """Whether an idempotent producer's fatal error is librdkafka's own bug
    #4438 (fixed in 2.3.0; Debian 12 ships 2.0.2): after a possibly persisted
    failure (a timeout, a broken connection) the client counted the batch as
    acknowledged; when its retry then failed as not persisted (e.g.
    NOT_ENOUGH_REPLICAS) the next batch in flight got
    OUT_OF_ORDER_SEQUENCE_NUMBER, as Kafka answers, and the client called it
    a "sequence desynchronization" (chaos seed 2004), or with several such
    failures a "rewound sequence number" (seed 2510)."""
    major, minor = (int(x) for x in libversion.split(".")[:2])
    return (major, minor) < (2, 3) and "OUT_OF_ORDER_SEQUENCE_NUMBER" in error \
        and ("sequence desynchronization" in error or "rewound sequence number" in error)


def unexplained_fatal_errors(errors, libversion):
    """The fatal producer errors that no known client bug explains."""
    return [e for e in errors if not librdkafka_desync_bug(e, libversion)]


def check_transactions(txns, committed_read, inputs=None, processed_all=False):
    """Transactional read-process-write.

    txns: [{"id": n, "status": "committed"|"aborted"|"unknown", "values": [bytes...]}];
    every output value is b"<txn id>|<input value>".
    committed_read: the output topic's values as a read_committed consumer sees them.
    inputs: the input topic's values; with processed_all (the processor's
    committed offsets reached the input's end), each input's output is
    visible exactly once, else at most once.

    - every committed transaction visible exactly once, in full;
    - nothing of an aborted transaction visible;
    - a transaction whose outcome the client never learnt: all or nothing, once;
    - no visible value that no transaction wrote.
    """
    v = []
    seen = Counter(committed_read)
    known = set()
    for t in txns:
        vals = t["values"]
        known.update(vals)
        n = [seen[x] for x in vals]
        if t["status"] == "committed":
            bad = [f"{x.decode()} x{c}" for x, c in zip(vals, n) if c != 1]
            if bad:
                v.append(f"committed txn {t['id']}: records not visible exactly once: " + ", ".join(_cap(bad)))
        elif t["status"] == "aborted":
            bad = [x.decode() for x, c in zip(vals, n) if c]
            if bad:
                v.append(f"aborted txn {t['id']}: {len(bad)} records visible: " + ", ".join(_cap(bad)))
        else:
            if n and (len(set(n)) > 1 or n[0] > 1):
                v.append(f"txn {t['id']} of unknown outcome partly or repeatedly visible: counts {sorted(Counter(n).items())}")
    phantom = [x.decode() for x in seen if x not in known]
    if phantom:
        v.append(f"{len(phantom)} visible records written by no transaction: " + ", ".join(_cap(phantom)))
    if inputs is not None:
        per_input = Counter(x.split(b"|", 1)[1] for x in committed_read if b"|" in x)
        twice = [f"{x.decode()} x{c}" for x, c in per_input.items() if c > 1]
        if twice:
            v.append(f"{len(twice)} inputs processed more than once: " + ", ".join(_cap(twice)))
        if processed_all:
            missing = [x.decode() for x in inputs if per_input[x] == 0]
            if missing:
                v.append(f"{len(missing)} inputs below the committed offsets never processed: " + ", ".join(_cap(missing)))
    return v


def check_committed_offsets(acked_commits, commit_log):
    """Consumer-group offset commits are durable.

    acked_commits: [(t_ack, partition, offset)]: commits a member's
    OffsetCommit acknowledged. commit_log: {partition: [offset, ...]}: the
    group's commits for the topic in __consumer_offsets after the faults
    healed, read up to its high watermark.

    - every acknowledged commit is in the log (it was replicated before its
      acknowledgement, and no later leader lost it).

    What a monitor reads meanwhile is not checked (stale_offset_reads): a
    coordinator cut off from the controllers keeps answering from its cache
    until it learns it lost the partition, as Kafka's does (chaos seed 2113).
    """
    v = []
    in_log = {p: set(offs) for p, offs in commit_log.items()}
    lost = [f"p{p}@{off} (acked at t={t:.2f})" for t, p, off in sorted(acked_commits) if off not in in_log.get(p, ())]
    if lost:
        v.append(f"{len(lost)} acknowledged commits not in __consumer_offsets: " + ", ".join(_cap(lost)))
    return v


def stale_offset_reads(observations, acked_commits):
    """How many monitor reads (t_request_sent, partition, offset) returned
    less than a commit acknowledged before the read was sent."""
    best = defaultdict(list)
    for t, p, off in acked_commits:
        best[p].append((t, off))
    return sum(1 for t_obs, p, off in observations if any(t_ack < t_obs and off < c for t_ack, c in best.get(p, ())))


def check_consumed_at_least_once(consumed, log_ends, final_committed):
    """consumed: set of (partition, offset) some member of the group got;
    log_ends: {partition: end offset (high watermark) after the run};
    final_committed: {partition: the group's committed offset at the end}.

    - every record below the end was consumed at least once;
    - the group's final committed offset is the end (it caught up) and never beyond it.
    """
    v = []
    for p, end in sorted(log_ends.items()):
        missing = [o for o in range(end) if (p, o) not in consumed]
        if missing:
            v.append(f"p{p}: {len(missing)} of {end} records never consumed, e.g. offsets {missing[:10]}")
        c = final_committed.get(p, -1)
        if c > end:
            v.append(f"p{p}: committed offset {c} beyond the log end {end}")
        elif c != end:
            v.append(f"p{p}: final committed offset {c}, log end {end}")
    return v


def check_metadata(diffs, final_topics, created, deleted):
    """Metadata convergence.

    diffs: {node: metadata-diff output of the reference node's image vs this node's};
    final_topics: topic names in the reference image; created: topics whose
    CreateTopics succeeded and on which no delete was tried; deleted: topics
    whose DeleteTopics succeeded.

    - every node's image equals the reference (metadata-diff: "No changes.");
    - an acknowledged creation is in the image, an acknowledged deletion is not.
    """
    v = []
    for node, out in sorted(diffs.items()):
        if "No changes." not in out:
            v.append(f"metadata image of {node} differs from the reference:\n{out.strip()[:2000]}")
    final = set(final_topics)
    lost = sorted(set(created) - final)
    if lost:
        v.append(f"{len(lost)} acknowledged topic creations missing from the image: {_cap(lost)}")
    back = sorted(set(deleted) & final)
    if back:
        v.append(f"{len(back)} acknowledged topic deletions still in the image: {_cap(back)}")
    return v
