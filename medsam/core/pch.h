// Precompiled header (see cmake/MedsamCompiler.cmake). Only heavy, stable third-party headers:
// <torch/torch.h> alone costs ~30 s per translation unit on a 2-core machine.
#pragma once
#include <torch/torch.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
