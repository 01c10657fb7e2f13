#include "trainingcontroller.h"

#include <QDir>
#include <QElapsedTimer>
#include <QThread>
#include <exception>

#include "runeventqueue.h"
#include "train/preview.h"
#include "train/trainer.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

TrainingController::TrainingController(QObject* parent) : QObject(parent) {
    registerMetaTypes();
    m_flushTimer.setInterval(100);
    connect(&m_flushTimer, &QTimer::timeout, this, &TrainingController::flush);
}

TrainingController::~TrainingController() {
    if (!m_thread) return;
    stop();
    m_thread->wait();
    delete m_thread;
}

bool TrainingController::start(const droplora::config::RunConfig& config, const QString& resumeDir) {
    if (m_thread) return false;
    m_control = std::make_shared<droplora::train::RunControl>();
    m_queue = std::make_shared<RunEventQueue>();
    m_finish.reset();
    m_lastCheckpoint.clear();
    m_lastStep = 0;
    // The trainer resolves a relative output folder against the working directory, as here.
    m_runDir = QDir::cleanPath(
        QDir::current().absoluteFilePath(resumeDir.isEmpty() ? QString::fromStdString(config.output) : resumeDir));

    auto control = m_control;
    auto queue = m_queue;
    const std::string resume = resumeDir.toStdString();
    m_thread = QThread::create([config, control, queue, resume] {
        try {
            droplora::train::run_training(config, *queue, *control, resume);
        } catch (const std::exception& e) {
            // run_training reports its own failures; this is the last line of defence.
            queue->on_finished(RunOutcome::Failed, e.what());
        } catch (...) {
            queue->on_finished(RunOutcome::Failed, "training stopped by an unknown error");
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-training"));
    const quint64 runId = ++m_runId;
    connect(
        m_thread, &QThread::finished, this,
        [this, runId] {
            if (runId == m_runId) onWorkerFinished();
        },
        Qt::QueuedConnection);
    setState(State::Running);
    m_thread->start();
    m_flushTimer.start();
    return true;
}

void TrainingController::pause() {
    if (m_state != State::Running) return;
    m_control->pause = true;
    setState(State::Paused);
}

void TrainingController::resume() {
    if (m_state != State::Paused) return;
    m_control->pause = false;
    setState(State::Running);
}

void TrainingController::stop() {
    if (m_state != State::Running && m_state != State::Paused) return;
    m_control->stop = true;
    m_control->pause = false;
    setState(State::Stopping);
}

bool TrainingController::waitForFinished(int msecs) {
    if (!m_thread) return true;
    if (!m_thread->wait(QDeadlineTimer(msecs))) return false;
    onWorkerFinished();
    return true;
}

void TrainingController::flush() {
    if (!m_queue) return;
    RunEventQueue::Batch batch = m_queue->take();
    if (batch.started) emit started(batch.started->first, batch.started->second);
    for (const QString& line : batch.logs) emit logLine(line);
    for (const auto& m : batch.steps) {
        m_lastStep = m.step;
        emit stepReported(m);
    }
    for (const auto& m : batch.evals) emit evalReported(m);
    for (const auto& s : batch.stats) emit statsReported(s);
    for (const auto& c : batch.checkpoints) {
        m_lastCheckpoint = c.dir;
        emit checkpointSaved(c.dir, c.step);
    }
    // Delivered by onWorkerFinished() once the thread is gone, after every other report.
    if (batch.finish) m_finish = Finish{batch.finish->outcome, batch.finish->message};
}

void TrainingController::onWorkerFinished() {
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    ++m_runId;  // a queued notice of this thread's end is now stale
    m_flushTimer.stop();
    flush();
    const Finish finish =
        m_finish.value_or(Finish{RunOutcome::Failed, QStringLiteral("training ended without a report")});
    m_finish.reset();
    setState(State::Idle);
    emit finished(finish.outcome, finish.message);
}

void TrainingController::setState(State state) {
    if (m_state == state) return;
    m_state = state;
    emit stateChanged(state);
}

}  // namespace droplora::ui
