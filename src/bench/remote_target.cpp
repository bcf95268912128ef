// The remote target: the choice of protocol by the URL's scheme
// (remote_http.cpp; the gRPC module through remote_grpc_loader.cpp).
#include "remote_target.hpp"

#include "remote_internal.hpp"

namespace polyinfer::bench {

RemoteProtocol remoteProtocol(const std::string& url) { return remote::parseUrl(url).protocol; }

RemoteModel fetchRemoteModel(const RemoteEndpoint& endpoint) {
  const remote::Url url = remote::parseUrl(endpoint.url);
  remote::requireModelName(url, endpoint);
  return url.protocol == RemoteProtocol::Grpc ? remote::fetchGrpcModel(url, endpoint)
                                              : remote::fetchHttpModel(url, endpoint);
}

std::unique_ptr<Target> makeRemoteTarget(RemoteEndpoint endpoint, RemoteModel model, Tensors inputs,
                                         std::vector<ConfigValue> extraConfig) {
  remote::Url url = remote::parseUrl(endpoint.url);
  if (url.protocol == RemoteProtocol::Grpc)
    return remote::makeGrpcTarget(std::move(url), std::move(endpoint), std::move(model),
                                  std::move(inputs), std::move(extraConfig));
  return remote::makeHttpTarget(std::move(url), std::move(endpoint), std::move(model),
                                std::move(inputs), std::move(extraConfig));
}

}  // namespace polyinfer::bench
