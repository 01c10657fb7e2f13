#include "io/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/files.h"
#include "io/strict_json.h"

namespace droplora::io {

namespace {

using strict::one_line;


constexpr uint32_t kVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxNameBytes = 63;   // GGML_MAX_NAME - 1
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;

struct TypeRow {
    GgmlType type;
    const char* name;
    int64_t block;
    int64_t size;
};

constexpr TypeRow kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},     {GgmlType::F16, "F16", 1, 2},     {GgmlType::Q4_0, "Q4_0", 32, 18},
    {GgmlType::Q4_1, "Q4_1", 32, 20}, {GgmlType::Q5_0, "Q5_0", 32, 22}, {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34}, {GgmlType::Q8_1, "Q8_1", 32, 36}, {GgmlType::I8, "I8", 1, 1},
    {GgmlType::I16, "I16", 1, 2},     {GgmlType::I32, "I32", 1, 4},     {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},     {GgmlType::BF16, "BF16", 1, 2},
};

const TypeRow* type_row(uint32_t t) {
    for (const auto& r : kTypes)
        if (static_cast<uint32_t>(r.type) == t) return &r;
    return nullptr;
}

const TypeRow& known_row(GgmlType t) {
    const TypeRow* r = type_row(static_cast<uint32_t>(t));
    if (r == nullptr) throw Error("gguf: invalid ggml type " + std::to_string(static_cast<uint32_t>(t)));
    return *r;
}

// Bytes of one scalar of a metadata type; 0 for String/Array.
uint64_t scalar_size(GgufType t) {
    switch (t) {
        case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
        case GgufType::U16: case GgufType::I16: return 2;
        case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
        case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
        default: return 0;
    }
}

bool known_gguf_type(uint32_t t) {
    return t <= static_cast<uint32_t>(GgufType::F64);
}

bool is_float_type(GgufType t) {
    return t == GgufType::F32 || t == GgufType::F64;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
    if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
    *out = a * b;
    return true;
}

uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) / a * a;
}

