// A tiny reflection interface for config structs: each struct lists its fields once in visit(),
// and the YAML reader, the YAML writer and `--set` overrides all walk that one list.
// Keeps yaml-cpp out of every public header.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace medsam {

class ConfigVisitor {
 public:
  virtual ~ConfigVisitor() = default;
  virtual void field(const char* key, int& value) = 0;
  virtual void field(const char* key, long long& value) = 0;
  virtual void field(const char* key, double& value) = 0;
  virtual void field(const char* key, bool& value) = 0;
  virtual void field(const char* key, std::string& value) = 0;
  virtual void field(const char* key, std::vector<int>& value) = 0;
  virtual void field(const char* key, std::vector<double>& value) = 0;
  virtual void field(const char* key, std::vector<std::string>& value) = 0;
  // A nested section; `visit_children` calls back into this visitor for the section's fields.
  virtual void section(const char* key, const std::function<void(ConfigVisitor&)>& visit_children) = 0;

  // Convenience for structs with a `void visit(ConfigVisitor&)` member.
  template <class Section>
  void sub(const char* key, Section& s) {
    section(key, [&s](ConfigVisitor& v) { s.visit(v); });
  }
};

}  // namespace medsam
