// `flotilla acls` (Kafka's kafka-acls.sh, AclCommand): --add, --remove and
// --list over the admin API (client/acls.h), with its flags, option checks,
// texts and exit codes:
// - The resources are --topic, --cluster, --group, --transactional-id,
//   --delegation-token and --user-principal (repeatable), as patterns of
//   --resource-pattern-type (LITERAL by default; --add takes LITERAL or
//   PREFIXED, --list/--remove also ANY and MATCH; --cluster is a resource only
//   with LITERAL). The entries are --allow-principal/--deny-principal x
//   --operation (default All) x --allow-host/--deny-host (default *).
// - --producer: WRITE, DESCRIBE, CREATE on each topic, WRITE and DESCRIBE on
//   each transactional id, IDEMPOTENT_WRITE on the cluster with --idempotent;
//   --consumer: READ and DESCRIBE on each topic, READ on each group.
// - --add prints "Adding ACLs for resource `ResourcePattern(...)`: " and the
//   entries, then sends one CreateAcls per resource; --remove asks "Are you
//   sure ...? (y/n)" on stdin unless --force and sends one DeleteAcls per
//   resource filter (all ACLs of the filter when no principal is named);
//   --list prints "Current ACLs for resource `...`: " per resource (with
//   --principal: "ACLs for principal `User:x`" and that principal's only).
// - A usage mistake prints Kafka's message and exits 1; a failed request
//   prints "Error while executing ACL command: <the exception>" (the first
//   failed binding's) and exits 1.
// Order: Kafka prints resources and entries in hash-set order (it differs
// between runs); here --add prints them in the order the flags name them and
// --list sorts resources by type, name and pattern type, entries by their text.
#include <algorithm>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>

#include "client/acls.h"
#include "client/kafka_client.h"
#include "client/quorum.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

using security::AccessControlEntry;
using security::AclBinding;
using security::AclBindingFilter;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourcePattern;
using security::ResourcePatternFilter;
using security::ResourceType;

// (A named namespace: the tools compile in unity batches, where other files'
// anonymous namespaces have their own UsageError.)
namespace acls_tool {

// CommandLineUtils.printUsageAndExit's message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// An exception in the command: its Java form ("java.lang.IllegalArgumentException: ...").
struct CommandError : std::runtime_error {
  CommandError(std::string message, std::string java) : std::runtime_error(std::move(message)), java_form(std::move(java)) {}
  std::string java_form;
};

CommandError illegal_argument(const std::string& message) {
  return CommandError(message, "java.lang.IllegalArgumentException: " + message);
}

// A failed request's result: as Admin's future throws it (ExecutionException
// around the error's exception).
CommandError server_error(int16_t code, const std::optional<std::string>& message) {
  std::string ex = kafka_exception(code, message);
  return CommandError(ex, "java.util.concurrent.ExecutionException: " + ex);
}

// Insertion-ordered set (Kafka's Sets, in the order the flags give).
template <class T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

struct Plan {
  // Resource pattern filters with the entries for each (empty: none named).
  std::vector<std::pair<ResourcePatternFilter, std::vector<AccessControlEntry>>> items;
  std::vector<AccessControlEntry>& at(const ResourcePatternFilter& f) {
    for (auto& [k, v] : items)
      if (k == f) return v;
    items.emplace_back(f, std::vector<AccessControlEntry>{});
    return items.back().second;
  }
};

const ResourcePatternFilter kClusterFilter{ResourceType::CLUSTER, std::string(security::kClusterResourceName), PatternType::LITERAL};

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

class AclCommand {
 public:
  explicit AclCommand(const AclsOptions& o) : o_(o) {}

  PatternType pattern_type() const {
    if (!o_.resource_pattern_type) return PatternType::LITERAL;
    std::string upper;
    for (char c : *o_.resource_pattern_type) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    PatternType t = security::parse_pattern_type(upper);
    if (upper == "UNKNOWN") throw CommandError("Unknown resource-pattern-type: " + *o_.resource_pattern_type, "");
    if (t == PatternType::UNKNOWN)
      throw CommandError("Cannot parse argument '" + *o_.resource_pattern_type + "' of option resource-pattern-type", "");
    return t;
  }

