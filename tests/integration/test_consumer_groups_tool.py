"""`flotilla consumer-groups` and `flotilla console-consumer --group` against a
1-node server with the group coordinator.

Expected outputs follow Kafka's kafka-consumer-groups.sh (ConsumerGroupCommand):
tables are "%-Ns" columns (at least 15 wide for GROUP/TOPIC/CONSUMER-ID/HOST,
10 for PARTITION, 15 for the offsets) and every table line is preceded by a
newline; an empty group's describe says on stderr that it has no active members.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, create_topic, run_tool

GROUP_CONFIGS = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}
DESCRIBE_HEADER = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]


def cg(server, *args, check=True, timeout=60):
    return run_tool("consumer-groups", "--bootstrap-server", server.bootstrap, *args, check=check, timeout=timeout)


def produce(server, topic, n, prefix="v"):
    lines = "".join(f"k{i}:{prefix}{i}\n" for i in range(n))
    run_tool("console-producer", "--bootstrap-server", server.bootstrap, "--topic", topic,
             "--property", "parse.key=true", "--property", "key.separator=:", input=lines)
    return [f"{prefix}{i}" for i in range(n)]


def consume(server, topic, group, n, *extra):
    p = run_tool("console-consumer", "--bootstrap-server", server.bootstrap, "--topic", topic, "--group", group,
                 "--max-messages", str(n), "--timeout-ms", "30000", *extra, timeout=90)
    assert f"Processed a total of {n} messages" in p.stderr, p.stderr
    return p.stdout.splitlines()


def kafka_line(cols, widths):
    """Kafka's String.format("%-Ns %-Ns ... %s")."""
    out = []
    for v, w in zip(cols, widths):
        out.append(v.ljust(w) if w else v)
    return " ".join(out)


def parse_describe(stdout):
    """The rows of a --describe table as dicts (header checked)."""
    assert stdout.startswith("\n"), repr(stdout)
    lines = [l for l in stdout.split("\n") if l.strip()]
    assert lines[0].split() == DESCRIBE_HEADER, stdout
    return [dict(zip(DESCRIBE_HEADER, l.split())) for l in lines[1:]]


def describe_rows(server, group):
    return parse_describe(cg(server, "--describe", "--group", group).stdout)


