#include "compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "tensor_values.hpp"

namespace polyinfer::cli {

Comparison compareTensors(const Tensor& actual, const Tensor& expected, const Tolerance& tol) {
  Comparison c;
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) {
    c.ok = false;
    c.structuralMismatch = "expected " + expected.describe() + ", got " + actual.describe();
    return c;
  }
  c.elements = actual.elementCount();
  const DataType type = actual.dtype();

  if (type == DataType::String || !isNumeric(type)) {
    // Strings, complex, float8, sub-byte: compare exactly (bytes or strings).
    for (int64_t i = 0; i < c.elements; ++i) {
      bool same;
      if (type == DataType::String) {
        same = actual.strings()[static_cast<std::size_t>(i)] ==
               expected.strings()[static_cast<std::size_t>(i)];
      } else {
        const std::size_t unit = std::max<std::size_t>(1, bitsPerElement(type) / 8);
        // Sub-byte types compare whole packed bytes.
        const int64_t bytes = static_cast<int64_t>(actual.byteSize() / unit);
        if (i >= bytes) break;
        same = std::memcmp(static_cast<const char*>(actual.rawData()) + i * unit,
                           static_cast<const char*>(expected.rawData()) + i * unit, unit) == 0;
      }
      if (!same) {
        if (c.mismatches++ == 0) {
          c.worstFlat = i;
          c.worstIndex = multiIndex(actual.shape(), i);
          c.worstIndexDims = unravelIndex(actual.shape(), i);
          c.worstActual = formatElement(actual, i);
          c.worstExpected = formatElement(expected, i);
        }
      }
    }
    c.ok = c.mismatches == 0;
    return c;
  }

  const bool exact = isExact(type);
  double worstExcess = -1;
  for (int64_t i = 0; i < c.elements; ++i) {
    const double a = valueAt(actual, i);
    const double e = valueAt(expected, i);
    double diff;
    bool within;
    if (std::isnan(a) || std::isnan(e)) {
      within = std::isnan(a) && std::isnan(e);
      diff = within ? 0 : std::numeric_limits<double>::infinity();
    } else if (std::isinf(a) || std::isinf(e)) {
      within = a == e;
      diff = within ? 0 : std::numeric_limits<double>::infinity();
    } else {
      diff = std::fabs(a - e);
      within = exact ? a == e : diff <= tol.atol + tol.rtol * std::fabs(e);
    }
    if (std::isfinite(diff)) c.maxAbsDiff = std::max(c.maxAbsDiff, diff);
    else c.maxAbsDiff = diff;
    if (within) continue;
    ++c.mismatches;
    const double allowed = exact ? 0 : tol.atol + tol.rtol * (std::isfinite(e) ? std::fabs(e) : 0);
    const double excess = diff - allowed;
    if (excess > worstExcess) {
      worstExcess = excess;
      c.worstFlat = i;
      c.worstAbsDiff = diff;
    }
  }
  if (c.worstFlat >= 0) {
    c.worstIndex = multiIndex(actual.shape(), c.worstFlat);
    c.worstIndexDims = unravelIndex(actual.shape(), c.worstFlat);
    c.worstActual = formatElement(actual, c.worstFlat);
    c.worstExpected = formatElement(expected, c.worstFlat);
  }
  c.ok = c.mismatches == 0;
  return c;
}

