// GGUF v3 writer and validating reader (torch-free; also built under ASan + UBSan
// as test_gguf_format_asan). Round trips of every metadata type and tensor type,
// the number formats checked by their defining properties, and malformed files
// (every truncation, byte flips, each header rule on its own) that must give a
// one-line Error naming the file, never a crash.
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/gguf.h"
#include "test_support.h"

using namespace droplora::io;
namespace fs = std::filesystem;

using droplora::testing::error_of;
using droplora::testing::kNoError;
using droplora::testing::read_file;

namespace {

template <typename T>
void put(std::string& s, T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& s, const std::string& x) {
    put<uint64_t>(s, x.size());
    s += x;
}

// A hand-built file: header, one kv, one F32 tensor of 8 values at offset `offset`.
std::string hand_file(uint32_t version, uint64_t offset, uint64_t data_bytes, uint32_t ggml_type = 0,
                      uint64_t ne0 = 8) {
    std::string s = "GGUF";
    put<uint32_t>(s, version);
    put<uint64_t>(s, 1);  // tensors
    put<uint64_t>(s, 1);  // kv
    put_str(s, "general.architecture");
    put<uint32_t>(s, 8);
    put_str(s, "llama");
    put_str(s, "t");
    put<uint32_t>(s, 1);
    put<uint64_t>(s, ne0);
    put<uint32_t>(s, ggml_type);
    put<uint64_t>(s, offset);
    s.append((32 - s.size() % 32) % 32, '\0');
    s.append(data_bytes, '\x01');
    return s;
}

std::vector<float> random_values(size_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
}

}  // namespace

