// KafkaJS over SSL and SASL_SSL: produce records, read them back with a
// consumer group, over TLS that verifies the server against a CA file.
// Usage: node tls.js <bootstrap> <topic> --ca <ca.pem> [--cert <client.pem> --key <client.key>]
//                    [--sasl <mechanism> <user> <password>] [--records n]
// (mechanism: plain, scram-sha-256, scram-sha-512; --cert/--key for mutual TLS).
// Prints {"ok": true, "records": n} on success; a failed connect prints
// {"ok": false, "error": "<KafkaJS error name>"} and exits 2.
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

function parseArgs(argv) {
  const [bootstrap, topic, ...rest] = argv;
  const opts = { bootstrap, topic, records: 50 };
  for (let i = 0; i < rest.length; i++) {
    switch (rest[i]) {
      case '--ca': opts.ca = rest[++i]; break;
      case '--cert': opts.cert = rest[++i]; break;
      case '--key': opts.key = rest[++i]; break;
      case '--records': opts.records = Number(rest[++i]); break;
      case '--sasl':
        opts.sasl = { mechanism: rest[i + 1], username: rest[i + 2], password: rest[i + 3] };
        i += 3;
        break;
      default: throw new Error(`unknown argument ${rest[i]}`);
    }
  }
  if (!bootstrap || !topic || !opts.ca) throw new Error('usage: tls.js <bootstrap> <topic> --ca F [...]');
  return opts;
}

function sslOptions(opts) {
  // rejectUnauthorized stays true: the server's certificate must chain to the
  // CA and name the address we dialled (its SAN carries IP:127.0.0.1).
  const ssl = { ca: [fs.readFileSync(opts.ca, 'utf-8')], rejectUnauthorized: true };
  if (opts.cert) ssl.cert = fs.readFileSync(opts.cert, 'utf-8');
  if (opts.key) ssl.key = fs.readFileSync(opts.key, 'utf-8');
  return ssl;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const config = { clientId: 'flotilla-kafkajs-tls', brokers: [opts.bootstrap], logLevel: logLevel.NOTHING,
                   ssl: sslOptions(opts), retry: { retries: 2, initialRetryTime: 100 } };
  if (opts.sasl) config.sasl = opts.sasl;
  const kafka = new Kafka(config);
  const producer = kafka.producer();
  try {
    await producer.connect();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: e.name, message: String(e.message) }));
    process.exit(2);
  }
  const n = opts.records;
  const sent = [];
  for (let i = 0; i < n; i++) sent.push({ key: `k${i}`, value: `v${i}-${'x'.repeat(i % 7 * 100)}` });
  await producer.send({ topic: opts.topic, acks: -1, messages: sent });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `g-${opts.topic}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} records in time`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.key.toString()}=${message.value.toString()}`);
        if (seen.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  // Every record came back once, with its key and value intact (partitions may interleave).
  const want = sent.map((m) => `${m.key}=${m.value}`).sort();
  const got = seen.slice().sort();
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) throw new Error('records differ from those sent');
  console.log(JSON.stringify({ ok: true, records: seen.length }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
