// DataType, Shape, Tensor, Options and the plugin kit's option resolution.
#include <gtest/gtest.h>

#include "polyinfer/plugin_kit.hpp"
#include "test_support.hpp"

using namespace polyinfer;

namespace {

template <typename F>
ErrorCode codeOf(F&& f) {
  return test::errorOf(std::forward<F>(f)).code();
}

}  // namespace

TEST(DataTypeTest, NamesRoundTripForEveryOnnxType) {
  for (int v = 1; v <= 26; ++v) {
    const auto type = static_cast<DataType>(v);
    EXPECT_EQ(parseDataType(toString(type)), type) << v;
  }
  EXPECT_EQ(parseDataType("float"), DataType::Float32);
  EXPECT_EQ(parseDataType("Long"), DataType::Int64);
  EXPECT_EQ(bitsPerElement(DataType::Int4), 4u);
  EXPECT_EQ(bitsPerElement(DataType::Bool), 8u);
  EXPECT_EQ(denseByteSize(DataType::Int4, 3), 2u);
  EXPECT_EQ(denseByteSize(DataType::Int4, 17), 9u);
  EXPECT_EQ(denseByteSize(DataType::Complex128, 3), 48u);
  // Sizes that do not fit in size_t are refused, not wrapped.
  EXPECT_EQ(codeOf([] { denseByteSize(DataType::Complex128, int64_t{1} << 61); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([] { Tensor::allocate(DataType::Float64, {int64_t{1} << 31, int64_t{1} << 31}); }),
            ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([] { parseDataType("float33"); }), ErrorCode::InvalidArgument);
}

TEST(ShapeTest, ParsesAndPrints) {
  EXPECT_EQ(parseShape("1,3,224,224"), (Shape{1, 3, 224, 224}));
  EXPECT_EQ(parseShape("(1, 3)"), (Shape{1, 3}));
  EXPECT_EQ(parseShape("[5]"), (Shape{5}));
  EXPECT_EQ(parseShape("(5,)"), (Shape{5}));
  EXPECT_EQ(parseShape("()"), Shape{});
  EXPECT_EQ(parseShape("?,3", true), (Shape{-1, 3}));
  EXPECT_EQ(toString(Shape{-1, 3}), "[?,3]");
  EXPECT_EQ(codeOf([] { parseShape("?,3"); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([] { parseShape("1,x"); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(elementCount(Shape{}), 1);
  EXPECT_EQ(codeOf([] { elementCount(Shape{1LL << 40, 1LL << 40}); }), ErrorCode::InvalidArgument);
}

TEST(TensorTest, AllocateViewCloneAndTypedAccess) {
  Tensor t = Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(t.describe(), "float32[2,2]");
  EXPECT_EQ(t.byteSize(), 16u);
  Tensor shared = t;  // copies share storage
  shared.mutableData<float>()[0] = 9;
  EXPECT_EQ(t.data<float>()[0], 9);
  Tensor deep = t.clone();
  deep.mutableData<float>()[0] = 1;
  EXPECT_EQ(t.data<float>()[0], 9);
  EXPECT_EQ(codeOf([&] { t.data<int64_t>(); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(codeOf([] { Tensor::fromVector<float>({3}, {1, 2}); }), ErrorCode::InvalidArgument);

  auto released = std::make_shared<bool>(false);
  {
    auto buffer = std::shared_ptr<float[]>(new float[4]{}, [released](float* p) {
      *released = true;
      delete[] p;
    });
    Tensor v = Tensor::view(DataType::Float32, {4}, buffer.get(), 16, buffer);
    buffer.reset();
    EXPECT_FALSE(*released) << "the view's holder keeps the memory alive";
  }
  EXPECT_TRUE(*released);
  float raw[2];
  EXPECT_EQ(codeOf([&] { Tensor::view(DataType::Float32, {4}, raw, 8, nullptr); }),
            ErrorCode::InvalidArgument);

  Tensor s = Tensor::fromStrings({2}, {"a", "bc"});
  EXPECT_EQ(s.strings()[1], "bc");
  EXPECT_EQ(s.clone().strings(), s.strings());
  Tensor b = Tensor::fromVector<bool>({3}, {true, false, true});
  EXPECT_EQ(static_cast<const uint8_t*>(b.rawData())[2], 1);
  Tensor packed = Tensor::allocate(DataType::Int4, {5});
  EXPECT_EQ(packed.byteSize(), 3u);
  EXPECT_EQ(t.reshaped({4}).shape(), Shape{4});
  EXPECT_EQ(codeOf([&] { t.reshaped({3}); }), ErrorCode::InvalidArgument);
}

TEST(OptionsTest, TypedGettersCheckRanges) {
  Options o = Options::parse("a=1, b=abc ,c=-1,d=TRUE,e=parallel");
  EXPECT_EQ(o.getInt("a", 0, 10), 1);
  EXPECT_FALSE(o.getInt("zz", 0, 10).has_value());
  try {
    o.getInt("b", 0, 64);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("expected an integer in [0, 64], got 'abc'"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(codeOf([&] { o.getInt("c", 0, 64); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(o.getBool("d"), true);
  EXPECT_FALSE(o.getBool("absent").has_value());
  EXPECT_EQ(codeOf([&] { o.getBool("b"); }), ErrorCode::InvalidArgument);
  EXPECT_EQ(o.getChoice("e", {"SEQUENTIAL", "PARALLEL"}), "PARALLEL");
  EXPECT_EQ(codeOf([] { Options::parse("novalue"); }), ErrorCode::InvalidArgument);
}

TEST(OptionsTest, CanonicalizeResolvesAliasesAndRejectsUnknownKeys) {
  const std::vector<OptionSpec> specs{{"num_threads", {"intraOpNumThreads"}, ""},
                                      {"graph_optimizer", {}, ""}};
  Options o{{"intraOpNumThreads", "2"}};
  EXPECT_EQ(o.canonicalized(specs, "torch").getString("num_threads"), "2");
  try {
    Options{{"bogus", "1"}}.canonicalized(specs, "torch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("valid keys: num_threads (or intraOpNumThreads), graph_optimizer"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(codeOf([&] {
              Options{{"intraOpNumThreads", "2"}, {"num_threads", "3"}}.canonicalized(specs, "torch");
            }),
            ErrorCode::InvalidArgument);
}

TEST(OptionsTest, ResolveIntPrecedenceIsOptionThenEnvironmentThenDefault) {
  ::unsetenv("POLYINFER_TEST_THREADS");
  auto r = plugin::resolveInt(Options{}, "k", {"POLYINFER_TEST_THREADS"}, 3, "cores 3 / workers 1", 0, 64);
  EXPECT_EQ(r.value, 3);
  EXPECT_EQ(r.entry.source, ValueSource::Default);
  ::setenv("POLYINFER_TEST_THREADS", "5", 1);
  r = plugin::resolveInt(Options{}, "k", {"POLYINFER_TEST_THREADS"}, 3, "", 0, 64);
  EXPECT_EQ(r.value, 5);
  EXPECT_EQ(r.entry.source, ValueSource::Environment);
  r = plugin::resolveInt(Options{{"k", "7"}}, "k", {"POLYINFER_TEST_THREADS"}, 3, "", 0, 64);
  EXPECT_EQ(r.value, 7);
  EXPECT_EQ(r.entry.source, ValueSource::Explicit);
  ::setenv("POLYINFER_TEST_THREADS", "-1", 1);
  EXPECT_EQ(codeOf([] { plugin::resolveInt(Options{}, "k", {"POLYINFER_TEST_THREADS"}, 3, "", 0, 64); }),
            ErrorCode::InvalidArgument);
  ::unsetenv("POLYINFER_TEST_THREADS");
}

// ------------------------------------------------------------------ summarizeTrace

TEST(SummarizeTraceTest, NestedEventsCountOnceAsSelfTime) {
  // Thread 1: conv2d [0, 100) holds convolution [10, 90) holds kernel [20, 80);
  // relu [100, 110). Thread 2: another conv2d [5, 55) with nothing inside.
  const std::vector<OperatorStat> stats = summarizeTrace({
      {"aten::relu", 1, 100, 10},
      {"aten::conv2d", 1, 0, 100},
      {"aten::convolution", 1, 10, 80},
      {"kernel", 1, 20, 60},
      {"aten::conv2d", 2, 5, 50},
  });
  ASSERT_EQ(stats.size(), 4u);
  EXPECT_EQ(stats[0].opType, "aten::conv2d");  // 20 us self on thread 1 + 50 on thread 2
  EXPECT_EQ(stats[0].calls, 2);
  EXPECT_DOUBLE_EQ(stats[0].totalMs, 0.070);
  EXPECT_EQ(stats[1].opType, "kernel");
  EXPECT_DOUBLE_EQ(stats[1].totalMs, 0.060);
  EXPECT_EQ(stats[2].opType, "aten::convolution");
  EXPECT_DOUBLE_EQ(stats[2].totalMs, 0.020);
  EXPECT_EQ(stats[3].opType, "aten::relu");
  EXPECT_DOUBLE_EQ(stats[3].meanMs(), 0.010);
  OperatorProfile profile;
  profile.operators = stats;
  EXPECT_DOUBLE_EQ(profile.operatorMs(), 0.160);  // thread 1's 110 us + thread 2's 50 us
}

TEST(SummarizeTraceTest, SequentialEventsAreNotNested) {
  const std::vector<OperatorStat> stats =
      summarizeTrace({{"Conv", 0, 0, 10}, {"Conv", 0, 10, 10}, {"Relu", 0, 20, 5}});
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].calls, 2);
  EXPECT_DOUBLE_EQ(stats[0].totalMs, 0.020);
  EXPECT_DOUBLE_EQ(stats[1].totalMs, 0.005);
  EXPECT_TRUE(summarizeTrace({}).empty());
}
