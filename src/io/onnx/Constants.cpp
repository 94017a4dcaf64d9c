// ONNX importer: tensors and constants (initialisers, Constant, Shape) and constant folding: every
// node whose inputs are all constants is evaluated here (shape arithmetic, weight transposes and
// reshapes, weight quantisers).
#include "Importer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace mpsim::io::onnx_import {

Const Importer::tensorToConst(const onnx::TensorProto& t, const std::string& what) const {
  Const c;
  int64_t n = 1;
  for (auto d : t.dims()) {
    if (d < 0 || d > kMaxDim) fail(what + ": dimension " + std::to_string(d) + " is out of range");
    c.dims.push_back(d);
    n *= d;
    if (n > kMaxElements) fail(what + ": tensor is too large (more than 2^28 elements)");
  }
  if (t.has_data_location() && t.data_location() == onnx::TensorProto::EXTERNAL)
    fail(what + ": external tensor data is not supported (save the model with the data embedded)");
  const std::string& raw = t.raw_data();
  auto bad = [&](const std::string& why) { fail(what + ": " + why); };
  int dt = t.data_type();
  size_t esz = 0;
  switch (dt) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32: esz = 4; break;
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64: esz = 8; break;
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::FLOAT16: esz = 2; break;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL: esz = 1; break;
  default: bad("data type " + std::to_string(dt) + " is not supported (numeric tensors only)");
  }
  c.v.resize(size_t(n));
  if (!raw.empty()) {
    if (raw.size() != size_t(n) * esz)
      bad("raw_data holds " + std::to_string(raw.size()) + " bytes, dims " + dimsStr(c.dims) + " need " +
          std::to_string(size_t(n) * esz));
    const unsigned char* p = reinterpret_cast<const unsigned char*>(raw.data());
    for (int64_t i = 0; i < n; ++i, p += esz) {
      double x = 0;
      switch (dt) {
      case onnx::TensorProto::FLOAT: {
        float f;
        std::memcpy(&f, p, 4);
        x = f;
        break;
      }
      case onnx::TensorProto::DOUBLE: {
        double f;
        std::memcpy(&f, p, 8);
        x = f;
        break;
      }
      case onnx::TensorProto::INT32: {
        int32_t f;
        std::memcpy(&f, p, 4);
        x = f;
        break;
      }
      case onnx::TensorProto::UINT32: {
        uint32_t f;
        std::memcpy(&f, p, 4);
        x = f;
        break;
      }
      case onnx::TensorProto::INT64: {
        int64_t f;
        std::memcpy(&f, p, 8);
        x = double(f);
        break;
      }
      case onnx::TensorProto::UINT64: {
        uint64_t f;
        std::memcpy(&f, p, 8);
        x = double(f);
        break;
      }
      case onnx::TensorProto::INT16: {
        int16_t f;
        std::memcpy(&f, p, 2);
        x = f;
        break;
      }
      case onnx::TensorProto::UINT16: {
        uint16_t f;
        std::memcpy(&f, p, 2);
        x = f;
        break;
      }
      case onnx::TensorProto::FLOAT16: {
        uint16_t h;
        std::memcpy(&h, p, 2);
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double mag = e == 0    ? std::ldexp(m, -24)
                     : e == 31 ? std::numeric_limits<double>::infinity()
                               : std::ldexp(m + 1024, e - 25);
        x = (h & 0x8000) ? -mag : mag;
        break;
      }
      case onnx::TensorProto::INT8: x = int8_t(*p); break;
      default: x = *p; break;
      }
      c.v[size_t(i)] = x;
    }
  } else {
    int64_t have = 0;
    auto take = [&](auto&& field) {
      have = field.size();
      if (have == n)
        for (int64_t i = 0; i < n; ++i) c.v[size_t(i)] = double(field.Get(int(i)));
    };
    switch (dt) {
    case onnx::TensorProto::FLOAT: take(t.float_data()); break;
    case onnx::TensorProto::DOUBLE: take(t.double_data()); break;
    case onnx::TensorProto::INT64: take(t.int64_data()); break;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64: take(t.uint64_data()); break;
    default: take(t.int32_data()); break; // int8/16/32, uint8/16, bool, float16 bits
    }
    if (dt == onnx::TensorProto::FLOAT16) bad("FLOAT16 tensors stored outside raw_data are not supported");
    if (have != n)
      bad("holds " + std::to_string(have) + " values, dims " + dimsStr(c.dims) + " need " + std::to_string(n));
  }
  c.hasVals = true;
  return c;
}

