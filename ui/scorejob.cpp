#include "scorejob.h"

#include <string>
#include <vector>

#include "backgroundjob.h"
#include "train/preview.h"
#include "train/run_folder.h"

namespace droplora::ui {

ScoreJob::ScoreJob(QObject* parent)
    : QObject(parent),
      m_job(new BackgroundJob(QStringLiteral("droplora-score"), this)),
      m_models(std::make_shared<droplora::train::PreviewModels>()) {
    connect(m_job, &BackgroundJob::progress, this,
            [this](const QString&, qint64 done, qint64 total) { emit progress(int(done), int(total)); });
    connect(m_job, &BackgroundJob::failed, this, &ScoreJob::failed);
    connect(m_job, &BackgroundJob::cancelled, this, [this] { emit failed(tr("evaluation cancelled")); });
}

ScoreJob::~ScoreJob() = default;

QString ScoreJob::keepScores(const QString& runDir, const QString& dataPath, const Score& adapter, const Score* base) {
    droplora::run_folder::HeldOutScores kept;
    kept.data = dataPath.toStdString();
    kept.loss = adapter.loss;
    kept.perplexity = adapter.perplexity;
    kept.exact_match = adapter.exactMatch;
    kept.matched = adapter.matched;
    kept.examples = adapter.examples;
    kept.has_base = base != nullptr;
    if (base) {
        kept.base_exact_match = base->exactMatch;
        kept.base_matched = base->matched;
    }
    try {
        droplora::run_folder::write_scores(runDir.toStdString(), kept);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}  // m_job, a child, waits (bounded by the file's size)

bool ScoreJob::isRunning() const { return m_job->isRunning(); }

void ScoreJob::cancel() { m_job->cancel(); }

void ScoreJob::releaseModel() { m_models->release(); }

bool ScoreJob::start(const Request& request) {
    if (m_job->isRunning()) return false;
    m_request = request;
    std::vector<std::string> adapters;
    for (const QString& dir : request.adapterDirs) adapters.push_back(dir.toStdString());
    const std::string model = request.modelDir.toStdString(), data = request.dataPath.toStdString();
    const std::string format = request.format.toStdString(), templ = request.templ.toStdString();
    const int64_t maxSeqLen = request.maxSeqLen, maxNewTokens = request.maxNewTokens;
    return m_job->run<QVector<Score>>(
        [models = m_models, adapters, model, data, format, templ, maxSeqLen, maxNewTokens](BackgroundJob::Context& ctx) {
            QVector<Score> scores;
            const qint64 total = static_cast<qint64>(adapters.size());
            ctx.progress(QString(), 0, total);
            for (const std::string& adapter : adapters) {
                if (ctx.isCancelled()) break;
                const auto s =
                    models->score(model, adapter, data, format, templ, maxSeqLen, maxNewTokens);
                scores.append({s.loss, s.perplexity, s.exact_match, s.matched, s.examples});
                ctx.progress(QString(), scores.size(), total);
            }
            return scores;
        },
        [this](QVector<Score>&& scores) { emit succeeded(scores); });
}

}  // namespace droplora::ui
