// Finding npm data packages: DATAMUX_DATA_DIR first, and a message naming the package and setup.sh
// when none of the places holds it.
#include <datamux/data/locate.hpp>
#include <datamux/options.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

using namespace datamux;
using namespace datamux::data;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
namespace fs = std::filesystem;

namespace {

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST(Locate, DataDirEnvironmentVariableComesFirst) {
  const fs::path root = fs::temp_directory_path() / ("datamux-locate-" + std::to_string(::getpid()));
  fs::create_directories(root / "npm" / "@scope" / "pkg");
  std::ofstream(root / "npm" / "@scope" / "pkg" / "package.json") << "{}";
  ScopedEnv env("DATAMUX_DATA_DIR", root.string());
  auto found = find_npm_package("@scope/pkg");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, root / "npm" / "@scope" / "pkg");
  EXPECT_EQ(npm_package_dir("@scope/pkg"), *found);
  fs::remove_all(root);
}

TEST(Locate, AbsentPackageNamesItAndSetup) {
  EXPECT_FALSE(find_npm_package("datamux-no-such-package").has_value());
  EXPECT_THAT([] { npm_package_dir("datamux-no-such-package"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("npm package datamux-no-such-package not found"),
                                              HasSubstr("data/npm/datamux-no-such-package"),
                                              HasSubstr("run scripts/setup.sh"))));
}

TEST(Locate, FashionMnistDirFollowsTheEnvironment) {
  {
    ScopedEnv env("DATAMUX_FASHION_MNIST_DIR", "/some/where");
    EXPECT_EQ(fashion_mnist_dir(), fs::path("/some/where"));
  }
  if (!std::getenv("DATAMUX_FASHION_MNIST_DIR")) {
    EXPECT_EQ(fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
  }
}
