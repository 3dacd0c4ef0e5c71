// Filling wire structs from a fuzzer's input, for the libFuzzer targets.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/common/codec.h"
#include "core/common/protocol.h"

namespace dfs::fuzz {

// Fills any field of a wire struct from the input.
template <typename T>
void Fill(FuzzedDataProvider& in, T* v);

template <typename T>
void FillValue(FuzzedDataProvider& in, T* v) {
  if constexpr (std::is_same_v<T, bool>) {
    *v = in.ConsumeBool();
  } else if constexpr (std::is_integral_v<T>) {
    // Small values most of the time, any value sometimes.
    *v = in.ConsumeBool() ? in.ConsumeIntegralInRange<T>(0, 8) : in.ConsumeIntegral<T>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    *v = in.ConsumeRandomLengthString(300);
  } else if constexpr (proto::HasFields<T>::value) {
    Fill(in, v);
  } else {  // std::vector<...>
    v->resize(in.ConsumeIntegralInRange<size_t>(0, 4));
    for (auto& e : *v) FillValue(in, &e);
  }
}

template <typename T>
void Fill(FuzzedDataProvider& in, T* v) {
  std::apply([&](auto&... field) { (FillValue(in, &field), ...); }, v->Fields());
}

}  // namespace dfs::fuzz
