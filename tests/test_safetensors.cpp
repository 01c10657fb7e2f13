// safetensors reader/writer (torch-free; also built under ASan + UBSan as test_safetensors_asan).
// Malformed files are built byte by byte so each rule of docs/formats.md §3 is hit on its own.
#include <QtTest/QtTest>

#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/checkpoint_files.h"
#include "io/safetensors.h"
#include "test_support.h"

using namespace droplora::io;

using droplora::testing::error_of;
using droplora::testing::read_file;
using droplora::testing::write_file;

namespace {

std::string le64(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

// u64 header length | header | data
std::string st_file(const std::string& header, std::size_t data_bytes) {
    std::string data(data_bytes, '\0');
    for (std::size_t i = 0; i < data_bytes; ++i) data[i] = static_cast<char>(i * 7 + 1);
    return le64(header.size()) + header + data;
}

std::string f32_entry(const std::string& name, const std::string& shape, uint64_t b, uint64_t e) {
    return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) + "," +
           std::to_string(e) + "]}";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

#define EXPECT_ERROR(msg, ...)                                                        \
    do {                                                                              \
        const std::string m_ = (msg);                                                 \
        for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})        \
            QVERIFY2(contains(m_, part_), ("'" + part_ + "' not in: " + m_).c_str()); \
        QVERIFY2(!contains(m_, "\n"), ("not one line: " + m_).c_str());               \
    } while (0)

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