class TestGgufFormat : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    std::string path(const char* name) { return (fs::path(tmp_.path().toStdString()) / name).string(); }

    // A file with every metadata type and all four tensor types.
    std::string write_sample(const std::string& p, std::vector<float>* values) {
        *values = random_values(64 * 3, 7, 0.5f);
        std::vector<std::pair<std::string, GgufValue>> kv = {
            {"general.architecture", GgufValue::string("llama")},
            {"t.u8", GgufValue::scalar(GgufType::U8, 250)},
            {"t.i8", GgufValue::scalar(GgufType::I8, -100)},
            {"t.u16", GgufValue::scalar(GgufType::U16, 65000)},
            {"t.i16", GgufValue::scalar(GgufType::I16, -32000)},
            {"t.u32", GgufValue::u32(4000000000u)},
            {"t.i32", GgufValue::i32(-2000000000)},
            {"t.u64", GgufValue::u64(18000000000000000000ull)},
            {"t.i64", GgufValue::scalar(GgufType::I64, -9e15)},
            {"t.f32", GgufValue::f32(0.1f)},
            {"t.f64", GgufValue::scalar(GgufType::F64, 0.1)},
            {"t.bool", GgufValue::boolean(true)},
            {"t.strings", GgufValue::string_array({"<s>", "", "\xe2\x96\x81hi", std::string("a\0b", 3)})},
            {"t.f32s", GgufValue::f32_array({1.5f, -2.25f})},
            {"t.i32s", GgufValue::i32_array({1, -2, 3})},
            {"t.u8s", GgufValue::array(GgufType::U8, {0, 255})},
            {"t.bools", GgufValue::array(GgufType::Bool, {1, 0, 1})},
            {"t.f64s", GgufValue::array(GgufType::F64, {}, {1e300, -0.0})},
            {"t.empty", GgufValue::string_array({})},
        };
        std::vector<GgufTensorOut> ts;
        const std::pair<const char*, GgmlType> types[] = {
            {"a.f32", GgmlType::F32}, {"b.f16", GgmlType::F16}, {"c.bf16", GgmlType::BF16}, {"d.q8_0", GgmlType::Q8_0}};
        for (auto [name, type] : types) {
            GgufTensorOut t;
            t.name = name;
            t.type = type;
            t.ne = {64, 3};
            t.bytes = encode_values(type, values->data(), values->size(), name);
            ts.push_back(std::move(t));
        }
        GgufTensorOut one;  // 1-D, odd size: padding after it
        one.name = "e.norm";
        one.ne = {5};
        one.bytes = encode_values(GgmlType::F32, values->data(), 5, "e");
        ts.push_back(std::move(one));
        write_gguf(p, kv, ts);
        return p;
    }

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void round_trip_metadata_and_tensors() {
        std::vector<float> v;
        const std::string p = write_sample(path("sample.gguf"), &v);
        QVERIFY(!fs::exists(p + ".tmp"));
        auto f = GgufFile::open(p);
        QCOMPARE(f->version(), 3u);
        QCOMPARE(f->alignment(), uint64_t{32});
        QCOMPARE(f->metadata().front().first, std::string("general.alignment"));
        QCOMPARE(f->at("general.architecture").as_string("k"), std::string("llama"));
        QCOMPARE(f->at("t.u8").as_int("k"), int64_t{250});
        QCOMPARE(f->at("t.i8").as_int("k"), int64_t{-100});
        QCOMPARE(f->at("t.u16").as_int("k"), int64_t{65000});
        QCOMPARE(f->at("t.i16").as_int("k"), int64_t{-32000});
        QCOMPARE(f->at("t.u32").as_int("k"), int64_t{4000000000});
        QCOMPARE(f->at("t.i32").as_int("k"), int64_t{-2000000000});
        QCOMPARE(static_cast<uint64_t>(f->at("t.u64").as_int("k")), 18000000000000000000ull);
        QCOMPARE(f->at("t.i64").as_int("k"), int64_t{-9000000000000000});
        QCOMPARE(f->at("t.f32").as_float("k"), static_cast<double>(0.1f));
        QCOMPARE(f->at("t.f64").as_float("k"), 0.1);
        QCOMPARE(f->at("t.bool").as_bool("k"), true);
        const auto& strs = f->at("t.strings");
        QCOMPARE(strs.elem_type, GgufType::String);
        QCOMPARE(strs.strings.size(), size_t{4});
        QCOMPARE(strs.strings[3], std::string("a\0b", 3));
        QCOMPARE(f->at("t.f32s").floats, (std::vector<double>{1.5, -2.25}));
        QCOMPARE(f->at("t.i32s").ints, (std::vector<int64_t>{1, -2, 3}));
        QCOMPARE(f->at("t.u8s").ints, (std::vector<int64_t>{0, 255}));
        QCOMPARE(f->at("t.bools").ints, (std::vector<int64_t>{1, 0, 1}));
        QCOMPARE(f->at("t.f64s").floats[0], 1e300);
        QCOMPARE(f->at("t.empty").size(), size_t{0});
        QVERIFY(f->find("missing") == nullptr);
        QVERIFY(error_of([&] { f->at("missing"); }).find("sample.gguf") != std::string::npos);
        QVERIFY(error_of([&] { f->at("t.u8").as_string("t.u8"); }).find("expected a string") != std::string::npos);

        QCOMPARE(f->tensors().size(), size_t{5});
        for (const auto& t : f->tensors()) {
            QCOMPARE(t.offset % 32, uint64_t{0});
            if (t.name == "e.norm") continue;
            QCOMPARE(t.ne, (std::vector<int64_t>{64, 3}));
            QCOMPARE(t.torch_shape(), (std::vector<int64_t>{3, 64}));
            const auto got = f->values(t);
            QCOMPARE(got.size(), v.size());
            double worst = 0;
            for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::fabs(double(got[i]) - v[i]) / std::max(1e-3, std::fabs(double(v[i]))));
            // Relative bounds of each format: exact, 2^-11 (f16 round to nearest), 2^-8 (bf16);
            // q8_0 is checked against its block scale below.
            if (t.type == GgmlType::F32) QCOMPARE(worst, 0.0);
            if (t.type == GgmlType::F16) QVERIFY2(worst <= std::ldexp(1.0, -11) * 1.0001, qPrintable(QString::number(worst)));
            if (t.type == GgmlType::BF16) QVERIFY2(worst <= std::ldexp(1.0, -8) * 1.0001, qPrintable(QString::number(worst)));
            if (t.type == GgmlType::Q8_0) {
                QCOMPARE(t.nbytes, uint64_t{6 * 34});
                for (size_t b = 0; b < v.size() / 32; ++b) {
                    float amax = 0;
                    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[32 * b + j]));
                    const double d = half_to_float(float_to_half(amax / 127.0f));
                    for (size_t j = 0; j < 32; ++j) {
                        const size_t i = 32 * b + j;
                        // round(x/d)·d is within d/2 of x, plus the f16 rounding of d (≤ 2^-11 relative) times |q| ≤ 127.
                        QVERIFY(std::fabs(got[i] - v[i]) <= d * 0.5 + 128 * d * std::ldexp(1.0, -11) + 1e-7);
                    }
                }
            }
        }
        QCOMPARE(f->values(*f->find_tensor("e.norm")), std::vector<float>(v.begin(), v.begin() + 5));
        // What the writer laid down, read back from memory, is the same.
        auto g = GgufFile::from_bytes(read_file(p), "mem");
        QCOMPARE(g->metadata().size(), f->metadata().size());
        for (size_t i = 0; i < f->metadata().size(); ++i) QVERIFY(g->metadata()[i].second == f->metadata()[i].second);
    }

    void q8_0_is_ggml_reference_rounding() {
        // One block: max |x| = 127 → d = 1, q = round half away from zero.
        std::vector<float> x(32, 0.0f);
        x[0] = 127.0f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49f;
        x[4] = -127.0f;
        const auto b = encode_values(GgmlType::Q8_0, x.data(), 32, "q");
        QCOMPARE(b.size(), size_t{34});
        uint16_t d;
        std::memcpy(&d, b.data(), 2);
        QCOMPARE(half_to_float(d), 1.0f);
        QCOMPARE(static_cast<int8_t>(b[2 + 1]), int8_t{3});
        QCOMPARE(static_cast<int8_t>(b[2 + 2]), int8_t{-3});
        QCOMPARE(static_cast<int8_t>(b[2 + 3]), int8_t{0});
        QCOMPARE(static_cast<int8_t>(b[2 + 4]), int8_t{-127});
        // An all-zero block has scale 0 and decodes to zeros.
        std::vector<float> z(32, 0.0f);
        const auto bz = encode_values(GgmlType::Q8_0, z.data(), 32, "q");
        QCOMPARE(decode_values(GgmlType::Q8_0, bz.data(), 32, "q"), z);
        QVERIFY(error_of([&] { encode_values(GgmlType::Q8_0, z.data(), 31, "q31"); }).find("q31") != std::string::npos);
    }

    void half_conversion_is_round_to_nearest_even() {
        // Every finite half converts to float and back unchanged.
        for (uint32_t h = 0; h < 65536; ++h) {
            const float f = half_to_float(static_cast<uint16_t>(h));
            if (std::isnan(f)) {
                QVERIFY(std::isnan(half_to_float(float_to_half(f))));
                continue;
            }
            QCOMPARE(float_to_half(f), static_cast<uint16_t>(h));
        }
        // Random floats go to the nearest half (ties to even mantissa).
        std::mt19937 rng(3);
        std::uniform_real_distribution<float> e(-26, 16);
        for (int i = 0; i < 200000; ++i) {
            const float f = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), static_cast<int>(e(rng)));
            const uint16_t h = float_to_half(f);
            const double got = half_to_float(h);
            const double err = std::fabs(got - f);
            for (int delta : {-1, 1}) {
                const uint16_t n = static_cast<uint16_t>(h + delta);
                if (((n ^ h) & 0x8000) || (n & 0x7c00) == 0x7c00) continue;  // other sign, inf/nan
                const double other = std::fabs(double(half_to_float(n)) - f);
                QVERIFY2(err < other || (err == other && (h & 1) == 0), qPrintable(QString::number(f, 'g', 9)));
            }
        }
        QCOMPARE(half_to_float(float_to_half(1e6f)), INFINITY);
        QCOMPARE(bf16_to_float(float_to_bf16(1.0f)), 1.0f);
        // bf16: nearest, ties to even, on random floats.
        for (int i = 0; i < 100000; ++i) {
            const float f = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), static_cast<int>(e(rng)));
            const uint16_t h = float_to_bf16(f);
            const double err = std::fabs(double(bf16_to_float(h)) - f);
            for (int delta : {-1, 1}) {
                const uint16_t n = static_cast<uint16_t>(h + delta);
                if ((n ^ h) & 0x8000) continue;
                const double other = std::fabs(double(bf16_to_float(n)) - f);
                QVERIFY(err < other || (err == other && (h & 1) == 0));
            }
        }
    }

    void writer_refuses_bad_input_and_leaves_no_file() {
        const std::string p = path("bad.gguf");
        GgufTensorOut t;
        t.name = "x";
        t.ne = {4};
        t.bytes.resize(15);  // needs 16
        QVERIFY(error_of([&] { write_gguf(p, {}, {t}); }).find("needs 16") != std::string::npos);
        t.bytes.resize(16);
        QVERIFY(error_of([&] { write_gguf(p, {}, {t, t}); }).find("more than once") != std::string::npos);
        GgufTensorOut q = t;
        q.name = "q";
        q.type = GgmlType::Q8_0;
        q.ne = {33};
        QVERIFY(error_of([&] { write_gguf(p, {}, {q}); }).find("block size") != std::string::npos);
        t.name = std::string(64, 'n');
        QVERIFY(error_of([&] { write_gguf(p, {}, {t}); }).find("1 to 63 bytes") != std::string::npos);
        QVERIFY(error_of([&] { write_gguf(p, {{"a", GgufValue::u32(1)}, {"a", GgufValue::u32(2)}}, {}); })
                    .find("given twice") != std::string::npos);
        QVERIFY(!fs::exists(p));
        QVERIFY(!fs::exists(p + ".tmp"));
        // A folder that does not exist: the error names the file.
        QVERIFY(error_of([&] { write_gguf(path("no/such/dir.gguf"), {}, {}); }).find("dir.gguf") != std::string::npos);
    }

    void reader_rules() {
        const std::string good = hand_file(3, 0, 32);
        QCOMPARE(GgufFile::from_bytes(good, "f.gguf")->tensors().size(), size_t{1});
        struct Case {
            const char* what;
            std::string bytes;
            const char* expect;
        };
        std::string nested = "GGUF";
        put<uint32_t>(nested, 3);
        put<uint64_t>(nested, 0);
        put<uint64_t>(nested, 1);
        put_str(nested, "k");
        put<uint32_t>(nested, 9);
        put<uint32_t>(nested, 9);
        put<uint64_t>(nested, 0);
        std::string bad_bool = "GGUF";
        put<uint32_t>(bad_bool, 3);
        put<uint64_t>(bad_bool, 0);
        put<uint64_t>(bad_bool, 1);
        put_str(bad_bool, "k");
        put<uint32_t>(bad_bool, 7);
        put<uint8_t>(bad_bool, 2);
        std::string dup = "GGUF";
        put<uint32_t>(dup, 3);
        put<uint64_t>(dup, 0);
        put<uint64_t>(dup, 2);
        for (int i = 0; i < 2; ++i) {
            put_str(dup, "k");
            put<uint32_t>(dup, 4);
            put<uint32_t>(dup, 1);
        }
        std::string huge_array = "GGUF";
        put<uint32_t>(huge_array, 3);
        put<uint64_t>(huge_array, 0);
        put<uint64_t>(huge_array, 1);
        put_str(huge_array, "k");
        put<uint32_t>(huge_array, 9);
        put<uint32_t>(huge_array, 8);
        put<uint64_t>(huge_array, uint64_t{1} << 61);
        std::string bad_align = "GGUF";
        put<uint32_t>(bad_align, 3);
        put<uint64_t>(bad_align, 0);
        put<uint64_t>(bad_align, 1);
        put_str(bad_align, "general.alignment");
        put<uint32_t>(bad_align, 4);
        put<uint32_t>(bad_align, 24);
        const Case cases[] = {
            {"magic", "GGUX" + good.substr(4), "no \"GGUF\" magic"},
            {"version", hand_file(2, 0, 32), "version 2"},
            {"misaligned", hand_file(3, 4, 64), "not a multiple of the alignment"},
            {"past end", hand_file(3, 32, 32), "run past the end"},
            {"short data", hand_file(3, 0, 31), "run past the end"},
            {"unknown type", hand_file(3, 0, 32, 99), "unknown ggml type 99"},
            {"q8 partial block", hand_file(3, 0, 64, 8, 16), "block size"},
            {"nested", nested, "nested arrays"},
            {"bool", bad_bool, "not 0 or 1"},
            {"duplicate", dup, "more than once"},
            {"huge array", huge_array, "runs past the end"},
            {"alignment", bad_align, "not a power of two"},
        };
        for (const auto& c : cases) {
            const std::string e = error_of([&] { GgufFile::from_bytes(c.bytes, "bad.gguf"); });
            QVERIFY2(e.rfind("bad.gguf", 0) == 0 && e.find(c.expect) != std::string::npos,
                     qPrintable(QString(c.what) + ": " + QString::fromStdString(e)));
            QVERIFY2(e.find('\n') == std::string::npos, c.what);
        }
    }

    void every_truncation_and_byte_flip_is_an_error_or_valid() {
        std::vector<float> v;
        const std::string bytes = read_file(write_sample(path("fuzz.gguf"), &v));
        // Cut anywhere before the last tensor's end: always an error naming the file.
        for (size_t n = 0; n < bytes.size(); ++n) {
            const std::string e = error_of([&] { GgufFile::from_bytes(bytes.substr(0, n), "cut.gguf"); });
            if (e == kNoError) {
                // Only the trailing padding after the last tensor may go.
                QVERIFY2(n >= bytes.size() - 31, qPrintable(QString::number(n)));
                continue;
            }
            QVERIFY2(e.rfind("cut.gguf", 0) == 0, qPrintable(QString::number(n) + ": " + QString::fromStdString(e)));
        }
        // Random byte flips: either a valid file or an Error, never anything else.
        std::mt19937 rng(11);
        int errors = 0;
        for (int i = 0; i < 3000; ++i) {
            std::string b = bytes;
            const size_t at = rng() % std::min<size_t>(b.size(), 1200);  // the header part
            b[at] = static_cast<char>(rng());
            const std::string e = error_of([&] {
                auto f = GgufFile::from_bytes(b, "flip.gguf");
                for (const auto& t : f->tensors()) f->values(t);
            });
            QVERIFY2(e == kNoError || e.rfind("flip.gguf", 0) == 0, e.c_str());
            errors += e != kNoError;
        }
        QVERIFY(errors > 0);
        // From the file system too: a missing file and an empty one.
        QVERIFY(error_of([&] { GgufFile::open(path("missing.gguf")); }).find("missing.gguf: cannot open") != std::string::npos);
        std::ofstream(path("empty.gguf")).close();
        QVERIFY(error_of([&] { GgufFile::open(path("empty.gguf")); }).find("magic") != std::string::npos);
    }
};

QTEST_APPLESS_MAIN(TestGgufFormat)
#include "test_gguf_format.moc"
