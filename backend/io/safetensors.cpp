#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>

#include "common/error.h"
#include "common/files.h"
#include "io/strict_json.h"

namespace droplora::io {

namespace {

using strict::Json;  // ordered: tensors() keeps the header's order
using strict::one_line;
using strict::parse_strict_json;
using strict::quoted;
using strict::tensor_where;
using strict::valid_utf8;

constexpr uint64_t kMaxHeaderBytes = 100000000;  // the reference reader's cap
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeRow {
    DType dtype;
    const char* name;
    std::size_t size;
};

constexpr DTypeRow kDTypes[] = {
    {DType::Bool, "BOOL", 1}, {DType::U8, "U8", 1},           {DType::I8, "I8", 1},           {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},   {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},       {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},   {DType::F32, "F32", 4},         {DType::F64, "F64", 8},         {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},   {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeRow& dtype_row(DType d) {
    for (const auto& row : kDTypes)
        if (row.dtype == d) return row;
    throw Error("safetensors: invalid DType value " + std::to_string(static_cast<int>(d)));
}

// Reads a JSON integer that must be >= 0 and <= max.
bool non_negative_int(const Json& v, uint64_t max, uint64_t* out) {
    if (v.is_number_unsigned())
        *out = v.get<uint64_t>();
    else if (v.is_number_integer() && v.get<int64_t>() >= 0)
        *out = static_cast<uint64_t>(v.get<int64_t>());
    else
        return false;
    return *out <= max;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
    if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
    *out = a * b;
    return true;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

TensorInfo parse_entry(const std::string& name, const Json& entry, const std::string& where) {
    const std::string tw = tensor_where(where, name);
    if (!entry.is_object()) fail(tw, std::string("entry is a JSON ") + entry.type_name() + ", not an object");
    for (const auto& [key, _] : entry.items())
        if (key != "dtype" && key != "shape" && key != "data_offsets") fail(tw, "unexpected field " + quoted(key));
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(key)) fail(tw, std::string("missing field '") + key + "'");

    TensorInfo t;
    t.name = name;
    const Json& dtype = entry["dtype"];
    if (!dtype.is_string()) fail(tw, std::string("dtype is a JSON ") + dtype.type_name() + ", not a string");
    if (!parse_dtype(dtype.get_ref<const std::string&>(), &t.dtype))
        fail(tw, "unknown dtype " + quoted(dtype.get_ref<const std::string&>()));

    const Json& shape = entry["shape"];
    if (!shape.is_array()) fail(tw, "shape is not a list of non-negative integers");
    uint64_t numel = 1;
    bool overflow = false;
    for (const Json& d : shape) {
        uint64_t dim = 0;
        if (!non_negative_int(d, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), &dim))
            fail(tw, "shape is not a list of non-negative integers (found " + one_line(d.dump(), 40) + ")");
        t.shape.push_back(static_cast<int64_t>(dim));
        overflow = overflow || !checked_mul(numel, dim, &numel);
    }

    const Json& offsets = entry["data_offsets"];
    uint64_t begin = 0, end = 0;
    const uint64_t u64max = std::numeric_limits<uint64_t>::max();
    if (!offsets.is_array() || offsets.size() != 2 || !non_negative_int(offsets[0], u64max, &begin) ||
        !non_negative_int(offsets[1], u64max, &end))
        fail(tw,
             "data_offsets is not a list of two non-negative integers (found " + one_line(offsets.dump(), 80) + ")");
    if (end < begin) fail(tw, "data_offsets end " + std::to_string(end) + " is before begin " + std::to_string(begin));
    t.begin = begin;
    t.end = end;

    uint64_t nbytes = 0;
    if (overflow || numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        !checked_mul(numel, dtype_size(t.dtype), &nbytes))
        fail(tw, "shape " + shape_text(t.shape) + " of " + dtype_name(t.dtype) + " overflows 64-bit byte counts");
    if (end - begin != nbytes)
        fail(tw, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") hold " +
                     std::to_string(end - begin) + " bytes but shape " + shape_text(t.shape) + " of " +
                     dtype_name(t.dtype) + " needs " + std::to_string(nbytes));
    return t;
}

// Ranges sorted by offset must tile [0, buffer_size) exactly.
void check_layout(const std::vector<TensorInfo>& tensors, uint64_t buffer_size, const std::string& where) {
    std::vector<std::size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(tensors[a].begin, tensors[a].end) < std::tie(tensors[b].begin, tensors[b].end);
    });
    uint64_t expected = 0;
    const TensorInfo* prev = nullptr;
    for (std::size_t i : order) {
        const TensorInfo& t = tensors[i];
        const std::string tw = tensor_where(where, t.name);
        if (t.begin < expected)
            fail(tw, "data_offsets begin " + std::to_string(t.begin) + " overlaps tensor " + quoted(prev->name) +
                         " (which ends at " + std::to_string(expected) + ")");
        if (t.begin > expected)
            fail(tw, "data_offsets begin " + std::to_string(t.begin) + " leaves a hole of " +
                         std::to_string(t.begin - expected) + " bytes before it (expected " + std::to_string(expected) +
                         ")");
        if (t.end > buffer_size)
            fail(tw, "data_offsets end " + std::to_string(t.end) + " runs past the data buffer (" +
                         std::to_string(buffer_size) + " bytes; file truncated?)");
        expected = t.end;
        prev = &t;
    }
    if (expected != buffer_size)
        fail(where, std::to_string(buffer_size - expected) + " trailing bytes after the last tensor's data");
}

// Writes all of `n` bytes, retrying short writes (large tensors exceed one write()).
}  // namespace

// ---- dtypes --------------------------------------------------------------------------------------

const char* dtype_name(DType d) {
    return dtype_row(d).name;
}
std::size_t dtype_size(DType d) {
    return dtype_row(d).size;
}

