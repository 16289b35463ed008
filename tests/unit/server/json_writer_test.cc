#include "server/http/json_writer.h"

#include <gtest/gtest.h>

namespace permcache::http {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonWriterTest, EscapesControlAndQuotes) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalid) {
  EXPECT_EQ(Str("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(Str("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(Str("a\xff" "b"), "\"a\\ufffdb\"");
  EXPECT_EQ(Str("\xc3"), "\"\\ufffd\"");          // truncated
  EXPECT_EQ(Str("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(JsonWriterTest, Structure) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.Uint(1);
  w.Key("b");
  w.BeginArray();
  w.String("x");
  w.Bool(false);
  w.Null();
  w.EndArray();
  w.Key("c");
  w.BeginObject();
  w.EndObject();
  w.Key("d");
  w.Int(-5);
  w.EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":["x",false,null],"c":{},"d":-5})");
}

}  // namespace
}  // namespace permcache::http