void Importer::opConstant(const onnx::NodeProto& n, const std::string&, bool) {
  Const c;
  if (auto* a = attr(n, "value"))
    c = tensorToConst(a->t(), "node '" + n.name() + "' (Constant)");
  else if (auto* a2 = attr(n, "value_float"))
    c.v = {a2->f()}, c.hasVals = true;
  else if (auto* a3 = attr(n, "value_int"))
    c.v = {double(a3->i())}, c.hasVals = true;
  else if (auto* a4 = attr(n, "value_ints")) {
    for (auto v : a4->ints()) c.v.push_back(double(v));
    c.dims = {int64_t(c.v.size())};
    c.hasVals = true;
  } else if (auto* a5 = attr(n, "value_floats")) {
    for (auto v : a5->floats()) c.v.push_back(v);
    c.dims = {int64_t(c.v.size())};
    c.hasVals = true;
  } else
    failNode(n, "needs a 'value' attribute");
  setConst(n, c);
}

void Importer::opShape(const onnx::NodeProto& n, const std::string&, bool) {
  const Value& v = in(n, 0);
  Const c;
  const auto& d = v.isConst ? v.c.dims : v.d.dims;
  for (auto x : d) c.v.push_back(double(x));
  c.dims = {int64_t(d.size())};
  c.hasVals = true;
  setConst(n, c);
}

// ---- constant folding (every input a constant) ----

void Importer::foldArith(const onnx::NodeProto& n, const std::string& op, bool) {
  auto broadcastDims = [&](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<int64_t> r(std::max(a.size(), b.size()), 1);
    for (size_t i = 0; i < r.size(); ++i) {
      int64_t da = i < r.size() - a.size() ? 1 : a[i - (r.size() - a.size())];
      int64_t db = i < r.size() - b.size() ? 1 : b[i - (r.size() - b.size())];
      if (da != db && da != 1 && db != 1) failNode(n, "cannot broadcast " + dimsStr(a) + " with " + dimsStr(b));
      r[i] = std::max(da, db);
    }
    return r;
  };
  const Const& a = cin(n, 0, "operand");
  const Const& b = cin(n, 1, "operand");
  Const r;
  r.dims = broadcastDims(a.dims, b.dims);
  r.q = a.q.set ? a.q : b.q;
  auto f = [&](double x, double y) {
    if (op == "Add") return x + y;
    if (op == "Sub") return x - y;
    if (op == "Mul") return x * y;
    if (op == "Div") return y == 0 ? 0.0 : x / y;
    return std::pow(x, y);
  };
  r.q.scaled = false;
  r.q.scale = {1.0};
  r.q.scaleAxis = -1;
  if (a.q.scaled || b.q.scaled) r.q.noValues = "its quantised weights are changed by " + op + " '" + n.name() + "'";
  if (a.hasVals && b.hasVals && (a.elements() == 1 || b.elements() == 1 || a.dims == b.dims)) {
    const std::vector<double> fa = a.floats(), fb = b.floats();
    r.v.resize(size_t(r.elements()));
    for (size_t i = 0; i < r.v.size(); ++i) r.v[i] = f(fa[a.elements() == 1 ? 0 : i], fb[b.elements() == 1 ? 0 : i]);
    r.hasVals = true;
  }
  setConst(n, r);
}

void Importer::foldReshape(const onnx::NodeProto& n, const std::string&, bool) {
  Const r = cin(n, 0, "data");
  const Const& sh = cvals(n, 1, "shape");
  std::vector<int64_t> nd;
  int64_t known = 1, minus = -1;
  for (size_t i = 0; i < sh.v.size(); ++i) {
    int64_t d = toI64(sh.v[i]);
    if (d == 0 && i < r.dims.size()) d = r.dims[i];
    if (d == -1 && minus < 0) {
      minus = int64_t(i);
      nd.push_back(1);
      continue;
    }
    if (d < 1 || d > kMaxDim) failNode(n, "invalid target dimension " + std::to_string(d));
    known *= d;
    if (known > kMaxElements) failNode(n, "target shape is too large");
    nd.push_back(d);
  }
  if (minus >= 0) {
    if (known == 0 || r.elements() % known) failNode(n, "cannot infer the -1 dimension");
    nd[size_t(minus)] = r.elements() / known;
  }
  Const t = r;
  t.dims = nd;
  if (t.elements() != r.elements())
    failNode(n, "reshape from " + dimsStr(r.dims) + " to " + dimsStr(nd) + " changes the number of elements");
  if (r.q.axis >= 0) t.q.axis = -1;
  dropScaleAxis(t.q, "Reshape");
  setConst(n, t);
}

