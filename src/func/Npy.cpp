#include "mpsim/func/Npy.hpp"

#include "mpsim/common/FileIo.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "mpsim/common/Error.hpp"

namespace mpsim::func {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw LoadError(path + ": " + what); }

bool parseDescr(const std::string& d, NpyType& t) {
  // Single-byte types may use '|', '<' or '='; wider types must be little-endian ('<').
  if (d.size() < 3) return false;
  const char order = d[0];
  const std::string kind = d.substr(1);
  const bool oneByte = kind == "i1" || kind == "u1" || kind == "b1";
  if (oneByte) {
    if (order != '|' && order != '<' && order != '=') return false;
    t = kind == "i1" ? NpyType::Int8 : kind == "u1" ? NpyType::UInt8 : NpyType::Bool;
    return true;
  }
  if (order != '<') return false;
  if (kind == "i2")
    t = NpyType::Int16;
  else if (kind == "u2")
    t = NpyType::UInt16;
  else if (kind == "i4")
    t = NpyType::Int32;
  else if (kind == "i8")
    t = NpyType::Int64;
  else if (kind == "f4")
    t = NpyType::Float32;
  else if (kind == "f8")
    t = NpyType::Float64;
  else
    return false;
  return true;
}

// Finds the value text of 'key' in the header dict, i.e. what follows "'key':" with spaces skipped.
std::size_t findKey(const std::string& header, const std::string& key, const std::string& path) {
  std::size_t pos = header.find("'" + key + "'");
  if (pos == std::string::npos) pos = header.find("\"" + key + "\"");
  if (pos == std::string::npos) fail(path, "npy header has no '" + key + "' entry: " + header);
  pos = header.find(':', pos);
  if (pos == std::string::npos) fail(path, "npy header entry '" + key + "' has no value: " + header);
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  return pos;
}

template <typename T> T loadLE(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T)); // x86-64 and every platform mpsim targets are little-endian
  return v;
}

} // namespace

const char* toString(NpyType t) {
  switch (t) {
  case NpyType::Int8: return "int8";
  case NpyType::UInt8: return "uint8";
  case NpyType::Int16: return "int16";
  case NpyType::UInt16: return "uint16";
  case NpyType::Int32: return "int32";
  case NpyType::Int64: return "int64";
  case NpyType::Float32: return "float32";
  case NpyType::Float64: return "float64";
  case NpyType::Bool: return "bool";
  }
  return "?";
}

const char* npyDescr(NpyType t) {
  switch (t) {
  case NpyType::Int8: return "|i1";
  case NpyType::UInt8: return "|u1";
  case NpyType::Int16: return "<i2";
  case NpyType::UInt16: return "<u2";
  case NpyType::Int32: return "<i4";
  case NpyType::Int64: return "<i8";
  case NpyType::Float32: return "<f4";
  case NpyType::Float64: return "<f8";
  case NpyType::Bool: return "|b1";
  }
  return "?";
}

int npyItemSize(NpyType t) {
  switch (t) {
  case NpyType::Int8:
  case NpyType::UInt8:
  case NpyType::Bool: return 1;
  case NpyType::Int16:
  case NpyType::UInt16: return 2;
  case NpyType::Int32:
  case NpyType::Float32: return 4;
  case NpyType::Int64:
  case NpyType::Float64: return 8;
  }
  return 0;
}

int64_t NpyArray::elements() const {
  // readNpy checked that the product neither overflows nor disagrees with the data
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> NpyArray::toInt64() const {
  const int64_t n = elements();
  std::vector<int64_t> out(static_cast<std::size_t>(n));
  const unsigned char* p = bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = 0;
    switch (type) {
    case NpyType::Int8: v = loadLE<int8_t>(p + i); break;
    case NpyType::UInt8: v = loadLE<uint8_t>(p + i); break;
    case NpyType::Bool: v = loadLE<uint8_t>(p + i) != 0; break;
    case NpyType::Int16: v = loadLE<int16_t>(p + 2 * i); break;
    case NpyType::UInt16: v = loadLE<uint16_t>(p + 2 * i); break;
    case NpyType::Int32: v = loadLE<int32_t>(p + 4 * i); break;
    case NpyType::Int64: v = loadLE<int64_t>(p + 8 * i); break;
    case NpyType::Float32:
    case NpyType::Float64: {
      const double d =
          type == NpyType::Float32 ? static_cast<double>(loadLE<float>(p + 4 * i)) : loadLE<double>(p + 8 * i);
      if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18) {
        std::ostringstream os;
        os << toString(type) << " element at flat index " << i << " is " << d
           << ", not an integer (integer kernels need integral values)";
        fail(path, os.str());
      }
      v = static_cast<int64_t>(d);
      break;
    }
    }
    out[static_cast<std::size_t>(i)] = v;
  }
  return out;
}