def wait_for(fn, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")


class BackgroundConsumer:
    def __init__(self, server, topic, group, outfile):
        self.out = open(outfile, "w+")
        self.proc = subprocess.Popen([BIN, "console-consumer", "--bootstrap-server", server.bootstrap, "--topic", topic,
                                      "--group", group], stdout=self.out, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.seek(0)
        return self.out.read()


@pytest.fixture
def gserver(make_server):
    return make_server(GROUP_CONFIGS)


def test_consume_describe_reset_list_delete(gserver, workdir):
    s = gserver
    create_topic(s, "orders", partitions=3)
    values = produce(s, "orders", 30)

    # A group member reads everything from the beginning, commits and leaves.
    got = consume(s, "orders", "g", 30, "--from-beginning")
    assert sorted(got) == sorted(values)

    # Describe: the group is empty now; every partition is committed at its log end.
    d = cg(s, "--describe", "--group", "g")
    assert "Consumer group 'g' has no active members." in d.stderr
    rows = parse_describe(d.stdout)
    assert [(r["TOPIC"], r["PARTITION"]) for r in rows] == [("orders", "0"), ("orders", "1"), ("orders", "2")]
    for r in rows:
        assert r["GROUP"] == "g"
        assert r["CURRENT-OFFSET"] == r["LOG-END-OFFSET"], rows
        assert r["LAG"] == "0"
        assert (r["CONSUMER-ID"], r["HOST"], r["CLIENT-ID"]) == ("-", "-", "-")
    leo = {int(r["PARTITION"]): int(r["LOG-END-OFFSET"]) for r in rows}
    assert sum(leo.values()) == 30
    # Kafka's exact layout: "\n" before every line, "%-15s" columns, a final newline.
    widths = [15, 15, 10, 15, 15, 15, 15, 15, 0]
    expected = "\n" + kafka_line(DESCRIBE_HEADER, widths)
    for p in range(3):
        expected += "\n" + kafka_line(["g", "orders", str(p), str(leo[p]), str(leo[p]), "0", "-", "-", "-"], widths)
    assert d.stdout == expected + "\n"

    # Nothing more to read for the group: a second member times out with 0 records.
    again = run_tool("console-consumer", "--bootstrap-server", s.bootstrap, "--topic", "orders", "--group", "g",
                     "--timeout-ms", "3000", timeout=60)
    assert again.stdout == ""

    # --reset-offsets: a dry run changes nothing.
    dry = cg(s, "--reset-offsets", "--group", "g", "--topic", "orders", "--to-earliest", "--dry-run")
    lines = [l for l in dry.stdout.split("\n") if l.strip()]
    assert lines[0].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert sorted(tuple(l.split()) for l in lines[1:]) == [("g", "orders", str(p), "0") for p in range(3)]
    assert lines[0] == kafka_line(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], [15, 15, 10, 0])
    assert all(r["LAG"] == "0" for r in describe_rows(s, "g"))

    # Without --execute or --dry-run: Kafka's warning, and still a dry run.
    warn = cg(s, "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest")
    assert "WARN: No action will be performed as the --execute option is missing." in warn.stderr
    assert all(r["LAG"] == "0" for r in describe_rows(s, "g"))

    # --execute: the committed offsets move to the earliest offsets.
    ex = cg(s, "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--execute")
    assert sorted(tuple(l.split()) for l in ex.stdout.split("\n") if l.strip() and not l.startswith("GROUP")) == \
        [("g", "orders", str(p), "0") for p in range(3)]
    rows = describe_rows(s, "g")
    for r in rows:
        p = int(r["PARTITION"])
        assert r["CURRENT-OFFSET"] == "0"
        assert int(r["LOG-END-OFFSET"]) == leo[p]
        assert int(r["LAG"]) == leo[p]

    # --to-offset and --shift-by (clamped to the log's range, as Kafka does).
    big = max(leo, key=leo.get)
    cg(s, "--reset-offsets", "--group", "g", "--topic", f"orders:{big}", "--to-offset", "1", "--execute")
    cg(s, "--reset-offsets", "--group", "g", "--topic", f"orders:{big}", "--shift-by", "1", "--execute")
    cg(s, "--reset-offsets", "--group", "g", "--topic", "orders", "--shift-by", "1000", "--execute")
    rows = {int(r["PARTITION"]): r for r in describe_rows(s, "g")}
    assert all(int(rows[p]["CURRENT-OFFSET"]) == leo[p] for p in range(3))
    cg(s, "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--execute")

    # The group consumes again from its committed (earliest) offsets, without --from-beginning.
    got = consume(s, "orders", "g", 30)
    assert sorted(got) == sorted(values)
    assert all(r["LAG"] == "0" for r in describe_rows(s, "g"))

    # --list and --list --state.
    lst = cg(s, "--list")
    assert "g" in lst.stdout.split("\n")
    st = cg(s, "--list", "--state")
    lines = st.stdout.split("\n")
    assert lines[0] == kafka_line(["GROUP", "STATE"], [25, 20])
    assert kafka_line(["g", "Empty"], [25, 20]) in lines

    # --delete removes it.
    dl = cg(s, "--delete", "--group", "g")
    assert dl.stdout == "Deletion of requested consumer groups ('g') was successful.\n"
    assert "g" not in cg(s, "--list").stdout.split("\n")
    gone = cg(s, "--describe", "--group", "g", check=False)
    assert "Error: Consumer group 'g' does not exist." in gone.stdout
    again = cg(s, "--delete", "--group", "g", check=False)
    assert again.stdout == ("\nError: Deletion of some consumer groups failed:\n"
                            "* Group 'g' could not be deleted due to: "
                            "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.\n")


def test_active_group_members_state_rebalance_and_delete_offsets(gserver, workdir):
    s = gserver
    create_topic(s, "events", partitions=3)
    produce(s, "events", 12, prefix="e")

    c1 = BackgroundConsumer(s, "events", "live", os.path.join(workdir, "c1.out"))
    c2 = None
    try:
        def stable_with(n_members):
            st = cg(s, "--describe", "--group", "live", "--state", check=False)
            lines = [l for l in st.stdout.split("\n") if l.strip()]
            if len(lines) == 2 and lines[1].split()[-2:] == ["Stable", str(n_members)]:
                return lines
            return None

        lines = wait_for(lambda: stable_with(1))
        assert lines[0].split() == ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
        assert lines[1].split()[0] == "live" and "range" in lines[1].split()

        # --members: one member with every partition.
        m = cg(s, "--describe", "--group", "live", "--members")
        mlines = [l for l in m.stdout.split("\n") if l.strip()]
        assert mlines[0].split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
        assert len(mlines) == 2 and mlines[1].split()[-1] == "3"

        # Offsets of an active group name its member.
        rows = wait_for(lambda: [r for r in describe_rows(s, "live") if r["CONSUMER-ID"] != "-"])
        assert sorted(r["PARTITION"] for r in rows) == ["0", "1", "2"]

        # Only inactive groups can be reset or deleted.
        r = cg(s, "--reset-offsets", "--group", "live", "--all-topics", "--to-earliest", "--execute", check=False)
        assert "Error: Assignments can only be reset if the group 'live' is inactive, but the current state is Stable." in r.stdout
        d = cg(s, "--delete", "--group", "live", check=False)
        assert "Error: Deletion of some consumer groups failed:" in d.stdout
        assert "* Group 'live' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException" in d.stdout

        # A second member: the range assignor splits the 3 partitions 2 + 1.
        c2 = BackgroundConsumer(s, "events", "live", os.path.join(workdir, "c2.out"))
        wait_for(lambda: stable_with(2), timeout=45)

        def split():
            rows = [r for r in describe_rows(s, "live") if r["CONSUMER-ID"] != "-"]
            owners = {}
            for r in rows:
                owners.setdefault(r["CONSUMER-ID"], []).append(int(r["PARTITION"]))
            if len(owners) == 2 and sorted(sum(owners.values(), [])) == [0, 1, 2]:
                return sorted(len(v) for v in owners.values())
            return None

        assert wait_for(split, timeout=45) == [1, 2]
        # Records produced now are read exactly once across the two members.
        new = produce(s, "events", 9, prefix="n")

        def all_new_read():
            text = open(os.path.join(workdir, "c1.out")).read() + open(os.path.join(workdir, "c2.out")).read()
            got = [l for l in text.split("\n") if l.startswith("n")]
            return got if sorted(got) == sorted(new) else None

        wait_for(all_new_read, timeout=30)
    finally:
        if c2:
            c2.stop()
        c1.stop()

    # Both left: the group is empty; its offsets can be deleted.
    wait_for(lambda: "Empty" in cg(s, "--describe", "--group", "live", "--state", check=False).stdout)
    rows = describe_rows(s, "live")
    assert all(r["LAG"] == "0" for r in rows), rows
    do = cg(s, "--delete-offsets", "--group", "live", "--topic", "events")
    lines = do.stdout.split("\n")
    assert lines[0] == "Request succeeded for deleting offsets from group live."
    body = [l for l in lines[1:] if l.strip()]
    assert body[0] == kafka_line(["TOPIC", "PARTITION", "STATUS"], [15, 10, 15])
    assert body[1:] == [kafka_line(["events", str(p), "Successful"], [15, 10, 15]) for p in range(3)]
    # No offsets left: nothing to show (the coordinator may also have removed the empty group).
    d = cg(s, "--describe", "--group", "live", check=False)
    assert ("Consumer group 'live' has no active members." in d.stderr and d.stdout == "") or \
        "Error: Consumer group 'live' does not exist." in d.stdout, (d.stdout, d.stderr)
