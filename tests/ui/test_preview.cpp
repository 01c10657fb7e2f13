// The embedded demo, offscreen: generate_preview against the `droplora generate` command line (an independent
// code path: its own process, model load and adapter load), the Preview panel showing both answers after a click,
// which adapter a run offers to the preview, and Run → Compare training a LoRA and a DropLoRA run whose table
// matches the runs' own metrics.jsonl and `droplora eval`. Message boxes are recorded (Dialogs), never shown.
#include <QtTest/QtTest>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>

#include "common/error.h"
#include "comparedialog.h"
#include "comparesession.h"
#include "config/run_config.h"
#include "dialogs.h"
#include "lossplot.h"
#include "mainwindow.h"
#include "metatypes.h"
#include "modelpanel.h"
#include "previewpanel.h"
#include "train/metrics_log.h"
#include "train/preview.h"

using droplora::config::RunConfig;
using namespace droplora::ui;

namespace {

const QString kModel = QStringLiteral(DROPLORA_TEST_DATA "/models/tiny-llama-gqa");
const QString kAdapter = QStringLiteral(DROPLORA_TEST_DATA "/adapters/gqa-lora");
const QString kPrompt = QStringLiteral("Count from one to five.");
constexpr int kNewTokens = 8;
constexpr int kRunTimeoutMs = 240000;

QString cliPath() { return QStringLiteral(DROPLORA_BIN_DIR "/droplora"); }

// Runs the droplora command line; returns its stdout (the test fails when it exits non-zero).
QString runCli(const QStringList& args) {
    QProcess p;
    p.start(cliPath(), args);
    if (!p.waitForFinished(120000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning("droplora %s failed: %s", qPrintable(args.join(' ')), p.readAllStandardError().constData());
        return QStringLiteral("<droplora failed>");
    }
    return QString::fromUtf8(p.readAllStandardOutput());
}

// `droplora generate` prints the decoded answer and one newline.
QString cliAnswer(const QStringList& extra) {
    QString out = runCli(QStringList{QStringLiteral("generate"), QStringLiteral("--model"), kModel,
                                     QStringLiteral("--prompt"), kPrompt, QStringLiteral("--max-new-tokens"),
                                     QString::number(kNewTokens)} + extra);
    if (out.endsWith(QLatin1Char('\n'))) out.chop(1);
    return out;
}

void writeFile(const QString& path, const QByteArray& text) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    f.write(text);
}

void copyAdapter(const QString& to) {
    QDir().mkpath(to);
    for (const char* name : {"adapter_config.json", "adapter_model.safetensors"})
        QVERIFY(QFile::copy(kAdapter + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

QByteArray alpacaRows(int rows, int offset) {
    QByteArray text;
    for (int i = offset; i < offset + rows; ++i)
        text += "{\"instruction\": \"Count from one to " + QByteArray::number(i % 5 + 2) +
                ".\", \"input\": \"\", \"output\": \"one two three " + QByteArray::number(i) + " done\"}\n";
    return text;
}

}  // namespace

class TestPreview : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void previewMatchesCommandLine();
    void previewRejectsBadInput();
    void adapterOfRunPrefersFinishedAdapter();
    void panelShowsBothAnswers();
    void compareTrainsBothMethods();

private:
    QTemporaryDir m_tmp;
};

void TestPreview::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("DropLoRA-test"));
    QCoreApplication::setApplicationName(QStringLiteral("PreviewTest"));
    QSettings().clear();
    registerMetaTypes();
    Dialogs::setRecording(true, true);
    QVERIFY(m_tmp.isValid());
    QVERIFY2(QFile::exists(cliPath()), "build the droplora target: the test compares with its output");
}

void TestPreview::init() { Dialogs::clearRecords(); }

void TestPreview::previewMatchesCommandLine() {
    const auto raw = droplora::train::generate_preview(kModel.toStdString(), kAdapter.toStdString(),
                                                       kPrompt.toStdString(), "none", kNewTokens);
    // Exact text: both are greedy decodings of the same ids by the same fp32 CPU model.
    QCOMPARE(QString::fromStdString(raw.base), cliAnswer({}));
    QCOMPARE(QString::fromStdString(raw.adapted), cliAnswer({QStringLiteral("--adapter"), kAdapter}));
    QVERIFY(raw.base != raw.adapted);
    QVERIFY(!raw.base.empty());

    // Through a template: the shared prompt builder, and the cached model after an adapter came and went.
    const auto templated = droplora::train::generate_preview(kModel.toStdString(), kAdapter.toStdString(),
                                                             kPrompt.toStdString(), "plain", kNewTokens);
    QCOMPARE(QString::fromStdString(templated.base), cliAnswer({QStringLiteral("--template"), QStringLiteral("plain")}));
    QCOMPARE(QString::fromStdString(templated.adapted),
             cliAnswer({QStringLiteral("--template"), QStringLiteral("plain"), QStringLiteral("--adapter"), kAdapter}));

    // Without an adapter only the base answers, and it is the same as before (the cache holds no adapter).
    const auto base = droplora::train::generate_preview(kModel.toStdString(), "", kPrompt.toStdString(), "none",
                                                        kNewTokens);
    QCOMPARE(base.base, raw.base);
    QVERIFY(base.adapted.empty());
}