bool parse_dtype(const std::string& s, DType* out) {
    for (const auto& row : kDTypes) {
        if (s == row.name) {
            *out = row.dtype;
            return true;
        }
    }
    return false;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// ---- reader --------------------------------------------------------------------------------------

void SafetensorsFile::parse_header(const std::string& header_json, uint64_t buffer_size, const std::string& where,
                                   std::vector<TensorInfo>* tensors, std::map<std::string, std::string>* metadata) {
    std::size_t bad_at = 0;
    if (!valid_utf8(header_json, &bad_at))
        fail(where, "header is not valid UTF-8 (bad byte at header offset " + std::to_string(bad_at) + ")");
    // Depth 3: {name: {field: [dims]}}.
    const Json header =
        parse_strict_json(header_json, 3, where, [&](const std::vector<std::string>& path, const std::string& key) {
            if (path.empty() && key == kMetadataKey) fail(where, "'__metadata__' appears more than once in the header");
            if (path.empty()) fail(tensor_where(where, key), "appears more than once in the header");
            if (path[0] == kMetadataKey) fail(where, "__metadata__: key " + quoted(key) + " appears more than once");
            if (path.size() == 1)
                fail(tensor_where(where, path[0]), "field " + quoted(key) + " appears more than once");
            fail(tensor_where(where, path[0]),
                 "key " + quoted(key) + " under " + quoted(path.back()) + " appears more than once");
        });
    if (!header.is_object()) fail(where, std::string("header is a JSON ") + header.type_name() + ", not an object");

    std::vector<TensorInfo> parsed;
    std::map<std::string, std::string> meta;
    for (const auto& [name, entry] : header.items()) {
        if (name == kMetadataKey) {
            if (!entry.is_object()) fail(where, "__metadata__ is not an object of strings");
            for (const auto& [key, value] : entry.items()) {
                if (!value.is_string())
                    fail(where, "__metadata__: value of " + quoted(key) + " is a JSON " + value.type_name() +
                                    ", not a string");
                meta[key] = value.get<std::string>();
            }
            continue;
        }
        parsed.push_back(parse_entry(name, entry, where));
    }
    check_layout(parsed, buffer_size, where);
    *tensors = std::move(parsed);
    *metadata = std::move(meta);
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;

    f->map_ = std::make_unique<files::MappedFile>(path);  // from here the destructor unmaps, also when validation throws
    const auto size = static_cast<uint64_t>(f->map_->size());
    if (size < 8) fail(path, "file is " + std::to_string(size) + " bytes, too short for a safetensors header (needs 8)");

    const uint8_t* bytes = f->map_->data();
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian u64
    if (n > kMaxHeaderBytes)
        fail(path, "header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                       " bytes (not a safetensors file?)");
    if (8 + n > size)
        fail(path, "header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                       " bytes; file truncated?)");
    const std::string header(reinterpret_cast<const char*>(bytes + 8), static_cast<std::size_t>(n));
    parse_header(header, size - 8 - n, path, &f->tensors_, &f->metadata_);
    f->buffer_ = bytes + 8 + n;
    for (std::size_t i = 0; i < f->tensors_.size(); ++i) f->index_[f->tensors_[i].name] = static_cast<int>(i);
    return f;
}

SafetensorsFile::~SafetensorsFile() = default;

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[static_cast<std::size_t>(it->second)];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
    const TensorInfo* t = find(name);
    if (t == nullptr) fail(tensor_where(path_, name), "not in this file");
    return *t;
}

// ---- writer --------------------------------------------------------------------------------------

void write_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                       std::map<std::string, std::string> metadata) {
    std::vector<const RawTensor*> sorted;
    for (const RawTensor& t : tensors) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](const RawTensor* a, const RawTensor* b) { return a->name < b->name; });

    metadata["format"] = "pt";  // transformers refuses files without it
    std::size_t bad_at = 0;
    for (const auto& [key, value] : metadata)
        if (!valid_utf8(key, &bad_at) || !valid_utf8(value, &bad_at))
            fail(path, "metadata " + quoted(key) + " is not valid UTF-8");

    Json header = Json::object();
    header[kMetadataKey] = Json(metadata);
    uint64_t offset = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const RawTensor& t = *sorted[i];
        const std::string tw = tensor_where(path, t.name);
        if (t.name == kMetadataKey) fail(tw, "this name is reserved for metadata");
        if (!valid_utf8(t.name, &bad_at)) fail(tw, "name is not valid UTF-8");
        if (i > 0 && sorted[i - 1]->name == t.name) fail(tw, "given more than once");
        uint64_t numel = 1;
        for (int64_t d : t.shape)
            if (d < 0 || !checked_mul(numel, static_cast<uint64_t>(d), &numel))
                fail(tw, "invalid shape " + shape_text(t.shape));
        uint64_t nbytes = 0;
        if (!checked_mul(numel, dtype_size(t.dtype), &nbytes) || nbytes != t.nbytes)
            fail(tw, "has " + std::to_string(t.nbytes) + " bytes but shape " + shape_text(t.shape) + " of " +
                         dtype_name(t.dtype) + " needs " + std::to_string(nbytes));
        if (t.data == nullptr && t.nbytes > 0) fail(tw, "has no data");
        // Names are sorted, unique and not __metadata__ (checked above): append without a lookup.
        strict::append_member(
            header, t.name,
            Json{{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}});
        offset += nbytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned
    uint8_t prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));

    // files::AtomicFile: a crash leaves either the old file or the whole new one.
    files::AtomicFile out(path);
    out.write(prefix, sizeof prefix);
    out.write(text);
    for (const RawTensor* t : sorted) out.write(t->data, t->nbytes);
    out.commit();
}

}  // namespace droplora::io
