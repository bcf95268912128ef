// The remote target over HTTP: a KServe v2 HTTP endpoint behind the bench's
// Target interface (cpp-httplib as the client, src/kserve for the bodies).
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec.hpp"
#include "polyinfer/error.hpp"
#include "remote_internal.hpp"

namespace polyinfer::bench::remote {
namespace {

using Json = nlohmann::json;

/// A path segment, percent-encoded (a model name may hold any character).
std::string encodeSegment(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", u);
      out += hex;
    }
  }
  return out;
}

/// /v2/models/{m}[/versions/{v}] under the URL's prefix.
std::string modelPath(const Url& url, const RemoteEndpoint& endpoint) {
  std::string path = url.prefix + "/v2/models/" + encodeSegment(endpoint.model);
  if (!endpoint.version.empty()) path += "/versions/" + encodeSegment(endpoint.version);
  return path;
}

std::unique_ptr<httplib::Client> makeClient(const Url& url) {
  auto client = std::make_unique<httplib::Client>(url.host, url.port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(kConnectTimeoutSeconds, 0);
  client->set_read_timeout(kCallTimeoutSeconds, 0);
  client->set_write_timeout(kCallTimeoutSeconds, 0);
  client->set_url_encode(false);  // paths are encoded here, once
  client->set_decompress(false);
  return client;
}

/// Why a request got no answer, in words (httplib's own names are terse:
/// "Connection", "Read").
std::string transportError(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "could not connect (refused, unreachable, or the host name does not resolve)";
    case httplib::Error::ConnectionTimeout:
      return fmt::format("could not connect within {} s", kConnectTimeoutSeconds);
    case httplib::Error::Read:
      return fmt::format("no complete answer (the server closed the connection, or sent nothing "
                         "for {} s)",
                         kCallTimeoutSeconds);
    case httplib::Error::Write:
      return "could not send the request (the connection was closed)";
    case httplib::Error::BindIPAddress:
      return "could not bind the client's local address";
    default:
      return httplib::to_string(error);
  }
}

/// The server's message: its {"error": "..."} body, else the body itself (cut short).
std::string serverMessage(const std::string& body) {
  if (std::optional<std::string> message = kserve::errorMessage(body)) return *message;
  if (body.empty()) return "no message";
  std::string text = body.substr(0, 300);
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return body.size() > text.size() ? text + "..." : text;
}

/// The statuses of a server shedding load: 503 (polyinfer serve's and
/// Triton's full queue) and 429 (a rate limit in front of it).
bool refusedAsOverloaded(int status) { return status == 503 || status == 429; }

/// An HTTP status other than 200 as an Error, always with the server's message.
/// busyCode: what a refusal for overload means here (a full queue when
/// inferring, a server that is not ready when reading metadata).
Error statusError(const httplib::Response& response, const std::string& request,
                  ErrorCode busyCode) {
  ErrorCode code = ErrorCode::EngineFailure;
  switch (response.status) {
    case 400: code = ErrorCode::InvalidArgument; break;
    case 404: code = ErrorCode::NotFound; break;
    default:
      if (refusedAsOverloaded(response.status)) code = busyCode;
      break;
  }
  std::string message =
      fmt::format("{} (HTTP {} from {})", serverMessage(response.body), response.status, request);
  if (refusedAsOverloaded(response.status) && response.has_header("Retry-After"))
    message += fmt::format("; Retry-After: {} s", response.get_header_value("Retry-After"));
  return Error(code, message);
}

/// "GET http://host:port/v2/..." for messages; `path` includes the URL's prefix.
std::string requestText(std::string_view method, const Url& url, const std::string& path) {
  return fmt::format("{} {}{}", method, url.base, std::string_view(path).substr(url.prefix.size()));
}

/// Asked of every request: a compressed answer would time zlib, and the
/// client does not decompress.
const httplib::Headers& plainHeaders() {
  static const httplib::Headers headers{{"Accept-Encoding", "identity"}};
  return headers;
}

/// GET `path`; the body of a 200. When `missingOk`, nullopt for the statuses
/// of a server that lacks the endpoint (404, 400, 405, 501).
std::optional<std::string> getJson(httplib::Client& client, const Url& url,
                                   const std::string& path, bool missingOk = false) {
  httplib::Result result = client.Get(path, plainHeaders());
  if (!result)
    throw Error(ErrorCode::Unavailable,
                fmt::format("cannot reach {}: {}", url.base, transportError(result.error())));
  if (result->status == 200) return std::move(result->body);
  if (missingOk && (result->status == 404 || result->status == 400 || result->status == 405 ||
                    result->status == 501))
    return std::nullopt;
  throw statusError(*result, requestText("GET", url, path), ErrorCode::Unavailable);
}

