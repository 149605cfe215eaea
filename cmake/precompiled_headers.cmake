# Precompiled headers: most translation units parse the same few heavy headers
# (asio, spdlog/fmt, nlohmann::json, the generated protocol/messages.h,
# GoogleTest), which cost more than the file's own code. Each set below is
# compiled once and reused by every target whose compile definitions match it
# (GCC refuses a PCH built with other macros, and a refused PCH only falls back
# to parsing the headers, so a mismatch is slow, never wrong).
#
# A target's set is chosen from what it links, walked transitively:
#   flotilla_pch_net:   links flotilla_net and flotilla_protocol (asio + messages)
#   flotilla_pch_proto: links flotilla_protocol but not net
#   ..._test variants:  the same plus <gtest/gtest.h>, for test executables
# -DFLOTILLA_PCH=OFF turns them off (e.g. to check that every file includes
# what it uses). They are off by default where ccache compiles: a PCH is some
# 300 MB, which ccache would hash for every file it looks up and store for
# every PCH it builds, costing more than the PCH saves (each file compiles
# 20-30% faster with it: fetch_apis.cc 10.7 -> 8.6 s, group_offsets.cc 14.9
# -> 9.9 s of CPU).
set(_flotilla_pch_default ON)
if(CMAKE_CXX_COMPILER_LAUNCHER MATCHES "ccache")
  set(_flotilla_pch_default OFF)
endif()
option(FLOTILLA_PCH "Precompile the heavy third-party and generated headers" ${_flotilla_pch_default})
if(NOT FLOTILLA_PCH)
  return()
endif()

set(_flotilla_pch_std <algorithm> <cstdint> <deque> <filesystem> <functional> <map> <memory> <optional>
    <set> <span> <string> <unordered_map> <vector> <spdlog/spdlog.h> <fmt/format.h>)
set(_flotilla_pch_proto ${_flotilla_pch_std} <nlohmann/json.hpp> [["protocol/messages.h"]] [["protocol/record_batch.h"]])
set(_flotilla_pch_net ${_flotilla_pch_proto} <asio.hpp>)

# The flotilla_* libraries `target` links, directly or through others.
function(_flotilla_deps target out)
  set(seen ${${out}})
  get_target_property(libs ${target} LINK_LIBRARIES)
  if(NOT libs)
    set(libs "")
  endif()
  get_target_property(ilibs ${target} INTERFACE_LINK_LIBRARIES)
  if(ilibs)
    list(APPEND libs ${ilibs})
  endif()
  foreach(l ${libs})
    if(l MATCHES "^flotilla_" AND TARGET ${l} AND NOT l IN_LIST seen)
      list(APPEND seen ${l})
      _flotilla_deps(${l} seen)
    endif()
  endforeach()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# One PCH holder per set: an object library of one empty file with the include
# paths and compile definitions of the targets that reuse it. It takes them
# from the third-party targets and flotilla_net's definitions rather than by
# linking flotilla_protocol, which reuses a holder itself (a cycle otherwise).
set(_flotilla_pch_dir ${CMAKE_BINARY_DIR}/pch)
file(WRITE ${_flotilla_pch_dir}/empty.cc "")
get_target_property(_flotilla_net_defs flotilla_net INTERFACE_COMPILE_DEFINITIONS)
function(_flotilla_pch_holder name kind)
  add_library(${name} OBJECT ${_flotilla_pch_dir}/empty.cc)
  add_dependencies(${name} flotilla_protocol_gen)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_BINARY_DIR}/generated)
  target_link_libraries(${name} PRIVATE spdlog::spdlog fmt::fmt nlohmann_json::nlohmann_json Threads::Threads)
  set(headers ${_flotilla_pch_proto})
  if(kind MATCHES "net")
    target_compile_definitions(${name} PRIVATE ${_flotilla_net_defs})
    set(headers ${_flotilla_pch_net})
  endif()
  if(kind MATCHES "test")
    target_link_libraries(${name} PRIVATE GTest::gtest)
    list(APPEND headers <gtest/gtest.h>)
  endif()
  target_precompile_headers(${name} PRIVATE ${headers})
endfunction()
_flotilla_pch_holder(flotilla_pch_proto proto)
_flotilla_pch_holder(flotilla_pch_net net)
if(FLOTILLA_TESTS)
  _flotilla_pch_holder(flotilla_pch_proto_test proto_test)
  _flotilla_pch_holder(flotilla_pch_net_test net_test)
endif()

# Every C++ target defined in the tree (libraries, tools, tests, benchmarks).
function(_flotilla_targets dir out)
  get_property(ts DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subs})
    _flotilla_targets(${sub} more)
    list(APPEND ts ${more})
  endforeach()
  set(${out} ${ts} PARENT_SCOPE)
endfunction()
_flotilla_targets(${CMAKE_SOURCE_DIR} _flotilla_all_targets)

foreach(t ${_flotilla_all_targets})
  get_target_property(type ${t} TYPE)
  if(NOT type MATCHES "STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY" OR t MATCHES "^flotilla_pch_")
    continue()
  endif()
  set(deps ${t})
  _flotilla_deps(${t} deps)
  if(NOT "flotilla_protocol" IN_LIST deps)
    continue()  # common, net alone: small, and without the protocol's include path
  endif()
  get_target_property(libs ${t} LINK_LIBRARIES)
  set(set proto)
  if("flotilla_net" IN_LIST deps)
    set(set net)
  endif()
  if(libs AND ("GTest::gtest_main" IN_LIST libs OR "GTest::gtest" IN_LIST libs))
    if(NOT FLOTILLA_TESTS)
      continue()
    endif()
    set(set ${set}_test)
  endif()
  target_precompile_headers(${t} REUSE_FROM flotilla_pch_${set})
endforeach()
