// sluiced/services.hpp: the daemon's implementations of the seams net/ asks for — the
// session policy of each connector and the message sink that commits to the spool and hands
// the message to the queue. Wiring only: every decision lives in the module it names.
#pragma once

#include <memory>

#include "auth/dkim_signer.hpp"
#include "config/config.hpp"
#include "log/tracking_log.hpp"
#include "net/message_sink.hpp"
#include "net/smtp_server.hpp"
#include <map>

#include "policy/protection_policy.hpp"
#include "policy/relay_control.hpp"
#include "policy/session_authenticator.hpp"
#include "queue/queue_manager.hpp"
#include "routing/local_directory.hpp"
#include "spool/committer.hpp"

namespace sluice::daemon {

class PolicyFactory final : public net::SessionPolicyFactory {
 public:
  // One authenticator per connector: each has its own logon-failure limits and tarpit.
  PolicyFactory(const routing::LocalDirectory& directory, const config::Config& config,
                const auth::UserStore& users, const Clock& clock, policy::ProtectionServices protection)
      : directory_(directory), protection_(protection) {
    for (const auto& c : config.receive_connectors)
      authenticators_[c.name] = std::make_unique<policy::SessionAuthenticator>(
          users, policy::SessionAuthenticator::limits_of(c), clock);
  }
  smtp::Authenticator* authenticator(const config::ReceiveConnector& connector) override {
    auto it = authenticators_.find(connector.name);
    return it == authenticators_.end() ? nullptr : it->second.get();
  }
  std::unique_ptr<smtp::SessionPolicy> make(const config::ReceiveConnector& connector,
                                            QueueIdGenerator& ids) override {
    // Relay control first, then DNSBL, greylisting and rate limits around it.
    auto relay = std::make_unique<policy::RelayControl>(
        directory_, policy::RelayControl::usage_allows_relay(connector.usage), ids);
    return std::make_unique<policy::ProtectionPolicy>(std::move(relay), connector, protection_);
  }

 private:
  const routing::LocalDirectory& directory_;
  policy::ProtectionServices protection_;
  std::map<std::string, std::unique_ptr<policy::SessionAuthenticator>> authenticators_;
};

// DKIM signing of mail that our users and applications send, then group commit, then one
// RECEIVE tracking event per recipient, then the queue.
class SpoolSink final : public net::MessageSink {
 public:
  // `queue` and `tracking` must outlive the committer: its callbacks use them, not the sink.
  SpoolSink(spool::Committer& committer, queue::QueueManager& queue, log::TrackingLog& tracking,
            const config::Config& config, const std::vector<auth::DkimSigner>& signers, const Clock& clock)
      : committer_(committer), queue_(queue), tracking_(tracking), config_(config), signers_(signers),
        clock_(clock) {}

  void accept(std::unique_ptr<smtp::Message> message, Done done) override {
    sign(*message);
    std::shared_ptr<smtp::Message> m(std::move(message));
    committer_.commit(m.get(), [&queue = queue_, &tracking = tracking_, m,
                                done = std::move(done)](Result<void> result) {
      const bool committed = result.has_value();
      done(std::move(result));  // the session answers now; the rest is ours
      if (!committed) return;
      track_receive(tracking, *m);
      queue.enqueue(std::move(*m));
    });
  }

 private:
  static void track_receive(log::TrackingLog& tracking, const smtp::Message& m) {
    log::TrackingEvent e;
    e.event_id = "RECEIVE";
    e.source = "SMTP";
    e.queue_id = m.envelope.queue_id;
    e.message_id = m.envelope.message_id;
    e.sender = m.envelope.mail_from;
    e.return_path = m.envelope.mail_from;
    e.auth_user = m.envelope.auth_user;  // the authenticated submitter (SMTP AUTH), "" if none
    e.recipient_status = "250 2.0.0 Ok: queued as " + m.envelope.queue_id;
    e.total_bytes = m.content.size();
    e.recipient_count = static_cast<uint32_t>(m.envelope.recipients.size());
    e.client_ip = m.envelope.client_ip;
    e.client_hostname = m.envelope.client_helo;
    e.connector = m.envelope.connector;
    e.source_context = m.envelope.protocol;
    for (const auto& r : m.envelope.recipients) {
      e.recipient = r.address;
      tracking.write(e);
    }
  }

  // RFC 6376 signing for client and relay connectors (mail from our own users and apps), by
  // the From domain's [[dkim]] key. A message that cannot be signed goes unsigned, as
  // OpenDKIM does: the receiver judges it by SPF and DMARC instead.
  void sign(smtp::Message& m) const {
    if (signers_.empty()) return;
    const config::ReceiveConnector* c = config_.find_connector(m.envelope.connector);
    if (!c || (c->usage != config::ConnectorUsage::client && c->usage != config::ConnectorUsage::relay)) return;
    auto from = auth::dkim_from_domain(m.content);
    if (!from) return;
    const auth::DkimSigner* signer = auth::find_dkim_signer(signers_, *from);
    if (!signer) return;
    if (auto field = signer->signature_field(m.content, clock_.now())) m.content.insert(0, *field);
  }

  spool::Committer& committer_;
  queue::QueueManager& queue_;
  log::TrackingLog& tracking_;
  const config::Config& config_;
  const std::vector<auth::DkimSigner>& signers_;
  const Clock& clock_;
};

}  // namespace sluice::daemon
