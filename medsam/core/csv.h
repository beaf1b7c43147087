// CSV text shared by every file the project writes as CSV (eval reports, training metrics, the case
// list of `medsam infer --input-dir`).
#pragma once

#include <string>

namespace medsam {

// RFC 4180: the field as it is, or quoted (inner quotes doubled) when it holds a comma, quote or line break.
std::string csv_field(const std::string& s);

}  // namespace medsam