void TestPreview::previewRejectsBadInput() {
    const std::string model = kModel.toStdString();
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(model, "", "hi", "alpacca", 4));
    QVERIFY_THROWS_EXCEPTION(droplora::Error, droplora::train::generate_preview(model, "", "hi", "none", 0));
    QVERIFY_THROWS_EXCEPTION(droplora::Error,
                             droplora::train::generate_preview(model, m_tmp.filePath("missing").toStdString(), "hi", "none", 4));
    // A failed adapter load leaves the cached base model clean.
    const auto again = droplora::train::generate_preview(model, "", kPrompt.toStdString(), "none", kNewTokens);
    QCOMPARE(QString::fromStdString(again.base), cliAnswer({}));
}

void TestPreview::adapterOfRunPrefersFinishedAdapter() {
    const QString run = m_tmp.filePath(QStringLiteral("run-layout"));
    copyAdapter(run + QStringLiteral("/checkpoints/step-00000002/adapter"));
    copyAdapter(run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    QDir().mkpath(run + QStringLiteral("/checkpoints/step-00000020/adapter"));  // not written yet: no config
    QCOMPARE(PreviewPanel::latestAdapterDir(run, false), run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    copyAdapter(run + QStringLiteral("/adapter"));
    QCOMPARE(PreviewPanel::latestAdapterDir(run, false), run + QStringLiteral("/adapter"));
    // While the run trains, adapter/ may be a previous run's.
    QCOMPARE(PreviewPanel::latestAdapterDir(run, true), run + QStringLiteral("/checkpoints/step-00000010/adapter"));
    QVERIFY(PreviewPanel::latestAdapterDir(m_tmp.filePath(QStringLiteral("nothing")), false).isEmpty());
}

void TestPreview::panelShowsBothAnswers() {
    const QString run = m_tmp.filePath(QStringLiteral("run-panel"));
    copyAdapter(run + QStringLiteral("/adapter"));
    PreviewPanel panel;
    panel.setSourceProvider([run] { return PreviewPanel::Source{kModel, run, false}; });
    panel.setPrompt(kPrompt);
    panel.setTemplate(QStringLiteral("none"));
    panel.setMaxNewTokens(kNewTokens);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy finished(&panel, &PreviewPanel::finished);
    QTest::mouseClick(panel.generateButton(), Qt::LeftButton);
    QVERIFY(!panel.generateButton()->isEnabled());  // one generation at a time
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.first().at(0).toBool(), true);
    QVERIFY2(Dialogs::lastError().isEmpty(), qPrintable(Dialogs::lastError()));
    QCOMPARE(panel.adapterDir(), run + QStringLiteral("/adapter"));
    QCOMPARE(panel.baseText(), cliAnswer({}));
    QCOMPARE(panel.adaptedText(), cliAnswer({QStringLiteral("--adapter"), kAdapter}));
    QVERIFY(panel.generateButton()->isEnabled());

    // No model: the user is told, nothing runs.
    panel.setSourceProvider([] { return PreviewPanel::Source{}; });
    QVERIFY(!panel.generate());
    QVERIFY(Dialogs::lastError().contains(QStringLiteral("model")));
}

void TestPreview::compareTrainsBothMethods() {
    const QString train = m_tmp.filePath(QStringLiteral("cmp/train.jsonl"));
    const QString val = m_tmp.filePath(QStringLiteral("cmp/val.jsonl"));
    writeFile(train, alpacaRows(12, 1));
    writeFile(val, alpacaRows(3, 20));
    RunConfig c;
    c.model = kModel.toStdString();
    c.data.train = train.toStdString();
    c.data.val = val.toStdString();
    c.data.templ = "plain";  // short rows: the fixture model has 128 positions
    c.data.max_seq_len = 64;
    c.adapter.method = "lora";  // DropLoRA then gets drop rate 0.5 with the step mask
    c.adapter.rank = 4;
    c.adapter.alpha = 8;
    c.train.max_steps = 4;
    c.train.batch_size = 2;
    c.train.lr = 1e-3;
    c.train.warmup_steps = 0;
    c.train.eval_every = 0;
    c.train.save_every = 0;
    c.train.stats_every = 2;
    c.train.seed = 7;
    c.device = "cpu";
    c.precision = "fp32";
    c.output = m_tmp.filePath(QStringLiteral("cmp/run")).toStdString();

    MainWindow w;
    w.modelPanel()->setModelDir(kModel);
    w.setConfig(c);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy finished(w.compareSession(), &CompareSession::finished);
    QSignalSpy starting(w.compareSession(), &CompareSession::runStarting);
    QVERIFY(w.compareMethods());
    QVERIFY(!w.compareMethods());  // one comparison at a time
    QVERIFY(finished.wait(kRunTimeoutMs));
    QVERIFY2(finished.first().at(0).toBool(), qPrintable(finished.first().at(1).toString()));
    QVERIFY2(Dialogs::lastError().isEmpty(), qPrintable(Dialogs::lastError()));
    QCOMPARE(starting.size(), 2);

    const QString loraDir = m_tmp.filePath(QStringLiteral("cmp/run-lora"));
    const QString dropDir = m_tmp.filePath(QStringLiteral("cmp/run-droplora"));
    const QStringList dirs{loraDir, dropDir};
    // The two runs differ in the method only.
    const RunConfig lora = droplora::config::load_run_config((loraDir + "/config.yaml").toStdString());
    const RunConfig drop = droplora::config::load_run_config((dropDir + "/config.yaml").toStdString());
    QCOMPARE(QString::fromStdString(lora.adapter.method), QStringLiteral("lora"));
    QCOMPARE(lora.adapter.drop_rate, 0.0);
    QCOMPARE(QString::fromStdString(drop.adapter.method), QStringLiteral("droplora"));
    QCOMPARE(drop.adapter.drop_rate, 0.5);
    QCOMPARE(QString::fromStdString(drop.adapter.mask), QStringLiteral("step"));
    for (const RunConfig* r : {&lora, &drop}) {
        QCOMPARE(r->train.seed, int64_t{7});
        QCOMPARE(r->train.max_steps, int64_t{4});
        QCOMPARE(r->data.train, c.data.train);
        QCOMPARE(r->data.val, c.data.val);
    }

    // Both curves overlaid; the table from each run's own metrics.jsonl.
    QCOMPARE(w.lossPlot()->overlayCount(), 2);
    QVERIFY(w.compareDialog() && w.compareDialog()->isVisible());
    QTableWidget* table = w.compareDialog()->table();
    QCOMPARE(table->rowCount(), 2);
    for (int r = 0; r < 2; ++r) {
        const auto history = droplora::train::read_metrics((dirs[r] + "/metrics.jsonl").toStdString());
        QCOMPARE(history.steps.size(), size_t{4});
        QVERIFY(!history.evals.empty());
        QCOMPARE(table->item(r, 1)->text(), dirs[r]);
        QCOMPARE(table->item(r, 2)->text(), QString::number(history.evals.back().loss, 'f', 4));
        QCOMPARE(table->item(r, 3)->text(), QString::number(history.evals.back().perplexity, 'f', 2));
        // Exact match against `droplora eval` on the same validation file and adapter.
        const QString json = runCli({QStringLiteral("eval"), QStringLiteral("--model"), kModel, QStringLiteral("--adapter"),
                                     dirs[r] + QStringLiteral("/adapter"), QStringLiteral("--data"), val,
                                     QStringLiteral("--template"), QStringLiteral("plain"), QStringLiteral("--max-seq-len"),
                                     QStringLiteral("64"), QStringLiteral("--max-new-tokens"), QStringLiteral("64")});
        const QJsonObject eval = QJsonDocument::fromJson(json.toUtf8()).object();
        QVERIFY2(eval.contains(QStringLiteral("exact_match")), qPrintable(json));
        QCOMPARE(table->item(r, 4)->text(),
                 QStringLiteral("%1 %").arg(100 * eval.value(QStringLiteral("exact_match")).toDouble(), 0, 'f', 1));
    }
    QCOMPARE(table->item(0, 0)->text(), QStringLiteral("LoRA"));
    QCOMPARE(table->item(1, 0)->text(), QStringLiteral("DropLoRA"));

    // The preview in the window now offers the DropLoRA run's final adapter.
    QSignalSpy previewed(w.previewPanel(), &PreviewPanel::finished);
    w.previewPanel()->setPrompt(kPrompt);
    w.previewPanel()->setTemplate(QStringLiteral("none"));
    w.previewPanel()->setMaxNewTokens(kNewTokens);
    QTest::mouseClick(w.previewPanel()->generateButton(), Qt::LeftButton);
    QVERIFY(previewed.wait(60000));
    QCOMPARE(w.previewPanel()->adapterDir(), dropDir + QStringLiteral("/adapter"));
    QCOMPARE(w.previewPanel()->baseText(), cliAnswer({}));
    QCOMPARE(w.previewPanel()->adaptedText(), cliAnswer({QStringLiteral("--adapter"), dropDir + QStringLiteral("/adapter")}));
}

QTEST_MAIN(TestPreview)
#include "test_preview.moc"