void Importer::foldTranspose(const onnx::NodeProto& n, const std::string&, bool) {
  const Const& a = cin(n, 0, "data");
  size_t rk = a.dims.size();
  std::vector<int64_t> perm = attrInts(n, "perm", {});
  if (perm.empty())
    for (size_t i = 0; i < rk; ++i) perm.push_back(int64_t(rk - 1 - i));
  if (perm.size() != rk)
    failNode(n, "perm has " + std::to_string(perm.size()) + " entries for a rank-" + std::to_string(rk) + " tensor");
  std::vector<bool> seen(rk, false);
  for (auto p : perm) {
    if (p < 0 || p >= int64_t(rk) || seen[size_t(p)]) failNode(n, "perm " + dimsStr(perm) + " is not a permutation");
    seen[size_t(p)] = true;
  }
  Const r;
  r.q = a.q;
  for (auto p : perm) r.dims.push_back(a.dims[size_t(p)]);
  if (a.q.axis >= 0)
    for (size_t i = 0; i < rk; ++i)
      if (perm[i] == a.q.axis) r.q.axis = int(i);
  if (a.q.scaleAxis >= 0)
    for (size_t i = 0; i < rk; ++i)
      if (perm[i] == a.q.scaleAxis) r.q.scaleAxis = int(i);
  if (a.hasVals && rk <= 6) {
    r.v.resize(a.v.size());
    std::vector<int64_t> strideA(rk, 1);
    for (size_t i = rk; i-- > 1;) strideA[i - 1] = strideA[i] * a.dims[i];
    std::vector<int64_t> idx(rk, 0);
    for (size_t o = 0; o < r.v.size(); ++o) {
      int64_t src = 0;
      for (size_t i = 0; i < rk; ++i) src += idx[i] * strideA[size_t(perm[i])];
      r.v[o] = a.v[size_t(src)];
      for (size_t i = rk; i-- > 0;) {
        if (++idx[i] < r.dims[i]) break;
        idx[i] = 0;
      }
    }
    r.hasVals = true;
  }
  setConst(n, r);
}

void Importer::foldSqueeze(const onnx::NodeProto& n, const std::string& op, bool) {
  Const r = cin(n, 0, "data");
  std::vector<int64_t> nd = squeezedDims(n, r.dims, false);
  r.dims = nd;
  r.q.axis = -1;
  dropScaleAxis(r.q, op);
  setConst(n, r);
}

void Importer::foldFlatten(const onnx::NodeProto& n, const std::string&, bool) {
  Const r = cin(n, 0, "data");
  int64_t axis = attrInt(n, "axis", 1);
  if (axis < 0) axis += int64_t(r.dims.size());
  if (axis < 0 || axis > int64_t(r.dims.size())) failNode(n, "axis out of range");
  int64_t a = 1, b = 1;
  for (size_t i = 0; i < r.dims.size(); ++i) (int64_t(i) < axis ? a : b) *= r.dims[i];
  r.dims = {a, b};
  r.q.axis = -1;
  dropScaleAxis(r.q, "Flatten");
  setConst(n, r);
}

void Importer::foldConcat(const onnx::NodeProto& n, const std::string&, bool) {
  Const r;
  int64_t axis = attrInt(n, "axis", 0);
  for (int i = 0; i < n.input_size(); ++i) {
    const Const& c = cvals(n, i, "input");
    if (c.dims.size() > 1 || (axis != 0 && axis != -1))
      failNode(n, "constant Concat is supported for 1-D tensors only");
    r.v.insert(r.v.end(), c.v.begin(), c.v.end());
    if (r.v.size() > size_t(kMaxElements)) failNode(n, "result is too large");
  }
  r.dims = {int64_t(r.v.size())};
  r.hasVals = true;
  setConst(n, r);
}

