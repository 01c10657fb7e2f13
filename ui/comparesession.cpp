#include "comparesession.h"

#include <QDir>
#include <QTimer>
#include <exception>

#include "train/run_folder.h"
#include "train/metrics_log.h"
#include "trainingcontroller.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

CompareSession::CompareSession(TrainingController* controller, QObject* parent)
    : QObject(parent), m_controller(controller), m_scoreJob(new ScoreJob(this)) {
    connect(m_controller, &TrainingController::finished, this, &CompareSession::onRunFinished);
    connect(m_scoreJob, &ScoreJob::succeeded, this, &CompareSession::onScores);
    connect(m_scoreJob, &ScoreJob::failed, this,
            [this](const QString& message) { finish(true, tr("exact match not measured: %1").arg(message)); });
}

CompareSession::~CompareSession() = default;

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
    if (!m_active || m_current < 0 || m_scoreJob->isRunning()) return;
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
            if (m_cancelled)
                finish(false, tr("cancelled"));
            else
                startRun(next);
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
                droplora::train::read_metrics(droplora::run_folder::metrics_path(row.runDir.toStdString()));
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
    const auto& c = m_rows.first().config;  // both runs share data, template and context
    emit progress(tr("compare: measuring exact match on %1").arg(QString::fromStdString(c.data.val)));
    ScoreJob::Request request;
    request.modelDir = QString::fromStdString(c.model);
    for (const Row& row : m_rows) request.adapterDirs.append(QString::fromStdString(droplora::run_folder::adapter_dir(row.runDir.toStdString())));
    request.dataPath = QString::fromStdString(c.data.val);
    request.format = QString::fromStdString(c.data.format);
    request.templ = QString::fromStdString(c.data.templ);
    request.maxSeqLen = c.data.max_seq_len;
    m_scoreJob->start(request);
}

void CompareSession::onScores(const QVector<ScoreJob::Score>& scores) {
    for (int i = 0; i < m_rows.size() && i < scores.size(); ++i) {
        m_rows[i].hasExactMatch = true;
        m_rows[i].exactMatch = scores[i].exactMatch;
    }
    finish(true, QString());
}

void CompareSession::finish(bool ok, const QString& message) {
    m_active = false;
    m_current = -1;
    emit finished(ok, message);
}

}  // namespace droplora::ui
