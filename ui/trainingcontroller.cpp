#include "trainingcontroller.h"

#include <QDir>

#include "backgroundjob.h"
#include "runeventqueue.h"
#include "train/preview.h"
#include "train/trainer.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

TrainingController::TrainingController(QObject* parent)
    : QObject(parent), m_job(new BackgroundJob(QStringLiteral("droplora-training"), this)) {
    registerMetaTypes();
    // run_training reports its own failures to the queue; an exception that escapes it
    // is the failure when the trainer said nothing (flush() lets the trainer's report win).
    connect(m_job, &BackgroundJob::failed, this, [this](const QString& message) {
        if (!m_finish) m_finish = Finish{RunOutcome::Failed, message};
    });
    connect(m_job, &BackgroundJob::finished, this, &TrainingController::onWorkerFinished);
    m_flushTimer.setInterval(100);
    connect(&m_flushTimer, &QTimer::timeout, this, &TrainingController::flush);
}

TrainingController::~TrainingController() {
    // The trainer polls its RunControl, not the job's cancel flag: ask it to stop, then wait.
    stop();
    disconnect(m_job, nullptr, this, nullptr);
    delete m_job;
}

bool TrainingController::start(const droplora::config::RunConfig& config, const QString& resumeDir) {
    if (m_job->isRunning()) return false;
    m_control = std::make_shared<droplora::train::RunControl>();
    m_queue = std::make_shared<RunEventQueue>();
    m_finish.reset();
    m_config = config;
    m_lastCheckpoint.clear();
    m_lastStep = 0;
    // The trainer resolves a relative output folder against the working directory, as here.
    m_runDir = QDir::cleanPath(
        QDir::current().absoluteFilePath(resumeDir.isEmpty() ? QString::fromStdString(config.output) : resumeDir));

    auto control = m_control;
    auto queue = m_queue;
    const std::string resume = resumeDir.toStdString();
    m_job->runVoid([config, control, queue, resume](BackgroundJob::Context&) {
        droplora::train::run_training(config, *queue, *control, resume);
    });
    setState(State::Running);
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
    return m_job->waitForFinished(msecs);  // delivers finished() through onWorkerFinished()
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
