// HttpServer: HTTP/1.1 (keep-alive) on GNU libmicrohttpd. libmicrohttpd parses
// requests, enforces the header-size limit and the idle timeout, and runs an
// epoll event loop on a few threads. A request whose body is complete is
// handed to the handler with a Responder; when the handler does not answer at
// once (inference queued for a worker), the connection is suspended, so no
// thread waits per request, and resumed when the Responder is called — from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

struct MHD_Daemon;

namespace polyinfer::serve {

struct HttpRequest {
  std::string method;  ///< "GET", "POST"...
  std::string path;    ///< URL path, percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> headers;
  /// The body; shared so that decoded tensors can be views into it.
  std::shared_ptr<const std::string> body;
  std::string peer;  ///< "127.0.0.1:51234"
  /// Value of a header (case-insensitive name), if present.
  std::optional<std::string_view> header(std::string_view name) const;
  /// Sets what to run if the client closes its connection while the request
  /// waits for its answer (e.g. withdraw it from a queue). Runs at most once,
  /// on the server's watcher thread, and never after the Responder was called.
  std::function<void(std::function<void()>)> onDisconnect;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool closeConnection = false;  ///< send "Connection: close" and close after it
};

/// Answers one request, exactly once, from any thread.
using Responder = std::function<void(HttpResponse&&)>;
/// Called on a network thread; answers through the Responder now or later.
/// Must not block for long (queue work elsewhere).
using HttpHandler = std::function<void(HttpRequest&&, Responder)>;

struct HttpServerOptions {
  std::string host = "0.0.0.0";  ///< IPv4 address to listen on ("127.0.0.1" for loopback only)
  int port = 8000;               ///< 0: any free port (see HttpServer::port)
  int threads = 1;               ///< network threads (libmicrohttpd's thread pool)
  /// Open connections answered normally; beyond it a new request gets 503
  /// with "Connection: close" (libmicrohttpd refuses outright at twice this).
  std::size_t maxConnections = 1024;
  std::size_t maxBodyBytes = 64u << 20;  ///< a larger body gets 413
  std::size_t maxHeaderBytes = 16u << 10;  ///< request line + headers (libmicrohttpd answers 431)
  unsigned idleTimeoutSeconds = 60;      ///< a connection silent this long is closed
  /// How often connections waiting for an answer are checked for a client
  /// that went away (libmicrohttpd does not watch suspended connections).
  std::chrono::milliseconds disconnectCheckInterval{50};
};

class HttpServer {
 public:
  /// Binds and starts listening. Throws Error(Unavailable) naming the address
  /// when the port cannot be bound, InvalidArgument for a bad host.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  /// stop().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port listened on (the one the system picked when options.port was 0).
  int port() const noexcept { return port_; }
  /// Stops accepting connections (the listening socket is closed); open ones
  /// are still served. Idempotent.
  void stopAccepting();
  /// Requests handed to the handler whose response is not sent yet.
  std::size_t inFlight() const noexcept { return inFlight_.load(); }
  std::size_t openConnections() const noexcept { return connections_.load(); }
  /// Closes every connection and joins the network threads. Answer every
  /// in-flight request first (the server drains its queues before this).
  void stop();

  struct Exchange;  // one request on a connection (http_server.cpp)

 private:
  friend struct HttpServerCallbacks;
  HttpServerOptions options_;
  HttpHandler handler_;
  /// Checks the waiting exchanges' sockets for clients that closed them.
  void watchDisconnects();
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  bool accepting_ = true;
  std::mutex waitingMutex_;
  std::condition_variable waitingChanged_;
  std::unordered_set<std::shared_ptr<Exchange>> waiting_;  ///< suspended, with an onDisconnect
  bool watcherStop_ = false;
  std::thread watcher_;
  std::atomic<std::size_t> inFlight_{0};
  std::atomic<std::size_t> connections_{0};
};

}  // namespace polyinfer::serve