  void check_args() const {
    if (o_.bootstrap_server && o_.bootstrap_controller)
      throw UsageError("Only one of --bootstrap-server or --bootstrap-controller must be specified");
    if (!o_.bootstrap_server && !o_.bootstrap_controller)
      throw UsageError("One of --bootstrap-server or --bootstrap-controller must be specified");
    if (int(o_.add) + int(o_.remove) + int(o_.list) != 1)
      throw UsageError("Command must include exactly one action: --list, --add, --remove. ");
    auto invalid_with = [](bool used, const char* used_name, std::vector<std::pair<bool, const char*>> others) {
      if (!used) return;
      for (const auto& [given, name] : others)
        if (given) throw UsageError(std::string("Option \"[") + used_name + "]\" can't be used with option \"[" + name + "]\"");
    };
    invalid_with(o_.list, "list",
                 {{o_.producer, "producer"}, {o_.consumer, "consumer"}, {!o_.allow_hosts.empty(), "allow-host"},
                  {!o_.allow_principals.empty(), "allow-principal"}, {!o_.deny_hosts.empty(), "deny-host"},
                  {!o_.deny_principals.empty(), "deny-principal"}});
    invalid_with(o_.producer, "producer",
                 {{!o_.operations.empty(), "operation"}, {!o_.deny_principals.empty(), "deny-principal"}, {!o_.deny_hosts.empty(), "deny-host"}});
    invalid_with(o_.consumer, "consumer",
                 {{!o_.operations.empty(), "operation"}, {!o_.deny_principals.empty(), "deny-principal"}, {!o_.deny_hosts.empty(), "deny-host"}});
    if (!o_.list_principals.empty() && !o_.list) throw UsageError("The --principal option is only available if --list is set");
    if (o_.producer && o_.topics.empty()) throw UsageError("With --producer you must specify a --topic");
    if (o_.idempotent && !o_.producer) throw UsageError("The --idempotent option is only available if --producer is set");
    if (o_.consumer && (o_.topics.empty() || o_.groups.empty() || (!o_.producer && (o_.cluster || !o_.transactional_ids.empty()))))
      throw UsageError(
          "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.");
  }

  // getResourceFilter
  std::vector<ResourcePatternFilter> resource_filters(bool die_if_none) const {
    PatternType p = pattern_type();
    std::vector<ResourcePatternFilter> out;
    for (const auto& t : o_.topics) add_unique(out, ResourcePatternFilter{ResourceType::TOPIC, trimmed(t), p});
    if (p == PatternType::LITERAL && (o_.cluster || o_.idempotent)) add_unique(out, kClusterFilter);
    for (const auto& g : o_.groups) add_unique(out, ResourcePatternFilter{ResourceType::GROUP, trimmed(g), p});
    for (const auto& t : o_.transactional_ids) add_unique(out, ResourcePatternFilter{ResourceType::TRANSACTIONAL_ID, t, p});
    for (const auto& t : o_.delegation_tokens) add_unique(out, ResourcePatternFilter{ResourceType::DELEGATION_TOKEN, trimmed(t), p});
    for (const auto& u : o_.user_principals) add_unique(out, ResourcePatternFilter{ResourceType::USER, trimmed(u), p});
    if (out.empty() && die_if_none)
      throw UsageError(
          "You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token "
          "ID>");
    return out;
  }

  static std::vector<std::string> principals(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    for (const auto& s : given) {
      std::string t = trimmed(s);
      auto p = security::parse_kafka_principal(t);
      if (!p) throw illegal_argument(security::principal_parse_error(t));
      add_unique(out, p->to_string());
    }
    return out;
  }

  static std::vector<std::string> hosts(const std::vector<std::string>& given, bool principals_given) {
    std::vector<std::string> out;
    for (const auto& h : given) add_unique(out, trimmed(h));
    if (given.empty() && principals_given) out.push_back(std::string(security::kWildcardHost));
    return out;
  }

  // getAcl(opts, operations)
  std::vector<AccessControlEntry> entries(const std::vector<AclOperation>& ops) const {
    auto allowed = principals(o_.allow_principals), denied = principals(o_.deny_principals);
    auto allow_hosts = hosts(o_.allow_hosts, !o_.allow_principals.empty());
    auto deny_hosts = hosts(o_.deny_hosts, !o_.deny_principals.empty());
    std::vector<AccessControlEntry> out;
    auto add = [&](const std::vector<std::string>& ps, const std::vector<std::string>& hs, AclPermissionType perm) {
      for (const auto& p : ps)
        for (AclOperation op : ops)
          for (const auto& h : hs) add_unique(out, AccessControlEntry{p, h, op, perm});
    };
    if (!allow_hosts.empty() && !allowed.empty()) add(allowed, allow_hosts, AclPermissionType::ALLOW);
    if (!deny_hosts.empty() && !denied.empty()) add(denied, deny_hosts, AclPermissionType::DENY);
    return out;
  }

  std::vector<AclOperation> cli_operations() const {
    std::vector<AclOperation> ops;
    if (o_.operations.empty()) return {AclOperation::ALL};
    for (const auto& s : o_.operations) {
      std::string t = trimmed(s);
      AclOperation op = security::parse_acl_operation_pascal(t);
      if (op == AclOperation::UNKNOWN && t != "Unknown" && t != "UNKNOWN") throw illegal_argument("Invalid operation: " + t);
      add_unique(ops, op);
    }
    return ops;
  }

