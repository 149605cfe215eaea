// RequestHandler: the admin APIs a broker forwards to the active controller
// (ElectLeaders, IncrementalAlterConfigs, AlterConfigs,
// AlterPartitionReassignments, ListPartitionReassignments, UnregisterBroker),
// and DescribeConfigs, which the broker answers from its own metadata image
// and configuration.
//
// Config changes are screened here first, as Kafka's ConfigAdminManager does
// on the broker: a resource named twice, a key named twice, a null value to
// set, an unknown resource type, and — for BROKER resources, which must name
// this broker or "" (the cluster default) — the dynamic-config rules (no
// read-only key, right types, per-broker keys only per broker) and a TLS key
// store change that would not load on this node. What passes is
// forwarded; the answer lists every resource of the request, in its order.
// CLIENT_METRICS resources (KIP-714 subscriptions) are forwarded as they come:
// the controller validates them; DescribeConfigs lists a subscription's own
// configs (source CLIENT_METRICS_CONFIG), none for an unknown one, as Kafka.
// BROKER_LOGGER (IncrementalAlterConfigs only) is answered here: this broker
// exposes no loggers, so naming one fails as naming an unknown logger does.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/config_def.h"
#include "broker/api_util.h"
#include "broker/dynamic_config.h"
#include "broker/error_responses.h"
#include "broker/request_handler.h"
#include "broker/topic_config.h"
#include "protocol/messages.h"

namespace flotilla::broker {

namespace {

using namespace api::prelude;

constexpr int8_t kTopic = 2, kBroker = 4, kBrokerLogger = 8, kClientMetrics = 16;
constexpr int8_t kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3;

struct Screened {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
};

// The answer for a resource the broker decided itself.
template <class Out>
void fill(Out& out, int8_t type, const std::string& name, ErrorCode ec, const std::string& message) {
  out.resource_type = type;
  out.resource_name = name;
  out.error_code = code(ec);
  out.error_message = ec == ErrorCode::NONE || message.empty() ? std::nullopt : std::optional<std::string>(message);
}

// Kafka's validateResourceNameIsCurrentNodeId.
std::optional<Screened> check_node_id(const std::string& name, int32_t node_id) {
  bool numeric = !name.empty() && name.size() <= 11 &&
                 std::all_of(name.begin() + (name[0] == '-' || name[0] == '+' ? 1 : 0), name.end(), ::isdigit) &&
                 name.find_first_of("0123456789") != std::string::npos;
  if (!numeric || std::stoll(name) > INT32_MAX || std::stoll(name) < INT32_MIN)
    return Screened{ErrorCode::INVALID_REQUEST, "Node id must be an integer, but it is: " + name};
  if (std::stoll(name) != node_id)
    return Screened{ErrorCode::INVALID_REQUEST, "Unexpected broker id, expected " + std::to_string(node_id) + ", but received " + name};
  return std::nullopt;
}

// Shared screening of both config APIs: (type, name) of each resource named
// more than once, and per resource the duplicate keys and null values.
template <class Resource>
std::optional<Screened> screen_common(const Resource& res, const std::set<std::pair<int8_t, std::string>>& duplicates,
                                      bool null_means_delete_ok) {
  if (duplicates.count({res.resource_type, res.resource_name}))
    return Screened{ErrorCode::INVALID_REQUEST, "Each resource must appear at most once."};
  std::set<std::string> keys;
  for (const auto& c : res.configs)
    if (!keys.insert(c.name).second) return Screened{ErrorCode::INVALID_REQUEST, "Error due to duplicate config keys"};
  std::string nulls;
  for (const auto& c : res.configs) {
    bool is_delete = false;
    if constexpr (requires { c.config_operation; }) is_delete = c.config_operation == kDelete;
    if (!c.value && !(null_means_delete_ok && is_delete)) nulls += (nulls.empty() ? "" : ", ") + c.name;
  }
  if (!nulls.empty()) return Screened{ErrorCode::INVALID_REQUEST, "Null value not supported for : " + nulls};
  return std::nullopt;
}


// The dynamic broker configs of a BROKER resource after an incremental change
// (Kafka's prepareIncrementalConfigs), or the error.
std::optional<Screened> apply_incremental(std::map<std::string, std::string>& props,
                                          const std::vector<IncrementalAlterConfigsRequest::AlterableConfig>& configs) {
  for (const auto& c : configs) {
    switch (c.config_operation) {
      case kSet:
        props[c.name] = c.value.value_or("");
        break;
      case kDelete:
        props.erase(c.name);
        break;
      case kAppend:
      case kSubtract: {
        const BrokerConfigDef* d = find_broker_config(c.name);
        if (!d) return Screened{ErrorCode::INVALID_CONFIG, "Unknown config name: " + c.name};
        if (d->key.type != config::ConfigType::LIST)
          return Screened{ErrorCode::INVALID_REQUEST, std::string("Config value ") + (c.config_operation == kAppend ? "append" : "subtract") +
                                                          " is not allowed for config key: " + c.name};
        std::string base = props.count(c.name) ? props[c.name] : d->key.default_value ? std::string(*d->key.default_value) : "";
        auto parts = config::split_list(base);
        auto args = config::split_list(c.value.value_or(""));
        if (c.config_operation == kAppend) {
          parts.insert(parts.end(), args.begin(), args.end());
        } else {
          for (const auto& a : args) std::erase(parts, a);
        }
        std::string joined;
        for (size_t i = 0; i < parts.size(); ++i) joined += (i ? "," : "") + parts[i];
        props[c.name] = joined;
        break;
      }
      default:
        return Screened{ErrorCode::INVALID_REQUEST, "Unknown operations type " + std::to_string(c.config_operation)};
    }
  }
  return std::nullopt;
}

// The node-specific check of a BROKER resource's resulting dynamic configs
// (BrokerConfig::validate_reconfiguration: key stores that must load), run
// only when the request touches an ssl key: it reads files.
template <class Resource>
std::optional<Screened> check_reconfiguration(const BrokerConfig& config, const metadata::MetadataImage& image,
                                              const Resource& res, const std::map<std::string, std::string>& props) {
  if (!config.validate_reconfiguration) return std::nullopt;
  if (std::none_of(res.configs.begin(), res.configs.end(), [](const auto& c) { return c.name.find("ssl.") != std::string::npos; }))
    return std::nullopt;
  // Per-broker over cluster default, as the node applies them.
  bool per_broker = !res.resource_name.empty();
  auto dynamic = per_broker ? image.configs_of(metadata::ConfigResourceType::BROKER, "") : props;
  for (const auto& [k, v] : per_broker ? props : image.configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config.node_id)))
    dynamic[k] = v;
  if (std::string e = config.validate_reconfiguration(dynamic); !e.empty()) return Screened{ErrorCode::INVALID_REQUEST, e};
  return std::nullopt;
}

