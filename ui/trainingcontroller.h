// Runs droplora::train::run_training on a worker thread (BackgroundJob) and
// reports back as Qt signals on the GUI thread.
//
// The trainer's callbacks land in a RunEventQueue; a timer takes the queue
// every flushInterval() ms (100 ms: at most 10 bursts a second reach the
// widgets, however fast the steps are) and emits what arrived, in order per
// kind. Plots replot once per burst (QCustomPlot::rpQueuedReplot). Nothing is
// dropped: the loss plot still gets one point per logged step.
// pause()/resume()/stop() set the RunControl flags the trainer polls between
// optimizer steps, so they take effect within one step; a stop leaves a
// checkpoint. finished() is emitted last, after the worker thread has ended.
//
// Data-parallel training (docs/distributed.md) with `processes` > 1: rank 0
// trains on the worker thread as above, so every plot and gauge shows rank 0's
// reports (tokens/s are the whole world's); ranks 1..N-1 are `droplora train`
// processes started beside it with torchrun's environment on a free loopback
// port. Their error output reaches the log as "rank R: ...". A worker that
// fails ends the run (rank 0 notices at its next collective, or gives up
// waiting for the rendezvous); the run's message names that rank. Pause is
// off: the other ranks would wait in their collective and give up after
// distributed.timeout_s. finished() comes once rank 0 and every worker ended
// (workers still alive 10 s after rank 0 are killed).
#pragma once

#include <QObject>
#include <QString>
#include <QTemporaryDir>
#include <QTimer>
#include <memory>
#include <optional>
#include <vector>

#include "config/run_config.h"
#include "metatypes.h"
#include "train/observer.h"

namespace droplora::ui {

class BackgroundJob;
class RunEventQueue;
class WorkerProcesses;

class TrainingController : public QObject {
    Q_OBJECT

public:
    enum class State { Idle, Running, Paused, Stopping };
    Q_ENUM(State)

    explicit TrainingController(QObject* parent = nullptr);
    // Stops a running training and waits for its checkpoint.
    ~TrainingController() override;

    // Starts a run (or continues the run folder `resumeDir`) in `processes`
    // data-parallel processes (1: only this one). Returns false when a run is
    // already going; a bad config is reported by finished().
    bool start(const droplora::config::RunConfig& config, const QString& resumeDir = {}, int processes = 1);
    // The processes of the current (or the last) run.
    int processes() const { return m_processes; }
    // Pause holds rank 0 between steps, which only a one-process run can do.
    bool canPause() const { return m_processes == 1; }
    // The `droplora` program the other ranks run: by default the one beside this
    // program (build/bin/, /usr/bin/). Tests point it elsewhere.
    QString workerProgram() const;
    void setWorkerProgram(const QString& path) { m_workerProgram = path; }

    State state() const { return m_state; }
    bool isRunning() const { return m_state != State::Idle; }
    // The run folder of the current (or the last) run, absolute.
    QString runDir() const { return m_runDir; }
    // The config of the current (or the last) run, as given to start().
    const droplora::config::RunConfig& config() const { return m_config; }
    QString lastCheckpoint() const { return m_lastCheckpoint; }
    qint64 lastStep() const { return m_lastStep; }

    // Asks the running trainer for the adapter as it is now (between two steps,
    // or at once while paused); snapshotTaken() answers — with an empty dir when
    // none could be taken (the run ended first, or a worker rank cannot write).
    // Returns false when no run is going.
    bool requestSnapshot();
    bool snapshotPending() const { return m_snapshotPending; }

    int flushInterval() const { return m_flushTimer.interval(); }
    void setFlushInterval(int ms) { m_flushTimer.setInterval(ms); }

    // Blocks until the worker has ended (or `msecs` passed), then delivers its
    // last reports and finished(). For shutdown paths; the GUI uses finished().
    bool waitForFinished(int msecs);

public slots:
    void pause();
    void resume();
    void stop();

signals:
    void stateChanged(droplora::ui::TrainingController::State state);
    void started(qint64 maxSteps, qint64 startStep);
    void stepReported(const droplora::train::StepMetrics& metrics);
    void evalReported(const droplora::train::EvalMetrics& metrics);
    void statsReported(const droplora::train::StatsSample& sample);
    void logLine(const QString& line);
    void checkpointSaved(const QString& dir, qint64 step);
    void snapshotTaken(const QString& adapterDir, qint64 step);
    void finished(droplora::train::RunOutcome outcome, const QString& message);

private:
    void flush();
    void onWorkerFinished();
    void onRankFailed(const QString& what);
    void deliverFinish();
    void setState(State state);
    QString startWorkers(const droplora::config::RunConfig& config, const QString& resumeDir, int port);

    struct Finish {
        droplora::train::RunOutcome outcome;
        QString message;
    };

    BackgroundJob* m_job;
    std::optional<Finish> m_finish;
    std::shared_ptr<droplora::train::RunControl> m_control;
    std::shared_ptr<RunEventQueue> m_queue;
    QTimer m_flushTimer;
    State m_state = State::Idle;
    QString m_runDir;
    droplora::config::RunConfig m_config;
    QString m_lastCheckpoint;
    qint64 m_lastStep = 0;
    int m_processes = 1;
    QString m_workerProgram;
    WorkerProcesses* m_workers = nullptr;  // ranks 1..N-1 of the current run
    QString m_rankFailure;                  // the first worker that failed, in words
    bool m_rankZeroDone = false;
    bool m_snapshotPending = false;
    std::unique_ptr<QTemporaryDir> m_snapshotRoot;  // live-preview snapshots of this controller's runs
    int m_runCount = 0;
};

}  // namespace droplora::ui
