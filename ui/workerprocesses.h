// The other ranks of a data-parallel run the workbench trains (rank 0 trains
// in-process; ui/trainingcontroller.h): `droplora train` processes started with
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT; docs/distributed.md). Their error output is passed
// on line by line; the first one that ends badly is reported once.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <vector>

class QProcess;

namespace droplora::ui {

class WorkerProcesses : public QObject {
    Q_OBJECT

public:
    explicit WorkerProcesses(QObject* parent = nullptr);
    // Kills what still runs and waits for it.
    ~WorkerProcesses() override;

    // Starts ranks 1..worldSize-1 of `program arguments` in `workingDir`, rank 0
    // at 127.0.0.1:`port`. On the CPU each gets cores / worldSize threads unless
    // OMP_NUM_THREADS is set. Returns "" or why a process could not start.
    QString start(const QString& program, const QStringList& arguments, const QString& workingDir, int worldSize,
                  int port);
    int running() const;
    // Ranks still alive are killed (SIGKILL); finished() follows for each.
    void killAll();

signals:
    // "rank 1: droplora train: error: ..." — each line a worker writes to stderr.
    void logLine(const QString& line);
    // The first worker that exited with a status other than 0 or 130 (stopped), or
    // was killed while the run went on: "rank 1 of 2 exited with status 86".
    void rankFailed(const QString& what);
    // Every worker has ended.
    void allFinished();

private:
    void onFinished(int rank, int exitCode, bool crashed);

    struct Worker {
        QProcess* process = nullptr;
        int rank = 0;
        QString lastError;  // the newest stderr line, for the failure message
        bool done = false;
    };
    std::vector<Worker> m_workers;
    int m_worldSize = 1;
    bool m_killing = false;
    bool m_reported = false;
};

}  // namespace droplora::ui
