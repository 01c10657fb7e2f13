// Reads a data file on a worker thread for the dataset panel: detected
// format, row count, a rendered preview of the first rows and the token
// lengths of up to kLengthRows rows (with the model's tokenizer, when a model
// is set). A request made while one is running replaces any waiting one and
// cancels the running one, so typing in the form never queues up scans.
#pragma once

#include <QObject>
#include <QString>
#include <QVector>
#include <atomic>
#include <memory>

class QThread;

namespace droplora::ui {

struct DatasetScanRequest {
    QString path;
    QString format = QStringLiteral("auto");
    QString templ = QStringLiteral("alpaca");
    QString modelDir;  // empty: no tokenizer, preview the template's text segments
    bool trainOnPrompt = false;
    bool skipBadRows = false;
    int previewRows = 5;
};

struct DatasetScanResult {
    QString detectedFormat;
    qint64 rows = 0;
    qint64 skipped = 0;
    QString previewHtml;
    bool tokenized = false;   // lengths are token counts (a tokenizer was loaded)
    QVector<double> lengths;  // untruncated tokens per row, first kLengthRows rows
    QString note;             // e.g. why the tokenizer could not be used
};

class DatasetScanJob : public QObject {
    Q_OBJECT

public:
    static constexpr int kLengthRows = 2000;

    explicit DatasetScanJob(QObject* parent = nullptr);
    ~DatasetScanJob() override;

    void request(const DatasetScanRequest& request);
    bool isBusy() const { return m_thread != nullptr || m_waiting != nullptr; }

signals:
    void succeeded(const droplora::ui::DatasetScanResult& result);
    void failed(const QString& message);

private:
    struct Outcome;
    void launch(const DatasetScanRequest& request);
    void onWorkerFinished();
    static void scan(const DatasetScanRequest& request, const std::atomic<bool>& cancel, Outcome& out);

    QThread* m_thread = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::shared_ptr<Outcome> m_outcome;
    std::unique_ptr<DatasetScanRequest> m_waiting;
};

}  // namespace droplora::ui

Q_DECLARE_METATYPE(droplora::ui::DatasetScanResult)
