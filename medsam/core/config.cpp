// YAML <-> config structs, through the ConfigVisitor field lists.
#include "medsam/core/config.h"

#include <cmath>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <type_traits>

#include "medsam/core/error.h"

namespace medsam {

void Config::visit(ConfigVisitor& v) {
  v.sub("model", model);
  v.sub("train", train);
  v.sub("data", data);
}

void Config::validate() const {
  model.validate();
  train.validate();
  data.validate();
}

namespace {

std::string join_key(const std::string& prefix, const char* key) {
  return prefix.empty() ? std::string(key) : prefix + "." + key;
}

// Reads the fields present in a YAML map; remembers the keys it used so the rest can be reported.
class YamlReader final : public ConfigVisitor {
 public:
  YamlReader(const YAML::Node& node, std::string source, std::string prefix, ConfigOrigins* origins)
      : node_(node), source_(std::move(source)), prefix_(std::move(prefix)), origins_(origins) {}

  void field(const char* key, int& value) override { read(key, value, "an integer"); }
  void field(const char* key, long long& value) override { read(key, value, "an integer"); }
  void field(const char* key, double& value) override { read(key, value, "a number"); }
  void field(const char* key, bool& value) override { read(key, value, "true or false"); }
  void field(const char* key, std::string& value) override { read(key, value, "a string"); }
  void field(const char* key, std::vector<int>& value) override { read(key, value, "a list of integers"); }
  void field(const char* key, std::vector<double>& value) override { read(key, value, "a list of numbers"); }
  void field(const char* key, std::vector<std::string>& value) override { read(key, value, "a list of strings"); }

  void section(const char* key, const std::function<void(ConfigVisitor&)>& visit_children) override {
    known_.insert(key);
    YAML::Node child = node_[key];
    if (!child) return;
    if (child.IsNull()) return;  // `section:` with nothing under it keeps the defaults
    if (!child.IsMap())
      fail(child, fmt::format("key '{}' must be a mapping of settings", join_key(prefix_, key)));
    YamlReader sub(child, source_, join_key(prefix_, key), origins_);
    visit_children(sub);
    sub.reject_unknown();
  }

  void reject_unknown() const {
    // yaml-cpp keeps both entries of a repeated key and lookups find the first: a second `train:` block
    // meant to override the first would be ignored without a word.
    std::map<std::string, int> first_line;
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar())  // `[a]: 1`: as<std::string> would throw yaml-cpp's bare "bad conversion"
        fail(kv.first, fmt::format("a key under '{}' is a list or mapping, not a name", prefix_.empty() ? "the top level" : prefix_));
      const auto name = kv.first.as<std::string>();
      const int line = kv.first.Mark().is_null() ? 0 : kv.first.Mark().line + 1;
      if (const auto seen = first_line.find(name); seen != first_line.end())
        fail(kv.first, fmt::format("key '{}' appears twice (first on line {}); only one is read, so say it once",
                                   join_key(prefix_, name.c_str()), seen->second));
      first_line.emplace(name, line);
    }
    for (const auto& kv : node_) {
      const auto name = kv.first.as<std::string>();
      if (known_.count(name)) continue;
      std::string known;
      for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
      fail(kv.first, fmt::format("unknown key '{}' (known keys here: {})", join_key(prefix_, name.c_str()), known));
    }
  }

