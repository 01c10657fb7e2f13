#include "io/safetensors_torch.h"

#include <c10/util/Exception.h>

#include <cstring>

#include "common/error.h"

// safetensors stores little-endian bytes and load_tensor copies them verbatim.
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors_torch.cpp assumes a little-endian host"
#endif

namespace droplora::io {

namespace {

struct Pair {
    DType dtype;
    at::ScalarType scalar;
};

// Dtypes with an exact torch 1.13 counterpart (no unsigned beyond U8, no float8).
constexpr Pair kPairs[] = {
    {DType::Bool, at::kBool}, {DType::U8, at::kByte},    {DType::I8, at::kChar},  {DType::I16, at::kShort},
    {DType::I32, at::kInt},   {DType::I64, at::kLong},   {DType::F16, at::kHalf}, {DType::BF16, at::kBFloat16},
    {DType::F32, at::kFloat}, {DType::F64, at::kDouble},
};

bool lookup(at::ScalarType t, DType* out) {
    for (const auto& p : kPairs) {
        if (p.scalar == t) {
            *out = p.dtype;
            return true;
        }
    }
    return false;
}

// Names can come from untrusted files: keep messages on one line.
std::string tensor_where(const std::string& path, const std::string& name) {
    std::string shown;
    for (const char c : name) shown += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    return path + ": tensor '" + shown + "'";
}

// c10 messages carry a backtrace on later lines; keep the first.
std::string first_line(const char* what) {
    std::string s = what;
    return s.substr(0, s.find('\n'));
}

}  // namespace

at::ScalarType to_scalar_type(DType d, const std::string& where) {
    for (const auto& p : kPairs)
        if (p.dtype == d) return p.scalar;
    fail(where, std::string("dtype ") + dtype_name(d) + " has no LibTorch equivalent in this build");
}

DType from_scalar_type(at::ScalarType t) {
    DType d{};
    if (!lookup(t, &d))
        throw Error(std::string("torch dtype ") + c10::toString(t) + " cannot be stored in safetensors");
    return d;
}

at::Tensor load_tensor(const SafetensorsFile& file, const TensorInfo& info) {
    const at::ScalarType scalar = to_scalar_type(info.dtype, tensor_where(file.path(), info.name));
    at::Tensor out = at::empty(info.shape, at::TensorOptions().dtype(scalar).device(at::kCPU));
    // The header was validated: [begin, end) lies inside the mapping and equals numel × item size.
    const std::size_t nbytes = static_cast<std::size_t>(info.end - info.begin);
    if (nbytes > 0) std::memcpy(out.data_ptr(), file.data(info), nbytes);
    return out;
}

at::Tensor load_tensor(const SafetensorsFile& file, const std::string& name) {
    return load_tensor(file, file.at(name));
}

void save_tensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                  std::map<std::string, std::string> metadata) {
    std::vector<at::Tensor> keep;  // owns the CPU contiguous copies until the file is written
    std::vector<RawTensor> raw;
    keep.reserve(tensors.size());
    raw.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        const std::string where = tensor_where(path, name);
        if (!tensor.defined()) fail(where, "tensor is undefined");
        if (tensor.layout() != at::kStrided) fail(where, "only dense (strided) tensors can be saved");
        RawTensor r;
        r.name = name;
        if (!lookup(tensor.scalar_type(), &r.dtype))
            fail(where, std::string("torch dtype ") + c10::toString(tensor.scalar_type()) +
                            " cannot be stored in safetensors");
        try {
            keep.push_back(tensor.detach().to(at::kCPU).contiguous());
        } catch (const c10::Error& e) {
            fail(where, "cannot copy to CPU: " + first_line(e.what_without_backtrace()));
        }
        const at::Tensor& cpu = keep.back();
        r.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
        r.nbytes = static_cast<std::size_t>(cpu.numel()) * cpu.element_size();
        r.data = r.nbytes > 0 ? cpu.data_ptr() : nullptr;
        raw.push_back(std::move(r));
    }
    write_safetensors(path, raw, std::move(metadata));
}

std::map<std::string, at::Tensor> load_all(const std::string& path) {
    const auto file = SafetensorsFile::open(path);
    std::map<std::string, at::Tensor> out;
    for (const TensorInfo& t : file->tensors()) out.emplace(t.name, load_tensor(*file, t));
    return out;
}

}  // namespace droplora::io
