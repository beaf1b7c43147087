// Reads tests/fixtures/sam_keys/<arch>.tsv: every state_dict key of the reference model with its
// shape ("1x16x16x96", "" for a scalar) and dtype ("float32").
#pragma once

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace medsam::test {

struct KeyShape {
  std::string key;
  std::vector<int64_t> shape;
  std::string dtype;
};

inline std::string fixture_path(const std::string& rel) { return std::string(MEDSAM_FIXTURES_DIR) + "/" + rel; }

inline std::vector<KeyShape> sam_keys(const std::string& arch) {
  std::ifstream in(fixture_path("sam_keys/" + arch + ".tsv"));
  std::vector<KeyShape> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    KeyShape k;
    std::string shape;
    std::getline(fields, k.key, '\t');
    std::getline(fields, shape, '\t');
    std::getline(fields, k.dtype, '\t');
    std::istringstream dims(shape);
    std::string d;
    while (std::getline(dims, d, 'x'))
      if (!d.empty()) k.shape.push_back(std::stoll(d));
    out.push_back(k);
  }
  return out;
}

// DATA.md: every tensor of vit_b_constant.pth is (crc32(key) % 20011) / 20011 - 0.5.
inline float constant_of(const std::string& key) {
  const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(key.data()), uInt(key.size())));
  return float(double(crc % 20011) / 20011.0 - 0.5);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace medsam::test
