#include "exportformats.h"

namespace droplora::ui {

const QVector<ExportFormatInfo>& exportFormats() {
    static const QVector<ExportFormatInfo> formats = {
        {droplora::exports::ExportFormat::Peft, QStringLiteral("peft"), QStringLiteral("PEFT adapter"),
         QStringLiteral("adapter_config.json and adapter_model.safetensors, for the base model it was trained on"),
         QStringLiteral("export-peft"),
         QStringLiteral("# Python, with Hugging Face transformers and peft\n"
                        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
                        "from peft import PeftModel\n"
                        "base = AutoModelForCausalLM.from_pretrained(\"{model}\")\n"
                        "model = PeftModel.from_pretrained(base, \"{out}\")\n"
                        "tokenizer = AutoTokenizer.from_pretrained(\"{model}\")\n"
                        "\n"
                        "# or with this project's command line\n"
                        "droplora generate --model {model} --adapter {out} --prompt \"Hello\"\n")},
        {droplora::exports::ExportFormat::Merged, QStringLiteral("merged"), QStringLiteral("merged model"),
         QStringLiteral("the base model with the adapter folded into its weights (config.json, safetensors, "
                        "tokenizer files): loads without peft"),
         QStringLiteral("export-merged"),
         QStringLiteral("# Python, with Hugging Face transformers\n"
                        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
                        "model = AutoModelForCausalLM.from_pretrained(\"{out}\")\n"
                        "tokenizer = AutoTokenizer.from_pretrained(\"{out}\")\n"
                        "\n"
                        "# llama.cpp: convert to GGUF, then run (Ollama: a Modelfile with FROM ./model.gguf)\n"
                        "python convert_hf_to_gguf.py {out} --outfile model.gguf\n"
                        "llama-cli -m model.gguf -p \"Hello\"\n")},
        {droplora::exports::ExportFormat::GgufModel, QStringLiteral("gguf"), QStringLiteral("GGUF model"),
         QStringLiteral("model.gguf (f16, q8_0, bf16 or f32): the merged model with its vocabulary and chat template, for llama.cpp, "
                        "Ollama and LM Studio, plus an Ollama Modelfile"),
         QStringLiteral("export-gguf"),
         QStringLiteral("# llama.cpp\n"
                        "llama-cli -m {out}/model.gguf -p \"Hello\"\n"
                        "# smaller: llama-quantize {out}/model.gguf model-q4_k_m.gguf Q4_K_M\n"
                        "\n"
                        "# Ollama\n"
                        "ollama create my-model -f {out}/Modelfile && ollama run my-model\n")},
        {droplora::exports::ExportFormat::GgufAdapter, QStringLiteral("gguf-lora"), QStringLiteral("GGUF adapter"),
         QStringLiteral("adapter.gguf: a llama.cpp LoRA adapter for the base model in GGUF, plus an Ollama Modelfile"),
         QStringLiteral("export-gguf-lora"),
         QStringLiteral("# the base in GGUF first: droplora export --model {model} --format gguf --out base-gguf\n"
                        "llama-cli -m base-gguf/model.gguf --lora {out}/adapter.gguf -p \"Hello\"\n"
                        "\n"
                        "# Ollama: make the Modelfile's FROM line name the base, then\n"
                        "ollama create my-model -f {out}/Modelfile\n")},
    };
    return formats;
}

const ExportFormatInfo& exportFormatInfo(droplora::exports::ExportFormat format) {
    for (const ExportFormatInfo& info : exportFormats())
        if (info.format == format) return info;
    return exportFormats().front();
}

QString loadSnippet(const ExportFormatInfo& info, const QString& outDir, const QString& modelDir) {
    QString text = info.snippet;
    text.replace(QStringLiteral("{out}"), outDir);
    text.replace(QStringLiteral("{model}"), modelDir.isEmpty() ? QStringLiteral("BASE_MODEL_DIR") : modelDir);
    return text;
}

}  // namespace droplora::ui
