// datamux/core/regular_file.hpp - open a file a user named, refusing anything that is not a regular file.
//
// A FIFO, socket or device given where a data file, checkpoint or pipeline is expected would block a
// reader forever (a FIFO with no writer) or stream without end (/dev/zero); a folder fails obscurely.
// These helpers look first (stat) and then open with O_NONBLOCK and check the opened descriptor
// (fstat), so they never block and never read from the wrong kind of file, even if the path changes
// in between. Every refusal is an InputError naming what the file was for and the path, and what to do.
//
//   ReadOnlyFile f("runs/x/model.safetensors", "checkpoint");   // throws for a FIFO, device, folder
//   std::string head = f.read_at(0, 8);
//   require_regular_file(base_path, "pipeline base file");      // for readers that open by path
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace datamux {

/// A regular file opened for reading (close-on-exec), closed by the destructor.
class ReadOnlyFile {
 public:
  /// `what` names the file's role in messages: "checkpoint '<path>': ..."; empty: "<path>: ...".
  /// Throws InputError: no such file, a folder, a FIFO / socket / device, or no permission.
  ReadOnlyFile(std::string path, std::string_view what);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  /// The size when opened.
  uint64_t size() const { return size_; }
  /// Reads exactly `bytes` at `offset` into `dst`; returns false if the file ends first (it shrank).
  /// Throws InputError on an I/O error.
  bool read_at(uint64_t offset, void* dst, uint64_t bytes) const;
  /// The whole file. Throws InputError naming `limit_hint` when it is larger than `max_bytes`.
  std::string read_all(uint64_t max_bytes, std::string_view limit_hint = {}) const;
  /// Hands the descriptor over (e.g. to gzdopen, which closes it); this object no longer owns it.
  int release();

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

/// Throws the same InputError as ReadOnlyFile unless `path` is a regular file that can be opened for
/// reading. For readers that must open by path themselves (TOML++, zlib): call this first.
void require_regular_file(const std::string& path, std::string_view what);

}  // namespace datamux
