// RFC 4648 base64 (standard alphabet, '=' padding): PNGs embedded in HTML reports and in the JSON
// answers of `medsam serve`.
#pragma once

#include <string>
#include <string_view>

namespace medsam {

std::string base64_encode(std::string_view bytes);

// Strict: the length must be a multiple of 4 and every character from the alphabet (padding only at
// the end). Throws UsageError naming `what` and the offending position.
std::string base64_decode(std::string_view text, const std::string& what = "base64 text");

}  // namespace medsam
