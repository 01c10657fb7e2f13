# The torch-free source lists, relative to backend/. One home: backend/CMakeLists.txt
# builds its libraries from them and tests/fuzz/CMakeLists.txt compiles the same
# files with clang and libFuzzer, so a new parser file is fuzzed without a second list.

set(FORMATS_SOURCES
  common/error.cpp
  common/text.cpp
  common/files.cpp
  common/install_paths.cpp
  common/cpu_features.cpp
  io/safetensors.cpp
  io/checkpoint_files.cpp
  io/strict_json.cpp
  io/gguf.cpp
  model/llama_config.cpp
  model/tensor_layout.cpp
  config/run_config.cpp
  config/run_presets.cpp
  train/metrics_log.cpp
  train/run_folder.cpp
  train/footprint.cpp
)

set(TEXT_SOURCES
  data/unicode_text.cpp
  data/hf_json.cpp
  data/hf_regex.cpp
  data/hf_normalizer.cpp
  data/hf_pretokenizer.cpp
  data/hf_bpe.cpp
  data/hf_decoder.cpp
  data/hf_added_tokens.cpp
  data/hf_tokenizer.cpp
  data/tokenizer_config.cpp
  data/tokenizer.cpp
  model/model_info.cpp  # reads tokenizer_config.json through data/tokenizer_config
)

set(JINJA_SOURCES
  data/jinja/value.cpp
  data/jinja/lexer.cpp
  data/jinja/parser.cpp
  data/jinja/builtins.cpp
  data/jinja/interpreter.cpp
  data/chat_template.cpp
)

# Torch-free sources of droplora_core that the fuzz targets read rows with.
set(DATA_ROW_SOURCES
  data/data_formats.cpp
  data/dataset.cpp
  data/templates.cpp
)
