// base64 (RFC 4648): the test vectors of the RFC, round trips of every byte value, strict decoding.
#include <catch2/catch.hpp>

#include "medsam/core/base64.h"
#include "medsam/core/error.h"

using namespace medsam;

TEST_CASE("base64 matches RFC 4648's test vectors and round-trips any bytes", "[core]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(255), size_t(256)}) CHECK(base64_decode(base64_encode(all.substr(0, n))) == all.substr(0, n));
}

TEST_CASE("base64 decoding rejects bad length, characters and padding, naming the input", "[core]") {
  CHECK_THROWS_WITH(base64_decode("Zm9", "mask"), Catch::Contains("mask: base64 length 3"));
  CHECK_THROWS_WITH(base64_decode("Zm9v!A==", "mask"), Catch::Contains("character 4 is not base64"));
  CHECK_THROWS_AS(base64_decode("Zg==Zm9v"), UsageError);  // padding inside
  CHECK_THROWS_AS(base64_decode("Z==="), UsageError);
}
