#include "tools/metadata_shell.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "protocol/record_batch.h"
#include "raft/snapshot.h"
#include "security/quota_entity.h"
#include "security/scram.h"
#include "tools/java_text.h"
#include "tools/mapped_file.h"

namespace flotilla::tools {

namespace fs = std::filesystem;
using metadata::MetadataImage;

// ------------------------------------------------------------ presentation

// /image/cluster/controllers/<id> (KIP-919 registrations).
std::string controller_json(const metadata::ControllerRegistration& c) {
  nlohmann::ordered_json j;
  j["id"] = c.id;
  j["incarnationId"] = c.incarnation_id.to_string();
  j["zkMigrationReady"] = c.zk_migration_ready;
  auto listeners = nlohmann::ordered_json::array();
  for (const auto& l : c.listeners)
    listeners.push_back({{"name", l.name}, {"host", l.host}, {"port", l.port}, {"securityProtocol", l.security_protocol}});
  j["listeners"] = listeners;
  auto features = nlohmann::ordered_json::object();
  for (const auto& [name, f] : c.supported_features) features[name] = {{"minVersion", f.min_version}, {"maxVersion", f.max_version}};
  j["supportedFeatures"] = features;
  return j.dump();
}


namespace {

ShellNode file_node(std::string content) {
  ShellNode n;
  n.dir = false;
  n.content = std::move(content);
  return n;
}

ShellNode topic_node(const metadata::TopicImage& t) {
  ShellNode n;
  n.children["id"] = file_node(t.id.to_string());
  n.children["name"] = file_node(t.name);
  for (const auto& [index, p] : t.partitions) n.children[std::to_string(index)] = file_node(partition_json(p));
  return n;
}

}  // namespace

ShellNode build_shell_tree(const MetadataImage& image) {
  ShellNode root;
  ShellNode& img = root.children["image"];
  ShellNode& features = img.children["features"];
  for (const auto& [name, level] : image.features()) features.children[name] = file_node(std::to_string(level));
  ShellNode& brokers = img.children["cluster"].children["brokers"];
  for (const auto& [id, b] : image.brokers()) brokers.children[std::to_string(id)] = file_node(broker_json(b));
  ShellNode& controllers = img.children["cluster"].children["controllers"];
  for (const auto& [id, c] : image.controllers()) controllers.children[std::to_string(id)] = file_node(controller_json(c));
  ShellNode& topics = img.children["topics"];
  ShellNode& by_name = topics.children["byName"];
  ShellNode& by_id = topics.children["byId"];
  for (const auto& [name, t] : image.topics_by_name()) {
    by_name.children[name] = topic_node(t);
    by_id.children[t.id.to_string()] = topic_node(t);
  }
  ShellNode& configs = img.children["configs"];
  for (const auto& [res, map] : image.configs()) {
    if (map.empty()) continue;
    ShellNode& entity = configs.children[config_type_name(res.type)].children[res.name.empty() ? "<default>" : res.name];
    for (const auto& [k, v] : map) entity.children[k] = file_node(v);
  }
  // Kafka's ClientQuotasImageNode: /image/clientQuotas/<entity>/<key> = the
  // value as Java prints a Double; an entity is named clientId(..)_ip(..)_user(..)
  // (those it has, in that order; '\\', '(' and ')' escaped with '\\'). A
  // default entity has an empty name in the parentheses ("user()"); Kafka's
  // node leaves the part out, which makes the default entities unreachable.
  ShellNode& quotas = img.children["clientQuotas"];
  for (const auto& [entity, values] : image.client_quotas()) {
    auto escape = [](const std::string& in) {
      std::string out;
      for (char c : in) {
        if (c == '\\' || c == '(' || c == ')') out += '\\';
        out += c;
      }
      return out;
    };
    std::string name;
    for (const auto& [type, label] : {std::pair{security::kQuotaEntityClientId, "clientId"}, std::pair{security::kQuotaEntityIp, "ip"},
                                      std::pair{security::kQuotaEntityUser, "user"}}) {
      auto it = entity.entries.find(type);
      if (it == entity.entries.end()) continue;
      name += (name.empty() ? "" : "_") + std::string(label) + "(" + escape(it->second.value_or("")) + ")";
    }
    ShellNode& node = quotas.children[name];
    for (const auto& [key, value] : values) node.children[key] = file_node(java_double_to_string(value));
  }
  // Kafka's ScramImageNode: /image/scram/<mechanism>/<user>, each credential
  // shown as the shell's strict redaction prints it (nothing of the secret).
  ShellNode& scram = img.children["scram"];
  for (const auto& [key, c] : image.scram())
    scram.children[std::string(security::scram_mechanism_name(key.second))].children[key.first] = file_node(
        "ScramCredentialData(salt=[redacted], storedKey=[redacted], serverKey=[redacted], iterations=[redacted])");
  // /image/acls/byId/<uuid>: each ACL as Kafka's StandardAcl prints
  // (AclsImageNode / AclsImageByIdNode).
  ShellNode& acls = img.children["acls"].children["byId"];
  for (const auto& [id, acl] : image.acls()) acls.children[id.to_string()] = file_node(acl.to_string());
  // Kafka's DelegationTokenImageNode: /image/delegationToken/<token id>, each
  // shown as Kafka's DelegationTokenData prints it (the token's data hidden).
  ShellNode& tokens = img.children["delegationToken"];
  for (const auto& [id, t] : image.delegation_tokens()) tokens.children[id] = file_node("DelegationTokenData(tokenInformation=[hidden])");
  nlohmann::ordered_json prov;
  prov["offset"] = image.offset();
  prov["epoch"] = image.epoch();
  img.children["provenance"] = file_node(prov.dump());
  return root;
}

// ------------------------------------------------------------ the shell

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

std::string join_path(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s.empty() ? "/" : s;
}

std::string child_path(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

bool has_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> tokenize(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
      else cur += c;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_token = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_token) out.push_back(cur);
      cur.clear();
      in_token = false;
    } else {
      cur += c;
      in_token = true;
    }
  }
  if (in_token) out.push_back(cur);
  return out;
}