void Importer::foldGather(const onnx::NodeProto& n, const std::string&, bool) {
  const Const& d = cvals(n, 0, "data");
  const Const& ix = cvals(n, 1, "indices");
  int64_t axis = attrInt(n, "axis", 0);
  if (d.dims.size() != 1 || (axis != 0 && axis != -1) || ix.dims.size() > 1)
    failNode(n, "constant Gather is supported for 1-D data and scalar or 1-D indices only");
  Const r;
  r.dims = ix.dims;
  for (double v : ix.v) {
    int64_t i = toI64(v);
    if (i < 0) i += d.dims[0];
    if (i < 0 || i >= d.dims[0]) failNode(n, "index " + std::to_string(i) + " is out of range");
    r.v.push_back(d.v[size_t(i)]);
  }
  r.hasVals = true;
  setConst(n, r);
}

void Importer::foldUnary(const onnx::NodeProto& n, const std::string& op, bool) {
  Const r = cin(n, 0, "data");
  if (op == "Relu" && r.hasVals)
    for (auto& v : r.v) v = std::max(v, 0.0);
  setConst(n, r);
}

void Importer::foldQuant(const onnx::NodeProto& n, const std::string& op, bool) {
  Const r = cin(n, 0, "weights");
  QInfo q;
  q.set = true;
  if (op == "BipolarQuant") {
    q.bits = {1};
    q.bipolar = true;
  } else {
    const Const& bw = cvals(n, 3, "bit width");
    q.isSigned = attrInt(n, "signed", 1) != 0;
    std::set<int> distinct;
    for (double b : bw.v) {
      if (!(b >= 1 && b <= 32) || b != std::floor(b))
        failNode(n, "bit width " + std::to_string(b) + " is not an integer in 1..32");
      q.bits.push_back(int(b));
      distinct.insert(int(b));
    }
    if (q.bits.empty()) failNode(n, "bit width tensor is empty");
    if (distinct.size() == 1)
      q.bits = {q.bits[0]};
    else {
      // Find the one axis of the weights the widths vary along.
      size_t off = r.dims.size() - std::min(r.dims.size(), bw.dims.size());
      for (size_t i = 0; i < bw.dims.size() && i + off < r.dims.size(); ++i)
        if (bw.dims[i] > 1) {
          if (q.axis >= 0 || bw.dims[i] != r.dims[i + off])
            failNode(n, "per-element bit widths " + dimsStr(bw.dims) + " must vary along one axis of the weights " +
                            dimsStr(r.dims));
          q.axis = int(i + off);
        }
      if (q.axis < 0)
        failNode(n, "bit width tensor " + dimsStr(bw.dims) + " does not match the weights " + dimsStr(r.dims));
    }
  }
  // The integers: QONNX Quant q = clamp(round(x / scale + zero_point)); BipolarQuant sign(x).
  const Const& sc = cin(n, 1, "scale");
  const int sAxis = paramAxis(sc, r.dims);
  q.scaled = true;
  if (sc.hasVals) requireUsableScale(n, sc.v);
  if (!sc.hasVals || sAxis == -2)
    q.noValues = "the scale of '" + n.name() + "' varies along more than one axis";
  else if (std::any_of(sc.v.begin(), sc.v.end(), [](double v) { return !(v > 0) || !std::isfinite(v); }))
    q.noValues = "'" + n.name() + "' has a scale that is not positive";
  else {
    q.scale = sc.v;
    q.scaleAxis = sAxis;
  }
  if (op == "Quant") {
    const Const& zp = cin(n, 2, "zero point");
    if (!zp.hasVals || std::any_of(zp.v.begin(), zp.v.end(), [](double z) { return z != 0; }))
      q.noValues = "'" + n.name() + "' has a non-zero weight zero point";
  }
  if (q.noValues.empty() && r.hasVals) {
    const std::string rm = attrStr(n, "rounding_mode", "ROUND");
    const bool narrow = attrInt(n, "narrow", 0) != 0;
    for (size_t e = 0; e < r.v.size(); ++e) {
      const double s = q.scale[q.scaleAxis < 0 ? 0 : size_t(r.indexAlong(int64_t(e), q.scaleAxis))];
      if (q.bipolar) {
        r.v[e] = r.v[e] / s >= 0 ? 1 : -1;
        continue;
      }
      const int bits = q.bits.size() == 1 ? q.bits[0] : q.bits[size_t(r.indexAlong(int64_t(e), q.axis))];
      double lo = q.isSigned ? -std::ldexp(1.0, bits - 1) + (narrow ? 1 : 0) : 0;
      double hi = q.isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1 - (narrow ? 1 : 0);
      r.v[e] = std::clamp(roundMode(r.v[e] / s, rm), lo, hi);
    }
  }
  r.q = q;
  setConst(n, r);
}

} // namespace mpsim::io::onnx_import