// Puts the controller's per-resource answers and the broker's own back in the request's order.
template <class Response, class Resources>
Response reassemble(const Resources& resources, const std::vector<std::optional<Screened>>& screened, const Response* forwarded) {
  Response out;
  for (size_t i = 0; i < resources.size(); ++i) {
    const auto& res = resources[i];
    typename decltype(out.responses)::value_type x;
    if (screened[i]) {
      fill(x, res.resource_type, res.resource_name, screened[i]->error, screened[i]->message);
    } else {
      bool found = false;
      if (forwarded)
        for (const auto& f : forwarded->responses)
          if (f.resource_type == res.resource_type && f.resource_name == res.resource_name) {
            x = f;
            found = true;
            break;
          }
      if (!found) fill(x, res.resource_type, res.resource_name, ErrorCode::UNKNOWN_SERVER_ERROR, "The controller did not answer for it");
    }
    out.responses.push_back(std::move(x));
  }
  return out;
}

// The end of both config APIs: what passed the screening goes to the
// controller, and the answer lists every resource in the request's order.
// With nothing to forward, or no controller channel (then each resource not
// refused already is NOT_CONTROLLER), the broker answers alone.
template <class Request, class Response>
void forward_config_change(ControllerChannel* controller, std::shared_ptr<net::Request> req, net::Respond respond,
                           std::shared_ptr<Request> request, std::shared_ptr<std::vector<std::optional<Screened>>> screened, Request forward,
                           void (ControllerChannel::*call)(Request, int16_t, std::function<void(Response)>)) {
  if (forward.resources.empty() || !controller) {
    if (!controller)
      for (auto& s : *screened)
        if (!s) s = Screened{ErrorCode::NOT_CONTROLLER, std::string(error_message(ErrorCode::NOT_CONTROLLER))};
    return send(*req, respond, reassemble<Response>(request->resources, *screened, nullptr));
  }
  (controller->*call)(std::move(forward), req->api_version, [req, respond, request, screened](Response r) mutable {
    send(*req, respond, reassemble(request->resources, *screened, &r));
  });
}

}  // namespace

