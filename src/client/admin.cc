#include "client/admin.h"

#include <algorithm>

#include <thread>

namespace flotilla::client {

namespace {

// Sends a topic request to any broker and, while it answers NOT_CONTROLLER for
// some topic, to the controller after a metadata refresh (up to five more tries).
template <class Resp, class Send, class Results>
Resp to_controller(KafkaClient& client, Send&& send, Results&& results) {
  for (int attempt = 0;; ++attempt) {
    Resp resp = send(attempt == 0 ? client.any() : client.controller());
    bool not_controller = false;
    for (const auto& t : results(resp))
      if (t.error_code == code(ErrorCode::NOT_CONTROLLER)) not_controller = true;
    if (!not_controller || attempt >= 5) return resp;
    client.metadata(std::vector<std::string>{});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

msg::DescribeConfigsResponse describe_resources(Connection& c, const std::vector<ConfigResource>& resources, bool include_synonyms,
                                                int16_t version) {
  msg::DescribeConfigsRequest req;
  for (const auto& r : resources) {
    msg::DescribeConfigsRequest::DescribeConfigsResource res;
    res.resource_type = r.type;
    res.resource_name = r.name;
    res.configuration_keys = std::nullopt;  // every config
    req.resources.push_back(res);
  }
  if (include_synonyms) req.include_synonyms = true;
  return c.call(req, version).first;
}

}  // namespace

// ---------------------------------------------------------------- topics

msg::CreateTopicsResponse create_topic(KafkaClient& client, const NewTopic& topic, int32_t timeout_ms) {
  msg::CreateTopicsRequest req;
  req.timeout_ms = timeout_ms;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = topic.name;
  t.num_partitions = topic.partitions;
  t.replication_factor = topic.replication_factor;
  for (size_t i = 0; i < topic.assignment.size(); ++i) {
    msg::CreateTopicsRequest::CreatableReplicaAssignment a;
    a.partition_index = static_cast<int32_t>(i);
    a.broker_ids = topic.assignment[i];
    t.assignments.push_back(a);
  }
  for (const auto& [k, v] : topic.configs) {
    msg::CreateTopicsRequest::CreatableTopicConfig c;
    c.name = k;
    c.value = v;
    t.configs.push_back(c);
  }
  req.topics.push_back(t);
  return to_controller<msg::CreateTopicsResponse>(
      client, [&](Connection& c) { return c.call(req, c.version_for(msg::CreateTopicsRequest::kApiKey)).first; },
      [](const msg::CreateTopicsResponse& r) -> const auto& { return r.topics; });
}

msg::DeleteTopicsResponse delete_topics(KafkaClient& client, const std::vector<std::string>& names, int32_t timeout_ms) {
  return to_controller<msg::DeleteTopicsResponse>(
      client,
      [&](Connection& c) {
        int16_t v = c.version_for(msg::DeleteTopicsRequest::kApiKey);
        msg::DeleteTopicsRequest req;
        req.timeout_ms = timeout_ms;
        for (const auto& n : names) {
          if (v >= 6) {
            msg::DeleteTopicsRequest::DeleteTopicState s;
            s.name = n;
            req.topics.push_back(s);
          } else {
            req.topic_names.push_back(n);
          }
        }
        return c.call(req, v).first;
      },
      [](const msg::DeleteTopicsResponse& r) -> const auto& { return r.responses; });
}

msg::CreatePartitionsResponse create_partitions(KafkaClient& client, const std::vector<NewPartitions>& topics, int32_t timeout_ms) {
  msg::CreatePartitionsRequest req;
  req.timeout_ms = timeout_ms;
  for (const auto& p : topics) {
    msg::CreatePartitionsRequest::CreatePartitionsTopic t;
    t.name = p.topic;
    t.count = p.count;
    if (p.assignment) {
      std::vector<msg::CreatePartitionsRequest::CreatePartitionsAssignment> as;
      for (const auto& replicas : *p.assignment) {
        msg::CreatePartitionsRequest::CreatePartitionsAssignment a;
        a.broker_ids = replicas;
        as.push_back(a);
      }
      t.assignments = as;
    }
    req.topics.push_back(t);
  }
  Connection& c = client.any();
  return c.call(req, c.version_for(msg::CreatePartitionsRequest::kApiKey)).first;
}

bool TopicConfigs::is_default(const msg::DescribeConfigsResponse::DescribeConfigsResourceResult& c) const {
  return version == 0 ? c.is_default : c.config_source == 5;  // DEFAULT_CONFIG
}

TopicConfigs describe_topic_configs(KafkaClient& client, const std::vector<std::string>& names) {
  Connection& c = client.any();
  std::vector<ConfigResource> resources;
  for (const auto& n : names) resources.push_back(ConfigResource{kTopicResource, n});
  TopicConfigs out;
  out.version = c.version_for(msg::DescribeConfigsRequest::kApiKey);
  out.response = describe_resources(c, resources, false, out.version);
  return out;
}

std::vector<msg::DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponseTopic> describe_topic_partitions(
    Connection& c, const std::vector<std::string>& names, int32_t partition_limit) {
  using Topic = msg::DescribeTopicPartitionsResponse::DescribeTopicPartitionsResponseTopic;
  const int16_t v = admin_version<msg::DescribeTopicPartitionsRequest>(c);
  msg::DescribeTopicPartitionsRequest req;
  std::vector<std::string> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& n : sorted) req.topics.push_back({n});
  req.response_partition_limit = partition_limit;
  std::vector<Topic> out;
  // Each page goes on from the last: a topic split over pages is merged.
  for (int page = 0; page < 1000000; ++page) {
    auto resp = c.call(req, v).first;
    for (auto& t : resp.topics) {
      if (!out.empty() && out.back().name == t.name && t.error_code == 0 && out.back().error_code == 0) {
        for (auto& p : t.partitions) out.back().partitions.push_back(std::move(p));
      } else if (t.error_code != 0 &&
                 std::any_of(out.begin(), out.end(), [&](const Topic& o) { return o.name == t.name && o.error_code == t.error_code; })) {
        continue;  // a refused or unknown topic is answered again on every page
      } else {
        out.push_back(std::move(t));
      }
    }
    if (!resp.next_cursor) break;
    msg::DescribeTopicPartitionsRequest::Cursor cursor;
    cursor.topic_name = resp.next_cursor->topic_name;
    cursor.partition_index = resp.next_cursor->partition_index;
    req.cursor = cursor;
  }
  return out;
}

// ---------------------------------------------------------------- configs

Connection& config_connection(KafkaClient& client, const ConfigResource& r) {
  if (r.type == kBrokerResource && !r.name.empty()) return client.broker(std::stoi(r.name));
  return client.any();
}

msg::DescribeConfigsResponse describe_configs(Connection& c, const ConfigResource& r) {
  return describe_resources(c, {r}, true, c.version_for(msg::DescribeConfigsRequest::kApiKey));
}

msg::IncrementalAlterConfigsResponse incremental_alter_configs(Connection& c, const ConfigResource& r, const std::vector<ConfigOp>& ops) {
  msg::IncrementalAlterConfigsRequest req;
  msg::IncrementalAlterConfigsRequest::AlterConfigsResource res;
  res.resource_type = r.type;
  res.resource_name = r.name;
  for (const auto& op : ops) {
    msg::IncrementalAlterConfigsRequest::AlterableConfig x;
    x.name = op.name;
    x.config_operation = op.op;
    x.value = op.value;
    res.configs.push_back(x);
  }
  req.resources.push_back(res);
  int16_t v = admin_version<msg::IncrementalAlterConfigsRequest>(c);
  return c.call(req, v).first;
}

// ---------------------------------------------------------------- SCRAM credentials

msg::DescribeUserScramCredentialsResponse describe_user_scram_credentials(Connection& c,
                                                                          const std::optional<std::vector<std::string>>& users) {
  msg::DescribeUserScramCredentialsRequest req;
  if (users) {
    req.users.emplace();
    for (const auto& u : *users) req.users->push_back(msg::DescribeUserScramCredentialsRequest::UserName{u});
  } else {
    req.users = std::nullopt;
  }
  return c.call(req, admin_version<msg::DescribeUserScramCredentialsRequest>(c)).first;
}

msg::ListClientMetricsResourcesResponse list_client_metrics_resources(Connection& c) {
  // v1 (Kafka 4.1's ListConfigResources) lists any config type: only client metrics here.
  msg::ListClientMetricsResourcesRequest req;
  req.resource_types = {static_cast<int8_t>(16)};  // CLIENT_METRICS
  return c.call(req, admin_version<msg::ListClientMetricsResourcesRequest>(c)).first;
}

msg::DescribeClientQuotasResponse describe_client_quotas(Connection& c, const std::vector<QuotaFilterComponent>& components, bool strict) {
  msg::DescribeClientQuotasRequest req;
  for (const auto& x : components) req.components.push_back({x.entity_type, x.match_type, x.match});
  req.strict = strict;
  return c.call(req, admin_version<msg::DescribeClientQuotasRequest>(c)).first;
}

msg::AlterClientQuotasResponse alter_client_quotas(Connection& c, const std::vector<QuotaAlteration>& entries, bool validate_only) {
  msg::AlterClientQuotasRequest req;
  for (const auto& e : entries) {
    msg::AlterClientQuotasRequest::EntryData d;
    for (const auto& [type, name] : e.entity) d.entity.push_back({type, name});
    for (const auto& [key, value] : e.ops) d.ops.push_back({key, value.value_or(0.0), !value.has_value()});
    req.entries.push_back(std::move(d));
  }
  req.validate_only = validate_only;
  return c.call(req, admin_version<msg::AlterClientQuotasRequest>(c)).first;
}

msg::AlterUserScramCredentialsResponse alter_user_scram_credentials(Connection& c, const std::vector<ScramDeletion>& deletions,
                                                                    const std::vector<ScramUpsertion>& upsertions) {
  msg::AlterUserScramCredentialsRequest req;
  for (const auto& d : deletions) {
    msg::AlterUserScramCredentialsRequest::ScramCredentialDeletion x;
    x.name = d.user;
    x.mechanism = static_cast<int8_t>(d.mechanism);
    req.deletions.push_back(std::move(x));
  }
  for (const auto& u : upsertions) {
    msg::AlterUserScramCredentialsRequest::ScramCredentialUpsertion x;
    x.name = u.user;
    x.mechanism = static_cast<int8_t>(u.mechanism);
    x.iterations = u.iterations;
    x.salt = security::scram_random_salt();
    // An unknown mechanism or an iteration count out of bounds is the
    // controller's to refuse; nothing to salt with then.
    bool saltable = u.mechanism != security::ScramMechanism::UNKNOWN && u.iterations > 0 &&
                    u.iterations <= security::kScramMaxIterations;
    if (saltable) x.salted_password = security::scram_salted_password(u.mechanism, u.password, x.salt, u.iterations);
    req.upsertions.push_back(std::move(x));
  }
  return c.call(req, admin_version<msg::AlterUserScramCredentialsRequest>(c)).first;
}

// ---------------------------------------------------------------- leader election

msg::ElectLeadersResponse elect_leaders(Connection& c, int8_t election_type, const std::optional<std::set<TopicPartition>>& partitions,
                                        int32_t timeout_ms) {
  msg::ElectLeadersRequest req;
  int16_t v = admin_version<msg::ElectLeadersRequest>(c);
  if (v == 0 && election_type != 0)
    throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker only supports preferred leader election");
  req.election_type = election_type;
  req.timeout_ms = timeout_ms;
  if (partitions) {
    req.topic_partitions.emplace();
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& [t, p] : *partitions) by_topic[t].push_back(p);
    for (auto& [t, ps] : by_topic) {
      msg::ElectLeadersRequest::TopicPartitions x;
      x.topic = t;
      x.partitions = ps;
      req.topic_partitions->push_back(x);
    }
  }
  return c.call(req, v).first;
}

// ---------------------------------------------------------------- transactions

msg::ListTransactionsResponse list_transactions(Connection& c) {
  msg::ListTransactionsRequest req;
  return c.call(req, admin_version<msg::ListTransactionsRequest>(c)).first;
}

msg::DescribeTransactionsResponse describe_transactions(GroupClient& coordinator, const std::string& transactional_id) {
  msg::DescribeTransactionsRequest req;
  req.transactional_ids = {transactional_id};
  return coordinator.call(req);
}

msg::DescribeProducersResponse describe_producers(Connection& c, const std::string& topic, int32_t partition) {
  msg::DescribeProducersRequest req;
  msg::DescribeProducersRequest::TopicRequest tr;
  tr.name = topic;
  tr.partition_indexes = {partition};
  req.topics.push_back(tr);
  return c.call(req, admin_version<msg::DescribeProducersRequest>(c)).first;
}

// ---------------------------------------------------------------- consumer groups

std::vector<msg::ListGroupsResponse::ListedGroup> list_consumer_groups(KafkaClient& client) {
  ClusterInfo ci = client.metadata(std::vector<std::string>{});
  std::vector<msg::ListGroupsResponse::ListedGroup> out;
  std::set<std::string> seen;
  std::vector<int32_t> ids;
  for (const auto& [id, _] : ci.brokers) ids.push_back(id);
  if (ids.empty()) ids.push_back(-1);
  for (int32_t id : ids) {
    Connection& c = id < 0 ? client.any() : client.broker(id);
    int16_t v = group_api_version(c, msg::ListGroupsRequest::kApiKey);
    msg::ListGroupsRequest req;
    auto resp = c.call(req, v).first;
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code));
    for (auto& g : resp.groups) {
      // Consumer groups: the classic "consumer" protocol (or none yet).
      if (!g.protocol_type.empty() && g.protocol_type != "consumer") continue;
      if (seen.insert(g.group_id).second) out.push_back(g);
    }
  }
  return out;
}

}  // namespace flotilla::client
