// The rules under keys and capabilities, without servers: the
// authorized_keys format, capability signatures, and the POSIX mode rule.
#include <catch2/catch.hpp>

#include "core/common/capability.h"
#include "core/common/identity.h"
#include "core/meta/permissions.h"

namespace dfs {
namespace {

const std::string kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string kKeyB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV#hID";  // '#' is a Z85 digit

TEST_CASE("authorized_keys: roles, identities, comments, and clear errors", "[unit][security]") {
  auto table = ParseAuthorizedKeys(
      "# the admins\n" + kKeyA + " admin 0 0\n\n  " + kKeyB + "  client 1000 100 trusted\n", "keys");
  REQUIRE(table.ok());
  REQUIRE(table->size() == 2);
  CHECK(table->at(kKeyA).role == Role::kAdmin);
  CHECK(!table->at(kKeyA).trusted);
  CHECK(table->at(kKeyB).role == Role::kClient);
  CHECK(table->at(kKeyB).uid == 1000);
  CHECK(table->at(kKeyB).gid == 100);
  CHECK(table->at(kKeyB).trusted);
  CHECK(ParseAuthorizedKeys(AuthorizedKeyLine(kKeyB, table->at(kKeyB)), "x")->at(kKeyB).trusted);

  struct Bad {
    std::string text, why;
  };
  for (const Bad& bad : {Bad{kKeyA + " root 0 0", "role root"}, Bad{kKeyA + " client -1 0", "uid and gid"},
                         Bad{kKeyA + " client 0", "found 3 words"}, Bad{"short client 0 0", "not a 40-character"},
                         Bad{kKeyA + " client 0 0 yes", "only be 'trusted'"},
                         Bad{kKeyA + " client 0 0\n" + kKeyA + " admin 0 0", "line 2: key"}}) {
    auto r = ParseAuthorizedKeys(bad.text, "keys");
    INFO(bad.text);
    REQUIRE(!r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains(bad.why));
  }
}

TEST_CASE("a capability holds for its file, rights and time only, under its key only", "[unit][security]") {
  CapabilityKey key = CapabilityKey::FromServerSecret("secret one");
  const int64_t now = 1'000'000'000'000;
  Capability cap = key.Issue(7, kCapRead, 3, now + 1000);
  CHECK(key.Check(cap, 7, kCapRead, now).ok());
  CHECK_THAT(key.Check(cap, 8, kCapRead, now).message(), Catch::Contains("presented for file 8"));
  CHECK_THAT(key.Check(cap, 7, kCapWrite, now).message(), Catch::Contains("does not grant write"));
  CHECK_THAT(key.Check(cap, 7, kCapRead, now + 1000).message(), Catch::Contains("expired"));
  for (auto change : {+[](Capability* c) { c->fid = 8; }, +[](Capability* c) { c->rights |= kCapWrite; },
                      +[](Capability* c) { c->generation += 1; }, +[](Capability* c) { c->expires_ns += 1; },
                      +[](Capability* c) { c->mac.back() ^= 1; }}) {
    Capability changed = cap;
    change(&changed);
    CHECK_THAT(key.Check(changed, changed.fid, kCapRead, now).message(), Catch::Contains("forged"));
  }
  CHECK_THAT(CapabilityKey::FromServerSecret("secret two").Check(cap, 7, kCapRead, now).message(),
             Catch::Contains("forged"));
  CHECK_THAT(key.Check(Capability{}, 7, kCapRead, now).message(), Catch::Contains("no capability"));
}

TEST_CASE("the mode rule: owner bits, else group bits, else other bits; some keys are not checked",
          "[unit][security]") {
  proto::Attr a;
  a.uid = 10;
  a.gid = 20;
  a.mode = 0640;
  Identity owner{Role::kClient, 10, 99, false, false}, group{Role::kClient, 11, 20, false, false},
      other{Role::kClient, 12, 21, false, false};
  CHECK(meta::May(owner, a, meta::kMayRead | meta::kMayWrite));
  CHECK(meta::May(group, a, meta::kMayRead));
  CHECK(!meta::May(group, a, meta::kMayWrite));
  CHECK(!meta::May(other, a, meta::kMayRead));
  a.mode = 0044;  // the owner's bits hold even when others have more
  CHECK(!meta::May(owner, a, meta::kMayRead));
  CHECK(meta::May(other, a, meta::kMayRead));
  // Not checked: uid 0, trusted keys, admins, servers, --insecure.
  for (Identity free : {Identity{Role::kClient, 0, 0, false, false}, Identity{Role::kClient, 12, 21, true, false},
                        Identity{Role::kAdmin, 12, 21, false, false}, Identity::Server(), Identity::Insecure()}) {
    CHECK(!meta::Checked(free));
    CHECK(meta::May(free, a, meta::kMayWrite));
  }
  CHECK(meta::Checked(other));
}

}  // namespace
}  // namespace dfs