std::string ne_text(const std::vector<int64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

// Bytes of a tensor of `type` with dims `ne`; false on overflow or a row that is not whole blocks.
bool tensor_bytes(const TypeRow& row, const std::vector<int64_t>& ne, uint64_t* out, std::string* why) {
    uint64_t numel = 1;
    for (int64_t d : ne) {
        if (d < 0 || !checked_mul(numel, static_cast<uint64_t>(d), &numel) ||
            numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            *why = "invalid dimensions " + ne_text(ne);
            return false;
        }
    }
    if (!ne.empty() && ne[0] % row.block != 0) {
        *why = "ne[0] = " + std::to_string(ne[0]) + " is not a multiple of " + row.name + "'s block size " +
               std::to_string(row.block);
        return false;
    }
    if (!checked_mul(numel / static_cast<uint64_t>(row.block), static_cast<uint64_t>(row.size), out)) {
        *why = "size overflows for dimensions " + ne_text(ne);
        return false;
    }
    return true;
}

// A bounds-checked cursor over the file's bytes.
class Reader {
public:
    Reader(const uint8_t* p, uint64_t size, const std::string& where) : p_(p), size_(size), where_(where) {}
    uint64_t pos() const { return pos_; }
    uint64_t left() const { return size_ - pos_; }

    void need(uint64_t n, const std::string& what) const {
        if (n > left())
            fail(where_, what + " at byte " + std::to_string(pos_) + " runs past the end of the file (" +
                             std::to_string(size_) + " bytes)");
    }
    template <typename T>
    T get(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
        pos_ += sizeof(T);
        return v;
    }
    std::string str(const std::string& what) {
        const uint64_t n = get<uint64_t>(what + " length");
        if (n > kMaxStringBytes) fail(where_, what + " claims " + std::to_string(n) + " bytes");
        need(n, what);
        std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
        pos_ += n;
        return s;
    }

private:
    const uint8_t* p_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& where_;
};

GgufValue read_value(Reader& r, GgufType type, const std::string& where, const std::string& key) {
    const std::string what = "value of " + strict::quoted(key);
    GgufValue v;
    v.type = type;
    v.elem_type = type;
    GgufType elem = type;
    uint64_t count = 1;
    if (type == GgufType::Array) {
        const uint32_t et = r.get<uint32_t>(what + " (array type)");
        if (!known_gguf_type(et)) fail(where, "key " + strict::quoted(key) + ": unknown array element type " + std::to_string(et));
        elem = static_cast<GgufType>(et);
        if (elem == GgufType::Array) fail(where, "key " + strict::quoted(key) + ": nested arrays are not supported");
        count = r.get<uint64_t>(what + " (array length)");
        // Each element takes at least its scalar size (a string its 8-byte length).
        const uint64_t min_each = elem == GgufType::String ? 8 : scalar_size(elem);
        uint64_t min_total = 0;
        if (!checked_mul(count, min_each, &min_total) || min_total > r.left())
            fail(where, "key " + strict::quoted(key) + ": array of " + std::to_string(count) + " " + gguf_type_name(elem) +
                            " runs past the end of the file");
        v.is_array = true;
        v.elem_type = elem;
    }
    for (uint64_t i = 0; i < count; ++i) {
        switch (elem) {
            case GgufType::U8: v.ints.push_back(r.get<uint8_t>(what)); break;
            case GgufType::I8: v.ints.push_back(r.get<int8_t>(what)); break;
            case GgufType::U16: v.ints.push_back(r.get<uint16_t>(what)); break;
            case GgufType::I16: v.ints.push_back(r.get<int16_t>(what)); break;
            case GgufType::U32: v.ints.push_back(r.get<uint32_t>(what)); break;
            case GgufType::I32: v.ints.push_back(r.get<int32_t>(what)); break;
            case GgufType::U64: v.ints.push_back(static_cast<int64_t>(r.get<uint64_t>(what))); break;
            case GgufType::I64: v.ints.push_back(r.get<int64_t>(what)); break;
            case GgufType::F32: v.floats.push_back(r.get<float>(what)); break;
            case GgufType::F64: v.floats.push_back(r.get<double>(what)); break;
            case GgufType::Bool: {
                const uint8_t b = r.get<uint8_t>(what);
                if (b > 1) fail(where, "key " + strict::quoted(key) + ": bool value " + std::to_string(b) + " is not 0 or 1");
                v.ints.push_back(b);
                break;
            }
            case GgufType::String: v.strings.push_back(r.str(what)); break;
            default: fail(where, "key " + strict::quoted(key) + ": unknown value type");
        }
    }
    return v;
}

void put_bytes(std::string& out, const void* p, size_t n) {
    out.append(static_cast<const char*>(p), n);
}
template <typename T>
void put(std::string& out, T v) {
    put_bytes(out, &v, sizeof v);
}
void put_str(std::string& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    out += s;
}

void put_scalar(std::string& out, GgufType t, const GgufValue& v, size_t i, const std::string& where) {
    const bool f = is_float_type(t);
    const size_t n = t == GgufType::String ? v.strings.size() : f ? v.floats.size() : v.ints.size();
    if (i >= n) fail(where, std::string("value of type ") + gguf_type_name(t) + " has too few elements");
    switch (t) {
        case GgufType::U8: put<uint8_t>(out, static_cast<uint8_t>(v.ints[i])); break;
        case GgufType::I8: put<int8_t>(out, static_cast<int8_t>(v.ints[i])); break;
        case GgufType::U16: put<uint16_t>(out, static_cast<uint16_t>(v.ints[i])); break;
        case GgufType::I16: put<int16_t>(out, static_cast<int16_t>(v.ints[i])); break;
        case GgufType::U32: put<uint32_t>(out, static_cast<uint32_t>(v.ints[i])); break;
        case GgufType::I32: put<int32_t>(out, static_cast<int32_t>(v.ints[i])); break;
        case GgufType::U64: put<uint64_t>(out, static_cast<uint64_t>(v.ints[i])); break;
        case GgufType::I64: put<int64_t>(out, v.ints[i]); break;
        case GgufType::Bool: put<uint8_t>(out, v.ints[i] ? 1 : 0); break;
        case GgufType::F32: put<float>(out, static_cast<float>(v.floats[i])); break;
        case GgufType::F64: put<double>(out, v.floats[i]); break;
        case GgufType::String: put_str(out, v.strings[i]); break;
        default: fail(where, "cannot write a nested array");
    }
}

}  // namespace

