// The Store on etcd's gRPC API (etcd 3.4, Debian's etcd-server), laid out
// and used as kube-apiserver uses it (k8s.io/apiserver storage/etcd3):
//   create    Txn(If MOD(k) == 0 Then Put Else Get)
//   update    Txn(If MOD(k) == rv Then Put(prev_kv) Else Get)   rv 0: CREATE(k) > 0
//   remove    Txn(If MOD(k) == rv Then DeleteRange(prev_kv) Else Get)
//   list      Range [startAfter\0 or prefix, prefix end) with limit, at a revision
//   watch     Watch from after+1 with prev_kv and progress notifications,
//             resumed from the last revision seen when the stream breaks
// Every call has a deadline; a member that does not answer is left for the
// next endpoint (a new leader takes ~1.5 s to be elected).
#include "store/etcd_store.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace podnet::store {

namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kRegistry = "/registry";

// The key after the last one with `prefix`: the range end of a prefix.
std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char last = static_cast<unsigned char>(prefix.back());
    if (last < 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

core::Error fromStatus(const grpc::Status& status, const std::string& what) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::OUT_OF_RANGE:
      if (message.find("compacted") != std::string::npos)
        return core::Error{410, "Expired", "etcd: " + message};
      return core::Error{400, "BadRequest", "etcd: " + message};
    case grpc::StatusCode::UNAVAILABLE:
      return core::Error{503, "ServiceUnavailable",
                         "etcd is unavailable (" + what + "): " + message};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return core::Error{504, "Timeout",
                         "etcd did not answer in time (" + what +
                             "; has it lost its leader or quorum?); a write may still be "
                             "applied: read before trying again"};
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return core::Error{507, "InsufficientStorage",
                         "etcd: " + message + " (compact and defragment etcd, or raise its quota)"};
    default:
      return core::internal("etcd (" + what + "): " + message);
  }
}

bool retryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::string target(std::string endpoint) {
  for (std::string_view scheme : {"http://", "https://", "unix://"})
    if (endpoint.rfind(scheme, 0) == 0) endpoint.erase(0, scheme.size());
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

class Members {
 public:
  explicit Members(const EtcdOptions& options) : options_(options) {
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
    if (!options.caPem.empty() || !options.certPem.empty()) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = options.caPem;
      ssl.pem_cert_chain = options.certPem;
      ssl.pem_private_key = options.keyPem;
      credentials = grpc::SslCredentials(ssl);
    }
    for (const std::string& endpoint : options.endpoints) {
      grpc::ChannelArguments arguments;
      arguments.SetMaxReceiveMessageSize(-1);  // a list of 20k keys passes 4 MiB
      arguments.SetMaxSendMessageSize(-1);
      auto channel = grpc::CreateCustomChannel(target(endpoint), credentials, arguments);
      channels_.push_back(channel);
      kv_.push_back(pb::KV::NewStub(channel));
      watch_.push_back(pb::Watch::NewStub(channel));
    }
  }

  size_t size() const { return kv_.size(); }
  size_t current() const { return current_.load(); }
  void failed(size_t index) {
    size_t expected = index;
    current_.compare_exchange_strong(expected, (index + 1) % kv_.size());
  }
  pb::KV::Stub& kv(size_t index) { return *kv_[index]; }
  pb::Watch::Stub& watch(size_t index) { return *watch_[index]; }
  std::chrono::milliseconds deadline() const { return options_.requestTimeout; }

  // Runs `call(stub, context)` on the current member, then the others,
  // until one answers (or all failed with an unavailable error). A write
  // whose deadline passed may still be applied (etcd's indeterminate
  // outcome): it is not sent again, the caller gets 504, and the next call
  // goes to the next member. Reads are retried either way.
  template <typename Call>
  grpc::Status unary(Call call, bool write = false) {
    grpc::Status status;
    for (size_t attempt = 0; attempt < kv_.size(); ++attempt) {
      size_t index = current();
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + deadline());
      // A member that lost its leader refuses at once ("etcdserver: no
      // leader", not applied, so safe to send elsewhere) instead of
      // holding the request until the deadline.
      context.AddMetadata("hasleader", "true");
      status = call(kv(index), context);
      if (!retryable(status)) return status;
      failed(index);
      if (write && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return status;
    }
    return status;
  }

 private:
  const EtcdOptions& options_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<pb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<pb::Watch::Stub>> watch_;
  std::atomic<size_t> current_{0};
};

