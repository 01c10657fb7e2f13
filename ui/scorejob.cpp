#include "scorejob.h"

#include <QThread>
#include <exception>
#include <string>
#include <vector>

#include "train/preview.h"

namespace droplora::ui {

struct ScoreJob::Outcome {
    QVector<Score> scores;
    QString error;  // empty on success
};

ScoreJob::ScoreJob(QObject* parent) : QObject(parent) {}

ScoreJob::~ScoreJob() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
}

bool ScoreJob::start(const Request& request) {
    if (m_thread) return false;
    m_request = request;
    m_outcome = std::make_shared<Outcome>();
    auto outcome = m_outcome;
    std::vector<std::string> adapters;
    for (const QString& dir : request.adapterDirs) adapters.push_back(dir.toStdString());
    const std::string model = request.modelDir.toStdString(), data = request.dataPath.toStdString();
    const std::string format = request.format.toStdString(), templ = request.templ.toStdString();
    const int64_t maxSeqLen = request.maxSeqLen, maxNewTokens = request.maxNewTokens;
    m_thread = QThread::create([outcome, adapters, model, data, format, templ, maxSeqLen, maxNewTokens] {
        try {
            for (const std::string& adapter : adapters) {
                const auto s =
                    droplora::train::score_adapter(model, adapter, data, format, templ, maxSeqLen, maxNewTokens);
                outcome->scores.append({s.loss, s.perplexity, s.exact_match, s.matched, s.examples});
            }
        } catch (const std::exception& e) {
            outcome->error = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->error = QStringLiteral("evaluation stopped by an unknown error");
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-score"));
    connect(m_thread, &QThread::finished, this, &ScoreJob::onWorkerFinished, Qt::QueuedConnection);
    m_thread->start();
    return true;
}

void ScoreJob::onWorkerFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    if (m_outcome->error.isEmpty())
        emit succeeded(m_outcome->scores);
    else
        emit failed(m_outcome->error);
}

}  // namespace droplora::ui
