"""The built-in console (issue 18, section 4) in a real headless Chromium.

A 3-controller + 3-broker cluster, each node with an HTTP listener; the
browser (python3-selenium driving Debian's chromium-driver) opens every page of
broker 100's console and checks that it loads without console errors and shows
the live state (a topic, its offsets and a consumer group made by the test).
Then broker 102 is killed with SIGKILL: within broker.session.timeout.ms + 2 s
the brokers page shows it fenced and the metadata-log timeline shows its
fencing record followed by the partition leader elections it caused; once a
newer snapshot exists, the snapshot diff page shows the same change.
Screenshots go to $FLOTILLA_CONSOLE_SCREENSHOTS or build/console-screenshots/.
"""
import json
import os
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, free_port, run_tool

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SESSION_TIMEOUT_MS = 3000
TOPIC = "console-live"
GROUP = "console-group"
SHOTS = os.environ.get("FLOTILLA_CONSOLE_SCREENSHOTS", os.path.join(ROOT, "build", "console-screenshots"))

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="chromium and chromium-driver are not installed")


def api(node, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/console/api/{path}", timeout=10) as r:
        return json.loads(r.read())


def wait_for(what, fn, timeout, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # a page mid-redraw: try again
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def console_cluster(cluster):
    def configure(n):
        n.http_port = free_port()
        n.props["http.listeners"] = f"http://127.0.0.1:{n.http_port}"
    extra = {
        "broker.session.timeout.ms": str(SESSION_TIMEOUT_MS),
        "broker.heartbeat.interval.ms": "500",
        "metadata.log.max.record.bytes.between.snapshots": "2000",
        "metadata.log.max.snapshot.interval.ms": "1000",
        "offsets.topic.replication.factor": "3",
        "offsets.topic.num.partitions": "3",
        "group.initial.rebalance.delay.ms": "0",
    }
    return cluster(controllers=3, brokers=3, extra=extra, configure=configure)


def open_page(driver, node, page, query=""):
    """Loads a console page and waits until it has drawn from its API once."""
    driver.get(f"http://127.0.0.1:{node.http_port}/console/{page}?interval=500{query}")
    wait_for(f"the {page} page to draw", lambda: driver.find_element(By.CSS_SELECTOR, f"body[data-loaded='{page}']"), 15)
    assert driver.find_element(By.ID, "banner").get_attribute("class").split().count("hidden") == 1, \
        driver.find_element(By.ID, "banner").text


def no_console_errors(driver, page):
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, f"{page}: browser console errors: {severe}"


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def produce_and_consume(bootstrap):
    from confluent_kafka import Consumer, Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(30):
        p.produce(TOPIC, key=str(i % 3).encode(), value=f"v{i}".encode(), partition=i % 3)
    assert p.flush(20) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = []
    deadline = time.time() + 30
    while len(got) < 5 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m)
    assert len(got) >= 5, "the consumer read nothing"
    c.commit(message=got[4], asynchronous=False)  # one partition's offset, so the group has lag
    c.close()


def text(driver, css):
    """The text of the first element matching css (None if none), read in one
    script call: the pages redraw on every poll, so element handles go stale."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css)


def rows(driver, css):
    """[{"attrs": {data-* ...}, "cells": [td texts], "text": row text}] of the elements matching css."""
    return driver.execute_script("""
        return [...document.querySelectorAll(arguments[0])].map((r) => ({
          attrs: Object.fromEntries([...r.attributes].map((a) => [a.name, a.value])),
          cells: [...r.children].map((c) => c.innerText),
          text: r.innerText}));""", css)


def test_console_pages_live_state_and_broker_failure(cluster, browser):
    c = console_cluster(cluster)
    b100, b101, b102 = c.brokers
    run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", TOPIC,
             "--partitions", "3", "--replication-factor", "3")
    produce_and_consume(b100.bootstrap)
    d = browser

    # ---- every page loads without console errors and shows live state
    open_page(d, b100, "quorum")
    leader = wait_for("a quorum leader", lambda: text(d, "#quorum-leader .value") in ("1", "2", "3"), 10)
    assert leader
    assert int(text(d, "#quorum-hw .value")) > 0
    # Voters and observers with their offsets: from the leader (DescribeQuorum via this broker).
    reps = wait_for("the quorum's replicas", lambda: (lambda r: r if len(r) == 6 else None)(rows(d, "#replicas-table tr[data-replica-id]")), 10)
    assert sorted(int(r["attrs"]["data-replica-id"]) for r in reps) == [1, 2, 3, 100, 101, 102]
    assert all(r["cells"][3].isdigit() and r["cells"][4].isdigit() for r in reps), reps  # log end offset, lag
    assert "DescribeQuorum" in text(d, "#replica-source")
    # The elections table lists the LEADER_CHANGE control records of the log.
    wait_for("a leader change row", lambda: rows(d, "#elections-table tbody tr td.num"), 5)
    shot(d, "1-quorum")
    no_console_errors(d, "quorum")

    open_page(d, b100, "brokers")
    for b in (100, 101, 102):
        state = text(d, f"#brokers-table tr[data-broker-id='{b}'] .state")
        assert state == "registered", (b, state)
    assert len(rows(d, "#controllers-table tr[data-controller-id]")) == 3
    shot(d, "2-brokers")
    no_console_errors(d, "brokers")

    open_page(d, b100, "topics")
    parts = f"div[data-topic='{TOPIC}'] tr[data-partition]"
    wait_for("the topic's partitions", lambda: len(rows(d, parts)) == 3, 10)
    # Log end offsets (ListOffsets to each leader): 10 records per partition.
    wait_for("log end offsets", lambda: [r["cells"][-1] for r in rows(d, parts)] == ["10", "10", "10"], 10)
    group = wait_for("the consumer group", lambda: rows(d, f"#groups-table tr[data-group='{GROUP}']"), 15)
    lag = int(group[0]["cells"][5])
    assert 0 < lag < 30, lag
    shot(d, "3-topics")
    no_console_errors(d, "topics")

    open_page(d, b100, "log")
    wait_for("the topic's TOPIC_RECORD", lambda: any(
        f"topic {TOPIC} created" in r["text"] for r in rows(d, "#log-table tr[data-type='TOPIC_RECORD']")), 10)
    # Filtering by type: only that type's rows remain.
    d.execute_script("document.querySelector(\"#log-filters .chip[data-type='PARTITION_RECORD']\").click()")
    wait_for("the filter", lambda: rows(d, "#log-filters .chip.on[data-type='PARTITION_RECORD']"), 5)
    types = wait_for("filtered rows", lambda: {r["attrs"]["data-type"] for r in rows(d, "#log-table tr[data-type]")}, 5)
    assert types == {"PARTITION_RECORD"}, types
    shot(d, "4-log")
    no_console_errors(d, "log")

    open_page(d, b100, "snapshots")
    snaps = wait_for("two snapshots", lambda: (lambda s: s if len(s) >= 2 else None)(api(b100, "snapshots")["snapshots"]), 30)
    wait_for("the snapshot list", lambda: len(rows(d, "#snapshots-table tr[data-snapshot]")) >= 2, 5)
    wait_for("the diff", lambda: (text(d, "#diff-text") or "").startswith("Comparing metadata at offset"), 5)
    shot(d, "5-snapshots")
    no_console_errors(d, "snapshots")
    before_kill = snaps[-1]["file"]

    # ---- broker 102 dies: fenced, then the elections it caused
    image = api(b100, "topics")
    led_by_102 = [p["partition"] for t in image["topics"] if t["name"] == TOPIC for p in t["partitions"] if p["leader"] == 102]
    # The timeline polls in a second tab meanwhile, so both pages are live.
    brokers_tab = d.current_window_handle
    d.switch_to.new_window("tab")
    open_page(d, b100, "log")
    log_tab = d.current_window_handle
    d.switch_to.window(brokers_tab)
    open_page(d, b100, "brokers")
    b102.kill9()
    killed = time.time()
    limit = SESSION_TIMEOUT_MS / 1000 + 2
    wait_for("broker 102 fenced on the brokers page",
             lambda: text(d, "#brokers-table tr[data-broker-id='102'] .state") == "fenced", limit)
    fenced_after = time.time() - killed
    assert text(d, "#brokers-table tr[data-broker-id='100'] .state") == "registered"
    shot(d, "6-brokers-fenced")
    no_console_errors(d, "brokers after the kill")
    d.switch_to.window(log_tab)

    def fencing_then_elections():
        rs = rows(d, "#log-table tr[data-type]")
        fence = [i for i, r in enumerate(rs)
                 if r["attrs"]["data-type"] == "BROKER_REGISTRATION_CHANGE_RECORD" and "broker 102 fenced" in r["text"]]
        if not fence:
            return None
        # The rows right after the fencing record: the partition changes it caused.
        changes = []
        for r in rs[fence[0] + 1:]:
            if r["attrs"].get("data-caused-by") != "102":
                break
            assert r["attrs"]["data-type"] == "PARTITION_CHANGE_RECORD", r
            changes.append(r["cells"][4].split("\n")[0])
        # Every partition broker 102 led gets a new leader.
        elected = all(any(f"{TOPIC}-{p}: leader → " in t for t in changes) for p in led_by_102)
        return (int(rs[fence[0]]["attrs"]["data-offset"]), changes) if changes and elected else None

    remaining = max(0.5, limit - (time.time() - killed))
    try:
        fence_offset, changes = wait_for("the fencing record and the elections", fencing_then_elections, remaining)
    except AssertionError:
        shot(d, "7-log-fencing-failed")
        log = api(b100, "log?limit=40")["entries"]
        raise AssertionError(f"led by 102: {led_by_102}; the log's newest records: "
                             + json.dumps([(e["offset"], e["type"], e["data"]) for e in log]))
    timeline_after = time.time() - killed
    for t in changes:
        if "leader → " in t:
            assert not t.split("leader → ")[1].startswith("102"), changes
    shot(d, "7-log-fencing")
    no_console_errors(d, "log after the kill")
    print(f"fenced shown after {fenced_after:.2f}s, timeline after {timeline_after:.2f}s (limit {limit}s); changes {changes}")

    # ---- the snapshot diff page shows the change once a newer snapshot exists
    newer = wait_for("a snapshot after the fencing", lambda: [s for s in api(b100, "snapshots")["snapshots"]
                                                              if s["endOffset"] > fence_offset + 1], 30)
    open_page(d, b100, "snapshots", f"&from={before_kill}&to={newer[-1]['file']}")
    diff = wait_for("the diff", lambda: text(d, "#diff-text"), 10)
    assert "~ broker 102 fenced" in diff, diff
    for p in led_by_102:
        assert f"~ partition {TOPIC}-{p}: leader 102 -> " in diff, diff
    assert d.execute_script("return document.getElementById('diff-from').value") == before_kill
    shot(d, "8-snapshot-diff")
    no_console_errors(d, "snapshot diff")


def test_console_api_bad_input_and_assets(make_server):
    """Odd parameters get a JSON error with the right status, never a crash;
    the pages and assets are served from the binary."""
    port = free_port()
    srv = make_server(extra={"http.listeners": f"http://127.0.0.1:{port}"})
    base = f"http://127.0.0.1:{port}"

    def get(path):
        try:
            with urllib.request.urlopen(base + path, timeout=10) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    for path in ("/", "/console", "/console/brokers", "/console/log"):
        status, ctype, body = get(path)
        assert status == 200 and ctype.startswith("text/html") and b"/console/static/console.js" in body, path
    status, ctype, body = get("/console/static/console.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"function drawBrokers" in body
    for path, want in (("/console/static/nope.js", 404), ("/console/nope", 404),
                       ("/console/api/log?limit=0", 400), ("/console/api/log?limit=x", 400),
                       ("/console/api/log?before=-5", 400), ("/console/api/snapshots/diff?from=..%2F..%2Fetc%2Fpasswd", 404),
                       ("/console/api/snapshots/diff?from=current&to=00000000000000000001-0000000001.checkpoint", 404)):
        status, ctype, body = get(path)
        assert status == want, (path, status, body)
        if path.startswith("/console/api"):
            err = json.loads(body)
            assert err["error_code"] == want and err["message"], err
    status, _, body = get("/console/api/snapshots/diff?from=current&to=current")
    assert status == 200 and json.loads(body)["text"].endswith("No changes.\n")
    assert srv.proc.poll() is None
