#include "port/json_writer.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sniper {
namespace {

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a \"quoted\" \\ name"), R"("a \"quoted\" \\ name")");
  EXPECT_EQ(JsonQuote("tab\tnl\ncr\rbs\bff\f"), R"("tab\tnl\ncr\rbs\bff\f")");
  EXPECT_EQ(JsonQuote(std::string("nul\0x\x1f\x7f", 7)),
            R"("nul\u0000x\u001f\u007f")");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

TEST(JsonQuoteTest, Utf8PassesThroughAndInvalidBytesAreReplaced) {
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // UTF-16 surrogate, a code point past U+10FFFF.
  EXPECT_EQ(JsonQuote("\x80"), R"("\ufffd")");
  EXPECT_EQ(JsonQuote("a\xc3"), R"("a\ufffd")");
  EXPECT_EQ(JsonQuote("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(JsonQuote("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
}

TEST(JsonWriterTest, CompactSeparators) {
  JsonWriter w;
  w.BeginObject();
  w.Key("stats").BeginArray().Double(0.5).Int(-3).Bool(true).Null().EndArray();
  w.Key("empty").BeginObject().EndObject();
  w.Key("list").BeginArray().EndArray();
  w.Key("s").String("x");
  w.EndObject();
  EXPECT_EQ(
      w.Finish(),
      R"({"stats": [0.5, -3, true, null], "empty": {}, "list": [], "s": "x"})"
      "\n");
}

TEST(JsonWriterTest, BreakDepthPutsElementsOnTheirOwnLines) {
  JsonWriter w(/*break_depth=*/2);
  w.BeginObject();
  w.Key("images").BeginArray();
  w.BeginObject().Key("id").Int(1).Key("bbox").BeginArray().Fixed(1.005, 2);
  w.Fixed(2, 2).EndArray().EndObject();
  w.BeginObject().Key("id").Int(2).EndObject();
  w.EndArray();
  w.Key("n").Int(2);
  w.EndObject();
  EXPECT_EQ(w.Finish(),
            "{\n"
            "  \"images\": [\n"
            "    {\"id\": 1, \"bbox\": [1.00, 2.00]},\n"
            "    {\"id\": 2}\n"
            "  ],\n"
            "  \"n\": 2\n"
            "}\n");
}

TEST(JsonWriterTest, DoublesReadBackExactlyAndNonFiniteIsNull) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  for (int i = 0; i < 2000; ++i) {
    const double v = i % 3 == 0 ? u(rng) * 1e-300 : u(rng);
    JsonWriter w;
    w.Double(v);
    const std::string text = w.Finish();
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
  JsonWriter w;
  w.BeginArray().Double(0.1).Double(NAN).Double(
      std::numeric_limits<double>::infinity());
  w.Fixed(-std::numeric_limits<double>::infinity(), 2).Double(1e21).EndArray();
  EXPECT_EQ(w.Finish(), "[0.1, null, null, null, 1e+21]\n");
}

TEST(JsonWriterDeathTest, MisuseAborts) {
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.BeginObject().Int(1);
      },
      "without a key");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.BeginArray().Key("k");
      },
      "Key outside an object");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.BeginArray().EndObject();
      },
      "EndObject without an open object");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.BeginArray();
        w.Finish();
      },
      "Finish before");
  EXPECT_DEATH(
      {
        JsonWriter w;
        w.Int(1).Int(2);
      },
      "second top-level value");
}

// Python's json module (the reference API's reader) reads back what we
// write: a category named `a "quoted" \ name`, a file name with a quote,
// control characters and UTF-8.
TEST(JsonWriterTest, PythonJsonReadsBackTrickyStrings) {
  if (std::system("python3 -c pass > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 is not available";
  }
  char dir_template[] = "/tmp/json_writer_test_XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string path = dir + "/doc.json";
  JsonWriter w(/*break_depth=*/1);
  w.BeginObject();
  w.Key("categories").BeginArray();
  w.BeginObject().Key("id").Int(1).Key("name").String("a \"quoted\" \\ name");
  w.EndObject().EndArray();
  w.Key("images").BeginArray();
  w.BeginObject().Key("file_name").String("it's \"x\".jpg").EndObject();
  w.EndArray();
  w.Key("per_category_ap").BeginObject();
  w.Key("a \"quoted\" \\ name").Double(0.25).EndObject();
  w.Key("controls").String(std::string("\t\n\x01\x1f\x7f", 5));
  w.Key("utf8").String("caf\xc3\xa9");
  w.Key("invalid").String("\xff");
  w.EndObject();
  {
    std::ofstream out(path);
    out << w.Finish();
  }
  const std::string script = dir + "/check.py";
  {
    std::ofstream py(script);
    py << "import json, sys\n"
          "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
          "assert d['categories'][0]['name'] == 'a \"quoted\" \\\\ name', d\n"
          "assert d['images'][0]['file_name'] == 'it\\'s \"x\".jpg', d\n"
          "assert d['per_category_ap'] == {'a \"quoted\" \\\\ name': 0.25}, d\n"
          "assert d['controls'] == '\\t\\n\\x01\\x1f\\x7f', "
          "repr(d['controls'])\n"
          "assert d['utf8'] == 'caf\\u00e9', d['utf8']\n"
          "assert d['invalid'] == '\\ufffd', d['invalid']\n";
  }
  EXPECT_EQ(std::system(("python3 " + script + " " + path).c_str()), 0);
}

}  // namespace
}  // namespace sniper
