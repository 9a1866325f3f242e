// OpenMP's wait policy for the `datamux` command, set before libgomp reads it.
//
// libgomp reads OMP_WAIT_POLICY once, when it is loaded, and by default a thread that reaches a barrier
// spins for a while before sleeping. On a host whose cores are shared with other jobs (our 2-core
// development machines, CI runners, a cluster node) a spinning thread burns the time slice its
// preempted sibling needs: `datamux bench` measured one encoder layer 3-4x slower and 53% of all
// samples in libgomp's spin loop (docs/performance.md). So when the user has not chosen a policy, the
// command re-executes itself once with OMP_WAIT_POLICY=passive; an explicit OMP_WAIT_POLICY (e.g.
// "active" on a dedicated machine) is left alone.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

bool reexec_with_passive_wait() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return false;
  if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0) return false;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (raw.empty()) return false;
  std::vector<std::string> args;
  for (std::size_t start = 0; start < raw.size();) {
    const std::size_t end = raw.find('\0', start);
    args.push_back(raw.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  return false;  // exec failed: carry on with the default policy (the environment variable stays set)
}

const bool g_reexecuted = reexec_with_passive_wait();

}  // namespace
