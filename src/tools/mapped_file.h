// MappedFile now lives in metadata/mapped_file.h (the metadata file loader
// uses it); the tools keep the short name.
#pragma once

#include "metadata/mapped_file.h"

namespace flotilla::tools {
using metadata::MappedFile;
}  // namespace flotilla::tools
