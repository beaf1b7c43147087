// Hand-written pickles and torch.save-shaped archives for error tests (protocol 2 opcodes).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "medsam/io/zip.h"
#include "tests/io/sam_keys.h"
#include "tests/support/run_command.h"

namespace medsam::test {

// BINUNICODE: 'X' + 4-byte length + UTF-8.
inline std::string pk_str(const std::string& s) {
  std::string out = "X";
  for (int i = 0; i < 4; ++i) out.push_back(char((s.size() >> (8 * i)) & 0xFF));
  return out + s;
}
inline std::string pk_int(int v) { return "K" + std::string(1, char(v)); }  // BININT1, 0..255
inline std::string pk_global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}

// {key: tensor(float storage '0' of `numel` elements, offset, size (n,), stride (s,))}
inline std::string pk_state_dict_1d(int numel, int offset, int size, int stride) {
  return "\x80\x02}(" + pk_str("w") + pk_global("torch._utils", "_rebuild_tensor_v2") + "((" + pk_str("storage") +
         pk_global("torch", "FloatStorage") + pk_str("0") + pk_str("cpu") + pk_int(numel) + "tQ" + pk_int(offset) +
         pk_int(size) + "\x85" + pk_int(stride) + "\x85\x89" + pk_global("collections", "OrderedDict") + ")RtRu.";
}

// A torch.save-shaped zip: archive/data.pkl, archive/data/<key> records, archive/version.
inline std::string torch_archive(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& records,
                                 const std::string& dir_name) {
  const std::string path = temp_dir(dir_name) + "/a.pth";
  {
    ZipWriter zip(path);
    zip.add("archive/data.pkl", pickle.data(), pickle.size());
    for (const auto& [key, bytes] : records) zip.add("archive/data/" + key, bytes.data(), bytes.size());
    zip.add("archive/version", "3\n", 2);
    zip.finish();
  }
  return slurp(path);
}

}  // namespace medsam::test
