// KafkaJS transactions against a Flotilla node: a transactional producer
// commits one transaction and aborts another; a read_committed consumer group
// (readUncommitted: false, KafkaJS's default) gets the committed records only.
// Usage: node transactions.js <bootstrap> <topic>; prints {"ok":true,"values":[...]}.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'flotilla-kafkajs-txn', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'c0' }, { value: 'c1' }] });
  await txn.commit();
  txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'a0' }, { value: 'a1' }, { value: 'a2' }] });
  await txn.abort();
  txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'c2' }] });
  await txn.commit();
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-readers`, readUncommitted: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value.toString()); } });
  const deadline = Date.now() + 20000;
  while (values.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));  // anything more (an aborted record) would show up by now
  await consumer.disconnect();
  console.log(JSON.stringify({ ok: true, values }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
