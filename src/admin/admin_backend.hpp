// admin/admin_backend.hpp: what the admin API reads and steers — the queue's snapshots and
// actions and the spool's message content — behind one interface, so the HTTP layer is tested
// against a fake and the daemon plugs in the real queue (QueueBackend).
// Owns: the interface and its adapter to queue::QueueManager + spool::Store.
// Not: HTTP, JSON (admin_server.cpp, admin_views.cpp); the actions' semantics (queue/).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "queue/queue_manager.hpp"
#include "spool/store.hpp"

namespace sluice::admin {

enum class QueueAction { retry, suspend, resume };
enum class MessageAction { retry, suspend, resume, remove, remove_ndr };

// Both "retry", "suspend", "resume"; messages also "remove" (remove_ndr is remove?ndr=1).
std::optional<QueueAction> parse_queue_action(std::string_view name);
std::optional<MessageAction> parse_message_action(std::string_view name, bool ndr);

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  virtual std::vector<queue::QueueInfo> queues() const = 0;
  virtual std::vector<queue::MessageInfo> messages() const = 0;
  virtual queue::QueueManager::Stats stats() const = 0;
  // The message as spooled (header and body, CRLF). ErrorClass::permanent if not there.
  virtual Result<std::string> content(std::string_view queue_id) const = 0;
  // ErrorClass::permanent: no such queue/message; transient: try again (busy).
  virtual Result<void> act(std::string_view queue_name, QueueAction action) = 0;
  virtual Result<void> act_on_message(std::string_view queue_id, MessageAction action) = 0;
};

class QueueBackend final : public AdminBackend {
 public:
  QueueBackend(queue::QueueManager& queue, const spool::Store& store) : queue_(queue), store_(store) {}
  std::vector<queue::QueueInfo> queues() const override { return queue_.queues(); }
  std::vector<queue::MessageInfo> messages() const override { return queue_.messages(); }
  queue::QueueManager::Stats stats() const override { return queue_.stats(); }
  Result<std::string> content(std::string_view queue_id) const override { return store_.read_content(queue_id); }
  Result<void> act(std::string_view queue_name, QueueAction action) override;
  Result<void> act_on_message(std::string_view queue_id, MessageAction action) override;

 private:
  queue::QueueManager& queue_;
  const spool::Store& store_;
};

}  // namespace sluice::admin
