#include "previewjob.h"

#include <QThread>
#include <exception>

#include "train/preview.h"

namespace droplora::ui {

struct PreviewJob::Outcome {
    bool ok = false;
    QString error;
    QString base;
    QString adapted;
};

PreviewJob::PreviewJob(QObject* parent) : QObject(parent) {}

PreviewJob::~PreviewJob() {
    if (!m_thread) return;
    // Generation cannot be interrupted; it is bounded by max_new_tokens.
    m_thread->wait();
    delete m_thread;
}

bool PreviewJob::start(const Request& request) {
    if (m_thread) return false;
    m_outcome = std::make_shared<Outcome>();
    auto outcome = m_outcome;
    const std::string model = request.modelDir.toStdString(), adapter = request.adapterDir.toStdString();
    const std::string prompt = request.prompt.toStdString(), input = request.input.toStdString();
    const std::string templ = request.templ.toStdString();
    const int maxNewTokens = request.maxNewTokens;
    m_thread = QThread::create([outcome, model, adapter, prompt, input, templ, maxNewTokens] {
        try {
            const auto r = droplora::train::generate_preview(model, adapter, prompt, input, templ, maxNewTokens);
            outcome->base = QString::fromStdString(r.base);
            outcome->adapted = QString::fromStdString(r.adapted);
            outcome->ok = true;
        } catch (const std::exception& e) {
            outcome->error = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->error = QStringLiteral("preview stopped by an unknown error");
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-preview"));
    connect(m_thread, &QThread::finished, this, &PreviewJob::onWorkerFinished, Qt::QueuedConnection);
    m_thread->start();
    return true;
}

void PreviewJob::onWorkerFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    if (m_outcome->ok) emit succeeded(m_outcome->base, m_outcome->adapted);
    else emit failed(m_outcome->error);
}

}  // namespace droplora::ui
