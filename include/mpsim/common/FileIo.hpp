#pragma once
// Files in and out, safely: every input file is checked to be a regular file of bounded size before
// it is read (a device, a directory or a huge file is a LoadError naming the file); every output is
// written completely or not at all (temporary file + rename, each write checked); names taken from
// models become safe file names; a run's output directory is built aside and swapped into place
// only when the run succeeded (docs/run-config.md, "Output directory").
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace mpsim {

/// Size limits of input files (bytes). One home for each; docs/run-config.md lists them.
inline constexpr uint64_t kMaxConfigBytes = uint64_t(16) << 20; // run config, network YAML, FINN folding JSON
inline constexpr uint64_t kMaxModelBytes = uint64_t(2) << 30;   // ONNX model (protobuf's own limit is 2 GiB)
inline constexpr uint64_t kMaxJsonBytes =
    uint64_t(256) << 20;                 // compare inputs (.npy files are bounded by their header, func/Npy.cpp)
inline constexpr int kMaxJsonDepth = 64; // nesting of a JSON file given to compare

/// Reads a whole file after checking it is a regular file of at most maxBytes. `what` describes it
/// for messages ("run config", "ONNX model"). Throws LoadError naming the path.
std::string readFileLimited(const std::string& path, uint64_t maxBytes, const std::string& what);
/// Checks (without reading) that path is a readable regular file of at most maxBytes; returns its size.
uint64_t checkInputFile(const std::string& path, uint64_t maxBytes, const std::string& what);

/// Writes `content` to path completely or not at all: a temporary file next to it, checked writes,
/// flushed to disk, then renamed over path. Throws LoadError on any failure (disk full, no permission).
void writeFileAtomic(const std::string& path, const std::string& content);
/// `text` as a gzip stream (RFC 1952, zlib level 6, no file name, modification time 0: the same
/// text gives the same bytes). Throws std::runtime_error when zlib fails.
std::string gzipText(const std::string& text);

/// A file name derived from a model's name (a layer, a node): characters other than letters,
/// digits, '-', '_' and '.' become '_', a leading '.' becomes '_', empty becomes "_", long names
/// are cut. Never a path, never "." or "..".
std::string safeFileName(const std::string& name);

/// Safe, unique file names for the names of one model in one directory: the same (name, suffix)
/// always gets the same file name, and different ones never share a file, also when names sanitise
/// alike or one name plus its suffix spells another ("a/b" -> "a_b.npy", "a_b" -> "a_b~2.npy").
class FileNamer {
public:
  const std::string& operator()(const std::string& name, const std::string& suffix = "");

private:
  std::map<std::pair<std::string, std::string>, std::string> m_byName;
  std::set<std::string> m_used;
};

/// Throws Interrupted when SIGINT or SIGTERM arrived since installInterruptHandlers() (the CLI
/// checks at safe points; the simulator polls while it runs).
void throwIfInterrupted();
bool interruptRequested();
/// Installs handlers for SIGINT and SIGTERM that only record the signal; a second signal of the
/// same kind kills the process at once (default action).
void installInterruptHandlers();
/// The signal received (0 when none).
int interruptSignal();

/// A run's output directory, made safely. The run writes into dir() (a fresh temporary directory
/// next to the target, ".<name>.tmp-<pid>-<n>"); commit() swaps it into place atomically, so the
/// target holds either the previous complete result or the new one, never a mix. Without commit()
/// (failure, exception, interrupt) the destructor removes the temporary directory. A lock file
/// (".<name>.lock", flock) refuses a second run into the same target while one is writing it.
/// The target must be absent, empty, or an earlier mpsim output (it holds the marker file, or only
/// files mpsim writes); any other directory is refused, so a mistyped --out never deletes a user's
/// files.
class OutputDir {
public:
  explicit OutputDir(const std::string& target);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  /// Where to write the files of this run.
  const std::string& dir() const { return m_tmp; }
  /// Swaps the finished directory into place (the previous result is removed afterwards).
  void commit();
  const std::string& target() const { return m_target; }

  /// The marker file every mpsim output directory holds.
  static constexpr const char* kMarker = ".mpsim-output";

private:
  std::string m_target, m_tmp, m_lockPath;
  int m_lockFd = -1;
  bool m_committed = false;
};

} // namespace mpsim
