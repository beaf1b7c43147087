// A restricted pickle machine: runs the opcodes Python's pickler emits for data (protocols 0-5,
// binary forms plus the few text forms of protocol 0 that carry numbers and memo indices) and
// delegates everything that would touch Python objects (globals, calls, BUILD, persistent ids) to
// PickleHooks. It never executes code; unknown opcodes, bad lengths, stack underflow, missing
// memo entries, cycles and deep nesting are errors naming the opcode, its offset and the file.
// ref: CPython Lib/pickle.py _Unpickler (load_* methods), Lib/pickletools.py (opcode table)
#pragma once

#include <string>

#include "medsam/io/pickle_value.h"

namespace medsam {

class PickleHooks {
 public:
  virtual ~PickleHooks() = default;
  // GLOBAL / STACK_GLOBAL: returns a Global value, or throws Error when not whitelisted.
  virtual PickleRef find_global(const std::string& module, const std::string& name) = 0;
  // REDUCE and NEWOBJ: callable(*args); args is a Tuple.
  virtual PickleRef call(const PickleValue& callable, const PickleValue& args) = 0;
  // BUILD: applies state to object (e.g. OrderedDict's _metadata attribute).
  virtual void build(PickleValue& object, const PickleRef& state) = 0;
  // BINPERSID / PERSID.
  virtual PickleRef persistent_load(const PickleRef& pid) = 0;
};

// Unpickles `data` (the bytes of a pickle; `file` names it in errors). Throws medsam::Error.
PickleRef unpickle(const std::string& data, const std::string& file, PickleHooks& hooks);

}  // namespace medsam
