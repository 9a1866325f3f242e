// Finished-run detection, the per-run lock and clearing a stale attempt.
#include <datamux/error.hpp>
#include <datamux/sweep/run_folder.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace datamux::runtime::sweep {
namespace fs = std::filesystem;

std::optional<nlohmann::json> finished_results(const std::string& run_dir) {
  std::ifstream in(fs::path(run_dir) / "results.json");
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("accuracy")) return std::nullopt;
  return j;
}

std::optional<RunLock> RunLock::try_acquire(const std::string& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw InputError(fmt::format("{}: cannot create the run folder: {}", run_dir, ec.message()));
  const std::string path = (fs::path(run_dir) / kLockFile).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open the run lock: {}", path, std::strerror(errno)));
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::nullopt;
    throw InputError(fmt::format("{}: cannot lock: {}", path, std::strerror(err)));
  }
  return RunLock(fd);
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

void clear_attempt(const std::string& run_dir) {
  for (const auto& e : fs::directory_iterator(run_dir)) {
    if (e.path().filename() == kLockFile) continue;
    std::error_code ec;
    fs::remove_all(e.path(), ec);
    if (ec) throw InputError(fmt::format("{}: cannot clear what an earlier attempt left: {}", e.path().string(), ec.message()));
  }
}

}  // namespace datamux::runtime::sweep
