// `storage format --add-scram` (Kafka's StorageTool, 3.5+): each argument
// `SCRAM-SHA-256=[name=alice,password=alice-secret]` (or with
// `iterations=N`, or `salt="<base64>",saltedpassword="<base64>"` instead of a
// password) becomes a UserScramCredentialRecord in the bootstrap checkpoint,
// so that the user exists when the cluster first starts. Only StoredKey and
// ServerKey are written; no error message repeats a password.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flotilla::tools {

// The framed records; throws std::invalid_argument (a message for the user).
std::vector<std::vector<uint8_t>> add_scram_records(const std::vector<std::string>& args, int16_t metadata_version);

}  // namespace flotilla::tools
