#include "medsam/data/manifest.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "medsam/core/error.h"
#include "medsam/core/file_text.h"
#include "medsam/io/atomic_file.h"

namespace medsam::data {
namespace {

using nlohmann::ordered_json;

ordered_json counts_json(const std::map<std::string, Count>& m) {
  ordered_json j = ordered_json::object();
  for (const auto& [k, c] : m) j[k] = {{"samples", c.samples}, {"objects", c.objects}};
  return j;
}

std::map<std::string, Count> counts_from(const ordered_json& j) {
  std::map<std::string, Count> m;
  for (auto it = j.begin(); it != j.end(); ++it)
    m[it.key()] = {it.value().at("samples").get<std::uint64_t>(), it.value().at("objects").get<std::uint64_t>()};
  return m;
}

Split split_from(const std::string& s, const std::string& source, const std::string& shard) {
  if (s == "train") return Split::kTrain;
  if (s == "val") return Split::kVal;
  if (s == "test") return Split::kTest;
  // A hand-edited "validation" read as train would leak the held-out cases into training.
  throw Error(fmt::format("{}: shard {}: split '{}' is not train, val or test", source, shard, s));
}

}  // namespace

std::string Manifest::to_json() const {
  ordered_json j;
  j["format"] = "medsam-shards";
  j["version"] = kVersion;
  j["created_by"] = created_by;
  j["config_hash"] = config_hash;
  j["complete"] = complete;
  j["image_size"] = image_size;
  j["layout"] = {{"image", "<key>.img.png: uint8 grey or RGB, image_size x image_size"},
                 {"labels", "<key>.seg.png: 16-bit label ids, 0 = background"},
                 {"metadata", "<key>.json"},
                 {"index", "<shard>.idx: binary, see docs/data_format.md"}};
  ordered_json ds = ordered_json::array();
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    const auto& d = datasets[i];
    ordered_json labels = ordered_json::object();
    for (const auto& [id, name] : d.labels) labels[std::to_string(id)] = name;
    ds.push_back({{"id", i}, {"name", d.name}, {"modality", d.modality}, {"anatomy", d.anatomy}, {"labels", labels}});
  }
  j["datasets"] = ds;
  ordered_json sh = ordered_json::array();
  for (const auto& s : shards)
    sh.push_back({{"name", s.info.name},
                  {"split", split_name(s.info.split)},
                  {"tar", s.info.name + ".tar"},
                  {"index", s.info.name + ".idx"},
                  {"samples", s.info.samples},
                  {"objects", s.info.objects},
                  {"tar_bytes", s.info.tar_bytes},
                  {"index_bytes", s.info.index_bytes},
                  {"crc32", fmt::format("{:08x}", s.info.crc32)},
                  {"cases", s.cases}});
  j["shards"] = sh;
  j["counts"] = {{"by_split", counts_json(by_split)},
                 {"by_modality", counts_json(by_modality)},
                 {"by_dataset", counts_json(by_dataset)},
                 {"objects_by_label", objects_by_label}};
  j["done_cases"] = done_cases;
  ordered_json sk = ordered_json::array();
  for (const auto& [c, why] : skipped) sk.push_back({{"case", c}, {"reason", why}});
  j["skipped"] = sk;
  j["input_record_bytes"] = input_record_bytes;
  return j.dump(1) + "\n";
}

Manifest Manifest::from_json(const std::string& text, const std::string& source) {
  Manifest m;
  try {
    const auto j = ordered_json::parse(text);
    if (j.value("format", "") != "medsam-shards") throw Error(fmt::format("{}: not a medsam shard manifest", source));
    const int version = j.at("version").get<int>();
    if (version != kVersion)
      throw Error(fmt::format("{}: manifest version {} (this medsam reads version {})", source, version, kVersion));
    m.created_by = j.value("created_by", "");
    m.config_hash = j.value("config_hash", "");
    m.complete = j.value("complete", false);
    m.image_size = j.value("image_size", 0);
    for (const auto& d : j.at("datasets")) {
      ManifestDataset ds{d.at("name"), d.at("modality"), d.at("anatomy"), {}};
      for (auto it = d.at("labels").begin(); it != d.at("labels").end(); ++it)
        ds.labels[std::stoi(it.key())] = it.value().get<std::string>();
      m.datasets.push_back(ds);
    }
    for (const auto& s : j.at("shards")) {
      ManifestShard ms;
      ms.info.name = s.at("name");
      ms.info.split = split_from(s.at("split"), source, ms.info.name);
      ms.info.samples = s.at("samples");
      ms.info.objects = s.at("objects");
      ms.info.tar_bytes = s.at("tar_bytes");
      ms.info.index_bytes = s.at("index_bytes");
      ms.info.crc32 = static_cast<std::uint32_t>(std::stoul(s.at("crc32").get<std::string>(), nullptr, 16));
      ms.cases = s.at("cases").get<std::vector<std::string>>();
      m.shards.push_back(ms);
    }
    const auto& c = j.at("counts");
    m.by_split = counts_from(c.at("by_split"));
    m.by_modality = counts_from(c.at("by_modality"));
    m.by_dataset = counts_from(c.at("by_dataset"));
    m.objects_by_label = c.at("objects_by_label").get<std::map<std::string, std::uint64_t>>();
    m.done_cases = j.at("done_cases").get<std::vector<std::string>>();
    for (const auto& s : j.at("skipped")) m.skipped.emplace_back(s.at("case"), s.at("reason"));
    m.input_record_bytes = j.value("input_record_bytes", std::uint64_t{0});  // absent before input records
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: malformed manifest: {}", source, e.what()));
  }
  return m;
}

Manifest Manifest::load(const std::string& path) {
  return from_json(read_file_bytes(path, "manifest"), path);
}

void Manifest::save(const std::string& path) const { write_file_atomically(path, to_json()); }

}  // namespace medsam::data
