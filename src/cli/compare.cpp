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
