#include "comparesession.h"

#include <QDir>
#include <QThread>
#include <QTimer>
#include <exception>

#include "train/metrics_log.h"
#include "train/preview.h"
#include "trainingcontroller.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

// What the worker thread hands back: one exact match per run, or why not.
struct CompareSession::Scores {
    QVector<double> exactMatch;
    QString error;
};

namespace {

// Answers to the validation file are short; a long budget only costs time.
constexpr int64_t kExactMatchNewTokens = 64;

}  // namespace

CompareSession::CompareSession(TrainingController* controller, QObject* parent)
    : QObject(parent), m_controller(controller) {
    connect(m_controller, &TrainingController::finished, this, &CompareSession::onRunFinished);
}

CompareSession::~CompareSession() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
}

QVector<CompareSession::Row> CompareSession::plan(const droplora::config::RunConfig& form) {
    const QString output = QDir::cleanPath(QString::fromStdString(form.output));
    Row lora;
    lora.name = QStringLiteral("LoRA");
    lora.config = form;
    lora.config.adapter.method = "lora";
    lora.config.adapter.drop_rate = 0.0;
    lora.config.output = (output + QStringLiteral("-lora")).toStdString();
    Row drop;
    drop.name = QStringLiteral("DropLoRA");
    drop.config = form;
    if (form.adapter.method != "droplora") {
        drop.config.adapter.method = "droplora";
        drop.config.adapter.drop_rate = 0.5;
        drop.config.adapter.mask = "step";
    }
    drop.config.output = (output + QStringLiteral("-droplora")).toStdString();
    for (Row* row : {&lora, &drop})
        row->runDir = QDir::cleanPath(QDir::current().absoluteFilePath(QString::fromStdString(row->config.output)));
    return {lora, drop};
}

bool CompareSession::start(const droplora::config::RunConfig& form) {
    m_error.clear();
    if (m_active || m_controller->isRunning()) {
        m_error = tr("a run is going; stop it before comparing");
        return false;
    }
    QVector<Row> rows = plan(form);
    try {
        for (const Row& row : rows) droplora::config::validate(row.config, row.name.toStdString());
    } catch (const std::exception& e) {
        m_error = QString::fromUtf8(e.what());
        return false;
    }
    m_rows = rows;
    m_active = true;
    m_cancelled = false;
    startRun(0);
    return true;
}

void CompareSession::cancel() {
    if (!m_active) return;
    m_cancelled = true;
    if (m_controller->isRunning()) m_controller->stop();
}

void CompareSession::startRun(int index) {
    m_current = index;
    const Row& row = m_rows[index];
    emit runStarting(index, row.name, row.runDir);
    if (!m_controller->start(row.config)) finish(false, tr("%1: the training could not start").arg(row.runDir));
}

void CompareSession::onRunFinished(RunOutcome outcome, const QString& message) {
    if (!m_active || m_current < 0 || m_thread) return;
    const Row& row = m_rows[m_current];
    if (outcome != RunOutcome::Finished) {
        const QString why = m_cancelled ? tr("cancelled") : message.isEmpty() ? outcomeName(outcome) : message;
        finish(false, tr("%1 run %2: %3").arg(row.name, row.runDir, why));
        return;
    }
    m_rows[m_current].trained = true;
    emit progress(tr("compare: %1 run finished (%2)").arg(row.name, row.runDir));
    if (m_current + 1 < m_rows.size()) {
        // Start after every other receiver of finished() has seen the controller idle.
        const int next = m_current + 1;
        QTimer::singleShot(0, this, [this, next] {
            if (!m_active) return;
            if (m_cancelled) finish(false, tr("cancelled"));
            else startRun(next);
        });
        return;
    }
    readMetrics();
    if (m_rows.first().config.data.val.empty()) {
        finish(true, tr("no validation file in the form: exact match not measured"));
        return;
    }
    startExactMatch();
}

void CompareSession::readMetrics() {
    for (Row& row : m_rows) {
        try {
            const auto history =
                droplora::train::read_metrics(QDir(row.runDir).filePath(QStringLiteral("metrics.jsonl")).toStdString());
            if (history.evals.empty()) continue;
            row.hasEval = true;
            row.valLoss = history.evals.back().loss;
            row.perplexity = history.evals.back().perplexity;
        } catch (const std::exception& e) {
            emit progress(tr("compare: %1").arg(QString::fromUtf8(e.what())));
        }
    }
}

void CompareSession::startExactMatch() {
    emit progress(tr("compare: measuring exact match on %1").arg(QString::fromStdString(m_rows.first().config.data.val)));
    m_scores = std::make_shared<Scores>();
    struct Job {
        std::string model, adapter, data, format, templ;
        int64_t maxSeqLen;
    };
    std::vector<Job> jobs;
    for (const Row& row : m_rows) {
        const auto& c = row.config;
        jobs.push_back({c.model, QDir(row.runDir).filePath(QStringLiteral("adapter")).toStdString(), c.data.val,
                        c.data.format, c.data.templ, c.data.max_seq_len});
    }
    auto scores = m_scores;
    m_thread = QThread::create([scores, jobs] {
        try {
            for (const Job& j : jobs) {
                const auto s = droplora::train::score_adapter(j.model, j.adapter, j.data, j.format, j.templ, j.maxSeqLen,
                                                              kExactMatchNewTokens);
                scores->exactMatch.append(s.exact_match);
            }
        } catch (const std::exception& e) {
            scores->error = QString::fromUtf8(e.what());
        } catch (...) {
            scores->error = QStringLiteral("exact match stopped by an unknown error");
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-compare-eval"));
    connect(m_thread, &QThread::finished, this, &CompareSession::onExactMatchFinished, Qt::QueuedConnection);
    m_thread->start();
}

void CompareSession::onExactMatchFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    if (!m_scores->error.isEmpty()) {
        finish(true, tr("exact match not measured: %1").arg(m_scores->error));
        return;
    }
    for (int i = 0; i < m_rows.size() && i < m_scores->exactMatch.size(); ++i) {
        m_rows[i].hasExactMatch = true;
        m_rows[i].exactMatch = m_scores->exactMatch[i];
    }
    finish(true, QString());
}

void CompareSession::finish(bool ok, const QString& message) {
    m_active = false;
    m_current = -1;
    emit finished(ok, message);
}

}  // namespace droplora::ui