class EtcdWatch;

class EtcdStore : public Store {
 public:
  explicit EtcdStore(EtcdOptions options) : options_(std::move(options)), members_(options_) {}

  ~EtcdStore() override {
    {
      std::lock_guard lock(compactorMutex_);
      stopping_ = true;
    }
    compactorWake_.notify_all();
    if (compactor_.joinable()) compactor_.join();
  }

  // kube-apiserver's compactor (storage/etcd3/compact.go), so podnet and
  // kube API servers on one etcd cooperate: each round, the server whose
  // transaction on compact_rev_key's version wins records the current
  // revision and compacts to the one recorded a round earlier; the others
  // adopt the winner's version. One compaction per round, however many
  // servers, and always a round's worth of history kept.
  void startCompactor() {
    if (options_.compactionInterval.count() <= 0) return;
    compactor_ = std::thread([this] {
      int64_t version = 0, recorded = 0;
      std::unique_lock lock(compactorMutex_);
      while (
          !compactorWake_.wait_for(lock, options_.compactionInterval, [&] { return stopping_; })) {
        lock.unlock();
        compactRound(version, recorded);
        lock.lock();
      }
    });
  }

  core::Status connect() {
    // A first call tells a wrong address or a cluster without quorum now,
    // with the error the user needs, rather than at the first request.
    auto now = fetchRevision();
    if (!now) return now.takeError();
    return core::Ok{};
  }

  int64_t revision() const override {
    auto now = const_cast<EtcdStore*>(this)->fetchRevision();
    return now ? *now : seen_.load();
  }

  int64_t compactedRevision() const override { return compacted_.load(); }

  core::Result<KeyValue> get(std::string_view key) override {
    pb::RangeRequest request;
    request.set_key(toEtcd(key));
    auto response = range(request, "get");
    if (!response) return response.takeError();
    if (response->kvs_size() == 0) return core::Error{404, "NotFound", "key not found"};
    return fromEtcd(response->kvs(0));
  }

  core::Result<KeyValue> create(std::string_view key, std::string_view value) override {
    pb::TxnRequest request;
    std::string k = toEtcd(key);
    auto* compare = request.add_compare();
    compare->set_key(k);
    compare->set_target(pb::Compare::MOD);
    compare->set_result(pb::Compare::EQUAL);
    compare->set_mod_revision(0);
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(k);
    put->set_value(std::string(value));
    request.add_failure()->mutable_request_range()->set_key(k);
    auto response = txn(request, "create");
    if (!response) return response.takeError();
    if (!response->succeeded()) return core::Error{409, "AlreadyExists", "key already exists"};
    int64_t revision = response->header().revision();
    return KeyValue{std::string(key), std::string(value), revision, revision};
  }

  core::Result<KeyValue> update(std::string_view key, std::string_view value,
                                int64_t expectedModRevision) override {
    pb::TxnRequest request;
    std::string k = toEtcd(key);
    addGuard(request, k, expectedModRevision);
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(k);
    put->set_value(std::string(value));
    put->set_prev_kv(true);
    request.add_failure()->mutable_request_range()->set_key(k);
    auto response = txn(request, "update");
    if (!response) return response.takeError();
    if (!response->succeeded()) return guardFailure(*response);
    int64_t revision = response->header().revision();
    int64_t created = revision;
    if (response->responses_size() > 0 && response->responses(0).response_put().has_prev_kv())
      created = response->responses(0).response_put().prev_kv().create_revision();
    return KeyValue{std::string(key), std::string(value), created, revision};
  }

