// A Flotilla node: start-up in dependency order, serving, orderly shutdown.
//
// Start-up: check the formatted storage (meta.properties in every log dir,
// one cluster id), open the data logs, open the metadata log and start Raft
// (controller role), replay the metadata log into the image, register the
// broker, open the listeners. Shutdown runs the same steps backwards and
// flushes every log.
//
// Threading: one io_context thread runs the network, the broker, the
// controller and the Raft driver; fsyncs of the metadata log run on the
// driver's I/O thread.
#pragma once

#include <asio.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "server/config.h"

namespace flotilla::server {

class NodeImpl;

class Node {
 public:
  explicit Node(KafkaConfig config);
  ~Node();
  // Starts everything; throws std::runtime_error with a user-facing message
  // when the node cannot start (unformatted storage, cluster id mismatch, port in use).
  void start();
  // Runs the io_context until shutdown() or a signal. Returns the exit code.
  int run();
  void shutdown();

 private:
  std::unique_ptr<NodeImpl> impl_;
};

// Reads meta.properties of every directory; returns the cluster id. Throws
// std::runtime_error naming the directory when one is unformatted or they
// disagree (cluster.id, node.id), or when two share a directory.id or one has a
// reserved id (Kafka's MetaPropertiesEnsemble.verify). A dir formatted without
// a directory.id gets a fresh one written into its meta.properties. `dir_ids`
// (optional) receives each configured dir's id.
std::string verify_formatted_storage(const KafkaConfig& config, std::map<std::string, Uuid>* dir_ids = nullptr);

}  // namespace flotilla::server