  // getResourceFilterToAcls
  Plan resource_filter_to_acls() const {
    Plan plan;
    if (!o_.producer && !o_.consumer) {
      auto acls = entries(cli_operations());
      for (const auto& f : resource_filters(true)) plan.at(f) = acls;
    }
    if (o_.producer) {
      auto filters = resource_filters(true);
      auto topic_acls = entries({AclOperation::WRITE, AclOperation::DESCRIBE, AclOperation::CREATE});
      auto txn_acls = entries({AclOperation::WRITE, AclOperation::DESCRIBE});
      for (const auto& f : filters)
        if (f.resource_type == ResourceType::TOPIC) plan.at(f) = topic_acls;
      for (const auto& f : filters)
        if (f.resource_type == ResourceType::TRANSACTIONAL_ID) plan.at(f) = txn_acls;
      if (o_.idempotent) plan.at(kClusterFilter) = entries({AclOperation::IDEMPOTENT_WRITE});
    }
    if (o_.consumer) {
      auto filters = resource_filters(true);
      auto topic_acls = entries({AclOperation::READ, AclOperation::DESCRIBE});
      auto group_acls = entries({AclOperation::READ});
      for (const auto& f : filters) {
        const std::vector<AccessControlEntry>* add = f.resource_type == ResourceType::TOPIC   ? &topic_acls
                                                     : f.resource_type == ResourceType::GROUP ? &group_acls
                                                                                              : nullptr;
        if (!add) continue;
        auto& cur = plan.at(f);
        for (const auto& e : *add) add_unique(cur, e);
      }
    }
    // validateOperation
    for (const auto& [f, acls] : plan.items) {
      auto valid = security::supported_operations(f.resource_type);
      valid.push_back(AclOperation::ALL);
      for (const auto& e : acls)
        if (std::find(valid.begin(), valid.end(), e.operation) == valid.end()) {
          std::string names;
          for (AclOperation op : valid) names += (names.empty() ? "" : ", ") + security::acl_operation_pascal_name(op);
          throw UsageError("ResourceType " + std::string(security::resource_type_name(f.resource_type)) + " only supports operations " + names);
        }
    }
    return plan;
  }

  static std::string entry_lines(const std::vector<AccessControlEntry>& acls) {
    std::string s;
    for (size_t i = 0; i < acls.size(); ++i) s += (i ? "\n\t" : "\t") + acls[i].to_string();
    return s;
  }

  // Each action checks its options before it connects (Kafka's admin client
  // connects lazily, so a usage mistake is reported without a cluster).
  using Connect = std::function<client::Connection&()>;

  void add(const Connect& connect, std::ostream& out) const {
    PatternType p = pattern_type();
    if (p != PatternType::LITERAL && p != PatternType::PREFIXED)
      throw UsageError("A '--resource-pattern-type' value of '" + std::string(security::pattern_type_name(p)) +
                       "' is not valid when adding acls.");
    Plan plan = resource_filter_to_acls();
    for (const auto& [f, acls] : plan.items)
      if (acls.empty()) throw UsageError("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.");
    client::Connection& c = connect();
    for (const auto& [f, acls] : plan.items) {
      ResourcePattern pattern{f.resource_type, f.name.value_or(""), f.pattern_type};
      out << "Adding ACLs for resource `" << pattern.to_string() << "`: \n " << entry_lines(acls) << " \n\n";
      out.flush();
      std::vector<AclBinding> bindings;
      for (const auto& e : acls) bindings.push_back(AclBinding{pattern, e});
      auto resp = client::create_acls(c, bindings);
      for (const auto& r : resp.results)
        if (r.error_code != 0) throw server_error(r.error_code, r.error_message);
    }
  }

  bool confirm(const std::string& message, std::istream& in, std::ostream& out) const {
    if (o_.force) return true;
    out << message << "\n";
    out.flush();
    std::string line;
    if (!std::getline(in, line)) return false;
    return line == "y" || line == "Y";
  }

  void remove(const Connect& connect, std::istream& in, std::ostream& out) const {
    Plan plan = resource_filter_to_acls();
    client::Connection& c = connect();
    for (const auto& [f, acls] : plan.items) {
      std::vector<AclBindingFilter> filters;
      if (acls.empty()) {
        if (!confirm("Are you sure you want to delete all ACLs for resource filter `" + f.to_string() + "`? (y/n)", in, out)) continue;
        filters.push_back(AclBindingFilter{f, {}});
      } else {
        if (!confirm("Are you sure you want to remove ACLs: \n " + entry_lines(acls) + " \n from resource filter `" + f.to_string() +
                         "`? (y/n)",
                     in, out))
          continue;
        for (const auto& e : acls) filters.push_back(AclBindingFilter{f, {e.principal, e.host, e.operation, e.permission_type}});
      }
      auto resp = client::delete_acls(c, filters);
      for (const auto& r : resp.filter_results)
        if (r.error_code != 0) throw server_error(r.error_code, r.error_message);
    }
  }

