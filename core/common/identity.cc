#include "core/common/identity.h"

#include <fstream>
#include <sstream>

#include "transport/curve.h"

namespace dfs {
namespace {

bool ParseRole(const std::string& s, Role* role) {
  if (s == "client")
    *role = Role::kClient;
  else if (s == "admin")
    *role = Role::kAdmin;
  else if (s == "server")
    *role = Role::kServer;
  else
    return false;
  return true;
}

bool ParseId(const std::string& s, uint32_t* id) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  uint64_t v = std::stoull(s);
  if (v > 0xfffffffeULL) return false;
  *id = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kServer:
      return "server";
    case Role::kClient:
      break;
  }
  return "client";
}

Result<KeyTable> ParseAuthorizedKeys(const std::string& text, const std::string& origin) {
  KeyTable table;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    // A comment is a whole line: '#' is a Z85 digit, so keys may hold one.
    if (size_t first = line.find_first_not_of(" \t"); first != std::string::npos && line[first] == '#') continue;
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.empty()) continue;
    const std::string where = origin + " line " + std::to_string(n);
    Identity id;
    if (w.size() < 4 || w.size() > 5) {
      return InvalidArgument(where + ": expected 'KEY ROLE UID GID [trusted]', found " + std::to_string(w.size()) +
                             " words");
    }
    if (!transport::IsZ85Key(w[0]))
      return InvalidArgument(where + ": " + w[0] + " is not a 40-character Z85 public key");
    if (!ParseRole(w[1], &id.role))
      return InvalidArgument(where + ": role " + w[1] + " is not client, admin or server");
    if (!ParseId(w[2], &id.uid) || !ParseId(w[3], &id.gid)) {
      return InvalidArgument(where + ": uid and gid must be numbers below 4294967295");
    }
    if (w.size() == 5) {
      if (w[4] != "trusted") return InvalidArgument(where + ": the fifth word may only be 'trusted'");
      id.trusted = true;
    }
    if (!table.emplace(w[0], id).second) return InvalidArgument(where + ": key " + w[0] + " is listed twice");
  }
  return table;
}

Result<KeyTable> ReadAuthorizedKeys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read the authorized keys file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseAuthorizedKeys(text.str(), path);
}

std::string AuthorizedKeyLine(const std::string& key, const Identity& id) {
  return key + " " + RoleName(id.role) + " " + std::to_string(id.uid) + " " + std::to_string(id.gid) +
         (id.trusted ? " trusted" : "");
}

std::set<std::string> PublicKeys(const KeyTable& table) {
  std::set<std::string> keys;
  for (const auto& entry : table) keys.insert(entry.first);
  return keys;
}

std::vector<KeyEntry> ToEntries(const KeyTable& table) {
  std::vector<KeyEntry> entries;
  for (const auto& [key, id] : table) entries.push_back({key, static_cast<int>(id.role), id.uid, id.gid, id.trusted});
  return entries;
}

KeyTable FromEntries(const std::vector<KeyEntry>& entries) {
  KeyTable table;
  for (const KeyEntry& e : entries) {
    Identity id;
    id.role = e.role == 2 ? Role::kServer : e.role == 1 ? Role::kAdmin : Role::kClient;
    id.uid = e.uid;
    id.gid = e.gid;
    id.trusted = e.trusted;
    table[e.key] = id;
  }
  return table;
}

}  // namespace dfs