constexpr const char* kHelp =
    "Welcome to the Flotilla metadata shell.\n"
    "\n"
    "usage:  {cat,cd,exit,find,help,ls,pwd,tree} ...\n"
    "\n"
    "positional arguments:\n"
    "  {cat,cd,exit,find,help,ls,pwd,tree}\n"
    "    cat                  Show the contents of metadata files.\n"
    "    cd                   Set the current working directory.\n"
    "    exit                 Exit the metadata shell.\n"
    "    find                 Search for nodes in the directory hierarchy.\n"
    "    help                 Display this help message.\n"
    "    ls                   List metadata nodes.\n"
    "    pwd                  Print the current working directory.\n"
    "    tree                 Print a tree of metadata nodes.\n";

}  // namespace

MetadataShell::MetadataShell(std::shared_ptr<const MetadataImage> image)
    : image_(std::move(image)), root_(build_shell_tree(*image_)) {}

std::string MetadataShell::absolute(const std::string& path) const {
  std::string full = !path.empty() && path[0] == '/' ? path : cwd_ + "/" + path;
  std::vector<std::string> out;
  for (const auto& part : split_path(full)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return join_path(out);
}

const ShellNode* MetadataShell::lookup(const std::string& abs_path) const {
  const ShellNode* n = &root_;
  for (const auto& part : split_path(abs_path)) {
    if (!n->dir) return nullptr;
    auto it = n->children.find(part);
    if (it == n->children.end()) return nullptr;
    n = &it->second;
  }
  return n;
}

std::vector<MetadataShell::Match> MetadataShell::resolve(const std::string& path) const {
  std::vector<Match> cur = {{"/", &root_}};
  for (const auto& part : split_path(absolute(path))) {
    std::vector<Match> next;
    for (const auto& m : cur) {
      if (!m.node->dir) continue;
      if (has_glob(part)) {
        for (const auto& [name, child] : m.node->children)
          if (::fnmatch(part.c_str(), name.c_str(), FNM_PERIOD) == 0) next.push_back({child_path(m.path, name), &child});
      } else if (auto it = m.node->children.find(part); it != m.node->children.end()) {
        next.push_back({child_path(m.path, part), &it->second});
      }
    }
    cur = std::move(next);
  }
  return cur;
}

void MetadataShell::print_tree(const ShellNode& n, const std::string& name, int depth, std::ostream& out) const {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  if (!n.dir) {
    out << indent << name << ": " << n.content << "\n";
    return;
  }
  out << indent << name << ":\n";
  for (const auto& [child_name, child] : n.children) print_tree(child, child_name, depth + 1, out);
}

void MetadataShell::print_find(const ShellNode& n, const std::string& path, std::ostream& out) const {
  out << path << "\n";
  if (!n.dir) return;
  for (const auto& [name, child] : n.children) print_find(child, child_path(path, name), out);
}

bool MetadataShell::execute(const std::string& line, std::ostream& out, std::ostream& err) {
  auto args = tokenize(line);
  if (args.empty()) return true;
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  bool ok = true;

  if (cmd == "exit") {
    done_ = true;
  } else if (cmd == "help" || cmd == "man") {
    out << kHelp;
  } else if (cmd == "pwd") {
    out << cwd_ << "\n";
  } else if (cmd == "cd") {
    std::string target = rest.empty() ? "/" : rest[0];
    if (rest.size() > 1) {
      err << "cd: too many arguments\n";
      return false;
    }
    auto matches = resolve(target);
    if (matches.empty()) {
      err << "cd: " << target << ": no such directory\n";
      return false;
    }
    if (matches.size() > 1) {
      err << "cd: " << target << ": more than one directory matches\n";
      return false;
    }
    if (!matches[0].node->dir) {
      err << "cd: " << target << ": not a directory\n";
      return false;
    }
    cwd_ = matches[0].path;
  } else if (cmd == "ls") {
    bool long_format = false;
    std::vector<std::string> targets;
    for (const auto& a : rest) {
      if (a == "-l" || a == "--long") long_format = true;
      else targets.push_back(a);
    }
    if (targets.empty()) targets.push_back(".");
    auto entry = [&](const std::string& name, const ShellNode& n) {
      if (long_format) {
        size_t size = n.dir ? n.children.size() : n.content.size();
        std::string sz = std::to_string(size);
        out << (n.dir ? "dr-xr-xr-x " : "-r--r--r-- ") << std::string(sz.size() < 8 ? 8 - sz.size() : 0, ' ') << sz << " "
            << name << "\n";
      } else {
        out << name << "\n";
      }
    };
    std::vector<Match> files, dirs;
    for (const auto& t : targets) {
      auto matches = resolve(t);
      if (matches.empty()) {
        err << "ls: " << t << ": no such file or directory\n";
        ok = false;
      }
      for (auto& m : matches) (m.node->dir ? dirs : files).push_back(m);
    }
    for (const auto& f : files) entry(f.path, *f.node);
    bool headers = files.size() + dirs.size() > 1;
    for (size_t i = 0; i < dirs.size(); ++i) {
      if (headers) out << (i > 0 || !files.empty() ? "\n" : "") << dirs[i].path << ":\n";
      for (const auto& [name, child] : dirs[i].node->children) entry(name, child);
    }
  } else if (cmd == "cat") {
    if (rest.empty()) {
      err << "cat: no file given\n";
      return false;
    }
    for (const auto& t : rest) {
      auto matches = resolve(t);
      if (matches.empty()) {
        err << "cat: " << t << ": No such file or directory\n";
        ok = false;
      }
      for (const auto& m : matches) {
        if (m.node->dir) {
          err << "cat: " << m.path << ": Is a directory\n";
          ok = false;
        } else {
          out << m.node->content << "\n";
        }
      }
    }
  } else if (cmd == "tree" || cmd == "find") {
    if (rest.empty()) rest.push_back(".");
    for (const auto& t : rest) {
      auto matches = resolve(t);
      if (matches.empty()) {
        err << cmd << ": " << t << ": no such file or directory\n";
        ok = false;
      }
      for (const auto& m : matches) {
        if (cmd == "tree") print_tree(*m.node, m.path, 0, out);
        else print_find(*m.node, m.path, out);
      }
    }
  } else {
    err << "Unknown command " << cmd << ". Type help for a list of commands.\n";
    ok = false;
  }
  return ok;
}

int run_metadata_shell(const MetadataShellOptions& o, std::istream& in, std::ostream& out, std::ostream& err) {
  if (o.snapshot.has_value() == o.directory.has_value()) {
    err << "metadata-shell: give exactly one of --snapshot FILE and --directory DIR\n";
    return 1;
  }
  std::shared_ptr<const MetadataImage> image;
  try {
    image = load_metadata_image(o.snapshot ? *o.snapshot : *o.directory);
  } catch (const std::exception& e) {
    err << "metadata-shell: " << e.what() << "\n";
    return 1;
  }
  MetadataShell shell(image);
  if (!o.command.empty()) {
    std::string line;
    for (const auto& a : o.command) {
      if (!line.empty()) line += ' ';
      // Keep each argument one token (quote it if it holds spaces).
      line += a.find_first_of(" \t") == std::string::npos ? a : "'" + a + "'";
    }
    bool ok = shell.execute(line, out, err);
    out.flush();
    return ok ? 0 : 1;
  }
  bool tty = &in == &std::cin && ::isatty(0);
  if (tty) out << "[ Flotilla Metadata Shell ]\n";
  std::string line;
  while (!shell.done()) {
    if (tty) out << ">> " << std::flush;
    if (!std::getline(in, line)) break;
    shell.execute(line, out, err);
    out.flush();
  }
  if (tty && !shell.done()) out << "\n";
  return 0;
}

}  // namespace flotilla::tools
