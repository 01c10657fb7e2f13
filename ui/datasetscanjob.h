// Reads a data file on a worker thread for the dataset panel: detected
// format, row count, a rendered preview of the first rows and the token
// lengths of up to kLengthRows rows (with the model's tokenizer, when a model
// is set). A request made while one is running replaces any waiting one and
// cancels the running one, so typing in the form never queues up scans.
// The scan runs on a BackgroundJob; a cancelled scan reports nothing.
#pragma once

#include <QObject>
#include <QString>
#include <QVector>
#include <functional>
#include <memory>

namespace droplora::ui {

class BackgroundJob;

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
    QString templateInForce;  // what training renders the rows with (data::resolve_template), for the summary
};

class DatasetScanJob : public QObject {
    Q_OBJECT

public:
    static constexpr int kLengthRows = 2000;

    explicit DatasetScanJob(QObject* parent = nullptr);
    ~DatasetScanJob() override;

    void request(const DatasetScanRequest& request);
    bool isBusy() const;

signals:
    void succeeded(const droplora::ui::DatasetScanResult& result);
    void failed(const QString& message);

private:
    void launch(const DatasetScanRequest& request);
    void onJobFinished();
    // The scan itself, on the worker thread; returns early once `isCancelled()` says so.
    static DatasetScanResult scan(const DatasetScanRequest& request, const std::function<bool()>& isCancelled);

    BackgroundJob* m_job;
    std::unique_ptr<DatasetScanRequest> m_waiting;
};

}  // namespace droplora::ui

Q_DECLARE_METATYPE(droplora::ui::DatasetScanResult)
