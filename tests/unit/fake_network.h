// FakeNetwork: servers inside the test process, reached through Channels
// that can lose a request or a reply, deliver late, or be cut off (a
// partitioned or killed server). Clients get it through
// ClientOptions::connect = network.connector().
//
// A request is handled on the sending thread when it is sent, one at a time
// per server; its reply is then delivered (or lost) in order. A lost
// request or reply shows as "no reply" after reply_timeout_ms of this
// network (not the channel's own, so that tests stay fast).
// Thread-safety: everything may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "transport/channel.h"

namespace dfs::testing {

class FakeNetwork {
 public:
  using Handler = std::function<transport::Message(transport::Message&&)>;

  // How long a lost request or reply takes to show as "no reply".
  int reply_timeout_ms = 100;

  // Serves `endpoint` with `handler`.
  void Serve(const std::string& endpoint, Handler handler);
  // Cut: the server is unreachable, as if killed or partitioned. Sends to it
  // fail, replies in flight are lost. Uncut: reachable again.
  void Cut(const std::string& endpoint, bool cut = true);
  // The next `count` requests to `endpoint` are lost before the server
  // sees them.
  void DropRequests(const std::string& endpoint, int count);
  // The next `count` requests to `endpoint` are served, their replies lost.
  void DropReplies(const std::string& endpoint, int count);
  // Replies from `endpoint` arrive `ms` late.
  void Delay(const std::string& endpoint, int ms);
  transport::Connector connector();

  struct Server {
    Handler handler;
    bool cut = false;
    int drop_requests = 0;
    int drop_replies = 0;
    int delay_ms = 0;
    std::mutex serving;  // one request at a time
  };
  std::shared_ptr<Server> Find(const std::string& endpoint) const;
  bool IsCut(const std::string& endpoint) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Server>> servers_;
};

}  // namespace dfs::testing
