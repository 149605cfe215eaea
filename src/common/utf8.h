// Strings from the wire as Java reads them. Kafka decodes every protocol
// string with `new String(bytes, UTF_8)`, which replaces each ill-formed
// sequence with U+FFFD; a string Kafka stores, logs or prints is therefore
// always valid UTF-8. We keep that invariant at the decoder so that nothing
// downstream (metadata records, JSON bodies, Prometheus labels, tool output)
// ever meets bytes that are not text.
#pragma once

#include <string>
#include <string_view>

namespace flotilla {

// True when `s` is well-formed UTF-8 (Unicode Table 3-7: no overlongs, no
// surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Replaces every maximal ill-formed subpart of `s` with U+FFFD (the
// substitution Unicode recommends and Java's decoder performs). A no-op, and
// no allocation, for well-formed input, the case every real client sends.
void make_valid_utf8(std::string& s);

}  // namespace flotilla
