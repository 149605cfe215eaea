/* An independent load generator on librdkafka (Debian's librdkafka-dev): the
 * client the benchmarks measure the broker with, instead of Flotilla's own
 * `flotilla perf` or a Python client (whose interpreter and GIL add
 * milliseconds of jitter to every latency it measures).
 *
 * Produces --records records (or for --seconds) of --size bytes, round robin
 * over --partitions partitions of --topic, at --rate records/s (-1: as fast as
 * the client goes), and prints one JSON line: records delivered, errors, MB/s,
 * and the delivery latency (produce() to the delivery report) p50/p99/p999/max
 * in ms, plus this process's user and system CPU seconds.
 *
 *   rdkafka_load --bootstrap 127.0.0.1:9092 --topic t [--partitions 8] [--size 1024]
 *                [--records N | --seconds S] [--rate R] [--acks 1] [--linger-ms 1]
 *                [--batch-size 1000000] [--compression none] [--latencies-out F] [-X key=value ...]
 * --latencies-out F writes every delivered record's "<sent, CLOCK_MONOTONIC s> <latency us>"
 * line to F (to pool phases, or to see when the slow ones were sent).
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Latencies in microseconds, one per delivered record (sent time in the opaque),
 * and when each was sent (CLOCK_MONOTONIC seconds, for --latencies-out). */
static double *lat_us, *sent_s;
static size_t lat_n, lat_cap;
static long long delivered, failed;
static char first_error[256];

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (!failed) snprintf(first_error, sizeof first_error, "%s", rd_kafka_err2str(m->err));
    failed++;
    return;
  }
  delivered++;
  double sent = 0;
  memcpy(&sent, &m->_private, sizeof sent < sizeof m->_private ? sizeof sent : sizeof m->_private);
  if (lat_n == lat_cap) {
    lat_cap = lat_cap ? lat_cap * 2 : 1 << 16;
    lat_us = realloc(lat_us, lat_cap * sizeof *lat_us);
    sent_s = realloc(sent_s, lat_cap * sizeof *sent_s);
    if (!lat_us || !sent_s) abort();
  }
  sent_s[lat_n] = sent;
  lat_us[lat_n++] = (now_s() - sent) * 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double q) {
  if (!lat_n) return -1;
  size_t i = (size_t)(q * (double)lat_n);
  if (i >= lat_n) i = lat_n - 1;
  return lat_us[i] / 1000.0;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "rdkafka_load: %s=%s: %s\n", k, v, err);
    exit(2);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: rdkafka_load --bootstrap HOST:PORT --topic T [--partitions N] [--size B] [--records N | --seconds S]\n"
          "                    [--rate R] [--acks A] [--linger-ms MS] [--batch-size B] [--compression C] [--latencies-out F]\n"
          "                    [-X k=v]...\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *bootstrap = NULL, *topic = NULL, *acks = "1", *linger = "1", *batch_size = "1000000", *compression = "none";
  const char *latencies_out = NULL;
  long long records = -1;
  double seconds = -1, rate = -1;
  int partitions = 8;
  size_t size = 1024;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--bootstrap")) bootstrap = v;
    else if (!strcmp(a, "--topic")) topic = v;
    else if (!strcmp(a, "--partitions")) partitions = atoi(v);
    else if (!strcmp(a, "--size")) size = (size_t)atoll(v);
    else if (!strcmp(a, "--records")) records = atoll(v);
    else if (!strcmp(a, "--seconds")) seconds = atof(v);
    else if (!strcmp(a, "--rate")) rate = atof(v);
    else if (!strcmp(a, "--acks")) acks = v;
    else if (!strcmp(a, "--linger-ms")) linger = v;
    else if (!strcmp(a, "--batch-size")) batch_size = v;
    else if (!strcmp(a, "--compression")) compression = v;
    else if (!strcmp(a, "--latencies-out")) latencies_out = v;
    else if (!strcmp(a, "-X")) {
      char *kv = strdup(v), *eq = strchr(kv, '=');
      if (!eq) usage();
      *eq = 0;
      set(conf, kv, eq + 1);
      free(kv);
    } else usage();
    i++;
  }
  if (!bootstrap || !topic || partitions <= 0 || (records < 0 && seconds < 0)) usage();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", acks);
  set(conf, "linger.ms", linger);
  set(conf, "batch.size", batch_size);
  set(conf, "compression.type", compression);
  set(conf, "queue.buffering.max.kbytes", "1048576");
  set(conf, "queue.buffering.max.messages", "1000000");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "rdkafka_load: %s\n", err);
    return 2;
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  char *payload = malloc(size ? size : 1);
  for (size_t i = 0; i < size; i++) payload[i] = (char)('a' + i % 26);

  /* Warm-up: connections and metadata before the clock starts. */
  for (int p = 0; p < partitions; p++) rd_kafka_produce(rkt, p, RD_KAFKA_MSG_F_COPY, payload, size < 16 ? size : 16, NULL, 0, NULL);
  rd_kafka_flush(rk, 30000);
  lat_n = 0;
  delivered = failed = 0;

  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  const double start = now_s();
  long long n = 0;
  for (;;) {
    const double t = now_s();
    if (records >= 0 ? n >= records : t - start >= seconds) break;
    if (rate > 0) {
      const double due = start + (double)n / rate;
      if (t < due) {
        const double wait = due - t;
        rd_kafka_poll(rk, wait > 0.001 ? 1 : 0);
        if (wait <= 0.001) {
          struct timespec ts = {0, (long)(wait * 1e9)};
          nanosleep(&ts, NULL);
        }
        continue;
      }
    }
    double sent = now_s();
    void *opaque = NULL;
    memcpy(&opaque, &sent, sizeof sent < sizeof opaque ? sizeof sent : sizeof opaque);
    if (rd_kafka_produce(rkt, (int32_t)(n % partitions), RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, opaque) != 0) {
      if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      fprintf(stderr, "rdkafka_load: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
      return 1;
    }
    n++;
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  const double secs = now_s() - start;
  getrusage(RUSAGE_SELF, &ru1);
  if (latencies_out) {
    FILE *f = fopen(latencies_out, "w");
    if (!f) {
      perror(latencies_out);
      return 2;
    }
    for (size_t i = 0; i < lat_n; i++) fprintf(f, "%.6f %.1f\n", sent_s[i], lat_us[i]);
    fclose(f);
  }
  qsort(lat_us, lat_n, sizeof *lat_us, cmp_double);
  const double user = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
  const double sys = (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  printf("{\"records\": %lld, \"delivered\": %lld, \"errors\": %lld, \"first_error\": \"%s\", \"seconds\": %.3f, "
         "\"records_per_s\": %.1f, \"mb_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
         "\"client_user_s\": %.2f, \"client_sys_s\": %.2f}\n",
         n, delivered, failed, first_error, secs, (double)delivered / secs, (double)delivered * (double)size / 1e6 / secs, pct(0.50),
         pct(0.99), pct(0.999), lat_n ? lat_us[lat_n - 1] / 1000.0 : -1, user, sys);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  free(payload);
  free(lat_us);
  free(sent_s);
  return failed ? 1 : 0;
}
