#include "common/cpu_features.h"

#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <cstdint>
#define DROPLORA_X86 1
#endif

namespace droplora {

namespace {

#ifdef DROPLORA_X86
// XCR0: which register states the OS saves on a context switch.
uint64_t xcr0() {
    uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t{edx} << 32) | eax;
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#ifdef DROPLORA_X86
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = (c >> 27) & 1;
    if (!osxsave) return f;
    const uint64_t xcr = xcr0();
    // AVX-512 needs XMM, YMM, opmask, ZMM_Hi256 and Hi16_ZMM state (bits 1, 2, 5, 6, 7).
    const bool os_avx512 = (xcr & 0xE6) == 0xE6;
    // AMX needs XTILECFG and XTILEDATA state (bits 17, 18).
    const bool os_amx = ((xcr >> 17) & 3) == 3;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    f.avx512f = os_avx512 && ((b >> 16) & 1);
    const bool amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
    f.amx_bf16 = os_amx && amx_bf16 && amx_tile;
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = f.avx512f && ((a >> 5) & 1);
#endif
    return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

std::string describe_cpu_features(const CpuFeatures& f) {
    if (!f.avx512f && !f.amx_bf16) return "no AVX-512";
    std::string s = f.avx512f ? "AVX-512" : "";
    if (f.avx512_bf16) s += ", AVX512-BF16";
    if (f.amx_bf16) s += s.empty() ? "AMX-BF16" : ", AMX-BF16";
    return s;
}

bool precision_is_bf16(const std::string& precision, bool cuda, bool full_finetune, std::string* why) {
    const auto say = [why](bool bf16, std::string text) {
        if (why) *why = std::move(text);
        return bf16;
    };
    if (precision == "fp32") return say(false, "fp32 (precision: fp32)");
    if (precision == "bf16") return say(true, "bf16 frozen weights (precision: bf16)");
    if (full_finetune) return say(false, "fp32 (precision auto with adapter.method full: the weights are trained)");
    if (cuda) return say(true, "bf16 frozen weights (precision auto on a GPU)");
    const CpuFeatures& cpu = cpu_features();
    if (cpu.fast_bf16())
        return say(true, "bf16 frozen weights (precision auto: the CPU has " + describe_cpu_features(cpu) +
                             ", so oneDNN multiplies bf16 natively; precision: fp32 keeps everything fp32)");
    return say(false, "fp32 (precision auto: the CPU has " + describe_cpu_features(cpu) +
                          " without AVX512-BF16 or AMX-BF16, where bf16 would be emulated)");
}

}  // namespace droplora
