// How a LLaMA-family checkpoint is described to llama.cpp (docs/gguf.md): the
// architecture name, tensor names, the q/k row order of llama.cpp's rope, and
// the hyper-parameter keys. Torch-free: the exporter hands in float rows.
//
// Anything llama.cpp would run differently from our engine is an Error here,
// raised before a byte is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "model/llama_config.h"

namespace droplora::exports {

// llama.cpp's architecture: "llama" for LlamaForCausalLM / MistralForCausalLM,
// "qwen2" for Qwen2ForCausalLM (q/k/v biases), "qwen3" for Qwen3ForCausalLM
// (q/k norms); Error (naming `where`) for a configuration none of them expresses.
std::string gguf_architecture(const model::LlamaConfig& cfg, const std::string& where);

// "model.layers.3.self_attn.q_proj" → "blk.3.attn_q"; Error for anything else.
std::string gguf_module_name(const std::string& hf_module, const std::string& where);
// "model.layers.3.input_layernorm.weight" → "blk.3.attn_norm.weight",
// "model.layers.3.self_attn.q_norm.weight" → "blk.3.attn_q_norm.weight" (Qwen3),
// "model.embed_tokens.weight" → "token_embd.weight", "lm_head.weight" → "output.weight", ...
std::string gguf_tensor_name(const std::string& hf_name, const std::string& where);

// llama.cpp's `llama` architecture uses interleaved rope (pairs 2j, 2j+1), the
// Hugging Face checkpoint rotate-half (j, j + d/2); llama.cpp's converter
// therefore reorders the rows of q_proj (per query head) and k_proj (per kv
// head), weights and biases alike: destination row h·d + 2j + t takes source
// row h·d + t·d/2 + j. Returns, for each destination row, its source row; empty
// when the tensor (an HF name or module) keeps its order, and always for qwen2
// and qwen3, whose rope (NEOX) rotates halves as Hugging Face does.
std::vector<int64_t> gguf_row_order(const std::string& hf_name, const model::LlamaConfig& cfg);
// rows × cols floats, row-major; out[r] = in[order[r]]. Empty order = copy.
std::vector<float> reorder_rows(const std::vector<float>& in, int64_t cols, const std::vector<int64_t>& order);

// general.* (architecture, name) and the `arch`.* hyper-parameters (arch from
// gguf_architecture). `file_type` is llama.cpp's LLAMA_FTYPE (0 f32, 1 f16,
// 7 q8_0, 32 bf16) or -1 to leave it out.
void add_model_hparams(io::GgufMetadata& kv, const model::LlamaConfig& cfg, const std::string& arch,
                       const std::string& name, int file_type);

// llama3 rope scaling travels as a tensor of per-frequency divisors
// ("rope_freqs.weight", [head_dim/2]); empty for other rope types.
std::vector<float> llama3_rope_freqs(const model::LlamaConfig& cfg);

// LLAMA_FTYPE of a tensor type.
int llama_file_type(io::GgmlType t);

}  // namespace droplora::exports
