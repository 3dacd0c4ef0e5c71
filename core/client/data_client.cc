#include "core/client/data_client.h"

#include <thread>

#include "core/common/placement.h"
#include "transport/channel.h"

namespace dfs::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kInitialBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(2000);
// A server that failed is not tried again by reads for this long.
constexpr auto kReadProbeInterval = std::chrono::milliseconds(2000);

}  // namespace

struct DataClient::Server {
  uint32_t index = 0;
  std::unique_ptr<transport::Channel> channel;
  std::deque<Batch*> queued;
  std::deque<Batch*> sent;
  bool down = false;
  bool reported = false;
  Clock::time_point down_since;
  Clock::time_point next_try;
  Clock::duration backoff = kInitialBackoff;
  std::string why;
  uint64_t next_id = 1;
};

DataClient::DataClient(std::vector<std::string> endpoints, const ClientOptions& options) : options_(options) {
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    auto s = std::make_unique<Server>();
    s->index = i;
    s->channel = transport::Connect(endpoints[i], {1000, 30000}, options.connect);
    servers_.push_back(std::move(s));
  }
}

DataClient::~DataClient() = default;

const std::string& DataClient::endpoint(uint32_t server) const { return servers_[server]->channel->endpoint(); }

void DataClient::Submit(Batch* batch) {
  batch->done = false;
  batch->status = Status::Ok();
  servers_[batch->req.server]->queued.push_back(batch);
}

namespace {

// A batch's request, typed by the operation table. Its data is not copied:
// the message shares it with the batch, which keeps it for a resend.
transport::Message Encode(Batch& b, uint64_t id) {
  transport::Message m;
  std::vector<std::string> records;
  records.push_back(PackRecords(b.records));
  switch (b.op) {
    case proto::Op::kWriteFiles:
      m = proto::Request<proto::Op::kWriteFiles>(id, proto::WriteFilesReq{b.req.server, b.files}, std::move(records));
      break;
    case proto::Op::kWriteBlocks:
      m = proto::Request<proto::Op::kWriteBlocks>(id, b.req, std::move(records));
      break;
    case proto::Op::kFlush:
      m = proto::Request<proto::Op::kFlush>(id, b.req, std::move(records));
      break;
    default:  // reads carry records only
      return proto::Request<proto::Op::kReadBlocks>(id, b.req, std::move(records));
  }
  if (!b.sealed) {
    b.sealed = transport::SharedBytes::Of(std::make_shared<const std::string>(std::move(b.data)));
    b.data.clear();
  }
  m.tail = b.sealed;
  return m;
}

}  // namespace

void DataClient::Pump(uint32_t s) {
  Server& sv = *servers_[s];
  auto now = Clock::now();
  while (!sv.queued.empty() && sv.sent.size() < kDepth) {
    Batch* b = sv.queued.front();
    if (sv.down && now < sv.next_try) {
      if (b->retry_while_down) return;  // wait for the next try
      sv.queued.pop_front();
      b->done = true;
      b->status = Unavailable("data server " + std::to_string(s) + " (" + sv.channel->endpoint() + ") is down");
      continue;
    }
    transport::Message m = Encode(*b, sv.next_id++);
    Status st = sv.channel->Send(std::move(m));
    if (!st.ok()) {
      (void)OnFailure(s, st);
      return;
    }
    sv.queued.pop_front();
    sv.sent.push_back(b);
    if (b->op == proto::Op::kWriteBlocks || b->op == proto::Op::kWriteFiles) unsynced_.insert(s);
  }
}

void DataClient::MarkSynced(const std::set<uint32_t>& servers) {
  for (uint32_t s : servers) unsynced_.erase(s);
}

Status DataClient::OnFailure(uint32_t s, const Status& why) {
  Server& sv = *servers_[s];
  sv.channel->Reset();
  // Everything in flight is lost with the old socket: queue it again, in order.
  while (!sv.sent.empty()) {
    sv.queued.push_front(sv.sent.back());
    sv.sent.pop_back();
  }
  auto now = Clock::now();
  if (!sv.down) {
    sv.down = true;
    sv.down_since = now;
    sv.backoff = kInitialBackoff;
    sv.reported = false;
  } else {
    sv.backoff = std::min<Clock::duration>(sv.backoff * 2, kMaxBackoff);
  }
  sv.why = why.message();
  bool writes_waiting = false;
  for (Batch* b : sv.queued) writes_waiting |= b->retry_while_down;
  sv.next_try = now + (writes_waiting ? sv.backoff : Clock::duration(kReadProbeInterval));
  // Reads fail fast: the caller turns to the other replica.
  for (auto it = sv.queued.begin(); it != sv.queued.end();) {
    if ((*it)->retry_while_down) {
      ++it;
      continue;
    }
    (*it)->done = true;
    (*it)->status = Unavailable("data server " + std::to_string(s) + " (" + sv.channel->endpoint() + "): " + sv.why);
    it = sv.queued.erase(it);
  }
  if (writes_waiting && !sv.reported) {
    sv.reported = true;
    if (options_.notice) {
      options_.notice("waiting for data server " + std::to_string(s) + " (" + sv.channel->endpoint() + "): " + sv.why);
    }
  }
  if (writes_waiting && options_.write_timeout_s > 0 &&
      now - sv.down_since > std::chrono::duration<double>(options_.write_timeout_s)) {
    return Status(Code::kDeadlineExceeded,
                  "data server " + std::to_string(s) + " (" + sv.channel->endpoint() + ") did not come back within " +
                      std::to_string(static_cast<int>(options_.write_timeout_s)) + " s (--timeout): " + sv.why);
  }
  return Status::Ok();
}

