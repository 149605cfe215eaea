// Kafka's RequestMetrics, kept by the connection layer (net/server.cc) for
// every request a listener answers:
//   kafka_network_requestmetrics_requests_total{request,version}   RequestsPerSec
//   kafka_network_requestmetrics_totaltimems{request,quantile}     TotalTimeMs
// `request` is Kafka's ApiKeys name (protocol::api_info: "Produce", "Fetch", ...).
//
// Invariants: a request is counted once, when its response has been written
// (or dropped: acks=0, a closed connection), with the time since its frame was
// read, as Kafka's TotalTimeMs (request read to response sent). Requests the
// connection layer answers itself (SaslHandshake/SaslAuthenticate) are not counted.
//
// Threading: request_series() is safe from any thread; after the first call
// for a (key, version) it is one acquire load (no lock, no map). The series'
// updates are relaxed atomics (common/metrics.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"

namespace flotilla::net {

struct RequestSeries {
  std::shared_ptr<metrics::Counter> requests;     // {request, version}
  std::shared_ptr<metrics::Histogram> total_time;  // {request}, milliseconds
  void observe(int64_t elapsed_us) const {
    requests->inc();
    total_time->observe(static_cast<double>(elapsed_us) / 1000.0);
  }
};

// The series of (api_key, api_version); null for a key or version outside
// what any Kafka API has (nothing is counted then).
const RequestSeries* request_series(int16_t api_key, int16_t api_version);

// Kafka's Fetch by who sent it, counted beside "Fetch" by the broker's Fetch
// handler: request="FetchFollower" (a replica) or "FetchConsumer". Their time
// runs from the handler's start to the response handed to this layer.
const RequestSeries* fetch_series(bool follower, int16_t api_version);

}  // namespace flotilla::net
