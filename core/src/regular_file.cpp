// ReadOnlyFile / require_regular_file: refuse FIFOs, sockets, devices and folders by name, never block.
#include <datamux/core/regular_file.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <datamux/error.hpp>

namespace datamux {
namespace {

// What a non-regular file is, in words a user recognises.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// "<what> '<path>': <why>", or "<path>: <why>" for data files (the data readers' format).
[[noreturn]] void refuse(const std::string& path, std::string_view what, const std::string& why) {
  if (what.empty()) throw InputError(fmt::format("{}: {}", path, why));
  throw InputError(fmt::format("{} '{}': {}", what, path, why));
}

[[noreturn]] void refuse_kind(const std::string& path, std::string_view what, mode_t mode) {
  refuse(path, what,
         fmt::format("is {}, not a regular file; datamux reads only regular files (give the path of a "
                     "file, or copy the stream to one first)",
                     kind_of(mode)));
}

// Opens without blocking and checks the descriptor; returns it open (blocking mode restored).
int open_checked(const std::string& path, std::string_view what, uint64_t& size) {
  if (path.empty()) throw InputError(fmt::format("{}: the path is empty", what.empty() ? "file" : what));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) refuse(path, what, "no such file (check the path)");
    refuse(path, what, fmt::format("cannot be read: {}", std::strerror(err)));
  }
  // Looking before opening keeps open() itself away from devices (opening some has side effects).
  if (!S_ISREG(st.st_mode)) refuse_kind(path, what, st.st_mode);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    refuse(path, what, fmt::format("cannot be opened for reading: {}", std::strerror(err)));
  }
  // The path may have been replaced between stat and open: decide on what was actually opened.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    refuse_kind(path, what, st.st_mode);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

}  // namespace

ReadOnlyFile::ReadOnlyFile(std::string path, std::string_view what) : path_(std::move(path)), what_(what) {
  fd_ = open_checked(path_, what_, size_);
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

int ReadOnlyFile::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

bool ReadOnlyFile::read_at(uint64_t offset, void* dst, uint64_t bytes) const {
  auto* p = static_cast<char*>(dst);
  while (bytes > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(bytes, uint64_t(1) << 30));
    const ssize_t n = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      refuse(path_, what_, fmt::format("read error at byte {}: {}", offset, std::strerror(err)));
    }
    if (n == 0) return false;
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  return true;
}

std::string ReadOnlyFile::read_all(uint64_t max_bytes, std::string_view limit_hint) const {
  if (size_ > max_bytes) {
    refuse(path_, what_,
           fmt::format("is {} bytes, more than the {}-byte limit{}{}", size_, max_bytes, limit_hint.empty() ? "" : "; ",
                       limit_hint));
  }
  std::string out(static_cast<size_t>(size_), '\0');
  if (!read_at(0, out.data(), size_)) {
    refuse(path_, what_, "became shorter while it was read (is another program writing it?)");
  }
  return out;
}

void require_regular_file(const std::string& path, std::string_view what) { ReadOnlyFile check(path, what); }

}  // namespace datamux
