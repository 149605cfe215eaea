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
#include "metadata/image_files.h"
#include "metadata/image_json.h"
#include "tools/commands.h"

namespace flotilla::tools {

// The file loader (metadata/image_files.h) and the JSON texts of an image's
// parts (metadata/image_json.h) are shared with metadata-diff and the console.
using metadata::broker_json;
using metadata::config_type_name;
using metadata::load_metadata_image;
using metadata::load_metadata_spec;
using metadata::partition_json;
using metadata::partition_registration_json;

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
