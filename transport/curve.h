// CURVE keys: ZeroMQ's authentication and encryption (CurveZMQ). A key pair
// is two 40-character Z85 strings, kept in ZeroMQ's zcert text format:
//
//   metadata
//   curve
//       public-key = "..."
//       secret-key = "..."
//
// A channel given CurveClient keys encrypts everything and proves who it is;
// a ServerLoop given CurveServer keys admits only the public keys it lists
// (a ZAP handler), refusing the others during the handshake.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "base/status.h"

namespace dfs::transport {

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters; empty in a public certificate
};

Result<KeyPair> NewKeyPair();

// A 40-character Z85 string that decodes to a 32-byte key.
bool IsZ85Key(const std::string& s);

// A zcert file: the public key, and the secret one if it holds it.
Result<KeyPair> ReadCert(const std::string& path);
// Writes `keys` as a zcert file (mode 0600 if it holds the secret key); a
// `server_public` key goes in its metadata as `server-key`, naming the
// servers this key talks to.
Status WriteCert(const std::string& path, const KeyPair& keys, const std::string& server_public = "");

// What a channel presents: its own keys and the server's public key.
struct CurveClient {
  KeyPair own;
  std::string server_public;
};

// A client's key file: its key pair (the secret key is required) and, in
// the metadata, the `server-key` of the cluster it belongs to.
Result<CurveClient> ReadClientCert(const std::string& path);

// True for tcp:// endpoints on 127.0.0.0/8, ::1 or localhost: the only
// ones a server may listen on without keys (--insecure).
bool IsLoopback(const std::string& endpoint);

// What a server requires: its keys and the client public keys it admits.
struct CurveServer {
  KeyPair own;
  std::set<std::string> admitted;
};

}  // namespace dfs::transport
