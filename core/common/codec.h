// The msgpack side of the wire schema (protocol.h): how a DFS_FIELDS struct
// is packed as a map keyed by field name and unpacked again, the message
// header, and generic Encode/Decode that the typed ends of protocol.h (made
// once per operation in op_codec.cc) are built on. Only core/common and
// tests include this: no other layer sees msgpack.
#pragma once

#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/common/protocol.h"

namespace dfs::proto {

// The undecoded body of a message, and the unpacked buffer it lives in.
struct Body {
  msgpack::object object;
  std::shared_ptr<msgpack::object_handle> handle;
};

template <typename T, typename = void>
struct HasFields : std::false_type {};
template <typename T>
struct HasFields<T, std::void_t<decltype(T::kFieldNames)>> : std::true_type {};

// "a, b, c" -> {"a", "b", "c"}.
std::vector<std::string> SplitFieldNames(const char* list);

template <typename T>
const std::vector<std::string>& FieldNames() {
  static const std::vector<std::string> names = SplitFieldNames(T::kFieldNames);
  return names;
}

std::string PackHeader(Op op, uint64_t id, const Status& status,
                       const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body);

template <typename Body>
transport::Message Encode(Op op, uint64_t id, const Body& body, std::vector<std::string> payload = {},
                          const Status& status = Status::Ok()) {
  transport::Message m;
  m.frames.reserve(1 + payload.size());
  m.frames.push_back(PackHeader(op, id, status, [&](msgpack::packer<msgpack::sbuffer>& pk) { pk.pack(body); }));
  for (auto& p : payload) m.frames.push_back(std::move(p));
  return m;
}

template <typename T>
Status DecodeBody(const Header& header, T* out) {
  if (!header.body) return InvalidArgument("message has no body");
  try {
    header.body->object.convert(*out);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed message body: ") + e.what());
  }
  return Status::Ok();
}

// Decodes a reply: its status, then its body.
template <typename T>
Status DecodeReply(const transport::Message& reply, T* out) {
  auto header = DecodeHeader(reply);
  if (!header.ok()) return header.status();
  if (header->code != Code::kOk) return Status(header->code, header->error);
  return DecodeBody(*header, out);
}

}  // namespace dfs::proto

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  // A DFS_FIELDS struct: a map of its fields by name.
  template <typename T>
  struct pack<T, std::enable_if_t<dfs::proto::HasFields<T>::value>> {
    template <typename Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& pk, const T& v) const {
      const auto& names = dfs::proto::FieldNames<T>();
      pk.pack_map(static_cast<uint32_t>(names.size()));
      size_t i = 0;
      std::apply([&](const auto&... field) { ((pk.pack(names[i++]), pk.pack(field)), ...); }, v.Fields());
      return pk;
    }
  };

  // Unknown keys are skipped and missing ones keep their defaults, so either
  // side may add a field.
  template <typename T>
  struct convert<T, std::enable_if_t<dfs::proto::HasFields<T>::value>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      const auto& names = dfs::proto::FieldNames<T>();
      if (o.type == msgpack::type::NIL && names.empty()) return o;
      if (o.type != msgpack::type::MAP) throw msgpack::type_error();
      auto fields = v.Fields();
      size_t next = 0;  // fields usually come in order
      for (uint32_t k = 0; k < o.via.map.size; ++k) {
        const msgpack::object_kv& kv = o.via.map.ptr[k];
        if (kv.key.type != msgpack::type::STR) continue;
        const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
        size_t at = next < names.size() && names[next] == key ? next : names.size();
        for (size_t j = 0; at == names.size() && j < names.size(); ++j) {
          if (names[j] == key) at = j;
        }
        if (at == names.size()) continue;
        next = at + 1;
        size_t j = 0;
        std::apply([&](auto&... field) { ((j++ == at ? (void)kv.val.convert(field) : (void)0), ...); }, fields);
      }
      return o;
    }
  };

  }  // namespace adaptor
}
}  // namespace msgpack