namespace {

/// Adds `part` (compared at `where`) into `total`.
void merge(Comparison& total, const Comparison& part, const std::string& where) {
  total.elements += part.elements;
  total.mismatches += part.mismatches;
  total.maxAbsDiff = std::max(total.maxAbsDiff, part.maxAbsDiff);
  if (part.worstFlat >= 0 && (total.worstFlat < 0 || part.worstAbsDiff > total.worstAbsDiff)) {
    total.worstFlat = part.worstFlat;
    total.worstIndex = where.empty() ? part.worstIndex : where + " " + part.worstIndex;
    total.worstIndexDims = part.worstIndexDims;
    total.worstActual = part.worstActual;
    total.worstExpected = part.worstExpected;
    total.worstAbsDiff = part.worstAbsDiff;
  }
  total.ok = total.ok && part.ok;
}

/// Compares into `total`; returns false after a structural mismatch (set in total).
bool compareInto(Comparison& total, const Value& actual, const Value& expected, const Tolerance& tol,
                 const std::string& where) {
  const auto structural = [&](const std::string& text) {
    total.ok = false;
    total.structuralMismatch = (where.empty() ? std::string() : where + ": ") + text;
    return false;
  };
  if (actual.kind() != expected.kind())
    return structural("expected " + expected.describe() + ", got " + actual.describe());
  switch (expected.kind()) {
    case ValueKind::Tensor: {
      const Comparison part = compareTensors(actual.tensor(), expected.tensor(), tol);
      if (!part.structuralMismatch.empty()) return structural(part.structuralMismatch);
      merge(total, part, where);
      return true;
    }
    case ValueKind::Sequence: {
      const std::vector<Value>& a = actual.elements();
      const std::vector<Value>& e = expected.elements();
      if (a.size() != e.size())
        return structural(fmt::format("expected a sequence of {} elements, got {}", e.size(), a.size()));
      for (std::size_t i = 0; i < e.size(); ++i)
        if (!compareInto(total, a[i], e[i], tol, (where.empty() ? "" : where + " ") + "element " + std::to_string(i)))
          return false;
      return true;
    }
    case ValueKind::Optional:
      if (actual.hasValue() != expected.hasValue())
        return structural(std::string("expected an optional ") + (expected.hasValue() ? "holding a value" : "that is empty") +
                          ", got " + actual.describe());
      return !expected.hasValue() || compareInto(total, actual.contained(), expected.contained(), tol, where);
    case ValueKind::Map: {
      const Tensor& ek = expected.keys();
      const Tensor& ak = actual.keys();
      if (ak.dtype() != ek.dtype() || actual.values().dtype() != expected.values().dtype())
        return structural("expected " + expected.describe() + ", got " + actual.describe());
      if (ak.elementCount() != ek.elementCount())
        return structural(fmt::format("expected {} keys, got {}", ek.elementCount(), ak.elementCount()));
      // The actual values in the expected keys' order.
      std::vector<std::string> actualKeys;
      for (int64_t i = 0; i < ak.elementCount(); ++i) actualKeys.push_back(formatElement(ak, i));
      std::vector<int64_t> order;
      for (int64_t i = 0; i < ek.elementCount(); ++i) {
        const std::string key = formatElement(ek, i);
        const auto it = std::find(actualKeys.begin(), actualKeys.end(), key);
        if (it == actualKeys.end()) return structural("key " + key + " is missing");
        order.push_back(it - actualKeys.begin());
      }
      const Tensor& av = actual.values();
      Tensor reordered;
      if (av.dtype() == DataType::String) {
        std::vector<std::string> strings;
        for (int64_t k : order) strings.push_back(av.strings()[static_cast<std::size_t>(k)]);
        reordered = Tensor::fromStrings({static_cast<int64_t>(order.size())}, std::move(strings));
      } else {
        reordered = Tensor::allocate(av.dtype(), {static_cast<int64_t>(order.size())});
        const std::size_t unit = bitsPerElement(av.dtype()) / 8;
        for (std::size_t i = 0; i < order.size(); ++i)
          std::memcpy(static_cast<char*>(reordered.mutableRawData()) + i * unit,
                      static_cast<const char*>(av.rawData()) + static_cast<std::size_t>(order[i]) * unit, unit);
      }
      Comparison part = compareTensors(reordered, expected.values(), tol);
      if (part.worstFlat >= 0) part.worstIndex = "key " + formatElement(ek, part.worstFlat);
      merge(total, part, where);
      return true;
    }
  }
  return true;
}

}  // namespace

Comparison compareValues(const Value& actual, const Value& expected, const Tolerance& tol) {
  if (actual.isTensor() && expected.isTensor()) return compareTensors(actual.tensor(), expected.tensor(), tol);
  Comparison total;
  if (!compareInto(total, actual, expected, tol, "")) {
    total.elements = 0;
    total.mismatches = 0;
    total.worstFlat = -1;
  }
  total.ok = total.structuralMismatch.empty() && total.mismatches == 0;
  return total;
}

std::string Comparison::describe(const Tolerance& tol) const {
  if (!structuralMismatch.empty()) return structuralMismatch;
  if (ok)
    return fmt::format("all {} elements match (max abs diff {:.3g})", elements, maxAbsDiff);
  std::string text = fmt::format("{} of {} elements differ", mismatches, elements);
  if (worstFlat >= 0) {
    text += fmt::format("; worst at {}: actual {}, expected {}", worstIndex, worstActual,
                        worstExpected);
    if (worstAbsDiff > 0 || std::isinf(worstAbsDiff))
      text += fmt::format(", abs diff {:.6g}", worstAbsDiff);
  }
  text += fmt::format(" (atol {:g}, rtol {:g})", tol.atol, tol.rtol);
  return text;
}

}  // namespace polyinfer::cli
