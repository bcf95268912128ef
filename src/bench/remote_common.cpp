// What the remote target's protocols share (remote_internal.hpp): the URL,
// the metadata's tensors, the refusal mapping, the report. Compiled into
// polyinfer_bench and into the gRPC module (remote_grpc_module.hpp).
#include <cctype>

#include <fmt/format.h>

#include "datatype.hpp"
#include "polyinfer/error.hpp"
#include "remote_internal.hpp"

namespace polyinfer::bench::remote {
namespace {

struct Scheme {
  std::string_view prefix;
  RemoteProtocol protocol;
  int defaultPort;
};
// 8000 and 8001 are Triton's and polyinfer serve's usual ports, but a URL
// without a port means the scheme's own default, as everywhere else; gRPC has
// none, so it takes the v2 servers' 8001.
constexpr Scheme kSchemes[] = {{"http://", RemoteProtocol::Http, 80},
                               {"grpc://", RemoteProtocol::Grpc, 8001}};

bool startsWithNoCase(const std::string& text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  return true;
}

}  // namespace

std::string Url::hostPort() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Url parseUrl(const std::string& url) {
  const auto refuse = [&url](const std::string& why) {
    return Error(ErrorCode::InvalidArgument,
                 fmt::format("remote URL '{}': {}; expected http://HOST[:PORT][/PREFIX] (KServe "
                             "v2 over HTTP) or grpc://HOST[:PORT] (over gRPC), e.g. "
                             "http://127.0.0.1:8000 or grpc://127.0.0.1:8001",
                             url, why));
  };
  if (startsWithNoCase(url, "https://"))
    throw refuse("https is not supported (the benchmark speaks plain HTTP and gRPC; put a "
                 "TLS-terminating proxy in front of the server, or benchmark it on its plain "
                 "port)");
  if (startsWithNoCase(url, "grpcs://"))
    throw refuse("grpcs (gRPC over TLS) is not supported (the benchmark speaks plain HTTP and "
                 "gRPC; benchmark the server on its plain port)");
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes)
    if (startsWithNoCase(url, s.prefix)) scheme = &s;
  if (scheme == nullptr) {
    const std::size_t end = url.find("://");
    throw refuse(end == std::string::npos ? "no scheme"
                                          : "unknown scheme '" + url.substr(0, end) + "'");
  }
  Url parsed;
  parsed.protocol = scheme->protocol;
  parsed.port = scheme->defaultPort;
  const std::string rest = url.substr(scheme->prefix.size());
  if (rest.find_first_of("?#") != std::string::npos) throw refuse("a query or fragment");
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (authority.find('@') != std::string::npos) throw refuse("user information in the URL");
  // gRPC calls a service by name; there is no path to put a prefix in.
  if (parsed.protocol == RemoteProtocol::Grpc && !prefix.empty())
    throw refuse("a path ('" + prefix + "'); gRPC has none");

  std::string portText;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) throw refuse("an unclosed '['");
    parsed.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw refuse("text after ']'");
      portText = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    parsed.host = authority.substr(0, colon);
    if (colon != std::string::npos) portText = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) throw refuse("no host");
  if (!portText.empty()) {
    int port = 0;
    for (const char c : portText) {
      if (c < '0' || c > '9' || port > 65535)
        throw refuse("port '" + portText + "' is not a number 1-65535");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) throw refuse("port '" + portText + "' is not a number 1-65535");
    parsed.port = port;
  }
  parsed.prefix = prefix;
  parsed.base = fmt::format("{}{}{}", scheme->prefix, parsed.hostPort(), prefix);
  return parsed;
}

void requireModelName(const Url& url, const RemoteEndpoint& endpoint) {
  if (endpoint.model.empty())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{}: no model name given; expected the name of a served model",
                            url.base));
}

TensorInfo metadataTensor(std::string name, const std::string& datatype,
                          const std::optional<std::vector<int64_t>>& shape) {
  TensorInfo info;
  info.name = std::move(name);
  try {
    info.dtype = kserve::parseV2Datatype(datatype);
  } catch (const Error&) {
    info.dtype = DataType::Undefined;
  }
  if (shape) {
    info.rankKnown = true;
    for (const int64_t dim : *shape) info.shape.push_back(dim < 0 ? -1 : dim);
    info.dimNames.assign(info.shape.size(), "");
  }
  return info;
}

kserve::InferResponse Worker::answered() {
  CallResult result = call();
  if (!result.response) throw Error(ErrorCode::ResourceExhausted, result.refusal);
  return std::move(*result.response);
}

void Worker::infer() { (void)answered(); }

CallOutcome Worker::tryInfer() {
  CallResult result = call();
  if (result.response) return CallOutcome::Answered;
  // Load shed, not a failure: the runner counts it and goes on; the
  // connection stays usable.
  lastRejection_ = std::move(result.refusal);
  return CallOutcome::Rejected;
}

Tensors Worker::inferWithOutputs() { return answered().outputs; }

TargetInfo TargetBase::info() const {
  const ProtocolReport protocol = report();
  TargetInfo info;
  info.engineName =
      "remote:" + (model_.serverName.empty() ? std::string("unknown") : model_.serverName);
  info.engineVersion = model_.serverVersion;
  info.model = protocol.model;
  info.device = "remote";
  for (const ConfigValue& value : model_.config)
    if (value.key == "device" && !value.value.empty()) info.device = "remote " + value.value;
  info.config.push_back(protocol.protocol);
  info.config.push_back({"server", model_.serverName + " " + model_.serverVersion, "server",
                         protocol.serverRequest});
  if (!model_.platform.empty())
    info.config.push_back({"platform", model_.platform, "server", "model metadata"});
  if (model_.config.empty())
    info.config.push_back({"server config", "none", "server", protocol.noConfig});
  for (const ConfigValue& value : model_.config) info.config.push_back(value);
  for (const ConfigValue& value : extra_) info.config.push_back(value);

  if (!inputs_.empty() && inputs_[0].tensor.rank() >= 2)
    info.batch = inputs_[0].tensor.shape()[0];
  for (const NamedTensor& input : inputs_)
    info.inputs.push_back(input.name + " " + input.tensor.describe());
  return info;
}

}  // namespace polyinfer::bench::remote
