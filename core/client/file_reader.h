// FileReader: reads a file's bytes from its data servers.
//
// Holes (blocks outside the file's extent map) read as zeros without asking
// a data server; a block inside it that no holder has is data loss.
// For each block both holders read and verify their copy in parallel; the
// first holder sends the data, the second only its checksum, version and
// verdict (DESIGN.md section 7). The newest copy that verifies wins; if that
// is the second holder's, its data is fetched. A holder with a corrupt,
// stale or missing copy gets the good one written back (R9). One holder down
// is enough (R11). With no good copy the read fails naming the file, block
// and servers; wrong bytes are never returned.
// Thread-safety: one thread at a time.
#pragma once

#include <functional>
#include <string>

#include "core/client/data_client.h"
#include "core/client/extent_cursor.h"
#include "core/client/options.h"
#include "core/client/replica_choice.h"
#include "core/common/protocol.h"

namespace dfs::client {

using Sink = std::function<Status(const char* bytes, size_t length)>;
// Bytes of a file from `offset`, a window of MiBs at a time, in order. The
// sink may take them (swap `*bytes` with a buffer of its own, whose
// capacity the reader then reuses for a later window): no copy.
using ChunkSink = std::function<Status(uint64_t offset, std::string* bytes)>;

class FileReader {
 public:
  FileReader(DataClient* data, const ClientOptions& options, proto::Attr attr, std::string path,
             ExtentCursor::Fetch extents);

  // Reads [offset, offset + length) clipped to the file's size into `sink`, in order.
  Status Read(uint64_t offset, uint64_t length, const Sink& sink);
  // As Read, appending to `out`: one copy fewer for a caller that keeps the bytes.
  Status ReadInto(uint64_t offset, uint64_t length, std::string* out);
  // As Read, handing each window's bytes to `sink`.
  Status ReadChunks(uint64_t offset, uint64_t length, const ChunkSink& sink);

 private:
  struct Window;
  Status Submit(Window* w);
  // Waits for a window's answers, chooses each block's copy (ChooseReplica),
  // fetches winners whose bytes were not sent, repairs, appends the bytes.
  Status Finish(Window* w, std::string* out);
  void LocateData(Window* w);
  CopyAnswer Answer(const Window& w, int h, uint64_t j) const;
  const char* DataOf(const Window& w, int h, uint64_t j) const;
  Status NoGoodCopy(const Window& w, uint64_t j) const;
  Status Fetch(Window* w, const std::vector<uint64_t>& blocks);
  Status Repair(const Window& w);
  // Where Stream puts the bytes: exactly one is set.
  struct Output {
    const Sink* sink = nullptr;
    const ChunkSink* chunks = nullptr;
    std::string* out = nullptr;
  };
  Status Stream(uint64_t offset, uint64_t length, const Output& to);

  DataClient* data_;
  const ClientOptions& options_;
  proto::Attr attr_;
  std::string path_;
  ExtentCursor extents_;
};

}  // namespace dfs::client
