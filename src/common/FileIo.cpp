#include "mpsim/common/FileIo.hpp"

#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpsim/common/Error.hpp"

namespace mpsim {
namespace fs = std::filesystem;

namespace {
std::string sysError() { return std::strerror(errno); }

std::string bytesText(uint64_t b) {
  if (b >= (uint64_t(1) << 30) && b % (uint64_t(1) << 30) == 0) return std::to_string(b >> 30) + " GiB";
  if (b >= (uint64_t(1) << 20) && b % (uint64_t(1) << 20) == 0) return std::to_string(b >> 20) + " MiB";
  return std::to_string(b) + " bytes";
}
} // namespace

uint64_t checkInputFile(const std::string& path, uint64_t maxBytes, const std::string& what) {
  if (path.empty()) throw LoadError(what + ": the file name is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw LoadError(path + ": cannot open " + what + " (" + sysError() + ")");
  if (S_ISDIR(st.st_mode)) throw LoadError(path + ": is a directory; give the " + what + " as a file");
  if (!S_ISREG(st.st_mode))
    throw LoadError(path + ": is not a regular file (a device, pipe or socket); give the " + what + " as a file");
  if (uint64_t(st.st_size) > maxBytes)
    throw LoadError(path + ": " + what + " of " + std::to_string(st.st_size) + " bytes exceeds the limit of " +
                    bytesText(maxBytes));
  return uint64_t(st.st_size);
}

std::string readFileLimited(const std::string& path, uint64_t maxBytes, const std::string& what) {
  const uint64_t size = checkInputFile(path, maxBytes, what);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw LoadError(path + ": cannot open " + what + " (" + sysError() + ")");
  std::string out;
  out.resize(size_t(size));
  size_t got = 0;
  // Read at most the size seen by stat (+1 byte to notice a file that grows while read).
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string e = sysError();
      ::close(fd);
      throw LoadError(path + ": cannot read " + what + " (" + e + ")");
    }
    if (n == 0) break;
    got += size_t(n);
  }
  char extra;
  ssize_t more = ::read(fd, &extra, 1);
  ::close(fd);
  if (got != out.size() || more > 0) throw LoadError(path + ": " + what + " changed while it was read");
  return out;
}

void writeFileAtomic(const std::string& path, const std::string& content) {
  fs::path p(path);
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw LoadError(path + ": cannot write (" + sysError() + ")");
  auto fail = [&](const std::string& e) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw LoadError(path + ": cannot write (" + e + ")");
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(n < 0 ? sysError() : "short write");
    done += size_t(n);
  }
  if (::fchmod(fd, 0644) != 0) fail(sysError());
  if (::fsync(fd) != 0) fail(sysError());
  if (::close(fd) != 0) {
    ::unlink(tmpl.c_str());
    throw LoadError(path + ": cannot write (" + sysError() + ")");
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    std::string e = sysError();
    ::unlink(tmpl.c_str());
    throw LoadError(path + ": cannot write (" + e + ")");
  }
}

std::string safeFileName(const std::string& name) {
  std::string s;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                    ch == '_' || ch == '.';
    s += ok ? ch : '_';
  }
  if (s.empty()) s = "_";
  if (s[0] == '.') s[0] = '_'; // no hidden files, never "." or ".."
  if (s.size() > 100) s.resize(100);
  return s;
}

const std::string& FileNamer::operator()(const std::string& name, const std::string& suffix) {
  auto key = std::make_pair(name, suffix);
  auto it = m_byName.find(key);
  if (it != m_byName.end()) return it->second;
  const std::string base = safeFileName(name);
  std::string f = base + suffix;
  for (int k = 2; m_used.count(f); ++k) f = base + "~" + std::to_string(k) + suffix;
  m_used.insert(f);
  return m_byName.emplace(key, f).first->second;
}

// ---- interrupts ----
namespace {
std::atomic<int> g_signal{0};
extern "C" void onInterrupt(int sig) {
  if (g_signal.load() == sig) { // second time: stop now
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal.store(sig);
}
} // namespace

void installInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}
bool interruptRequested() { return g_signal.load() != 0; }
int interruptSignal() { return g_signal.load(); }
void throwIfInterrupted() {
  if (int s = g_signal.load()) throw Interrupted(s);
}

