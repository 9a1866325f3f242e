// What a checkpoint path may name: only a regular file. A FIFO (which would block a reader forever), a
// device, a folder or a socket is refused by name, at once. Also: temporary files left by a killed
// writer are removed by the next write, and shapes whose sizes overflow are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <datamux/core/atomic_file.hpp>
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/regular_file.hpp>
#include <datamux/options.hpp>
#include <filesystem>
#include <fstream>

using namespace datamux;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

class CheckpointFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("datamux_ckptfiles_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// The message load_safetensors gives for `p`; fails the test if it does not throw InputError.
std::string load_error(const std::string& p) {
  try {
    load_safetensors(p);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError for " << p;
  return "";
}

TEST_F(CheckpointFiles, AFifoIsRefusedByNameWithoutBlocking) {
  const std::string fifo = path("model.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = load_error(fifo);  // with no writer, an open() without O_NONBLOCK never returns
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(msg, HasSubstr(fifo));
  EXPECT_THAT(msg, HasSubstr("FIFO"));
  EXPECT_THAT(msg, HasSubstr("not a regular file"));
}

TEST_F(CheckpointFiles, DevicesFoldersAndSocketsAreRefusedByKind) {
  EXPECT_THAT(load_error("/dev/zero"), HasSubstr("is a character device, not a regular file"));
  EXPECT_THAT(load_error("/dev/null"), HasSubstr("character device"));
  EXPECT_THAT(load_error(dir_.string()), HasSubstr("is a folder"));
  const std::string sock = path("s.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_THAT(load_error(sock), HasSubstr("is a socket"));
  ::close(fd);
}

TEST_F(CheckpointFiles, ASymlinkToARegularFileIsRead) {
  save_safetensors(path("real.safetensors"), {{"w", Tensor::ones({2})}});
  fs::create_symlink(path("real.safetensors"), path("link.safetensors"));
  EXPECT_EQ(load_safetensors(path("link.safetensors")).tensors.at("w").numel(), 2);
  fs::create_symlink("/dev/zero", path("zero.safetensors"));
  EXPECT_THAT(load_error(path("zero.safetensors")), HasSubstr("character device"));
}

TEST_F(CheckpointFiles, RequireRegularFileNamesTheRole) {
  ASSERT_EQ(::mkfifo(path("p.toml").c_str(), 0600), 0);
  try {
    require_regular_file(path("p.toml"), "pipeline base file");
    FAIL() << "a FIFO passed";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pipeline base file '" + path("p.toml") + "': is a FIFO"));
  }
  EXPECT_THROW(require_regular_file(path("absent.toml"), "pipeline"), InputError);
  std::ofstream(path("ok.toml")) << "x = 1\n";
  EXPECT_NO_THROW(require_regular_file(path("ok.toml"), "pipeline"));
}

TEST_F(CheckpointFiles, AZeroSizedTensorWithHugeOtherSizesIsRefused) {
  // numel is 0, so the offsets check passes; the other sizes would overflow the strides.
  const std::string header = R"({"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(path("z.safetensors"), std::ios::binary) << bytes << header;
  EXPECT_THAT(load_error(path("z.safetensors")), HasSubstr("more than 2^63 elements"));
}

TEST_F(CheckpointFiles, ALongHeaderValueIsShortenedInTheMessage) {
  const std::string junk(100000, 'x');
  const std::string header = R"({"a":{"dtype":")" + junk + R"(","shape":[1],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(path("long.safetensors"), std::ios::binary) << bytes << header << std::string(4, '\0');
  const std::string msg = load_error(path("long.safetensors"));
  EXPECT_THAT(msg, HasSubstr("is not supported"));
  EXPECT_LT(msg.size(), 1000u);
}

TEST_F(CheckpointFiles, TemporaryFilesOfDeadWritersAreRemovedByTheNextWrite) {
  // A child starts a write and is killed before commit: its temporary file stays behind.
  const std::string target = path("model.safetensors");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    AtomicFile f(target);
    f.write(std::string(1 << 16, 'x'));
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto temps = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
  };
  ASSERT_EQ(temps(), 1);
  // A temp file of a live process (this one, another writer) is not touched.
  const std::string live = path(".model.safetensors.tmp." + std::to_string(::getpid()) + ".999");
  std::ofstream(live) << "in progress";
  save_safetensors(target, {{"w", Tensor::ones({3})}});
  EXPECT_EQ(temps(), 1);
  EXPECT_TRUE(fs::exists(live));
  EXPECT_EQ(load_safetensors(target).tensors.at("w").numel(), 3);
}

}  // namespace
