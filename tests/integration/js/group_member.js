// One KafkaJS consumer-group member, driven by test_consumer_groups.py.
// Usage: node group_member.js <bootstrap> <topic> <group>
// Prints one JSON object a line on stdout:
//   {"assigned": [partitions]}         after every join (GROUP_JOIN event)
//   {"p": partition, "o": offset, "v": value}   for every record processed
// Runs until SIGTERM / SIGINT, then disconnects (leaves the group) and exits 0.
const { Kafka, logLevel } = require('kafkajs');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
  const [bootstrap, topic, group] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'flotilla-kafkajs-group', brokers: [bootstrap], logLevel: logLevel.NOTHING,
                            retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, rebalanceTimeout: 20000,
                                    heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const a = e.payload.memberAssignment || {};
    out({ assigned: (a[topic] || []).slice().sort((x, y) => x - y), member: e.payload.memberId });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    out({ crash: String(e.payload.error && e.payload.error.message), restart: e.payload.restart });
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await consumer.disconnect();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      out({ p: partition, o: Number(message.offset), v: message.value.toString() });
    },
  });
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