  core::Result<KeyValue> remove(std::string_view key, int64_t expectedModRevision) override {
    pb::TxnRequest request;
    std::string k = toEtcd(key);
    addGuard(request, k, expectedModRevision);
    auto* del = request.add_success()->mutable_request_delete_range();
    del->set_key(k);
    del->set_prev_kv(true);
    request.add_failure()->mutable_request_range()->set_key(k);
    auto response = txn(request, "delete");
    if (!response) return response.takeError();
    if (!response->succeeded()) return guardFailure(*response);
    const auto& deleted = response->responses(0).response_delete_range();
    if (deleted.prev_kvs_size() == 0) return core::Error{404, "NotFound", "key not found"};
    KeyValue last = fromEtcd(deleted.prev_kvs(0));
    last.modRevision = response->header().revision();
    return last;
  }

  core::Result<ListResult> list(std::string_view prefix, std::string_view startAfter, int64_t limit,
                                int64_t atRevision) override {
    pb::RangeRequest request;
    std::string from = toEtcd(prefix);
    request.set_range_end(prefixEnd(from));
    if (!startAfter.empty()) from = toEtcd(startAfter) + std::string(1, '\0');
    if (from.empty()) from = std::string(1, '\0');  // every key ("" is not a key)
    request.set_key(from);
    if (limit > 0) request.set_limit(limit);
    if (atRevision > 0) request.set_revision(atRevision);
    auto response = range(request, "list");
    if (!response) return response.takeError();
    ListResult out;
    out.items.reserve(size_t(response->kvs_size()));
    for (const auto& kv : response->kvs()) out.items.push_back(fromEtcd(kv));
    out.more = response->more();
    out.revision = atRevision > 0 ? atRevision : response->header().revision();
    return out;
  }

  core::Result<std::unique_ptr<Watch>> watch(std::string_view prefix,
                                             int64_t afterRevision) override;

  // ---- shared with the watches ----
  Members& members() { return members_; }
  const EtcdOptions& options() const { return options_; }
  // /registry/... under the configured prefix (the same with the default);
  // other keys as they are.
  std::string toEtcd(std::string_view key) const {
    if (key.substr(0, kRegistry.size()) == kRegistry)
      return options_.prefix + std::string(key.substr(kRegistry.size()));
    return std::string(key);
  }
  KeyValue fromEtcd(const mvccpb::KeyValue& kv) const {
    std::string key = kv.key();
    if (options_.prefix != kRegistry && key.rfind(options_.prefix, 0) == 0)
      key = std::string(kRegistry) + key.substr(options_.prefix.size());
    return KeyValue{std::move(key), kv.value(), kv.create_revision(), kv.mod_revision()};
  }
  void note(const pb::ResponseHeader& header) {
    int64_t revision = header.revision();
    int64_t seen = seen_.load();
    while (revision > seen && !seen_.compare_exchange_weak(seen, revision)) {
    }
  }
  void noteCompacted(int64_t revision) {
    int64_t known = compacted_.load();
    while (revision > known && !compacted_.compare_exchange_weak(known, revision)) {
    }
  }

 private:
  // One Range or Txn on the members (members_.unary), its error as a Store
  // error, its revision noted. A Txn is a write: not sent again past its
  // deadline.
  core::Result<pb::RangeResponse> range(const pb::RangeRequest& request, const char* what) {
    pb::RangeResponse response;
    grpc::Status status = members_.unary([&](pb::KV::Stub& kv, grpc::ClientContext& context) {
      return kv.Range(&context, request, &response);
    });
    if (!status.ok()) return fromStatus(status, what);
    note(response.header());
    return response;
  }
  core::Result<pb::TxnResponse> txn(const pb::TxnRequest& request, const char* what) {
    pb::TxnResponse response;
    grpc::Status status = members_.unary(
        [&](pb::KV::Stub& kv, grpc::ClientContext& context) {
          return kv.Txn(&context, request, &response);
        },
        true);
    if (!status.ok()) return fromStatus(status, what);
    note(response.header());
    return response;
  }

