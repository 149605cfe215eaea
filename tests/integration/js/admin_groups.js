// KafkaJS admin and group calls against a Flotilla node, beside roundtrip.js
// (topics, produce), group_member.js (rebalances) and transactions.js
// (commit/abort): describeCluster, createPartitions, describeConfigs /
// alterConfigs, a consumer group that commits, then listGroups,
// describeGroups (while it runs), fetchOffsets, setOffsets / resetOffsets,
// deleteTopicRecords, deleteGroups, deleteTopics, and a consume-transform-
// produce transaction that sends the group's offsets (sendOffsets).
// Usage: node admin_groups.js <bootstrap> <prefix>; prints a JSON summary as
// its last line (asserted by test_kafkajs.py), exits 1 on any error.
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function consumeN(kafka, groupId, topic, n, opts = {}) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, heartbeatInterval: 500, ...opts });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ p: partition, o: Number(message.offset), k: message.key && message.key.toString(), v: message.value.toString() });
      if (got.length >= n) resolve();
    },
  });
  const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error(`${groupId}: read ${got.length} of ${n}`)), 30000));
  await Promise.race([done, timeout]);
  return { consumer, got };
}

async function main() {
  const [bootstrap, prefix] = process.argv.slice(2);
  const topic = `${prefix}-t`, out = `${prefix}-out`, group = `${prefix}-g`;
  const kafka = new Kafka({ clientId: 'flotilla-kafkajs-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING,
                            retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  const s = {};

  const cluster = await admin.describeCluster();
  s.brokers = cluster.brokers.map((b) => b.nodeId);
  s.controller = cluster.controller;
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 },
                                      { topic: out, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
  s.partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length;
  await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic,
                                           configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
  const cfg = await admin.describeConfigs({ includeSynonyms: false,
                                            resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
  s.retention_ms = cfg.resources[0].configEntries[0].configValue;

  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < 30; i++) messages.push({ key: `k${i}`, value: `v${i}`, partition: i % 3 });
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();

  // A group reads everything; KafkaJS commits what eachMessage processed.
  const { consumer, got } = await consumeN(kafka, group, topic, 30);
  s.group_read = new Set(got.map((m) => m.k)).size;
  s.listed = (await admin.listGroups()).groups.some((g) => g.groupId === group && g.protocolType === 'consumer');
  const d = (await admin.describeGroups([group])).groups[0];
  s.group_state = d.state;
  s.group_protocol = d.protocol;
  s.group_members = d.members.length;
  await consumer.disconnect(); // commits and leaves
  const offsets = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions;
  s.committed = Object.fromEntries(offsets.map((p) => [p.partition, Number(p.offset)]));

  // setOffsets then resetOffsets (the group is empty now).
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '4' }] });
  s.after_set = Number((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions
    .find((p) => p.partition === 0).offset);
  await admin.resetOffsets({ groupId: group, topic, earliest: true });
  s.after_reset = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions
    .map((p) => Number(p.offset)).sort();

  // deleteTopicRecords moves the log start offset of partition 1.
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '3' }] });
  s.low_p1 = Number((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 1).low);
  // The reset stored KafkaJS's "earliest" sentinel (-2); resolveOffsets turns
  // it into each partition's log start offset (3 on partition 1 now).
  s.after_reset_resolved = Object.fromEntries((await admin.fetchOffsets({ groupId: group, topics: [topic],
                                                                          resolveOffsets: true }))[0].partitions
    .map((p) => [p.partition, Number(p.offset)]));

  // Consume-transform-produce: the group's offsets go with the transaction.
  const txGroup = `${prefix}-txg`;
  const txConsumer = kafka.consumer({ groupId: txGroup, maxWaitTimeInMs: 200 });
  await txConsumer.connect();
  const tp = kafka.producer({ transactionalId: `${prefix}-txid`, idempotent: true, maxInFlightRequests: 1 });
  await tp.connect();
  const txn = await tp.transaction();
  await txn.send({ topic: out, messages: [{ value: 'V0' }, { value: 'V1' }] });
  await txn.sendOffsets({ consumerGroupId: txGroup, topics: [{ topic, partitions: [{ partition: 0, offset: '10' }] }] });
  await txn.commit();
  await tp.disconnect();
  await txConsumer.disconnect();
  s.txn_group_offset = Number((await admin.fetchOffsets({ groupId: txGroup, topics: [topic] }))[0].partitions
    .find((p) => p.partition === 0).offset);
  s.out_high = Number((await admin.fetchTopicOffsets(out))[0].high); // 2 records + the commit marker

  await admin.deleteGroups([group, txGroup]);
  s.groups_left = (await admin.listGroups()).groups.filter((g) => g.groupId.startsWith(prefix)).length;
  await admin.deleteTopics({ topics: [topic, out] });
  s.deleted = !(await admin.listTopics()).includes(topic);
  await admin.disconnect();
  console.log(JSON.stringify(s));
}

main().then(() => process.exit(0)).catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