 private:
  // yaml-cpp reads integers as C does: 010 is 8 (octal) and 0x10 is 16. Settings are decimal, as YAML 1.2's
  // core schema reads them (010 is 10); hex, octal and anything else are refused.
  template <class T>
  T parse_value(const YAML::Node& child, const char* key, const char* expected) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (child.IsScalar()) return decimal_integer<T>(child, child.Scalar(), key, expected);
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
      if (child.IsSequence()) {
        T out;
        for (const auto& item : child) {
          if (!item.IsScalar()) break;  // as<T> below words the error
          out.push_back(decimal_integer<int>(item, item.Scalar(), key, expected));
        }
        if (out.size() == child.size()) return out;
      }
    }
    return child.as<T>();
  }
  template <class I>
  I decimal_integer(const YAML::Node& at, const std::string& text, const char* key, const char* expected) {
    static_assert(std::is_signed_v<I>, "config integers are signed");
    size_t digits = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
    const bool decimal = digits < text.size() &&
                         std::all_of(text.begin() + digits, text.end(), [](char c) { return c >= '0' && c <= '9'; });
    long long v = 0;
    const char* first = text.data() + (text[0] == '+' ? 1 : 0);
    const auto [end, ec] = decimal ? std::from_chars(first, text.data() + text.size(), v, 10)
                                   : std::from_chars_result{first, std::errc::invalid_argument};
    if (!decimal || ec != std::errc() || end != text.data() + text.size() || v < std::numeric_limits<I>::min() ||
        v > std::numeric_limits<I>::max())
      fail(at, fmt::format("key '{}' expects {} written in decimal, got '{}'", join_key(prefix_, key), expected, text));
    return static_cast<I>(v);
  }

  template <class T>
  void read(const char* key, T& value, const char* expected) {
    known_.insert(key);
    YAML::Node child = node_[key];
    if (!child) return;
    // `key:` with nothing after it (or `null`, `~`): no text, no list. yaml-cpp would read the string "null".
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<int>> ||
                  std::is_same_v<T, std::vector<double>> || std::is_same_v<T, std::vector<std::string>>) {
      if (child.IsNull()) {
        value = T{};
        remember(key, child);
        return;
      }
    }
    try {
      T parsed = parse_value<T>(child, key, expected);
      // .inf/.nan pass `> 0` checks and turn into undefined integer casts (a timeout in ms); no setting
      // has a use for them.
      if constexpr (std::is_same_v<T, double>) {
        if (!std::isfinite(parsed))
          fail(child, fmt::format("key '{}' must be a finite number, got '{}'", join_key(prefix_, key), child.Scalar()));
      }
      if constexpr (std::is_same_v<T, std::vector<double>>) {
        for (double x : parsed)
          if (!std::isfinite(x))
            fail(child, fmt::format("key '{}' must hold finite numbers, got {}", join_key(prefix_, key), x));
      }
      value = parsed;
      remember(key, child);
    } catch (const YAML::Exception&) {
      std::string got;
      if (child.IsScalar()) got = "'" + child.Scalar() + "'";
      else if (child.IsSequence()) got = "a list";
      else if (child.IsMap()) got = "a mapping";
      else got = "nothing";
      fail(child, fmt::format("key '{}' expects {}, got {}", join_key(prefix_, key), expected, got));
    }
  }

  // An override's source already is the whole `--set key=value`; a file's gets the line.
  void remember(const char* key, const YAML::Node& at) {
    if (!origins_) return;
    const auto mark = at.Mark();
    const bool override = source_.rfind("--set ", 0) == 0;
    (*origins_)[join_key(prefix_, key)] =
        override || mark.is_null() ? source_ : fmt::format("{}:{}", source_, mark.line + 1);
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    const auto mark = at.Mark();
    if (mark.is_null()) throw ConfigError(fmt::format("{}: {}", source_, what));
    throw ConfigError(fmt::format("{}:{}: {}", source_, mark.line + 1, what));
  }

  YAML::Node node_;
  std::string source_;
  std::string prefix_;
  std::set<std::string> known_;
  ConfigOrigins* origins_;
};

class YamlWriter final : public ConfigVisitor {
 public:
  explicit YamlWriter(YAML::Emitter& out) : out_(out) {}
  void field(const char* key, int& value) override { out_ << YAML::Key << key << YAML::Value << value; }
  void field(const char* key, long long& value) override { out_ << YAML::Key << key << YAML::Value << value; }
  void field(const char* key, double& value) override {
    // Shortest text that reads back to the same double (1e-06, 0.0001, 4).
    out_ << YAML::Key << key << YAML::Value << fmt::format("{}", value);
  }
  void field(const char* key, bool& value) override { out_ << YAML::Key << key << YAML::Value << value; }
  void field(const char* key, std::string& value) override { out_ << YAML::Key << key << YAML::Value << value; }
  void field(const char* key, std::vector<int>& value) override { seq(key, value); }
  void field(const char* key, std::vector<double>& value) override { seq(key, value); }
  void field(const char* key, std::vector<std::string>& value) override { seq(key, value); }
  void section(const char* key, const std::function<void(ConfigVisitor&)>& visit_children) override {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    visit_children(*this);
    out_ << YAML::EndMap;
  }

 private:
  template <class T>
  void seq(const char* key, std::vector<T>& value) {
    out_ << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (auto& x : value) out_ << x;
    out_ << YAML::EndSeq;
  }
  YAML::Emitter& out_;
};

void read_root(const YAML::Node& root, const std::string& source, const VisitRoot& visit, ConfigOrigins* origins) {
  if (!root || root.IsNull()) return;  // empty file: all defaults
  if (!root.IsMap()) {
    const auto mark = root.Mark();
    throw ConfigError(fmt::format("{}:{}: top level must be a mapping of sections (e.g. 'model:')", source,
                                  mark.is_null() ? 1 : mark.line + 1));
  }
  YamlReader reader(root, source, "", origins);
  visit(reader);
  reader.reject_unknown();
}

}  // namespace

void load_yaml_file(const std::string& path, const VisitRoot& visit, ConfigOrigins* origins) {
  YAML::Node root;
  try {
    // All documents: LoadFile reads the first and drops what follows a `---` without a word.
    const std::vector<YAML::Node> documents = YAML::LoadAllFromFile(path);
    if (documents.size() > 1)
      throw ConfigError(fmt::format("{}: {} YAML documents (separated by '---'); a config file holds one (give "
                                    "several files with --config instead)",
                                    path, documents.size()));
    if (!documents.empty()) root = documents[0];
  } catch (const YAML::BadFile&) {
    throw ConfigError(fmt::format("{}: cannot open config file", path));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.msg));
  }
  read_root(root, path, visit, origins);
}