  core::Result<int64_t> fetchRevision() {
    pb::RangeRequest request;
    request.set_key(std::string(1, '\0'));  // any key: only the header's revision matters
    request.set_count_only(true);
    request.set_limit(1);
    auto response = range(request, "revision");
    if (!response) return response.takeError();
    return response->header().revision();
  }

  void compactRound(int64_t& version, int64_t& recorded) {
    static const std::string kKey = "compact_rev_key";
    pb::TxnRequest request;
    auto* compare = request.add_compare();
    compare->set_key(kKey);
    compare->set_target(pb::Compare::VERSION);
    compare->set_result(pb::Compare::EQUAL);
    compare->set_version(version);
    // The revision this round compacts to (kube writes the same value).
    auto* put = request.add_success()->mutable_request_put();
    put->set_key(kKey);
    put->set_value(std::to_string(recorded));
    request.add_failure()->mutable_request_range()->set_key(kKey);
    auto response = txn(request, "compaction");
    if (!response) return;
    int64_t current = response->header().revision();
    if (!response->succeeded()) {
      const auto& range = response->responses(0).response_range();
      version = range.kvs_size() > 0 ? range.kvs(0).version() : 0;
      recorded = current;
      return;
    }
    ++version;
    int64_t target = recorded;
    recorded = current;
    if (target <= 0) return;  // the first round only records
    pb::CompactionRequest compaction;
    compaction.set_revision(target);
    pb::CompactionResponse done;
    grpc::Status status = members_.unary([&](pb::KV::Stub& kv, grpc::ClientContext& context) {
      return kv.Compact(&context, compaction, &done);
    });
    if (status.ok() || status.error_message().find("compacted") != std::string::npos)
      noteCompacted(target);
  }

  static void addGuard(pb::TxnRequest& request, const std::string& key, int64_t expected) {
    auto* compare = request.add_compare();
    compare->set_key(key);
    if (expected != 0) {
      compare->set_target(pb::Compare::MOD);
      compare->set_result(pb::Compare::EQUAL);
      compare->set_mod_revision(expected);
    } else {
      compare->set_target(pb::Compare::CREATE);
      compare->set_result(pb::Compare::GREATER);
      compare->set_create_revision(0);
    }
  }

  static core::Error guardFailure(const pb::TxnResponse& response) {
    bool exists =
        response.responses_size() > 0 && response.responses(0).response_range().kvs_size() > 0;
    if (!exists) return core::Error{404, "NotFound", "key not found"};
    return core::Error{409, "Conflict", "the object has been modified"};
  }

  EtcdOptions options_;
  Members members_;
  std::atomic<int64_t> seen_{0};
  std::atomic<int64_t> compacted_{0};
  std::mutex compactorMutex_;
  std::condition_variable compactorWake_;
  bool stopping_ = false;
  std::thread compactor_;
};

// One gRPC watch stream read by a thread of its own; events queue for
// next(). A broken stream (a member lost, no leader) is opened again on the
// next member from the last revision delivered: no gap, no duplicate.
class EtcdWatch : public Watch {
 public:
  EtcdWatch(EtcdStore& store, std::string prefix, int64_t afterRevision)
      : store_(store), prefix_(std::move(prefix)), last_(afterRevision) {
    reader_ = std::thread([this] { read(); });
  }

