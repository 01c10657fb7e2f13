#include "trainingcontroller.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>

#include "backgroundjob.h"
#include "runeventqueue.h"
#include "train/preview.h"
#include "train/trainer.h"
#include "workerprocesses.h"

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
    delete m_workers;  // kills a worker that outlived rank 0
}

QString TrainingController::workerProgram() const {
    if (!m_workerProgram.isEmpty()) return m_workerProgram;
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("droplora"));
}


QString TrainingController::startWorkers(const droplora::config::RunConfig& config, const QString& resumeDir,
                                         int port) {
    const QString program = workerProgram();
    if (!QFileInfo(program).isExecutable())
        return tr("%1: not found, and training in %2 processes starts it for ranks 1 to %3 (it is installed "
                  "beside the workbench)")
            .arg(program)
            .arg(m_processes)
            .arg(m_processes - 1);
    QStringList args{QStringLiteral("train")};
    if (resumeDir.isEmpty()) {
        // The other ranks read the same settings from a run file; rank 0 writes the run folder's own.
        static QTemporaryDir runFiles;  // lives as long as the program: a worker may still read it
        if (!runFiles.isValid()) return tr("cannot make a temporary folder for the other ranks' run file");
        const QString path = runFiles.filePath(QStringLiteral("run-%1.yaml").arg(port));
        try {
            droplora::config::save_run_config(config, path.toStdString());
        } catch (const std::exception& e) {
            return QString::fromStdString(e.what());
        }
        args << QStringLiteral("--config") << path;
    } else {
        args << QStringLiteral("--resume") << m_runDir;
    }
    args << QStringLiteral("--quiet");
    delete m_workers;
    m_workers = new WorkerProcesses(this);
    connect(m_workers, &WorkerProcesses::logLine, this, &TrainingController::logLine);
    connect(m_workers, &WorkerProcesses::rankFailed, this, &TrainingController::onRankFailed);
    connect(m_workers, &WorkerProcesses::allFinished, this, [this] {
        if (m_rankZeroDone) deliverFinish();
    });
    return m_workers->start(program, args, QDir::currentPath(), m_processes, port);
}

bool TrainingController::start(const droplora::config::RunConfig& config, const QString& resumeDir, int processes) {
    if (m_job->isRunning() || (m_workers && m_workers->running() > 0)) return false;
    m_control = std::make_shared<droplora::train::RunControl>();
    m_queue = std::make_shared<RunEventQueue>();
    m_finish.reset();
    m_config = config;
    m_lastCheckpoint.clear();
    m_lastStep = 0;
    m_processes = std::max(1, processes);
    m_rankFailure.clear();
    m_rankZeroDone = false;
    m_snapshotPending = false;
    if (!m_snapshotRoot) m_snapshotRoot = std::make_unique<QTemporaryDir>();
    if (m_snapshotRoot->isValid())
        m_control->snapshot_dir = m_snapshotRoot->filePath(QStringLiteral("run-%1").arg(++m_runCount)).toStdString();
    // The trainer resolves a relative output folder against the working directory, as here.
    m_runDir = QDir::cleanPath(
        QDir::current().absoluteFilePath(resumeDir.isEmpty() ? QString::fromStdString(config.output) : resumeDir));

    droplora::train::World world;
    if (m_processes > 1) {
        world.size = world.local_size = m_processes;
        QString problem;
        try {
            world.master_port = droplora::train::free_loopback_port();
        } catch (const std::exception& e) {
            problem = QString::fromUtf8(e.what());
        }
        if (problem.isEmpty()) problem = startWorkers(config, resumeDir, world.master_port);
        if (!problem.isEmpty()) {
            // Reported as any failed start is: finished() after start() returned.
            setState(State::Running);
            m_finish = Finish{RunOutcome::Failed, problem};
            m_rankZeroDone = true;
            QMetaObject::invokeMethod(this, &TrainingController::deliverFinish, Qt::QueuedConnection);
            return true;
        }
    }

    auto control = m_control;
    auto queue = m_queue;
    const std::string resume = resumeDir.toStdString();
    m_job->runVoid([config, control, queue, resume, world](BackgroundJob::Context&) {
        if (world.distributed())
            droplora::train::run_training_as(world, config, *queue, *control, resume);
        else
            droplora::train::run_training(config, *queue, *control, resume);
    });
    setState(State::Running);
    m_flushTimer.start();
    return true;
}

void TrainingController::onRankFailed(const QString& what) {
    if (!m_rankFailure.isEmpty()) return;
    m_rankFailure = what;
    // Rank 0 notices a dead rank at its next collective by itself; while it still waits for the
    // others to join, this is what ends the wait.
    if (m_control) m_control->stop = true;
}

bool TrainingController::requestSnapshot() {
    if (m_state != State::Running && m_state != State::Paused) return false;
    m_snapshotPending = true;
    m_control->snapshot = true;
    return true;
}

void TrainingController::pause() {
    if (!canPause()) return;
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
    for (const auto& c : batch.snapshots) {
        m_snapshotPending = false;
        emit snapshotTaken(c.dir, c.step);
    }
    // Delivered by onWorkerFinished() once the thread is gone, after every other report.
    if (batch.finish) m_finish = Finish{batch.finish->outcome, batch.finish->message};
}

void TrainingController::onWorkerFinished() {
    m_flushTimer.stop();
    flush();
    m_rankZeroDone = true;
    if (m_workers && m_workers->running() > 0) {
        // The other ranks end at the same step (or notice rank 0 is gone); one that does not is killed.
        QTimer::singleShot(10000, m_workers, [workers = m_workers] { workers->killAll(); });
        return;  // deliverFinish() once the last one has ended
    }
    deliverFinish();
}

void TrainingController::deliverFinish() {
    if (m_state == State::Idle) return;
    Finish finish = m_finish.value_or(Finish{RunOutcome::Failed, QStringLiteral("training ended without a report")});
    m_finish.reset();
    // The rank that failed first is the cause; rank 0's own message says what it saw.
    if (!m_rankFailure.isEmpty() && finish.outcome == RunOutcome::Failed)
        finish.message = m_rankFailure + QStringLiteral("; rank 0: ") + finish.message;
    setState(State::Idle);
    if (m_snapshotPending) {  // asked after the last step: the run's own adapter answers instead
        m_snapshotPending = false;
        emit snapshotTaken(QString(), m_lastStep);
    }
    emit finished(finish.outcome, finish.message);
}

void TrainingController::setState(State state) {
    if (m_state == state) return;
    m_state = state;
    emit stateChanged(state);
}

}  // namespace droplora::ui