// ---------------------------------------------------------------- ElectLeaders

void RequestHandler::handle_elect_leaders(std::shared_ptr<net::Request> req, net::Respond respond) {
  ElectLeadersRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (ErrorCode e = authorize_cluster(authz(*req), AclOperation::ALTER); e != ErrorCode::NONE)
    return send(*req, respond, error_response(request, e));
  if (!controller_) return send(*req, respond, error_response(request, ErrorCode::NOT_CONTROLLER));
  controller_->elect_leaders(std::move(request), req->api_version, [req, respond](ElectLeadersResponse r) mutable { send(*req, respond, r); });
}

// ---------------------------------------------------------------- configs

void RequestHandler::handle_incremental_alter_configs(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto request = std::make_shared<IncrementalAlterConfigsRequest>();
  if (!decode(*req, *request)) return close_connection(respond);
  const Authz auth = authz(*req);
  auto image = replicas_.image();
  auto duplicates = config::duplicated(request->resources);
  auto screened = std::make_shared<std::vector<std::optional<Screened>>>();
  IncrementalAlterConfigsRequest forward;
  forward.validate_only = request->validate_only;
  for (const auto& res : request->resources) {
    std::optional<Screened> s = screen_common(res, duplicates, true);
    if (!s) {
      if (res.resource_type == kBrokerLogger) {
        // Kafka's RuntimeLoggerManager: ALTER_CONFIGS on the cluster first.
        if (authorize_config_resource(auth, AclOperation::ALTER_CONFIGS, res.resource_type, res.resource_name) != ErrorCode::NONE)
          s = Screened{ErrorCode::CLUSTER_AUTHORIZATION_FAILED, std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED))};
        if (!s) s = check_node_id(res.resource_name, config_.node_id);
        for (const auto& c : res.configs) {
          if (s) break;
          if (c.config_operation == kAppend || c.config_operation == kSubtract)
            s = Screened{ErrorCode::INVALID_REQUEST, std::string(c.config_operation == kAppend ? "APPEND" : "SUBTRACT") +
                                                         " operation is not allowed for the BROKER_LOGGER resource"};
          else if (c.config_operation == kSet || c.config_operation == kDelete)
            s = Screened{ErrorCode::INVALID_CONFIG, "Logger " + c.name + " does not exist!"};
          else
            s = Screened{ErrorCode::INVALID_REQUEST, "Unknown operation type " + std::to_string(c.config_operation) +
                                                         " is not allowed for the BROKER_LOGGER resource"};
        }
        if (!s) s = Screened{};  // nothing to change: done here
      } else if (res.resource_type == kBroker) {
        if (!res.resource_name.empty()) s = check_node_id(res.resource_name, config_.node_id);
        if (!s) {
          auto props = image->configs_of(metadata::ConfigResourceType::BROKER, res.resource_name);
          s = apply_incremental(props, res.configs);
          if (!s)
            if (std::string e = validate_dynamic_broker_configs(props, !res.resource_name.empty()); !e.empty())
              s = Screened{ErrorCode::INVALID_REQUEST, e};
          if (!s) s = check_reconfiguration(config_, *image, res, props);
        }
      } else if (res.resource_type != kTopic && res.resource_type != kClientMetrics) {
        s = Screened{ErrorCode::INVALID_REQUEST, "Unknown resource type " + std::to_string(res.resource_type)};
      }
    }
    // What passed the screening is authorized as Kafka's controller does (ALTER_CONFIGS).
    if (!s)
      if (ErrorCode e = authorize_config_resource(auth, AclOperation::ALTER_CONFIGS, res.resource_type, res.resource_name); e != ErrorCode::NONE)
        s = Screened{e, ""};
    if (s && s->error != ErrorCode::NONE)
      spdlog::info("[KafkaApi] IncrementalAlterConfigs of resource {}:'{}' refused: {} ({})", res.resource_type, res.resource_name,
                   s->message, error_name(s->error));
    if (!s) forward.resources.push_back(res);
    screened->push_back(std::move(s));
  }
  forward_config_change(controller_, std::move(req), std::move(respond), request, screened, std::move(forward),
                        &ControllerChannel::incremental_alter_configs);
}

