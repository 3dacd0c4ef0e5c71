// The typed ends of every operation (protocol.h), made once per line of the
// operation table.
#include "core/common/codec.h"

namespace dfs::proto {

template <Op op>
transport::Message Request(uint64_t id, const typename OpSpec<op>::Request& body, std::vector<std::string> payload) {
  return Encode(op, id, body, std::move(payload));
}

template <Op op>
transport::Message Reply(uint64_t id, const typename OpSpec<op>::Reply& body, std::vector<std::string> payload) {
  return Encode(op, id, body, std::move(payload));
}

template <Op op>
Status DecodeRequest(const Header& header, typename OpSpec<op>::Request* out) {
  return DecodeBody(header, out);
}

template <Op op>
Status DecodeReplyTo(const transport::Message& reply, typename OpSpec<op>::Reply* out) {
  return DecodeReply(reply, out);
}

#define DFS_OP_CODEC(name, id, request, reply)                                                          \
  template transport::Message Request<Op::k##name>(uint64_t, const request&, std::vector<std::string>); \
  template transport::Message Reply<Op::k##name>(uint64_t, const reply&, std::vector<std::string>);     \
  template Status DecodeRequest<Op::k##name>(const Header&, request*);                                  \
  template Status DecodeReplyTo<Op::k##name>(const transport::Message&, reply*);
DFS_OPERATIONS(DFS_OP_CODEC)
#undef DFS_OP_CODEC

}  // namespace dfs::proto