// ---- output directory ----
namespace {
bool pidAlive(long pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }

// Temporary directories of runs that were killed: ".<name>.tmp-<pid>-<n>" whose process is gone.
void removeStale(const fs::path& parent, const std::string& name) {
  std::error_code ec;
  const std::string prefix = "." + name + ".tmp-";
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.rfind(prefix, 0) != 0) continue;
    long pid = std::strtol(f.c_str() + prefix.size(), nullptr, 10);
    if (!pidAlive(pid)) fs::remove_all(it->path(), ec);
  }
}
// A directory written by an mpsim before the marker file existed: nothing in it but what mpsim
// writes (so replacing it never loses a user's file).
bool onlyMpsimFiles(const fs::path& d) {
  static const std::set<std::string> kFiles = {"report.json", "layers.csv", "effective-config.yaml", "map.json",
                                               "output.npy",  "input.npy",  "network.json"};
  std::error_code ec;
  for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f == "weights" && it->is_directory(ec)) {
      for (fs::directory_iterator w(it->path(), ec); !ec && w != end; w.increment(ec))
        if (w->path().extension() != ".npy") return false;
      continue;
    }
    if (!kFiles.count(f)) return false;
  }
  return !ec;
}
} // namespace

OutputDir::OutputDir(const std::string& target) {
  if (target.empty()) throw LoadError("--out: the output directory name is empty");
  fs::path t = fs::path(target).lexically_normal();
  if (t.filename().empty()) t = t.parent_path(); // "out/" -> "out"
  if (t.empty() || t == "." || t == ".." || t.filename() == "..")
    throw LoadError("--out " + target + ": give a directory of its own (not '.' or '..')");
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  const std::string name = t.filename().string();
  m_target = t.string();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw LoadError(target + ": cannot create the parent directory (" + ec.message() + ")");
  if (fs::exists(t, ec)) {
    if (!fs::is_directory(t, ec)) throw LoadError("--out " + target + ": exists and is not a directory");
    if (!fs::is_empty(t, ec) && !fs::exists(t / kMarker, ec) && !onlyMpsimFiles(t))
      throw LoadError("--out " + target + ": exists and is not an mpsim output directory (no " + kMarker +
                      "); give a new or empty directory, or remove it");
  }
  m_lockPath = (parent / ("." + name + ".lock")).string();
  m_lockFd = ::open(m_lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_lockFd < 0) throw LoadError(m_lockPath + ": cannot create the lock file (" + sysError() + ")");
  if (::flock(m_lockFd, LOCK_EX | LOCK_NB) != 0) {
    ::close(m_lockFd);
    m_lockFd = -1;
    throw BusyError("--out " + target + ": another mpsim run is writing this directory (lock " + m_lockPath +
                    "); wait for it or choose another --out");
  }
  removeStale(parent, name);
  static int counter = 0;
  m_tmp = (parent / ("." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++counter))).string();
  fs::remove_all(m_tmp, ec);
  fs::create_directory(m_tmp, ec);
  if (ec) {
    ::close(m_lockFd);
    throw LoadError(m_tmp + ": cannot create the output directory (" + ec.message() + ")");
  }
  try {
    writeFileAtomic((fs::path(m_tmp) / kMarker).string(), "mpsim output directory; files are replaced by each run\n");
  } catch (...) { // no destructor runs for a constructor that throws
    fs::remove_all(m_tmp, ec);
    ::close(m_lockFd);
    throw;
  }
}

OutputDir::~OutputDir() {
  std::error_code ec;
  if (!m_tmp.empty()) fs::remove_all(m_tmp, ec); // after commit it holds the previous result
  if (m_lockFd >= 0) ::close(m_lockFd);
}

void OutputDir::commit() {
  if (m_committed) return;
  throwIfInterrupted(); // the last safe point: an interrupted run changes nothing
  std::error_code ec;
  if (!fs::exists(m_target, ec)) {
    if (::rename(m_tmp.c_str(), m_target.c_str()) != 0)
      throw LoadError(m_target + ": cannot move the result into place (" + sysError() + ")");
    m_tmp.clear();
  } else {
    // Atomic swap of the new and the old directory; the old one (now at m_tmp) is removed below.
    if (::renameat2(AT_FDCWD, m_tmp.c_str(), AT_FDCWD, m_target.c_str(), RENAME_EXCHANGE) != 0) {
      // File systems without RENAME_EXCHANGE: move the old one aside first (a short window in
      // which the target is absent, never mixed).
      const std::string aside = m_tmp + ".old";
      if (::rename(m_target.c_str(), aside.c_str()) != 0)
        throw LoadError(m_target + ": cannot replace the previous result (" + sysError() + ")");
      if (::rename(m_tmp.c_str(), m_target.c_str()) != 0) {
        std::string e = sysError();
        ::rename(aside.c_str(), m_target.c_str());
        throw LoadError(m_target + ": cannot move the result into place (" + e + ")");
      }
      m_tmp = aside;
    }
  }
  m_committed = true;
  if (!m_tmp.empty()) fs::remove_all(m_tmp, ec);
  m_tmp.clear();
}

std::string gzipText(const std::string& text) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: zlib could not start");
  std::string out(deflateBound(&z, uLong(text.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = uInt(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t n = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: zlib failed (" + std::to_string(rc) + ")");
  out.resize(n);
  return out;
}

} // namespace mpsim
