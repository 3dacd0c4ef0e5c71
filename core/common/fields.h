// DFS_FIELDS names the fields of a wire message, in a struct's body:
//
//   struct PathReq {
//     std::string path;
//     DFS_FIELDS(path);
//   };
//
// The codec (codec.h, inside core/common) packs such a struct as a msgpack
// map keyed by field name and unpacks it the same way (unknown keys are
// ignored, missing ones keep their defaults), so only core/common sees
// msgpack: the layers above see plain structs.
#pragma once

#include <tuple>

#define DFS_FIELDS(...)                                    \
  static constexpr const char* kFieldNames = #__VA_ARGS__; \
  auto Fields() { return std::tie(__VA_ARGS__); }          \
  auto Fields() const { return std::tie(__VA_ARGS__); }
