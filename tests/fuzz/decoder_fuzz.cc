// libFuzzer target: every decoder a server's request handler does not
// reach (server_fuzz.cc covers those): replies as clients decode them, the
// block-record frame, a data server's on-disk stamp and index files as it
// opens and reads them, key files (zcert) and authorized_keys lists.
// scripts/fuzz builds and runs it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/common/block_records.h"
#include "core/common/identity.h"
#include "core/data/block_store.h"
#include "core/data/index_format.h"
#include "fill.h"
#include "transport/curve.h"

using namespace dfs;

namespace {

// A scratch directory for the file decoders, removed at exit.
const std::string& Scratch() {
  static std::string* dir = nullptr;
  if (!dir) {
    char tmpl[] = "/tmp/dfs-decoder-fuzz.XXXXXX";
    dir = new std::string(mkdtemp(tmpl));
    std::atexit([] { std::filesystem::remove_all(*dir); });
  }
  return *dir;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A reply of `op` as a client decodes it: a well-formed one with any field
// values, or any bytes, with any frames after it.
template <proto::Op op>
void DecodeReply(FuzzedDataProvider& in) {
  transport::Message m;
  if (in.ConsumeBool()) {
    typename proto::OpSpec<op>::Reply rsp;
    fuzz::Fill(in, &rsp);
    m = proto::Reply<op>(in.ConsumeIntegral<uint64_t>(), rsp);
  } else {
    m.frames.push_back(in.ConsumeRandomLengthString(4096));
  }
  for (size_t extra = in.ConsumeIntegralInRange<size_t>(0, 2); extra > 0; --extra) {
    m.frames.push_back(in.ConsumeRandomLengthString(4096));
  }
  typename proto::OpSpec<op>::Reply out;
  if (proto::DecodeReplyTo<op>(m, &out).ok() && m.parts() > 1) (void)UnpackRecords(m.part(1), 1 << 16);
}

void AnyReply(FuzzedDataProvider& in) {
  using Decode = void (*)(FuzzedDataProvider&);
  static const Decode kDecoders[] = {
#define DFS_FUZZ_OP(name, id, request, reply) &DecodeReply<proto::Op::k##name>,
      DFS_OPERATIONS(DFS_FUZZ_OP)
#undef DFS_FUZZ_OP
  };
  kDecoders[in.ConsumeIntegralInRange<size_t>(0, std::size(kDecoders) - 1)](in);
}

// A data directory with a stamp and one file's index and data of any
// content (usually a valid header), opened, listed, counted and read.
void OnDisk(FuzzedDataProvider& in) {
  const std::string dir = Scratch() + "/data";
  std::filesystem::remove_all(dir);
  const FileLayout layout{in.ConsumeIntegralInRange<uint64_t>(1, 3), 7, 2, 512};
  WriteFile(dir + "/STAMP", in.ConsumeBool() ? std::string("cluster 0\n") : in.ConsumeRandomLengthString(64));
  std::string idx;
  if (in.ConsumeBool()) {
    data::IdxHeader h{};
    memcpy(h.magic, data::kIdxMagic, sizeof h.magic);
    h.fid = in.ConsumeBool() ? layout.fid : in.ConsumeIntegral<uint64_t>();
    h.placement_seed = layout.placement_seed;
    h.block_size = in.ConsumeBool() ? layout.block_size : in.ConsumeIntegral<uint32_t>();
    h.stripe_width = layout.stripe_width;
    idx.assign(reinterpret_cast<const char*>(&h), sizeof h);
  }
  idx += in.ConsumeRandomLengthString(4096);
  char sub[8];
  snprintf(sub, sizeof sub, "%02x", static_cast<unsigned>(layout.fid & 0xff));
  const std::string base = dir + "/blocks/" + sub + "/" + std::to_string(layout.fid);
  WriteFile(base + ".idx", idx);
  WriteFile(base + ".dat", in.ConsumeRandomLengthString(8192));
  auto store = data::BlockStore::Open(dir, "cluster", 0);
  if (!store.ok()) return;
  (void)(*store)->Stats();
  (void)(*store)->ListFiles();
  (void)(*store)->CheckHeader(layout);
  std::vector<BlockRecord> records(in.ConsumeIntegralInRange<size_t>(0, 8));
  for (BlockRecord& r : records) r.index = in.ConsumeIntegralInRange<uint64_t>(0, 300);
  std::string data;
  (void)(*store)->Read(layout, &records, &data);
}

void KeyFiles(FuzzedDataProvider& in) {
  std::string text;
  while (in.remaining_bytes() > 0 && text.size() < 2048) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        text += "    public-key = \"" + in.ConsumeRandomLengthString(48) + "\"\n";
        break;
      case 1:
        text += "    secret-key = \"" + in.ConsumeRandomLengthString(48) + "\"\n";
        break;
      case 2:
        text += "    server-key = \"" + in.ConsumeRandomLengthString(48) + "\"\n";
        break;
      default:
        text += in.ConsumeRandomLengthString(80) + "\n";
    }
  }
  const std::string path = Scratch() + "/key";
  WriteFile(path, text);
  (void)transport::ReadCert(path);
  (void)transport::ReadClientCert(path);
  (void)ParseAuthorizedKeys(text, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  FuzzedDataProvider in(bytes, size);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      AnyReply(in);
      break;
    case 1:
      (void)UnpackRecords(in.ConsumeRemainingBytesAsString(), 1 << 16);
      break;
    case 2:
      OnDisk(in);
      break;
    default:
      KeyFiles(in);
      break;
  }
  return 0;
}
