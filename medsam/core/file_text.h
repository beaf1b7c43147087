// Reading a whole file into memory, with one error that names the file, what it was for and why.
// (std::ifstream alone opens a folder without complaint and reads nothing; read errors go unnoticed.)
#pragma once

#include <string>

namespace medsam {

// The bytes of `path`. Throws Error "<path>: cannot read <what>: <reason>" when it is missing, a
// folder, or unreadable.
std::string read_file_bytes(const std::string& path, const std::string& what);

}  // namespace medsam
