#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>

#include <microhttpd.h>

#include "codec.hpp"
#include "polyinfer/error.hpp"

namespace polyinfer::serve {

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0)
      return std::string_view(value);
  return std::nullopt;
}

// One request on a connection, from its headers to its response. Shared by
// libmicrohttpd's per-request slot and the Responder, which may outlive the
// handler call and run on another thread.
struct HttpServer::Exchange {
  HttpServer* server = nullptr;
  MHD_Connection* connection = nullptr;
  std::shared_ptr<std::string> body = std::make_shared<std::string>();
  std::size_t bodyLimitExceededAt = 0;  ///< body bytes seen when the limit was passed (0: not)
  bool dispatched = false;              ///< handed to the handler
  bool rejected = false;                ///< answered from its headers alone (limits)
  std::mutex mutex;                     ///< guards the fields below
  std::optional<HttpResponse> response;
  bool answered = false;   ///< the Responder has been called
  bool suspended = false;  ///< waiting, suspended, for the Responder
  bool closed = false;     ///< libmicrohttpd is done with the connection
  std::function<void()> onDisconnect;  ///< the handler's, while it waits
  int socket = -1;                     ///< the connection's, valid while suspended
};

namespace {

MHD_Result queue(MHD_Connection* connection, HttpResponse&& reply) {
  auto* owned = new std::string(std::move(reply.body));
  MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
      owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); },
      owned);
  if (response == nullptr) {
    delete owned;
    return MHD_NO;
  }
  if (!reply.contentType.empty())
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.contentType.c_str());
  for (const auto& [key, value] : reply.headers)
    MHD_add_response_header(response, key.c_str(), value.c_str());
  if (reply.closeConnection)
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result result =
      MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result queueError(MHD_Connection* connection, int status, std::string_view message,
                      bool close) {
  HttpResponse reply;
  reply.status = status;
  reply.body = kserve::errorBody(message);
  reply.closeConnection = close;
  return queue(connection, std::move(reply));
}

