#include <catch2/catch.hpp>

#include "core/common/path.h"

using namespace dfs;

TEST_CASE("paths are normalised", "[unit]") {
  CHECK(*NormalizePath("/") == "/");
  CHECK(*NormalizePath("/a/b") == "/a/b");
  CHECK(*NormalizePath("dfs:/a/b/") == "/a/b");
  CHECK(*NormalizePath("//a///b") == "/a/b");
  CHECK(*NormalizePath("dfs:/") == "/");
}

TEST_CASE("bad paths are refused with a reason", "[unit]") {
  CHECK(NormalizePath("a/b").status().code() == Code::kInvalidArgument);
  CHECK(NormalizePath("").status().code() == Code::kInvalidArgument);
  CHECK(NormalizePath("/a/../b").status().code() == Code::kInvalidArgument);
  CHECK(NormalizePath("/a/./b").status().code() == Code::kInvalidArgument);
  CHECK(NormalizePath(std::string("/a\0b", 4)).status().code() == Code::kInvalidArgument);
  CHECK(NormalizePath("/" + std::string(256, 'n')).status().code() == Code::kNameTooLong);
  CHECK(NormalizePath("/" + std::string(255, 'n')).ok());
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "/" + std::string(20, 'd');
  CHECK(NormalizePath(deep).status().code() == Code::kNameTooLong);
  CHECK_THAT(NormalizePath("rel").status().message(), Catch::Contains("absolute"));
}

TEST_CASE("path pieces", "[unit]") {
  CHECK(ParentPath("/a/b") == "/a");
  CHECK(ParentPath("/a") == "/");
  CHECK(BaseName("/a/b") == "b");
  CHECK(JoinPath("/", "x") == "/x");
  CHECK(JoinPath("/a", "x") == "/a/x");
  CHECK(SplitPath("/a/b") == std::vector<std::string>{"a", "b"});
  CHECK(SplitPath("/").empty());
}
