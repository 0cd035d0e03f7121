#include "encryption/transformer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "core/error.h"

namespace podnet::encryption {

namespace {

// Plain messages: the caller says where (a key, the start) and wraps them.
core::Error failed(std::string message) {
  return core::Error{500, "InternalError", std::move(message)};
}

constexpr size_t kGcmNonce = 12, kGcmTag = 16, kCbcIv = 16, kBlock = 16;

struct CipherContext {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
};

const EVP_CIPHER* aes(Cipher cipher, size_t keyBytes) {
  bool gcm = cipher == Cipher::AesGcm;
  switch (keyBytes) {
    case 16:
      return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
    case 24:
      return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
    default:
      return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
  }
}

unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

core::Result<std::string> random(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(bytes(out), int(n)) != 1) return failed("no random bytes for a nonce");
  return out;
}

core::Result<std::string> sealAesGcm(const std::string& key, std::string_view plain,
                                     std::string_view context) {
  auto nonce = random(kGcmNonce);
  if (!nonce) return nonce;
  CipherContext c;
  std::string out = *nonce;
  out.resize(kGcmNonce + plain.size() + kGcmTag);
  int len = 0, tail = 0;
  if (!c.ctx ||
      EVP_EncryptInit_ex(c.ctx, aes(Cipher::AesGcm, key.size()), nullptr, bytes(key),
                         bytes(*nonce)) != 1 ||
      EVP_EncryptUpdate(c.ctx, nullptr, &len, bytes(context), int(context.size())) != 1 ||
      EVP_EncryptUpdate(c.ctx, bytes(out) + kGcmNonce, &len, bytes(plain), int(plain.size())) !=
          1 ||
      EVP_EncryptFinal_ex(c.ctx, bytes(out) + kGcmNonce + len, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, int(kGcmTag),
                          bytes(out) + kGcmNonce + plain.size()) != 1)
    return failed("aesgcm: encryption failed");
  return out;
}

core::Result<std::string> openAesGcm(const std::string& key, std::string_view data,
                                     std::string_view context) {
  if (data.size() < kGcmNonce + kGcmTag) return failed("the data is too short");
  std::string_view nonce = data.substr(0, kGcmNonce);
  std::string_view sealed = data.substr(kGcmNonce, data.size() - kGcmNonce - kGcmTag);
  std::string tag(data.substr(data.size() - kGcmTag));
  CipherContext c;
  std::string out(sealed.size(), '\0');
  int len = 0, tail = 0;
  if (!c.ctx ||
      EVP_DecryptInit_ex(c.ctx, aes(Cipher::AesGcm, key.size()), nullptr, bytes(key),
                         bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(c.ctx, nullptr, &len, bytes(context), int(context.size())) != 1 ||
      EVP_DecryptUpdate(c.ctx, bytes(out), &len, bytes(sealed), int(sealed.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, int(kGcmTag), tag.data()) != 1 ||
      EVP_DecryptFinal_ex(c.ctx, bytes(out) + len, &tail) != 1)
    return failed("message authentication failed (wrong key, or the data was changed)");
  return out;
}

core::Result<std::string> sealAesCbc(const std::string& key, std::string_view plain,
                                     std::string_view) {
  auto iv = random(kCbcIv);
  if (!iv) return iv;
  CipherContext c;
  std::string out = *iv;
  out.resize(kCbcIv + plain.size() + kBlock);
  int len = 0, tail = 0;
  if (!c.ctx ||
      EVP_EncryptInit_ex(c.ctx, aes(Cipher::AesCbc, key.size()), nullptr, bytes(key), bytes(*iv)) !=
          1 ||
      EVP_EncryptUpdate(c.ctx, bytes(out) + kCbcIv, &len, bytes(plain), int(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(c.ctx, bytes(out) + kCbcIv + len, &tail) != 1)
    return failed("aescbc: encryption failed");
  out.resize(kCbcIv + size_t(len) + size_t(tail));
  return out;
}

core::Result<std::string> openAesCbc(const std::string& key, std::string_view data,
                                     std::string_view) {
  if (data.size() < kCbcIv + kBlock || (data.size() - kCbcIv) % kBlock != 0)
    return failed("the data is not a whole number of blocks");
  std::string_view iv = data.substr(0, kCbcIv);
  std::string_view sealed = data.substr(kCbcIv);
  CipherContext c;
  std::string out(sealed.size() + kBlock, '\0');
  int len = 0, tail = 0;
  if (!c.ctx ||
      EVP_DecryptInit_ex(c.ctx, aes(Cipher::AesCbc, key.size()), nullptr, bytes(key), bytes(iv)) !=
          1 ||
      EVP_DecryptUpdate(c.ctx, bytes(out), &len, bytes(sealed), int(sealed.size())) != 1 ||
      EVP_DecryptFinal_ex(c.ctx, bytes(out) + len, &tail) != 1)
    return failed("invalid padding (wrong key, or the data was changed)");
  out.resize(size_t(len) + size_t(tail));
  return out;
}

bool sodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

core::Result<std::string> sealSecretbox(const std::string& key, std::string_view plain,
                                        std::string_view) {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  if (crypto_secretbox_easy(bytes(out) + crypto_secretbox_NONCEBYTES, bytes(plain), plain.size(),
                            bytes(out), bytes(key)) != 0)
    return failed("secretbox: encryption failed");
  return out;
}

core::Result<std::string> openSecretbox(const std::string& key, std::string_view data,
                                        std::string_view) {
  if (data.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return failed("the data is too short");
  std::string out(data.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(bytes(out), bytes(data) + crypto_secretbox_NONCEBYTES,
                                 data.size() - crypto_secretbox_NONCEBYTES, bytes(data),
                                 bytes(key)) != 0)
    return failed("message authentication failed (wrong key, or the data was changed)");
  return out;
}

// Each cipher's two halves (the context is the storage key, which only
// aesgcm authenticates); identity has none.
using Step = core::Result<std::string> (*)(const std::string& key, std::string_view data,
                                           std::string_view context);
struct CipherSteps {
  Step seal;
  Step open;
};
CipherSteps stepsOf(Cipher cipher) {
  switch (cipher) {
    case Cipher::AesGcm:
      return {sealAesGcm, openAesGcm};
    case Cipher::AesCbc:
      return {sealAesCbc, openAesCbc};
    case Cipher::Secretbox:
      return {sealSecretbox, openSecretbox};
    case Cipher::Identity:
      break;
  }
  return {nullptr, nullptr};
}

std::string describeSlot(const Transformer::Slot& slot) {
  if (slot.cipher == Cipher::Identity) return "identity";
  return std::string(cipherName(slot.cipher)) + " key \"" + slot.keyName + "\"";
}

}  // namespace

core::Result<std::shared_ptr<const Transformer>> Transformer::make(
    const std::vector<Provider>& providers) {
  if (providers.empty()) return core::badRequest("at least one provider is required");
  std::shared_ptr<Transformer> made(new Transformer());
  for (const Provider& provider : providers) {
    if (provider.cipher == Cipher::Identity) {
      made->slots_.push_back({Cipher::Identity, "", "", ""});
      continue;
    }
    if (provider.cipher == Cipher::Secretbox && !sodiumReady())
      return failed("secretbox: libsodium did not initialize");
    for (const Key& key : provider.keys)
      made->slots_.push_back({provider.cipher, key.name, key.secret,
                              std::string(kEncryptedPrefix) +
                                  std::string(cipherName(provider.cipher)) + ":v1:" + key.name +
                                  ":"});
  }
  return std::shared_ptr<const Transformer>(std::move(made));
}

Transformer::~Transformer() {
  for (Slot& slot : slots_) OPENSSL_cleanse(slot.key.data(), slot.key.size());
}

core::Result<std::string> Transformer::seal(std::string_view plain,
                                            std::string_view context) const {
  const Slot& slot = slots_.front();
  if (slot.cipher == Cipher::Identity) return std::string(plain);
  auto sealed = stepsOf(slot.cipher).seal(slot.key, plain, context);
  if (!sealed) return sealed;
  return slot.prefix + *sealed;
}

core::Result<Opened> Transformer::open(std::string_view stored, std::string_view context) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (slot.cipher == Cipher::Identity || stored.substr(0, slot.prefix.size()) != slot.prefix)
      continue;
    auto plain = stepsOf(slot.cipher).open(slot.key, stored.substr(slot.prefix.size()), context);
    if (!plain)
      return failed("cannot decrypt with " + describeSlot(slot) + ": " + plain.error().message);
    return Opened{std::move(*plain), i != 0};
  }
  if (stored.substr(0, kEncryptedPrefix.size()) == kEncryptedPrefix)
    return failed("it is encrypted with " + describeSealed(stored) +
                  ", which the encryption configuration does not list");
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].cipher == Cipher::Identity) return Opened{std::string(stored), i != 0};
  return failed(
      "it is not encrypted, and the encryption configuration has no identity provider to read "
      "it");
}

std::string Transformer::sealer() const { return describeSlot(slots_.front()); }

std::string describeSealed(std::string_view stored) {
  if (stored.substr(0, kEncryptedPrefix.size()) != kEncryptedPrefix) return "";
  std::string_view rest = stored.substr(kEncryptedPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return "an unknown provider";
  std::string provider(rest.substr(0, colon));
  rest = rest.substr(colon + 1);
  if (rest.substr(0, 3) != "v1:") return provider;
  rest = rest.substr(3);
  colon = rest.find(':');
  std::string name(rest.substr(0, colon == std::string_view::npos ? 0 : colon));
  // Names are printable and short; anything else is not a name.
  if (name.size() > 253) return provider;
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
      return provider;
  return provider + " key \"" + name + "\"";
}

}  // namespace podnet::encryption
