// The id of an uploaded image: SHA-256 (hex) of its bytes and of how its intensities are mapped, so
// the same file sent twice reuses one embedding while the same CT slice under another window does not.
// A cryptographic hash because a collision would answer prompts against the wrong patient's image.
#pragma once

#include <string>
#include <string_view>

namespace medsam::serve {

// 64 lowercase hex digits.
std::string image_id(std::string_view bytes, std::string_view intensity_key);

bool looks_like_image_id(std::string_view text);

}  // namespace medsam::serve