std::vector<double> NpyArray::toDouble() const {
  const int64_t n = elements();
  std::vector<double> out(static_cast<std::size_t>(n));
  if (type == NpyType::Float32 || type == NpyType::Float64) {
    for (int64_t i = 0; i < n; ++i)
      out[static_cast<std::size_t>(i)] = type == NpyType::Float32
                                             ? static_cast<double>(loadLE<float>(bytes.data() + 4 * i))
                                             : loadLE<double>(bytes.data() + 8 * i);
  } else {
    const std::vector<int64_t> iv = toInt64();
    for (std::size_t i = 0; i < iv.size(); ++i) out[i] = static_cast<double>(iv[i]);
  }
  return out;
}

namespace {

// The header of an open .npy file of `fileSize` bytes; reads nothing beyond the header.
NpyHeader parseHeader(std::istream& f, const std::string& path, uint64_t fileSize) {
  static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  unsigned char pre[12] = {};
  const uint64_t preLen = std::min<uint64_t>(fileSize, sizeof pre);
  if (!f.read(reinterpret_cast<char*>(pre), static_cast<std::streamsize>(preLen)))
    fail(path, "cannot read the .npy header");
  if (fileSize < 10 || std::memcmp(pre, kMagic, 6) != 0) fail(path, "not a .npy file (missing the \\x93NUMPY magic)");
  const int major = pre[6];
  const int minor = pre[7];
  uint64_t headerLen = 0, headerStart = 0;
  if (major == 1) {
    headerLen = loadLE<uint16_t>(pre + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (fileSize < 12) fail(path, "truncated .npy header");
    headerLen = loadLE<uint32_t>(pre + 8);
    headerStart = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (1.0, 2.0 and 3.0 are supported)");
  }
  if (headerStart + headerLen > fileSize)
    fail(path, "truncated .npy header: it announces " + std::to_string(headerLen) + " bytes, the file has " +
                   std::to_string(fileSize - headerStart));
  if (headerLen > kMaxNpyHeaderBytes)
    fail(path, "npy header of " + std::to_string(headerLen) + " bytes is longer than the " +
                   std::to_string(kMaxNpyHeaderBytes) + " bytes accepted");
  std::string header(static_cast<std::size_t>(headerLen), '\0');
  f.seekg(static_cast<std::streamoff>(headerStart));
  if (!f.read(header.data(), static_cast<std::streamsize>(headerLen))) fail(path, "cannot read the .npy header");

  NpyHeader h;
  // descr
  std::size_t p = findKey(header, "descr", path);
  if (p >= header.size() || (header[p] != '\'' && header[p] != '"'))
    fail(path, "npy 'descr' is not a simple type string (structured dtypes are not supported): " + header);
  const char q = header[p];
  const std::size_t e = header.find(q, p + 1);
  if (e == std::string::npos) fail(path, "unterminated 'descr' string in npy header");
  const std::string descr = header.substr(p + 1, e - p - 1);
  if (!parseDescr(descr, h.type))
    fail(path, "unsupported dtype '" + descr +
                   "' (supported: little-endian int8, uint8, int16, uint16, int32, int64, float32, float64, bool)");
  // fortran_order
  p = findKey(header, "fortran_order", path);
  if (header.compare(p, 4, "True") == 0)
    fail(path, "fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)");
  if (header.compare(p, 5, "False") != 0) fail(path, "npy 'fortran_order' is neither True nor False");
  // shape: a tuple of non-negative integers; the element count and the byte count must not overflow.
  p = findKey(header, "shape", path);
  if (p >= header.size() || header[p] != '(') fail(path, "npy 'shape' is not a tuple: " + header);
  const std::size_t close = header.find(')', p);
  if (close == std::string::npos) fail(path, "unterminated 'shape' tuple in npy header");
  const std::string dims = header.substr(p + 1, close - p - 1);
  std::vector<std::string> items;
  {
    std::stringstream ss(dims);
    std::string item;
    while (std::getline(ss, item, ',')) items.push_back(item);
  }
  int64_t n = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const std::size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) {
      if (i + 1 == items.size() && i > 0) continue; // the trailing comma of a 1-tuple
      fail(path, "bad npy shape (" + dims + ")");
    }
    const std::size_t end = item.find_last_not_of(" \tL");
    const std::string num = item.substr(b, end - b + 1);
    char* stop = nullptr;
    errno = 0;
    const long long v = std::strtoll(num.c_str(), &stop, 10);
    if (num.empty() || *stop != '\0' || v < 0 || errno == ERANGE)
      fail(path, "bad dimension '" + num + "' in npy shape (" + dims + ")");
    h.shape.push_back(v);
    if (v == 0)
      n = 0;
    else if (!overflow && n > 0 && n > INT64_MAX / v)
      overflow = true;
    else if (!overflow)
      n *= v;
  }
  const int item = npyItemSize(h.type);
  if ((overflow && n != 0) || n > INT64_MAX / item)
    fail(path, "npy shape (" + dims + ") of " + toString(h.type) + " is too large (more than 2^63 bytes)");
  h.elements = n;
  h.data_offset = headerStart + headerLen;
  h.data_bytes = static_cast<uint64_t>(n) * static_cast<uint64_t>(item);
  const uint64_t have = fileSize - h.data_offset;
  if (have != h.data_bytes)
    fail(path, "data size mismatch: shape (" + dims + ") of " + toString(h.type) + " needs " +
                   std::to_string(h.data_bytes) + " bytes after the header, the file has " + std::to_string(have) +
                   (have < h.data_bytes ? " (truncated)" : " (extra bytes)"));
  return h;
}

