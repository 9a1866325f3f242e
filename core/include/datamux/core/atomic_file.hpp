// datamux/core/atomic_file.hpp - files that appear whole or not at all.
//
// Checkpoints and results are written to a temporary file in the destination's own folder, flushed
// to disk (fsync), then renamed over the destination. A crash or an exception mid-write leaves the
// previous file untouched and no partial one behind: readers see the old content or the new, never a
// mix. The temporary file is removed if the writer is destroyed before commit().
//
//   AtomicFile f("runs/x/model.safetensors");
//   f.write(header.data(), header.size());
//   f.write(tensor_bytes, n);
//   f.commit();  // fsync, rename, fsync the folder
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace datamux {

class AtomicFile {
 public:
  /// Creates the temporary file next to `path`. Throws InputError (naming `path`) if the folder does not
  /// exist or is not writable.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes. Throws InputError naming the destination on a write error (e.g. disk full).
  void write(const void* data, std::size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  /// Flushes to disk and renames over the destination. Call once; no write() after it.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  void discard() noexcept;

  std::string path_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Writes `content` to `path` atomically (see AtomicFile).
void write_file_atomic(const std::string& path, std::string_view content);

/// Removes from `folder` every temporary file an AtomicFile left behind (".<name>.tmp.<pid>.<n>")
/// whose writer process is gone (killed before it could rename or remove it). Returns how many.
int remove_stale_temp_files(const std::string& folder);

}  // namespace datamux
