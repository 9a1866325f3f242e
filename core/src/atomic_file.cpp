// AtomicFile: temp file in the same folder, fsync, rename, fsync the folder (POSIX).
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <datamux/core/atomic_file.hpp>
#include <datamux/options.hpp>
#include <filesystem>
#include <stdexcept>

namespace datamux {
namespace fs = std::filesystem;
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Unique within the process (counter) and across processes (pid); O_EXCL settles any leftover clash.
std::string temp_name(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  return (target.parent_path() /
          fmt::format(".{}.tmp.{}.{}", target.filename().string(), ::getpid(), counter.fetch_add(1)))
      .string();
}

// Removes temporary files that writers of `target` left behind when they were killed (SIGKILL, power
// loss: no destructor ran). A temp name carries its writer's pid; the file is stale when no process has
// that pid any more. A live pid is left alone even if it was reused by an unrelated process: keeping a
// stale file is harmless, deleting a live writer's file is not.
// The pid in a temp name ".<target>.tmp.<pid>.<counter>" that `prefix_len` bytes of prefix precede, or 0.
long long temp_writer_pid(const std::string& name, std::size_t prefix_len) {
  const std::string rest = name.substr(prefix_len);  // "<pid>.<counter>"
  const std::size_t dot = rest.find('.');
  if (dot == 0 || dot == std::string::npos) return 0;
  if (rest.find_first_not_of("0123456789.") != std::string::npos) return 0;
  try {
    const long long pid = std::stoll(rest.substr(0, dot));
    return pid > 0 && pid <= INT32_MAX ? pid : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// True when no process has `pid` any more (another process's live pid, even if reused, is kept:
// keeping a stale file is harmless, deleting a live writer's file is not).
bool writer_gone(long long pid) {
  return pid != 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void remove_stale_temps(const fs::path& target) {
  std::string prefix = ".";  // appended step by step: GCC 12 warns falsely (-Wrestrict) on "." + s + "..."
  prefix += target.filename().string();
  prefix += ".tmp.";
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    if (!writer_gone(temp_writer_pid(name, prefix.size()))) continue;
    std::error_code rm;
    fs::remove(it->path(), rm);
  }
}

// Makes the rename durable: the new directory entry is on disk once this returns.
void fsync_folder(const fs::path& folder) {
  const std::string dir = folder.empty() ? std::string(".") : folder.string();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some file systems refuse to open folders
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw InputError("cannot write a file with an empty path");
  const fs::path target(path_);
  if (target.filename().empty())
    throw InputError(fmt::format("cannot write '{}': the path names a folder, not a file", path_));
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw InputError(fmt::format("cannot write '{}': it is a folder", path_));
  remove_stale_temps(target);
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temp_ = temp_name(target);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const int err = errno;
    const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    throw InputError(
        fmt::format("cannot write '{}': cannot create a file in folder '{}': {} (check that the "
                    "folder exists and is writable)",
                    path_, folder.string(), errno_text(err)));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  if (fd_ < 0) throw std::logic_error(fmt::format("AtomicFile '{}': write after commit", path_));
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      discard();
      throw InputError(
          fmt::format("cannot write '{}': {} (the previous file, if any, is unchanged)", path_, errno_text(err)));
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw std::logic_error(fmt::format("AtomicFile '{}': commit twice or after a failed write", path_));
  const auto fail = [&](const char* what) {
    const int err = errno;
    discard();
    throw InputError(fmt::format("cannot write '{}': {} failed: {} (the previous file, if any, is unchanged)", path_,
                                 what, errno_text(err)));
  };
  if (::fsync(fd_) != 0) fail("fsync");
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("close");
  }
  fd_ = -1;
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail("rename");
  committed_ = true;
  fsync_folder(fs::path(path_).parent_path());
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

int remove_stale_temp_files(const std::string& folder) {
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::size_t tmp = name.rfind(".tmp.");
    if (name.empty() || name[0] != '.' || tmp == std::string::npos || tmp == 0) continue;
    if (!writer_gone(temp_writer_pid(name, tmp + 5))) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace datamux