void RequestHandler::handle_alter_configs(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto request = std::make_shared<AlterConfigsRequest>();
  if (!decode(*req, *request)) return close_connection(respond);
  const Authz auth = authz(*req);
  auto duplicates = config::duplicated(request->resources);
  auto screened = std::make_shared<std::vector<std::optional<Screened>>>();
  AlterConfigsRequest forward;
  forward.validate_only = request->validate_only;
  for (const auto& res : request->resources) {
    std::optional<Screened> s = screen_common(res, duplicates, false);
    if (!s) {
      if (res.resource_type == kBroker) {
        if (!res.resource_name.empty()) s = check_node_id(res.resource_name, config_.node_id);
        if (!s) {
          // The legacy API sets the resource's whole configuration: the request is it.
          std::map<std::string, std::string> props;
          for (const auto& c : res.configs) props[c.name] = c.value.value_or("");
          if (std::string e = validate_dynamic_broker_configs(props, !res.resource_name.empty()); !e.empty())
            s = Screened{ErrorCode::INVALID_REQUEST, e};
          if (!s) s = check_reconfiguration(config_, *replicas_.image(), res, props);
        }
      } else if (res.resource_type != kTopic && res.resource_type != kClientMetrics) {
        // BROKER_LOGGER included: the legacy API never had it.
        s = Screened{ErrorCode::INVALID_REQUEST, "Unknown resource type " + std::to_string(res.resource_type)};
      }
    }
    if (!s)
      if (ErrorCode e = authorize_config_resource(auth, AclOperation::ALTER_CONFIGS, res.resource_type, res.resource_name); e != ErrorCode::NONE)
        s = Screened{e, ""};
    if (s)
      spdlog::info("[KafkaApi] AlterConfigs of resource {}:'{}' refused: {} ({})", res.resource_type, res.resource_name, s->message,
                   error_name(s->error));
    if (!s) forward.resources.push_back(res);
    screened->push_back(std::move(s));
  }
  forward_config_change(controller_, std::move(req), std::move(respond), request, screened, std::move(forward), &ControllerChannel::alter_configs);
}

// ---------------------------------------------------------------- reassignments, unregistration

namespace {
// Hands a decoded request to the controller channel; without one (a listener
// that has none) answers NOT_CONTROLLER with Kafka's message.
// `op` on the CLUSTER first (CLUSTER_AUTHORIZATION_FAILED).
template <class Req, class Resp, class Call>
void forward_to_controller(ControllerChannel* controller, const Authz& auth, AclOperation op, std::shared_ptr<net::Request> req,
                           net::Respond respond, Call call) {
  Req request;
  if (!decode(*req, request)) return close_connection(respond);
  auto refuse = [&](ErrorCode e) {
    if constexpr (requires { error_response(request, e); }) send(*req, respond, error_response(request, e));
    else send(*req, respond, top_level_error<Resp>(e));
  };
  if (ErrorCode e = authorize_cluster(auth, op); e != ErrorCode::NONE) return refuse(e);
  if (!controller) return refuse(ErrorCode::NOT_CONTROLLER);
  (controller->*call)(std::move(request), req->api_version, [req, respond](Resp r) mutable { send(*req, respond, r); });
}
}  // namespace

void RequestHandler::handle_alter_partition_reassignments(std::shared_ptr<net::Request> req, net::Respond respond) {
  forward_to_controller<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>(
      controller_, authz(*req), AclOperation::ALTER, std::move(req), std::move(respond), &ControllerChannel::alter_partition_reassignments);
}

void RequestHandler::handle_list_partition_reassignments(std::shared_ptr<net::Request> req, net::Respond respond) {
  forward_to_controller<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>(
      controller_, authz(*req), AclOperation::DESCRIBE, std::move(req), std::move(respond), &ControllerChannel::list_partition_reassignments);
}

