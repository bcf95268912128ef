// A user's program: `consumer MODEL SHAPE [ENGINE]` loads MODEL (a file, or a
// directory holding one model for the engine) with the installed polyinfer
// (engine chosen from the format unless given), runs it once on float32 zeros
// of SHAPE (e.g. 1,16) and prints the engine, the format and file the model
// was recognised as, and each output's name and shape.
#include <polyinfer/polyinfer.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: consumer MODEL SHAPE [ENGINE]\n";
    return 2;
  }
  try {
    auto model = polyinfer::Model::load({.modelPath = argv[1], .engine = argc > 3 ? argv[3] : ""});
    polyinfer::Predictor predictor = model->newPredictor();
    polyinfer::Tensors inputs;
    inputs.add(polyinfer::Tensor::allocate(polyinfer::DataType::Float32, polyinfer::parseShape(argv[2])));
    const polyinfer::Tensors outputs = predictor.predict(inputs);
    std::cout << "engine " << model->engineName() << " " << model->engineVersion() << "\n";
    std::cout << "format " << model->location().format << " " << model->modelPath().string() << "\n";
    for (const polyinfer::NamedTensor& out : outputs)
      std::cout << "output " << out.name << " " << out.tensor.describe() << "\n";
    return outputs.size() > 0 ? 0 : 1;
  } catch (const polyinfer::Error& e) {
    std::cerr << "consumer: " << e.what() << "\n";
    return 1;
  }
}
