#include "core/common/codec.h"

namespace dfs::proto {

std::string OpName(Op op) {
  switch (op) {
#define DFS_OP_NAME(name, id, request, reply) \
  case Op::k##name:                           \
    return #name;
    DFS_OPERATIONS(DFS_OP_NAME)
#undef DFS_OP_NAME
  }
  return "op " + std::to_string(static_cast<int>(op));
}
namespace {

// Bounds on what a peer may ask the decoder to allocate (msgpack-c's defaults
// let a 5-byte message ask for ~96 GiB).
const msgpack::unpack_limit kLimits(/*array=*/1 << 20, /*map=*/64, /*str=*/1 << 16,
                                    /*bin=*/1 << 20, /*ext=*/0, /*depth=*/8);

const msgpack::object* Find(const msgpack::object& map, const char* key) {
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && kv.key.as<std::string_view>() == key) return &kv.val;
  }
  return nullptr;
}

}  // namespace

Result<Header> DecodeHeader(const transport::Message& message) {
  if (message.frames.empty()) return InvalidArgument("empty message");
  const std::string& frame = message.frames[0];
  Header h;
  try {
    auto handle = std::make_shared<msgpack::object_handle>(
        msgpack::unpack(frame.data(), frame.size(), nullptr, nullptr, kLimits));
    const msgpack::object& root = handle->get();
    if (root.type != msgpack::type::MAP) return InvalidArgument("message header is not a map");
    const msgpack::object* v = Find(root, "v");
    const msgpack::object* op = Find(root, "op");
    if (!v || !op) return InvalidArgument("message header lacks v or op");
    h.version = v->as<int>();
    if (h.version != kProtocolVersion) {
      return InvalidArgument("protocol version " + std::to_string(h.version) + " not supported");
    }
    h.op = static_cast<Op>(op->as<int>());
    if (const auto* id = Find(root, "id")) h.id = id->as<uint64_t>();
    if (const auto* code = Find(root, "code")) h.code = static_cast<Code>(code->as<int>());
    if (const auto* error = Find(root, "error")) h.error = error->as<std::string>();
    auto body = std::make_shared<Body>();
    if (const auto* b = Find(root, "body")) body->object = *b;
    body->handle = std::move(handle);
    h.body = std::move(body);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed message header: ") + e.what());
  }
  return h;
}

std::string PackHeader(Op op, uint64_t id, const Status& status,
                       const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  bool error = !status.ok();
  pk.pack_map(error ? 6 : 4);
  pk.pack("v");
  pk.pack(kProtocolVersion);
  pk.pack("op");
  pk.pack(static_cast<int>(op));
  pk.pack("id");
  pk.pack(id);
  if (error) {
    pk.pack("code");
    pk.pack(static_cast<int>(status.code()));
    pk.pack("error");
    pk.pack(status.message());
  }
  pk.pack("body");
  body(pk);
  return std::string(buffer.data(), buffer.size());
}

std::vector<std::string> SplitFieldNames(const char* list) {
  std::vector<std::string> names;
  std::string name;
  for (const char* c = list;; ++c) {
    if (*c == ',' || *c == '\0') {
      if (!name.empty()) names.push_back(name);
      name.clear();
      if (*c == '\0') return names;
    } else if (*c != ' ') {
      name += *c;
    }
  }
}

transport::Message EncodeError(Op op, uint64_t id, const Status& status) { return Encode(op, id, Empty{}, {}, status); }

}  // namespace dfs::proto