Json parseJson(const std::string& body, const std::string& what) {
  Json document = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{}: expected a JSON object (KServe v2), got '{}'", what,
                            body.substr(0, 120)));
  return document;
}

std::string stringOr(const Json& object, const char* key, std::string fallback = {}) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

std::vector<TensorInfo> tensorInfos(const Json& metadata, const char* key,
                                    const std::string& what) {
  std::vector<TensorInfo> infos;
  auto list = metadata.find(key);
  if (list == metadata.end()) return infos;
  if (!list->is_array())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{}: '{}' is {}, expected an array of tensors", what, key,
                            list->dump()));
  for (const Json& tensor : *list) {
    if (!tensor.is_object() || !tensor.contains("name") || !tensor["name"].is_string())
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("{}: a tensor of '{}' is {}, expected {{\"name\", \"datatype\", "
                              "\"shape\"}}",
                              what, key, tensor.dump()));
    const std::string name = tensor["name"].get<std::string>();
    std::optional<std::vector<int64_t>> dims;
    auto shape = tensor.find("shape");
    if (shape != tensor.end() && shape->is_array()) {
      dims.emplace();
      for (const Json& dim : *shape) {
        if (!dim.is_number_integer())
          throw Error(ErrorCode::InvalidArgument,
                      fmt::format("{}: tensor '{}' has shape {}, expected integers (-1: dynamic)",
                                  what, name, shape->dump()));
        dims->push_back(dim.get<int64_t>());
      }
    }
    TensorInfo info = metadataTensor(name, stringOr(tensor, "datatype"), dims);
    infos.push_back(std::move(info));
  }
  return infos;
}

std::string scalarText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

/// An entry of a {"key","value",...} list (polyinfer's engine_config), with
/// the key of the list it came from.
struct ListedValue {
  std::string listKey;
  ConfigValue value;  ///< key: the entry's own key
};

/// The server's config as dotted keys ("dynamic_batching.max_queue_delay_microseconds");
/// a list of scalars becomes one comma-joined value; the entries of
/// {"key","value",...} lists go to `listed`.
void flattenConfig(const Json& value, const std::string& key, std::vector<ConfigValue>& out,
                   std::vector<ListedValue>& listed) {
  const auto child = [&key](const std::string& name) {
    return key.empty() ? name : key + "." + name;
  };
  if (value.is_object()) {
    for (const auto& [name, item] : value.items()) flattenConfig(item, child(name), out, listed);
    return;
  }
  if (value.is_array()) {
    const bool scalars = std::all_of(value.begin(), value.end(),
                                     [](const Json& v) { return v.is_primitive(); });
    const bool entries =
        !value.empty() && std::all_of(value.begin(), value.end(), [](const Json& v) {
          return v.is_object() && v.contains("key") && v["key"].is_string() && v.contains("value");
        });
    if (scalars) {
      std::string joined;
      for (const Json& v : value) joined += (joined.empty() ? "" : ",") + scalarText(v);
      out.push_back({key, joined, "server", ""});
    } else if (entries) {
      for (const Json& v : value) {
        std::string detail = stringOr(v, "source");
        const std::string more = stringOr(v, "detail");
        if (!more.empty()) detail += (detail.empty() ? "" : ": ") + more;
        listed.push_back(
            {key, {v["key"].get<std::string>(), scalarText(v["value"]), "server", detail}});
      }
    } else {
      for (std::size_t i = 0; i < value.size(); ++i)
        flattenConfig(value[i], child(std::to_string(i)), out, listed);
    }
    return;
  }
  out.push_back({key, scalarText(value), "server", ""});
}

