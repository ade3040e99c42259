// The docker source (sampler/sources/docker): its reading of Docker Engine API replies (Beast's
// response parser with a body cap). The expected bodies are the bytes written into each reply, so
// every case can fail.
#include <gtest/gtest.h>

#include <string>

#include "sources/docker.h"

namespace hostflow::sampler {
namespace {

TEST(DockerHttpReply, ContentLengthBodyIsReturnedWhole) {
  const std::string body = R"([{"Id":"abc"}])";
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  auto r = parse_http_reply(wire, 1024, false);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->body, body);
}

TEST(DockerHttpReply, ChunkedBodyIsReassembled) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{\"a\"\r\n4\r\n:1}]\r\n0\r\n\r\n";
  auto r = parse_http_reply(wire, 1024, false);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->body, "[{\"a\":1}]");
}

// Regression (fuzz_http_reply): a Content-Length far over the cap, with body bytes in the same
// read, made Boost 1.74's eager parser reserve the announced length (terabytes).
TEST(DockerHttpReply, AnnouncedLengthOverCapIsTruncatedWithoutReading) {
  const std::string wire =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 7777777777777729\r\n\r\nsome body bytes";
  for (bool eof : {false, true}) {
    auto r = parse_http_reply(wire, 4096, eof);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, 404);
    EXPECT_TRUE(r->truncated);
    EXPECT_TRUE(r->body.empty());
  }
}

TEST(DockerHttpReply, ChunkedBodyOverCapIsTruncated) {
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) wire += "10\r\n0123456789abcdef\r\n";
  wire += "0\r\n\r\n";
  auto r = parse_http_reply(wire, 40, false);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->truncated);
  EXPECT_TRUE(r->body.empty());
  auto whole = parse_http_reply(wire, 64, false);
  ASSERT_TRUE(whole.ok());
  EXPECT_FALSE(whole->truncated);
  EXPECT_EQ(whole->body.size(), 64u);
}

TEST(DockerHttpReply, CloseDelimitedBodyNeedsEof) {
  const std::string wire = "HTTP/1.0 200 OK\r\n\r\n{\"x\":1}";
  EXPECT_FALSE(parse_http_reply(wire, 1024, false).ok());
  auto r = parse_http_reply(wire, 1024, true);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->body, "{\"x\":1}");
}

TEST(DockerHttpReply, MalformedAndCutRepliesAreErrors) {
  EXPECT_FALSE(parse_http_reply("HTTP/1.1 2OO OK\r\n\r\n", 1024, true).ok());
  EXPECT_FALSE(
      parse_http_reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1024, true).ok());
  EXPECT_FALSE(parse_http_reply("HTTP/1.1 200 OK\r\nContent-Le", 1024, true).ok());
}

}  // namespace
}  // namespace hostflow::sampler
