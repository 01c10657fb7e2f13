// The training data: train and validation files, row format and template,
// what the engine detects in the file, a preview of the first rows as the
// model will see them (response tokens coloured apart from prompt tokens),
// and a histogram of token lengths against max_seq_len. Errors (a malformed
// row, a missing file) are shown in place.
#pragma once

#include <QWidget>

#include "config/run_config.h"
#include "datasetscanjob.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QTextEdit;
class QTimer;

namespace droplora::ui {

class LengthHistogram;
class PathEdit;

class DatasetPanel : public QWidget {
    Q_OBJECT

public:
    explicit DatasetPanel(QWidget* parent = nullptr);

    void setConfig(const droplora::config::RunConfig& config);
    void applyTo(droplora::config::RunConfig& config) const;

    QString detectedFormat() const { return m_result.detectedFormat; }
    QString templateInForce() const { return m_result.templateInForce; }
    qint64 rowCount() const { return m_result.rows; }
    // Tokens of the longest row scanned (untruncated); -1 until rows were tokenized.
    qint64 longestRow() const;
    QString errorText() const;
    QString previewHtml() const;
    LengthHistogram* histogram() const { return m_histogram; }

public slots:
    // The model whose tokenizer renders the preview; empty for none.
    void setModelDir(const QString& dir);
    void setMaxSeqLen(qint64 maxSeqLen);
    // Scans again now (normally a short pause after the last edit).
    void rescan();

signals:
    void changed();
    void scanned();
    void scanFailed(const QString& message);

private:
    void scheduleScan();
    void showResult(const DatasetScanResult& result);
    void showError(const QString& message);

    PathEdit* m_train;
    PathEdit* m_val;
    QComboBox* m_format;
    QComboBox* m_template;
    QCheckBox* m_trainOnPrompt;
    QCheckBox* m_skipBadRows;
    QLabel* m_summary;
    QLabel* m_error;
    QTextEdit* m_preview;
    LengthHistogram* m_histogram;
    DatasetScanJob* m_job;
    QTimer* m_debounce;
    QString m_modelDir;
    DatasetScanResult m_result;
};

}  // namespace droplora::ui
