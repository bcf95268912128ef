// `polyinfer predict` and `bench` on models whose inputs or outputs are
// sequences, maps or optionals, or that have no inputs: value files in ONNX's
// test layout for -i and --expect (compared recursively), -o writing .pb
// files for non-tensors, and one error line naming the error code. The
// models are tools/gen_value_models.py's; the registry picks their engine.
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "polyinfer/tensor_io.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using namespace clitest;
using ::testing::HasSubstr;
using ::testing::Not;

std::string model(const std::string& name) { return test::modelFile(name, "model.onnx").string(); }
std::string valueSet(const std::string& name, int k) {
  return test::modelFile(name, "test_data_set_" + std::to_string(k)).string();
}

TEST_F(CliTest, ValueModelsMatchTheirExpectedOutputs) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"loop_seq", 0}, {"loop_seq", 1}, {"if_optional", 0}, {"if_optional", 1}, {"seq_input", 0},
      {"optional_input", 0}, {"optional_input", 1}, {"map_input", 0}};
  for (const auto& [name, k] : cases) {
    const RunResult r = run({"predict", "-u", model(name), "-i", valueSet(name, k), "--expect", valueSet(name, k)});
    EXPECT_EQ(r.exitCode, 0) << name << " set " << k << "\n" << r.out << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr("MISMATCH"))) << name;
  }
}

TEST_F(CliTest, ZipMapOutputsEqualPredictProba) {
  if (!POLYINFER_HAVE_SK_MODELS) GTEST_SKIP() << "scikit-learn models not generated (.deps/venv/sklearn missing)";
  for (const std::string name : {"sk_logreg", "sk_forest", "sk_forest_strlabels"}) {
    const RunResult r = run({"predict", "-u", model(name), "-i", valueSet(name, 0), "--expect", valueSet(name, 0),
                             "--atol", "1e-5", "--rtol", "0", "--json"});
    EXPECT_EQ(r.exitCode, 0) << name << "\n" << r.out << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["outputs"][1]["kind"], "sequence");
    EXPECT_EQ(j["outputs"][1]["elements"].size(), 5u);
    EXPECT_EQ(j["outputs"][1]["elements"][0]["kind"], "map");
    EXPECT_EQ(j["expect"]["results"][1]["elements"], 15) << name;  // 5 rows x 3 classes
  }
}

TEST_F(CliTest, ValueMismatchExits1NamingWhere) {
  // loop_seq's set 1 (n = 0) expects an empty sequence; set 0 makes three.
  RunResult r = run({"predict", "-u", model("loop_seq"), "-i", valueSet("loop_seq", 0), "--expect",
                     valueSet("loop_seq", 1) + "/output_0.pb"});
  expectErrorCode(r, 1, "Mismatch");
  EXPECT_THAT(r.err, HasSubstr("expected a sequence of 0 elements, got 3"));
  // An optional that should be empty holds a value.
  r = run({"predict", "-u", model("if_optional"), "-i", valueSet("if_optional", 0), "--expect",
           valueSet("if_optional", 1)});
  expectErrorCode(r, 1, "Mismatch");
  EXPECT_THAT(r.err, HasSubstr("expected an optional that is empty"));
}

TEST_F(CliTest, AValueFileOfAnotherKindIsNamed) {
  // A SequenceProto where the model declares a tensor (loop_seq's x).
  RunResult r = run({"predict", "-u", model("loop_seq"), "-i",
                     "x=" + valueSet("seq_input", 0) + "/input_0.pb", "-i", valueSet("loop_seq", 0) + "/input_1.pb"});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("expected a tensor (onnx.TensorProto), but the file holds a sequence"));
  // A map where a sequence is declared.
  r = run({"predict", "-u", model("seq_input"), "-i", valueSet("map_input", 0) + "/input_0.pb"});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("holds a map (onnx.MapProto)"));
  // Random data cannot stand in for a sequence.
  r = run({"predict", "-u", model("seq_input")});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("input 'parts' is seq(float32[?,2])"));
}

TEST_F(CliTest, UnsupportedIsNamedApartFromBadInput) {
  // An empty sequence as input: valid data, but ONNX Runtime cannot take it.
  const fs::path empty = dir_ / "empty_seq.pb";
  io::writeValueFile(empty, "parts", Value::sequence({}));
  const RunResult r = run({"predict", "-u", model("seq_input"), "-i", empty.string()});
  expectErrorCode(r, 1, "Unsupported");
  EXPECT_THAT(r.err, HasSubstr("empty sequence"));
}

