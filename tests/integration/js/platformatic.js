// @platformatic/kafka (npm, pinned in package.json) against a Flotilla node,
// through its documented API: Admin (createTopics, listTopics, metadata,
// describeConfigs, listGroups, describeGroups, listConsumerGroupOffsets,
// listOffsets, deleteGroups, deleteTopics), an idempotent Producer, a
// Consumer group stream committing each message, and a transactional Producer
// (a committed and an aborted transaction) read back read_committed.
// Usage: node platformatic.js <bootstrap> <prefix>; prints a JSON summary as
// its last line (asserted by test_platformatic_kafka.py), exits 1 on any error.
const {
  Admin, Producer, Consumer, stringSerializers, stringDeserializers, FetchIsolationLevels, ConfigResourceTypes,
} = require('@platformatic/kafka');

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function readN(consumer, opts, n, onMessage, timeoutMs = 30000) {
  const stream = await consumer.consume(opts);
  const got = [];
  const timer = setTimeout(() => stream.destroy(new Error(`read ${got.length} of ${n} in ${timeoutMs} ms`)), timeoutMs);
  try {
    for await (const m of stream) {
      got.push(m);
      if (onMessage) await onMessage(m);
      if (got.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return { stream, got };
}

async function main() {
  const [bootstrap, prefix] = process.argv.slice(2);
  const topic = `${prefix}-t`, out = `${prefix}-out`, group = `${prefix}-g`;
  const base = { bootstrapBrokers: [bootstrap], retries: 10, retryDelay: 200 };
  const summary = {};

  const admin = new Admin({ ...base, clientId: 'flotilla-platformatic-admin' });
  const created = await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  summary.created = created.map((t) => [t.name, t.partitions]);
  await admin.createTopics({ topics: [out], partitions: 1, replicas: 1 });
  const topics = await admin.listTopics();
  check(topics.includes(topic) && topics.includes(out), `listTopics ${topics}`);
  const md = await admin.metadata({ topics: [topic] });
  summary.metadata_partitions = md.topics.get(topic).partitionsCount;
  const cfg = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] });
  summary.cleanup_policy = cfg[0].configs.find((c) => c.name === 'cleanup.policy').value;

  const producer = new Producer({ ...base, clientId: 'flotilla-platformatic-producer', idempotent: true,
                                  serializers: stringSerializers });
  const n = 30;
  const messages = [];
  for (let i = 0; i < n; i++) messages.push({ topic, key: `k${i}`, value: `v${i}`, headers: new Map([['h', `${i}`]]) });
  const sent = await producer.send({ messages });
  summary.sent_offsets = sent.offsets.length;
  await producer.close();

  const consumer = new Consumer({ ...base, clientId: 'flotilla-platformatic-consumer', groupId: group,
                                  deserializers: stringDeserializers, sessionTimeout: 10000, heartbeatInterval: 500,
                                  maxWaitTime: 200 });
  const { stream, got } = await readN(consumer, { topics: [topic], mode: 'earliest', autocommit: false }, n,
                                       (m) => m.commit());
  const values = new Map(got.map((m) => [m.key, m.value]));
  for (let i = 0; i < n; i++) check(values.get(`k${i}`) === `v${i}`, `k${i} -> ${values.get(`k${i}`)}`);
  check(got.every((m) => m.headers.get('h') === m.value.slice(1)), 'headers');
  summary.group_read = values.size;

  const groups = await admin.listGroups();
  summary.listed = groups.has(group);
  const described = (await admin.describeGroups({ groups: [group] })).get(group);
  summary.group_state = described.state;
  summary.group_protocol_type = described.protocolType;
  summary.group_protocol = described.protocol;
  summary.group_members = described.members.size;
  await stream.close();
  await consumer.close();

  const committed = await admin.listConsumerGroupOffsets({ groups: [group] });
  const ends = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n },
                                                                              { partitionIndex: 1, timestamp: -1n }] }] });
  const end = new Map(ends[0].partitions.map((p) => [p.partitionIndex, p.offset]));
  const com = new Map(committed[0].topics.find((t) => t.name === topic).partitions.map((p) => [p.partitionIndex, p.committedOffset]));
  summary.committed = Object.fromEntries([...com].map(([p, o]) => [p, Number(o)]));
  summary.end = Object.fromEntries([...end].map(([p, o]) => [p, Number(o)]));

  // Transactions: a committed pair, an aborted triple, read read_committed.
  const tp = new Producer({ ...base, clientId: 'flotilla-platformatic-txn', idempotent: true,
                            transactionalId: `${prefix}-txid`, serializers: stringSerializers });
  let txn = await tp.beginTransaction();
  await txn.send({ messages: [{ topic: out, value: 'c0' }, { topic: out, value: 'c1' }] });
  await txn.commit();
  txn = await tp.beginTransaction();
  await txn.send({ messages: [{ topic: out, value: 'a0' }, { topic: out, value: 'a1' }, { topic: out, value: 'a2' }] });
  await txn.abort();
  txn = await tp.beginTransaction();
  await txn.send({ messages: [{ topic: out, value: 'c2' }] });
  await txn.commit();
  await tp.close();

  const reader = new Consumer({ ...base, clientId: 'flotilla-platformatic-reader', groupId: `${group}-reader`,
                                deserializers: stringDeserializers, maxWaitTime: 200 });
  const rc = await readN(reader, { topics: [out], mode: 'earliest', autocommit: false,
                                   isolationLevel: FetchIsolationLevels.READ_COMMITTED }, 3);
  summary.txn_values = rc.got.map((m) => m.value);
  await rc.stream.close();
  await reader.close();

  await admin.deleteGroups({ groups: [group, `${group}-reader`] });
  summary.groups_after_delete = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(prefix));
  await admin.deleteTopics({ topics: [topic, out] });
  summary.deleted = !(await admin.listTopics()).includes(topic);
  await admin.close();
  console.log(JSON.stringify(summary));
}

main().then(() => process.exit(0)).catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  if (e && e.errors) console.error(JSON.stringify(e.errors.map((x) => String(x))));
  process.exit(1);
});
