#include <catch2/catch.hpp>

#include <functional>
#include <set>

#include "medsam/core/error.h"
#include "medsam/core/config_data.h"

using namespace medsam::data;

namespace {
// Records every key path a config visits.
struct KeyRecorder : medsam::ConfigVisitor {
  std::vector<std::string> keys;
  std::string prefix;
  void add(const char* k) { keys.push_back(prefix + k); }
  void field(const char* k, int&) override { add(k); }
  void field(const char* k, long long&) override { add(k); }
  void field(const char* k, double&) override { add(k); }
  void field(const char* k, bool&) override { add(k); }
  void field(const char* k, std::string&) override { add(k); }
  void field(const char* k, std::vector<int>&) override { add(k); }
  void field(const char* k, std::vector<double>&) override { add(k); }
  void field(const char* k, std::vector<std::string>&) override { add(k); }
  void section(const char* k, const std::function<void(ConfigVisitor&)>& children) override {
    const auto saved = prefix;
    prefix += std::string(k) + ".";
    children(*this);
    prefix = saved;
  }
};
}  // namespace

TEST_CASE("data config defaults are MedSAM's training rules", "[data][config]") {
  const DataConfig c;
  CHECK(c.prompts.bbox_shift == 20);
  CHECK(c.objects_per_image == "one");
  CHECK_FALSE(c.augment.enabled);
  CHECK_FALSE(c.prompts.points);
  CHECK(c.balance.by == "none");
  CHECK(c.batch_size == 8);
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("data config visits its sections and rejects bad values by key", "[data][config]") {
  DataConfig c;
  KeyRecorder rec;
  c.visit(rec);
  const std::set<std::string> keys(rec.keys.begin(), rec.keys.end());
  CHECK(keys.count("prompts.bbox_shift"));
  CHECK(keys.count("augment.rot90"));
  CHECK(keys.count("balance.weights"));
  CHECK(keys.count("num_workers"));
  CHECK(keys.size() == rec.keys.size());  // no key twice
  c.objects_per_image = "some";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("data.objects_per_image"));
  c = DataConfig{};
  c.prompts.bbox_shift = -1;
  CHECK_THROWS_AS(c.validate(), medsam::ConfigError);
  c = DataConfig{};
  c.uneven = "wait";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("data.uneven"));
}
