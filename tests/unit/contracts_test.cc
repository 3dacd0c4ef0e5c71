// Contracts that hold in every build: a failed Result's value is never read,
// and no exception leaves a server's handler or its loop.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <new>
#include <thread>

#include "core/common/codec.h"
#include "core/common/protocol.h"
#include "loopback.h"
#include "transport/server_loop.h"
#include "transport/zmq_channel.h"

using namespace dfs;

TEST_CASE("using the value of a failed Result aborts, naming the error") {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], 2);
    Result<int> r = NotFound("no such thing");
    int v = *r;  // must abort here
    _exit(v == 12345 ? 3 : 0);
  }
  close(pipe_fds[1]);
  std::string err;
  char buf[256];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, n);
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(err.find("no such thing") != std::string::npos);
}

TEST_CASE("a handler that throws becomes an error reply naming the server") {
  transport::Message reply = proto::Guarded("data server", []() -> transport::Message { throw std::bad_alloc(); });
  proto::Empty body;
  Status st = proto::DecodeReply(reply, &body);
  CHECK(st.code() == Code::kInternal);
  CHECK(st.message().find("data server: request failed") != std::string::npos);
}

TEST_CASE("the server loop survives a handler that throws and keeps serving") {
  transport::ServerLoop loop;
  const std::string endpoint = testing::BindLoopback(loop, 21000);
  REQUIRE_FALSE(endpoint.empty());
  std::thread server([&] {
    loop.Run([](transport::Message&& m) -> transport::Message {
      if (!m.frames.empty() && m.frames[0] == "boom") throw std::runtime_error("boom");
      return m;
    });
  });
  transport::ZmqChannel channel(endpoint, {1000, 2000});
  auto start = std::chrono::steady_clock::now();
  auto failed = channel.Call(transport::Message{{"boom"}, {}, {}});
  CHECK_FALSE(failed.ok());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));  // not the reply timeout
  auto echoed = channel.Call(transport::Message{{"hello"}, {}, {}});
  REQUIRE(echoed.ok());
  CHECK(echoed->frames == std::vector<std::string>{"hello"});
  loop.Stop();
  server.join();
}
