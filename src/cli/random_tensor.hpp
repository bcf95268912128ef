// Seeded random input tensors (for -s, and for models with fixed declared shapes).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "polyinfer/tensor.hpp"

namespace polyinfer::cli {

enum class Distribution { Normal, Uniform };

struct RandomSettings {
  uint64_t seed = 0;
  Distribution floats = Distribution::Normal;  ///< N(0,1) or U(0,1)
  int64_t intLow = 0;                          ///< integers in [intLow, intHigh)
  int64_t intHigh = 10;
};

/// Makes random tensors from one seeded stream: the same settings and the same
/// sequence of requests give the same values on every platform (the
/// generator is std::mt19937_64; the distributions are computed here, not by
/// the standard library, whose distributions differ between implementations).
class RandomTensors {
 public:
  explicit RandomTensors(const RandomSettings& settings);

  /// Floats per the distribution, integers uniform in [intLow, intHigh)
  /// (clamped to the type's range), bools true with probability 1/2. Throws
  /// Error(InvalidArgument) for dtypes it cannot fill (string, complex, float8,
  /// sub-byte).
  Tensor make(DataType type, const Shape& shape);

 private:
  double uniform();  // [0, 1)
  double normal();
  RandomSettings settings_;
  std::mt19937_64 engine_;
  bool haveSpare_ = false;
  double spare_ = 0;
};

}  // namespace polyinfer::cli