const char* gguf_type_name(GgufType t) {
    switch (t) {
        case GgufType::U8: return "u8";
        case GgufType::I8: return "i8";
        case GgufType::U16: return "u16";
        case GgufType::I16: return "i16";
        case GgufType::U32: return "u32";
        case GgufType::I32: return "i32";
        case GgufType::F32: return "f32";
        case GgufType::Bool: return "bool";
        case GgufType::String: return "string";
        case GgufType::Array: return "array";
        case GgufType::U64: return "u64";
        case GgufType::I64: return "i64";
        case GgufType::F64: return "f64";
    }
    return "unknown";
}

const char* ggml_type_name(GgmlType t) {
    const TypeRow* r = type_row(static_cast<uint32_t>(t));
    return r ? r->name : "unknown";
}

bool parse_ggml_type(const std::string& s, GgmlType* out) {
    for (auto [name, t] : {std::pair{"f32", GgmlType::F32}, std::pair{"f16", GgmlType::F16},
                           std::pair{"bf16", GgmlType::BF16}, std::pair{"q8_0", GgmlType::Q8_0}}) {
        if (s == name) {
            *out = t;
            return true;
        }
    }
    return false;
}

bool ggml_type_known(uint32_t t) {
    return type_row(t) != nullptr;
}
int64_t ggml_block_size(GgmlType t) {
    return known_row(t).block;
}
int64_t ggml_type_size(GgmlType t) {
    return known_row(t).size;
}

// ---- values ---------------------------------------------------------------

GgufValue GgufValue::scalar(GgufType t, double x) {
    GgufValue v;
    v.type = v.elem_type = t;
    if (is_float_type(t))
        v.floats = {x};
    else
        v.ints = {static_cast<int64_t>(x)};
    return v;
}
GgufValue GgufValue::u32(uint32_t x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::U32;
    v.ints = {x};
    return v;
}
GgufValue GgufValue::i32(int32_t x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::I32;
    v.ints = {x};
    return v;
}
GgufValue GgufValue::u64(uint64_t x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::U64;
    v.ints = {static_cast<int64_t>(x)};
    return v;
}
GgufValue GgufValue::f32(float x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::F32;
    v.floats = {x};
    return v;
}
GgufValue GgufValue::boolean(bool x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::Bool;
    v.ints = {x ? 1 : 0};
    return v;
}
GgufValue GgufValue::string(std::string x) {
    GgufValue v;
    v.type = v.elem_type = GgufType::String;
    v.strings = {std::move(x)};
    return v;
}
GgufValue GgufValue::string_array(std::vector<std::string> x) {
    GgufValue v;
    v.type = GgufType::Array;
    v.elem_type = GgufType::String;
    v.is_array = true;
    v.strings = std::move(x);
    return v;
}
GgufValue GgufValue::f32_array(std::vector<float> x) {
    GgufValue v;
    v.type = GgufType::Array;
    v.elem_type = GgufType::F32;
    v.is_array = true;
    v.floats.assign(x.begin(), x.end());
    return v;
}
GgufValue GgufValue::i32_array(std::vector<int32_t> x) {
    GgufValue v;
    v.type = GgufType::Array;
    v.elem_type = GgufType::I32;
    v.is_array = true;
    v.ints.assign(x.begin(), x.end());
    return v;
}
GgufValue GgufValue::array(GgufType elem, std::vector<int64_t> ints, std::vector<double> floats) {
    GgufValue v;
    v.type = GgufType::Array;
    v.elem_type = elem;
    v.is_array = true;
    v.ints = std::move(ints);
    v.floats = std::move(floats);
    return v;
}

