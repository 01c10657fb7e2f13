#include "previewjob.h"

#include "backgroundjob.h"
#include "train/preview.h"

namespace droplora::ui {

PreviewJob::PreviewJob(QObject* parent)
    : QObject(parent),
      m_job(new BackgroundJob(QStringLiteral("droplora-preview"), this)),
      m_models(std::make_shared<droplora::train::PreviewModels>()) {
    connect(m_job, &BackgroundJob::failed, this, &PreviewJob::failed);
}

// Generation cannot be interrupted; it is bounded by max_new_tokens (m_job, a child, waits).
PreviewJob::~PreviewJob() = default;

bool PreviewJob::isRunning() const { return m_job->isRunning(); }

void PreviewJob::releaseModel() { m_models->release(); }

bool PreviewJob::start(const Request& request) {
    const std::string model = request.modelDir.toStdString(), adapter = request.adapterDir.toStdString();
    const std::string prompt = request.prompt.toStdString(), input = request.input.toStdString();
    const std::string templ = request.templ.toStdString();
    const int maxNewTokens = request.maxNewTokens;
    return m_job->run<Answers>(
        [models = m_models, model, adapter, prompt, input, templ, maxNewTokens](BackgroundJob::Context&) {
            const auto r = models->generate(model, adapter, prompt, input, templ, maxNewTokens);
            return Answers{QString::fromStdString(r.base), QString::fromStdString(r.adapted)};
        },
        [this](Answers&& a) { emit succeeded(a.base, a.adapted); });
}

}  // namespace droplora::ui
