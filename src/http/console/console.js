// The Flotilla console: draws the page its path names (/console/<page>) from
// the node's JSON endpoints (/console/api/...) and polls them to stay live.
// Plain JavaScript, no libraries. Elements are built with h() (never from
// HTML strings), so record contents cannot inject markup.
"use strict";

const PAGES = ["quorum", "brokers", "topics", "log", "snapshots"];
const params = new URLSearchParams(location.search);
const INTERVAL = Math.max(250, Number(params.get("interval")) || 2000);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function badge(text, kind) { return h("span", { class: "badge " + (kind || "") }, text); }
function card(label, value, id) {
  return h("div", { class: "card", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}
function table(id, headers, rows) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, headers.map((x) => (typeof x === "string" ? h("th", {}, x) : x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "none"))));
}
function list(a) { return Array.isArray(a) ? "[" + a.join(", ") + "]" : ""; }
function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}
function fmtAgo(ms, now) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  const s = Math.max(0, (now - ms) / 1000);
  return s < 1 ? "just now" : s < 120 ? s.toFixed(1) + " s ago" : Math.round(s / 60) + " min ago";
}
function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(1) + " MiB";
}
function num(v) { return v === null || v === undefined || v < 0 ? "—" : String(v); }

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(body && body.message ? body.message : "HTTP " + r.status);
  return body;
}

function showError(e) {
  const b = document.getElementById("banner");
  if (e) {
    b.textContent = "Could not refresh: " + e.message;
    b.classList.remove("hidden");
  } else {
    b.classList.add("hidden");
  }
}

function setNode(d) {
  document.getElementById("node-info").textContent =
    "node " + d.nodeId + " (" + d.roles.join(", ") + ") · cluster " + d.clusterId;
}

function replace(el) {
  const main = document.getElementById("main");
  main.replaceChildren(el);
}

// ------------------------------------------------------------ quorum

async function drawQuorum() {
  const d = await getJson("/console/api/quorum");
  setNode(d);
  const r = d.raft;
  const leaderNote = h("p", { class: "muted", id: "replica-source" }, "Replica states from " + d.replicaSource +
    (r.voters.some((v) => v.logEndOffset >= 0) ? "" : "; offsets and fetch times are known only on the quorum leader"));
  const replicaRows = (rs, kind) => rs.map((v) => h("tr", { "data-replica-id": v.replicaId },
    h("td", {}, v.replicaId, v.replicaId === r.leaderId ? [" ", badge("leader", "ok")] : null),
    h("td", {}, kind),
    h("td", { class: "mono" }, v.directoryId || "—"),
    h("td", { class: "num" }, num(v.logEndOffset)),
    h("td", { class: "num" }, v.lag === null ? "—" : v.lag),
    h("td", {}, fmtAgo(v.lastFetchTimestamp, d.now)),
    h("td", {}, fmtAgo(v.lastCaughtUpTimestamp, d.now))));
  const history = d.history.slice().reverse().map((x) => h("tr", {},
    h("td", {}, fmtTime(x.time)), h("td", { class: "num" }, x.epoch), h("td", {}, x.leaderId < 0 ? "none" : x.leaderId)));
  const elections = d.elections.map((e) => h("tr", {},
    h("td", { class: "num" }, e.offset), h("td", { class: "num" }, e.epoch), h("td", {}, fmtTime(e.time)),
    h("td", {}, e.data && e.data.leaderId !== undefined ? e.data.leaderId : "—"),
    h("td", {}, e.data && e.data.voters ? list(e.data.voters.map((v) => v.voterId)) : "—"),
    h("td", {}, e.data && e.data.grantingVoters ? list(e.data.grantingVoters.map((v) => v.voterId)) : "—")));
  replace(h("div", {},
    h("h2", {}, "Quorum"),
    h("div", { class: "cards" },
      card("Leader", r.leaderId < 0 ? "none" : r.leaderId, "quorum-leader"),
      card("Epoch", r.epoch, "quorum-epoch"),
      card("High watermark", num(r.highWatermark), "quorum-hw"),
      card("This node", r.state, "quorum-state"),
      card("Log end offset", r.logEndOffset)),
    h("h2", {}, "Voters and observers"),
    leaderNote,
    table("replicas-table", ["Replica", "Role", "Directory id", h("th", { class: "num" }, "Log end offset"),
      h("th", { class: "num" }, "Lag"), "Last fetch", "Last caught up"],
    replicaRows(r.voters, "voter").concat(replicaRows(r.observers, "observer"))),
    h("h2", {}, "Leader changes (from the metadata log)"),
    table("elections-table", [h("th", { class: "num" }, "Offset"), h("th", { class: "num" }, "Epoch"), "Time", "Leader",
      "Voters", "Granting voters"], elections),
    h("h2", {}, "Leader changes seen by this page's polling"),
    table("history-table", ["Seen at", h("th", { class: "num" }, "Epoch"), "Leader"], history)));
}

