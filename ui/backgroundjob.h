// One worker thread for one piece of engine work, reported back on the GUI
// thread: the ui's only way to run something off the event loop (export,
// preview, held-out scoring, dataset scans and training all use it).
//
//   auto* job = new BackgroundJob(QStringLiteral("droplora-export"), this);
//   job->run<Report>([params](BackgroundJob::Context& ctx) { ...; return report; },
//                    [this](Report&& r) { /* GUI thread, after the worker ended */ });
//
// The work gets its parameters by value (captured), returns its result, and
// may report progress lines and poll Context::isCancelled(). Exactly one of
// succeeded(), failed(message) or cancelled() follows each run, on the GUI
// thread, after the worker thread has been joined; finished() comes last.
// An exception thrown by the work is its failure (the engine's one-line
// message). Once cancel() was asked for, the outcome is cancelled(), however
// the work ended (its partial result is dropped).
// The destructor cancels and joins, so no report outlives the job object.
#pragma once

#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

class QThread;

namespace droplora::ui {

class BackgroundJob : public QObject {
    Q_OBJECT

public:
    // What the work sees of its job; safe to use from the worker thread.
    class Context {
    public:
        bool isCancelled() const { return m_cancel->load(); }
        // Posts a progress report to the GUI thread (done/total: 0/0 when unknown).
        void progress(const QString& text, qint64 done = 0, qint64 total = 0) const;

    private:
        friend class BackgroundJob;
        Context(BackgroundJob* job, std::shared_ptr<std::atomic<bool>> cancel)
            : m_job(job), m_cancel(std::move(cancel)) {}
        BackgroundJob* m_job;
        std::shared_ptr<std::atomic<bool>> m_cancel;
    };

    explicit BackgroundJob(const QString& threadName, QObject* parent = nullptr);
    ~BackgroundJob() override;  // cancels a running work and waits for it

    // Starts `work` on a new worker thread; `onSuccess` receives its result on
    // the GUI thread before succeeded() is emitted. Returns false (and runs
    // nothing) while a work is going.
    template <class Result>
    bool run(std::function<Result(Context&)> work, std::function<void(Result&&)> onSuccess = {}) {
        auto result = std::make_shared<std::optional<Result>>();
        return launch([work = std::move(work), result](Context& ctx) { result->emplace(work(ctx)); },
                      [result, onSuccess = std::move(onSuccess)] {
                          if (onSuccess && *result) onSuccess(std::move(**result));
                      });
    }
    // A work without a result.
    bool runVoid(std::function<void(Context&)> work, std::function<void()> onSuccess = {}) {
        return launch(std::move(work), std::move(onSuccess));
    }

    bool isRunning() const { return m_thread != nullptr; }
    bool isCancelRequested() const { return m_cancel && m_cancel->load(); }
    // Blocks until the worker has ended (or `msecs` passed), then delivers its
    // outcome at once. For shutdown paths and tests; the GUI uses the signals.
    bool waitForFinished(int msecs);

public slots:
    // The work sees isCancelled(); the outcome will be cancelled().
    void cancel();

signals:
    void progress(const QString& text, qint64 done, qint64 total);
    void succeeded();
    void failed(const QString& message);
    void cancelled();
    void finished();

private:
    struct Outcome {
        bool ok = false;
        QString error;
    };

    bool launch(std::function<void(Context&)> work, std::function<void()> deliver);
    void onWorkerFinished();

    QString m_threadName;
    QThread* m_thread = nullptr;
    quint64 m_generation = 0;  // tells a stale queued "thread finished" from the current work's
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::shared_ptr<Outcome> m_outcome;
    std::function<void()> m_deliver;
};

}  // namespace droplora::ui