  void list(const Connect& connect, std::ostream& out) const {
    auto filters = resource_filters(false);
    auto list_principals = principals(o_.list_principals);
    client::Connection& c = connect();
    std::vector<AclBinding> bindings;
    auto describe = [&](const AclBindingFilter& f) {
      auto resp = client::describe_acls(c, f);
      if (resp.error_code != 0) throw server_error(resp.error_code, resp.error_message);
      for (auto& b : client::acl_bindings(resp)) bindings.push_back(std::move(b));
    };
    if (filters.empty()) describe(AclBindingFilter::any());
    for (const auto& f : filters) describe(AclBindingFilter{f, {}});

    auto key = [](const ResourcePattern& p) { return std::make_tuple(security::code(p.resource_type), p.name, security::code(p.pattern_type)); };
    std::map<decltype(key(ResourcePattern{})), std::pair<ResourcePattern, std::set<std::string>>> by_resource;
    std::map<decltype(key(ResourcePattern{})), std::vector<AccessControlEntry>> entries_of;
    for (const auto& b : bindings) {
      auto& slot = by_resource[key(b.pattern)];
      slot.first = b.pattern;
      if (slot.second.insert(b.entry.to_string()).second) entries_of[key(b.pattern)].push_back(b.entry);
    }
    auto print = [&](const std::optional<std::string>& principal) {
      for (const auto& [k, slot] : by_resource) {
        std::vector<AccessControlEntry> acls;
        for (const auto& e : entries_of[k])
          if (!principal || e.principal == *principal) acls.push_back(e);
        if (acls.empty()) continue;
        std::sort(acls.begin(), acls.end(), [](const auto& a, const auto& b) { return a.to_string() < b.to_string(); });
        out << "Current ACLs for resource `" << slot.first.to_string() << "`: \n " << entry_lines(acls) << " \n\n";
      }
    };
    if (list_principals.empty()) return print(std::nullopt);
    for (const auto& p : list_principals) {
      out << "ACLs for principal `" << p << "`\n";
      print(p);
    }
  }

 private:
  const AclsOptions& o_;
};

}  // namespace acls_tool

int run_acls(const AclsOptions& o, std::istream& in, std::ostream& out, std::ostream& err) {
  acls_tool::AclCommand cmd(o);
  try {
    cmd.check_args();
  } catch (const acls_tool::UsageError& e) {
    err << e.what() << "\n";
    return 1;
  }
  try {
    client::ClientOptions copts;
    copts.client_id = "flotilla-acls";
    if (o.command_config) {
      auto props = server::load_properties_file(*o.command_config);
      apply_client_security(props);
      if (auto it = props.find("request.timeout.ms"); it != props.end()) copts.request_timeout_ms = std::stoi(it->second);
      if (auto it = props.find("client.id"); it != props.end()) copts.client_id = it->second;
    }
    std::unique_ptr<client::KafkaClient> brokers;
    std::unique_ptr<client::Connection> controller;
    auto connect = [&]() -> client::Connection& {
      if (o.bootstrap_server) {
        if (!brokers) brokers = std::make_unique<client::KafkaClient>(*o.bootstrap_server, copts);
        return brokers->any();
      }
      if (!controller) controller = client::connect_active_controller(*o.bootstrap_controller, copts.client_id);
      return *controller;
    };
    if (o.add) cmd.add(connect, out);
    if (o.remove) cmd.remove(connect, in, out);
    if (o.list) cmd.list(connect, out);
    return 0;
  } catch (const acls_tool::UsageError& e) {
    err << e.what() << "\n";
  } catch (const acls_tool::CommandError& e) {
    if (e.java_form.empty()) {
      err << e.what() << "\n";  // an option that does not parse
    } else {
      out << "Error while executing ACL command: " << e.what() << "\n" << e.java_form << "\n";
    }
  } catch (const client::KafkaError& e) {
    std::string ex = kafka_exception(code(e.code()), std::string(e.what()));
    out << "Error while executing ACL command: " << ex << "\njava.util.concurrent.ExecutionException: " << ex << "\n";
  } catch (const std::exception& e) {
    out << "Error while executing ACL command: " << e.what() << "\n" << e.what() << "\n";
  }
  return 1;
}

}  // namespace flotilla::tools
