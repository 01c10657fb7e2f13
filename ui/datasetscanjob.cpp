#include "datasetscanjob.h"

#include <QThread>
#include <exception>

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "datasetpreview.h"

namespace droplora::ui {

namespace data = droplora::data;

struct DatasetScanJob::Outcome {
    bool ok = false;
    bool cancelled = false;
    QString error;
    DatasetScanResult result;
};

DatasetScanJob::DatasetScanJob(QObject* parent) : QObject(parent) {
    qRegisterMetaType<DatasetScanResult>("droplora::ui::DatasetScanResult");
}

DatasetScanJob::~DatasetScanJob() {
    if (!m_thread) return;
    m_cancel->store(true);
    m_thread->wait();
    delete m_thread;
}

void DatasetScanJob::request(const DatasetScanRequest& request) {
    if (!m_thread) return launch(request);
    m_waiting = std::make_unique<DatasetScanRequest>(request);
    m_cancel->store(true);
}

void DatasetScanJob::launch(const DatasetScanRequest& request) {
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    m_outcome = std::make_shared<Outcome>();
    auto cancel = m_cancel;
    auto outcome = m_outcome;
    m_thread = QThread::create([request, cancel, outcome] {
        try {
            scan(request, *cancel, *outcome);
            outcome->ok = !outcome->cancelled;
        } catch (const std::exception& e) {
            outcome->error = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->error = QStringLiteral("%1: unreadable data file").arg(request.path);
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-dataset-scan"));
    connect(m_thread, &QThread::finished, this, &DatasetScanJob::onWorkerFinished, Qt::QueuedConnection);
    m_thread->start();
}

void DatasetScanJob::onWorkerFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    if (m_waiting) {
        // A newer request supersedes this result.
        std::unique_ptr<DatasetScanRequest> next = std::move(m_waiting);
        return launch(*next);
    }
    if (m_outcome->ok)
        emit succeeded(m_outcome->result);
    else if (!m_outcome->cancelled)
        emit failed(m_outcome->error);
}

void DatasetScanJob::scan(const DatasetScanRequest& request, const std::atomic<bool>& cancel, Outcome& out) {
    const std::string where = "data panel";
    data::LoadOptions load;
    load.format = data::parse_format(request.format.toStdString(), where);
    load.skip_bad_rows = request.skipBadRows;
    const data::Template templ = data::parse_template(request.templ.toStdString(), where);
    const data::LoadedRows loaded = data::load_rows(request.path.toStdString(), load);

    DatasetScanResult& r = out.result;
    r.detectedFormat = QString::fromLatin1(data::format_name(loaded.format));
    r.rows = static_cast<qint64>(loaded.rows.size());
    r.skipped = loaded.skipped;

    std::shared_ptr<data::Tokenizer> tokenizer;
    if (!request.modelDir.isEmpty()) {
        try {
            tokenizer = data::Tokenizer::load(request.modelDir.toStdString());
        } catch (const std::exception& e) {
            r.note = QString::fromUtf8(e.what());
        }
    }

    r.previewHtml = previewLegendHtml(request.trainOnPrompt);
    const size_t previewRows = std::min(loaded.rows.size(), static_cast<size_t>(std::max(0, request.previewRows)));
    data::RenderOptions opts;
    opts.templ = templ;
    // Colours tell response from prompt, so render as if only the response counts;
    // lengths are measured untruncated, to show what max_seq_len cuts off.
    opts.train_on_prompt = false;
    opts.max_seq_len = int64_t{1} << 40;
    for (size_t i = 0; i < previewRows; ++i) {
        const data::Row& row = loaded.rows[i];
        if (tokenizer)
            r.previewHtml += tokensHtml(data::tokenize(row, *tokenizer, opts), *tokenizer);
        else
            r.previewHtml += segmentsHtml(QString::fromStdString(row.source), data::render(row, templ));
    }
    if (!tokenizer) return;
    r.tokenized = true;
    const size_t n = std::min(loaded.rows.size(), static_cast<size_t>(kLengthRows));
    r.lengths.reserve(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
        if (cancel.load()) {
            out.cancelled = true;
            return;
        }
        r.lengths.append(static_cast<double>(data::tokenize(loaded.rows[i], *tokenizer, opts).input_ids.size()));
    }
}

}  // namespace droplora::ui