Status DataClient::Complete(uint32_t s, Batch* b, Result<transport::Message> reply) {
  Server& sv = *servers_[s];
  if (sv.down) {
    if (sv.reported && options_.notice) {
      options_.notice("data server " + std::to_string(s) + " (" + sv.channel->endpoint() + ") is back");
    }
    sv.down = false;
    sv.reported = false;
  }
  b->done = true;
  auto header = proto::DecodeHeader(*reply);
  if (!header.ok()) {
    b->status = header.status();
  } else if (header->code != Code::kOk) {
    b->status = Status(header->code,
                       "data server " + std::to_string(s) + " (" + sv.channel->endpoint() + "): " + header->error);
  } else if (b->op == proto::Op::kReadBlocks) {
    if (reply->parts() != 3) {
      b->status = Internal("malformed read reply from data server " + std::to_string(s));
    } else {
      auto recs = UnpackRecords(reply->part(1), b->records.size());
      if (!recs.ok() || recs->size() != b->records.size()) {
        b->status = Internal("read reply from data server " + std::to_string(s) + " does not match the request");
      } else {
        b->reply_records = std::move(*recs);
        b->reply_data = reply->tail ? std::string(reply->tail.bytes) : std::move(reply->frames[2]);
      }
    }
  }
  if (!b->status.ok() && b->retry_while_down) return b->status;
  return Status::Ok();
}

Status DataClient::RunUntil(const std::function<bool()>& done) {
  while (true) {
    if (options_.cancel && options_.cancel->load()) {
      Abort();
      return Status(Code::kCancelled, "interrupted");
    }
    for (uint32_t s = 0; s < servers_.size(); ++s) Pump(s);
    if (done()) return Status::Ok();
    std::vector<transport::Channel*> waiting;
    std::vector<uint32_t> which;
    for (uint32_t s = 0; s < servers_.size(); ++s) {
      if (!servers_[s]->sent.empty()) {
        waiting.push_back(servers_[s]->channel.get());
        which.push_back(s);
      }
    }
    if (waiting.empty()) {
      // Only batches waiting out a backoff: check the write timeout and sleep.
      // (Never return before done() unless with an error.)
      for (uint32_t s = 0; s < servers_.size(); ++s) {
        Server& sv = *servers_[s];
        if (sv.down && !sv.queued.empty() && options_.write_timeout_s > 0 &&
            Clock::now() - sv.down_since > std::chrono::duration<double>(options_.write_timeout_s)) {
          DFS_RETURN_IF_ERROR(OnFailure(s, Unavailable(sv.why)));
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    transport::Channel::WaitReadable(waiting, 50);
    for (uint32_t s : which) {
      Server& sv = *servers_[s];
      while (!sv.sent.empty()) {
        auto got = sv.channel->TryReceive();
        if (!got.ok()) {
          DFS_RETURN_IF_ERROR(OnFailure(s, got.status()));
          break;
        }
        if (!got->has_value()) break;
        Batch* b = sv.sent.front();
        sv.sent.pop_front();
        DFS_RETURN_IF_ERROR(Complete(s, b, std::move(**got)));
      }
    }
  }
}

Status DataClient::RunAll(const std::vector<Batch*>& batches) {
  for (Batch* b : batches) Submit(b);
  return RunUntil([&] {
    for (Batch* b : batches) {
      if (!b->done) return false;
    }
    return true;
  });
}

bool DataClient::LikelyDown(uint32_t server) const { return servers_[server]->down; }

Status DataClient::RunWrites(const std::vector<Batch*>& batches) {
  Status st = RunAll(batches);
  if (!st.ok()) {
    Abort();
    return st;
  }
  for (Batch* b : batches) DFS_RETURN_IF_ERROR(b->status);
  return Status::Ok();
}

void DataClient::Abort() {
  for (auto& sv : servers_) {
    if (!sv->sent.empty()) sv->channel->Reset();
    sv->sent.clear();
    sv->queued.clear();
  }
}

Result<transport::Message> DataClient::Call(uint32_t server, transport::Message request) {
  Server& sv = *servers_[server];
  auto reply = sv.channel->Call(std::move(request));
  if (!reply.ok()) {
    return Unavailable("data server " + std::to_string(server) + " (" + sv.channel->endpoint() +
                       "): " + reply.status().message());
  }
  return reply;
}

}  // namespace dfs::client

namespace dfs::client {

void DataClient::DeleteBlocks(const proto::Attr& a, bool uncommitted) {
  const uint32_t n = std::min<uint32_t>(a.stripe_width, size());
  const uint64_t blocks = BlockCount(a.size, a.block_size);
  for (uint32_t s = 0; s < n; ++s) {
    // A small dense file has blocks on only some servers.
    bool holds = uncommitted || blocks >= n || !proto::Dense(a);
    for (uint64_t i = 0; !holds && i < blocks; ++i) holds = HoldsBlock(a.placement_seed, n, s, i);
    if (!holds) continue;
    (void)Call(s, proto::Request<proto::Op::kDeleteFile>(1, proto::FileReq{a.fid, a.cap}));
  }
}

}  // namespace dfs::client
