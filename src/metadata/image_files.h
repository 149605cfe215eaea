// Metadata images from files on disk: a snapshot `.checkpoint`, a `.log`
// segment, or a `__cluster_metadata-0` directory replayed into a
// MetadataImage (`flotilla metadata-shell`, `metadata-diff`, and the
// console's snapshot diff). Reads files only; any thread; throws
// std::runtime_error with a readable message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "metadata/image.h"

namespace flotilla::metadata {

// Replays a metadata directory or snapshot into an image.
//  - a `.checkpoint` file (a snapshot, or bootstrap.checkpoint): its records;
//  - a directory: the newest `<offset>-<epoch>.checkpoint` in it if any (else
//    `bootstrap.checkpoint` in it or its parent), then every record of the
//    `.log` segments at or after the snapshot's end offset.
// `up_to`: replay only the records with offsets <= up_to.
std::shared_ptr<const MetadataImage> load_metadata_image(const std::string& path,
                                                          std::optional<int64_t> up_to = std::nullopt);
// "DIR@OFFSET" / "FILE" -> load_metadata_image(DIR, OFFSET).
std::shared_ptr<const MetadataImage> load_metadata_spec(const std::string& spec);

}  // namespace flotilla::metadata
