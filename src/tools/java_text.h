// The JVM text helpers now live in metadata/java_text.h (the console decodes
// metadata records with them too); the tools keep their short names.
#pragma once

#include "metadata/java_text.h"

namespace flotilla::tools {
using metadata::jackson_json;
using metadata::java_double_to_string;
using metadata::java_utf8;
}  // namespace flotilla::tools
