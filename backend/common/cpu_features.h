// What the CPU can do for the matrix products, read from its feature flags
// (CPUID, and XGETBV for what the operating system enables), never guessed
// from a model name. Torch-free; `precision: auto` asks here (model/loader.h).
#pragma once

#include <string>

namespace droplora {

struct CpuFeatures {
    bool avx512f = false;       // AVX-512 Foundation, with the OS saving its registers
    bool avx512_bf16 = false;   // VDPBF16PS and the bf16 conversions (Zen 4+, Cooper Lake, Sapphire Rapids+)
    bool amx_bf16 = false;      // AMX tiles with bf16 (Sapphire Rapids+), with the OS enabling tile state
    // oneDNN runs bf16 matrix products natively: AVX512-BF16 or AMX-BF16.
    bool fast_bf16() const { return avx512_bf16 || amx_bf16; }
};

// The machine's features (read once). On other architectures: none.
const CpuFeatures& cpu_features();
// "AVX-512, AVX512-BF16" / "AVX-512, AVX512-BF16, AMX-BF16" / "no AVX-512".
std::string describe_cpu_features(const CpuFeatures& f);

// The one rule for a run's `precision` (auto | fp32 | bf16, already validated):
// whether the frozen weights are bf16. auto: bf16 on a GPU and on a CPU with
// fast_bf16(), fp32 elsewhere and for full fine-tuning (its weights are trained).
// `why`, when given, says what was chosen and why (for the log).
// model::resolve_precision and the workbench's memory estimate both ask here.
bool precision_is_bf16(const std::string& precision, bool cuda, bool full_finetune, std::string* why = nullptr);

}  // namespace droplora