private:
    QTemporaryDir tmp_;
    std::string path(const std::string& name) const { return (tmp_.path() + "/").toStdString() + name; }

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void dtype_table() {
        const std::vector<std::pair<const char*, std::size_t>> expected = {
            {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2}, {"F16", 2},     {"BF16", 2},   {"I32", 4},
            {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
        for (const auto& [name, size] : expected) {
            DType d{};
            QVERIFY2(parse_dtype(name, &d), name);
            QCOMPARE(std::string(dtype_name(d)), std::string(name));
            QCOMPARE(dtype_size(d), size);
        }
        DType d{};
        QVERIFY(!parse_dtype("f32", &d));
        QVERIFY(!parse_dtype("C64", &d));
    }

    void round_trip_dtypes() {
        struct Spec {
            std::string name;
            DType dtype;
            std::vector<int64_t> shape;
        };
        const std::vector<Spec> specs = {
            {"a.f32", DType::F32, {2, 3}},   {"b.f64", DType::F64, {4}},    {"c.i64", DType::I64, {3}},
            {"d.i32", DType::I32, {2, 2}},   {"e.i16", DType::I16, {5}},    {"f.i8", DType::I8, {7}},
            {"g.u8", DType::U8, {3}},        {"h.bool", DType::Bool, {4}},  {"i.bf16", DType::BF16, {2, 1}},
            {"j.f16", DType::F16, {3}},      {"k.u16", DType::U16, {1}},    {"l.u32", DType::U32, {2}},
            {"m.u64", DType::U64, {1}},      {"n.f8", DType::F8_E4M3, {5}}, {"o.scalar", DType::F32, {}},
            {"p.empty", DType::F32, {0, 4}},
        };
        std::vector<std::vector<uint8_t>> payloads;
        std::vector<RawTensor> raw;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            int64_t numel = 1;
            for (int64_t d : specs[i].shape) numel *= d;
            std::vector<uint8_t> bytes(static_cast<std::size_t>(numel) * dtype_size(specs[i].dtype));
            for (std::size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<uint8_t>(31 * i + 7 * k + 3);
            if (specs[i].dtype == DType::Bool)
                for (auto& b : bytes) b &= 1;
            payloads.push_back(std::move(bytes));
        }
        // Given unsorted on purpose: the writer sorts by name.
        for (std::size_t i = specs.size(); i-- > 0;)
            raw.push_back(
                RawTensor{specs[i].name, specs[i].dtype, specs[i].shape, payloads[i].data(), payloads[i].size()});
        const std::string file = path("round_trip.safetensors");
        write_safetensors(file, raw, {{"step", "12"}, {"note", "héllo"}});
        QVERIFY(!QFile::exists(QString::fromStdString(file + ".tmp")));

        // Independent look at the bytes: length prefix, space padding to a multiple of 8, whole size.
        const std::string bytes = read_file(file);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<std::size_t>(i)]);
        QCOMPARE(n % 8, uint64_t{0});
        const std::string header = bytes.substr(8, n);
        QCOMPARE(header.front(), '{');
        QVERIFY(header.find_last_not_of(' ') == header.rfind('}'));
        std::size_t total = 0;
        for (const auto& p : payloads) total += p.size();
        QCOMPARE(bytes.size(), 8 + n + total);

        const auto f = SafetensorsFile::open(file);
        QCOMPARE(f->metadata().at("format"), std::string("pt"));
        QCOMPARE(f->metadata().at("step"), std::string("12"));
        QCOMPARE(f->metadata().at("note"), std::string("héllo"));
        QCOMPARE(f->tensors().size(), specs.size());
        uint64_t expected_begin = 0;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            const TensorInfo& t = f->tensors()[i];
            QCOMPARE(t.name, specs[i].name);  // specs are listed in name order
            QCOMPARE(t.dtype, specs[i].dtype);
            QCOMPARE(t.shape, specs[i].shape);
            QCOMPARE(t.begin, expected_begin);
            QCOMPARE(t.end - t.begin, static_cast<uint64_t>(payloads[i].size()));
            QCOMPARE(static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype), payloads[i].size());
            QVERIFY(payloads[i].empty() || std::memcmp(f->data(t), payloads[i].data(), payloads[i].size()) == 0);
            QCOMPARE(&f->at(t.name), &t);
            expected_begin = t.end;
        }
        QVERIFY(f->find("absent") == nullptr);
        EXPECT_ERROR(error_of([&] { f->at("absent"); }), file, "tensor 'absent'", "not in this file");

        // Writing again replaces the file whole.
        const uint8_t one = 1;
        write_safetensors(file, {RawTensor{"only", DType::U8, {1}, &one, 1}});
        QCOMPARE(SafetensorsFile::open(file)->tensors().size(), std::size_t{1});
    }

    void writer_exact_bytes() {
        const uint8_t data[3] = {1, 2, 3};
        const std::string file = path("exact.safetensors");
        write_safetensors(file, {RawTensor{"x", DType::U8, {3}, data, 3}});
        // 84 bytes of JSON + 4 spaces = 88, a multiple of 8.
        const std::string json =
            R"({"__metadata__":{"format":"pt"},"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})";
        QCOMPARE(json.size(), std::size_t{84});
        const std::string expected = std::string("\x58\0\0\0\0\0\0\0", 8) + json + "    " + "\x01\x02\x03";
        QCOMPARE(read_file(file), expected);
    }

    void writer_errors() {
        const float v[2] = {1.f, 2.f};
        const std::string file = path("bad_write.safetensors");
        EXPECT_ERROR(error_of([&] {
                         write_safetensors(file, {RawTensor{"w", DType::F32, {3}, v, 8}});
                     }),
                     file, "tensor 'w'", "needs 12");
        EXPECT_ERROR(
            error_of([&] {
                write_safetensors(file, {RawTensor{"w", DType::F32, {2}, v, 8}, RawTensor{"w", DType::F32, {2}, v, 8}});
            }),
            file, "tensor 'w'", "more than once");
        EXPECT_ERROR(error_of([&] {
                         write_safetensors(file, {RawTensor{"__metadata__", DType::F32, {2}, v, 8}});
                     }),
                     file, "reserved");
        EXPECT_ERROR(error_of([&] {
                         write_safetensors(file, {RawTensor{"w", DType::F32, {-2}, v, 8}});
                     }),
                     file, "tensor 'w'", "invalid shape");
        const std::string nowhere = path("no/such/dir/x.safetensors");
        EXPECT_ERROR(error_of([&] {
                         write_safetensors(nowhere, {RawTensor{"w", DType::F32, {2}, v, 8}});
                     }),
                     nowhere, "cannot create");
        QVERIFY(!QFile::exists(QString::fromStdString(file)));
        QVERIFY(!QFile::exists(QString::fromStdString(file + ".tmp")));
    }

    void malformed_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("tensor");
        QTest::addColumn<QString>("problem");
        auto row = [](const char* tag, const std::string& bytes, const char* tensor, const char* problem) {
            QTest::newRow(tag) << QByteArray(bytes.data(), static_cast<int>(bytes.size())) << QString(tensor)
                               << QString(problem);
        };
        const std::string a = f32_entry("a", "[2]", 0, 8);
        row("shorter than 8 bytes", "abc", "", "too short");
        row("empty file", "", "", "too short");
        row("header length over cap", le64(100000001) + "{}", "", "exceeds the limit");
        row("header past end", le64(100) + "{}      ", "", "runs past the end of the file");
        row("header not utf8", st_file("{\"a\xff\":1}", 0), "", "not valid UTF-8");
        row("overlong utf8", st_file("{\"\xc0\xaf\":1}", 0), "", "not valid UTF-8");
        row("utf8 surrogate", st_file("{\"\xed\xa0\x80\":1}", 0), "", "not valid UTF-8");
        row("not json", st_file("{\"a\":", 0), "", "not valid JSON");
        row("json then garbage", st_file("{} x", 0), "", "not valid JSON");
        row("empty header", st_file("", 0), "", "not valid JSON");
        row("header is a list", st_file("[1,2]", 0), "", "not an object");
        row("entry not object", st_file("{\"a\":[1]}", 0), "a", "not an object");
        row("missing field", st_file(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "a", "missing field 'data_offsets'");
        row("extra field", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", 8), "a",
            "unexpected field 'extra'");
        row("unknown dtype", st_file(R"({"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}})", 8), "a",
            "unknown dtype 'F128'");
        row("dtype not string", st_file(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8), "a",
            "not a string");
        row("shape not list", st_file("{" + f32_entry("a", "2", 0, 8) + "}", 8), "a", "shape is not a list");
        row("shape negative", st_file("{" + f32_entry("a", "[-2]", 0, 8) + "}", 8), "a", "shape is not a list");
        row("shape float", st_file("{" + f32_entry("a", "[2.0]", 0, 8) + "}", 8), "a", "shape is not a list");
        row("shape string", st_file("{" + f32_entry("a", "[\"2\"]", 0, 8) + "}", 8), "a", "shape is not a list");
        row("shape above int64", st_file("{" + f32_entry("a", "[9223372036854775808]", 0, 8) + "}", 8), "a",
            "shape is not a list");
        row("offsets three ints", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", 8), "a",
            "two non-negative integers");
        row("offsets negative", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", 8), "a",
            "two non-negative integers");
        row("offsets not list", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", 8), "a",
            "two non-negative integers");
        row("end before begin", st_file("{" + f32_entry("a", "[2]", 8, 0) + "}", 8), "a", "is before begin");
        row("numel overflow", st_file("{" + f32_entry("a", "[4294967296,4294967296]", 0, 0) + "}", 0), "a",
            "overflows");
        row("numel x size overflow", st_file("{" + f32_entry("a", "[4611686018427387904]", 0, 0) + "}", 0), "a",
            "overflows");
        row("size mismatch", st_file("{" + f32_entry("a", "[3]", 0, 8) + "}", 8), "a", "needs 12");
        row("not starting at 0", st_file("{" + f32_entry("a", "[2]", 4, 12) + "}", 12), "a", "hole of 4 bytes");
        row("hole between", st_file("{" + a + "," + f32_entry("b", "[2]", 12, 20) + "}", 20), "b", "hole");
        row("overlap", st_file("{" + a + "," + f32_entry("b", "[2]", 4, 12) + "}", 12), "b", "overlaps tensor 'a'");
        row("same range twice", st_file("{" + a + "," + f32_entry("b", "[2]", 0, 8) + "}", 8), "", "overlaps");
        row("trailing bytes", st_file("{" + a + "}", 12), "", "4 trailing bytes");
        row("data truncated", st_file("{" + a + "}", 4), "a", "runs past the data buffer");
        row("duplicate tensor", st_file("{" + a + "," + f32_entry("a", "[2]", 8, 16) + "}", 16), "a",
            "appears more than once");
        row("duplicate field", st_file(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8),
            "a", "field 'dtype' appears more than once");
        row("duplicate metadata", st_file(R"({"__metadata__":{"k":"1"},"__metadata__":{"k":"2"}})", 0), "",
            "'__metadata__' appears more than once");
        row("duplicate metadata key", st_file(R"({"__metadata__":{"k":"1","k":"2"}})", 0), "",
            "__metadata__: key 'k' appears more than once");
        row("metadata not object", st_file(R"({"__metadata__":["format","pt"]})", 0), "",
            "__metadata__ is not an object");
        row("metadata value not string", st_file(R"({"__metadata__":{"step":12}})", 0), "", "not a string");
        row("nested too deep", st_file(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8), "",
            "nests deeper");
        std::string many = "[1";
        for (int i = 0; i < 2000; ++i) many += ",1";
        row("list too long", st_file("{" + f32_entry("a", many + "]", 0, 4) + "}", 4), "", "more than 1024 items");
        row("control character in name", st_file(R"({"a\nb":{"dtype":"X","shape":[],"data_offsets":[0,4]}})", 4),
            "a\\x0ab", "unknown dtype");
    }

    void malformed() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, tensor);
        QFETCH(QString, problem);
        const std::string file = path("malformed.safetensors");
        write_file(file, bytes.toStdString());
        std::vector<std::string> parts = {file + ": ", problem.toStdString()};
        if (!tensor.isEmpty()) parts.push_back(file + ": tensor '" + tensor.toStdString() + "'");
        const std::string msg = error_of([&] { SafetensorsFile::open(file); });
        for (const std::string& part : parts) QVERIFY2(contains(msg, part), ("'" + part + "' not in: " + msg).c_str());
        QVERIFY2(!contains(msg, "\n"), msg.c_str());
    }

    void accepts_edge_cases() {
        // No tensors at all, zero-size tensors sharing an offset, padding spaces, no metadata.
        const std::string file = path("edge.safetensors");
        write_file(file, st_file("{}", 0));
        QVERIFY(SafetensorsFile::open(file)->tensors().empty());
        write_file(file, st_file("{" + f32_entry("z", "[0]", 0, 0) + "," + f32_entry("a", "[2]", 0, 8) + "," +
                                      f32_entry("y", "[3,0]", 8, 8) + "}      ",
                                  8));
        const auto f = SafetensorsFile::open(file);
        QCOMPARE(f->tensors().size(), std::size_t{3});
        QCOMPARE(f->tensors()[0].name, std::string("z"));  // header order is kept
        QCOMPARE(f->at("y").numel(), int64_t{0});
        QVERIFY(f->metadata().empty());
    }

    void open_errors() {
        const std::string missing = path("missing.safetensors");
        EXPECT_ERROR(error_of([&] { SafetensorsFile::open(missing); }), missing, "cannot open");
        const std::string dir = tmp_.path().toStdString();
        EXPECT_ERROR(error_of([&] { SafetensorsFile::open(dir); }), dir, "not a regular file");
    }

    void truncated_file() {
        const std::vector<float> w = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
        const std::vector<int64_t> b = {7, 8};
        const std::string whole = path("whole.safetensors");
        write_safetensors(
            whole, {RawTensor{"w", DType::F32, {2, 3}, w.data(), 24}, RawTensor{"b", DType::I64, {2}, b.data(), 16}});
        const std::string bytes = read_file(whole);
        const std::string file = path("truncated.safetensors");
        for (std::size_t len = 0; len < bytes.size(); ++len) {
            write_file(file, bytes.substr(0, len));
            const std::string msg = error_of([&] { SafetensorsFile::open(file); });
            QVERIFY2(contains(msg, file + ": ") && !contains(msg, "\n"),
                     (std::to_string(len) + " bytes: " + msg).c_str());
        }
    }

    void single_file_checkpoint() {
        const QString dir = tmp_.path() + "/single";
        QVERIFY(QDir().mkpath(dir));
        const float v[2] = {1.f, 2.f};
        write_safetensors(dir.toStdString() + "/model.safetensors", {RawTensor{"w", DType::F32, {2}, v, 8}});
        const CheckpointFiles ckpt = CheckpointFiles::open(dir.toStdString());
        QCOMPARE(ckpt.files().size(), std::size_t{1});
        QCOMPARE(ckpt.names(), std::vector<std::string>{"w"});
        const SafetensorsFile* f = nullptr;
        const TensorInfo* t = ckpt.find("w", &f);
        QVERIFY(t != nullptr && f == ckpt.files()[0].get());
        QVERIFY(std::memcmp(f->data(*t), v, 8) == 0);
        QVERIFY(ckpt.find("nope", &f) == nullptr && f == nullptr);
    }

    void sharded_checkpoint() {
        const std::string dir =
            make_sharded("sharded", index_of(R"({"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"})"),
                         {"a", "b"}, {"c"});
        const CheckpointFiles ckpt = CheckpointFiles::open(dir);
        QCOMPARE(ckpt.files().size(), std::size_t{2});
        QCOMPARE(ckpt.names(), (std::vector<std::string>{"a", "b", "c"}));
        const SafetensorsFile* f = nullptr;
        const TensorInfo* c = ckpt.find("c", &f);
        QVERIFY(c != nullptr);
        QCOMPARE(f->path(), dir + "/s2.safetensors");
        float got = 0;
        std::memcpy(&got, f->data(*c), 4);
        QCOMPARE(got, 11.f);
        QVERIFY(ckpt.find("a", &f) != nullptr);
        QCOMPARE(f->path(), dir + "/s1.safetensors");
    }

    void sharded_errors() {
        std::string dir =
            make_sharded("missing_shard", index_of(R"({"a":"s1.safetensors","c":"s3.safetensors"})"), {"a"}, {"c"});
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), dir + "/s3.safetensors", "does not exist",
                     "tensor 'c'");
        dir = make_sharded("not_in_shard", index_of(R"({"a":"s1.safetensors","c":"s1.safetensors"})"), {"a"}, {"c"});
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), dir + "/s1.safetensors: tensor 'c'",
                     "not in this shard");
        dir = make_sharded("duplicate", index_of(R"({"a":"s1.safetensors","c":"s2.safetensors"})"), {"a", "c"}, {"c"});
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), "tensor 'c'", "s1.safetensors", "s2.safetensors",
                     "one shard only");

        const std::vector<std::pair<std::string, std::string>> bad_index = {
            {"{\"weight_map\": ", "not valid JSON"},
            {"[]", "not a JSON object"},
            {R"({"metadata": {}})", "missing \"weight_map\""},
            {R"({"weight_map": {}})", "lists no tensors"},
            {R"({"weight_map": {"a": 1}})", "tensor 'a' maps to a JSON number"},
            {R"({"weight_map": {"a": "s1.safetensors", "a": "s2.safetensors"}})", "key 'a' appears more than once"},
            {R"({"weight_map": {"a": "../s1.safetensors"}})", "not a file inside the folder"},
            {R"({"weight_map": {"a": "/etc/passwd"}})", "not a file inside the folder"},
        };
        for (std::size_t i = 0; i < bad_index.size(); ++i) {
            dir = make_sharded("bad_index_" + std::to_string(i), bad_index[i].first, {"a"}, {"c"});
            EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }),
                         dir + "/model.safetensors.index.json: ", bad_index[i].second);
        }

        dir = make_sharded("bad_shard", index_of(R"({"a":"s1.safetensors","c":"s2.safetensors"})"), {"a"}, {"c"});
        write_file(dir + "/s2.safetensors", "short");
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), dir + "/s2.safetensors: ", "too short");
    }

    void folder_without_checkpoint() {
        const QString empty = tmp_.path() + "/empty_model";
        QVERIFY(QDir().mkpath(empty));
        const std::string dir = empty.toStdString();
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), dir + ": ",
                     "no model.safetensors or model.safetensors.index.json");
        write_file(dir + "/pytorch_model.bin", "PK");
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(dir); }), dir + ": ", ".bin checkpoints are not supported",
                     "safetensors");
        const std::string absent = dir + "/absent";
        EXPECT_ERROR(error_of([&] { CheckpointFiles::open(absent); }), absent + ": ", "does not exist");
    }

    // The header parser and the writer are O(n log n) in the number of keys: a
    // 200k-key header (the 100 MB cap allows ~1.8 M) once took minutes with an
    // ordered JSON map that looked each key up in a vector. This test finishes
    // in about a second; the quadratic version ran for minutes. The ASan build
    // (which checks memory, not scale, and makes each allocation slow) uses 20k.
    void many_keys() {
#if defined(__SANITIZE_ADDRESS__)
        constexpr int kKeys = 20000;
#else
        constexpr int kKeys = 200000;
#endif
        // Hand-built header, names in descending order: the file's order is kept, not sorted.
        std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
        for (int i = 0; i < kKeys; ++i) {
            const uint64_t b = static_cast<uint64_t>(kKeys - 1 - i) * 4;
            header += "," + f32_entry("t" + std::to_string(kKeys - 1 - i), "[1]", b, b + 4);
        }
        const std::string file = path("many_keys.safetensors");
        write_file(file, st_file(header + "}", static_cast<std::size_t>(kKeys) * 4));
        {
            const auto f = SafetensorsFile::open(file);
            QCOMPARE(f->tensors().size(), std::size_t{kKeys});
            QCOMPARE(f->tensors().front().name, "t" + std::to_string(kKeys - 1));
            QCOMPARE(f->tensors().back().name, std::string("t0"));
            const TensorInfo* last = f->find("t0");
            QVERIFY(last != nullptr);
            QCOMPARE(last->begin, uint64_t{0});
            QCOMPARE(f->at("t" + std::to_string(kKeys / 2)).begin, uint64_t{kKeys / 2} * 4);
            QCOMPARE(f->metadata().at("format"), std::string("pt"));
        }
        // The same header with its first tensor repeated as the last key.
        const uint64_t end = static_cast<uint64_t>(kKeys) * 4;
        const std::string dup = header + "," + f32_entry("t" + std::to_string(kKeys - 1), "[1]", end, end + 4) + "}";
        write_file(file, st_file(dup, static_cast<std::size_t>(kKeys) * 4 + 4));
        EXPECT_ERROR(error_of([&] { SafetensorsFile::open(file); }),
                     file + ": tensor 't" + std::to_string(kKeys - 1) + "'", "appears more than once");

        // The writer: 200k tensors given unsorted come back sorted by name.
        std::vector<float> values(kKeys);
        std::vector<RawTensor> raw;
        raw.reserve(kKeys);
        for (int i = 0; i < kKeys; ++i) {
            values[static_cast<std::size_t>(i)] = static_cast<float>(i);
            raw.push_back(RawTensor{"w." + std::to_string((i * 7919) % kKeys), DType::F32, {1},
                                    &values[static_cast<std::size_t>(i)], 4});
        }
        const std::string written = path("many_written.safetensors");
        write_safetensors(written, raw);
        const auto f = SafetensorsFile::open(written);
        QCOMPARE(f->tensors().size(), std::size_t{kKeys});
        for (std::size_t i = 1; i < f->tensors().size(); i += 997)
            QVERIFY(f->tensors()[i - 1].name < f->tensors()[i].name);
        int given_as = -1;  // the index i whose name is "w.1"
        for (int i = 0; i < kKeys && given_as < 0; ++i)
            if ((i * 7919) % kKeys == 1) given_as = i;
        float v = -1;
        std::memcpy(&v, f->data(f->at("w.1")), 4);
        QCOMPARE(v, static_cast<float>(given_as));
    }

    // Mutated headers and truncations must give droplora::Error or a valid file, never a crash or an
    // out-of-bounds read (the ASan build checks the latter). Fixed seed: failures reproduce.
    void fuzz_header_mutations() {
        const std::vector<float> w(6, 0.5f);
        const std::vector<uint16_t> h = {1, 2, 3};
        const std::vector<int64_t> ids = {4, 5};
        const std::string base_path = path("fuzz_base.safetensors");
        write_safetensors(
            base_path,
            {RawTensor{"model.w", DType::F32, {2, 3}, w.data(), 24},
             RawTensor{"model.h", DType::BF16, {3}, h.data(), 6}, RawTensor{"ids", DType::I64, {2}, ids.data(), 16}},
            {{"step", "3"}});
        const std::string base = read_file(base_path);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(base[static_cast<std::size_t>(i)]);
        const std::size_t header_end = 8 + static_cast<std::size_t>(n);

        std::mt19937 rng(20240611u);
        auto pick = [&](std::size_t lo, std::size_t hi) { return lo + rng() % (hi - lo); };  // [lo, hi)
        const std::string file = path("fuzz.safetensors");
        int opened = 0, rejected = 0;
        for (int iter = 0; iter < 2000; ++iter) {
            std::string bytes = base;
            switch (rng() % 5) {
                case 0:  // random bytes anywhere in the prefix + header
                    for (std::size_t k = pick(1, 5); k > 0; --k) bytes[pick(0, header_end)] = static_cast<char>(rng());
                    break;
                case 1: {  // one digit for another: valid JSON, wrong numbers
                    std::vector<std::size_t> digits;
                    for (std::size_t i = 8; i < header_end; ++i)
                        if (bytes[i] >= '0' && bytes[i] <= '9') digits.push_back(i);
                    bytes[digits[pick(0, digits.size())]] = static_cast<char>('0' + rng() % 10);
                    break;
                }
                case 2:  // truncation
                    bytes.resize(pick(0, bytes.size()));
                    break;
                case 3: {  // drop or duplicate a header byte, length prefix unchanged
                    const std::size_t at = pick(8, header_end);
                    if (rng() % 2)
                        bytes.erase(at, 1);
                    else
                        bytes.insert(at, 1, bytes[at]);
                    break;
                }
                default:  // corrupt the length prefix
                    bytes[pick(0, 8)] = static_cast<char>(rng());
                    break;
            }
            write_file(file, bytes);
            try {
                const auto f = SafetensorsFile::open(file);
                unsigned sum = 0;  // touch every byte the reader hands out
                for (const TensorInfo& t : f->tensors())
                    for (uint64_t k = 0; k < t.end - t.begin; ++k) sum += f->data(t)[k];
                Q_UNUSED(sum);
                ++opened;
            } catch (const droplora::Error& e) {
                QVERIFY2(contains(e.what(), file + ": ") && !contains(e.what(), "\n"), e.what());
                ++rejected;
            } catch (const std::exception& e) {
                QFAIL((std::to_string(iter) + ": unexpected exception type: " + e.what()).c_str());
            }
            // The in-memory entry point, with a buffer size that may or may not fit.
            if (bytes.size() >= header_end) {
                std::vector<TensorInfo> tensors;
                std::map<std::string, std::string> meta;
                try {
                    SafetensorsFile::parse_header(bytes.substr(8, n), pick(0, 64), "mem", &tensors, &meta);
                } catch (const droplora::Error&) {
                }
            }
        }
        QCOMPARE(opened + rejected, 2000);
        QVERIFY(opened > 0);
        QVERIFY(rejected > 1000);
    }

private:
    // A sharded checkpoint folder: `index_json` as model.safetensors.index.json, s1/s2.safetensors holding
    // the named F32 [1] tensors, valued (position in its shard + 1) in s1 and + 11 in s2.
    std::string make_sharded(const std::string& name, const std::string& index_json, const std::vector<std::string>& s1,
                             const std::vector<std::string>& s2) {
        const std::string dir = path(name);
        QDir().mkpath(QString::fromStdString(dir));
        auto shard = [&](const std::string& file, const std::vector<std::string>& names, float first) {
            std::vector<float> values(names.size());
            std::vector<RawTensor> raw;
            for (std::size_t i = 0; i < names.size(); ++i) {
                values[i] = first + static_cast<float>(i);
                raw.push_back(RawTensor{names[i], DType::F32, {1}, &values[i], 4});
            }
            write_safetensors(dir + "/" + file, raw);
        };
        shard("s1.safetensors", s1, 1.f);
        shard("s2.safetensors", s2, 11.f);
        write_file(dir + "/model.safetensors.index.json", index_json);
        return dir;
    }

    static std::string index_of(const std::string& weight_map) {
        return R"({"metadata": {"total_size": 12}, "weight_map": )" + weight_map + "}";
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
