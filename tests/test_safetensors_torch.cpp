// The torch bridge of the safetensors layer: exact round trips and an independent byte-level check.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <cstring>
#include <fstream>
#include <string>

#include "common/error.h"
#include "io/safetensors.h"
#include "io/safetensors_torch.h"
#include "test_support.h"

using namespace droplora::io;

using droplora::testing::read_file;

namespace {

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
    // torch::equal compares values; NaN != NaN, so also compare the raw bytes.
    return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && a.is_contiguous() && b.is_contiguous() &&
           (a.numel() == 0 ||
            std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<std::size_t>(a.numel()) * a.element_size()) == 0);
}

}  // namespace

class TestSafetensorsTorch : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    std::string path(const std::string& name) const { return (tmp_.path() + "/").toStdString() + name; }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        torch::manual_seed(1234);
    }

    void dtype_mapping() {
        const std::vector<std::pair<DType, at::ScalarType>> pairs = {
            {DType::BF16, at::kBFloat16}, {DType::F16, at::kHalf}, {DType::F32, at::kFloat}, {DType::F64, at::kDouble},
            {DType::I64, at::kLong},      {DType::I32, at::kInt},  {DType::I16, at::kShort}, {DType::I8, at::kChar},
            {DType::U8, at::kByte},       {DType::Bool, at::kBool}};
        for (const auto& [d, s] : pairs) {
            QCOMPARE(to_scalar_type(d, "x"), s);
            QCOMPARE(from_scalar_type(s), d);
        }
        for (DType d : {DType::U16, DType::U32, DType::U64, DType::F8_E4M3, DType::F8_E5M2}) {
            try {
                to_scalar_type(d, "f.safetensors: tensor 'q'");
                QFAIL("expected an error");
            } catch (const droplora::Error& e) {
                QVERIFY2(std::string(e.what()).find("f.safetensors: tensor 'q'") == 0, e.what());
            }
        }
        QVERIFY_THROWS_EXCEPTION(droplora::Error, from_scalar_type(at::kComplexFloat));
    }

    void round_trip_exact() {
        // Includes values that must survive bit for bit: NaN, ±inf, -0, subnormals, int64 extremes.
        at::Tensor f32 = torch::randn({3, 5});
        f32[0][0] = std::numeric_limits<float>::quiet_NaN();
        f32[0][1] = -std::numeric_limits<float>::infinity();
        f32[0][2] = -0.0f;
        f32[0][3] = std::numeric_limits<float>::denorm_min();
        const at::Tensor bf16 = torch::randn({4, 2, 3}).to(torch::kBFloat16);
        const at::Tensor f16 = (torch::randn({7}) * 1000).to(torch::kHalf);
        at::Tensor i64 = torch::randint(-1000000, 1000000, {2, 3}, torch::kLong);
        i64[0][0] = std::numeric_limits<int64_t>::min();
        i64[1][2] = std::numeric_limits<int64_t>::max();
        // Non-contiguous input: save_tensors must write it in logical row-major order.
        const at::Tensor transposed = torch::arange(12, torch::kFloat).reshape({3, 4}).t();
        const at::Tensor scalar = torch::tensor(3.5, torch::kDouble).reshape({});
        const at::Tensor empty = torch::zeros({0, 3}, torch::kFloat);

        const std::vector<std::pair<std::string, at::Tensor>> in = {
            {"f32", f32},      {"bf16", bf16},     {"f16", f16},    {"i64", i64},
            {"t", transposed}, {"scalar", scalar}, {"empty", empty}};
        const std::string file = path("rt.safetensors");
        save_tensors(file, in, {{"step", "7"}});

        const auto f = SafetensorsFile::open(file);
        QCOMPARE(f->metadata().at("format"), std::string("pt"));
        QCOMPARE(f->metadata().at("step"), std::string("7"));
        for (const auto& [name, t] : in) {
            const at::Tensor back = load_tensor(*f, name);
            QVERIFY2(back.device().is_cpu() && back.is_contiguous(), name.c_str());
            QVERIFY2(bitwise_equal(back, t.contiguous()), name.c_str());
            if (name != "f32") QVERIFY2(torch::equal(back, t), name.c_str());  // f32 holds a NaN
        }
        const at::Tensor finite = load_tensor(*f, "f32").narrow(0, 1, 2);
        QVERIFY(torch::equal(finite, f32.narrow(0, 1, 2)));

        const auto all = load_all(file);
        QCOMPARE(all.size(), in.size());
        QVERIFY(torch::equal(all.at("i64"), i64));
        QVERIFY(torch::equal(all.at("t"), transposed));
    }

    // Independent of our writer: the bytes a safetensors file of one F32 [2] tensor must have.
    void known_f32_bytes() {
        const std::string file = path("known.safetensors");
        save_tensors(file, {{"w", torch::tensor({1.0f, -2.5f})}});
        const std::string json =
            R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
        QCOMPARE(json.size(), std::size_t{85});  // + 3 spaces -> 88 = 0x58
        // 1.0f = 0x3F800000, -2.5f = 0xC0200000, little-endian.
        const std::string expected =
            std::string("\x58\0\0\0\0\0\0\0", 8) + json + "   " + std::string("\x00\x00\x80\x3f\x00\x00\x20\xc0", 8);
        QCOMPARE(read_file(file), expected);
    }

    void errors_name_file_and_tensor() {
        // A U16 tensor is valid safetensors but has no torch 1.13 dtype.
        const uint16_t v[2] = {1, 2};
        const std::string file = path("u16.safetensors");
        write_safetensors(file, {RawTensor{"ids", DType::U16, {2}, v, 4}});
        const auto f = SafetensorsFile::open(file);
        try {
            load_tensor(*f, "ids");
            QFAIL("expected an error");
        } catch (const droplora::Error& e) {
            QVERIFY2(std::string(e.what()).find(file + ": tensor 'ids'") == 0, e.what());
        }
        QVERIFY_THROWS_EXCEPTION(droplora::Error, load_tensor(*f, "absent"));

        const std::string out = path("complex.safetensors");
        try {
            save_tensors(out, {{"z", torch::zeros({2}, torch::kComplexFloat)}});
            QFAIL("expected an error");
        } catch (const droplora::Error& e) {
            QVERIFY2(std::string(e.what()).find(out + ": tensor 'z'") == 0, e.what());
        }
        QVERIFY(!QFile::exists(QString::fromStdString(out)));
    }
};

QTEST_GUILESS_MAIN(TestSafetensorsTorch)
#include "test_safetensors_torch.moc"
