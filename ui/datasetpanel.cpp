#include "datasetpanel.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QSplitter>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

#include "configfields.h"
#include "lengthhistogram.h"
#include "pathedit.h"

namespace droplora::ui {

namespace {

void selectText(QComboBox* combo, const std::string& value) {
    const QString text = QString::fromStdString(value);
    int i = combo->findText(text);
    if (i < 0) {
        // A value this form does not list still round-trips (validate() judges it).
        combo->addItem(text);
        i = combo->count() - 1;
    }
    combo->setCurrentIndex(i);
}

}  // namespace

DatasetPanel::DatasetPanel(QWidget* parent)
    : QWidget(parent),
      m_train(new PathEdit(PathEdit::Mode::OpenFile, QStringLiteral("data"), this)),
      m_val(new PathEdit(PathEdit::Mode::OpenFile, QStringLiteral("data"), this)),
      m_format(new QComboBox(this)),
      m_template(new QComboBox(this)),
      m_trainOnPrompt(new QCheckBox(tr("Train on prompt tokens too"), this)),
      m_skipBadRows(new QCheckBox(tr("Skip malformed rows"), this)),
      m_summary(new QLabel(this)),
      m_error(new QLabel(this)),
      m_preview(new QTextEdit(this)),
      m_histogram(new LengthHistogram(this)),
      m_job(new DatasetScanJob(this)),
      m_debounce(new QTimer(this)) {
    const QString filter = tr("Training data (*.jsonl *.json *.txt);;All files (*)");
    m_train->setFileFilter(filter);
    m_val->setFileFilter(filter);
    m_train->setPlaceholderText(tr("train.jsonl"));
    m_val->setPlaceholderText(tr("optional: else a share of the training rows"));
    addChoices(m_format, "data.format");
    addChoices(m_template, "data.template");

    auto* form = new QFormLayout;
    form->addRow(tr("Training file"), m_train);
    form->addRow(tr("Validation file"), m_val);
    form->addRow(tr("Format"), m_format);
    form->addRow(tr("Template"), m_template);
    form->addRow(QString(), m_trainOnPrompt);
    form->addRow(QString(), m_skipBadRows);

    m_error->setStyleSheet(QStringLiteral("QLabel { color: #c62828; }"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();
    m_summary->setWordWrap(true);
    m_preview->setReadOnly(true);
    m_preview->setLineWrapMode(QTextEdit::WidgetWidth);
    m_preview->setPlaceholderText(tr("The first rows, rendered through the template, appear here."));

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_preview);
    split->addWidget(m_histogram);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_summary);
    layout->addWidget(m_error);
    layout->addWidget(split, 1);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(250);
    connect(m_debounce, &QTimer::timeout, this, &DatasetPanel::rescan);
    const auto edited = [this] {
        scheduleScan();
        emit changed();
    };
    connect(m_train, &PathEdit::pathChanged, this, edited);
    connect(m_val, &PathEdit::pathChanged, this, [this] { emit changed(); });
    connect(m_format, &QComboBox::currentTextChanged, this, edited);
    connect(m_template, &QComboBox::currentTextChanged, this, edited);
    connect(m_trainOnPrompt, &QCheckBox::toggled, this, edited);
    connect(m_skipBadRows, &QCheckBox::toggled, this, edited);
    connect(m_job, &DatasetScanJob::succeeded, this, &DatasetPanel::showResult);
    connect(m_job, &DatasetScanJob::failed, this, &DatasetPanel::showError);
}

void DatasetPanel::setConfig(const droplora::config::RunConfig& config) {
    const auto& d = config.data;
    m_train->setPath(QString::fromStdString(d.train));
    m_val->setPath(QString::fromStdString(d.val));
    selectText(m_format, d.format);
    selectText(m_template, d.templ);
    m_trainOnPrompt->setChecked(d.train_on_prompt);
    m_skipBadRows->setChecked(d.skip_bad_rows);
}

void DatasetPanel::applyTo(droplora::config::RunConfig& config) const {
    auto& d = config.data;
    d.train = m_train->path().toStdString();
    d.val = m_val->path().toStdString();
    d.format = m_format->currentText().toStdString();
    d.templ = m_template->currentText().toStdString();
    d.train_on_prompt = m_trainOnPrompt->isChecked();
    d.skip_bad_rows = m_skipBadRows->isChecked();
}

qint64 DatasetPanel::longestRow() const {
    if (!m_result.tokenized || m_result.lengths.isEmpty()) return -1;
    return qint64(*std::max_element(m_result.lengths.begin(), m_result.lengths.end()));
}

QString DatasetPanel::errorText() const { return m_error->isHidden() ? QString() : m_error->text(); }

QString DatasetPanel::previewHtml() const { return m_preview->toHtml(); }

void DatasetPanel::setModelDir(const QString& dir) {
    if (dir == m_modelDir) return;
    m_modelDir = dir;
    scheduleScan();
}

void DatasetPanel::setMaxSeqLen(qint64 maxSeqLen) { m_histogram->setMaxSeqLen(maxSeqLen); }

void DatasetPanel::scheduleScan() { m_debounce->start(); }

void DatasetPanel::rescan() {
    m_debounce->stop();
    if (m_train->path().isEmpty()) {
        m_result = {};
        m_summary->clear();
        m_error->hide();
        m_preview->clear();
        m_histogram->setLengths({});
        return;
    }
    DatasetScanRequest request;
    request.path = m_train->path();
    request.format = m_format->currentText();
    request.templ = m_template->currentText();
    request.modelDir = m_modelDir;
    request.trainOnPrompt = m_trainOnPrompt->isChecked();
    request.skipBadRows = m_skipBadRows->isChecked();
    m_summary->setText(tr("Reading %1 …").arg(request.path));
    m_job->request(request);
}

void DatasetPanel::showResult(const DatasetScanResult& result) {
    m_result = result;
    m_error->hide();
    QString summary = tr("Format: <b>%1</b> · %2 rows").arg(result.detectedFormat).arg(result.rows);
    if (result.skipped > 0) summary += tr(" · %1 malformed rows skipped").arg(result.skipped);
    if (!result.templateInForce.isEmpty()) summary += tr(" · template: %1").arg(result.templateInForce.toHtmlEscaped());
    if (result.tokenized && result.lengths.size() < result.rows)
        summary += tr(" · lengths of the first %1 rows").arg(result.lengths.size());
    m_summary->setText(summary);
    m_preview->setHtml(result.previewHtml);
    QString note = result.note;
    if (note.isEmpty() && !result.tokenized) note = tr("Choose a model to see token lengths");
    m_histogram->setLengths(result.lengths, note);
    emit scanned();
}

void DatasetPanel::showError(const QString& message) {
    m_result = {};
    m_summary->clear();
    m_preview->clear();
    m_histogram->setLengths({});
    m_error->setText(message);
    m_error->show();
    emit scanFailed(message);
}

}  // namespace droplora::ui
