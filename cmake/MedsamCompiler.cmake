# Compiler settings shared by every medsam target: warnings, ccache.

# ccache makes rebuilds (CI reruns, branch switches) cheap. The sloppiness settings let it cache
# translation units that use the precompiled header.
find_program(MEDSAM_CCACHE ccache)
if(MEDSAM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${MEDSAM_CCACHE})
  message(STATUS "ccache: ${MEDSAM_CCACHE}")
endif()

# Interface target every medsam target links: warnings and the definitions the PCH must agree on.
add_library(medsam_build_flags INTERFACE)
target_compile_options(medsam_build_flags INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare>)
target_compile_definitions(medsam_build_flags INTERFACE MEDSAM_UNTRIED_APIS=$<BOOL:${MEDSAM_TORCH_UNTRIED_APIS}>)

# medsam_add_layer(<layer> SOURCES ... [DEPS ...] [LIBS ...])
# One static library per folder of medsam/ (medsam_<layer>). DEPS are other layers (the allowed
# directions are in docs/architecture.md), LIBS external targets. Every layer reuses the core
# layer's precompiled <torch/torch.h> so it is parsed once per build, not once per target.
function(medsam_add_layer layer)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  set(target medsam_${layer})
  if(NOT ARG_SOURCES)
    # A layer with no code yet is an interface over its dependencies, so the link lines stay stable.
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE medsam_build_flags)
    foreach(dep IN LISTS ARG_DEPS)
      target_link_libraries(${target} INTERFACE medsam_${dep})
    endforeach()
    return()
  endif()
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/include)
  target_link_libraries(${target} PUBLIC medsam_build_flags ${TORCH_LIBRARIES} ${MEDSAM_FMT})
  foreach(dep IN LISTS ARG_DEPS)
    target_link_libraries(${target} PUBLIC medsam_${dep})
  endforeach()
  if(ARG_LIBS)
    target_link_libraries(${target} PUBLIC ${ARG_LIBS})
  endif()
  medsam_use_pch(${target})
  medsam_unity_exclusions(${target})
endfunction()

# medsam_unity_exclusions(<target>): under MEDSAM_UNITY_BUILD, marks the target's sources that must be
# compiled alone rather than batched with others:
# - a #define before an #include configures the headers that follow (httplib's options,
#   CATCH_CONFIG_MAIN, c10d's USE_C10D_NCCL, MEDSAM_COMPAT_PROFILER); in a batch an earlier file may
#   already have included them without it, and the macro would leak into the files after it;
# - CUDA-only code (#if MEDSAM_HAVE_CUDA...) compiles on GPU builds only, so a clash in a batch would
#   first show there, where no CPU machine's build could have caught it.
# Found by reading the files at configure time, so a new file of either kind needs no list kept by hand.
function(medsam_unity_exclusions target)
  if(NOT MEDSAM_UNITY_BUILD)
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    get_filename_component(path "${source}" ABSOLUTE)
    file(READ "${path}" text)
    string(FIND "${text}" "#include" last_include REVERSE)
    string(SUBSTRING "${text}" 0 ${last_include} head)  # -1 (no #include): the whole file
    if(head MATCHES "(^|\n)#define " OR text MATCHES "\n#(el)?if[^\n]*MEDSAM_HAVE_CUDA")
      set_source_files_properties("${source}" PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
      list(APPEND alone "${source}")
    endif()
  endforeach()
  message(DEBUG "${target}: compiled outside the unity batches: ${alone}")
endfunction()

# Attach the shared precompiled header to a target (library, tool or test).
function(medsam_use_pch target)
  if(NOT MEDSAM_USE_PCH)
    return()
  endif()
  if(target STREQUAL "medsam_core")
    target_precompile_headers(medsam_core PRIVATE ${PROJECT_SOURCE_DIR}/medsam/core/pch.h)
  else()
    target_precompile_headers(${target} REUSE_FROM medsam_core)
  endif()
endfunction()

# medsam_layer_sources(<out-var>): the .cpp files of the calling folder. Files ending in _opencv.cpp
# or _itk.cpp are the OpenCV/ITK-backed parts and are only compiled when that dependency is on, so
# the core builds on machines with only LibTorch, yaml-cpp and fmt.
function(medsam_layer_sources out)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT MEDSAM_HAVE_OPENCV)
    list(FILTER srcs EXCLUDE REGEX "_opencv\\.cpp$")
  endif()
  if(NOT MEDSAM_HAVE_ITK)
    list(FILTER srcs EXCLUDE REGEX "_itk\\.cpp$")
  endif()
  set(${out} ${srcs} PARENT_SCOPE)
endfunction()