// Opens `path` for reading and returns its size; a missing file, a directory or an unreadable file is
// a LoadError.
uint64_t openNpy(std::ifstream& f, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    fail(path, "cannot open .npy file (" + (ec ? ec.message() : std::string("no such file")) + ")");
  if (!fs::is_regular_file(st)) fail(path, "cannot open .npy file (not a regular file)");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot open .npy file (" + ec.message() + ")");
  f.open(path, std::ios::binary);
  if (!f) fail(path, "cannot open .npy file (" + std::string(std::strerror(errno)) + ")");
  return static_cast<uint64_t>(size);
}

} // namespace

NpyHeader readNpyHeader(const std::string& path) {
  std::ifstream f;
  const uint64_t size = openNpy(f, path);
  return parseHeader(f, path, size);
}

NpyArray readNpy(const std::string& path) {
  std::ifstream f;
  const uint64_t size = openNpy(f, path);
  const NpyHeader h = parseHeader(f, path, size);
  NpyArray a;
  a.path = path;
  a.type = h.type;
  a.shape = h.shape;
  // Exactly the bytes the header promises (the file size was checked against them).
  if (h.data_bytes > uint64_t(std::numeric_limits<std::ptrdiff_t>::max())) fail(path, "npy data too large to read");
  a.bytes.resize(static_cast<std::size_t>(h.data_bytes));
  f.seekg(static_cast<std::streamoff>(h.data_offset));
  if (h.data_bytes > 0 &&
      (!f.read(reinterpret_cast<char*>(a.bytes.data()), static_cast<std::streamsize>(h.data_bytes)) ||
       static_cast<uint64_t>(f.gcount()) != h.data_bytes))
    fail(path,
         "cannot read the " + std::to_string(h.data_bytes) + " data bytes (did the file change while it was read?)");
  return a;
}

void writeNpy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data) {
  std::string dict = std::string("{'descr': '") + npyDescr(type) + "', 'fortran_order': False, 'shape': (";
  int64_t n = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) fail(path, "cannot write a negative dimension");
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
    n *= shape[i];
  }
  dict += "), }";
  // Pad with spaces so that magic + length + header is a multiple of 64, ending with '\n'.
  bool v2 = false;
  std::size_t pre = 10;
  std::size_t total = ((pre + dict.size() + 1 + 63) / 64) * 64;
  if (total - pre > 65535) {
    v2 = true;
    pre = 12;
    total = ((pre + dict.size() + 1 + 63) / 64) * 64;
  }
  dict.append(total - pre - dict.size() - 1, ' ');
  dict += '\n';
  // Built in memory and written with writeFileAtomic: a reader never sees a partial file, and a
  // write that fails (a full disk) is an error.
  std::string out;
  out.reserve(8 + 4 + dict.size() + size_t(n) * size_t(npyItemSize(type)));
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(v2 ? 2 : 1), 0};
  out.append(reinterpret_cast<const char*>(magic), 8);
  if (v2) {
    const uint32_t len = static_cast<uint32_t>(dict.size());
    out.append(reinterpret_cast<const char*>(&len), 4);
  } else {
    const uint16_t len = static_cast<uint16_t>(dict.size());
    out.append(reinterpret_cast<const char*>(&len), 2);
  }
  out += dict;
  out.append(static_cast<const char*>(data), size_t(n) * size_t(npyItemSize(type)));
  writeFileAtomic(path, out);
}

