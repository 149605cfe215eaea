// A request answered from the replica manager's purgatory with a response
// that waiting fills in: Produce with acks=all (the high watermark passes its
// records) and DeleteRecords (the low watermark passes its offset).
//
// Invariant: the response goes out exactly once — when `check` first holds,
// or at the deadline after `expire` has settled what still waits (the
// purgatory runs exactly one of the two to its end).
//
// Threading: the broker's io_context thread (ReplicaManager::delay's).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/api_util.h"
#include "broker/replica_manager.h"
#include "net/server.h"

namespace flotilla::broker {

// Waits until `check()` (which updates `*resp` and says whether every part is
// settled) holds, re-trying whenever one of `keys` changes, then sends
// `*resp`; at `deadline_ms`, runs `expire()` (which settles the rest) and
// sends it. The caller has tried `check()` once already.
template <class Resp, class Check, class Expire>
void respond_when_settled(ReplicaManager& replicas, std::shared_ptr<net::Request> req, net::Respond respond, std::shared_ptr<Resp> resp,
                          int64_t deadline_ms, std::vector<std::string> keys, Check check, Expire expire) {
  auto shared_respond = std::make_shared<net::Respond>(std::move(respond));
  replicas.delay(
      deadline_ms, std::move(keys),
      [req, resp, check, shared_respond]() {
        if (!check()) return false;
        api::send(*req, *shared_respond, *resp);
        return true;
      },
      [req, resp, expire, shared_respond]() {
        expire();
        api::send(*req, *shared_respond, *resp);
      });
}

}  // namespace flotilla::broker
