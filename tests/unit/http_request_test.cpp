// SPDX-License-Identifier: MIT
// HTTP: the request line classifier, request heads, targets, cookies, form fields, and the
// mapping of error codes to statuses.
#include <gtest/gtest.h>

#include <string>

#include "http/request.h"
#include "http/response.h"
#include "proto/opening.h"

namespace ftx::http {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(HttpOpening, AWholeRequestLineIsHttp) {
  using proto::Language;
  EXPECT_EQ(proto::classify_opening(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), Language::Http);
  EXPECT_EQ(proto::classify_opening(bytes("PUT /a%20b HTTP/1.0\n")), Language::Http);
  EXPECT_EQ(proto::classify_opening(bytes("GET / HTTP/1.1")), Language::Text);  // not whole yet
  EXPECT_TRUE(proto::may_be_request_line(bytes("GET / HTTP/1.1")));
  EXPECT_TRUE(proto::may_be_request_line(bytes("")));
  EXPECT_TRUE(proto::may_be_request_line(bytes("PU")));
  EXPECT_TRUE(proto::may_be_request_line(bytes("PUT /x HT")));
}

TEST(HttpOpening, TextLinesAreNotHttp) {
  for (std::string_view line : {"hello there\n", "SEND_FILE a.txt 5\n", "QUIT\n", "WHO\n", "NICK bob\n",
                                "AUTH secret\n", "OK I agree\n", "GET / HTTP/2\r\n", "GET /  HTTP/1.1\r\n",
                                "get / HTTP/1.1\r\n", "GET / HTTP/1.1 x\r\n"}) {
    EXPECT_EQ(proto::classify_opening(bytes(line)), proto::Language::Text) << line;
    EXPECT_FALSE(proto::may_be_request_line(bytes(line))) << line;
  }
  EXPECT_EQ(proto::classify_opening(bytes("\x16\x03\x01")), proto::Language::Tls);
  EXPECT_FALSE(proto::may_be_request_line(bytes("GET /" + std::string(proto::kMaxRequestLine, 'a'))));
}

TEST(HttpHead, ParsesAnUpload) {
  const std::string head =
      "PUT /dir/a%20b.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nExpect: 100-continue\r\n"
      "Authorization: Bearer s3cret\r\n\r\nBODY";
  const HeadResult r = parse_head(bytes(head));
  ASSERT_EQ(r.status, HeadResult::Status::Done) << r.message;
  EXPECT_EQ(r.consumed, head.size() - 4);
  EXPECT_EQ(r.request.method, "PUT");
  EXPECT_EQ(r.request.target, "/dir/a%20b.txt");
  EXPECT_EQ(r.request.content_length, 12u);
  EXPECT_TRUE(r.request.expect_continue);
  EXPECT_TRUE(r.request.keep_alive);
  EXPECT_FALSE(r.request.chunked);
  ASSERT_NE(r.request.header("authorization"), nullptr);
  EXPECT_EQ(bearer_token(*r.request.header("authorization")), "s3cret");
}

TEST(HttpHead, NeedsTheBlankLine) {
  EXPECT_EQ(parse_head(bytes("GET / HTTP/1.1\r\nHost: h\r\n")).status, HeadResult::Status::NeedMore);
  const HeadResult r = parse_head(bytes("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_EQ(r.status, HeadResult::Status::Done);
  EXPECT_FALSE(r.request.keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_EQ(parse_head(bytes("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")).request.keep_alive, false);
}

TEST(HttpHead, RefusesWhatIsMalformedOrTooBig) {
  EXPECT_EQ(parse_head(bytes("GET / HTTP/1.1\r\nbad header\r\n\r\n")).status, HeadResult::Status::Error);
  EXPECT_EQ(parse_head(bytes("PUT /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")).status,
            HeadResult::Status::Error);
  EXPECT_EQ(parse_head(bytes("PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n")).status,
            HeadResult::Status::Error);
  EXPECT_EQ(parse_head(bytes("GET http://elsewhere/ HTTP/1.1\r\n\r\n")).status, HeadResult::Status::Error);
  const HeadResult expect = parse_head(bytes("PUT /x HTTP/1.1\r\nExpect: coffee\r\n\r\n"));
  EXPECT_EQ(expect.status_code, 417);

  HeadLimits limits;
  limits.max_bytes = 64;
  const HeadResult big = parse_head(bytes("GET / HTTP/1.1\r\nX: " + std::string(100, 'a')), limits);
  EXPECT_EQ(big.status, HeadResult::Status::Error);
  EXPECT_EQ(big.status_code, 431);

  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 70; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  const HeadResult count = parse_head(bytes(many));
  EXPECT_EQ(count.status, HeadResult::Status::Error);
  EXPECT_EQ(count.status_code, 431);
}

TEST(HttpTarget, DecodesAndRefuses) {
  EXPECT_EQ(decode_target("/")->path, "");
  EXPECT_EQ(decode_target("/a%20b/c.txt?x=1")->path, "a b/c.txt");
  EXPECT_EQ(decode_target("/a?x=1")->query, "x=1");
  EXPECT_EQ(decode_target("/%2e%2e/x")->path, "../x");  // check_name refuses it next
  std::string why;
  EXPECT_FALSE(decode_target("/a%00b", &why));
  EXPECT_NE(why.find("NUL"), std::string::npos);
  EXPECT_FALSE(decode_target("/a%2", &why));
  EXPECT_FALSE(decode_target("/a%zz", &why));
  EXPECT_FALSE(decode_target("a", &why));
}

TEST(HttpFields, CookiesFormsAndBearer) {
  EXPECT_EQ(cookie_value("a=1; ftx_token=xyz; b=2", "ftx_token"), "xyz");
  EXPECT_EQ(cookie_value("a=1", "ftx_token"), std::nullopt);
  EXPECT_EQ(form_value("token=a+b%21&x=1", "token"), "a b!");
  EXPECT_EQ(form_value("x=1", "token"), std::nullopt);
  EXPECT_EQ(bearer_token("bearer  t0k "), "t0k");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  const auto range = content_range("bytes 100-199/200");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first, 100u);
  EXPECT_EQ(range->last, 199u);
  EXPECT_EQ(range->total, 200u);
  for (std::string_view bad : {"bytes 100-99/200", "bytes 0-200/200", "bytes */200", "items 0-1/2",
                               "bytes 0-1/2x", "bytes -1-1/2"}) {
    EXPECT_FALSE(content_range(bad).has_value()) << bad;
  }
}

TEST(HttpResponse, StatusesAndBodies) {
  using proto::ErrorCode;
  EXPECT_EQ(status_of(ErrorCode::TooLarge), 413);
  EXPECT_EQ(status_of(ErrorCode::NameRefused), 400);
  EXPECT_EQ(status_of(ErrorCode::Exists), 409);
  EXPECT_EQ(status_of(ErrorCode::NoSpace), 507);
  EXPECT_EQ(status_of(ErrorCode::Busy), 503);
  EXPECT_EQ(status_of(ErrorCode::Unauthorized), 401);
  EXPECT_EQ(status_of(ErrorCode::TlsRequired), 426);
  EXPECT_EQ(error_json(ErrorCode::Exists, "taken"),
            "{\"error\":{\"code\":\"exists\",\"message\":\"taken\"}}\n");
  const std::string r = error_response(ErrorCode::TooLarge, "big").encode();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 413 Content Too Large\r\n")) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 47\r\n"), std::string::npos) << r;
}

}  // namespace
}  // namespace ftx::http