void RequestHandler::handle_unregister_broker(std::shared_ptr<net::Request> req, net::Respond respond) {
  forward_to_controller<UnregisterBrokerRequest, UnregisterBrokerResponse>(controller_, authz(*req), AclOperation::ALTER, std::move(req),
                                                                           std::move(respond), &ControllerChannel::unregister_broker);
}

// ---------------------------------------------------------------- DescribeConfigs

void RequestHandler::handle_describe_configs(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeConfigsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeConfigsResponse resp;
  const Authz auth = authz(*req);
  auto image = replicas_.image();
  BrokerConfigLayers layers;
  layers.per_broker = image->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(config_.node_id));
  layers.cluster_default = image->configs_of(metadata::ConfigResourceType::BROKER, "");
  layers.static_configs = config_.static_configs;
  for (const auto& res : request.resources) {
    DescribeConfigsResponse::DescribeConfigsResult out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    out.error_message = std::nullopt;
    auto wanted = [&](const std::string& name) {
      return !res.configuration_keys.has_value() ||
             std::find(res.configuration_keys->begin(), res.configuration_keys->end(), name) != res.configuration_keys->end();
    };
    auto add_all = [&](const std::vector<DescribedConfig>& configs) {
      for (const auto& d : configs) {
        if (!wanted(d.name)) continue;
        DescribeConfigsResponse::DescribeConfigsResourceResult c;
        c.name = d.name;
        c.value = d.value;
        c.read_only = d.read_only;
        c.is_default = d.source == kDefaultConfig;
        c.config_source = d.source;
        c.is_sensitive = d.sensitive;
        c.config_type = static_cast<int8_t>(d.type);
        c.documentation = std::nullopt;
        if (request.include_synonyms)
          for (const auto& s : d.synonyms) {
            DescribeConfigsResponse::DescribeConfigsSynonym x;
            x.name = s.name;
            x.value = s.value;
            x.source = s.source;
            c.synonyms.push_back(std::move(x));
          }
        out.configs.push_back(std::move(c));
      }
    };
    if (ErrorCode e = authorize_config_resource(auth, AclOperation::DESCRIBE_CONFIGS, res.resource_type, res.resource_name);
        e != ErrorCode::NONE) {
      out.error_code = code(e);
    } else if (res.resource_type == kTopic) {
      if (!image->topic(res.resource_name)) {
        out.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        out.error_message = "The topic '" + res.resource_name + "' does not exist.";
      } else {
        add_all(describe_topic_configs(layers, image->topic_configs(res.resource_name)));
      }
    } else if (res.resource_type == kBroker) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(config_.node_id)) {
        out.error_code = code(ErrorCode::INVALID_REQUEST);
        out.error_message = "Unexpected broker id, expected " + std::to_string(config_.node_id) + " or empty string, but received " +
                            res.resource_name;
      } else {
        // "": the cluster-wide dynamic defaults only; "<id>": everything this broker runs with.
        add_all(describe_broker_configs(layers, !res.resource_name.empty()));
      }
    } else if (res.resource_type == kClientMetrics) {
      // Kafka's ConfigHelper: the subscription's own configs, as stored.
      if (res.resource_name.empty()) {
        out.error_code = code(ErrorCode::INVALID_REQUEST);
        out.error_message = "Client metrics subscription name must not be empty";
      } else {
        for (const auto& [name, value] : image->configs_of(metadata::ConfigResourceType::CLIENT_METRICS, res.resource_name)) {
          if (!wanted(name)) continue;
          DescribeConfigsResponse::DescribeConfigsResourceResult c;
          c.name = name;
          c.value = value;
          c.read_only = false;
          c.is_default = false;
          c.config_source = 7;  // CLIENT_METRICS_CONFIG
          c.is_sensitive = false;
          c.config_type = 0;  // Kafka leaves it UNKNOWN for these
          c.documentation = std::nullopt;
          out.configs.push_back(std::move(c));
        }
      }
    } else if (res.resource_type == kBrokerLogger) {  // no per-logger levels exposed
    } else {
      out.error_code = code(ErrorCode::INVALID_REQUEST);
      out.error_message = "Unsupported resource type " + std::to_string(res.resource_type);
    }
    resp.results.push_back(std::move(out));
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