// ------------------------------------------------------------ brokers

async function drawBrokers() {
  const d = await getJson("/console/api/brokers");
  setNode(d);
  const kind = { registered: "ok", fenced: "bad", "controlled shutdown": "warn" };
  const listeners = (ls) => ls.map((l) => h("div", { class: "mono" }, l.name + " " + l.securityProtocol + "://" + l.host + ":" + l.port));
  const rows = d.brokers.map((b) => h("tr", { "data-broker-id": b.id, class: b.fenced ? "offline" : null },
    h("td", {}, b.id),
    h("td", { class: "state" }, badge(b.state, kind[b.state])),
    h("td", { class: "num" }, b.epoch),
    h("td", {}, b.rack === null ? h("span", { class: "muted" }, "—") : b.rack),
    h("td", {}, listeners(b.listeners)),
    h("td", { class: "mono muted" }, b.incarnationId)));
  const fenced = d.brokers.filter((b) => b.fenced).length;
  const cs = d.controllers.map((c) => h("tr", { "data-controller-id": c.id },
    h("td", {}, c.id), h("td", {}, listeners(c.listeners)), h("td", { class: "mono muted" }, c.incarnationId)));
  replace(h("div", {},
    h("h2", {}, "Brokers"),
    h("div", { class: "cards" },
      card("Registrations", d.brokers.length), card("Fenced", fenced, "brokers-fenced"),
      card("Metadata offset", num(d.metadataOffset))),
    h("h2", {}, "Registrations"),
    table("brokers-table", ["Id", "State", h("th", { class: "num" }, "Epoch"), "Rack", "Listeners", "Incarnation"], rows),
    h("h2", {}, "Controllers"),
    table("controllers-table", ["Id", "Listeners", "Incarnation"], cs)));
}

// ------------------------------------------------------------ topics

let groupsCache = null;