/// The server's config document as report entries, source "server". The
/// engine's own entries (a {"key","value","source","detail"} list, as
/// polyinfer serve's engine_config) keep their plain keys, as an in-process
/// run reports them, unless that key is taken by the server's own settings:
/// then an equal value is dropped as a repeat, a different one keeps the
/// list's prefix.
std::vector<ConfigValue> serverConfig(const Json& document) {
  std::vector<ConfigValue> config;
  std::vector<ListedValue> listed;
  flattenConfig(document, "", config, listed);
  const auto find = [&config](const std::string& key) {
    return std::find_if(config.begin(), config.end(),
                        [&key](const ConfigValue& v) { return v.key == key; });
  };
  // polyinfer serve says why a model is not batched in a key of its own: it
  // belongs next to "batching".
  if (auto reason = find("unbatched_reason"), batching = find("batching");
      reason != config.end() && batching != config.end()) {
    batching->detail = reason->value;
    config.erase(reason);
  }
  const std::size_t ownKeys = config.size();
  for (ListedValue& entry : listed) {
    const auto ownEnd = config.begin() + static_cast<std::ptrdiff_t>(ownKeys);
    const auto taken = std::find_if(config.begin(), ownEnd, [&entry](const ConfigValue& v) {
      return v.key == entry.value.key;
    });
    if (taken == ownEnd) {
      config.push_back(std::move(entry.value));
    } else if (taken->value != entry.value.value) {
      entry.value.key = entry.listKey + "." + entry.value.key;
      config.push_back(std::move(entry.value));
    } else if (taken->detail.empty()) {
      taken->detail = entry.value.detail;
    }
  }
  return config;
}

// A client that writes to a connection the server has closed gets SIGPIPE;
// by default that ends the process. Ignored once, unless the program has
// installed a handler of its own.
void ignoreSigpipeUnlessHandled() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      std::signal(SIGPIPE, SIG_IGN);
  });
}

/// What all workers share, read-only.
struct Shared {
  Url url;
  std::string readyPath;
  std::string inferPath;
  std::string inferRequest;  ///< "POST http://.../infer", for messages
  kserve::EncodedBody body;
  std::string contentType;
};

class HttpWorker final : public Worker {
 public:
  explicit HttpWorker(std::shared_ptr<const Shared> shared)
      : shared_(std::move(shared)), client_(makeClient(shared_->url)) {
    headers_ = plainHeaders();
    if (shared_->body.jsonLength)
      headers_.emplace("Inference-Header-Content-Length",
                       std::to_string(*shared_->body.jsonLength));
    // Opens this worker's connection before any clock starts, and checks
    // that the model is ready to serve.
    httplib::Result result = client_->Get(shared_->readyPath, plainHeaders());
    if (!result)
      throw Error(ErrorCode::Unavailable, fmt::format("cannot reach {}: {}", shared_->url.base,
                                                      transportError(result.error())));
    if (result->status != 200)
      throw statusError(*result, requestText("GET", shared_->url, shared_->readyPath),
                        ErrorCode::Unavailable);
  }

 private:
  /// One POST .../infer of the shared body and the decoding of a 200. No
  /// answer (a server that died, a connection refused): Unavailable; another
  /// status: an Error with the server's message, but a refusal for overload
  /// is returned (the refusal's body was read in full: the connection stays
  /// usable).
  CallResult call() override {
    const std::string& body = shared_->body.body;
    // The shared body is written straight from its bytes (no copy per call).
    httplib::Result result = client_->Post(
        shared_->inferPath, headers_, body.size(),
        [&body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          return sink.write(body.data() + offset, length);
        },
        shared_->contentType);
    if (!result)
      throw Error(ErrorCode::Unavailable, fmt::format("{}: {} (the connection failed)",
                                                      shared_->inferRequest,
                                                      transportError(result.error())));
    if (refusedAsOverloaded(result->status))
      return {std::nullopt,
              statusError(*result, shared_->inferRequest, ErrorCode::ResourceExhausted).what()};
    if (result->status != 200)
      throw statusError(*result, shared_->inferRequest, ErrorCode::ResourceExhausted);
    std::optional<std::size_t> jsonLength;
    if (result->has_header("Inference-Header-Content-Length")) {
      const std::string text = result->get_header_value("Inference-Header-Content-Length");
      try {
        std::size_t used = 0;
        jsonLength = static_cast<std::size_t>(std::stoull(text, &used));
        if (used != text.size()) throw std::invalid_argument("trailing text");
      } catch (const std::exception&) {
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("{}: Inference-Header-Content-Length is '{}', expected a number",
                                shared_->inferRequest, text));
      }
    }
    auto responseBody = std::make_shared<const std::string>(std::move(result->body));
    return {kserve::decodeInferResponse(std::move(responseBody), jsonLength), {}};
  }

  std::shared_ptr<const Shared> shared_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers headers_;
};

