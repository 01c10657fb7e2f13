// Bridge between safetensors files and torch tensors.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace droplora::io {

at::ScalarType to_scalar_type(DType d, const std::string& where);  // throws for dtypes torch 1.13 lacks
DType from_scalar_type(at::ScalarType t);

// Copies one tensor out of the file into a fresh contiguous CPU tensor.
at::Tensor load_tensor(const SafetensorsFile& file, const TensorInfo& info);
at::Tensor load_tensor(const SafetensorsFile& file, const std::string& name);

// Writes named tensors (any device/dtype; moved to CPU contiguous first).
void save_tensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                  std::map<std::string, std::string> metadata = {});

// Loads every tensor of a file (small files: adapters, fixtures).
std::map<std::string, at::Tensor> load_all(const std::string& path);

}  // namespace droplora::io
