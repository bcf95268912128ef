// HttpServer (src/serve/http_server): requests answered at once and requests
// answered later from another thread (the connection suspended meanwhile),
// from many client threads on keep-alive connections; limits; stopping.
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http_server.hpp"
#include "polyinfer/error.hpp"

namespace {

using polyinfer::serve::HttpRequest;
using polyinfer::serve::HttpResponse;
using polyinfer::serve::HttpServer;
using polyinfer::serve::HttpServerOptions;
using polyinfer::serve::Responder;

// Answers queued requests on a thread of its own, as the model workers do.
class LaterAnswerer {
 public:
  LaterAnswerer() : thread_([this] { loop(); }) {}
  ~LaterAnswerer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void add(std::string body, Responder respond) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(body), std::move(respond));
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [body, respond] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      HttpResponse reply;
      reply.body = "later:" + body;
      reply.contentType = "text/plain";
      respond(std::move(reply));
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<std::string, Responder>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

HttpServerOptions loopback(int threads) {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = threads;
  return options;
}

TEST(HttpServerThreads, AnswersNowAndLaterFromManyClientThreads) {
  LaterAnswerer later;
  HttpServer server(loopback(2), [&](HttpRequest&& request, Responder respond) {
    if (request.path == "/now") {
      HttpResponse reply;
      reply.body = "now:" + *request.body;
      reply.contentType = "text/plain";
      return respond(std::move(reply));
    }
    later.add(*request.body, std::move(respond));
  });
  constexpr int kThreads = 8, kCalls = 100;
  std::atomic<int> wrong{0}, done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t)
    clients.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", server.port());
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // else Nagle holds the body for the header's ACK (40 ms)
      for (int i = 0; i < kCalls; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        const bool now = i % 3 == 0;
        auto result = client.Post(now ? "/now" : "/later", body, "text/plain");
        if (!result || result->status != 200 ||
            result->body != (now ? "now:" : "later:") + body)
          ++wrong;
        ++done;
      }
    });
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(done.load(), kThreads * kCalls);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(HttpServerThreads, ResponderFromAnotherThreadBeforeTheHandlerReturns) {
  // The answer may arrive while the network thread is still in the handler.
  HttpServer server(loopback(1), [&](HttpRequest&& request, Responder respond) {
    std::thread([respond, body = *request.body] {
      HttpResponse reply;
      reply.body = body;
      respond(std::move(reply));
    }).join();
  });
  httplib::Client client("127.0.0.1", server.port());
  for (int i = 0; i < 50; ++i) {
    auto result = client.Post("/x", std::to_string(i), "text/plain");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->body, std::to_string(i));
  }
}

TEST(HttpServerThreads, HandlerExceptionIsA500) {
  HttpServer server(loopback(1), [](HttpRequest&&, Responder) -> void {
    throw std::runtime_error("handler bug");
  });
  httplib::Client client("127.0.0.1", server.port());
  auto result = client.Get("/x");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 500);
  EXPECT_NE(result->body.find("handler bug"), std::string::npos);
}

TEST(HttpServerThreads, StopAcceptingRefusesNewConnectionsAndKeepsServing) {
  HttpServer server(loopback(1), [](HttpRequest&&, Responder respond) {
    respond(HttpResponse{});
  });
  httplib::Client open("127.0.0.1", server.port());
  open.set_keep_alive(true);
  ASSERT_TRUE(open.Get("/a"));
  server.stopAccepting();
  httplib::Client fresh("127.0.0.1", server.port());
  fresh.set_connection_timeout(2);
  EXPECT_FALSE(fresh.Get("/b"));
  auto again = open.Get("/c");  // the kept-alive connection still works
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  server.stop();
}

TEST(HttpServerThreads, BadOptionsAndBusyPortAreClearErrors) {
  auto handler = [](HttpRequest&&, Responder respond) { respond(HttpResponse{}); };
  HttpServerOptions bad = loopback(1);
  bad.host = "not-an-address";
  try {
    HttpServer server(bad, handler);
    FAIL() << "expected an error";
  } catch (const polyinfer::Error& e) {
    EXPECT_EQ(e.code(), polyinfer::ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("not-an-address"), std::string::npos);
  }
  HttpServer first(loopback(1), handler);
  HttpServerOptions same = loopback(1);
  same.port = first.port();
  try {
    HttpServer second(same, handler);
    FAIL() << "expected an error";
  } catch (const polyinfer::Error& e) {
    EXPECT_EQ(e.code(), polyinfer::ErrorCode::Unavailable);
    EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos);
  }
}

}  // namespace