std::string peerOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (info->client_addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(info->client_addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (info->client_addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(info->client_addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

// libmicrohttpd's callbacks, with access to HttpServer's private members.
struct HttpServerCallbacks {
  static MHD_Result access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/, const char* upload,
                           size_t* uploadSize, void** slot) {
    auto* server = static_cast<HttpServer*>(cls);
    auto* held = static_cast<std::shared_ptr<HttpServer::Exchange>*>(*slot);
    if (held == nullptr) return begin(*server, connection, slot);
    HttpServer::Exchange& exchange = **held;
    if (exchange.rejected) {  // answered already; whatever body comes is dropped
      *uploadSize = 0;
      return MHD_YES;
    }
    if (*uploadSize != 0) {  // a piece of the body
      const std::size_t limit = server->options_.maxBodyBytes;
      if (exchange.bodyLimitExceededAt == 0 && exchange.body->size() + *uploadSize > limit)
        exchange.bodyLimitExceededAt = exchange.body->size() + *uploadSize;
      if (exchange.bodyLimitExceededAt == 0) exchange.body->append(upload, *uploadSize);
      *uploadSize = 0;
      return MHD_YES;
    }
    if (exchange.bodyLimitExceededAt != 0)
      return queueError(connection, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body: more than " +
                            std::to_string(server->options_.maxBodyBytes) +
                            " bytes, the server's limit (--max-request-bytes)",
                        true);
    if (!exchange.dispatched) return dispatch(*server, *held, connection, url, method);
    // Resumed: the Responder has left the response.
    std::optional<HttpResponse> reply;
    {
      std::lock_guard lock(exchange.mutex);
      reply.swap(exchange.response);
    }
    if (!reply) return MHD_YES;  // spurious call: wait for the Responder
    return queue(connection, std::move(*reply));
  }

  // Headers are complete: check the limits known now, before any body arrives.
  static MHD_Result begin(HttpServer& server, MHD_Connection* connection, void** slot) {
    auto exchange = std::make_shared<HttpServer::Exchange>();
    exchange->server = &server;
    exchange->connection = connection;
    *slot = new std::shared_ptr<HttpServer::Exchange>(exchange);
    const std::size_t open = server.connections_.load();
    exchange->rejected = true;  // until the checks below pass
    if (open > server.options_.maxConnections)
      return queueError(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                        "too many connections: " + std::to_string(open) +
                            " open, the server's limit is " +
                            std::to_string(server.options_.maxConnections) +
                            " (--max-connections); retry later",
                        true);
    if (const char* length =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
      std::size_t bytes = 0;
      const auto [end, ec] = std::from_chars(length, length + std::strlen(length), bytes);
      if (ec == std::errc() && *end == '\0') {
        if (bytes > server.options_.maxBodyBytes)
          return queueError(connection, MHD_HTTP_CONTENT_TOO_LARGE,
                            "request body: Content-Length " + std::to_string(bytes) +
                                " is more than " + std::to_string(server.options_.maxBodyBytes) +
                                " bytes, the server's limit (--max-request-bytes)",
                            true);
        exchange->body->reserve(bytes);
      }
    }
    exchange->rejected = false;
    return MHD_YES;
  }

  // The body is complete: hand the request over. The handler answers now
  // (health, metadata, errors) or later from a worker thread (inference); in
  // the latter case the connection sleeps until the Responder wakes it.
  static MHD_Result dispatch(HttpServer& server, const std::shared_ptr<HttpServer::Exchange>& shared,
                             MHD_Connection* connection, const char* url, const char* method) {
    HttpServer::Exchange& exchange = *shared;
    exchange.dispatched = true;
    HttpRequest request;
    request.method = method;
    request.path = url;
    MHD_get_connection_values(
        connection, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<HttpRequest*>(cls)->headers.emplace_back(key, value ? value : "");
          return MHD_YES;
        },
        &request);
    request.body = exchange.body;
    request.peer = peerOf(connection);
    request.onDisconnect = [weak = std::weak_ptr<HttpServer::Exchange>(shared)](
                               std::function<void()> action) {
      if (auto ex = weak.lock()) {
        std::lock_guard lock(ex->mutex);
        if (!ex->answered) ex->onDisconnect = std::move(action);
      }
    };

    ++server.inFlight_;
    Responder respond = [shared](HttpResponse&& reply) {
      HttpServer::Exchange& ex = *shared;
      bool wake = false;
      {
        std::lock_guard lock(ex.mutex);
        if (ex.answered || ex.closed) return;  // answered twice, or the connection is gone
        ex.answered = true;
        ex.response = std::move(reply);
        ex.onDisconnect = nullptr;
        wake = ex.suspended;
        ex.suspended = false;
      }
      if (wake) MHD_resume_connection(ex.connection);
    };
    try {
      server.handler_(std::move(request), respond);
    } catch (const std::exception& e) {
      // A handler bug must not take the connection down unanswered.
      HttpResponse reply;
      reply.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
      reply.body = kserve::errorBody(std::string("internal error: ") + e.what());
      respond(std::move(reply));
    }
    std::optional<HttpResponse> reply;
    bool watch = false;
    {
      std::lock_guard lock(exchange.mutex);
      if (exchange.answered) {
        reply.swap(exchange.response);
      } else {
        exchange.suspended = true;
        watch = static_cast<bool>(exchange.onDisconnect);
        if (watch) {
          const MHD_ConnectionInfo* info =
              MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
          exchange.socket = info != nullptr ? info->connect_fd : -1;
        }
        MHD_suspend_connection(connection);
      }
    }
    if (watch) {
      {
        std::lock_guard lock(server.waitingMutex_);
        server.waiting_.insert(shared);
      }
      server.waitingChanged_.notify_one();
    }
    if (!reply) return MHD_YES;
    return queue(connection, std::move(*reply));
  }

  // The response has been sent, or the connection is gone.
  static void completed(void* cls, MHD_Connection* /*connection*/, void** slot,
                        MHD_RequestTerminationCode /*toe*/) {
    auto* held = static_cast<std::shared_ptr<HttpServer::Exchange>*>(*slot);
    if (held == nullptr) return;
    {
      std::lock_guard lock((*held)->mutex);
      (*held)->closed = true;
    }
    if ((*held)->dispatched) --static_cast<HttpServer*>(cls)->inFlight_;
    delete held;
    *slot = nullptr;
  }

  static void connectionEvent(void* cls, MHD_Connection* /*connection*/, void** /*socketContext*/,
                              MHD_ConnectionNotificationCode event) {
    auto* server = static_cast<HttpServer*>(cls);
    if (event == MHD_CONNECTION_NOTIFY_STARTED)
      ++server->connections_;
    else if (event == MHD_CONNECTION_NOTIFY_CLOSED)
      --server->connections_;
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  const std::string host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    throw Error(ErrorCode::InvalidArgument,
                "host: expected an IPv4 address such as 0.0.0.0 or 127.0.0.1, got '" +
                    options_.host + "'");
  if (options_.port < 0 || options_.port > 65535)
    throw Error(ErrorCode::InvalidArgument,
                "port: expected 0..65535, got " + std::to_string(options_.port));
  if (options_.threads < 1)
    throw Error(ErrorCode::InvalidArgument,
                "network threads: expected >= 1, got " + std::to_string(options_.threads));
  address.sin_port = htons(static_cast<uint16_t>(options_.port));

  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  // libmicrohttpd's own hard cap, above ours, so that the requests past our
  // limit still get a 503 that says why instead of a closed socket.
  const unsigned hardConnectionLimit = static_cast<unsigned>(options_.maxConnections * 2 + 16);
  errno = 0;
  daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &HttpServerCallbacks::access, this,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(options_.threads),
      MHD_OPTION_CONNECTION_LIMIT, hardConnectionLimit,
      MHD_OPTION_CONNECTION_TIMEOUT, options_.idleTimeoutSeconds,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.maxHeaderBytes,
      MHD_OPTION_NOTIFY_COMPLETED, &HttpServerCallbacks::completed, this,
      MHD_OPTION_NOTIFY_CONNECTION, &HttpServerCallbacks::connectionEvent, this,
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    const int error = errno;
    throw Error(ErrorCode::Unavailable,
                "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                    (error != 0 ? std::strerror(error) : "libmicrohttpd refused to start"));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : options_.port;
  watcher_ = std::thread([this] { watchDisconnects(); });
}

HttpServer::~HttpServer() { stop(); }

// A client that closes its connection while its request waits (queued for a
// worker) is noticed here: a suspended connection's socket reads as closed
// (recv 0, or an error other than EAGAIN). Peeking never takes the bytes of a
// next, pipelined request. The socket is read only while the exchange is still
// suspended (its mutex held), when libmicrohttpd cannot have closed it.
void HttpServer::watchDisconnects() {
  std::unique_lock lock(waitingMutex_);
  while (!watcherStop_) {
    if (waiting_.empty()) {
      waitingChanged_.wait(lock, [&] { return watcherStop_ || !waiting_.empty(); });
      continue;
    }
    waitingChanged_.wait_for(lock, options_.disconnectCheckInterval);
    std::vector<std::shared_ptr<Exchange>> check(waiting_.begin(), waiting_.end());
    lock.unlock();
    std::vector<std::shared_ptr<Exchange>> done;
    for (const std::shared_ptr<Exchange>& exchange : check) {
      std::function<void()> action;
      {
        std::lock_guard exchangeLock(exchange->mutex);
        if (!exchange->suspended || exchange->answered || exchange->socket < 0) {
          done.push_back(exchange);
          continue;
        }
        char byte = 0;
        const ssize_t got = ::recv(exchange->socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        const bool gone = got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                                       errno != EINTR);
        if (gone) {
          action.swap(exchange->onDisconnect);
          done.push_back(exchange);
        }
      }
      if (action) action();  // outside the lock: it may answer the request
    }
    lock.lock();
    for (const std::shared_ptr<Exchange>& exchange : done) waiting_.erase(exchange);
  }
}

void HttpServer::stopAccepting() {
  if (daemon_ == nullptr || !accepting_) return;
  accepting_ = false;
  const MHD_socket listening = MHD_quiesce_daemon(daemon_);
  if (listening != MHD_INVALID_SOCKET) ::close(listening);
}

void HttpServer::stop() {
  if (daemon_ == nullptr) return;
  stopAccepting();
  {
    std::lock_guard lock(waitingMutex_);
    watcherStop_ = true;
  }
  waitingChanged_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace polyinfer::serve