async function drawTopics() {
  const [d, g] = await Promise.all([getJson("/console/api/topics"), getJson("/console/api/groups").catch(() => groupsCache)]);
  if (g) groupsCache = g;
  setNode(d);
  const topics = d.topics.map((t) => {
    const rows = t.partitions.map((p) => h("tr", {
      "data-partition": t.name + "-" + p.partition, class: p.offline ? "offline" : p.underReplicated ? "under" : null },
    h("td", {}, p.partition),
    h("td", {}, p.leader < 0 ? badge("none", "bad") : p.leader),
    h("td", { class: "num" }, p.leaderEpoch),
    h("td", {}, list(p.replicas)),
    h("td", {}, list(p.isr)),
    h("td", {}, p.elr.length ? list(p.elr) : "—", p.lastKnownElr.length ? h("span", { class: "muted" }, " last known " + list(p.lastKnownElr)) : null),
    h("td", {}, p.offline ? badge("offline", "bad") : p.underReplicated ? badge("under-replicated", "warn") : badge("ok", "ok")),
    h("td", { class: "num" }, num(p.logEndOffset))));
    return h("div", { class: "topic", "data-topic": t.name },
      h("h3", {}, t.name, " ", h("span", { class: "muted mono" }, t.id)),
      table(null, ["Partition", "Leader", h("th", { class: "num" }, "Leader epoch"), "Replicas", "ISR", "ELR", "Status",
        h("th", { class: "num" }, "Log end offset")], rows));
  });
  const groups = (groupsCache ? groupsCache.groups : []).map((gr) => h("tr", { "data-group": gr.groupId },
    h("td", {}, gr.groupId), h("td", {}, gr.state), h("td", {}, gr.protocolType || "—"), h("td", {}, gr.coordinator),
    h("td", { class: "num" }, gr.members), h("td", { class: "num" }, gr.lag),
    h("td", {}, gr.offsets.length ? h("details", {}, h("summary", {}, gr.offsets.length + " partitions"),
      table(null, ["Partition", h("th", { class: "num" }, "Committed"), h("th", { class: "num" }, "Log end"), h("th", { class: "num" }, "Lag")],
        gr.offsets.map((o) => h("tr", {}, h("td", {}, o.topic + "-" + o.partition), h("td", { class: "num" }, o.committed),
          h("td", { class: "num" }, num(o.logEndOffset)), h("td", { class: "num" }, o.lag === null ? "—" : o.lag))))) : "—")));
  replace(h("div", {},
    h("h2", {}, "Topics and partitions"),
    h("div", { class: "cards" },
      card("Topics", d.topics.length, "topics-count"),
      card("Offline partitions", d.offlinePartitions, "topics-offline"),
      card("Under-replicated", d.underReplicatedPartitions, "topics-under")),
    topics.length ? topics : h("p", { class: "muted" }, "No topics."),
    h("h2", {}, "Consumer groups"),
    table("groups-table", ["Group", "State", "Protocol", "Coordinator", h("th", { class: "num" }, "Members"),
      h("th", { class: "num" }, "Lag"), "Offsets"], groups)));
}

// ------------------------------------------------------------ metadata log

const logState = { types: new Set(), before: -1, pages: [] };

function summarize(e, names) {
  const d = e.data || {};
  const topic = (id) => names[id] || id;
  switch (e.type) {
    case "BROKER_REGISTRATION_CHANGE_RECORD": {
      const what = [];
      if (d.fenced === 1) what.push("fenced");
      if (d.fenced === -1) what.push("unfenced");
      if (d.inControlledShutdown === 1) what.push("in controlled shutdown");
      return "broker " + d.brokerId + " " + (what.join(", ") || "changed") + " (epoch " + d.brokerEpoch + ")";
    }
    case "REGISTER_BROKER_RECORD": return "broker " + d.brokerId + " registered (epoch " + d.brokerEpoch + ")";
    case "UNREGISTER_BROKER_RECORD": return "broker " + d.brokerId + " unregistered";
    case "FENCE_BROKER_RECORD": return "broker " + d.id + " fenced";
    case "UNFENCE_BROKER_RECORD": return "broker " + d.id + " unfenced";
    case "TOPIC_RECORD": return "topic " + d.name + " created";
    case "REMOVE_TOPIC_RECORD": return "topic " + topic(d.topicId) + " removed";
    case "PARTITION_RECORD": return "partition " + topic(d.topicId) + "-" + d.partitionId + " leader " + d.leader + " replicas " + list(d.replicas);
    case "PARTITION_CHANGE_RECORD": {
      const parts = [];
      if (d.leader !== undefined && d.leader !== -2) parts.push(d.leader === -1 ? "no leader" : "leader → " + d.leader);
      if (Array.isArray(d.isr)) parts.push("isr " + list(d.isr));
      if (Array.isArray(d.eligibleLeaderReplicas)) parts.push("elr " + list(d.eligibleLeaderReplicas));
      if (Array.isArray(d.replicas)) parts.push("replicas " + list(d.replicas));
      return "partition " + topic(d.topicId) + "-" + d.partitionId + ": " + (parts.join(", ") || "changed");
    }
    case "CONFIG_RECORD": return "config " + d.resourceName + " " + d.name + "=" + (d.value === null ? "(deleted)" : d.value);
    case "FEATURE_LEVEL_RECORD": return "feature " + d.name + " = " + d.featureLevel;
    case "LEADER_CHANGE": return "leader " + d.leaderId + (d.voters ? " (voters " + list(d.voters.map((v) => v.voterId)) + ")" : "");
    case "REGISTER_CONTROLLER_RECORD": return "controller " + d.controllerId + " registered";
    default: return "";
  }
}

