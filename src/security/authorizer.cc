#include "security/authorizer.h"

namespace flotilla::security {

namespace authorizer_detail {
std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}
}  // namespace authorizer_detail

std::optional<std::string> parse_super_users(std::string_view value, std::vector<std::string>& out) {
  out.clear();
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(';', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view v = authorizer_detail::trim(value.substr(start, end - start));
    if (!v.empty()) {
      if (!parse_kafka_principal(v)) return principal_parse_error(v);
      out.emplace_back(v);
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::string audit_message(const KafkaPrincipal& principal, std::string_view host, AclOperation op, ResourceType type,
                          std::string_view name, std::string_view api_name, int resource_ref_count,
                          const Decision& decision) {
  std::string m = "Principal = " + principal.to_string();
  m += decision.allowed() ? " is Allowed" : " is Denied";
  m += " operation = ";
  m += acl_operation_name(op);
  m += " from host = ";
  m += host;
  m += " on resource = " + resource_type_pascal_name(type) + ":LITERAL:";
  m += name;
  m += " for request = ";
  m += api_name;
  m += " with resourceRefCount = " + std::to_string(resource_ref_count);
  m += " based on rule " + decision.rule_to_string();
  return m;
}

StandardAuthorizer::StandardAuthorizer(AuthorizerConfig config) : writer_(nullptr) {
  settings_.super_users = std::move(config.super_users);
  settings_.allow_everyone_if_no_acl_found = config.allow_everyone_if_no_acl_found;
  settings_.loading_complete = false;
  std::lock_guard lock(writer_mu_);
  publish_locked();
}

void StandardAuthorizer::publish_locked() {
  writer_.set_settings(settings_);
  std::shared_ptr<const AclIndex> next = writer_.publish();
  {
    std::lock_guard lock(snapshot_mu_);
    current_.swap(next);
  }
  // `next` now holds the previous snapshot: released outside the lock.
}

void StandardAuthorizer::configure(AuthorizerConfig config) {
  std::lock_guard lock(writer_mu_);
  settings_.super_users = std::move(config.super_users);
  settings_.allow_everyone_if_no_acl_found = config.allow_everyone_if_no_acl_found;
  publish_locked();
}

void StandardAuthorizer::complete_initial_load() {
  std::lock_guard lock(writer_mu_);
  settings_.loading_complete = true;
  publish_locked();
}

bool StandardAuthorizer::initial_load_complete() const { return snapshot()->settings().loading_complete; }

std::vector<std::string> StandardAuthorizer::apply(std::span<const Uuid> removed, std::span<const StandardAcl> added) {
  std::vector<std::string> errors;
  std::lock_guard lock(writer_mu_);
  for (const Uuid& id : removed)
    if (auto e = writer_.remove(id)) errors.push_back(std::move(*e));
  for (const StandardAcl& acl : added)
    if (auto e = writer_.add(acl)) errors.push_back(std::move(*e));
  publish_locked();
  return errors;
}

std::optional<std::string> StandardAuthorizer::add_acl(const StandardAcl& acl) {
  std::lock_guard lock(writer_mu_);
  auto e = writer_.add(acl);
  if (!e) publish_locked();
  return e;
}

std::optional<std::string> StandardAuthorizer::remove_acl(const Uuid& id) {
  std::lock_guard lock(writer_mu_);
  auto e = writer_.remove(id);
  if (!e) publish_locked();
  return e;
}

std::vector<std::string> StandardAuthorizer::load_snapshot(std::span<const StandardAcl> acls) {
  std::vector<std::string> errors;
  std::lock_guard lock(writer_mu_);
  writer_.clear();
  for (const StandardAcl& acl : acls)
    if (auto e = writer_.add(acl)) errors.push_back(std::move(*e));
  publish_locked();
  return errors;
}

}  // namespace flotilla::security
