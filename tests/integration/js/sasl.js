// KafkaJS over SASL_PLAINTEXT: produce records, read them back with a
// consumer group. Usage: node sasl.js <bootstrap> <topic> <mechanism> <user> <password>
// (mechanism: plain, scram-sha-256, scram-sha-512). Prints {"ok": true, "records": n}
// on success; a failed login prints {"ok": false, "error": "<KafkaJS error name>"} and exits 2.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, mechanism, username, password] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'flotilla-kafkajs-sasl', brokers: [bootstrap], logLevel: logLevel.NOTHING,
                            sasl: { mechanism, username, password }, retry: { retries: 2, initialRetryTime: 100 } });
  const producer = kafka.producer();
  try {
    await producer.connect();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: e.name, message: String(e.message) }));
    process.exit(2);
  }
  const n = 50;
  const messages = [];
  for (let i = 0; i < n; i++) messages.push({ key: `k${i}`, value: `v${i}` });
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `g-${topic}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} records in time`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        if (seen.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  if (seen[0] !== 'v0' || seen[n - 1] !== `v${n - 1}`) throw new Error('records out of order');
  console.log(JSON.stringify({ ok: true, records: seen.length }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
