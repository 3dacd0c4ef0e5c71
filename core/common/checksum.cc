#include "core/common/checksum.h"

#include <immintrin.h>
#include <isa-l/crc.h>

namespace dfs {
namespace {

#if defined(__x86_64__)
const bool kHasAvx = __builtin_cpu_supports("avx");
__attribute__((target("avx"))) void ZeroUpper() { _mm256_zeroupper(); }
#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t length) {
  // ISA-L's crc32_iscsi takes and returns the raw register value; the standard
  // CRC32C (check value 0xE3069283 for "123456789") inverts in and out.
  uint32_t crc = ~crc32_iscsi(static_cast<unsigned char*>(const_cast<void*>(data)),
                              static_cast<int>(length), 0xFFFFFFFFu);
  // ISA-L's AVX code leaves upper vector registers dirty, which slows later
  // SSE code (memcpy, other hashing); see DESIGN.md section 9.
#if defined(__x86_64__)
  if (kHasAvx) ZeroUpper();
#endif
  return crc;
}

}  // namespace dfs