void load_config_file(const std::string& path, Config& config) { load_yaml_file(path, visit_root(config)); }

void load_config_text(const std::string& yaml, const std::string& source, Config& config) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}: YAML syntax error: {}", source, e.mark.line + 1, e.msg));
  }
  read_root(root, source, visit_root(config), nullptr);
}

void apply_yaml_override(const std::string& assignment, const VisitRoot& visit, ConfigOrigins* origins) {
  const std::string source = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("{}: expected dotted.key=value", source));
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);

  // The value is parsed as YAML only where it has to be: a list or mapping, or a quoted string. Anything
  // else is taken as written, since YAML would silently read `runs #1` as `runs` (a comment), `!w.pth` as
  // an empty tagged value and `%j_run` as a directive. Empty, `null` and `~` mean no value, as in a file.
  const bool yaml_syntax = !text.empty() && std::string("[{\"'").find(text.front()) != std::string::npos;
  YAML::Node value;
  if (text.empty() || text == "null" || text == "~") {
    value = YAML::Node(YAML::NodeType::Null);
  } else if (!yaml_syntax) {
    value = YAML::Node(text);
  } else {
    try {
      value = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw ConfigError(fmt::format("{}: value is not valid YAML: {}", source, e.msg));
    }
  }
  // Build {a: {b: {c: value}}} from a.b.c and read it like a file.
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty()) throw ConfigError(fmt::format("{}: empty component in key '{}'", source, key));
  YAML::Node node = value;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = node;
    node = parent;
  }
  read_root(node, source, visit, origins);
}

void apply_config_override(const std::string& assignment, Config& config) {
  apply_yaml_override(assignment, visit_root(config));
}

namespace {

// The validation error again, saying where its keys were set. Keys still at their defaults add nothing.
ConfigValueError with_origins(const ConfigValueError& e, const ConfigOrigins& origins) {
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& key : e.keys())
    if (const auto it = origins.find(key); it != origins.end()) given.emplace_back(key, it->second);
  if (given.empty()) return e;
  if (given.size() == 1) return ConfigValueError(e.keys(), fmt::format("{}: {}", given[0].second, e.what()));
  std::string where;
  for (const auto& [key, origin] : given) where += fmt::format("{}{} from {}", where.empty() ? "" : "; ", key, origin);
  return ConfigValueError(e.keys(), fmt::format("{} ({})", e.what(), where));
}

}  // namespace

Config resolve_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                      Config defaults) {
  Config config = std::move(defaults);
  ConfigOrigins origins;
  for (const auto& f : files) load_yaml_file(f, visit_root(config), &origins);
  for (const auto& o : overrides) apply_yaml_override(o, visit_root(config), &origins);
  try {
    config.validate();
  } catch (const ConfigValueError& e) {
    throw with_origins(e, origins);
  }
  return config;
}

std::string config_to_yaml(Config& config) { return to_yaml(visit_root(config)); }

namespace {

// dotted key -> the value's text (a list as "[a, b]"), for every leaf under `node`.
void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) flatten(kv.second, join_key(prefix, kv.first.Scalar().c_str()), out);
  } else if (node.IsSequence()) {
    std::string text = "[";
    for (size_t i = 0; i < node.size(); ++i) text += (i ? ", " : "") + (node[i].IsScalar() ? node[i].Scalar() : YAML::Dump(node[i]));
    out[prefix] = text + "]";
  } else {
    out[prefix] = node.IsScalar() ? node.Scalar() : "";
  }
}

std::map<std::string, std::string> flattened(const std::string& yaml, const char* which) {
  std::map<std::string, std::string> out;
  try {
    flatten(YAML::Load(yaml), "", out);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{} config: not valid YAML: {}", which, e.what()));
  }
  return out;
}

}  // namespace

std::vector<std::string> config_differences(const std::string& before_yaml, const std::string& after_yaml) {
  const auto before = flattened(before_yaml, "first"), after = flattened(after_yaml, "second");
  std::vector<std::string> out;
  for (const auto& [key, value] : after) {
    const auto it = before.find(key);
    if (it == before.end()) out.push_back(fmt::format("{}: (absent) -> {}", key, value));
    else if (it->second != value) out.push_back(fmt::format("{}: {} -> {}", key, it->second, value));
  }
  for (const auto& [key, value] : before)
    if (!after.count(key)) out.push_back(fmt::format("{}: {} -> (absent)", key, value));
  return out;
}

std::string to_yaml(const VisitRoot& visit) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  YamlWriter writer(out);
  visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace medsam
