// net/message_sink.hpp: where a session hands a finished message — the daemon's bridge to
// the spool's group commit and then the queue. The listener awaits `done` before it answers.
// Owns: only this seam, so that net/ needs neither the spool nor the queue.
#pragma once

#include <functional>
#include <memory>

#include "base/result.hpp"
#include "smtp/envelope.hpp"

namespace sluice::net {

class MessageSink {
 public:
  using Done = std::function<void(Result<void>)>;
  virtual ~MessageSink() = default;
  // Takes the message; runs `done` exactly once, on any thread: success means the message is
  // on stable storage (the session may answer 250).
  virtual void accept(std::unique_ptr<smtp::Message> message, Done done) = 0;
};

}  // namespace sluice::net