graph::Shape npyShapeToNchw(const std::vector<int64_t>& shape, const std::string& path) {
  std::vector<int64_t> s = shape;
  while (s.size() > 4) {
    if (s.front() != 1) {
      std::string d;
      for (int64_t v : shape) d += (d.empty() ? "" : ", ") + std::to_string(v);
      fail(path, "rank-" + std::to_string(shape.size()) + " array (" + d +
                     ") does not map onto N, C, H, W (extra leading dimensions must be 1)");
    }
    s.erase(s.begin());
  }
  while (s.size() < 4) s.insert(s.begin(), 1);
  return graph::Shape{s[0], s[1], s[2], s[3]};
}

std::string npyShapeStr(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

Tensor toTensor(const NpyArray& a) {
  const std::string& path = a.path;
  const graph::Shape shape = npyShapeToNchw(a.shape, path);
  const std::vector<int64_t> v = a.toInt64();
  std::vector<int32_t> d(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < INT32_MIN || v[i] > INT32_MAX)
      fail(path, "element at flat index " + std::to_string(i) + " is " + std::to_string(v[i]) +
                     ", outside int32 (use readAccTensor for wide values)");
    d[i] = static_cast<int32_t>(v[i]);
  }
  return Tensor(shape, std::move(d));
}

AccTensor toAccTensor(const NpyArray& a) { return AccTensor(npyShapeToNchw(a.shape, a.path), a.toInt64()); }

Tensor readTensor(const std::string& path) { return toTensor(readNpy(path)); }
AccTensor readAccTensor(const std::string& path) { return toAccTensor(readNpy(path)); }

namespace {
/// The shape a tensor is written with: `shape`, or the tensor's own (N, C, H, W) when empty; an
/// error when it does not hold the tensor's elements.
template <typename T>
std::vector<int64_t> fileShape(const std::string& path, const BasicTensor<T>& t, std::vector<int64_t> shape) {
  const graph::Shape& s = t.shape();
  if (shape.empty()) shape = {s.n, s.c, s.h, s.w};
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != static_cast<int64_t>(t.size()))
    fail(path, "requested shape has " + std::to_string(n) + " elements, tensor " + s.str() + " has " +
                   std::to_string(t.size()));
  return shape;
}

template <typename T>
void writeTensor(const std::string& path, const BasicTensor<T>& t, std::vector<int64_t> shape, NpyType type) {
  writeNpy(path, type, fileShape(path, t, std::move(shape)), t.data());
}
} // namespace

void writeNpy(const std::string& path, const Tensor& t, std::vector<int64_t> shape) {
  writeTensor(path, t, std::move(shape), NpyType::Int32);
}
void writeNpy(const std::string& path, const AccTensor& t, std::vector<int64_t> shape) {
  writeTensor(path, t, std::move(shape), NpyType::Int64);
}

namespace {
template <typename T> NpyType narrowestType(const BasicTensor<T>& t) {
  if (t.empty()) return NpyType::Int8;
  const auto mm = std::minmax_element(t.values().begin(), t.values().end());
  const int64_t lo = static_cast<int64_t>(*mm.first), hi = static_cast<int64_t>(*mm.second);
  if (lo >= -128 && hi <= 127) return NpyType::Int8;
  if (lo >= 0 && hi <= 255) return NpyType::UInt8;
  if (lo >= -32768 && hi <= 32767) return NpyType::Int16;
  if (lo >= 0 && hi <= 65535) return NpyType::UInt16;
  if (lo >= INT32_MIN && hi <= INT32_MAX) return NpyType::Int32;
  return NpyType::Int64;
}

template <typename T> void writeNarrowTensor(const std::string& path, const BasicTensor<T>& t, std::vector<int64_t> shape) {
  const NpyType type = narrowestType(t);
  shape = fileShape(path, t, std::move(shape));
  auto put = [&](auto tag) { // every value fits U (narrowestType)
    using U = decltype(tag);
    std::vector<U> v(t.size());
    for (std::size_t i = 0; i < t.size(); ++i) v[i] = static_cast<U>(t[i]);
    writeNpy(path, type, shape, v.data());
  };
  switch (type) {
  case NpyType::Int8: put(int8_t{}); break;
  case NpyType::UInt8: put(uint8_t{}); break;
  case NpyType::Int16: put(int16_t{}); break;
  case NpyType::UInt16: put(uint16_t{}); break;
  case NpyType::Int32: put(int32_t{}); break;
  default: put(int64_t{}); break;
  }
}
} // namespace

void writeNarrowNpy(const std::string& path, const Tensor& t, std::vector<int64_t> shape) {
  writeNarrowTensor(path, t, std::move(shape));
}
void writeNarrowNpy(const std::string& path, const AccTensor& t, std::vector<int64_t> shape) {
  writeNarrowTensor(path, t, std::move(shape));
}

} // namespace mpsim::func