size_t GgufValue::size() const {
    if (elem_type == GgufType::String) return strings.size();
    return is_float_type(elem_type) ? floats.size() : ints.size();
}

int64_t GgufValue::as_int(const std::string& where) const {
    if (is_array || is_float_type(type) || type == GgufType::String || type == GgufType::Bool || ints.size() != 1)
        fail(where, std::string("expected an integer, got ") + (is_array ? "an array" : gguf_type_name(type)));
    return ints[0];
}
double GgufValue::as_float(const std::string& where) const {
    if (!is_array && is_float_type(type) && floats.size() == 1) return floats[0];
    return static_cast<double>(as_int(where));
}
bool GgufValue::as_bool(const std::string& where) const {
    if (is_array || type != GgufType::Bool || ints.size() != 1)
        fail(where, std::string("expected a bool, got ") + (is_array ? "an array" : gguf_type_name(type)));
    return ints[0] != 0;
}
const std::string& GgufValue::as_string(const std::string& where) const {
    if (is_array || type != GgufType::String || strings.size() != 1)
        fail(where, std::string("expected a string, got ") + (is_array ? "an array" : gguf_type_name(type)));
    return strings[0];
}
bool GgufValue::operator==(const GgufValue& o) const {
    if (type != o.type || elem_type != o.elem_type || is_array != o.is_array || ints != o.ints ||
        strings != o.strings || floats.size() != o.floats.size())
        return false;
    // F32 values compare as the f32 the file holds.
    for (size_t i = 0; i < floats.size(); ++i) {
        const double a = elem_type == GgufType::F32 ? static_cast<float>(floats[i]) : floats[i];
        const double b = elem_type == GgufType::F32 ? static_cast<float>(o.floats[i]) : o.floats[i];
        if (!(a == b) && !(std::isnan(a) && std::isnan(b))) return false;
    }
    return true;
}

int64_t GgufTensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}
std::vector<int64_t> GgufTensorInfo::torch_shape() const {
    return std::vector<int64_t>(ne.rbegin(), ne.rend());
}

// ---- number formats -------------------------------------------------------

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to ±inf
    if (absx < 0x38800000u) {
        // Subnormal half (or zero): value = m · 2^-24 with round to nearest even.
        if (absx < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
        const uint32_t exp = absx >> 23;
        const uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - exp;  // 14 + (127 - 1 - exp) ... bits dropped from the 24-bit mantissa
        uint32_t h = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) ++h;
        return static_cast<uint16_t>(sign | h);
    }
    // Normal: rebias the exponent (127 → 15) and round the mantissa from 23 to 10 bits.
    uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
    const uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into the exponent, which is right
    return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    float f;
    if (exp == 0) {
        f = std::ldexp(static_cast<float>(mant), -24);
        uint32_t x;
        std::memcpy(&x, &f, 4);
        x |= sign;
        std::memcpy(&f, &x, 4);
        return f;
    }
    uint32_t x = exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
    std::memcpy(&f, &x, 4);
    return f;
}

uint16_t float_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 64);  // quiet NaN
    return static_cast<uint16_t>((x + (0x7fffu + ((x >> 16) & 1))) >> 16);
}

