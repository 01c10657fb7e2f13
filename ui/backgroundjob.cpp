#include "backgroundjob.h"

#include <QDeadlineTimer>
#include <QMetaObject>
#include <QThread>
#include <exception>

namespace droplora::ui {

void BackgroundJob::Context::progress(const QString& text, qint64 done, qint64 total) const {
    // The job joins its thread before it is destroyed, and a queued call whose
    // context object is gone is dropped, so `m_job` is alive when this lands.
    BackgroundJob* job = m_job;
    QMetaObject::invokeMethod(
        job, [job, text, done, total] { emit job->progress(text, done, total); }, Qt::QueuedConnection);
}

BackgroundJob::BackgroundJob(const QString& threadName, QObject* parent)
    : QObject(parent), m_threadName(threadName) {}

BackgroundJob::~BackgroundJob() {
    if (!m_thread) return;
    cancel();
    m_thread->wait();
    delete m_thread;
}

bool BackgroundJob::launch(std::function<void(Context&)> work, std::function<void()> deliver) {
    if (m_thread) return false;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    m_outcome = std::make_shared<Outcome>();
    m_deliver = std::move(deliver);
    auto outcome = m_outcome;
    Context context(this, m_cancel);
    m_thread = QThread::create([work = std::move(work), context, outcome]() mutable {
        try {
            work(context);
            outcome->ok = true;
        } catch (const std::exception& e) {
            outcome->error = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->error = QStringLiteral("stopped by an unknown error");
        }
    });
    m_thread->setObjectName(m_threadName);
    const quint64 generation = ++m_generation;
    connect(
        m_thread, &QThread::finished, this,
        [this, generation] {
            if (generation == m_generation) onWorkerFinished();
        },
        Qt::QueuedConnection);
    m_thread->start();
    return true;
}

void BackgroundJob::cancel() {
    if (m_cancel) m_cancel->store(true);
}

bool BackgroundJob::waitForFinished(int msecs) {
    if (!m_thread) return true;
    if (!m_thread->wait(QDeadlineTimer(msecs))) return false;
    onWorkerFinished();
    return true;
}

void BackgroundJob::onWorkerFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    ++m_generation;  // a queued notice of this thread's end is now stale
    const std::shared_ptr<Outcome> outcome = std::move(m_outcome);
    std::function<void()> deliver = std::move(m_deliver);
    m_deliver = nullptr;
    // A work that noticed the cancel may have returned a partial result, or thrown:
    // either way the run was cancelled, and a partial result is not delivered.
    if (m_cancel->load()) {
        emit cancelled();
    } else if (outcome->ok) {
        if (deliver) deliver();
        emit succeeded();
    } else {
        emit failed(outcome->error);
    }
    emit finished();
}

}  // namespace droplora::ui
