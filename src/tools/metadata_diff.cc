#include "tools/metadata_diff.h"

#include <ostream>

#include "tools/metadata_shell.h"

namespace flotilla::tools {

using metadata::MetadataImage;

int run_metadata_diff(const MetadataDiffOptions& o, std::ostream& out, std::ostream& err) {
  std::shared_ptr<const MetadataImage> a, b;
  try {
    a = load_metadata_spec(o.from);
    b = load_metadata_spec(o.to);
  } catch (const std::exception& e) {
    err << "metadata-diff: " << e.what() << "\n";
    return 1;
  }
  auto d = diff_images(*a, *b);
  if (o.json) {
    d["from"]["source"] = o.from;
    d["to"]["source"] = o.to;
    out << d.dump() << "\n";
  } else {
    out << format_diff(d);
  }
  return 0;
}

}  // namespace flotilla::tools
