// admin/admin_backend.cpp: see admin_backend.hpp.
#include "admin/admin_backend.hpp"

namespace sluice::admin {

std::optional<QueueAction> parse_queue_action(std::string_view name) {
  if (name == "retry") return QueueAction::retry;
  if (name == "suspend") return QueueAction::suspend;
  if (name == "resume") return QueueAction::resume;
  return std::nullopt;
}

std::optional<MessageAction> parse_message_action(std::string_view name, bool ndr) {
  if (name == "retry") return MessageAction::retry;
  if (name == "suspend") return MessageAction::suspend;
  if (name == "resume") return MessageAction::resume;
  if (name == "remove") return ndr ? MessageAction::remove_ndr : MessageAction::remove;
  return std::nullopt;
}

Result<void> QueueBackend::act(std::string_view queue_name, QueueAction action) {
  switch (action) {
    case QueueAction::retry: return queue_.retry_queue(queue_name);
    case QueueAction::suspend: return queue_.suspend_queue(queue_name);
    case QueueAction::resume: return queue_.resume_queue(queue_name);
  }
  return fail(ErrorClass::permanent, "unknown action");
}

Result<void> QueueBackend::act_on_message(std::string_view queue_id, MessageAction action) {
  switch (action) {
    case MessageAction::retry: return queue_.retry_message(queue_id);
    case MessageAction::suspend: return queue_.suspend_message(queue_id);
    case MessageAction::resume: return queue_.resume_message(queue_id);
    case MessageAction::remove: return queue_.remove_message(queue_id, false);
    case MessageAction::remove_ndr: return queue_.remove_message(queue_id, true);
  }
  return fail(ErrorClass::permanent, "unknown action");
}

}  // namespace sluice::admin
