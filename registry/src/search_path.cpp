// The default search path: the built-in plugin folder, found relative to the running executable (the
// `datamux` command, a test binary) and relative to this library (any program linking an installed
// datamux), then DATAMUX_PLUGIN_PATH. Works in the build tree (build/bin -> build/lib/datamux/plugins)
// and in an installed prefix (bin -> <libdir>/datamux/plugins).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "plugin_library.hpp"

#ifndef DATAMUX_PLUGIN_REL_DIR
#define DATAMUX_PLUGIN_REL_DIR "lib/datamux/plugins"
#endif

namespace datamux::detail {
namespace {

namespace fs = std::filesystem;

void add_if_dir(std::vector<std::string>& out, const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return;
  const std::string canon = fs::weakly_canonical(p, ec).string();
  if (ec) return;
  for (const auto& o : out)
    if (o == canon) return;
  out.push_back(canon);
}

// <prefix>/<rel> for the prefix above `dir` (dir is <prefix>/bin or <prefix>/<libdir>).
void add_candidates(std::vector<std::string>& out, const fs::path& dir) {
  const fs::path prefix = dir.parent_path();
  add_if_dir(out, prefix / DATAMUX_PLUGIN_REL_DIR);         // installed layout (libdir may be lib64, lib/<triplet>)
  add_if_dir(out, prefix / "lib" / "datamux" / "plugins");  // build tree
  add_if_dir(out, dir / "datamux" / "plugins");             // dir is the library folder itself
}

}  // namespace

std::vector<std::string> builtin_plugin_dirs() {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) add_candidates(out, exe.parent_path());
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&builtin_plugin_dirs), &info) && info.dli_fname) {
    const fs::path self = fs::weakly_canonical(fs::path(info.dli_fname), ec);
    if (!ec) add_candidates(out, self.parent_path());
  }
  return out;
}

std::vector<std::string> env_plugin_paths() {
  std::vector<std::string> out;
  const char* env = std::getenv("DATAMUX_PLUGIN_PATH");
  if (!env) return out;
  std::stringstream ss(env);
  std::string entry;
  while (std::getline(ss, entry, ':'))
    if (!entry.empty()) out.push_back(entry);
  return out;
}

}  // namespace datamux::detail