function isFencing(e) {
  return (e.type === "BROKER_REGISTRATION_CHANGE_RECORD" && e.data && e.data.fenced === 1) || e.type === "FENCE_BROKER_RECORD";
}

function typeKind(t) {
  if (t === "LEADER_CHANGE" || t.startsWith("KRAFT")) return "info";
  if (t === "BROKER_REGISTRATION_CHANGE_RECORD" || t === "FENCE_BROKER_RECORD" || t === "UNREGISTER_BROKER_RECORD" || t === "REMOVE_TOPIC_RECORD") return "bad";
  if (t === "PARTITION_CHANGE_RECORD") return "warn";
  if (t === "UNDECODABLE" || t === "CORRUPT_BATCH") return "bad";
  return "ok";
}

async function drawLog() {
  const q = new URLSearchParams({ limit: "200" });
  if (logState.types.size) q.set("type", [...logState.types].join(","));
  if (logState.before >= 0) q.set("before", String(logState.before));
  const d = await getJson("/console/api/log?" + q.toString());
  setNode(d);
  const names = d.topicNames || {};
  const chips = Object.keys(d.counts).sort().map((t) => h("span", {
    class: "chip" + (logState.types.has(t) ? " on" : ""), "data-type": t,
    onclick: () => { logState.types.has(t) ? logState.types.delete(t) : logState.types.add(t); logState.before = -1; logState.pages = []; refresh(); },
  }, t.replace(/_RECORD$/, "") + " " + d.counts[t]));
  const row = (e, cause) => h("tr", { "data-type": e.type, "data-offset": e.offset, "data-caused-by": cause, class: cause !== undefined ? "caused" : null },
    h("td", { class: "num" }, e.offset),
    h("td", { class: "num" }, e.epoch),
    h("td", {}, fmtTime(e.time)),
    h("td", {}, badge(e.type, typeKind(e.type))),
    h("td", { class: "summary" }, cause !== undefined ? h("span", { class: "cause" }, "↳ after broker " + cause + " was fenced: ") : null,
      summarize(e, names),
      h("details", {}, h("summary", {}, "fields"), h("pre", { class: "mono" }, JSON.stringify(e.data)))));
  // The controller writes an event's records as one batch: a broker's fencing
  // record comes with the leader elections and ISR shrinks it caused (Kafka
  // writes those first). Such a batch shows the fencing record first, then
  // what it caused, in log order.
  const rows = [];
  for (let i = 0; i < d.entries.length;) {
    let j = i;
    while (j < d.entries.length && d.entries[j].batch === d.entries[i].batch) j++;
    const group = d.entries.slice(i, j);
    const fences = group.filter(isFencing);
    if (fences.length) {
      const broker = fences[0].data.brokerId !== undefined ? fences[0].data.brokerId : fences[0].data.id;
      for (const f of fences) rows.push(row(f));
      for (const e of group.filter((x) => !isFencing(x)).reverse()) rows.push(row(e, broker));
    } else {
      for (const e of group) rows.push(row(e));
    }
    i = j;
  }
  const nav = h("div", { class: "toolbar" },
    h("button", { id: "log-newest", disabled: logState.before < 0, onclick: () => { logState.before = -1; logState.pages = []; refresh(); } }, "Newest"),
    h("button", { id: "log-older", disabled: d.nextBefore < 0, onclick: () => { logState.pages.push(logState.before); logState.before = d.nextBefore; refresh(); } }, "Older"),
    h("span", { class: "muted" }, logState.before < 0 ? "live: newest records first" : "paused at offsets before " + logState.before),
    h("span", { class: "muted" }, " · cached offsets " + num(d.cachedFrom) + "–" + num(d.cachedTo) + " · next offset " + d.nextOffset +
      " · NO_OP records are counted, not listed"));
  replace(h("div", {},
    h("h2", {}, "Metadata log"),
    h("div", { class: "toolbar", id: "log-filters" }, h("span", { class: "muted" }, "Filter by type:"), chips,
      logState.types.size ? h("button", { onclick: () => { logState.types.clear(); logState.before = -1; refresh(); } }, "Clear") : null),
    nav,
    table("log-table", [h("th", { class: "num" }, "Offset"), h("th", { class: "num" }, "Epoch"), "Time", "Type", "Record"], rows)));
}

