// InitProducerId (v0-5) for idempotent producers. As Kafka's transaction
// coordinator does for a null transactional id: always a new producer id
// (from this broker's block, see producer_id_manager.h) with epoch 0 — also
// when the client passes its current id and epoch (KIP-360: a fresh id is
// what Kafka answers there). Transactional ids are not served yet:
// COORDINATOR_NOT_AVAILABLE.
#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/producer_id_manager.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {

void RequestHandler::handle_init_producer_id(std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::InitProducerIdRequest request;
  if (!api::decode(*req, request)) return api::close_connection(respond);
  auto answer = [req](net::Respond& respond, ErrorCode ec, int64_t id, int16_t epoch) {
    msg::InitProducerIdResponse r;
    r.error_code = code(ec);
    r.producer_id = ec == ErrorCode::NONE ? id : -1;
    r.producer_epoch = ec == ErrorCode::NONE ? epoch : -1;
    api::send(*req, respond, r);
  };
  if ((request.producer_id == -1) != (request.producer_epoch == -1)) return answer(respond, ErrorCode::INVALID_REQUEST, -1, -1);
  if (request.transactional_id) {
    if (request.transactional_id->empty()) return answer(respond, ErrorCode::INVALID_REQUEST, -1, -1);
    return answer(respond, ErrorCode::COORDINATOR_NOT_AVAILABLE, -1, -1);  // no transaction coordinator yet
  }
  if (!producer_ids_)
    producer_ids_ = std::make_shared<ProducerIdManager>(controller_, config_.node_id, [this] { return replicas_.broker_epoch(); });
  auto shared = std::make_shared<net::Respond>(std::move(respond));
  producer_ids_->generate([answer, shared](ErrorCode ec, int64_t id) { answer(*shared, ec, id, 0); });
}

}  // namespace flotilla::broker
