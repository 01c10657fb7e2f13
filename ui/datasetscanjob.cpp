#include "datasetscanjob.h"

#include "backgroundjob.h"

#include "common/error.h"
#include "data/dataset.h"
#include "data/tokenizer.h"
#include "datasetpreview.h"

namespace droplora::ui {

namespace data = droplora::data;

DatasetScanJob::DatasetScanJob(QObject* parent)
    : QObject(parent), m_job(new BackgroundJob(QStringLiteral("droplora-dataset-scan"), this)) {
    qRegisterMetaType<DatasetScanResult>("droplora::ui::DatasetScanResult");
    connect(m_job, &BackgroundJob::failed, this, &DatasetScanJob::failed);
    connect(m_job, &BackgroundJob::finished, this, &DatasetScanJob::onJobFinished);
}

DatasetScanJob::~DatasetScanJob() = default;  // m_job, a child, cancels and joins

bool DatasetScanJob::isBusy() const { return m_job->isRunning() || m_waiting != nullptr; }

void DatasetScanJob::request(const DatasetScanRequest& request) {
    if (!m_job->isRunning()) return launch(request);
    m_waiting = std::make_unique<DatasetScanRequest>(request);
    m_job->cancel();
}

void DatasetScanJob::launch(const DatasetScanRequest& request) {
    m_job->run<DatasetScanResult>(
        [request](BackgroundJob::Context& ctx) { return scan(request, [&ctx] { return ctx.isCancelled(); }); },
        [this](DatasetScanResult&& result) { emit succeeded(result); });
}

void DatasetScanJob::onJobFinished() {
    // A newer request supersedes the one that just ended (it was cancelled, so it reported nothing).
    if (!m_waiting) return;
    std::unique_ptr<DatasetScanRequest> next = std::move(m_waiting);
    launch(*next);
}

DatasetScanResult DatasetScanJob::scan(const DatasetScanRequest& request, const std::function<bool()>& isCancelled) {
    const std::string where = "data panel";
    data::LoadOptions load;
    load.format = data::parse_format(request.format.toStdString(), where);
    load.skip_bad_rows = request.skipBadRows;
    // The template as training resolves it: with a model folder, "model" and the default "alpaca" can mean
    // the model's own chat template (data::resolve_template), so the preview shows what training sees.
    data::RenderOptions opts;
    std::string inForce;
    if (!request.modelDir.isEmpty()) {
        inForce = data::resolve_template(request.templ.toStdString(), request.modelDir.toStdString(), &opts);
    } else {
        opts.templ = data::parse_template(request.templ.toStdString(), where);
        if (opts.templ == data::Template::Model)
            fail("data.template", "model is the model's own chat template: choose the model folder first");
        inForce = data::template_name(opts.templ);
    }
    const data::LoadedRows loaded = data::load_rows(request.path.toStdString(), load);

    DatasetScanResult r;
    r.detectedFormat = QString::fromLatin1(data::format_name(loaded.format));
    r.rows = static_cast<qint64>(loaded.rows.size());
    r.skipped = loaded.skipped;
    r.templateInForce = QString::fromStdString(inForce);

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
    // Colours tell response from prompt, so render as if only the response counts;
    // lengths are measured untruncated, to show what max_seq_len cuts off.
    opts.train_on_prompt = false;
    opts.max_seq_len = int64_t{1} << 40;
    for (size_t i = 0; i < previewRows; ++i) {
        const data::Row& row = loaded.rows[i];
        if (tokenizer)
            r.previewHtml += tokensHtml(data::tokenize(row, *tokenizer, opts), *tokenizer);
        else
            r.previewHtml += segmentsHtml(QString::fromStdString(row.source), data::render(row, opts));
    }
    if (!tokenizer) return r;
    r.tokenized = true;
    const size_t n = std::min(loaded.rows.size(), static_cast<size_t>(kLengthRows));
    r.lengths.reserve(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
        if (isCancelled()) return r;  // dropped: the job reports a cancellation
        r.lengths.append(static_cast<double>(data::tokenize(loaded.rows[i], *tokenizer, opts).input_ids.size()));
    }
    return r;
}

}  // namespace droplora::ui
