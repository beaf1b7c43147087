// Deterministic mutation fuzzing of the checkpoint reader: thousands of damaged copies of the
// fixtures, each of which must either load or throw medsam::Error (never crash, hang, or throw
// anything else). The libFuzzer target (fuzz/) explores further; this keeps the guarantee in CI.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <chrono>
#include <random>

#include "medsam/core/error.h"
#include "medsam/io/pth.h"
#include "medsam/io/zip.h"
#include "tests/io/sam_keys.h"

using namespace medsam;

namespace {

uint32_t le32_at(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + size_t(i)]);
  return v;
}
void put32_at(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + size_t(i)] = char((v >> (8 * i)) & 0xFF);
}

// Where data.pkl's bytes lie in the archive and where its two CRC fields are, so pickle-level
// mutations can be re-checksummed and reach the pickle machine instead of failing the CRC check.
struct PickleSpan {
  size_t begin = 0, size = 0, local_crc = 0, central_crc = 0;
};

PickleSpan find_pickle(const std::string& zip) {
  ZipReader reader(memory_source(zip, "seed"));
  for (const ZipEntry& e : reader.entries()) {
    if (e.name.size() < 9 || e.name.compare(e.name.size() - 9, 9, "/data.pkl") != 0) continue;
    PickleSpan span;
    const size_t lho = size_t(e.local_header_offset);
    const size_t name_len = le32_at(zip, lho + 26) & 0xFFFF, extra_len = le32_at(zip, lho + 28) & 0xFFFF;
    span.begin = lho + 30 + name_len + extra_len;
    span.size = size_t(e.size);
    span.local_crc = lho + 14;
    // The central directory record whose name is this entry's.
    const std::string central = std::string("PK\x01\x02", 4);
    for (size_t at = zip.find(central); at != std::string::npos; at = zip.find(central, at + 4)) {
      if (zip.compare(at + 46, e.name.size(), e.name) == 0) {
        span.central_crc = at + 16;
        break;
      }
    }
    REQUIRE(span.central_crc != 0);
    return span;
  }
  FAIL("no data.pkl in seed");
  return {};
}

struct Tally {
  int loaded = 0, refused = 0;
};

void attempt(std::string bytes, Tally& tally, int iteration) {
  try {
    parse_pth(std::move(bytes), "fuzz.pth");
    ++tally.loaded;
  } catch (const Error&) {
    ++tally.refused;
  } catch (const std::exception& e) {
    FAIL("iteration " << iteration << " threw a non-medsam exception: " << e.what());
  }
}

const unsigned char kInteresting[] = {0x00, 0xff, 0x7f, 0x80, '(', ')', 'q', 'h', 'R', '.', 'K', 't', 'u', 'b', 'X', 'Q'};

void mutate(std::string& s, size_t begin, size_t size, std::mt19937_64& rng) {
  const int edits = 1 + int(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t at = begin + rng() % size;
    switch (rng() % 4) {
      case 0: s[at] = char(rng() & 0xFF); break;
      case 1: s[at] = char(s[at] ^ (1 << (rng() % 8))); break;
      case 2: s[at] = char(kInteresting[rng() % sizeof kInteresting]); break;
      default: {  // overwrite with a chunk copied from elsewhere in the span
        const size_t len = 1 + rng() % 16, from = begin + rng() % size;
        for (size_t i = 0; i < len && at + i < begin + size && from + i < begin + size; ++i) s[at + i] = s[from + i];
      }
    }
  }
}

}  // namespace

TEST_CASE("pickle-level mutations of vit_b_constant.pth load or throw medsam::Error", "[io][pth][fuzz]") {
  const std::string seed = test::slurp(test::fixture_path("sam_keys/vit_b_constant.pth"));
  const PickleSpan span = find_pickle(seed);
  std::mt19937_64 rng(20240501);
  Tally tally;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    std::string s = seed;
    mutate(s, span.begin, span.size, rng);
    const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(s.data() + span.begin), uInt(span.size)));
    put32_at(s, span.local_crc, crc);
    put32_at(s, span.central_crc, crc);
    attempt(std::move(s), tally, i);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("pickle fuzz: 2000 cases in " << secs << " s, " << tally.loaded << " loaded, " << tally.refused << " refused");
  CHECK(tally.loaded + tally.refused == 2000);
  CHECK(tally.refused > 0);
}

TEST_CASE("byte-level mutations and truncations of the checkpoint fixtures load or throw medsam::Error",
          "[io][pth][fuzz]") {
  std::mt19937_64 rng(7);
  Tally tally;
  int n = 0;
  for (const char* rel : {"sam_keys/vit_b_constant.pth", "sam_tiny/weights.pth"}) {
    const std::string seed = test::slurp(test::fixture_path(rel));
    const bool big = seed.size() > 1000000;
    const int mutations = big ? 150 : 600, truncations = big ? 50 : 200;
    // Half the edits land in the last 32 kB (central directory, end records), half anywhere.
    const size_t tail = std::min<size_t>(seed.size(), 32768);
    for (int i = 0; i < mutations; ++i, ++n) {
      std::string s = seed;
      if (i % 2) mutate(s, seed.size() - tail, tail, rng);
      else mutate(s, 0, seed.size(), rng);
      attempt(std::move(s), tally, n);
    }
    for (int i = 0; i < truncations; ++i, ++n) attempt(seed.substr(0, rng() % seed.size()), tally, n);
  }
  WARN("zip fuzz: " << n << " cases, " << tally.loaded << " loaded, " << tally.refused << " refused");
  CHECK(tally.loaded + tally.refused == n);
}