TEST_F(CliTest, OutputDirWritesValueFilesThatReadBack) {
  const fs::path out = dir_ / "values_out";
  const RunResult r = run({"predict", "-u", model("loop_seq"), "-i", valueSet("loop_seq", 0), "-o", out.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const NamedValue seq = io::readValueFile(out / "seq.pb");
  EXPECT_EQ(seq.name, "seq");
  ASSERT_EQ(seq.value.kind(), ValueKind::Sequence);
  EXPECT_EQ(seq.value.elements().size(), 3u);
  EXPECT_TRUE(fs::exists(out / "stacked.npy"));
  // What -o wrote is what --expect takes.
  const RunResult again = run({"predict", "-u", model("loop_seq"), "-i", valueSet("loop_seq", 0), "--expect",
                               "seq=" + (out / "seq.pb").string()});
  EXPECT_EQ(again.exitCode, 0) << again.err;
}

TEST_F(CliTest, ModelWithoutInputsRunsInPredictAndBench) {
  RunResult r = run({"predict", "-u", model("no_input"), "--expect", valueSet("no_input", 0)});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  const fs::path json = dir_ / "no_input_bench.json";
  r = run({"bench", "-u", model("no_input"), "-t", "2", "-c", "50", "--json", json.string()});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_GE(j.value("iterations", 0), 50) << j.dump();
}

TEST_F(CliTest, BenchRunsModelsWithNonTensorOutputsAndNamesNonTensorInputs) {
  // loop_seq's outputs include a sequence; its inputs are tensors (x float32[3], n int64[]).
  const fs::path json = dir_ / "loop_bench.json";
  RunResult r = run({"bench", "-u", model("loop_seq"), "-s", "(3)f,()l", "-t", "2", "-c", "40", "--json",
                     json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_GE(j.value("iterations", 0), 40) << j.dump();
  EXPECT_THAT(j["runs"][0].value("timed_region", ""), HasSubstr("predictValues")) << j["runs"][0].dump();
  // No random data for a sequence input.
  r = run({"bench", "-u", model("seq_input"), "-c", "10"});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("input 'parts' is seq(float32[?,2]): random data is made for tensors only"));
}

TEST_F(CliTest, BenchRunsModelsWithNonTensorInputsFromFiles) {
  for (const std::string name : {"seq_input", "map_input", "optional_input"}) {
    const fs::path json = dir_ / (name + "_bench.json");
    const RunResult r = run({"bench", "-u", model(name), "-i", valueSet(name, 0), "-t", "2", "-c", "40", "--json",
                             json.string()});
    ASSERT_EQ(r.exitCode, 0) << name << "\n" << r.out << r.err;
    const nlohmann::json j = readJsonFile(json);
    EXPECT_GE(j.value("iterations", 0), 40) << j.dump();
    const nlohmann::json& run0 = j["runs"][0];
    EXPECT_THAT(run0.value("timed_region", ""), HasSubstr("predictValues")) << name;
    ASSERT_TRUE(run0["inputs"].is_array()) << run0.dump();
    EXPECT_FALSE(run0["inputs"].empty()) << name;
  }
  // The inputs are described as what they are.
  const fs::path json = dir_ / "seq_bench.json";
  RunResult r = run({"bench", "-u", model("seq_input"), "-i", valueSet("seq_input", 0), "-c", "5", "--json",
                     json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(readJsonFile(json)["runs"][0]["inputs"][0].get<std::string>(), HasSubstr("parts seq("));

  // A file of another kind is named, as in predict.
  r = run({"bench", "-u", model("seq_input"), "-i", valueSet("map_input", 0) + "/input_0.pb", "-c", "5"});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("holds a map (onnx.MapProto)"));
  // Tiling and the operator profile need tensor inputs: refused before the run.
  r = run({"bench", "-u", model("seq_input"), "-i", valueSet("seq_input", 0), "-c", "5", "--batch", "4"});
  expectErrorCode(r, 2, "InvalidArgument");
  EXPECT_THAT(r.err, HasSubstr("--batch 4 tiles tensor inputs along dim 0"));
  r = run({"bench", "-u", model("seq_input"), "-i", valueSet("seq_input", 0), "-c", "5", "--profile", "2"});
  expectErrorCode(r, 1, "Unsupported");
  EXPECT_THAT(r.err, HasSubstr("the operator profile runs on tensor inputs only"));
  EXPECT_THAT(r.out, Not(HasSubstr("latency")));
}

TEST_F(CliTest, ExpectingOnlyTheTensorOutputsOfAValueModel) {
  // loop_seq's outputs are seq (a sequence) and stacked (a tensor): --expect
  // may give just the tensor; nothing else is checked.
  const RunResult r = run({"predict", "-u", model("loop_seq"), "-i", valueSet("loop_seq", 0), "--expect",
                           valueSet("loop_seq", 0) + "/output_1.pb"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok        output 'stacked'"));
  EXPECT_THAT(r.out, Not(HasSubstr("MISMATCH")));
}

TEST_F(CliTest, ServeRefusesModelsKServeCannotCarry) {
  const fs::path version = dir_ / "repo" / "loop" / "1";
  fs::create_directories(version);
  fs::copy_file(model("loop_seq"), version / "model.onnx");
  const RunResult r = run({"serve", "--model-repository", (dir_ / "repo").string(), "--http-port", "0",
                           "--grpc-port", "-1"});
  expectErrorCode(r, 1, "Unsupported");
  EXPECT_THAT(r.err, HasSubstr("'seq' is seq(float32[3]); the KServe v2 protocol carries tensors only"));
}

}  // namespace
}  // namespace polyinfer

#endif  // POLYINFER_HAVE_ONNXRUNTIME
