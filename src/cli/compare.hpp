// Comparing an output with expected data (--expect).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polyinfer/tensor.hpp"
#include "polyinfer/value.hpp"

namespace polyinfer::cli {

/// |actual - expected| <= atol + rtol * |expected|, elementwise (numpy's
/// allclose rule). Integer and bool tensors must match exactly; NaN matches
/// NaN and an infinity matches the same infinity.
struct Tolerance {
  double atol = 1e-4;
  double rtol = 1e-3;
};

struct Comparison {
  bool ok = true;
  /// Set when dtype or shape differ (then nothing else is filled in).
  std::string structuralMismatch;
  int64_t elements = 0;
  int64_t mismatches = 0;    ///< elements outside the tolerance
  double maxAbsDiff = 0;     ///< over all elements (NaN pairs count as 0)
  /// The worst element: the mismatch with the largest |a - e| beyond its
  /// tolerance (or the first non-numeric mismatch).
  int64_t worstFlat = -1;
  std::string worstIndex;    ///< "[0,5]"
  std::vector<int64_t> worstIndexDims;  ///< {0, 5}
  std::string worstActual, worstExpected;
  double worstAbsDiff = 0;

  /// One line: "3 of 8 elements differ; worst at [0,5]: actual 0.52, expected
  /// 0.51, abs diff 0.01 (allowed 0.00061)", or the structural mismatch.
  std::string describe(const Tolerance& tolerance) const;
};

Comparison compareTensors(const Tensor& actual, const Tensor& expected, const Tolerance& tolerance);

/// compareTensors recursively, for sequences, maps and optionals: kinds,
/// sequence lengths, map keys (as sets: the order of a map's entries carries
/// no meaning) and optional presence first, each a structural mismatch
/// naming where ("element 2: expected 3 keys, got 2"); then every tensor and
/// map value within the tolerance, counted together, the worst named with
/// its place ("element 4 key 1").
Comparison compareValues(const Value& actual, const Value& expected, const Tolerance& tolerance);

}  // namespace polyinfer::cli