  ~EtcdWatch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (context_) context_->TryCancel();
    }
    wake_.notify_all();
    if (reader_.joinable()) reader_.join();
  }

  core::Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, timeout, [&] { return !queue_.empty() || error_.has_value(); });
    if (!queue_.empty()) {
      std::vector<Event> out(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
      queue_.clear();
      return out;
    }
    if (error_) return *error_;
    return std::vector<Event>{};
  }

 private:
  void fail(core::Error error) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::move(error);
    wake_.notify_all();
  }

  void read() {
    Members& members = store_.members();
    int backoffMs = 50;
    while (true) {
      size_t index = members.current();
      auto context = std::make_shared<grpc::ClientContext>();
      // Without it a watch on a member that lost its leader goes silent.
      context->AddMetadata("hasleader", "true");
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        context_ = context;
      }
      auto stream = members.watch(index).Watch(context.get());
      pb::WatchRequest request;
      auto* create = request.mutable_create_request();
      std::string key = store_.toEtcd(prefix_);
      create->set_key(key);
      create->set_range_end(prefixEnd(key));
      create->set_start_revision(last_ + 1);
      create->set_prev_kv(true);
      create->set_progress_notify(true);
      bool healthy = false;
      if (stream->Write(request)) {
        pb::WatchResponse response;
        while (stream->Read(&response)) {
          healthy = true;
          backoffMs = 50;
          if (response.compact_revision() > 0) {
            store_.noteCompacted(response.compact_revision());
            stream->WritesDone();
            context->TryCancel();
            return fail(core::Error{410, "Expired",
                                    "the requested revision has been compacted (etcd compacted "
                                    "revision " +
                                        std::to_string(response.compact_revision()) + ")"});
          }
          if (response.canceled()) break;
          store_.note(response.header());
          if (!deliver(response)) {
            context->TryCancel();
            return;
          }
        }
      }
      grpc::Status status = stream->Finish();
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (!healthy || retryable(status)) members.failed(index);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoffMs));
      backoffMs = std::min(backoffMs * 2, 1000);
    }
  }

  // Queues the events past the last revision delivered; false when the
  // watcher fell too far behind (410) or is stopping.
  bool deliver(const pb::WatchResponse& response) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    for (const auto& e : response.events()) {
      const auto& kv = e.kv();
      if (kv.mod_revision() <= last_) continue;  // seen before a reconnect
      Event event;
      if (e.type() == mvccpb::Event::DELETE) {
        event.type = Event::Type::Delete;
        event.kv = e.has_prev_kv() ? store_.fromEtcd(e.prev_kv()) : store_.fromEtcd(kv);
        event.kv.modRevision = kv.mod_revision();
      } else {
        event.type = Event::Type::Put;
        event.kv = store_.fromEtcd(kv);
        event.created = kv.create_revision() == kv.mod_revision();
      }
      last_ = kv.mod_revision();
      queue_.push_back(std::move(event));
    }
    if (queue_.size() > store_.options().maxWatchBacklog) {
      queue_.clear();
      error_ = core::Error{410, "Expired", "the watcher fell too far behind"};
      wake_.notify_all();
      return false;
    }
    if (!queue_.empty()) wake_.notify_all();
    return true;
  }

  EtcdStore& store_;
  std::string prefix_;
  int64_t last_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Event> queue_;
  std::optional<core::Error> error_;
  bool stopping_ = false;
  std::shared_ptr<grpc::ClientContext> context_;
  std::thread reader_;
};

core::Result<std::unique_ptr<Watch>> EtcdStore::watch(std::string_view prefix,
                                                      int64_t afterRevision) {
  if (afterRevision < compacted_.load())
    return core::Error{410, "Expired", "the requested revision has been compacted"};
  return std::unique_ptr<Watch>(new EtcdWatch(*this, std::string(prefix), afterRevision));
}

}  // namespace

core::Result<std::unique_ptr<Store>> openEtcd(const EtcdOptions& options) {
  if (options.endpoints.empty()) return core::badRequest("--etcd-servers: no endpoint");
  auto store = std::make_unique<EtcdStore>(options);
  if (auto connected = store->connect(); !connected) return connected.takeError();
  store->startCompactor();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace podnet::store
