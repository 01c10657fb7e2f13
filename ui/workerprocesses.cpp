#include "workerprocesses.h"

#include <QProcess>
#include <QProcessEnvironment>
#include <QThread>
#include <algorithm>

namespace droplora::ui {

WorkerProcesses::WorkerProcesses(QObject* parent) : QObject(parent) {}

WorkerProcesses::~WorkerProcesses() {
    m_killing = true;
    for (Worker& w : m_workers) {
        if (w.process == nullptr || w.done) continue;
        w.process->disconnect(this);
        w.process->kill();
        w.process->waitForFinished(5000);
    }
}

QString WorkerProcesses::start(const QString& program, const QStringList& arguments, const QString& workingDir,
                               int worldSize, int port) {
    m_worldSize = worldSize;
    const QProcessEnvironment base = QProcessEnvironment::systemEnvironment();
    const int cores = std::max(1, QThread::idealThreadCount());
    for (int rank = 1; rank < worldSize; ++rank) {
        QProcessEnvironment env = base;
        env.insert(QStringLiteral("RANK"), QString::number(rank));
        env.insert(QStringLiteral("LOCAL_RANK"), QString::number(rank));
        env.insert(QStringLiteral("WORLD_SIZE"), QString::number(worldSize));
        env.insert(QStringLiteral("LOCAL_WORLD_SIZE"), QString::number(worldSize));
        env.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
        env.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
        if (!env.contains(QStringLiteral("OMP_NUM_THREADS")))
            env.insert(QStringLiteral("OMP_NUM_THREADS"), QString::number(std::max(1, cores / worldSize)));

        auto* process = new QProcess(this);
        process->setProcessEnvironment(env);
        process->setWorkingDirectory(workingDir);
        process->setStandardOutputFile(QProcess::nullDevice());  // rank 0 shows the progress
        const size_t index = m_workers.size();
        m_workers.push_back(Worker{process, rank, {}, false});
        connect(process, &QProcess::readyReadStandardError, this, [this, index] {
            Worker& w = m_workers[index];
            while (w.process->canReadLine()) {
                const QString line = QString::fromUtf8(w.process->readLine()).trimmed();
                if (line.isEmpty()) continue;
                w.lastError = line;
                emit logLine(QStringLiteral("rank %1: %2").arg(w.rank).arg(line));
            }
        });
        process->setReadChannel(QProcess::StandardError);
        connect(process, &QProcess::finished, this, [this, rank](int code, QProcess::ExitStatus status) {
            onFinished(rank, code, status == QProcess::CrashExit);
        });
        process->start(program, arguments);
        if (!process->waitForStarted(10000)) {
            const QString why = process->errorString();
            killAll();
            return tr("cannot start rank %1 (%2): %3").arg(rank).arg(program, why);
        }
    }
    return {};
}

int WorkerProcesses::running() const {
    return static_cast<int>(std::count_if(m_workers.begin(), m_workers.end(), [](const Worker& w) { return !w.done; }));
}

void WorkerProcesses::killAll() {
    m_killing = true;
    for (Worker& w : m_workers)
        if (!w.done && w.process->state() != QProcess::NotRunning) w.process->kill();
}

void WorkerProcesses::onFinished(int rank, int exitCode, bool crashed) {
    auto it = std::find_if(m_workers.begin(), m_workers.end(), [rank](const Worker& w) { return w.rank == rank; });
    if (it == m_workers.end() || it->done) return;
    // The rest of its error output first, so the failure names its last line.
    const QString rest = QString::fromUtf8(it->process->readAllStandardError());
    for (const QString& line : rest.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        it->lastError = line.trimmed();
        emit logLine(QStringLiteral("rank %1: %2").arg(rank).arg(it->lastError));
    }
    it->done = true;
    const bool fine = !crashed && (exitCode == 0 || exitCode == 130);
    if (!fine && !m_killing && !m_reported) {
        m_reported = true;
        QString what = crashed ? tr("rank %1 of %2 was killed").arg(rank).arg(m_worldSize)
                               : tr("rank %1 of %2 exited with status %3").arg(rank).arg(m_worldSize).arg(exitCode);
        if (!it->lastError.isEmpty()) what += QStringLiteral(" (%1)").arg(it->lastError);
        emit rankFailed(what);
    }
    if (running() == 0) emit allFinished();
}

}  // namespace droplora::ui
