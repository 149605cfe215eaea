#include "storage/meta_properties.h"

#include <ctime>
#include <fstream>
#include <map>
#include <stdexcept>

#include "storage/log_files.h"

namespace flotilla::storage {

MetaProperties read_meta_properties(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("Cannot read " + path.string());
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  MetaProperties mp;
  try {
    mp.version = std::stoi(kv.at("version"));
    if (kv.count("cluster.id")) mp.cluster_id = kv["cluster.id"];
    if (kv.count("node.id")) mp.node_id = std::stoi(kv["node.id"]);
    if (kv.count("directory.id")) mp.directory_id = kv["directory.id"];
  } catch (const std::exception&) {
    throw std::runtime_error("Malformed " + path.string() + ": expected version, cluster.id, node.id, directory.id");
  }
  if (mp.cluster_id.empty()) throw std::runtime_error("Malformed " + path.string() + ": no cluster.id");
  return mp;
}

void write_meta_properties(const std::filesystem::path& path, const MetaProperties& mp) {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", std::gmtime(&now));
  std::string text = "#\n#" + std::string(date) + "\n";
  text += "cluster.id=" + mp.cluster_id + "\n";
  text += "directory.id=" + mp.directory_id + "\n";
  text += "node.id=" + std::to_string(mp.node_id) + "\n";
  text += "version=" + std::to_string(mp.version) + "\n";
  write_file_atomically(path, text);
}

}  // namespace flotilla::storage