float bf16_to_float(uint16_t h) {
    const uint32_t x = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

std::vector<uint8_t> encode_values(GgmlType type, const float* v, size_t n, const std::string& where) {
    std::vector<uint8_t> out;
    switch (type) {
        case GgmlType::F32:
            out.resize(n * 4);
            if (n) std::memcpy(out.data(), v, n * 4);
            return out;
        case GgmlType::F16:
        case GgmlType::BF16: {
            out.resize(n * 2);
            for (size_t i = 0; i < n; ++i) {
                const uint16_t h = type == GgmlType::F16 ? float_to_half(v[i]) : float_to_bf16(v[i]);
                std::memcpy(out.data() + 2 * i, &h, 2);
            }
            return out;
        }
        case GgmlType::Q8_0: {
            if (n % 32 != 0) fail(where, std::to_string(n) + " values are not whole Q8_0 blocks of 32");
            out.resize(n / 32 * 34);
            for (size_t b = 0; b < n / 32; ++b) {
                const float* x = v + 32 * b;
                uint8_t* y = out.data() + 34 * b;
                float amax = 0;
                for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
                const float d = amax / 127.0f;
                const float id = d != 0.0f ? 1.0f / d : 0.0f;
                const uint16_t dh = float_to_half(d);
                std::memcpy(y, &dh, 2);
                for (int j = 0; j < 32; ++j) y[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
            }
            return out;
        }
        default: fail(where, std::string("cannot encode tensors of type ") + ggml_type_name(type));
    }
}

std::vector<float> decode_values(GgmlType type, const uint8_t* p, size_t n, const std::string& where) {
    std::vector<float> out(n);
    switch (type) {
        case GgmlType::F32:
            if (n) std::memcpy(out.data(), p, n * 4);
            return out;
        case GgmlType::F16:
        case GgmlType::BF16:
            for (size_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = type == GgmlType::F16 ? half_to_float(h) : bf16_to_float(h);
            }
            return out;
        case GgmlType::Q8_0:
            if (n % 32 != 0) fail(where, std::to_string(n) + " values are not whole Q8_0 blocks of 32");
            for (size_t b = 0; b < n / 32; ++b) {
                const uint8_t* y = p + 34 * b;
                uint16_t dh;
                std::memcpy(&dh, y, 2);
                const float d = half_to_float(dh);
                for (int j = 0; j < 32; ++j) out[32 * b + j] = d * static_cast<float>(static_cast<int8_t>(y[2 + j]));
            }
            return out;
        default: fail(where, std::string("cannot decode tensors of type ") + ggml_type_name(type));
    }
}

// ---- reader ---------------------------------------------------------------

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
    std::unique_ptr<GgufFile> f(new GgufFile());
    f->path_ = path;
    f->map_ = std::make_unique<files::MappedFile>(path);
    f->size_ = f->map_->size();
    f->bytes_ = f->map_->data();
    f->parse();
    return f;
}

std::unique_ptr<GgufFile> GgufFile::from_bytes(std::string bytes, const std::string& where) {
    std::unique_ptr<GgufFile> f(new GgufFile());
    f->path_ = where;
    f->owned_ = std::move(bytes);
    f->size_ = f->owned_.size();
    f->bytes_ = reinterpret_cast<const uint8_t*>(f->owned_.data());
    f->parse();
    return f;
}

GgufFile::~GgufFile() = default;

void GgufFile::parse() {
    const std::string& where = path_;
    static const uint8_t kEmpty = 0;
    Reader r(bytes_ != nullptr ? bytes_ : &kEmpty, size_, where);
    if (size_ < 4 || std::memcmp(bytes_, "GGUF", 4) != 0) fail(where, "not a GGUF file (no \"GGUF\" magic)");
    r.get<uint32_t>("magic");
    version_ = r.get<uint32_t>("version");
    if (version_ != kVersion)
        fail(where, "GGUF version " + std::to_string(version_) + " is not supported (only version 3)");
    const uint64_t n_tensors = r.get<uint64_t>("tensor count");
    const uint64_t n_kv = r.get<uint64_t>("key/value count");
    // The smallest key/value pair is 8 (key length) + 1 + 4 (type) + 1 bytes; the smallest tensor info 8+1+4+8+4+8.
    if (n_kv > r.left() / 14) fail(where, "key/value count " + std::to_string(n_kv) + " cannot fit in the file");
    if (n_tensors > r.left() / 33) fail(where, "tensor count " + std::to_string(n_tensors) + " cannot fit in the file");

    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key = r.str("key " + std::to_string(i));
        if (key.empty()) fail(where, "key " + std::to_string(i) + " is empty");
        if (kv_index_.count(key)) fail(where, "key " + strict::quoted(key) + " appears more than once");
        const uint32_t t = r.get<uint32_t>("type of " + strict::quoted(key));
        if (!known_gguf_type(t)) fail(where, "key " + strict::quoted(key) + ": unknown value type " + std::to_string(t));
        GgufValue v = read_value(r, static_cast<GgufType>(t), where, key);
        kv_index_[key] = kv_.size();
        kv_.emplace_back(std::move(key), std::move(v));
    }
    if (const GgufValue* a = find("general.alignment")) {
        if (a->is_array || a->type != GgufType::U32)
            fail(where, "general.alignment must be a u32, got " + std::string(a->is_array ? "an array" : gguf_type_name(a->type)));
        const uint64_t al = static_cast<uint64_t>(a->ints[0]);
        if (al == 0 || (al & (al - 1)) != 0) fail(where, "general.alignment " + std::to_string(al) + " is not a power of two");
        alignment_ = al;
    } else {
        alignment_ = kDefaultAlignment;
    }

    for (uint64_t i = 0; i < n_tensors; ++i) {
        GgufTensorInfo t;
        t.name = r.str("tensor " + std::to_string(i) + " name");
        const std::string tw = where + ": tensor " + strict::quoted(t.name);
        if (t.name.empty()) fail(where, "tensor " + std::to_string(i) + " has an empty name");
        if (t.name.size() > kMaxNameBytes) fail(tw, "name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
        if (tensor_index_.count(t.name)) fail(tw, "appears more than once");
        const uint32_t n_dims = r.get<uint32_t>("dimension count of " + strict::quoted(t.name));
        if (n_dims == 0 || n_dims > kMaxDims) fail(tw, std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t ne = r.get<uint64_t>("dimensions of " + strict::quoted(t.name));
            if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(tw, "dimension " + std::to_string(ne) + " is too large");
            t.ne.push_back(static_cast<int64_t>(ne));
        }
        const uint32_t type = r.get<uint32_t>("type of " + strict::quoted(t.name));
        const TypeRow* row = type_row(type);
        if (row == nullptr) fail(tw, "unknown ggml type " + std::to_string(type));
        t.type = row->type;
        t.offset = r.get<uint64_t>("offset of " + strict::quoted(t.name));
        if (t.offset % alignment_ != 0)
            fail(tw, "offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(alignment_));
        std::string why;
        if (!tensor_bytes(*row, t.ne, &t.nbytes, &why)) fail(tw, why);
        tensor_index_[t.name] = tensors_.size();
        tensors_.push_back(std::move(t));
    }
    data_start_ = align_up(r.pos(), alignment_);
    if (data_start_ > size_ && !tensors_.empty())
        fail(where, "the data section (byte " + std::to_string(data_start_) + ") starts past the end of the file");
    const uint64_t data_size = size_ >= data_start_ ? size_ - data_start_ : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& t : tensors_) {
        if (t.offset > data_size || t.nbytes > data_size - t.offset)
            fail(where + ": tensor " + strict::quoted(t.name),
                 "bytes [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) + ") run past the end of the data section (" +
                     std::to_string(data_size) + " bytes)");
        by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset)
            fail(where + ": tensor " + strict::quoted(by_offset[i]->name), "overlaps tensor " + strict::quoted(by_offset[i - 1]->name));
    }
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufValue& GgufFile::at(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) fail(path_, "has no key " + strict::quoted(key));
    return *v;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> GgufFile::values(const GgufTensorInfo& t) const {
    return decode_values(t.type, data(t), static_cast<size_t>(t.numel()), path_ + ": tensor " + strict::quoted(t.name));
}

// ---- writer ---------------------------------------------------------------

void write_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
                const std::vector<GgufTensorOut>& tensors) {
    std::string head;
    put_bytes(head, "GGUF", 4);
    put<uint32_t>(head, kVersion);
    put<uint64_t>(head, tensors.size());
    bool has_alignment = false;
    uint64_t alignment = kDefaultAlignment;
    for (const auto& [k, v] : metadata) {
        if (k == "general.alignment") {
            has_alignment = true;
            alignment = static_cast<uint64_t>(v.as_int(path + ": general.alignment"));
            if (v.type != GgufType::U32 || alignment == 0 || (alignment & (alignment - 1)) != 0)
                fail(path, "general.alignment must be a u32 power of two");
        }
    }
    put<uint64_t>(head, metadata.size() + (has_alignment ? 0 : 1));
    std::map<std::string, int> seen;
    auto put_kv = [&](const std::string& k, const GgufValue& v) {
        if (k.empty() || seen[k]++) fail(path, "metadata key " + strict::quoted(k) + " is empty or given twice");
        put_str(head, k);
        put<uint32_t>(head, static_cast<uint32_t>(v.type));
        const std::string kw = path + ": key " + strict::quoted(k);
        if (v.is_array != (v.type == GgufType::Array)) fail(kw, "array flag does not match the type");
        if (v.is_array) {
            if (v.elem_type == GgufType::Array) fail(kw, "nested arrays are not supported");
            put<uint32_t>(head, static_cast<uint32_t>(v.elem_type));
            put<uint64_t>(head, v.size());
            for (size_t i = 0; i < v.size(); ++i) put_scalar(head, v.elem_type, v, i, kw);
        } else {
            if (v.size() != 1) fail(kw, "a scalar needs exactly one value");
            put_scalar(head, v.type, v, 0, kw);
        }
    };
    if (!has_alignment) put_kv("general.alignment", GgufValue::u32(static_cast<uint32_t>(alignment)));
    for (const auto& [k, v] : metadata) put_kv(k, v);

    uint64_t offset = 0;
    std::map<std::string, int> names;
    for (const auto& t : tensors) {
        const std::string tw = path + ": tensor " + strict::quoted(t.name);
        if (t.name.empty() || t.name.size() > kMaxNameBytes) fail(tw, "name must be 1 to 63 bytes");
        if (names[t.name]++) fail(tw, "given more than once");
        if (t.ne.empty() || t.ne.size() > kMaxDims) fail(tw, "needs 1 to 4 dimensions");
        uint64_t nbytes = 0;
        std::string why;
        if (!tensor_bytes(known_row(t.type), t.ne, &nbytes, &why)) fail(tw, why);
        if (nbytes != t.bytes.size())
            fail(tw, "has " + std::to_string(t.bytes.size()) + " bytes but " + ne_text(t.ne) + " of " +
                         ggml_type_name(t.type) + " needs " + std::to_string(nbytes));
        put_str(head, t.name);
        put<uint32_t>(head, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(head, static_cast<uint64_t>(d));
        put<uint32_t>(head, static_cast<uint32_t>(t.type));
        put<uint64_t>(head, offset);
        offset = align_up(offset + nbytes, alignment);
    }
    head.append(align_up(head.size(), alignment) - head.size(), '\0');

    // files::AtomicFile: a crash leaves either the old file or the whole new one.
    files::AtomicFile out(path);
    out.write(head);
    static const char zeros[256] = {0};
    for (const auto& t : tensors) {
        out.write(t.bytes.data(), t.bytes.size());
        size_t pad = align_up(t.bytes.size(), alignment) - t.bytes.size();
        while (pad > 0) {
            const size_t n = std::min(pad, sizeof zeros);
            out.write(zeros, n);
            pad -= n;
        }
    }
    out.commit();
}

}  // namespace droplora::io
