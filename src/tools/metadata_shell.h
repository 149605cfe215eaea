// `flotilla metadata-shell` (kafka-metadata-shell.sh): loads a metadata image
// from a snapshot file or a node's `__cluster_metadata-0` directory and
// presents it as a read-only file system:
//
//   /image/features/<name>                       feature level
//   /image/cluster/brokers/<id>                  the registration, as JSON
//   /image/topics/byName/<topic>/{id,name,<p>}   partition registration JSON
//   /image/topics/byId/<id>/{id,name,<p>}
//   /image/configs/<type>/<name>/<key>           value (type: topic, broker, ...;
//                                                the default broker config is <default>)
//   /image/scram/<mechanism>/<user>              redacted credential
//   /image/acls/byId/<uuid>                      StandardAcl(resourceType=..., ...)
//   /image/provenance                            {"offset":..,"epoch":..}
//
// Commands: ls [-l], cd, cat, tree, find, pwd, help, exit (globs * ? [..] in paths).
// The image loader is shared with `metadata-diff`.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "metadata/image.h"
#include "tools/commands.h"

namespace flotilla::tools {

// Replays a metadata directory or snapshot into an image. Throws
// std::runtime_error with a readable message.
//  - a `.checkpoint` file (a snapshot, or bootstrap.checkpoint): its records;
//  - a directory: the newest `<offset>-<epoch>.checkpoint` in it if any (else
//    `bootstrap.checkpoint` in it or its parent), then every record of the
//    `.log` segments at or after the snapshot's end offset.
// `up_to`: replay only the records with offsets <= up_to.
std::shared_ptr<const metadata::MetadataImage> load_metadata_image(const std::string& path,
                                                                    std::optional<int64_t> up_to = std::nullopt);
// "DIR@OFFSET" / "FILE" → load_metadata_image(DIR, OFFSET).
std::shared_ptr<const metadata::MetadataImage> load_metadata_spec(const std::string& spec);

// The JSON texts the shell shows (also used by metadata-diff).
std::string broker_json(const metadata::BrokerRegistration& b);
std::string partition_json(const metadata::PartitionRegistration& p);
// The fields of partition_json, named as Kafka's shell names them.
nlohmann::ordered_json partition_registration_json(const metadata::PartitionRegistration& p);
// "topic", "broker", "broker_logger", "client_metrics", "group", else the number.
std::string config_type_name(int8_t type);

// The image as a tree of directories and files.
struct ShellNode {
  bool dir = true;
  std::string content;                     // files
  std::map<std::string, ShellNode> children;  // directories
};
ShellNode build_shell_tree(const metadata::MetadataImage& image);

class MetadataShell {
 public:
  explicit MetadataShell(std::shared_ptr<const metadata::MetadataImage> image);
  // Runs one command line; false when it failed (message on err). Sets done() on exit.
  bool execute(const std::string& line, std::ostream& out, std::ostream& err);
  bool done() const { return done_; }
  const std::string& cwd() const { return cwd_; }

 private:
  struct Match {
    std::string path;
    const ShellNode* node;
  };
  std::string absolute(const std::string& path) const;
  const ShellNode* lookup(const std::string& abs_path) const;
  std::vector<Match> resolve(const std::string& path) const;  // globs expanded, sorted
  void print_tree(const ShellNode& n, const std::string& name, int depth, std::ostream& out) const;
  void print_find(const ShellNode& n, const std::string& path, std::ostream& out) const;

  std::shared_ptr<const metadata::MetadataImage> image_;
  ShellNode root_;
  std::string cwd_ = "/";
  bool done_ = false;
};

}  // namespace flotilla::tools