class HttpTarget final : public TargetBase {
 public:
  HttpTarget(Url url, RemoteEndpoint endpoint, RemoteModel model, Tensors inputs,
             std::vector<ConfigValue> extra)
      : TargetBase(std::move(model), std::move(inputs), std::move(extra)),
        endpoint_(std::move(endpoint)) {
    auto shared = std::make_shared<Shared>();
    shared->url = std::move(url);
    const std::string path = modelPath(shared->url, endpoint_);
    shared->readyPath = path + "/ready";
    shared->inferPath = path + "/infer";
    shared->inferRequest = requestText("POST", shared->url, shared->inferPath);
    // Encoded once, before any worker exists: the timed calls only send it.
    shared->body =
        kserve::encodeInferRequest("", this->inputs(), endpoint_.binary, {}, endpoint_.binary);
    shared->contentType = shared->body.jsonLength ? "application/octet-stream" : "application/json";
    shared_ = std::move(shared);
  }

  std::unique_ptr<TargetWorker> newWorker() override {
    return std::make_unique<HttpWorker>(shared_);
  }

  std::string timedRegion() const override {
    return fmt::format(
        "one HTTP POST {} of a request body encoded once before timing ({} tensors, shared "
        "read-only by all workers) on the worker's own keep-alive connection, opened before "
        "timing: sending it, the server's decoding, queueing, inference and encoding, the network "
        "both ways, and decoding the response (kserve::decodeInferResponse, as a real client "
        "would); not included: making and encoding the inputs, connecting (a reconnect after the "
        "server closed the connection would be timed)",
        shared_->inferRequest.substr(5), endpoint_.binary ? "binary" : "JSON");
  }

 private:
  ProtocolReport report() const override {
    return {{"protocol", endpoint_.binary ? "KServe v2 binary" : "KServe v2 JSON",
             endpoint_.binary ? "default" : "explicit",
             fmt::format("HTTP/1.1, {} tensor data; request body {} bytes, encoded once; one "
                         "keep-alive connection per worker",
                         endpoint_.binary ? "binary" : "JSON", shared_->body.body.size())},
            "GET /v2",
            "the server offers no GET .../config",
            shared_->url.base + "/v2/models/" + endpoint_.model +
                (endpoint_.version.empty() ? "" : "/versions/" + endpoint_.version)};
  }

  RemoteEndpoint endpoint_;
  std::shared_ptr<const Shared> shared_;
};

}  // namespace

RemoteModel fetchHttpModel(const Url& url, const RemoteEndpoint& endpoint) {
  ignoreSigpipeUnlessHandled();
  std::unique_ptr<httplib::Client> client = makeClient(url);
  RemoteModel model;

  const std::string serverPath = url.prefix + "/v2";
  const Json server =
      parseJson(*getJson(*client, url, serverPath), requestText("GET", url, serverPath));
  model.serverName = stringOr(server, "name");
  model.serverVersion = stringOr(server, "version");

  const std::string path = modelPath(url, endpoint);
  const std::string what = requestText("GET", url, path);
  const Json metadata = parseJson(*getJson(*client, url, path), what);
  model.name = stringOr(metadata, "name", endpoint.model);
  model.platform = stringOr(metadata, "platform");
  if (auto versions = metadata.find("versions"); versions != metadata.end() && versions->is_array())
    for (const Json& v : *versions) model.versions.push_back(scalarText(v));
  model.inputs = tensorInfos(metadata, "inputs", what);
  model.outputs = tensorInfos(metadata, "outputs", what);

  // Optional in the protocol: a server without it has no config to report.
  if (std::optional<std::string> config = getJson(*client, url, path + "/config", true)) {
    const Json document = Json::parse(*config, nullptr, /*allow_exceptions=*/false);
    if (!document.is_discarded()) model.config = serverConfig(document);
  }
  return model;
}

std::unique_ptr<Target> makeHttpTarget(Url url, RemoteEndpoint endpoint, RemoteModel model,
                                       Tensors inputs, std::vector<ConfigValue> extra) {
  ignoreSigpipeUnlessHandled();
  return std::make_unique<HttpTarget>(std::move(url), std::move(endpoint), std::move(model),
                                      std::move(inputs), std::move(extra));
}

}  // namespace polyinfer::bench::remote
