#include "medsam/eval/report_format.h"

#include <cstdint>

#include <fmt/format.h>

#include <cmath>

namespace medsam::eval {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string score_text(double x) { return std::isnan(x) ? "nan" : fmt::format("{:.6f}", x); }

nlohmann::json stats_json(const Stats& s) {
  auto value = [&](double x) { return s.n > 0 ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"n", s.n}, {"nan", s.nan}, {"median", value(s.median)}, {"q1", value(s.q1)},
          {"q3", value(s.q3)}, {"iqr", value(s.q3 - s.q1)}, {"mean", value(s.mean)}};
}

std::string stat_cell(const Stats& s, double x) { return s.n > 0 ? fmt::format("{:.4f}", x) : std::string("-"); }

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << 16) | (i + 1 < bytes.size() ? static_cast<std::uint8_t>(bytes[i + 1]) << 8 : 0) |
                            (i + 2 < bytes.size() ? static_cast<std::uint8_t>(bytes[i + 2]) : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}


}  // namespace medsam::eval