// ------------------------------------------------------------ snapshots

// ?from=&to= (snapshot file names or "current") choose the pair on load.
const snapState = { from: params.get("from"), to: params.get("to") };

function diffLines(text) {
  return text.split("\n").filter((l) => l.length).map((l) =>
    h("div", { class: l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : l.startsWith("~") ? "chg" : "" }, l));
}

async function drawSnapshots() {
  const d = await getJson("/console/api/snapshots");
  setNode(d);
  const files = d.snapshots.map((s) => s.file);
  const options = files.concat(["current"]);
  const defFrom = files.length >= 2 ? files[files.length - 2] : files.length ? files[0] : "current";
  const defTo = files.length >= 2 ? files[files.length - 1] : "current";
  if (!snapState.from || !options.includes(snapState.from)) snapState.from = null;
  if (!snapState.to || !options.includes(snapState.to)) snapState.to = null;
  const from = snapState.from || defFrom, to = snapState.to || defTo;
  let diff = null, diffErr = null;
  try {
    diff = await getJson("/console/api/snapshots/diff?from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to));
  } catch (e) {
    diffErr = e.message;
  }
  const rows = d.snapshots.slice().reverse().map((s) => h("tr", { "data-snapshot": s.file },
    h("td", { class: "mono" }, s.file), h("td", { class: "num" }, s.endOffset), h("td", { class: "num" }, s.epoch),
    h("td", { class: "num" }, fmtBytes(s.sizeBytes)), h("td", {}, fmtTime(s.lastContainedLogTimestamp))));
  const select = (id, value, set) => h("select", { id, onchange: (ev) => { snapState[set] = ev.target.value; refresh(); } },
    options.map((o) => h("option", { value: o, selected: o === value }, o === "current" ? "current image (offset " + (d.current ? d.current.offset : "?") + ")" : o)));
  replace(h("div", {},
    h("h2", {}, "Snapshots"),
    table("snapshots-table", ["File", h("th", { class: "num" }, "End offset"), h("th", { class: "num" }, "Epoch"),
      h("th", { class: "num" }, "Size"), "Last record time"], rows),
    h("h2", {}, "Diff"),
    h("div", { class: "toolbar" }, "From ", select("diff-from", from, "from"), " to ", select("diff-to", to, "to")),
    diffErr ? h("p", { class: "muted" }, diffErr) :
      h("pre", { class: "diff mono", id: "diff-text" }, diffLines(diff.text))));
}

// ------------------------------------------------------------ driver

const DRAW = { quorum: drawQuorum, brokers: drawBrokers, topics: drawTopics, log: drawLog, snapshots: drawSnapshots };
const page = (() => {
  const m = location.pathname.match(/^\/console\/([a-z]+)/);
  return m && PAGES.includes(m[1]) ? m[1] : "quorum";
})();
let timer = null, busy = false, again = false;

async function refresh() {
  if (busy) {  // a click during a poll: draw once more after it
    again = true;
    return;
  }
  busy = true;
  try {
    await DRAW[page]();
    showError(null);
    document.getElementById("updated").textContent = "updated " + fmtTime(Date.now()) + " · every " + INTERVAL / 1000 + " s";
    document.body.setAttribute("data-loaded", page);
  } catch (e) {
    showError(e);
  } finally {
    busy = false;
  }
  if (again) {
    again = false;
    await refresh();
  }
}

function schedule() {
  clearTimeout(timer);
  // The log page polls only while it shows the newest records; a diff only when asked.
  timer = setTimeout(async () => {
    const openDetails = document.querySelector("details[open]");
    if (!openDetails && !(page === "log" && logState.before >= 0)) await refresh();
    schedule();
  }, INTERVAL);
}

for (const a of document.querySelectorAll("#nav a")) if (a.dataset.page === page) a.classList.add("active");
refresh().then(schedule);
