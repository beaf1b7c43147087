// CLI11 validators with messages that say what the value must be. CLI::PositiveNumber reads "Value 0 not in
// range 0.000000 to 1.79769e+308" for 0, which names neither the bound that matters nor the rule.
// CLI11 prefixes each message with the option's name: "--encode-batch: 0: must be at least 1".
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace medsam::tools {

// Integer options that count something (iterations, workers, batch sizes): 1 or more. A value that is
// not an integer is left to the option's own conversion, which names it.
inline CLI::Validator at_least(std::int64_t min) {
  return CLI::Validator(
      [min](std::string& input) -> std::string {
        std::int64_t value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return {};
        return value >= min ? std::string() : fmt::format("{}: must be at least {}", input, min);
      },
      "", "AT_LEAST_" + std::to_string(min));
}
inline CLI::Validator at_least_one() { return at_least(1); }

// Floating-point options that are a size or a rate: finite and > 0 (0, negatives, nan and inf refused).
inline CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return {};
        return value > 0 && std::isfinite(value) ? std::string() : fmt::format("{}: must be a finite number > 0", input);
      },
      "", "POSITIVE_FINITE");
}

// Floating-point options with bounds (a duration in seconds): finite, min..max inclusive. CLI::Range lets NaN
// through (every comparison with it is false), and 1e300 seconds overflows a cast to milliseconds.
inline CLI::Validator finite_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& input) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return {};
        if (std::isfinite(value) && value >= min && value <= max) return {};
        return fmt::format("{}: must be a number from {} to {}", input, min, max);
      },
      "", fmt::format("FINITE_{}_{}", min, max));
}

// Integer options with an upper bound as well: min..max inclusive, both named in the message.
inline CLI::Validator in_range(std::int64_t min, std::int64_t max, const std::string& why = "") {
  return CLI::Validator(
      [min, max, why](std::string& input) -> std::string {
        std::int64_t value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return {};
        if (value >= min && value <= max) return {};
        return fmt::format("{}: must be from {} to {}{}", input, min, max, why.empty() ? "" : " (" + why + ")");
      },
      "", fmt::format("RANGE_{}_{}", min, max));
}

}  // namespace medsam::tools
