// docs/plugin-authoring.md cannot drift from code that compiles: each code block introduced by a line
// `<!-- verbatim: <path> -->` must equal that file, and the example plugins it teaches with are
// compiled (tests/CMakeLists.txt builds them in-tree) and checked by the conformance suite.
#include <gmock/gmock.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

std::string read(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot read " << path;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// path -> the code block that follows its `<!-- verbatim: path -->` marker.
std::map<std::string, std::string> verbatim_blocks(const std::string& doc) {
  std::map<std::string, std::string> out;
  const std::string marker = "<!-- verbatim: ";
  for (size_t at = doc.find(marker); at != std::string::npos; at = doc.find(marker, at + 1)) {
    const size_t path_end = doc.find(" -->", at);
    const std::string path = doc.substr(at + marker.size(), path_end - at - marker.size());
    const size_t open = doc.find("```", path_end);
    const size_t body = doc.find('\n', open) + 1;
    const size_t close = doc.find("\n```", body);
    EXPECT_NE(close, std::string::npos) << "unterminated code block after the marker for " << path;
    if (close == std::string::npos) break;
    out[path] = doc.substr(body, close + 1 - body);
  }
  return out;
}

TEST(PluginAuthoringDoc, ExampleCodeBlocksAreTheCompiledExampleFiles) {
  const std::map<std::string, std::string> blocks =
      verbatim_blocks(read(DATAMUX_SOURCE_DIR "/docs/plugin-authoring.md"));
  for (const char* required :
       {"examples/custom_plugin/instance_scale_mux.cpp", "examples/custom_plugin/instance_gain_demux.cpp"})
    EXPECT_EQ(blocks.count(required), 1u) << "the tutorial must show " << required << " verbatim";
  for (const auto& [path, block] : blocks) {
    SCOPED_TRACE(path);
    EXPECT_EQ(block, read(std::string(DATAMUX_SOURCE_DIR "/") + path))
        << "docs/plugin-authoring.md shows an outdated copy: paste the file again";
  }
}

TEST(PluginAuthoringDoc, MarkerParsingFindsTheBlockAfterEachMarker) {
  const auto blocks = verbatim_blocks(
      "text\n<!-- verbatim: a.cpp -->\n```cpp\nint a;\n```\nmore\n"
      "<!-- verbatim: b.cmake -->\n\n```cmake\nx()\ny()\n```\n");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks.at("a.cpp"), "int a;\n");
  EXPECT_EQ(blocks.at("b.cmake"), "x()\ny()\n");
}

}  // namespace
